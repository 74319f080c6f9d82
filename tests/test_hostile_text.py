"""Hostile text everywhere, tested (issue 20 item 2).

Markup, Markdown control characters, ``$…$``, spreadsheet formulas, CR/LF (a bare CR inside
a quoted field too), direction overrides and very long strings go into every free-text
column of the case format (:func:`casekit.case.schema.text_columns`, so a new column is
covered without being listed here). ``casekit validate`` must answer 0 or 2 with messages
that name the file, never a traceback, and a case it calls valid must load and derive;
the functions that put case text into Markdown and HTML must leave none of it live. The
whole collection on such a case is in tests/test_hostile_run.py (slow).
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from conftest import DATA
from hostile_text import (LONG, PAYLOADS, hostile_text, live_html, live_markdown, read_rows,
                          write_rows)
from hypothesis import example, given, settings
from hypothesis import strategies as st
from matplotlib.text import Text
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from casekit import cli, render
from casekit.case import Case, load_case, overview
from casekit.case.schema import SCHEMAS, text_columns
from casekit.case.trials import case_trials, context_summary
from casekit.derive import derive_case
from casekit.rules import markers, response_text
from casekit.run.report import html_table, render_report
from casekit.series.report import render_series_report

SEED = DATA / "jlc2022"
TEXT_COLUMNS = [(file, column) for file in SCHEMAS for column in text_columns(file)]
EVERY_PAYLOAD = " ".join(PAYLOADS)
# What must never reach a terminal from case text: control characters (a line break would
# forge a problem line, ESC recolours or rewrites the screen), C1 controls, direction
# overrides and Unicode line separators.
UNSAFE_IN_TERMINAL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                                "\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def test_text_columns_are_read_from_the_schema():
    """Checked by hand against casekit/case/schema.py: the columns with no rule but "not
    empty"; vocabularies, numbers and identifiers are not free text."""
    assert {f: text_columns(f) for f in SCHEMAS} == {
        "facts.csv": ["value", "unit", "source"],
        "timeline.csv": ["label", "source"],
        "labs.csv": ["event_id", "test", "unit", "source"],
        "lesions.csv": ["event_id", "site", "source"],
        "responses.csv": ["event_id", "source"],
        "claims.csv": ["statement", "event_id", "known_difference", "source"],
        "trials.csv": ["trial", "comparison", "endpoint", "measure", "unit", "source",
                       "citation"],
    }


def _validate(case: Path) -> tuple[int, str, str]:
    """``casekit validate CASE`` in this process: exit code, stdout, stderr. Any exception
    but SystemExit propagates and fails the test (a traceback is exit 1)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli.main(["validate", str(case)])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def _put(case: Path, file: str, columns: tuple[str, ...], values: list[str], every: int,
         append: bool) -> None:
    """Hostile ``values`` (in turn) into ``columns`` of every ``every``-th row of ``file``,
    after the value that is there (``append``) or instead of it."""
    fields, rows = read_rows(case / file)
    for i, row in enumerate(rows):
        if i % every == 0:
            for column in columns:
                value = values[i % len(values)]
                row[column] = f"{row[column]} {value}" if append else value
    write_rows(case / file, fields, rows)


def _each_file_all_text_columns(test):
    for file in SCHEMAS:
        test = example(target=(file, tuple(text_columns(file))), values=[EVERY_PAYLOAD],
                       every=1, append=True)(test)
    return test


def check_validate(target: tuple[str, tuple[str, ...]], values: list[str], every: int,
                   append: bool) -> None:
    """The property: validate on the seed case with ``values`` put into ``target``'s
    columns answers 0 (and the case derives) or 2 with located, one-line problems."""
    file, columns = target
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp) / "case"
        shutil.copytree(SEED, case)
        _put(case, file, columns, values, every, append)
        code, out, err = _validate(case)
        assert code in (0, 2), err
        assert "Traceback" not in err
        assert not UNSAFE_IN_TERMINAL.search(out + err), (out + err)[:2000]
        lines = out.splitlines()
        if code == 2:  # one line per problem, each naming its file, line and column
            located = re.compile(re.escape(str(case)) + r"/[a-z]+\.(csv|txt):\d+:\d+: \S")
            assert lines and all(located.match(line) for line in lines), lines[:5]
            assert any(line.startswith(f"{case}/{file}:") for line in lines), lines[:5]
        else:  # a valid case is one the collection can analyse
            assert lines[-1].startswith("valid")
            derive_case(load_case(case))


_TARGET = st.sampled_from(TEXT_COLUMNS).map(lambda fc: (fc[0], (fc[1],)))
_VALUES = st.lists(hostile_text(), min_size=1, max_size=3)


@settings(max_examples=20, deadline=None, derandomize=True, database=None)
@given(target=_TARGET, values=_VALUES, every=st.integers(1, 3), append=st.booleans())
@_each_file_all_text_columns
# a bare carriage return inside a quoted field (issue 20)
@example(target=("timeline.csv", ("label",)), values=["before\rafter"], every=2, append=True)
def test_validate_answers_0_or_2_for_hostile_text_in_any_text_column(target, values, every,
                                                                     append):
    check_validate(target, values, every, append)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, derandomize=True, database=None)
@given(target=_TARGET, values=_VALUES, every=st.integers(1, 3), append=st.booleans())
def test_validate_hostile_text_many_examples(target, values, every, append):
    check_validate(target, values, every, append)


def test_a_cell_longer_than_the_csv_modules_limit_is_read(tmp_path):
    """A cell of more than 131,072 characters raised _csv.Error out of validate (exit 1 with
    a traceback): the csv module's default field limit. It is text like any other."""
    case = shutil.copytree(SEED, tmp_path / "case")
    _put(case, "lesions.csv", ("site",), [LONG], every=3, append=False)
    code, out, err = _validate(case)
    assert (code, out, err) == (0, "valid\n", "")
    sites = load_case(case).lesions["site"]
    assert sites.iloc[0] == LONG.strip() and len(LONG) > 131_072


