"""Hostile case data (issue 9 items 7-9): case text is shown literally everywhere.

A case folder is untrusted input: its title, labels, sites and claim statements may hold
HTML, Markdown, mathtext or spreadsheet formulas. They must reach the executed notebooks
escaped, the figures drawn literally and the CSV tables inert.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hostile_text import (FORMULA, IMG, MATH, PAYLOAD, live_markdown, live_markup, rewrite,
                          rich_text)
from matplotlib.text import Text
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from casekit.case import load_case, validate_case
from casekit.case.overview import markdown_text, patient_summary
from casekit.outputs import write_table
from casekit.plot import figures
from casekit.run import runner

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "data" / "jlc2022"
NOTEBOOKS = REPO / "notebooks"


def hostile_case(tmp_path: Path) -> Path:
    """The seed case with hostile text in every free-text field a notebook shows."""
    case = tmp_path / "hostile"
    shutil.copytree(SEED, case)

    def facts(row):
        if row["key"] in ("title", "citation", "aetiology", "outcome"):
            row["value"] = f"{row['value']} {PAYLOAD}"

    def first_label(row):
        if row["event_id"] in ("c1", "tare", "ct_c3"):
            row["label"] = f"{row['label']} {PAYLOAD}"

    def site(row):
        row["site"] = f"{row['site']} {IMG}"

    def claim(row):
        row["statement"] = FORMULA

    rewrite(case / "facts.csv", facts)
    rewrite(case / "timeline.csv", first_label)
    rewrite(case / "lesions.csv", site)
    rewrite(case / "claims.csv", claim)
    assert validate_case(case) == []  # hostile text is valid text: it must be shown, safely
    return case


# ------------------------------------------------------------------ item 7


def test_markdown_text_shows_markup_literally():
    text = markdown_text(f"{PAYLOAD} *bold* a_b |x| `c`")
    assert live_markdown(text) == []
    rendered = markdown2html_mistune(text)
    # what a reader sees: the characters as typed (entities decode to them)
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered
    assert "<strong>" not in rendered and "<em>" not in rendered and "<code>" not in rendered
    assert "\n" not in markdown_text("a\n\n# heading")  # no new block from a line break


def test_patient_summary_escapes_every_case_value(tmp_path):
    summary = patient_summary(load_case(hostile_case(tmp_path)))
    assert live_markdown(summary) == []
    html = markdown2html_mistune(summary)
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") == 4  # title, citation, aetiology, outcome
    # the summary's own markup still works (the title holds "$": kept from MathJax)
    assert '<strong><span class="tex2jax_ignore mathjax_ignore">Concurrent transarterial' in html


def test_executed_overview_notebook_has_no_live_case_markup(tmp_path):
    """Notebook 01 executed on a hostile case: its Markdown and HTML outputs are inert."""
    out = tmp_path / "01.ipynb"
    result = runner.execute_notebook(
        NOTEBOOKS / "01_case_overview.ipynb", out,
        {"case_dir": str(hostile_case(tmp_path)), "out_dir": str(tmp_path / "out")},
        cwd=NOTEBOOKS)
    assert result.ok, result.error
    nb = json.loads(out.read_text(encoding="utf-8"))
    assert live_markup(nb) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in rich_text(nb)  # the payload was shown


@pytest.mark.slow
def test_executed_collection_has_no_live_case_markup(tmp_path):
    """Every notebook of the collection executed on a hostile case: rich outputs inert,
    figures drawn (mathtext off), and the claims table's formula neutralised."""
    out = tmp_path / "out"
    result = runner.run_collection(hostile_case(tmp_path), out, echo=None)
    assert result.exit_code == 0, [r.failure_line for r in result.failed]
    for path in sorted((out / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert live_markup(nb) == [], path.name
    assert (out / "figures" / "timeline.png").is_file()
    claims = pd.read_csv(out / "tables" / "claims.csv", dtype=str, keep_default_na=False)
    assert set(claims["statement"]) == {"'" + FORMULA}


# ------------------------------------------------------------------ item 8


def test_timeline_label_with_dollars_is_drawn_literally(tmp_path):
    course = pd.DataFrame({"day": [0, 5], "category": ["systemic", "imaging"],
                           "label": [MATH, "CT"], "status": ["reported", "assumed"]})
    fig = figures.timeline(course)
    png, svg = figures.save(fig, tmp_path, "timeline")  # used to raise ParseFatalException
    assert png.stat().st_size > 0 and svg.stat().st_size > 0
    texts = [t for t in fig.findobj(Text) if "$" in t.get_text()]
    assert texts and all(t._preprocess_math(t.get_text())[1] is False for t in texts)


# ------------------------------------------------------------------ item 9


def test_write_table_neutralises_formulas_in_text_columns(tmp_path):
    frame = pd.DataFrame({
        "statement": [FORMULA, "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx",
                      "plain", "-5", "+1.5e3", "=", ">="],
        "delta": [-5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "change": [-5.5, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    })
    path = write_table(frame, tmp_path / "t.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert [r[0] for r in rows[1:]] == [
        "'" + FORMULA, "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)", "'\tx",
        "'\nx",  # a bare CR would split the row; it is written as a quoted line feed
        "plain",
        "-5", "+1.5e3",  # a plain number in a text column is not a formula
        "=", ">=",  # nor is a bare comparison sign (the claims table's comparator)
    ]
    assert [r[1] for r in rows[1:3]] == ["-5", "1"]  # numbers stay numbers
    assert rows[1][2] == "-5.5"
    assert "statement" in frame and frame.loc[0, "statement"] == FORMULA  # input untouched


def test_write_table_neutralises_string_dtype_and_headers(tmp_path):
    frame = pd.DataFrame({"=bad": pd.array(["=1+1", None], dtype="string")})
    path = write_table(frame, tmp_path / "t.csv")
    with path.open(encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == [["'=bad"], ["'=1+1"], [""]]
