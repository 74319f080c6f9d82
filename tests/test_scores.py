"""Tests for casekit.rules.scores.

Expected values are worked out by hand from the published tables/formulas
(Pugh 1973; Johnson 2015; Kamath 2001 / UNOS); arithmetic in the comments.
"""

import math

import pandas as pd
import pytest

from casekit.rules import scores


# ---------------------------------------------------------------- Child-Pugh


def test_child_pugh_case_at_referral_is_a5():
    # bili 0.6 (<2: 1) + alb 4.1 (>3.5: 1) + INR 1.14 (<1.7: 1) + none 1 + none 1 = 5
    result = scores.child_pugh(0.6, 4.1, 1.14, "none", "none")
    assert tuple(result) == (5, "A")
    assert result.points == 5 and result.letter == "A"
    assert str(result) == "A5" and result.label == "A5"
    points, letter = result
    assert (points, letter) == (5, "A")


@pytest.mark.parametrize(
    "bili, expected",
    [(1.99, 1), (2.0, 2), (2.01, 2), (3.0, 2), (3.01, 3)],
)
def test_bilirubin_boundaries(bili, expected):
    # <2 -> 1 ; 2-3 -> 2 (both ends inclusive) ; >3 -> 3
    assert scores.bilirubin_points(bili) == expected


@pytest.mark.parametrize(
    "alb, expected",
    [(3.51, 1), (3.5, 2), (3.49, 2), (2.8, 2), (2.79, 3)],
)
def test_albumin_boundaries(alb, expected):
    # >3.5 -> 1 ; 2.8-3.5 -> 2 (both ends inclusive) ; <2.8 -> 3
    assert scores.albumin_points(alb) == expected


@pytest.mark.parametrize(
    "inr, expected",
    [(1.69, 1), (1.7, 2), (1.71, 2), (2.3, 2), (2.31, 3)],
)
def test_inr_boundaries(inr, expected):
    # <1.7 -> 1 ; 1.7-2.3 -> 2 (both ends inclusive) ; >2.3 -> 3
    assert scores.inr_points(inr) == expected


@pytest.mark.parametrize(
    "points, letter",
    [(5, "A"), (6, "A"), (7, "B"), (9, "B"), (10, "C"), (15, "C")],
)
def test_child_pugh_class_boundaries(points, letter):
    # A 5-6, B 7-9, C 10-15
    assert scores.child_pugh_class(points) == letter


def test_child_pugh_class_out_of_range():
    with pytest.raises(ValueError):
        scores.child_pugh_class(4)
    with pytest.raises(ValueError):
        scores.child_pugh_class(16)


def test_child_pugh_b7_and_c_examples():
    # bili 2.0 (2) + alb 3.5 (2) + INR 1.2 (1) + none (1) + none (1) = 7 -> B7
    assert str(scores.child_pugh(2.0, 3.5, 1.2, "none", "none")) == "B7"
    # bili 3.5 (3) + alb 2.5 (3) + INR 2.5 (3) + moderate_severe (3) + grade_3_4 (3) = 15
    assert tuple(scores.child_pugh(3.5, 2.5, 2.5, "moderate_severe", "grade_3_4")) == (15, "C")
    # bili 1.0 (1) + alb 3.0 (2) + INR 1.8 (2) + mild (2) + grade_1_2 (2) = 9 -> B9
    assert str(scores.child_pugh(1.0, 3.0, 1.8, "mild", "grade_1_2")) == "B9"
    # 10 -> C10: bili 2.5 (2) + alb 3.0 (2) + INR 2.0 (2) + mild (2) + grade_1_2 (2)
    assert str(scores.child_pugh(2.5, 3.0, 2.0, "mild", "grade_1_2")) == "C10"


