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


# What JupyterLab's MathJax 3 finds in the text of a rendered output (its inline and display
# delimiters, environments); it skips these elements and any inside an element of class
# mathjax_ignore (MathJax's skipHtmlTags and ignoreHtmlClass defaults).
_TYPESET = re.compile(r"\$[^$]+\$|\\\(|\\\[|\\begin\{")
_SKIP_TAGS = {"script", "noscript", "style", "textarea", "pre", "code"}
_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "col", "area", "base", "source"}


class _TypesetFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[bool] = []  # per open element: is math skipped inside it
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            return
        classes = (dict(attrs).get("class") or "").split()
        self.open.append(tag in _SKIP_TAGS or "mathjax_ignore" in classes
                         or bool(self.open and self.open[-1]))

    def handle_endtag(self, tag):
        if tag not in _VOID and self.open:
            self.open.pop()

    def handle_data(self, data):
        if not (self.open and self.open[-1]):
            self.found += [f"typeset {m!r}" for m in _TYPESET.findall(data)]


def typeset_text(html: str) -> list[str]:
    """Every formula JupyterLab would typeset in a rendered output: it runs MathJax over the
    output's DOM after rendering (entities are characters again there), so ``&#36;x&#36;``
    shown as text still becomes math unless an enclosing element has class
    ``mathjax_ignore``."""
    finder = _TypesetFinder()
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
    return live_html(html) + renderer.math + typeset_text(html)


def live_markup(nb: dict) -> list[str]:
    """Every piece of live markup in a notebook's rich outputs (HTML, rendered Markdown)."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                html = "".join(data["text/html"])
                found += [f"cell {index}: {m}" for m in live_html(html) + typeset_text(html)]
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


# ------------------------------------------------------------------ a hostile, valid case

#: Every payload in one string: what the hostile case adds to its text.
EVERYTHING = " ".join(PAYLOADS)
#: An event id a spreadsheet would run (identifiers allow a leading '-'): every reference
#: to the seed's ``ct_c3`` is renamed to it.
FORMULA_EVENT = "-ct_c3"
#: A lab test casekit does not know, measured twice (a trajectory to describe and draw).
HOSTILE_TEST = "=1+2<img src=x onerror=alert(1)>$x$\u202e"
# Columns whose seed values carry meaning (a vocabulary in practice, an id, a parsed
# quantity, a quoted snippet): they get hostile rows of their own instead of a suffix.
_MEANINGFUL_FACTS = {"criteria", "porta_hepatis_nodes"}


def _suffixed(value: str, suffix: str = EVERYTHING) -> str:
    return f"{value} {suffix}" if value else suffix


def everything_hostile_case(seed: Path, folder: Path) -> Path:
    """A copy of ``seed`` (the jlc2022 case) with hostile text in every text column of the
    format (:func:`casekit.case.schema.text_columns`), still valid: payloads after labels,
    sites, statements, trial names and free-text facts; a very long label and fact; a lab
    test and unit made of markup; a trial row whose every text is hostile; event ids that
    start with '-'; reported sources quoting a hostile paragraph added to source.txt."""
    import shutil

    from casekit.case.schema import FACT_NUMBERS, FACT_VOCABULARY

    case = shutil.copytree(seed, folder)
    # source.txt quotes the payloads, so a 'reported' source may quote them too
    with (case / "source.txt").open("a", encoding="utf-8", newline="") as handle:
        handle.write("\n\n" + EVERYTHING.replace("\r", "") + "\n")
    quoted = EVERYTHING.replace("\r", "")

    def rename(row):
        for column in ("event_id", "anchor"):
            if row.get(column) == "ct_c3":
                row[column] = FORMULA_EVENT

    def sources(row, first=[True]):
        if row.get("status", "reported") == "reported":
            if first[0]:  # one reported row per file quotes the hostile paragraph
                row["source"], first[0] = quoted, False
        else:
            row["source"] = _suffixed(row["source"])

    def facts(row):
        if (row["key"] not in FACT_VOCABULARY and row["key"] not in FACT_NUMBERS
                and row["key"] not in _MEANINGFUL_FACTS):
            row["value"] = _suffixed(row["value"], LONG if row["key"] == "outcome" else
                                     EVERYTHING)
            row["unit"] = _suffixed(row["unit"], "<b>unit</b> $ \u202e")

    def timeline(row):
        row["label"] = _suffixed(row["label"], LONG if row["event_id"] == "fever"
                                 else EVERYTHING)

    def lesions(row):
        row["site"] = _suffixed(row["site"])

    def claims(row):
        row["statement"] = FORMULA if row["claim_id"] == "C01" else _suffixed(row["statement"])
        row["source"] = _suffixed(row["source"])
        if row["claim_id"] == "C28":  # a quantity of hostile arguments: a known difference
            row["quantity"] = "lab(" + " ".join(EVERYTHING.split()) + ")"
            row["known_difference"] = EVERYTHING

    def trials(row):
        for column in ("trial", "comparison", "citation"):
            row[column] = _suffixed(row[column])

    for name, change in (("facts.csv", facts), ("timeline.csv", timeline),
                         ("labs.csv", lambda row: None), ("lesions.csv", lesions),
                         ("responses.csv", lambda row: None), ("claims.csv", claims),
                         ("trials.csv", trials)):
        fields, rows = read_rows(case / name)
        flag = [True]
        for row in rows:
            rename(row)
            change(row)
            if "source" in row and name != "claims.csv":
                sources(row, flag)
        if name == "labs.csv":
            rows += [{"event_id": event, "test": HOSTILE_TEST, "value": value,
                      "unit": "<i>U</i>/L $", "status": "assumed", "source": EVERYTHING}
                     for event, value in (("referral", "40"), (FORMULA_EVENT, "12.5"))]
        if name == "trials.csv":
            rows.append({"trial": EVERYTHING, "comparison": EVERYTHING,
                         "endpoint": EVERYTHING, "measure": EVERYTHING, "estimate": "1.5",
                         "ci_low": "", "ci_high": "", "unit": EVERYTHING, "microspheres": "",
                         "status": "assumed", "source": EVERYTHING, "citation": EVERYTHING})
        write_rows(case / name, fields, rows)
    return case


_HOSTILE_MARK = re.compile(r"[<>$\u202e\n]|^[-=+@]")


def hostile_columns(case: Path) -> set[tuple[str, str]]:
    """(file, column) of every column of the case that holds a cell with markup, a dollar,
    a direction override, a line break or a formula's first character."""
    found = set()
    for path in sorted(case.glob("*.csv")):
        fields, rows = read_rows(path)
        found |= {(path.name, c) for c in fields if any(_HOSTILE_MARK.search(r[c]) for r in rows)}
    return found
