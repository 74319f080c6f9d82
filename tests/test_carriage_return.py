"""Issue 20: a carriage return without a line feed in a case file made ``validate`` and
``run`` crash with an IndexError (exit 1): pandas ends a row at a bare CR, the row counter
did not, and a problem's line was looked up past the end. Now such a file is one clear
``file:line:column`` problem (exit 2), lines counted by LF as editors count them; LF and
CRLF files read as before.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casekit import cli
from casekit.case import validate_case
from conftest import DEMO_CASE

WHAT = ("carriage return (CR) without a line feed{more}; casekit reads lines ended by LF or "
        "CRLF only, also inside quoted values: remove it, or save the file with LF line ends")
HEADER = b"event_id,criteria,category,source\n"


@pytest.fixture
def case(tmp_path) -> Path:
    return shutil.copytree(DEMO_CASE, tmp_path / "case")


def _responses(case: Path, body: bytes) -> Path:
    path = case / "responses.csv"
    path.write_bytes(HEADER + body)
    return path


@pytest.mark.parametrize("body, line, column, more", [
    # unquoted, in the source of row 1 (line 2): 'ct1,RECIST1.1,PR,synthetic' is 26
    # characters, so the CR is the 27th
    (b"ct1,RECIST1.1,PR,synthetic\r note\nct2,RECIST1.1,SD,synthetic\n", 2, 27, ""),
    # inside a quoted value, on line 3; a CRLF line end before it is fine
    (b"ct1,RECIST1.1,PR,synthetic\r\nct2,RECIST1.1,SD,\"synth\retic\"\n", 3, 24, ""),
    # rows ended by CR alone (classic Mac): the first ends line 2 (the header ends with
    # LF here); 2 CRs in all
    (b"ct1,RECIST1.1,PR,synthetic\rct2,RECIST1.1,SD,synthetic\r", 2, 27, " (2 in this file)"),
])
def test_a_bare_carriage_return_is_one_problem_with_exit_2(case, capsys, body, line, column,
                                                           more):
    _responses(case, body)
    code = cli.main(["validate", str(case)])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    assert out.splitlines() == [f"{case}/responses.csv:{line}:{column}: "
                                + WHAT.format(more=more)]


def test_the_row_that_crashed_before(case):
    """The shape that raised IndexError: an unquoted CR in the source of a row followed by
    rows with problems of their own, whose lines had to be looked up."""
    _responses(case, b"ct1,RECIST1.1,PR,synthetic: invented for\r  the demo case\n"
                     b"ct2,RECIST1.1,XX,synthetic\n")
    problems = validate_case(case)
    assert [(p.file.rsplit("/", 1)[1], p.line, p.column) for p in problems] == [
        ("responses.csv", 2, 41)]


def test_crlf_files_still_read(case):
    for path in case.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert validate_case(case) == []


def test_a_carriage_return_anywhere_in_a_row_never_crashes(case):
    row = b"ct2,RECIST1.1,SD,synthetic: invented"
    for at in range(0, len(row) + 1, 5):
        _responses(case, b"ct1,RECIST1.1,PR,synthetic\n" + row[:at] + b"\r" + row[at:]
                   + b"\n")
        problems = validate_case(case)  # never raises
        assert [(p.line, p.column) for p in problems] == [(3, at + 1)]


def test_run_stops_before_anything_runs(case, tmp_path):
    from casekit.run import runner

    _responses(case, b"ct1,RECIST1.1,PR,synthetic\r note\n")
    result = runner.run_collection(case, tmp_path / "out", echo=None, notebook_names=[])
    assert result.exit_code == 2
    assert [(p.line, p.column) for p in result.problems] == [(2, 27)]