def test_child_pugh_rejects_unknown_clinical_terms_and_bad_numbers():
    with pytest.raises(ValueError, match="ascites"):
        scores.child_pugh(1.0, 4.0, 1.0, "some", "none")
    with pytest.raises(ValueError, match="encephalopathy"):
        scores.child_pugh(1.0, 4.0, 1.0, "none", "confused")
    with pytest.raises(ValueError, match="bilirubin"):
        scores.child_pugh(-1.0, 4.0, 1.0, "none", "none")


# ---------------------------------------------------------------- ALBI


def test_albi_seed_si_units():
    # bili 10.26 umol/L, alb 41 g/L
    # log10(10.26) = 1.011147 ; 0.66 x 1.011147 = 0.667357 ; 0.085 x 41 = 3.485
    # 0.667357 - 3.485 = -2.817643 -> grade 1 (<= -2.60)
    result = scores.albi(10.26, 41.0)
    assert result.score == pytest.approx(-2.817643, abs=1e-5)
    assert result.grade == 1
    score, grade = result
    assert grade == 1


def test_albi_conversion_helpers():
    # 0.6 mg/dL x 17.1 = 10.26 umol/L ; 4.1 g/dL x 10 = 41 g/L
    assert scores.bilirubin_mg_dl_to_umol_l(0.6) == pytest.approx(10.26)
    assert scores.albumin_g_dl_to_g_l(4.1) == pytest.approx(41.0)
    assert scores.bilirubin_umol_l_to_mg_dl(17.1) == pytest.approx(1.0)
    assert scores.albumin_g_l_to_g_dl(35.0) == pytest.approx(3.5)


def test_albi_both_unit_systems_agree():
    si = scores.albi(10.26, 41.0)
    conventional = scores.albi_conventional(0.6, 4.1)
    assert conventional.score == pytest.approx(si.score, abs=1e-12)
    assert conventional.grade == si.grade


@pytest.mark.parametrize(
    "score, grade",
    [(-2.60, 1), (-2.5999, 2), (-2.61, 1), (-1.39, 2), (-1.3899, 3), (0.0, 3)],
)
def test_albi_grade_boundaries(score, grade):
    # grade 1 <= -2.60 < grade 2 <= -1.39 < grade 3
    assert scores.albi_grade(score) == grade


def test_albi_grade_2_and_3_examples():
    # bili 34.2 umol/L (2 mg/dL), alb 30 g/L:
    # 0.66 x log10(34.2) = 0.66 x 1.534026 = 1.012457 ; 0.085 x 30 = 2.55
    # 1.012457 - 2.55 = -1.537543 -> grade 2
    r = scores.albi(34.2, 30.0)
    assert r.score == pytest.approx(-1.537543, abs=1e-5)
    assert r.grade == 2
    # bili 100 umol/L, alb 25 g/L: 0.66 x 2 - 2.125 = 1.32 - 2.125 = -0.805 -> grade 3
    r = scores.albi(100.0, 25.0)
    assert r.score == pytest.approx(-0.805, abs=1e-9)
    assert r.grade == 3


# ---------------------------------------------------------------- MELD


def test_meld_all_ones():
    # ln(1) = 0 for all terms -> 6.43 -> 6
    result = scores.meld(1.0, 1.0, 1.0)
    assert result.score == 6
    assert result.unrounded == pytest.approx(6.43)
    assert result.note == "within bounds"


def test_meld_values_below_one_are_floored():
    # 0.6, 0.9, 0.5 all -> 1.0 -> 6.43 -> 6 (not a lower score)
    result = scores.meld(0.6, 0.9, 0.5)
    assert result.score == 6
    assert "set to 1.0" in result.note


