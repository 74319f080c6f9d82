"""Tests for casekit.rules.staging.

Expected stages are read off the published rules by hand: BCLC 2022 (Reig et
al., J Hepatol 2022, Fig. 1), mUICC (KLCA-NCC Korea guidelines), CTCAE v5.0
"Fever".
"""

import pandas as pd
import pytest

from casekit.rules import staging

# Facts as the case report gives them (Park & Yu, J Liver Cancer 2022;22:69-74)
CASE_FACTS = {
    "portal_invasion": "yes",
    "vascular_invasion": "yes",
    "extrahepatic_spread": "no",
    "tumour_count": "multiple",
    "largest_tumour_cm": "14",
    "t_stage": "T4",
    "n_stage": "N1",
    "m_stage": "M0",
    "muicc_stage_reported": "IV",
    "bclc_stage_reported": "C",
    "ascites": "none",
    "encephalopathy": "none",
}


# ---------------------------------------------------------------- BCLC


def test_bclc_case_is_c_with_ecog_note():
    # Child-Pugh A, portal vein tumour thrombosis -> C; ECOG not in the paper
    stage, note = staging.bclc_stage("A", True, False, ecog=None,
                                     n_nodules="multiple", largest_cm=14)
    assert stage == "C"
    assert "ECOG not reported; stage D would need ECOG 3-4 or Child-Pugh C" in note


@pytest.mark.parametrize(
    "ecog, expected",
    [(0, "A"), (1, "C"), (2, "C"), (3, "D"), (4, "D")],
)
def test_bclc_ecog_boundaries(ecog, expected):
    # single 2.5 cm nodule, Child-Pugh A, no invasion/spread:
    # ECOG 0 -> A ; ECOG 1-2 -> C ; ECOG 3-4 -> D
    assert staging.bclc_stage("A", False, False, ecog, 1, 2.5).stage == expected


def test_bclc_child_pugh_c_is_d_even_with_small_tumour():
    assert staging.bclc_stage("C", False, False, 0, 1, 1.5).stage == "D"
    # label form "C10" accepted
    assert staging.bclc_stage("C10", False, False, 0, 1, 1.5).stage == "D"


def test_bclc_ecog_3_is_d_over_portal_invasion():
    assert staging.bclc_stage("A", True, True, 3).stage == "D"


def test_bclc_extrahepatic_spread_alone_is_c():
    assert staging.bclc_stage("A", False, True, 0, 1, 1.0).stage == "C"


@pytest.mark.parametrize(
    "n, size, expected",
    [
        (1, 2.0, "0"),   # single <= 2 cm -> 0 (at the cut-off)
        (1, 2.1, "A"),   # single > 2 cm -> A (any size)
        (1, 14.0, "A"),
        (2, 3.0, "A"),   # 2-3 nodules each <= 3 cm -> A (at the cut-off)
        (3, 3.0, "A"),
        (3, 3.1, "B"),   # 3 nodules, one > 3 cm -> B
        (4, 1.0, "B"),   # > 3 nodules -> B
        ("multiple", 3.5, "B"),
    ],
)
def test_bclc_tumour_burden_boundaries(n, size, expected):
    assert staging.bclc_stage("A", False, False, 0, n, size).stage == expected


def test_bclc_tumour_burden_with_unknown_ecog_assumes_0_and_says_so():
    stage, note = staging.bclc_stage("A", False, False, None, 1, 1.5)
    assert stage == "0"
    assert "as if ECOG 0" in note and "1-2 would make it C" in note


def test_bclc_not_computable_cases():
    # no Child-Pugh class
    assert staging.bclc_stage(None, True, False, 0).stage.startswith("not computable")
    # but ECOG 3-4 decides D regardless
    assert staging.bclc_stage(None, True, False, 4).stage == "D"
    # no invasion information, ECOG 0
    s = staging.bclc_stage("A", None, False, 0, 1, 1.0).stage
    assert s == "not computable: portal invasion not reported"
    # multiple nodules of unknown count, all <= 3 cm: A or B
    assert staging.bclc_stage("A", False, False, 0, "multiple", 2.0).stage.startswith(
        "not computable"
    )
    # single nodule, size unknown: 0 or A
    assert staging.bclc_stage("A", False, False, 0, 1, None).stage.startswith(
        "not computable"
    )


def test_bclc_child_pugh_b_flagged():
    stage, note = staging.bclc_stage("B", True, False, 1)
    assert stage == "C"
    assert "Child-Pugh B" in note


def test_bclc_rejects_bad_inputs():
    with pytest.raises(ValueError):
        staging.bclc_stage("X", False, False, 0)
    with pytest.raises(ValueError):
        staging.bclc_stage("A", False, False, 5)


# ---------------------------------------------------------------- mUICC


