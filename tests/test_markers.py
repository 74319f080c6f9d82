"""Tests for casekit.rules.markers.

Expected numbers are worked out by hand from the formulas (arithmetic in the
comments), using the values reported by Park & Yu, J Liver Cancer 2022;22:69-74.
"""

import math

import pandas as pd
import pytest

from casekit.rules import markers


def _labs(rows):
    frame = pd.DataFrame(rows, columns=["event_id", "day", "test", "value", "unit"])
    frame["status"] = "reported"
    frame["source"] = "test"
    return frame.sort_values("day", kind="mergesort").reset_index(drop=True)


@pytest.fixture
def case_labs():
    return _labs(
        [
            ("diagnosis", -14, "HBV-DNA", 236000.0, "IU/mL"),
            ("labs_pretreatment", -7, "AFP", 654.0, "ng/mL"),
            ("labs_pretreatment", -7, "PIVKA-II", 1470.0, "mAU/mL"),
            ("referral", 21, "AFP", 588.0, "ng/mL"),
            ("referral", 21, "PIVKA-II", 7497.0, "mAU/mL"),
            ("referral", 21, "HBV-DNA", 30300.0, "IU/mL"),
            ("referral", 21, "ALB", 4.1, "g/dL"),
            ("ct_c3", 63, "AFP", 326.4, "ng/mL"),
            ("ct_c3", 63, "PIVKA-II", 886.0, "mAU/mL"),
            ("ct_c6", 126, "AFP", 1335.2, "ng/mL"),
            ("ct_c6", 126, "PIVKA-II", 12573.0, "mAU/mL"),
        ]
    )


def _row(table, test, event):
    hit = table[(table["test"] == test) & (table["event_id"] == event)]
    assert len(hit) == 1
    return hit.iloc[0]


# ---------------------------------------------------------------- marker_table


def test_marker_table_columns_and_order(case_labs):
    table = markers.marker_table(case_labs)
    assert list(table.columns) == [
        "event_id", "test", "day", "value", "unit",
        "change_from_reference_pct", "fold_from_nadir",
    ]
    # sorted by test (alphabetical) then day; ALB is not a requested test
    assert list(zip(table["test"], table["day"])) == [
        ("AFP", -7), ("AFP", 21), ("AFP", 63), ("AFP", 126),
        ("HBV-DNA", -14), ("HBV-DNA", 21),
        ("PIVKA-II", -7), ("PIVKA-II", 21), ("PIVKA-II", 63), ("PIVKA-II", 126),
    ]


def test_marker_table_change_from_first_value(case_labs):
    table = markers.marker_table(case_labs)
    # AFP reference = 654.0 (first value)
    assert _row(table, "AFP", "labs_pretreatment")["change_from_reference_pct"] == 0.0
    # (588 - 654) / 654 = -66/654 = -0.100917 -> -10.1 %
    assert _row(table, "AFP", "referral")["change_from_reference_pct"] == -10.1
    # (326.4 - 654) / 654 = -327.6/654 = -0.500917 -> -50.1 %
    assert _row(table, "AFP", "ct_c3")["change_from_reference_pct"] == -50.1
    # (1335.2 - 654) / 654 = 681.2/654 = 1.041590 -> +104.2 %
    assert _row(table, "AFP", "ct_c6")["change_from_reference_pct"] == 104.2
    # PIVKA-II reference 1470: (886 - 1470)/1470 = -584/1470 = -0.397279 -> -39.7 %
    assert _row(table, "PIVKA-II", "ct_c3")["change_from_reference_pct"] == -39.7
    # (7497 - 1470)/1470 = 6027/1470 = 4.1 -> +410.0 %
    assert _row(table, "PIVKA-II", "referral")["change_from_reference_pct"] == 410.0
    # HBV-DNA (30300 - 236000)/236000 = -205700/236000 = -0.871610 -> -87.2 %
    assert _row(table, "HBV-DNA", "referral")["change_from_reference_pct"] == -87.2


def test_marker_table_change_from_referral(case_labs):
    table = markers.marker_table(case_labs, reference_event="referral")
    # AFP from 588: (326.4 - 588)/588 = -261.6/588 = -0.444898 -> -44.5 %
    assert _row(table, "AFP", "ct_c3")["change_from_reference_pct"] == -44.5
    # PIVKA-II from 7497: (886 - 7497)/7497 = -6611/7497 = -0.881819 -> -88.2 %
    assert _row(table, "PIVKA-II", "ct_c3")["change_from_reference_pct"] == -88.2
    assert _row(table, "AFP", "referral")["change_from_reference_pct"] == 0.0
    # events before the reference have no "change from reference"
    assert math.isnan(_row(table, "AFP", "labs_pretreatment")["change_from_reference_pct"])
    assert math.isnan(_row(table, "HBV-DNA", "diagnosis")["change_from_reference_pct"])


