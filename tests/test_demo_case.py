"""The synthetic demo case end to end: the whole collection, checked against numbers worked
out by hand from ``data/demo-synthetic/*.csv`` and the published rules.

Every expected value below is derived in the comments from the input files (never copied
from casekit's output). The runs come from the shared ``demo_runs`` fixture (conftest.py):
two complete runs of the collection; the tables are checked in both.
"""

from __future__ import annotations

import csv
import html
import json
import math
from pathlib import Path

import pytest

from conftest import DEMO_CASE

COLLECTION = ["01_case_overview.ipynb", "02_timeline.ipynb", "03_tumour_markers.ipynb",
              "04_tumour_response.ipynb", "05_liver_staging_tare.ipynb",
              "06_trial_context.ipynb", "07_claims_check.ipynb"]

# Tables round percentages to 0.1 and folds/scores to 0.01: a value is right when it is
# within half a unit of the last printed digit of the exact (hand-computed) value.
PCT_TOL = 0.05 + 1e-9
FOLD_TOL = 0.005 + 1e-9
SUM_TOL = 1e-9  # sums of one-decimal diameters are exact to one decimal


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def num(text: str) -> float | None:
    return None if text == "" else float(text)


def close(actual: str, expected: float | None, tol: float) -> bool:
    value = num(actual)
    if expected is None:
        return value is None
    return value is not None and math.isclose(value, expected, rel_tol=0, abs_tol=tol)


@pytest.fixture(scope="module", params=["first", "second"])
def out(request, demo_runs) -> Path:
    return getattr(demo_runs, request.param)


@pytest.mark.slow  # two whole-collection runs of the demo case: make test-slow / CI
def test_whole_collection_runs_cleanly(demo_runs):
    for result in demo_runs.results:
        assert result["exit_code"] == 0, "\n".join(result["lines"])
        assert [n["name"] for n in result["notebooks"]] == COLLECTION
        failed = [(n["name"], n["error"]) for n in result["notebooks"] if not n["ok"]]
        assert failed == []
        assert result["report_error"] is None
        assert result["summary"].startswith("7 notebooks: 7 ok, 0 failed in ")
    for out in demo_runs.outs:
        assert sorted(p.name for p in (out / "notebooks").iterdir()) == COLLECTION


# ------------------------------------------------------------------ days

# timeline.csv: c1 is the root (day 0); baseline_ct = c1 - 7 = -7; ct1 = c1 + 42 = 42;
# ct2 = ct1 + 42 = 84; ct3 = ct2 + 42 = 126.
DAY = {"baseline_ct": -7, "ct1": 42, "ct2": 84, "ct3": 126}


# ---------------------------------------------------------------- RECIST

# lesions.csv, targets: L1 (liver) and L2 (lung) by longest diameter, N1 (portocaval node)
# by short axis. RECIST 1.1 (Eisenhauer 2009): a node of short axis >= 1.5 cm is a
# measurable target (N1 = 2.0 cm); mRECIST (Lencioni 2010): a porta hepatis node >= 2.0 cm
# short axis is a target, so N1 (2.0 cm) stays one. With no viable diameters given, mRECIST
# uses the longest diameters as the proxy, so both criteria sum the same three numbers:
#   baseline_ct 5.0 + 3.0 + 2.0 = 10.0
#   ct1         3.0 + 2.0 + 1.5 =  6.5   (6.5 - 10.0) / 10.0 = -35.0 % vs baseline;
#                                        nadir so far 10.0 (baseline) -> -35.0 %
#                                        -35 % <= -30 % -> PR
#   ct2         3.5 + 2.2 + 1.6 =  7.3   (7.3 - 10.0) / 10.0 = -27.0 %;
#                                        nadir 6.5 -> (7.3 - 6.5) / 6.5 = 0.8 / 6.5 = +12.31 %
#                                        not -30 %, not +20 % -> SD
#   ct3         4.2 + 2.4 + 1.8 =  8.4   (8.4 - 10.0) / 10.0 = -16.0 %;
#                                        nadir 6.5 -> 1.9 / 6.5 = +29.23 %, and 1.9 cm >= 0.5
#                                        cm absolute -> PD
# Non-target B1 (bone) is 'present' at every scan -> non-CR/non-PD; no 'new' rows -> no new
# lesions; so overall = target response. responses.csv reports PR, SD, PD by RECIST 1.1
# only, so the mRECIST rows have no reported response.
SUMS = {"baseline_ct": 5.0 + 3.0 + 2.0, "ct1": 3.0 + 2.0 + 1.5, "ct2": 3.5 + 2.2 + 1.6,
        "ct3": 4.2 + 2.4 + 1.8}
