"""The synthetic melanoma case (``data/demo-melanoma``): hand-worked response calls, and
the whole collection run on it end to end with no foreign (seed) disease content.

Every expected value is derived in the comments from ``data/demo-melanoma/*.csv`` and the
published rules, never copied from casekit's output.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from casekit.case import load_case
from casekit.rules import response
from casekit.rules.criteria import applicable_criteria

REPO = Path(__file__).resolve().parents[1]
CASE = REPO / "data" / "demo-melanoma"

# Words and trials of the seed case (HCC treated with TARE + atezolizumab/bevacizumab) that
# must never appear in another cancer's report.
SEED_WORDS = ("hepatocellular", "HCC", "TARE", "radioemboli", "IMbrave150", "SARAH",
              "SIRveNIB", "SORAMIC", "glass microspheres", "resin microspheres",
              "microspheres", "PIVKA", "AFP", "HBV", "Child-Pugh", "BCLC", "mUICC",
              "mRECIST", "atezolizumab", "bevacizumab", "sorafenib", "portal vein",
              "lung shunt", "liver function")

# timeline.csv: c1 is the root (day 0); baseline_ct = c1 - 10 = -10; ct1 = c1 + 60 = 60;
# ct2 = ct1 + 42 = 102; ct3 = ct2 + 84 = 186.
# Notebook prose may explain what a section is for ("mRECIST is for hepatocellular
# carcinoma"); it must never tell the seed's story: its trials, drugs, device.
SEED_STORY = ("IMbrave150", "SARAH", "SIRveNIB", "SORAMIC", "atezolizumab", "bevacizumab",
              "sorafenib", "tenofovir", "TheraSphere", "glass microspheres")

DAY = {"baseline_ct": -10, "ct1": 60, "ct2": 102, "ct3": 186}


@pytest.fixture(scope="module")
def case():
    return load_case(CASE)


def test_criteria_are_recist_and_irecist(case):
    # cancer is melanoma (not HCC: no mRECIST); the timeline names pembrolizumab, a PD-1
    # inhibitor, so iRECIST applies (Seymour 2017); RECIST 1.1 always.
    assert applicable_criteria(case) == ["RECIST1.1", "iRECIST"]


def test_recist11_calls_by_hand(case):
    # Targets (RECIST 1.1 §3.1, §4.2): L1 lung 2.0 cm and L2 liver 3.0 cm longest diameter
    # (>= 1.0 cm, measurable), N1 axillary node 2.0 cm short axis (>= 1.5 cm, measurable);
    # three organs, one target each. S1 is a non-target, present at every scan.
    #   baseline 2.0 + 3.0 + 2.0 = 7.0
    #   ct1      2.6 + 3.6 + 2.4 = 8.6  (8.6 - 7.0) / 7.0 = +22.86 % -> +22.9 %; nadir 7.0:
    #            +22.9 % >= 20 % and +1.6 cm >= 0.5 cm -> target PD -> overall PD
    #   ct2      1.8 + 2.5 + 1.4 = 5.7  (5.7 - 7.0) / 7.0 = -18.57 % -> -18.6 %; nadir
    #            min(7.0, 8.6) = 7.0 -> -18.6 %: neither -30 % nor +20 % -> SD
    #   ct3      1.0 + 1.6 + 0.9 = 3.5  (3.5 - 7.0) / 7.0 = -50.0 % -> PR (<= -30 %);
    #            nadir min(7.0, 8.6, 5.7) = 5.7 -> (3.5 - 5.7) / 5.7 = -38.60 % -> -38.6 %.
    #            Not CR: L1 and L2 are still measurable (N1 0.9 < 1.0 cm alone would be).
    # Non-target S1 present -> non-CR/non-PD; no new lesions -> overall = target call.
    got = response.assess(case.lesions, "RECIST1.1").set_index("event_id")
    assert got["day"].to_dict() == DAY
    assert got["target_sum_cm"].tolist() == [7.0, 8.6, 5.7, 3.5]
    assert got.loc[["ct1", "ct2", "ct3"], "change_from_baseline_pct"].tolist() == [
        22.9, -18.6, -50.0]
    assert got.loc[["ct1", "ct2", "ct3"], "change_from_nadir_pct"].tolist() == [
        22.9, -18.6, -38.6]
    assert got.loc[["ct1", "ct2", "ct3"], "target_response"].tolist() == ["PD", "SD", "PR"]
    assert got.loc[["ct1", "ct2", "ct3"], "non_target_response"].tolist() == [
        "non-CR/non-PD"] * 3
    assert got.loc[["ct1", "ct2", "ct3"], "overall_response"].tolist() == ["PD", "SD", "PR"]


def test_irecist_and_best_overall_response_by_hand(case):
    assessed = response.assess(case.lesions, "iRECIST")
    # iRECIST (Seymour 2017, Lancet Oncol 18:e143): ct1 +22.9 % from the nadir 7.0 with
    # +1.6 cm -> iUPD (RECIST 1.1 PD, unconfirmed). ct2 is 42 days later (4-8 weeks: the
    # confirming assessment): the sum fell (5.7 < 8.6), no new lesion, no non-target
    # progression -> iUPD NOT confirmed; the category resets and ct2 is judged against
    # baseline: -18.6 % -> iSD. ct3: -50.0 % from baseline -> iPR.
    got = assessed.set_index("event_id")
    assert got.loc[["ct1", "ct2", "ct3"], "overall_response"].tolist() == ["iUPD", "iSD", "iPR"]
    # Best overall response: RECIST 1.1 stops at the first PD (Eisenhauer 2009 §4.4.3:
    # assessments after progression do not count) -> PD at ct1; iRECIST: the best of
    # iUPD (not confirmed), iSD, iPR -> iPR at ct3 (unconfirmed).
    both = pd.concat([response.assess(case.lesions, "RECIST1.1"), assessed])
    bor = response.best_overall_response(both).set_index("criteria")
    assert bor.at["RECIST1.1", "bor"] == "PD" and bor.at["RECIST1.1", "event_id"] == "ct1"
    assert bor.at["iRECIST", "bor"] == "iPR" and bor.at["iRECIST", "event_id"] == "ct3"


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One `casekit run` of the whole collection on the melanoma case: the new demo case
    runs end to end in `make test` (issue 11), about 8 s of one worker."""
    from casekit.run.runner import run_collection

    out = tmp_path_factory.mktemp("melanoma") / "out"
    lines: list[str] = []
    result = run_collection(CASE, out, echo=lines.append)
    assert result.exit_code == 0, "\n".join(lines)
    return out