def test_marker_table_reference_missing_for_one_test_is_empty_not_fallback(case_labs):
    # HBV-DNA has no pre-treatment value: its change stays empty, with a warning
    with pytest.warns(UserWarning, match="HBV-DNA"):
        table = markers.marker_table(case_labs, reference_event="labs_pretreatment")
    hbv = table[table["test"] == "HBV-DNA"]
    assert hbv["change_from_reference_pct"].isna().all()
    # AFP still uses its value at labs_pretreatment (654.0): -50.1 % at cycle 3
    assert _row(table, "AFP", "ct_c3")["change_from_reference_pct"] == -50.1


def test_marker_table_unknown_reference_event_raises(case_labs):
    with pytest.raises(ValueError, match="does not occur"):
        markers.marker_table(case_labs, reference_event="no_such_event")


def test_marker_table_fold_from_nadir(case_labs):
    table = markers.marker_table(case_labs)
    # AFP running nadir: 654, 588, 326.4, 326.4
    assert list(table[table["test"] == "AFP"]["fold_from_nadir"]) == [1.0, 1.0, 1.0, 4.09]
    # 1335.2 / 326.4 = 4.0907 -> 4.09
    # PIVKA-II running nadir: 1470, 1470, 886, 886
    # 7497/1470 = 5.1000 -> 5.10 ; 12573/886 = 14.1907 -> 14.19
    assert list(table[table["test"] == "PIVKA-II"]["fold_from_nadir"]) == [
        1.0, 5.1, 1.0, 14.19,
    ]


def test_marker_table_missing_test_gives_no_rows(case_labs):
    table = markers.marker_table(case_labs, tests=("AFP", "CEA"))
    assert set(table["test"]) == {"AFP"}


def test_marker_table_missing_column_raises(case_labs):
    with pytest.raises(ValueError, match="day"):
        markers.marker_table(case_labs.drop(columns=["day"]))


# ---------------------------------------------------------------- kinetics


def test_kinetics_afp_half_life_and_doubling_time(case_labs):
    k = markers.kinetics(case_labs, "AFP")
    assert list(k["from_event"]) == ["labs_pretreatment", "referral", "ct_c3"]
    assert list(k["days_apart"]) == [28, 42, 63]
    assert list(k["direction"]) == ["fall", "fall", "rise"]

    # referral -> ct_c3: t = 42 d, ln(326.4/588) = ln(0.555102) = -0.588606
    # half-life = 42 x 0.693147 / 0.588606 = 29.112 / 0.588606 = 49.46 -> 49.5 d
    seg = k.iloc[1]
    assert seg["half_life_days"] == 49.5
    assert math.isnan(seg["doubling_time_days"])

    # ct_c3 -> ct_c6: t = 63 d, ln(1335.2/326.4) = ln(4.090686) = 1.408713
    # doubling time = 63 x 0.693147 / 1.408713 = 43.668 / 1.408713 = 31.00 -> 31.0 d
    seg = k.iloc[2]
    assert seg["doubling_time_days"] == 31.0
    assert math.isnan(seg["half_life_days"])
    # fold 1335.2/326.4 = 4.0907 -> 4.091 ; log10(4.090686) = 0.611796 -> 0.612
    assert seg["fold_change"] == 4.091
    assert seg["log10_change"] == 0.612


def test_kinetics_hbv_log10_change(case_labs):
    k = markers.kinetics(case_labs, "HBV-DNA")
    assert len(k) == 1
    # log10(30300/236000) = log10(0.128390) = 0.108531 - 1 = -0.891469 -> -0.891
    assert k.iloc[0]["log10_change"] == -0.891
    assert k.iloc[0]["days_apart"] == 35


def test_doubling_time_exact_doubling_and_degenerate_cases():
    # v doubles in 10 days: 10 x ln2 / ln2 = 10
    assert markers.doubling_time_days(10, 100.0, 200.0) == pytest.approx(10.0)
    # halves in 10 days: half-life 10
    assert markers.doubling_time_days(10, 200.0, 100.0) == pytest.approx(10.0)
    assert math.isnan(markers.doubling_time_days(0, 100.0, 200.0))
    assert math.isnan(markers.doubling_time_days(10, 100.0, 100.0))
    assert math.isnan(markers.doubling_time_days(10, 0.0, 100.0))