@pytest.mark.parametrize(
    "single, small, no_vi, expected",
    [
        (True, True, True, "T1"),     # all three
        (True, True, False, "T2"),    # two
        (True, False, True, "T2"),
        (False, True, True, "T2"),
        (True, False, False, "T3"),   # one
        (False, False, True, "T3"),
        (False, False, False, "T4"),  # none: the case (multiple, 14 cm, PVTT)
    ],
)
def test_muicc_t(single, small, no_vi, expected):
    assert staging.muicc_t(single, small, no_vi) == expected


@pytest.mark.parametrize(
    "t, n, m, expected",
    [
        ("T1", "N0", "M0", "I"),
        ("T2", "N0", "M0", "II"),
        ("T3", "N0", "M0", "III"),
        ("T4", "N0", "M0", "IVA"),
        ("T1", "N1", "M0", "IVA"),   # any T N1 M0
        ("T4", "N1", "M0", "IVA"),   # the case; paper says "IV"
        ("T1", "N0", "M1", "IVB"),   # any M1
        ("T4", "N1", "M1", "IVB"),
        ("4", "1", "0", "IVA"),      # bare numbers accepted
    ],
)
def test_muicc_stage(t, n, m, expected):
    assert staging.muicc_stage(t, n, m) == expected


def test_muicc_stage_rejects_bad_categories():
    with pytest.raises(ValueError):
        staging.muicc_stage("T5", "N0", "M0")
    with pytest.raises(ValueError):
        staging.muicc_stage("T1", "N2", "M0")


# ---------------------------------------------------------------- CTCAE fever


@pytest.mark.parametrize(
    "temp, duration, grade",
    [
        (37.9, None, 0),   # below 38.0: not fever
        (38.0, None, 1),   # 38.0-39.0 -> 1 (lower end)
        (38.3, None, 1),   # the case
        (39.0, None, 1),   # upper end of grade 1
        (39.1, None, 2),   # > 39.0-40.0 -> 2
        (40.0, None, 2),   # upper end of grade 2
        (40.1, 24, 3),     # > 40.0 for <= 24 h -> 3
        (40.1, 25, 4),     # > 40.0 for > 24 h -> 4
    ],
)
def test_ctcae_fever_grade(temp, duration, grade):
    assert staging.ctcae_fever_grade(temp, duration).grade == grade


def test_ctcae_fever_above_40_without_duration_is_undecided():
    grade, note = staging.ctcae_fever_grade(40.5)
    assert grade is None
    assert "grade 3 if <= 24 h, 4 if > 24 h" in note


# ---------------------------------------------------------------- staging_table


def test_staging_table_case():
    table = staging.staging_table(CASE_FACTS, "A5")
    assert list(table.columns) == ["system", "computed", "reported", "agrees", "note"]
    assert list(table["system"]) == ["BCLC", "mUICC"]
    bclc, muicc = table.iloc[0], table.iloc[1]
    assert bclc["computed"] == "C" and bclc["reported"] == "C"
    assert bool(bclc["agrees"]) is True
    assert "ECOG not reported" in bclc["note"]
    # multiple (not single), 14 cm (> 2), vascular invasion -> 0 criteria -> T4; N1 M0 -> IVA
    assert muicc["computed"] == "IVA" and muicc["reported"] == "IV"
    assert bool(muicc["agrees"]) is True
    assert "T4N1M0" in muicc["note"]
    assert "without the A/B subdivision" in muicc["note"]


def test_staging_table_disagreement_and_missing_reported():
    facts = dict(CASE_FACTS, bclc_stage_reported="B")
    del facts["muicc_stage_reported"]
    table = staging.staging_table(facts, "A")
    assert bool(table.iloc[0]["agrees"]) is False
    assert pd.isna(table.iloc[1]["reported"])
    assert pd.isna(table.iloc[1]["agrees"])


def test_staging_table_missing_determinants():
    facts = {"bclc_stage_reported": "C", "muicc_stage_reported": "IV"}
    table = staging.staging_table(facts, None)
    bclc, muicc = table.iloc[0], table.iloc[1]
    assert bclc["computed"].startswith("not computable: Child-Pugh")
    assert pd.isna(bclc["agrees"])
    assert muicc["computed"].startswith("not computable:")
    assert "n_stage not in facts" in muicc["computed"]
    assert "m_stage not in facts" in muicc["computed"]


def test_staging_table_muicc_t_fallback_and_vascular_from_portal():
    facts = dict(CASE_FACTS)
    del facts["vascular_invasion"]
    del facts["largest_tumour_cm"]
    table = staging.staging_table(facts, "A")
    muicc = table.iloc[1]
    # criteria incomplete (size missing) -> uses the facts t_stage T4 -> T4N1M0 -> IVA
    assert muicc["computed"] == "IVA"
    assert "T taken from facts t_stage" in muicc["note"]


def test_staging_table_bclc_with_ecog_in_facts():
    facts = dict(CASE_FACTS, ecog="3")
    table = staging.staging_table(facts, "A5")
    assert table.iloc[0]["computed"] == "D"
    assert bool(table.iloc[0]["agrees"]) is False