FROM_BASELINE = {e: 100 * (SUMS[e] - 10.0) / 10.0 for e in ("ct1", "ct2", "ct3")}
FROM_NADIR = {"ct1": 100 * (6.5 - 10.0) / 10.0, "ct2": 100 * (7.3 - 6.5) / 6.5,
              "ct3": 100 * (8.4 - 6.5) / 6.5}
CALL = {"ct1": "PR", "ct2": "SD", "ct3": "PD"}


def test_hand_arithmetic_is_what_the_readme_states():
    # guard the guards: the exact values behind the README's rounded table
    assert [round(SUMS[e], 1) for e in DAY] == [10.0, 6.5, 7.3, 8.4]
    assert [round(FROM_BASELINE[e], 1) for e in CALL] == [-35.0, -27.0, -16.0]
    assert [round(FROM_NADIR[e], 1) for e in CALL] == [-35.0, 12.3, 29.2]


@pytest.mark.slow  # two whole-collection runs of the demo case: make test-slow / CI
def test_response_table(out):
    rows = read_csv(out / "tables" / "response.csv")
    by_key = {(r["criteria"], r["event_id"]): r for r in rows}
    assert len(by_key) == len(rows) == 8, [(r["criteria"], r["event_id"]) for r in rows]
    assert set(by_key) == {(c, e) for c in ("RECIST1.1", "mRECIST") for e in DAY}
    for criteria in ("RECIST1.1", "mRECIST"):
        for event, day in DAY.items():
            row = by_key[criteria, event]
            where = f"{criteria} {event}: {row}"
            assert int(row["day"]) == day, where
            assert close(row["target_sum_cm"], SUMS[event], SUM_TOL), where
            if event == "baseline_ct":  # nothing to compare the baseline with
                for column in ("change_from_baseline_pct", "change_from_nadir_pct",
                               "target_response", "overall_response", "reported_response"):
                    assert row[column] == "", where
                continue
            assert close(row["change_from_baseline_pct"], FROM_BASELINE[event], PCT_TOL), where
            assert close(row["change_from_nadir_pct"], FROM_NADIR[event], PCT_TOL), where
            assert row["target_response"] == CALL[event], where
            assert row["non_target_response"] == "non-CR/non-PD", where
            assert row["new_lesions"] == "no", where
            assert row["overall_response"] == CALL[event], where
            expected_reported = CALL[event] if criteria == "RECIST1.1" else ""
            assert row["reported_response"] == expected_reported, where


# ---------------------------------------------------------------- markers

# labs.csv, tumour markers at baseline_ct, ct1, ct2, ct3 (no HBV DNA in this case):
#   AFP      400, 200, 180, 900 ng/mL
#     change from the first value: 0; (200-400)/400 = -50.0 %; (180-400)/400 = -55.0 %;
#     (900-400)/400 = +125.0 %
#     running nadir (lowest value up to and including the draw): 400, 200, 180, 180
#     -> fold 1, 1, 1, 900/180 = 5.0
#   PIVKA-II 1000, 300, 350, 2500 mAU/mL
#     change: 0; -70.0 %; -65.0 %; +150.0 %
#     running nadir 1000, 300, 300, 300 -> fold 1, 1, 350/300 = 1.167, 2500/300 = 8.333
MARKERS = {
    "AFP": ("ng/mL", [400.0, 200.0, 180.0, 900.0], [400.0, 200.0, 180.0, 180.0]),
    "PIVKA-II": ("mAU/mL", [1000.0, 300.0, 350.0, 2500.0], [1000.0, 300.0, 300.0, 300.0]),
}


