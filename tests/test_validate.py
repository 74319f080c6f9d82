"""validate on hostile and clumsy input (issue 9 item 11, issue 11's validate bullet), the
fast reader's line numbers, and the per-run case cache (issue 9 item 12).

Bad cases are the fixture ``tests/fixtures/minimal`` with one edit (``make_case`` from
test_case.py); lines and columns are counted by hand from the fixture files:
labs.csv columns event_id,test,value,unit,status,source (value = 3);
lesions.csv ...,measure,size_cm (7),...; timeline.csv ...,anchor (4),offset_days (5),...
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_case import MINIMAL, _digest, make_case

from casekit.case import CaseError, load_case, validate_case
from casekit.case.load import CACHE_ENV, case_cache, check_case

# (id, edits, file, line, column, fragment of the message)
BAD = [
    ("size overflows to infinity", {"lesions.csv": ("longest,5.0,", "longest,1e999,")},
     "lesions.csv", 2, 7, "'1e999' is too large: it overflows to infinity"),
    ("lab value overflows to infinity", {"labs.csv": ("scan1,AFP,100,", "scan1,AFP,1e400,")},
     "labs.csv", 2, 3, "overflows to infinity"),
    ("claim expected overflows", {"claims.csv": "claim_id,statement,quantity,event_id,"
                                  "comparator,expected,tolerance,known_difference,source\n"
                                  "C1,x,lesion_size(t1),scan1,eq,1e999,,,x\n"},
     "claims.csv", 2, 6, "overflows to infinity"),
    ("offset beyond 64-bit integers",
     {"timeline.csv": ("imaging,start,42", "imaging,start,99999999999999999999")},
     "timeline.csv", 4, 5, "days is out of range"),
    ("offset beyond 100 years", {"timeline.csv": ("imaging,start,42", "imaging,start,36501")},
     "timeline.csv", 4, 5, "within -36500 and 36500"),
    # root on day 36500, scan2 42 days later: each offset is in range, day 36542 is not
    ("chain beyond 100 years", {"timeline.csv": ("systemic,,0,", "systemic,,36500,")},
     "timeline.csv", 4, 5, "falls on day 36542"),
    ("lesion larger than 50 cm", {"lesions.csv": ("longest,5.0,", "longest,50.5,")},
     "lesions.csv", 2, 7, "larger than any lesion (at most 50 cm)"),
    ("AFP above its sanity limit", {"labs.csv": ("scan1,AFP,100,", "scan1,AFP,200000000,")},
     "labs.csv", 2, 3, "above the sanity limit of 1e+08 ng/mL"),
    # 1800 umol/L / 17.1 = 105.3 mg/dL > 100 mg/dL: the limit applies after conversion
    ("bilirubin above its limit in another unit",
     {"labs.csv": ("scan2,BILI,17.1,umol/L", "scan2,BILI,1800,umol/L")},
     "labs.csv", 3, 3, "above the sanity limit of 100 mg/dL"),
    ("age above its limit", {"facts.csv": ("age_years,60", "age_years,131")},
     "facts.csv", 3, 2, "above its sanity limit of 130"),
    ("numeric fact overflows", {"facts.csv": ("age_years,60", "age_years," + "9" * 400)},
     "facts.csv", 3, 2, "overflows to infinity"),
    ("unquoted decimal comma", {"labs.csv": ("scan1,AFP,100,", "scan1,AFP,1,5,")},
     "labs.csv", 2, 3, "value '1,5' looks like a number with a decimal comma; write 1.5"),
    ("quoted decimal comma", {"labs.csv": ("scan1,AFP,100,", 'scan1,AFP,"1,5",')},
     "labs.csv", 2, 3, "'1,5' has a decimal comma"),
    ("decimal comma in a claim", {"claims.csv": "claim_id,statement,quantity,event_id,"
                                  "comparator,expected,tolerance,known_difference,source\n"
                                  'C1,x,lesion_size(t1),scan1,eq,"9,5","0,05",,x\n'},
     "claims.csv", 2, 6, "'9,5' has a decimal comma"),
    ("ordering claim needs a number", {"claims.csv": "claim_id,statement,quantity,event_id,"
                                       "comparator,expected,tolerance,known_difference,source\n"
                                       "C1,x,lesion_size(t1),scan1,lt,PR,,,x\n"},
     "claims.csv", 2, 6, "expected 'PR' is not a number; comparator lt compares numbers"),
    # an unknown quantity passed validate, then notebook 07 failed the run (exit 1)
    ("claim quantity casekit does not compute",
     {"claims.csv": "claim_id,statement,quantity,event_id,"
                    "comparator,expected,tolerance,known_difference,source\n"
                    "C1,x,lesion_sise(t1),scan1,eq,9.5,,,x\n"},
     "claims.csv", 2, 3, "'lesion_sise(t1)' is not a quantity casekit computes"),
    # a date that does not exist reached export-adam, which failed with pandas' message
    ("reference start date that does not exist",
     {"facts.csv": ("age_years", "reference_start_date,2021-02-30,,assumed,x\nage_years")},
     "facts.csv", 3, 2, "reference_start_date '2021-02-30' is not a calendar date"),
    ("unknown event gets the nearest one", {"labs.csv": ("scan2,BILI", "sacn2,BILI")},
     "labs.csv", 3, 1, "event_id 'sacn2' is not an event in timeline.csv; did you mean `scan2`?"),
    # trials.csv is part of the case format (issue 11: trials belong to the case):
    # columns trial(1) comparison(2) endpoint(3) measure(4) estimate(5) ci_low(6) ci_high(7)
    # unit(8) microspheres(9) status(10) source(11) citation(12)
    ("trial estimate outside its interval",
     {"trials.csv": "trial,comparison,endpoint,measure,estimate,ci_low,ci_high,unit,microspheres,status,source,citation\n" "T,A vs B,OS,hazard ratio,0.9,0.5,0.8,,,assumed,x,Ref\n"},
     "trials.csv", 2, 5, "estimate 0.9 lies outside its confidence interval 0.5 to 0.8"),
    ("trial estimate with a decimal comma",
     {"trials.csv": "trial,comparison,endpoint,measure,estimate,ci_low,ci_high,unit,microspheres,status,source,citation\n" 'T,A vs B,OS,hazard ratio,"0,7",0.5,0.8,,,assumed,x,Ref\n'},
     "trials.csv", 2, 5, "'0,7' has a decimal comma"),
    ("trial microspheres outside the vocabulary",
     {"trials.csv": "trial,comparison,endpoint,measure,estimate,ci_low,ci_high,unit,microspheres,status,source,citation\n" "T,A vs B,OS,hazard ratio,0.7,0.5,0.8,,ceramic,assumed,x,Ref\n"},
     "trials.csv", 2, 9, "'ceramic' is not a known word"),
    # vital status (issue 17): one death, nothing after it
    ("scan after the death",
     {"timeline.csv": ("imaging,start,42,assumed,test fixture\n",
                       "imaging,start,42,assumed,test fixture\ndied,Death,death,start,30,reported,x\n")},
     "timeline.csv", 4, 5, "event 'scan2' falls on day 42, after the death 'died' on day 30"),
    ("two deaths",
     {"timeline.csv": ("imaging,start,42,assumed,test fixture\n",
                       "imaging,start,42,assumed,test fixture\nd1,Death,death,start,50,reported,x\n"
                       "d2,Death again,death,start,60,reported,x\n")},
     "timeline.csv", 6, 3, "a second 'death' event ('d2')"),
    ("unknown anchor gets the nearest one",
     {"timeline.csv": ("imaging,start,42", "imaging,strat,42")},
     "timeline.csv", 4, 4, "did you mean `start`?"),
]


@pytest.mark.parametrize("edits,file,line,column,fragment", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_value_is_located(tmp_path, edits, file, line, column, fragment):
    problems = validate_case(make_case(tmp_path, edits))
    hits = [p for p in problems if p.file.endswith(file) and fragment in p.message]
    assert hits, f"no problem mentioning {fragment!r}; got: {[str(p) for p in problems]}"
    assert (hits[0].line, hits[0].column) == (line, column), str(hits[0])


def test_values_at_the_limits_are_valid(tmp_path):
    case = make_case(tmp_path, {"lesions.csv": ("longest,5.0,", "longest,50,"),
                                "timeline.csv": ("imaging,start,42", "imaging,start,36500"),
                                "labs.csv": ("scan1,AFP,100,", "scan1,AFP,100000000,")})
    assert validate_case(case) == []


def test_decimal_comma_in_tolerance_is_named(tmp_path):
    case = make_case(tmp_path, {"claims.csv": "claim_id,statement,quantity,event_id,comparator,"
                                "expected,tolerance,known_difference,source\n"
                                'C1,x,lesion_size(t1),scan1,eq,9.5,"0,05",,x\n'})
    [problem] = validate_case(case)
    assert (problem.line, problem.column) == (2, 7)
    assert "'0,05' has a decimal comma" in problem.message


@pytest.mark.parametrize("value", ["1e999", "99999999999999999999"])
def test_cli_rejects_overflow_without_traceback(tmp_path, value):
    edits = ({"lesions.csv": ("longest,5.0,", f"longest,{value},")} if "e" in value
             else {"timeline.csv": ("imaging,start,42", f"imaging,start,{value}")})
    result = subprocess.run([sys.executable, "-m", "casekit", "validate",
                             str(make_case(tmp_path, edits))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert value in result.stdout and ".csv:" in result.stdout


def test_reported_rows_without_source_text_are_a_warning(tmp_path):
    case = make_case(tmp_path, {"labs.csv": ("100,ng/mL,assumed,test fixture",
                                             "100,ng/mL,reported,AFP was 100")})
    findings = check_case(case)
    assert findings.errors == []
    [warning] = findings.warnings
    assert warning.file.endswith("source.txt") and warning.severity == "warning"
    assert "1 reported row(s) cannot be checked" in warning.message
    assert str(warning).endswith(": warning: " + warning.message)
    result = subprocess.run([sys.executable, "-m", "casekit", "validate", str(case)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "valid, with 1 warning(s)"
    (case / "source.txt").write_text("AFP was 100 ng/mL", encoding="utf-8")
    assert check_case(case).warnings == []


def test_fast_reader_keeps_physical_line_numbers(tmp_path):
    """A quoted line break, a blank line and a record of empty cells before a bad row: the
    bad row is on physical line 6 (header 1, row 2-3 with the break, blank 4, commas 5)."""
    case = make_case(tmp_path, {"labs.csv": (
        "event_id,test,value,unit,status,source\n"
        'scan1,AFP,100,ng/mL,assumed,"two\nlines"\n'
        "\n"
        ",,,,,\n"
        "scan2,BILI,n/a,umol/L,assumed, padded \n")})
    [problem] = validate_case(case)
    assert (problem.line, problem.column) == (6, 3) and "'n/a' is not a number" in problem.message
    case2 = make_case(tmp_path / "b", {"labs.csv": (
        "event_id,test,value,unit,status,source\n"
        'scan1,AFP,100,ng/mL,assumed,"two\nlines"\n'
        "scan2,BILI,17.1,umol/L,assumed, padded \n")})
    labs = load_case(case2).labs.set_index("test")
    assert labs.at["AFP", "source"] == "two\nlines" and labs.at["BILI", "source"] == "padded"


def test_short_row_is_reported(tmp_path):
    """pandas pads a short row with empty cells; validation must still say so."""
    case = make_case(tmp_path, {"labs.csv": ("scan1,AFP,100,ng/mL,assumed,test fixture",
                                             "scan1,AFP,100,ng/mL,assumed")})
    [problem] = validate_case(case)
    assert (problem.line, problem.column) == (2, 6)
    assert "row has 5 fields but the header has 6" in problem.message


# ------------------------------------------------------------------ cache


def test_case_is_validated_once_inside_a_run_and_never_written_into(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    case = make_case(tmp_path, {})
    before = _digest(case)
    with case_cache() as cache:
        assert os.environ[CACHE_ENV] == str(cache)
        assert validate_case(case) == []  # the runner's validation stores the case ...
        [stored] = list(cache.glob("*.pickle"))  # beside it: .owner (casekit.scratch)
        # ... and a notebook's load_case reads it back instead of validating again
        with monkeypatch.context() as patch:
            patch.setattr("casekit.case.load._check",
                          lambda *a, **k: pytest.fail("re-validated"))
            loaded = load_case(case)
        assert loaded.path == case and loaded.labs.equals(load_case(MINIMAL).labs)
        # a changed file is a different key: validated afresh (and here invalid)
        labs = case / "labs.csv"
        labs.write_text(labs.read_text().replace("scan1,AFP,100,", "scan1,AFP,n/a,"))
        with pytest.raises(CaseError):
            load_case(case)
        assert [p.name for p in cache.glob("*.pickle")] == [stored.name]
    assert CACHE_ENV not in os.environ and not cache.exists()
    labs.write_text(labs.read_text().replace("scan1,AFP,n/a,", "scan1,AFP,100,"))
    assert _digest(case) == before  # nothing written into the case folder


def test_no_cache_without_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    case = make_case(tmp_path, {})
    load_case(case)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]


def test_cache_in_a_folder_others_can_write_is_ignored(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv(CACHE_ENV, str(shared))
    load_case(make_case(tmp_path, {}))
    assert list(shared.iterdir()) == []  # never trusted with a pickle


def test_a_stale_cache_variable_gets_a_fresh_folder(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    monkeypatch.setenv(CACHE_ENV, str(gone))  # e.g. left over from an interrupted run
    with case_cache() as cache:
        assert cache != gone and cache.is_dir() and os.environ[CACHE_ENV] == str(cache)
    assert os.environ[CACHE_ENV] == str(gone) and not cache.exists()


def test_runner_entry_points_cache_the_case():
    from casekit.run import runner

    for func in (runner.run_collection, runner.refresh_notebooks):
        assert getattr(func, "__wrapped__", None) is not None, func.__name__


def test_progress_lines_only_for_large_inputs(tmp_path, monkeypatch):
    case = make_case(tmp_path, {})
    lines: list[str] = []
    check_case(case, progress=lines.append)
    assert lines == []  # a small case validates silently
    monkeypatch.setattr("casekit.case.load.PROGRESS_BYTES", 1)
    check_case(case, progress=lines.append)
    assert any(line.endswith("reading labs.csv (0 MB)") for line in lines)
    assert any(line.endswith("checking labs.csv: 2 rows") for line in lines)
    assert lines[-1].endswith("checked: 0 problem(s)")


def test_kernels_of_a_run_reuse_the_runners_validation(tmp_path):
    """A notebook of `casekit run` loads the case without validating it again."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from casekit.run import runner

    params = new_code_cell('case_dir = "x"\nout_dir = None')
    params.metadata["tags"] = ["parameters"]
    body = new_code_cell(
        "import os\nfrom pathlib import Path\nimport casekit.case.load as L\n"
        "def never(*a, **k):\n    raise AssertionError('validated again')\n"
        "L._check = never\ncase = L.load_case(case_dir)\n"
        "Path(out_dir, 'seen.txt').write_text(f'{len(case.labs)} '\n"
        "    f'{len(list(Path(os.environ[L.CACHE_ENV]).glob(\"*.pickle\")))}')")
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    nbformat.write(new_notebook(cells=[params, body], metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}),
        nbs / "probe.ipynb")
    out = tmp_path / "out"
    result = runner.run_collection(MINIMAL, out, notebooks_dir=nbs,
                                   notebook_names=["probe.ipynb"], echo=None)
    assert result.notebooks[0].ok, result.notebooks[0].error
    assert (out / "seen.txt").read_text() == "2 1"  # two lab rows, one cached case
    assert CACHE_ENV not in os.environ
