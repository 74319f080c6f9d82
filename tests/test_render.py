"""One rendering layer (issue 20 item 1): case text reaches Markdown, HTML and figures only
escaped, through casekit.render, in every function that puts case text into Markdown."""

from __future__ import annotations

import html
import re

import markupsafe
import pandas as pd
from hostile_text import live_markdown
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from casekit import render
from casekit.case import load_case
from casekit.case.trials import case_trials, context_summary
from casekit.rules import markers
from casekit.rules import response_text as text
from conftest import DATA

HOSTILE = '<img src=x onerror="alert(1)"> *bold* [link](javascript:x) $x^2$ \u202e'


def _unwrapped(markdown: str) -> str:
    """``markdown`` without render's own no-math wrapper (the one tag it may add)."""
    return markdown.replace(f'<span class="{render.NO_MATH}">', "").replace("</span>", "")


def _live(markdown: str) -> list[str]:
    """Markup a Markdown renderer would run: a raw tag, an unescaped link or emphasis."""
    markdown = _unwrapped(markdown)
    return re.findall(r"<[a-zA-Z/]|(?<!\\)\[[^\]]*(?<!\\)\]\(|(?<![\\*])\*[^*\s][^*]*(?<!\\)\*", markdown)


def test_markdown_escapes_markup_and_drops_direction_overrides():
    out = render.markdown(HOSTILE + "\n\nsecond paragraph")
    assert _live(out) == [] and "\u202e" not in out and "\n" not in out
    assert _unwrapped(out).startswith("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; \\*bold\\*")
    assert render.html("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert render.plot("a\nb\u202e") == "a b"


def test_marker_sentences_escape_a_hostile_test_name():
    # issue 20: a lab test named <img ...> reached notebook 03's text/markdown output
    labs = pd.DataFrame({"event_id": ["a", "b"], "day": [0, 30], "test": [HOSTILE] * 2,
                         "value": [10.0, 5.0], "unit": ["U/L", "U/L"]})
    sentence = markers.trajectory_sentence(labs, HOSTILE)  # plain text
    assert "<img" in sentence  # the sentence names the test as given ...
    shown = render.markdown_list([sentence])  # ... and the notebook shows it escaped
    assert _live(shown) == []


def test_criteria_sentence_escapes_the_cancer_fact():
    import dataclasses

    case = load_case(DATA / "jlc2022")
    facts = case.facts.copy()
    facts.loc[facts["key"] == "cancer", "value"] = "hepatocellular carcinoma " + HOSTILE
    case = dataclasses.replace(case, facts=facts)
    sentence = text.criteria_sentence(case, ["RECIST1.1", "mRECIST"])
    assert "hepatocellular carcinoma &lt;img" in sentence
    assert _live(sentence.replace("**RECIST 1.1 and mRECIST**", "")) == []


def test_trial_summary_escapes_trial_comparison_and_citation(tmp_path):
    table = case_trials(DATA / "jlc2022").copy()
    table["trial"] = table["trial"] + HOSTILE
    table["citation"] = HOSTILE
    summary = context_summary(table, "glass")
    assert "<img" not in summary and "&lt;img" in summary


def test_line_shows_what_would_act_on_a_terminal_as_escapes():
    assert render.line("a\nb\r\tc\x1b[2J\x85\u2028\u202ed é") == \
        "a\\nb\\r\\tc\\x1b[2J\\x85\\u2028\\u202ed é"


def test_markdown_leaves_no_math_delimiter_for_mathjax():
    """Case text \\(z\\) came out as \\\\(z\\\\): the escaped backslash and the parenthesis
    still read as MathJax's inline delimiter (issue 20 item 2). Backslash and dollar are
    entities now: nothing for a math preprocessor to find."""
    text = r"\(z\) \[w\] \begin{equation}e\end{equation} $x$ $$y$$ a\\(b\\)"
    shown = render.markdown(text)
    assert live_markdown(shown) == []
    assert "\\" + "(" not in shown and "$" not in shown
    assert markdown2html_mistune(shown) == (f'<p><span class="{render.NO_MATH}">'
                                            f"{html.escape(text, quote=False)}</span></p>\n")


def test_markdown_starts_no_list_or_rule():
    """A cell that opens with a list marker or a rule made the line a list or an <hr>."""
    for text in ("- item", "+ item", "1. item", "2) item", "---", "- - -", "+++"):
        rendered = markdown2html_mistune(render.markdown(text))
        assert rendered == f"<p>{text}</p>\n", text
    assert render.markdown("10.17998/jlc.2022.03.09") == "10.17998/jlc.2022.03.09"  # a DOI


def test_markdown_makes_no_link_of_a_bare_url():
    """A URL in case text became a live link (GFM autolink) to wherever the case points."""
    for text in ("see http://evil.example/x", "HTTPS://evil.example", "www.evil.example"):
        rendered = markdown2html_mistune(render.markdown(text))
        assert rendered == f"<p>{text}</p>\n", rendered


def test_markdown_with_math_delimiters_is_kept_from_mathjax():
    # JupyterLab typesets a rendered Markdown output's DOM, where &#36; is "$" again:
    # "paid $5 or $6" became math there. Only text holding "$" or "\\" is wrapped.
    out = render.markdown(r"paid $5 or $6 \(z\)")
    assert out == ('<span class="tex2jax_ignore mathjax_ignore">'
                   "paid &#36;5 or &#36;6 &#92;(z&#92;)</span>")
    assert render.markdown("HBV-DNA 1,000 IU/mL") == "HBV-DNA 1,000 IU/mL"


def test_every_stored_notebook_table_is_kept_from_mathjax():
    """JupyterLab typesets a DataFrame's HTML after rendering it: a case value 'paid $5 or
    $6' in a table became math. Every notebook calls render.notebook_tables(), so each
    stored <table> carries pandas' mathjax_ignore class."""
    import json

    from conftest import REPO

    notebooks = sorted((REPO / "notebooks").rglob("*.ipynb"))
    assert len(notebooks) == 10
    tables = 0
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"
                and "parameters" not in c["metadata"].get("tags", [])]
        assert "render.notebook_tables()" in "".join(code[0]["source"]), path.name
        for cell in code:
            for output in cell.get("outputs", []):
                html = "".join(output.get("data", {}).get("text/html", ""))
                for tag in re.findall(r"<table[^>]*>", html):
                    tables += 1
                    assert "mathjax_ignore" in tag, f"{path.name}: {tag}"
    assert tables > 10