def test_meld_creatinine_cap_and_dialysis():
    # creatinine 5.0 -> capped at 4.0: 9.57 x ln 4 = 9.57 x 1.386294 = 13.266837
    # 13.266837 + 6.43 = 19.696837 -> 20
    capped = scores.meld(1.0, 1.0, 5.0)
    assert capped.unrounded == pytest.approx(19.696837, abs=1e-5)
    assert capped.score == 20
    assert "capped at 4.0" in capped.note
    # exactly 4.0 is not capped, same value
    assert scores.meld(1.0, 1.0, 4.0).score == 20
    # creatinine 3.9: 9.57 x ln 3.9 = 9.57 x 1.360977 = 13.024550 ; + 6.43 = 19.45 -> 19
    assert scores.meld(1.0, 1.0, 3.9).score == 19
    # dialysis sets creatinine to 4.0 whatever the measured value -> 20
    dia = scores.meld(1.0, 1.0, 1.0, dialysis=True)
    assert dia.score == 20
    assert "dialysis" in dia.note


def test_meld_worked_example():
    # bili 2.0, INR 1.5, creat 1.2
    # 3.78 x ln 2   = 3.78 x 0.693147 = 2.620096
    # 11.2 x ln 1.5 = 11.2 x 0.405465 = 4.541208
    # 9.57 x ln 1.2 = 9.57 x 0.182322 = 1.744821
    # sum + 6.43 = 15.336125 -> 15
    result = scores.meld(2.0, 1.5, 1.2)
    assert result.unrounded == pytest.approx(15.336125, abs=1e-5)
    assert result.score == 15


def test_meld_capped_at_40():
    # bili 40, INR 5, creat 4:
    # 3.78 x 3.688879 = 13.943964 ; 11.2 x 1.609438 = 18.025706 ; 9.57 x 1.386294 = 13.266837
    # + 6.43 = 51.666507 -> capped at 40
    result = scores.meld(40.0, 5.0, 4.0)
    assert result.unrounded == pytest.approx(51.666507, abs=1e-4)
    assert result.score == 40


def test_meld_rejects_non_positive():
    with pytest.raises(ValueError, match="creatinine"):
        scores.meld(1.0, 1.0, 0.0)


# ---------------------------------------------------------------- score_table


def _labs(rows):
    frame = pd.DataFrame(rows, columns=["event_id", "day", "test", "value", "unit"])
    frame["status"] = "reported"
    frame["source"] = "test"
    return frame


CASE_FACTS = {"ascites": "none", "encephalopathy": "none", "ecog": "0"}


@pytest.fixture
def case_labs():
    return _labs(
        [
            ("labs_pretreatment", -7, "AFP", 654.0, "ng/mL"),
            ("referral", 21, "WBC", 5.16, "10^9/L"),
            ("referral", 21, "BILI", 0.6, "mg/dL"),
            ("referral", 21, "ALB", 4.1, "g/dL"),
            ("referral", 21, "INR", 1.14, "ratio"),
            ("referral", 21, "AST", 50.0, "IU/L"),
            ("ct_c3", 63, "AFP", 326.4, "ng/mL"),
        ]
    )


def test_score_table_case(case_labs):
    table = scores.score_table(case_labs, CASE_FACTS)
    assert list(table.columns) == ["event_id", "score", "value", "category", "formula"]
    # only the referral has liver labs; AFP-only events emit nothing
    assert list(table["event_id"]) == ["referral"] * 5
    assert list(table["score"]) == ["albi", "child_pugh", "meld", "meld_3", "meld_na"]
    albi_row, cp_row, meld_row = (table.iloc[i] for i in range(3))
    # every row names its formula and reference; MELD variants empty with the reason
    assert "Kim WR" in table.iloc[3]["formula"] and "2021" in table.iloc[3]["formula"]
    assert "2016" in table.iloc[4]["formula"]
    assert table.iloc[3]["category"] == (
        "not computable: no creatinine (CREAT), sodium (SODIUM) reported; sex not in facts")
    assert table.iloc[4]["category"] == (
        "not computable: no creatinine (CREAT), sodium (SODIUM) reported")
    assert table[["value"]].iloc[3:].isna().all().all()
    # ALBI -2.817643 -> -2.82, grade 1
    assert albi_row["value"] == -2.82 and albi_row["category"] == "grade 1"
    # Child-Pugh 5 -> "A5"
    assert cp_row["value"] == 5.0 and cp_row["category"] == "A5"
    # creatinine is not reported in the paper: no MELD, never a guess
    assert math.isnan(meld_row["value"])
    assert meld_row["category"] == "not computable: no creatinine (CREAT) reported"