@pytest.mark.slow  # two whole-collection runs of the demo case: make test-slow / CI
def test_marker_table(out):
    rows = read_csv(out / "tables" / "markers.csv")
    assert sorted((r["test"], r["event_id"]) for r in rows) == sorted(
        (t, e) for t in MARKERS for e in DAY)
    by_key = {(r["test"], r["event_id"]): r for r in rows}
    for test, (unit, values, nadirs) in MARKERS.items():
        first = values[0]
        for event, value, nadir in zip(DAY, values, nadirs):
            row = by_key[test, event]
            where = f"{test} {event}: {row}"
            assert int(row["day"]) == DAY[event], where
            assert row["unit"] == unit, where
            assert close(row["value"], value, 1e-9), where
            assert close(row["change_from_reference_pct"], 100 * (value - first) / first,
                         PCT_TOL), where
            assert close(row["fold_from_nadir"], value / nadir, FOLD_TOL), where
    # spot values, as the brief states them
    assert close(by_key["AFP", "ct3"]["fold_from_nadir"], 5.0, FOLD_TOL)
    assert close(by_key["PIVKA-II", "ct2"]["fold_from_nadir"], 1.17, FOLD_TOL)
    assert close(by_key["PIVKA-II", "ct3"]["fold_from_nadir"], 8.33, FOLD_TOL)
    assert close(by_key["AFP", "ct3"]["change_from_reference_pct"], 125.0, PCT_TOL)


# ----------------------------------------------------------------- scores

# labs.csv at baseline_ct, SI units converted by the data dictionary's fixed factors:
#   bilirubin 20.5 umol/L / 17.1 = 1.1988 mg/dL; albumin 32 g/L / 10 = 3.2 g/dL; INR 1.3;
#   creatinine 97 umol/L / 88.4 = 1.0973 mg/dL. facts.csv: ascites mild, encephalopathy none.
# Child-Pugh (Pugh 1973): bilirubin < 2 mg/dL -> 1; albumin 2.8-3.5 g/dL -> 2; INR < 1.7 -> 1;
#   mild ascites -> 2; no encephalopathy -> 1; total 1+2+1+2+1 = 7 -> class B (7-9) -> "B7".
# ALBI (Johnson 2015) = 0.66 log10(bilirubin umol/L) - 0.085 albumin g/L
#   = 0.66 * 1.3118 - 0.085 * 32 = 0.8658 - 2.7200 = -1.854 -> grade 2 (-2.60 < ALBI <= -1.39).
# MELD (UNOS) = 3.78 ln(bili mg/dL) + 11.2 ln(INR) + 9.57 ln(creat mg/dL) + 6.43
#   = 3.78 * 0.1813 + 11.2 * 0.2624 + 9.57 * 0.0928 + 6.43
#   = 0.685 + 2.938 + 0.889 + 6.43 = 10.94 -> 11. Bilirubin, INR and creatinine are all
#   >= 1.0 and creatinine <= 4.0, so none of the UNOS bounds applies.
BILI_MG_DL = 20.5 / 17.1
CREAT_MG_DL = 97 / 88.4
ALBI = 0.66 * math.log10(20.5) - 0.085 * 32
MELD_RAW = 3.78 * math.log(BILI_MG_DL) + 11.2 * math.log(1.3) + 9.57 * math.log(CREAT_MG_DL) + 6.43


def test_hand_scores_are_what_the_comments_say():
    assert math.isclose(BILI_MG_DL, 1.199, abs_tol=5e-4)
    assert math.isclose(ALBI, -1.85, abs_tol=0.005)
    assert -2.60 < ALBI <= -1.39
    assert math.isclose(MELD_RAW, 10.94, abs_tol=0.005) and round(MELD_RAW) == 11


# MELD-Na (OPTN 2016): MELD(i) = 0.957 ln(creat) + 0.378 ln(bili) + 1.120 ln(INR) + 0.643
#   = 0.957 * 0.0928 + 0.378 * 0.1813 + 1.120 * 0.2624 + 0.643 = 0.0889 + 0.0685 + 0.2938
#   + 0.643 = 1.094 -> 1.1 -> 11; 11 is not > 11, so no sodium term (Na 137 anyway) -> 11.
# MELD 3.0 (Kim 2021), female, Na 137, albumin 3.2 g/dL:
#   1.33 + 4.56 * 0.1813 + 0 - 0 + 9.09 * 0.2624 + 11.14 * 0.0928 + 1.85 * 0.3
#   - 1.83 * 0.3 * 0.0928 + 6 = 1.33 + 0.827 + 2.385 + 1.034 + 0.555 - 0.051 + 6 = 12.08 -> 12.