def test_kinetics_flat_segment():
    labs = _labs([("a", 0, "AFP", 10.0, "ng/mL"), ("b", 7, "AFP", 10.0, "ng/mL")])
    seg = markers.kinetics(labs, "AFP").iloc[0]
    assert seg["direction"] == "flat"
    assert math.isnan(seg["doubling_time_days"]) and math.isnan(seg["half_life_days"])


def test_kinetics_single_value_is_empty(case_labs):
    assert markers.kinetics(case_labs, "ALB").empty


# ---------------------------------------------------------------- marker_response


def test_marker_response_afp_from_baseline(case_labs):
    r = markers.marker_response(case_labs, "AFP")
    c3 = r[r["event_id"] == "ct_c3"].iloc[0]
    # decline (654 - 326.4)/654 = 50.09 % -> >=20 yes, >=50 yes, >=75 no
    assert c3["change_from_reference_pct"] == -50.1
    assert bool(c3["decline_ge_20pct"]) is True
    assert bool(c3["decline_ge_50pct"]) is True
    assert bool(c3["decline_ge_75pct"]) is False
    assert c3["reference_event"] == "labs_pretreatment"


def test_marker_response_afp_from_referral(case_labs):
    r = markers.marker_response(case_labs, "AFP", reference_event="referral")
    c3 = r[r["event_id"] == "ct_c3"].iloc[0]
    # decline (588 - 326.4)/588 = 44.49 % -> >=20 yes, >=50 no
    assert c3["change_from_reference_pct"] == -44.5
    assert bool(c3["decline_ge_20pct"]) is True
    assert bool(c3["decline_ge_50pct"]) is False
    # before the reference: no flags
    pre = r[r["event_id"] == "labs_pretreatment"].iloc[0]
    assert pd.isna(pre["decline_ge_20pct"])
    # a rise is never a decline: ct_c6 (1335.2 > 588)
    c6 = r[r["event_id"] == "ct_c6"].iloc[0]
    assert bool(c6["decline_ge_20pct"]) is False


def test_marker_response_pivka_from_referral(case_labs):
    r = markers.marker_response(case_labs, "PIVKA-II", reference_event="referral")
    c3 = r[r["event_id"] == "ct_c3"].iloc[0]
    # (7497 - 886)/7497 = 88.18 % -> all three thresholds met
    assert c3["change_from_reference_pct"] == -88.2
    assert bool(c3["decline_ge_75pct"]) is True


def test_marker_response_hbv_log10(case_labs):
    r = markers.marker_response(case_labs, "HBV-DNA")
    ref = r[r["event_id"] == "referral"].iloc[0]
    # log10(30300/236000) = -0.891
    assert ref["log10_change_from_reference"] == -0.891
    first = r[r["event_id"] == "diagnosis"].iloc[0]
    assert first["log10_change_from_reference"] == 0.0


@pytest.mark.parametrize(
    "value, expected",
    [
        # reference 100: decline = 100 - value
        (80.0, (True, False, False)),   # exactly 20 % -> flagged
        (80.1, (False, False, False)),  # 19.9 %
        (50.0, (True, True, False)),    # exactly 50 %
        (50.1, (True, False, False)),   # 49.9 %
        (25.0, (True, True, True)),     # exactly 75 %
        (25.1, (True, True, False)),    # 74.9 %
    ],
)
def test_marker_response_threshold_boundaries(value, expected):
    labs = _labs([("base", 0, "AFP", 100.0, "ng/mL"), ("post", 30, "AFP", value, "ng/mL")])
    post = markers.marker_response(labs, "AFP").iloc[1]
    got = (
        bool(post["decline_ge_20pct"]),
        bool(post["decline_ge_50pct"]),
        bool(post["decline_ge_75pct"]),
    )
    assert got == expected


def test_marker_response_missing_reference_raises(case_labs):
    with pytest.raises(ValueError, match="no value"):
        markers.marker_response(case_labs, "HBV-DNA", reference_event="ct_c3")


def test_marker_response_custom_thresholds_column_names(case_labs):
    r = markers.marker_response(case_labs, "AFP", thresholds=(30, 90))
    assert "decline_ge_30pct" in r.columns and "decline_ge_90pct" in r.columns


def test_percent_and_log10_helpers():
    # (326.4 - 654)/654 x 100 = -50.0917
    assert markers.percent_change(326.4, 654.0) == pytest.approx(-50.0917, abs=1e-4)
    # log10(30300/236000) = log10(1.283898) - 1 = 0.108531 - 1 = -0.891469
    assert markers.log10_change(30300, 236000) == pytest.approx(-0.891469, abs=1e-6)
    assert math.isnan(markers.log10_change(0, 236000))


