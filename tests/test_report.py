"""OUT/report.html: self-contained, deterministic, escaped, tolerant of missing outputs."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

import casekit
from casekit.case import CaseError, load_case
from casekit.run.report import build_report, patient_line, render_report

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "data" / "jlc2022"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
                       "hgGAWjR9awAAAABJRU5ErkJggg==")
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
       b'<rect width="4" height="4"/></svg>')
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture
def out(tmp_path):
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "tables").mkdir()
    (out / "figures" / "timeline.png").write_bytes(PNG)
    (out / "figures" / "timeline.svg").write_bytes(SVG)  # PNG wins
    (out / "figures" / "spider.svg").write_bytes(SVG)
    (out / "figures" / "a_extra.png").write_bytes(PNG)  # not expected: listed after
    (out / "figures" / ".hidden.png").write_bytes(PNG)
    (out / "tables" / "response.csv").write_text(
        "event_id,criteria,category,note\nct_c3,mRECIST,PR,<script>alert(1)</script>\n")
    (out / "tables" / "claims.csv").write_text(
        "claim_id,expected,recomputed,status\nC01,A5,A5,pass\nC03,14,13.9,fail\n")
    (out / "tables" / "zz_other.csv").write_text("a,b\n1,2\n")
    return out


def test_report_content(out):
    path = build_report(SEED, out)
    assert path == out / "report.html"
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Concurrent transarterial radioembolization" in html
    assert "Park MK, Yu SJ. J Liver Cancer 2022;22(1):69-74" in html
    assert "doi:10.17998/jlc.2022.03.09" in html
    assert "Patient: 43-year-old male; aetiology: HBV" in html
    # figures: embedded, PNG preferred, expected ones first, then the others sorted
    assert html.count("data:image/png;base64,") == 2
    assert html.count("data:image/svg+xml;base64,") == 1
    order = [html.index(x) for x in ("timeline.png", "spider.svg", "a_extra.png")]
    assert order == sorted(order)
    assert ".hidden" not in html
    for missing in ("markers", "viral_load", "lung_dose", "forest"):
        assert f"Figure &ldquo;{missing}&rdquo;: not produced for this case." in html
    # tables: present ones rendered, absent ones named, unknown ones after
    assert "<td>mRECIST</td>" in html and "<td>PR</td>" in html
    assert 'class="st-pass"' in html and 'class="st-fail"' in html
    for missing in ("markers.csv", "scores.csv"):
        assert f"Table &ldquo;{missing}&rdquo;: not produced for this case." in html
    assert html.index("(claims.csv)") < html.index("(zz_other.csv)")
    # assumptions from every case table, with reasons
    assumptions = html[html.index('id="assumptions"'):]
    for text in ("ascites", "tare_activity_gbq", "(left empty)", "node_cha @ mri_baseline",
                 "1.9 cm short_axis", "day 21 (+21 d from c1)", "3-weekly cycles"):
        assert text in assumptions, text
    assert f"casekit {casekit.__version__}" in html


def test_report_is_self_contained_and_escaped(out):
    html = build_report(SEED, out).read_text(encoding="utf-8")
    assert not EXTERNAL.search(html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<link" not in html.lower()


def test_report_is_deterministic(out):
    first = build_report(SEED, out).read_bytes()
    assert build_report(SEED, out).read_bytes() == first
    assert not re.search(rb"20[0-9]{2}-[0-9]{2}-[0-9]{2}", first)  # no timestamp


def test_report_with_nothing_produced(tmp_path):
    html = build_report(SEED, tmp_path).read_text(encoding="utf-8")
    assert html.count("not produced for this case") == 6 + 4
    assert "Incomplete run" not in html


def test_report_names_failed_notebooks(tmp_path):
    html = render_report(load_case(SEED), tmp_path, failed=["04_tumour_response.ipynb"])
    assert "Incomplete run" in html and "04_tumour_response.ipynb" in html


def test_patient_line_uses_what_exists():
    minimal = load_case(REPO / "tests" / "fixtures" / "minimal")
    assert patient_line(minimal) == "Patient: 60-year-old"
    html = render_report(minimal, Path("/nonexistent"))
    assert "<h1>Minimal fixture case</h1>" in html


def test_invalid_case_raises(tmp_path):
    with pytest.raises(CaseError):
        build_report(tmp_path / "no-such-case", tmp_path)


def test_claims_outcomes_are_summarised(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "claims.csv").write_text(
        "claim_id,statement,outcome\nC01,a,reproduced\nC02,\"b, c\",known difference\n"
        "C03,d,reproduced\n")
    html = build_report(SEED, tmp_path).read_text(encoding="utf-8")
    assert "<p>3 claims: 2 reproduced, 1 known difference</p>" in html
    assert 'class="st-known_difference"' in html and 'class="st-reproduced"' in html