def test_score_table_missing_facts(case_labs):
    table = scores.score_table(case_labs, {"encephalopathy": "none"})
    cp = table[table["score"] == "child_pugh"].iloc[0]
    assert math.isnan(cp["value"])
    assert cp["category"] == "not computable: ascites not in facts"
    # ALBI does not need facts
    assert table[table["score"] == "albi"].iloc[0]["category"] == "grade 1"


def test_score_table_unrecognised_fact(case_labs):
    table = scores.score_table(case_labs, {"ascites": "lots", "encephalopathy": "none"})
    cp = table[table["score"] == "child_pugh"].iloc[0]
    assert cp["category"] == "not computable: ascites value 'lots' not recognised"


def test_score_table_partial_labs_and_sorting():
    labs = _labs(
        [
            ("late", 30, "BILI", 2.0, "mg/dL"),
            ("late", 30, "INR", 1.5, "ratio"),
            ("late", 30, "CREAT", 1.2, "mg/dL"),
            ("early", 5, "ALB", 3.0, "g/dL"),
        ]
    )
    table = scores.score_table(labs, CASE_FACTS)
    # sorted by day (early=5 first) then score name
    assert list(zip(table["event_id"], table["score"])) == [
        (event, score) for event in ("early", "late")
        for score in ("albi", "child_pugh", "meld", "meld_3", "meld_na")]
    early = table[table["event_id"] == "early"].set_index("score")
    assert early.loc["albi", "category"] == "not computable: no bilirubin (BILI) reported"
    assert early.loc["child_pugh", "category"] == (
        "not computable: no bilirubin (BILI), INR (INR) reported"
    )
    assert early.loc["meld", "category"] == (
        "not computable: no bilirubin (BILI), INR (INR), creatinine (CREAT) reported"
    )
    late = table[table["event_id"] == "late"].set_index("score")
    # MELD worked example above: 15.336 -> 15
    assert late.loc["meld", "value"] == 15.0
    assert late.loc["meld", "category"] == "within bounds"
    assert late.loc["child_pugh", "category"] == "not computable: no albumin (ALB) reported"


def test_score_table_conflicting_duplicate_values_not_guessed():
    labs = _labs(
        [
            ("ev", 1, "BILI", 0.6, "mg/dL"),
            ("ev", 1, "BILI", 0.9, "mg/dL"),
            ("ev", 1, "ALB", 4.1, "g/dL"),
        ]
    )
    table = scores.score_table(labs, CASE_FACTS)
    albi_row = table[table["score"] == "albi"].iloc[0]
    assert math.isnan(albi_row["value"])
    assert "conflicting bilirubin (BILI)" in albi_row["category"]


def test_score_table_dialysis_fact():
    labs = _labs(
        [
            ("ev", 1, "BILI", 1.0, "mg/dL"),
            ("ev", 1, "INR", 1.0, "ratio"),
            ("ev", 1, "CREAT", 1.0, "mg/dL"),
        ]
    )
    table = scores.score_table(labs, {**CASE_FACTS, "dialysis": "yes"})
    meld_row = table[table["score"] == "meld"].iloc[0]
    # dialysis -> creatinine 4.0 -> 19.70 -> 20
    assert meld_row["value"] == 20.0


def test_score_table_no_liver_labs_is_empty():
    labs = _labs([("a", 0, "AFP", 10.0, "ng/mL")])
    table = scores.score_table(labs, CASE_FACTS)
    assert table.empty
    assert list(table.columns) == ["event_id", "score", "value", "category", "formula"]