@pytest.mark.slow  # two whole-collection runs of the demo case: make test-slow / CI
def test_score_table(out):
    rows = read_csv(out / "tables" / "scores.csv")
    by_score = {r["score"]: r for r in rows}
    assert sorted(by_score) == ["albi", "child_pugh", "meld", "meld_3", "meld_na"], rows
    assert len(rows) == 5
    assert close(by_score["meld_na"]["value"], 11, 1e-9), by_score["meld_na"]
    assert close(by_score["meld_3"]["value"], 12, 1e-9), by_score["meld_3"]
    assert "Gastroenterology 2021" in by_score["meld_3"]["formula"]
    assert {r["event_id"] for r in rows} == {"baseline_ct"}
    assert close(by_score["albi"]["value"], ALBI, FOLD_TOL), by_score["albi"]
    assert by_score["albi"]["category"] == "grade 2"
    assert close(by_score["child_pugh"]["value"], 7, 1e-9), by_score["child_pugh"]
    assert by_score["child_pugh"]["category"] == "B7"
    assert close(by_score["meld"]["value"], 11, 1e-9), by_score["meld"]
    assert by_score["meld"]["category"] == "within bounds"


# ------------------------------------------------------- report and claims


def _title() -> str:
    with open(DEMO_CASE / "facts.csv", newline="", encoding="utf-8") as handle:
        return next(r["value"] for r in csv.DictReader(handle) if r["key"] == "title")


@pytest.mark.slow  # two whole-collection runs of the demo case: make test-slow / CI
def test_report_exists_with_the_case_title_and_no_failure_banner(out):
    text = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    title = _title()
    assert title.startswith("SYNTHETIC demo case")  # the input is the file we think it is
    assert f"<title>{title}</title>" in text
    assert f"<h1>{title}</h1>" in text
    assert "Incomplete run" not in text
    assert text.endswith("</html>\n")


@pytest.mark.slow  # two whole-collection runs of the demo case: make test-slow / CI
def test_outputs_of_a_case_without_claims_tare_or_viral_load(out):
    # demo-synthetic has no claims.csv, no HBV-DNA labs, no TARE facts and no trials.csv
    assert not (DEMO_CASE / "claims.csv").exists()
    assert sorted(p.name for p in (out / "tables").iterdir()) == [
        "bor.csv", "care.csv", "endpoints.csv", "markers.csv", "response.csv", "scores.csv",
        "sensitivity.csv"]
    stems = {"markers", "spider", "timeline"}  # no viral_load, no lung_dose, no trials.csv: no forest
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(
        f"{s}.{ext}" for s in stems for ext in ("png", "svg"))


def _outputs_text(notebook: Path) -> tuple[str, list[dict]]:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    texts, errors = [], []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                errors.append(output)
            texts.append("".join(output.get("text", "")))
            texts.append("".join(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts), errors


@pytest.mark.slow  # two whole-collection runs of the demo case: make test-slow / CI
def test_claims_notebook_says_there_is_nothing_to_check(out):
    text, errors = _outputs_text(out / "notebooks" / "07_claims_check.ipynb")
    assert errors == []
    assert "this case has no claims.csv: nothing to check" in text
    assert "all 0 claims reproduce or are known differences" in text


@pytest.mark.slow  # two whole-collection runs of the demo case: make test-slow / CI
def test_endpoints_table(out):
    # day 0 = cycle 1; PR at ct1 (day 42), PD at ct3 (day 126) under both criteria:
    # PFS 126 days (event), TTR 42 days, DOR 126 - 42 = 84 days (event)
    rows = read_csv(out / "tables" / "endpoints.csv")
    got = {(r["criteria"], r["endpoint"]): (r["event"], r["time_days"], r["end_event_id"])
           for r in rows}
    for criteria in ("RECIST1.1", "mRECIST"):
        assert got[criteria, "PFS"] == ("True", "126", "ct3"), got
        assert got[criteria, "TTR"] == ("True", "42", "ct1"), got
        assert got[criteria, "DOR"] == ("True", "84", "ct3"), got