def test_a_problem_stays_one_line_whatever_the_cell_holds(tmp_path):
    """A line break in a cell forged a problem line of its own, and an escape sequence
    reached the terminal: validate quotes the cell with both shown as escapes."""
    case = shutil.copytree(SEED, tmp_path / "case")
    forged = f"nowhere\n{case}/facts.csv:1:1: all fine\x1b[2J\u202e"
    fields, rows = read_rows(case / "labs.csv")
    rows[0]["event_id"] = forged
    write_rows(case / "labs.csv", fields, rows)
    code, out, _ = _validate(case)
    assert code == 2
    assert out.splitlines() == [
        f"{case}/labs.csv:2:1: event_id 'nowhere\\n{case}/facts.csv:1:1: all fine\\x1b[2J"
        "\\u202e' is not an event in timeline.csv"]


@pytest.mark.parametrize("value, message", [
    ("<img src=x>", "'<img src=x>' is not a response criteria"),
    ("RECIST1.1;RECIST 1.1", "'RECIST 1.1' is not a response criteria"),
    (" ; ", "';' names no response criteria"),  # cells are read stripped
    ("mRECIST ; RECIST1.1", None),
])
def test_the_criteria_fact_is_checked_by_validate(tmp_path, value, message):
    """The ``criteria`` fact passed validate whatever it said, and every notebook then
    failed on it (casekit.rules.criteria raises for an unknown name): exit 1 from a case
    called valid."""
    case = shutil.copytree(SEED, tmp_path / "case")
    fields, rows = read_rows(case / "facts.csv")
    rows.append({"key": "criteria", "value": value, "unit": "", "status": "assumed",
                 "source": "the criteria the authors used"})
    write_rows(case / "facts.csv", fields, rows)
    code, out, _ = _validate(case)
    if message is None:
        assert (code, out) == (0, "valid\n")
        assert derive_case(load_case(case)).options.criteria == ("RECIST1.1", "mRECIST")
        return
    assert code == 2
    assert out.splitlines() == [
        f"{case}/facts.csv:{len(rows) + 1}:2: criteria: {message}; expected names from "
        "RECIST1.1, mRECIST, iRECIST separated by ';'"]


# ------------------------------------------------------------------ rendering functions

_SEED_CASE = load_case(SEED)
_FREE_FACTS = ("title", "citation", "doi", "aetiology", "histology", "tumour_subtype",
               "primary_site", "outcome", "cancer", "porta_hepatis_nodes", "licence")


def _hostile_copy(text: str) -> Case:
    """The seed case as loaded, with ``text`` after every label and site, as its free-text
    facts and as the reason of every assumed row."""
    case = _SEED_CASE
    facts = case.facts.copy()
    facts.loc[facts["key"].isin(_FREE_FACTS), "value"] = text
    tables = {"facts": facts}
    for name in ("timeline", "lesions", "labs"):
        frame = getattr(case, name).copy()
        assumed = frame["status"] == "assumed"
        frame.loc[assumed, "source"] = frame.loc[assumed, "source"] + " " + text
        tables[name] = frame
    tables["facts"].loc[tables["facts"]["status"] == "assumed", "source"] = text
    tables["timeline"]["label"] = tables["timeline"]["label"] + " " + text
    tables["lesions"]["site"] = tables["lesions"]["site"] + " " + text
    return dataclasses.replace(case, **tables)


