"""The one way case text reaches a reader: escaped for Markdown, for HTML, literal in a
figure (issue 20 item 1), or in one line of a terminal (issue 20 item 2).

A case folder is untrusted input: a lab test named ``<img src=x onerror=...>``, a cancer
fact or a trial's citation must be shown as the characters it is, never run as markup, in
an executed notebook (text/markdown outputs, trusted in JupyterLab), in ``report.html``,
``series.html`` or a figure. Notebooks display case text only through functions that escape
with this module; the HTML reports escape with :func:`html` by construction: ``report.html``
renders a template of an :func:`environment` (every ``{{ value }}`` goes through :func:`html`)
and builds its fragments as :class:`Html`, so case text is escaped unless it is already
markup (``series.html``'s template autoescapes with Jinja2's own escape).
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable
from pathlib import Path

import markupsafe

# Markdown punctuation that could turn case text into emphasis, links, images, tables,
# headings or strikethrough: backslash-escaped. HTML's own characters, and the two that
# start MathJax (``$…$``, ``\(…\)``, ``\begin{…}``), become entities: a math preprocessor
# (Jupyter's, nbconvert's) scans the raw text before Markdown escapes count, and an escaped
# backslash (``\\``) followed by ``(`` still reads there as the delimiter ``\\(``.
_MARKDOWN_SPECIAL = re.compile(r"[&<>\"'\\$`*_\[\]|~#!]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;",
             "\\": "&#92;", "$": "&#36;"}
# What starts a list or a thematic break at the beginning of a line (the text is one line).
_BLOCK_START = re.compile(r"^(?:[-+]|[0-9]{1,9}(?=[.)](?:\s|$)))")
# What makes a bare URL a link (GFM autolinks): "scheme://" and a leading "www.".
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![\w.])(www)(\.)")
# Control characters, C1 controls and direction marks and overrides (RTL marks can reorder
# what a reader sees).
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                        "\u2066-\u2069]")
# What acts on a terminal or a line-oriented reader instead of being shown: C0 and C1
# controls (a line break forges a line of its own, ESC recolours or rewrites the screen),
# Unicode line separators and direction marks and overrides.
_ACTING = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                     "\u2066-\u2069]")


#: The classes that keep MathJax (3, and 2's tex2jax) from typesetting an element's text.
NO_MATH = "tex2jax_ignore mathjax_ignore"


def _markdown_escape(match: re.Match) -> str:
    char = match.group()
    return _ENTITIES.get(char) or "\\" + char


def markdown(value: object) -> str:
    """Case text made safe inside Markdown: shown literally, never run. Line breaks are
    folded (a blank line would start a new block), control characters and direction
    overrides dropped, Markdown punctuation backslash-escaped, a leading list marker
    escaped, and ``& < > " ' \\ $`` turned into HTML entities (no math delimiter is left
    for a math preprocessor). Text that held a ``$`` or a backslash is also wrapped in
    ``<span class="tex2jax_ignore mathjax_ignore">``: JupyterLab typesets the rendered
    output's DOM, where the entities are characters again, and MathJax skips an element of
    that class (MathJax 3 document option ``ignoreHtmlClass``, default
    ``mathjax_ignore``; ``tex2jax_ignore`` for MathJax 2; pandas marks its tables alike)."""
    text = " ".join(_INVISIBLE.sub("", str(value)).split())
    text = _MARKDOWN_SPECIAL.sub(_markdown_escape, text)
    # no link to wherever the case points: "http\://", "www\."
    text = _AUTOLINK.sub(lambda m: "\\:" if m.group(1) else m.group(2) + "\\.", text)
    # "- x", "+ x", "1. x" would start a list; the escape goes before the marker's
    # punctuation ("1\. x")
    block = _BLOCK_START.match(text)
    if block:
        at = block.end() if block.group()[0].isdigit() else 0
        text = text[:at] + "\\" + text[at:]
    if "&#36;" in text or "&#92;" in text:
        text = f'<span class="{NO_MATH}">{text}</span>'
    return text


def markdown_list(lines: Iterable[object]) -> str:
    """A Markdown bullet list of plain-text lines, each escaped with :func:`markdown`."""
    return "\n".join(f"- {markdown(line)}" for line in lines if str(line))


def html(value: object) -> str:
    """Case text made safe inside HTML (element content and quoted attributes)."""
    return _html.escape(_INVISIBLE.sub("", str(value)), quote=True)


class Html(markupsafe.Markup):
    """HTML that is safe as it stands; whatever is combined with it is escaped with
    :func:`html` unless it is markup already (has ``__html__``). Build a fragment as
    ``Html("<li>{}</li>").format(label)``, ``Html("; ").join(parts)`` or ``Html(...) + text``:
    ``label``, each part and ``text`` are escaped (control characters and direction marks
    dropped, ``& < > " '`` as entities), an ``Html`` part passes through unchanged. Only a
    literal written in casekit's source should be wrapped in ``Html(...)`` directly."""

    __slots__ = ()

    @classmethod
    def escape(cls, s: object) -> Html:
        return cls(s.__html__()) if hasattr(s, "__html__") else cls(html(s))


def environment(folder: str | Path):
    """A Jinja2 environment for the templates in ``folder`` that escapes every
    ``{{ value }}`` with :func:`html` (its ``finalize``; markup, e.g. an :class:`Html`
    fragment, passes through), raises on an undefined name and keeps the template's own
    line breaks. Filters that join or concatenate (``join``, ``~``) escape with Jinja2's
    escape instead: join case text in Python with :class:`Html`."""
    import jinja2  # only the HTML reports need it, not a notebook importing render

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                              finalize=Html.escape, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


#: The most characters of one case text a figure draws: a label is a few words, and a
#: longer cell (a pasted paragraph) would grow the figure without bound (a 140,000-character
#: timeline label drew a 1050 x 77,069 pixel PNG in 30 s). The tables and the report keep
#: the whole text.
PLOT_CHARACTERS = 120


def plot(value: object) -> str:
    """Case text for a matplotlib label: one line, no control characters, at most
    :data:`PLOT_CHARACTERS` characters (cut with an ellipsis); drawn literally because
    casekit's figure style turns off mathtext (``text.parse_math``)."""
    text = " ".join(_INVISIBLE.sub("", str(value)).split())
    if len(text) > PLOT_CHARACTERS:
        text = text[: PLOT_CHARACTERS - 1].rstrip() + "\u2026"
    return text


def line(value: object) -> str:
    """Case text in one line of plain text (a terminal, a log, a ``file:line:column``
    message): each control character, line break and direction mark shown as its escape
    (``\\n``, ``\\x1b``, ``\\u202e``), so a reader sees it and nothing acts on it."""
    return _ACTING.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"),
                       str(value))


def notebook_tables() -> None:
    """Have pandas mark every table a notebook shows as one MathJax skips
    (``display.html.use_mathjax = False`` adds ``tex2jax_ignore mathjax_ignore`` to each
    ``<table>``): JupyterLab typesets an HTML output's text after rendering it, so a case
    value like ``paid $5 or $6`` in a DataFrame would otherwise be drawn as math. Every
    notebook calls this once in its first code cell (tests/test_render.py checks)."""
    import pandas as pd  # render itself needs no pandas; only a notebook's tables do

    pd.set_option("display.html.use_mathjax", False)