def test_reference_sensitivity_finds_verdicts_that_depend_on_the_reference():
    from casekit.rules.markers import reference_sensitivity

    labs = pd.DataFrame({
        "event_id": ["pre", "ref", "c3", "pre", "ref", "c3"],
        "day": [-1, 7, 62, -1, 7, 62],
        "test": ["AFP"] * 3 + ["PIVKA-II"] * 3,
        "value": [654.0, 588.0, 326.4, 1470.0, 7497.0, 886.0],
        "unit": ["ng/mL"] * 3 + ["mAU/mL"] * 3,
    })
    table = reference_sensitivity(labs, ("AFP", "PIVKA-II", "HBV-DNA"), (None, "ref"))
    assert set(table["event_id"]) == {"c3"}  # the references themselves are not compared
    differs = table[table["verdict_differs"]].drop_duplicates(["test", "threshold_pct"])
    # AFP: (326.4 - 654) / 654 = -50.1 % vs (326.4 - 588) / 588 = -44.5 %: only the 50 % call differs.
    # PIVKA-II: (886 - 1470) / 1470 = -39.7 % vs (886 - 7497) / 7497 = -88.2 %: 50 % and 75 % differ.
    assert sorted(zip(differs["test"], differs["threshold_pct"])) == [
        ("AFP", 50), ("PIVKA-II", 50), ("PIVKA-II", 75)]
    afp = table[(table["test"] == "AFP") & (table["threshold_pct"] == 50)]
    assert afp["change_from_reference_pct"].tolist() == [-50.1, -44.5]
    assert afp["declined"].tolist() == [True, False]


# ------------------------------------------------------- vocabulary and units

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

from casekit.case import load_case, units, validate_case  # noqa: E402

MINIMAL = Path(__file__).parent / "fixtures" / "minimal"


def _case_with_labs(tmp_path, rows: str) -> Path:
    folder = tmp_path / "case"
    shutil.copytree(MINIMAL, folder)
    with open(folder / "labs.csv", "a", encoding="utf-8") as handle:
        handle.write(rows)
    return folder


def test_vocabulary_covers_the_markers_a_newcomer_brings():
    wanted = {"AFP", "PIVKA-II", "CEA", "CA19-9", "CA-125", "CA15-3", "PSA", "CYFRA21-1",
              "NSE", "B-HCG", "LDH", "HBV-DNA", "HCV-RNA"}
    assert wanted <= set(markers.MARKERS)
    for code, marker in markers.MARKERS.items():
        assert code in units.UNITS, code  # every marker has a canonical unit
        assert marker.reference and marker.kind in ("tumour", "viral")
    assert {c for c, m in markers.MARKERS.items() if m.kind == "viral"} == {"HBV-DNA", "HCV-RNA"}


@pytest.mark.parametrize("test, value, unit, expected", [
    ("CEA", 12.0, "ug/L", (12.0, "ng/mL")),      # 1 ng/mL = 1 ug/L
    ("CA19-9", 37.0, "kU/L", (37.0, "U/mL")),    # 1 U/mL = 1 kU/L
    ("B-HCG", 5.0, "mIU/mL", (5.0, "IU/L")),     # 1 mIU/mL = 1 IU/L
    ("LDH", 4.0, "ukat/L", (240.0, "U/L")),      # 1 ukat/L = 60 U/L: 4 x 60 = 240
    ("LDH", 4.0, "µkat/L", (240.0, "U/L")),      # µ folded to u
    ("DCP", 40.0, "mAU/mL", (40.0, "mAU/mL")),   # a synonym of PIVKA-II
    ("CA 19-9", 37.0, "U/mL", (37.0, "U/mL")),   # lab spelling of CA19-9
    ("S100B", 0.2, "ug/L", (0.2, "ug/L")),       # unknown: passed through as given
])
def test_fixed_conversions_into_canonical_units(test, value, unit, expected):
    assert units.to_canonical(test, value, unit) == expected


def test_wrong_unit_for_a_known_marker_is_caught_by_validate(tmp_path):
    # 'ng/ml' (lower-case l) is not an accepted spelling, for CEA exactly as for AFP
    folder = _case_with_labs(tmp_path, "scan1,CEA,5.2,ng/ml,assumed,test fixture\n"
                                       "scan2,CA19-9,40,ng/mL,assumed,test fixture\n")
    messages = [str(p) for p in validate_case(folder)]
    assert any("labs.csv:4:4: unit 'ng/ml' is not known for CEA; expected one of: ng/mL, ug/L"
               in m for m in messages), messages
    assert any("labs.csv:5:4: unit 'ng/mL' is not known for CA19-9" in m for m in messages)