def _shown(html: str) -> str:
    """The text a reader sees in ``html`` (tags dropped, entities decoded)."""
    class Text(HTMLParser):
        parts: list[str] = []

        def handle_data(self, data):
            self.parts.append(data)

    parser = Text()
    parser.parts = []
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def _visible(text: str) -> str:
    """What of ``text`` a reader should see: control characters and direction marks
    dropped, white space folded."""
    return " ".join(re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                           "\u2066-\u2069]", "", text).split())


def check_builders(text: str) -> None:
    """The property: every casekit function that puts case text into a notebook's Markdown
    or into report.html / series.html, fed ``text``: nothing of it is live, and it is shown."""
    case = _hostile_copy(text)
    summary = overview.patient_summary(case)
    assert live_markdown(summary) == []
    if _visible(text):
        assert _visible(text) in _shown(markdown2html_mistune(summary))

    labs = pd.DataFrame({"event_id": ["a", "b"], "day": [0, 30], "test": [text] * 2,
                         "value": [10.0, 5.0], "unit": [text] * 2})
    assert live_markdown(render.markdown_list([markers.trajectory_sentence(labs, text)])) == []
    assert live_markdown(response_text.criteria_sentence(case, ["RECIST1.1", "mRECIST"])) == []
    assert live_markdown(response_text.node_reading_sentence(
        case, {"porta_hepatis": [text]}, ["mRECIST"])) == []

    trials = case_trials(SEED).copy()
    for column in ("trial", "comparison", "citation", "endpoint", "measure", "unit"):
        trials[column] = trials[column].astype(str) + " " + text
    assert live_markdown(context_summary(trials, text)) == []

    with tempfile.TemporaryDirectory() as out:
        report = render_report(case, out, failed=[text])
    assert live_html(report) == []
    assert live_html(html_table([text, "status"], [[text, text], ["=1", text]])) == []
    # series.html's template (autoescaped): a failed notebook's name, the criteria named by
    # a parameter, and the error of series tables that could not be read
    result = SimpleNamespace(analyses=[], left_out=[], parameters={"primary_criteria": text},
                             notebooks=[SimpleNamespace(name=text, ok=False)])
    with tempfile.TemporaryDirectory() as out:
        assert live_html(render_series_report(out, result)) == []


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(text=hostile_text())
def test_markdown_and_html_builders_leave_case_text_inert(text):
    check_builders(text)


@pytest.mark.slow
@settings(max_examples=500, deadline=None, derandomize=True, database=None)
@given(text=hostile_text(max_size=200))
def test_markdown_and_html_builders_many_examples(text):
    check_builders(text)


def test_a_long_label_does_not_grow_the_figure():
    """A 140,000-character timeline label drew a 1050 x 77,069 pixel timeline (21 MB, 30 s,
    base64 in report.html): figures draw case text cut at render.PLOT_CHARACTERS."""
    from casekit.plot import figures

    course = pd.DataFrame({"day": [0, 5], "category": ["systemic", "imaging"],
                           "label": ["Cycle 1", "CT"], "status": ["reported", "assumed"]})
    short = figures.timeline(course).get_size_inches()
    course.loc[1, "label"] = "CT " + "word <b>x</b> $ " * 400
    fig = figures.timeline(course)
    assert fig.get_size_inches()[0] == short[0]
    assert fig.get_size_inches()[1] < short[1] + 0.6  # a few lines of key more, no more
    drawn = [t.get_text() for t in fig.findobj(Text) if "word" in t.get_text()]
    assert drawn and all(len(t.replace("\n", " ")) <= 130 and "\u2026" in t for t in drawn)
    assert render.plot("x" * 500) == "x" * (render.PLOT_CHARACTERS - 1) + "\u2026"


def test_a_notebook_failure_quoting_case_text_stays_one_terminal_line():
    """A failed notebook's error (a claim statement, say) reached the terminal with the
    escape sequences and direction overrides the colour-code filter let through."""
    from casekit.run.runner import NotebookResult

    failed = NotebookResult("07_claims_check.ipynb", False, 0.0, cell=12, exec_count=8,
                            ename="ClaimsNotReproduced",
                            evalue="C01 (x\x1b]0;owned\x07 \x1b[31mred\x1b[0m\u202e\nnext)")
    assert failed.failure_line == ("FAILED 07_claims_check.ipynb cell 12 (In [8]): "
                                   "ClaimsNotReproduced: C01 (x\\x1b]0;owned\\x07 red\\u202e next)")
