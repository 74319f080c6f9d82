"""Hostile case text for the tests (issue 9 items 7-9, issue 20 item 2): the payloads, a
hypothesis strategy mixing them with arbitrary text, a case-file rewriter, and the checks
that what casekit wrote from such text is inert: no live markup in HTML or rendered
Markdown, no MathJax from case text, no spreadsheet formula in a CSV cell.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import strategies as st
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
LINK = "[click](javascript:alert(3))"
# Unbalanced inside a $...$ pair: matplotlib's mathtext parser raises on it.
MATH = "paid $5 {or $6"
FORMULA = '=HYPERLINK("http://evil.example","x")'
PAYLOAD = f"{IMG} {SCRIPT} {LINK} {MATH}"

#: One of each kind the issue names: markup, Markdown control characters, math, formulas,
#: line breaks, direction overrides and terminal escapes. None holds a bare CR (that makes
#: a case file invalid: tests/test_carriage_return.py) and none is long (see LONG).
PAYLOADS = (
    IMG, SCRIPT, LINK, MATH, FORMULA,
    '<svg onload=alert(4)>', "<iframe src=javascript:alert(5)></iframe>",
    '" onmouseover="alert(6)', "' autofocus onfocus='alert(7)",
    "<a href='javascript:alert(8)'>x</a>", "<object data=x></object><embed src=x>",
    "**bold** _em_ `code` ~~gone~~ | a | b |", "# heading", "- item", "1. item", "> quote",
    "---", "![img](x)", "[ref]: javascript:alert(9)", "<http://evil.example>",
    "$x^2$", "$$y$$", r"\(z\)", r"\[w\]", r"\begin{equation}e\end{equation}",
    "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tindented",
    "line one\nline two", "crlf\r\nline", "\u202eevil\u202c", "\u2066isolate\u2069\u200f",
    "\x1b[31mred\x1b[0m", "nul\x00char", "&lt;script&gt;", "{{ 7 * 7 }} {% raw %}",
)
#: Long enough to pass the csv module's default field limit (131,072 characters).
LONG = "word <b>x</b> " * 10_000


def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """A payload, arbitrary text, or a few of either joined."""
    piece = st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=max_size))
    return st.one_of(piece, st.lists(piece, min_size=2, max_size=4).map(" ".join))


# ------------------------------------------------------------------ case files


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, fields: list[str], rows: Iterable[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-8"))


def rewrite(path: Path, change: Callable[[dict[str, str]], None]) -> None:
    """Apply ``change`` to every row of a case CSV file, in place."""
    fields, rows = read_rows(path)
    for row in rows:
        change(row)
    write_rows(path, fields, rows)


# ------------------------------------------------------------------ live markup

#: Elements that run script, load content or take input: never from case text.
ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg",
               "math", "base", "form", "input", "button", "textarea", "select", "link",
               "video", "audio", "source", "image", "portal"}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background",
                   "poster", "data", "srcdoc"}
_SCHEME = re.compile(r"^\s*(javascript|vbscript|data):", re.I)


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        shown = self.get_starttag_text() or tag
        attributes = dict(attrs)
        if tag in ACTIVE_TAGS:
            self.found.append(shown)
        elif tag == "img" and not (attributes.get("src") or "").startswith("data:image/"):
            self.found.append(shown)  # casekit's own figures are embedded data: URIs
        elif tag == "meta" and "http-equiv" in attributes:
            self.found.append(shown)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(shown)
            elif (name in _URL_ATTRIBUTES and value and _SCHEME.match(value)
                  and not (tag == "img" and value.startswith("data:image/"))):
                self.found.append(shown)

    handle_startendtag = handle_starttag


def live_html(html: str) -> list[str]:
    """Every tag of ``html`` that could run script or load content: active elements, event
    handler attributes, javascript:/data: links (only casekit's embedded figures may use
    a data: URI)."""
    finder = _Finder()
    finder.feed(html)
    finder.close()
    return finder.found


class _MathRecorder(IPythonRenderer):
    """nbconvert's renderer, noting every formula MathJax would typeset."""

    def __init__(self):
        super().__init__(escape=False)
        self.math: list[str] = []

    def block_math(self, body):
        self.math.append(f"$${body}$$")
        return super().block_math(body)

    def inline_math(self, body):
        self.math.append(f"${body}$")
        return super().inline_math(body)

    def latex_environment(self, name, body):
        self.math.append(f"\\begin{{{name}}}")
        return super().latex_environment(name, body)


def live_markdown(markdown: str) -> list[str]:
    """Live markup in Markdown as nbconvert renders it (the renderer JupyterLab's output
    matches): :func:`live_html` of the HTML, and every formula MathJax would typeset."""
    renderer = _MathRecorder()
    html = MarkdownWithMath(renderer=renderer).render(markdown)
    return live_html(html) + renderer.math


def live_markup(nb: dict) -> list[str]:
    """Every piece of live markup in a notebook's rich outputs (HTML, rendered Markdown)."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                found += [f"cell {index}: {m}" for m in live_html("".join(data["text/html"]))]
            if "text/markdown" in data:
                found += [f"cell {index}: {m}"
                          for m in live_markdown("".join(data["text/markdown"]))]
    return found


def notebook_live_markup(path: Path) -> list[str]:
    return [f"{path.name} {m}" for m in live_markup(json.loads(path.read_text("utf-8")))]


def rich_text(nb: dict) -> str:
    return "\n".join("".join(o.get("data", {}).get(kind, ""))
                     for c in nb["cells"] for o in c.get("outputs", [])
                     for kind in ("text/html", "text/markdown"))


# ------------------------------------------------------------------ CSV formulas

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A number, or a bare comparison sign (the claims table's comparator): nothing to run.
_INERT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?|[=<>]=?")


def formula_cells(path: Path) -> list[str]:
    """Every cell of a CSV file (header included) a spreadsheet would run as a formula,
    and a carriage return anywhere (a bare one splits a row in some readers)."""
    text = path.read_bytes().decode("utf-8")
    found = [f"{path.name}: carriage return"] if "\r" in text else []
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text)))
    try:
        for line, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            found += [f"{path.name}:{line}: {cell[:60]!r}" for cell in row
                      if cell.startswith(_FORMULA_START) and not _INERT.fullmatch(cell)]
    finally:
        csv.field_size_limit(limit)
    return found