def test_unknown_test_is_kept_and_shown_with_a_note(tmp_path):
    folder = _case_with_labs(tmp_path, "scan1,S100B,0.35,ug/L,assumed,test fixture\n"
                                       "scan2,S100B,0.12,ug/L,assumed,test fixture\n"
                                       "scan1,CEA,8.0,ng/mL,assumed,test fixture\n")
    assert validate_case(folder) == []
    case = load_case(folder)
    # known markers first (vocabulary order: AFP before CEA), then the unknown test;
    # BILI is a known laboratory test, not a marker
    assert markers.case_markers(case.labs) == ["AFP", "CEA", "S100B"]
    notes = markers.marker_notes(case.labs).set_index("test")
    assert notes.at["S100B", "note"] == markers.UNKNOWN_NOTE
    assert notes.at["S100B", "kind"] == "unknown"
    assert notes.at["CEA", "note"] == "follows colorectal cancer"
    table = markers.marker_table(case.labs, tests=tuple(markers.case_markers(case.labs)))
    assert sorted(set(table["test"])) == ["AFP", "CEA", "S100B"]  # never dropped
    # 0.35 -> 0.12: (0.12 - 0.35) / 0.35 x 100 = -65.71 -> -65.7
    assert _row(table, "S100B", "scan2")["change_from_reference_pct"] == -65.7
    assert markers.marker_name("S100B") == "S100B"


def test_marker_names_and_synonyms():
    assert markers.marker_name("CA19-9") == "CA 19-9"
    assert markers.marker_name("DCP") == "DCP (PIVKA-II (DCP))"
    assert markers.marker_name("B-HCG") == "\u03b2-hCG"


# --------------------------------------------------------- trajectory in words


def test_trajectory_sentence_seed_afp(case_labs):
    # AFP 654.0 (day -7), 588.0 (21), 326.4 (63), 1335.2 (126): one fall, one rise.
    # fall: (654.0 - 326.4) / 654.0 = 327.6 / 654.0 = 50.09 % -> "50 %";
    # rise: 1335.2 / 326.4 = 4.0907 -> "4.1-fold" (>= 2, so as a fold)
    assert markers.trajectory_sentence(case_labs, "AFP") == (
        "AFP fell 50 % from 654.0 ng/mL on day \u22127 to a nadir of 326.4 ng/mL on day 63, "
        "then rose 4.1-fold to 1,335.2 ng/mL on day 126.")


def test_trajectory_sentence_peak_before_the_nadir(case_labs):
    # PIVKA-II 1470 -> 7497 -> 886 -> 12573: turning points at 7497 (max) and 886 (min).
    # 7497 / 1470 = 5.10 -> 5.1-fold; (7497 - 886) / 7497 = 88.18 % -> 88 %;
    # 12573 / 886 = 14.19 -> 14.2-fold; whole numbers, so no decimals shown
    assert markers.trajectory_sentence(case_labs, "PIVKA-II") == (
        "PIVKA-II (DCP) rose 5.1-fold from 1,470 mAU/mL on day \u22127 to 7,497 mAU/mL on "
        "day 21, then fell 88 % to a nadir of 886 mAU/mL on day 63, then rose 14.2-fold "
        "to 12,573 mAU/mL on day 126.")


def test_trajectory_sentence_viral_load_in_log10(case_labs):
    # 236,000 -> 30,300 IU/mL: log10(236000 / 30300) = log10(7.789) = 0.891 -> 0.89
    assert markers.trajectory_sentence(case_labs, "HBV-DNA") == (
        "HBV DNA fell 0.89 log10 from 236,000 IU/mL on day \u221214 to a nadir of "
        "30,300 IU/mL on day 21.")


def test_trajectory_sentence_small_rise_one_value_and_absent():
    labs = _labs([("a", 0, "LDH", 200.0, "U/L"), ("b", 30, "LDH", 250.0, "U/L"),
                  ("a", 0, "CEA", 4.2, "ng/mL")])
    # (250 - 200) / 200 = 25 % (below a doubling: in percent)
    assert markers.trajectory_sentence(labs, "LDH") == (
        "LDH rose 25 % from 200 U/L on day 0 to 250 U/L on day 30.")
    assert markers.trajectory_sentence(labs, "CEA") == "CEA was 4.2 ng/mL on day 0 (one value)."
    assert markers.trajectory_sentence(labs, "PSA") == ""