def _visible_text(page: str) -> str:
    """The report's text without embedded images (base64 could spell anything)."""
    return html.unescape(re.sub(r'src="data:[^"]*"', "", page))


@pytest.mark.slow  # a whole-collection run (14 s of a worker): make test-slow / CI
def test_collection_runs_end_to_end_without_seed_content(run):
    page = (run / "report.html").read_text(encoding="utf-8")
    text = _visible_text(page)
    found = [w for w in SEED_WORDS if re.search(rf"\b{re.escape(w)}", text, re.IGNORECASE)]
    assert found == [], f"the melanoma report speaks of the seed case: {found}"
    assert "SYNTHETIC demo case" in text
    # and neither does any notebook's visible text (prose and outputs)
    for notebook in sorted((run / "notebooks").glob("*.ipynb")):
        body = notebook.read_text(encoding="utf-8")
        body = re.sub(r'"image/png": "[^"]*"', "", body)
        hits = [w for w in SEED_STORY if re.search(rf"\b{re.escape(w)}", body, re.IGNORECASE)]
        assert hits == [], f"{notebook.name} names {hits}"


@pytest.mark.slow  # a whole-collection run (14 s of a worker): make test-slow / CI
def test_report_leads_with_findings_for_melanoma(run):
    text = _visible_text((run / "report.html").read_text(encoding="utf-8"))
    findings = text[text.index('id="findings"'):text.index('id="evidence"')]
    findings = re.sub(r"<[^>]+>", "", findings)
    # LDH 480 -> 560 -> 310 -> 205 U/L on days -10, 60, 102, 186:
    # (560 - 480) / 480 = 16.7 % -> "rose 17 %"; (560 - 205) / 560 = 63.4 % -> "fell 63 %"
    assert ("LDH rose 17 % from 480 U/L on day \u221210 to 560 U/L on day 60, then fell "
            "63 % to a nadir of 205 U/L on day 186.") in findings
    assert "S100B" in findings and "not in casekit's marker vocabulary" in findings
    assert "4 of 4 claims reproduced" in findings
    # the RECIST 1.1 calls beside the authors' (all agree)
    assert "RECIST 1.1" in findings
    # no section that does not apply
    for absent in ("viral load", "dosimetry", "Trial context", "Liver function"):
        assert absent.lower() not in text.lower(), absent
    assert sorted(p.stem for p in (run / "figures").glob("*.png")) == [
        "markers", "spider", "timeline"]


@pytest.mark.slow  # a whole-collection run (14 s of a worker): make test-slow / CI
def test_melanoma_says_nothing_of_mrecist_or_porta_hepatis(run):
    # issue 21: mRECIST does not apply to a melanoma, so neither its report nor the outputs
    # of its notebook 04 may explain a porta hepatis reading "under mRECIST".
    report = _visible_text((run / "report.html").read_text(encoding="utf-8"))
    assert "mRECIST" not in report and "porta hepatis" not in report.lower()
    import json

    nb = json.loads((run / "notebooks" / "04_tumour_response.ipynb").read_text(encoding="utf-8"))
    outputs = json.dumps([c.get("outputs", []) for c in nb["cells"] if c["cell_type"] == "code"])
    outputs = re.sub(r'"image/png": "[^"]*"', "", outputs)
    assert "porta hepatis" not in outputs.lower() and "mRECIST" not in outputs