# ---------------------------------------------------------------- MELD-Na (OPTN 2016), MELD 3.0
def test_meld_na_worked_example():
    # MELD(i) = 0.957 ln 1.5 + 0.378 ln 2 + 1.120 ln 1.5 + 0.643
    #         = 0.957 x 0.405465 + 0.378 x 0.693147 + 1.120 x 0.405465 + 0.643
    #         = 0.388030 + 0.262010 + 0.454121 + 0.643 = 1.747161 -> 1.7 -> 17 (> 11)
    # MELD-Na = 17 + 1.32 x (137 - 130) - 0.033 x 17 x 7 = 17 + 9.24 - 3.927 = 22.313 -> 22
    result = scores.meld_na(2.0, 1.5, 1.5, 130)
    assert result.score == 22 and math.isclose(result.unrounded, 22.313, abs_tol=1e-9)


def test_meld_na_no_sodium_term_at_meld_i_11_or_below():
    # all 1.0: MELD(i) = 0.643 -> 0.6 -> 6 <= 11: no sodium term even at Na 125 -> 6
    assert scores.meld_na(1.0, 1.0, 1.0, 125).score == 6
    # bilirubin 1.0, INR 1.0, creatinine 2.0: 0.957 ln 2 + 0.643 = 0.663342 + 0.643 = 1.306
    # -> 1.3 -> 13 (> 11); Na 140 bounded to 137: no change -> 13
    result = scores.meld_na(1.0, 1.0, 2.0, 140)
    assert result.score == 13 and "sodium > 137 set to 137" in result.note
    # Na 120 bounded to 125: 13 + 1.32 x 12 - 0.033 x 13 x 12 = 13 + 15.84 - 5.148 = 23.692 -> 24
    assert scores.meld_na(1.0, 1.0, 2.0, 120).score == 24


def test_meld_na_creatinine_cap_and_dialysis():
    # creatinine 5 -> 4: 0.957 ln 4 + 0.643 = 1.326684 + 0.643 = 1.969684 -> 2.0 -> 20;
    # Na 137: 20 + 0 - 0 = 20
    assert scores.meld_na(1.0, 1.0, 5.0, 137).score == 20
    assert scores.meld_na(1.0, 1.0, 1.0, 137, dialysis=True).score == 20


def test_meld_3_worked_example():
    # male, bilirubin 2.0, INR 1.5, creatinine 1.5, Na 130, albumin 3.0:
    # 4.56 ln 2 = 3.160751; 0.82 x 7 = 5.74; -0.24 x 7 x ln 2 = -1.164487;
    # 9.09 ln 1.5 = 3.685677; 11.14 ln 1.5 = 4.516880; 1.85 x 0.5 = 0.925;
    # -1.83 x 0.5 x ln 1.5 = -0.370999; + 6  => 22.492822 -> 22
    male = scores.meld_3(2.0, 1.5, 1.5, 130, 3.0, female=False)
    assert male.score == 22 and math.isclose(male.unrounded, 22.492822, abs_tol=1e-5)
    # female: + 1.33 = 23.822822 -> 24
    assert scores.meld_3(2.0, 1.5, 1.5, 130, 3.0, female=True).score == 24


def test_meld_3_bounds():
    # all at the floor / normal: 6 + 1.85 x (3.5 - 3.5) = 6; albumin 4.1 bounded to 3.5
    result = scores.meld_3(0.6, 1.0, 0.8, 140, 4.1, female=False)
    assert result.score == 6
    assert "albumin > 3.5 set to 3.5" in result.note and "sodium > 137 set to 137" in result.note
    # creatinine capped at 3.0 (not 4.0): 11.14 ln 3 + 6 = 12.238542 + 6 = 18.24 -> 18
    assert scores.meld_3(1.0, 1.0, 5.0, 137, 3.5, female=False).score == 18
    assert scores.meld_3(1.0, 1.0, 1.0, 137, 3.5, female=False, dialysis=True).score == 18
    # albumin 1.0 bounded to 1.5: 1.85 x 2.0 + 6 = 9.7 -> 10
    assert scores.meld_3(1.0, 1.0, 1.0, 137, 1.0, female=False).score == 10