def test_html_fragments_escape_what_they_are_given_like_render_html():
    fragment = render.Html("<li>{}</li>").format(HOSTILE)
    assert fragment == "<li>&lt;img src=x onerror=&quot;alert(1)&quot;&gt; *bold* " \
                       "[link](javascript:x) $x^2$ </li>"  # the override U+202E dropped
    assert isinstance(fragment, render.Html)
    assert render.Html("{:,} of {}").format(12345, "a'b") == "12,345 of a&#x27;b"


def test_html_join_and_concatenation_escape_text_and_keep_markup():
    parts = ["<script>x</script>", render.Html("<b>ok</b>"), "a\x00\u2066&b"]
    assert render.Html("; ").join(parts) == "&lt;script&gt;x&lt;/script&gt;; <b>ok</b>; a&amp;b"
    assert render.Html("<p>") + "<i>" == "<p>&lt;i&gt;"
    assert "<i>" + render.Html("<p>") == "&lt;i&gt;<p>"
    # markup of another library (anything with __html__) passes through as it is
    assert render.Html("{}").format(markupsafe.Markup("<em>x</em>")) == "<em>x</em>"
    assert render.Html.escape(42) == "42" and render.Html.escape("\u202e") == ""


def test_template_environment_escapes_every_value_with_render_html(tmp_path):
    import jinja2
    import pytest

    (tmp_path / "t.j2").write_text("<p>{{ text }}|{{ safe }}</p>", encoding="utf-8")
    template = render.environment(tmp_path).get_template("t.j2")
    out = template.render(text=HOSTILE + "'", safe=render.Html("<b>{}</b>").format("<"))
    assert out == f"<p>{render.html(HOSTILE + chr(39))}|<b>&lt;</b></p>"
    assert "&#x27;" in out  # render.html's entity, not Jinja2's own &#39;
    with pytest.raises(jinja2.UndefinedError):
        template.render(text="x")


def test_series_report_escapes_with_the_case_reports_environment():
    """series.html had its own Jinja2 environment, escaping with Jinja2's escape (a
    direction override passed through); both reports now escape every value with
    render.html."""
    from casekit.series import report as series_report

    page = series_report._environment().from_string("{{ x }}").render(x="O'Brien\u202e<b>")
    assert page == "O&#x27;Brien&lt;b&gt;"
