"""Tests for casekit.rules.response.

Every expected value below was worked out by hand from RECIST 1.1
(Eisenhauer et al., Eur J Cancer 2009;45:228-247) and mRECIST (Lencioni &
Llovet, Semin Liver Dis 2010;30:52-60); the arithmetic is in the comments.
"""

import itertools
import math
from pathlib import Path

import pandas as pd
import pytest

from casekit.rules.response import (
    CRITERIA,
    porta_hepatis_nodes,
    OVERALL_RESPONSE_TABLE,
    assess,
    best_overall_response,
    lesion_changes,
    overall_response,
    response_table,
    sensitivity,
)

LESION_COLUMNS = ["event_id", "day", "lesion_id", "kind", "role", "measure", "size_cm", "assessment"]


def lesions(*rows, sites=None):
    """Lesion frame from (event_id, day, lesion_id, kind, role, measure, size_cm,
    assessment) tuples; None means not recorded. Each lesion is its own organ
    ("site of T1") unless ``sites`` maps its id to a site."""
    frame = pd.DataFrame(rows, columns=LESION_COLUMNS)
    frame["measure"] = frame["measure"].fillna("")
    frame["assessment"] = frame["assessment"].fillna("")
    frame["size_cm"] = frame["size_cm"].astype(float)
    frame["site"] = [(sites or {}).get(i, f"site of {i}") for i in frame["lesion_id"]]
    frame["status"] = "recorded"
    frame["source"] = "test"
    return frame


def one_target(*sizes, extra=()):
    """A single tumour target T1 (longest diameter) at baseline day 0 and
    follow-ups every 42 days, plus any extra rows."""
    rows = [(f"e{i}", 42 * i, "T1", "tumour", "target", "longest", size, "present")
            for i, size in enumerate(sizes)]
    return lesions(*rows, *extra)


def follow_up(frame, criteria="RECIST1.1", i=1, **kwargs):
    return assess(frame, criteria, **kwargs).iloc[i]


# ---------------------------------------------------------------------------
# Combination table: a hand-written copy of the published time-point table for
# patients with target disease (+/- non-target disease), RECIST 1.1 §4.4.1.
# ---------------------------------------------------------------------------
NON_PD = ["CR", "non-CR/non-PD"]
ANY_NON_TARGET = ["CR", "non-CR/non-PD", "NE", "PD"]
ANY_TARGET = ["CR", "PR", "SD", "PD", "NE"]
HAND_TARGET_TABLE = [
    # target, non-target, new lesions, overall
    (["CR"], ["CR"], ["no"], "CR"),
    (["CR"], ["non-CR/non-PD"], ["no"], "PR"),
    (["CR"], ["NE"], ["no"], "PR"),  # "not evaluated"
    (["PR"], NON_PD + ["NE"], ["no"], "PR"),  # "non-PD or not all evaluated"
    (["SD"], NON_PD + ["NE"], ["no"], "SD"),
    (["NE"], NON_PD, ["no"], "NE"),  # "not all evaluated" / "non-PD"
    (["PD"], ANY_NON_TARGET, ["no", "yes"], "PD"),
    (ANY_TARGET, ["PD"], ["no", "yes"], "PD"),
    (ANY_TARGET, ANY_NON_TARGET, ["yes"], "PD"),
]
# ... and the table for non-target disease only (target "NA").
HAND_NON_TARGET_TABLE = [
    (["NA"], ["CR"], ["no"], "CR"),
    (["NA"], ["non-CR/non-PD"], ["no"], "non-CR/non-PD"),
    (["NA"], ["NE"], ["no"], "NE"),
    (["NA"], ["PD"], ["no", "yes"], "PD"),
    (["NA"], ANY_NON_TARGET, ["yes"], "PD"),
]


def _cases(table):
    return [(t, nt, new, overall)
            for targets, non_targets, news, overall in table
            for t, nt, new in itertools.product(targets, non_targets, news)]


@pytest.mark.parametrize("target,non_target,new,expected", _cases(HAND_TARGET_TABLE))
def test_overall_response_matches_published_target_table(target, non_target, new, expected):
    assert overall_response(target, non_target, new) == expected


@pytest.mark.parametrize("target,non_target,new,expected", _cases(HAND_NON_TARGET_TABLE))
def test_overall_response_matches_published_non_target_table(target, non_target, new, expected):
    assert overall_response(target, non_target, new) == expected


def test_overall_response_table_is_a_complete_function_of_its_keys():
    keys = OVERALL_RESPONSE_TABLE[["target", "non_target", "new_lesions"]]
    assert not keys.duplicated().any()
    # 6 target values x 5 non-target values (incl. NA) x yes/no
    assert len(OVERALL_RESPONSE_TABLE) == 6 * 5 * 2
    assert set(OVERALL_RESPONSE_TABLE["overall"]) <= {"CR", "PR", "SD", "PD", "NE", "non-CR/non-PD"}


def test_no_non_target_disease_leaves_target_call_standing():
    assert overall_response("CR", "NA", "no") == "CR"
    assert overall_response("PR", "NA", "no") == "PR"


def test_uncounted_suspected_new_lesion_is_looked_up_as_none():
    assert overall_response("PR", "non-CR/non-PD", "suspected") == "PR"


# ---------------------------------------------------------------------------
# Target response boundaries (RECIST 1.1 §4.3.1)
# ---------------------------------------------------------------------------
def test_baseline_row_has_sum_and_empty_responses():
    row = assess(one_target(10.0, 7.0), "RECIST1.1").iloc[0]
    assert row["event_id"] == "e0" and row["target_sum_cm"] == 10.0
    assert math.isnan(row["change_from_baseline_pct"])
    assert [row[c] for c in ("target_response", "non_target_response", "new_lesions",
                             "overall_response")] == ["", "", "", ""]


def test_thirty_percent_decrease_exactly_is_pr():
    row = follow_up(one_target(10.0, 7.0))  # (7.0 - 10.0) / 10.0 = -30.0 %
    assert row["change_from_baseline_pct"] == -30.0
    assert row["target_response"] == "PR"
    assert row["non_target_response"] == "NA"
    assert row["overall_response"] == "PR"


def test_thirty_percent_boundary_is_exact_for_float_sums():
    # baseline 3.3 + 3.3 + 3.4 = 10.0; follow-up 2.1 + 2.4 + 2.5 = 7.0 -> -30.0 % exactly
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 3.3, "present"),
        ("e0", 0, "T2", "tumour", "target", "longest", 3.3, "present"),
        ("e0", 0, "T3", "tumour", "target", "longest", 3.4, "present"),
        ("e1", 56, "T1", "tumour", "target", "longest", 2.1, "present"),
        ("e1", 56, "T2", "tumour", "target", "longest", 2.4, "present"),
        ("e1", 56, "T3", "tumour", "target", "longest", 2.5, "present"),
    )
    row = follow_up(frame)
    assert row["target_sum_cm"] == 7.0
    assert row["target_response"] == "PR"


def test_29_9_percent_decrease_is_sd():
    row = follow_up(one_target(10.0, 7.01))  # -2.99 / 10.0 = -29.9 %
    assert row["change_from_baseline_pct"] == -29.9
    assert row["target_response"] == "SD"
    assert row["overall_response"] == "SD"


def test_twenty_percent_increase_of_0_4_cm_is_not_pd():
    row = follow_up(one_target(2.0, 2.4))  # +0.4 / 2.0 = +20 %, but only 4 mm
    assert row["change_from_nadir_pct"] == 20.0
    assert row["target_response"] == "SD"


def test_twenty_percent_increase_of_0_5_cm_is_pd():
    row = follow_up(one_target(2.5, 3.0))  # +0.5 / 2.5 = +20 % and 5 mm
    assert row["change_from_nadir_pct"] == 20.0
    assert row["target_response"] == "PD"
    assert row["overall_response"] == "PD"


def test_progression_is_measured_from_nadir_below_baseline():
    # 10.0 -> 5.0 (PR, nadir 5.0) -> 6.0: -40 % vs baseline but +20 %, +1.0 cm vs nadir
    table = assess(one_target(10.0, 5.0, 6.0), "RECIST1.1")
    assert list(table["target_response"]) == ["", "PR", "PD"]
    assert table.iloc[2]["change_from_baseline_pct"] == -40.0
    assert table.iloc[2]["change_from_nadir_pct"] == 20.0


def _node_and_tumour(node_follow_up):
    return lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 3.0, "present"),
        ("e0", 0, "N1", "lymph_node", "target", "short_axis", 1.6, "present"),
        ("e1", 56, "T1", "tumour", "target", None, None, "absent"),
        ("e1", 56, "N1", "lymph_node", "target", "short_axis", node_follow_up, "present"),
    )


def test_nodal_target_below_1_cm_allows_cr():
    row = follow_up(_node_and_tumour(0.9))
    assert row["target_sum_cm"] == 0.9  # the node stays in the sum
    assert row["change_from_baseline_pct"] == -80.4  # (0.9 - 4.6) / 4.6 = -80.43 %
    assert row["target_response"] == "CR"
    assert row["overall_response"] == "CR"


def test_nodal_target_at_1_cm_is_not_cr():
    row = follow_up(_node_and_tumour(1.0))
    assert row["change_from_baseline_pct"] == -78.3  # (1.0 - 4.6) / 4.6 = -78.26 %
    assert row["target_response"] == "PR"


def test_target_cr_with_non_target_present_is_pr():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 3.0, "present"),
        ("e0", 0, "M1", "tumour", "non_target", None, None, "present"),
        ("e1", 56, "T1", "tumour", "target", None, None, "absent"),
        ("e1", 56, "M1", "tumour", "non_target", None, None, "present"),
    )
    row = follow_up(frame)
    assert (row["target_response"], row["non_target_response"], row["overall_response"]) == (
        "CR", "non-CR/non-PD", "PR")


def test_everything_gone_is_cr():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 3.0, "present"),
        ("e0", 0, "M1", "tumour", "non_target", None, None, "present"),
        ("e1", 56, "T1", "tumour", "target", None, None, "absent"),
        ("e1", 56, "M1", "tumour", "non_target", None, None, "absent"),
    )
    row = follow_up(frame)
    assert (row["target_response"], row["non_target_response"], row["overall_response"]) == (
        "CR", "CR", "CR")


def test_unmeasured_target_is_ne():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 4.0, "present"),
        ("e0", 0, "T2", "tumour", "target", "longest", 4.0, "present"),
        ("e1", 56, "T1", "tumour", "target", "longest", 2.0, "present"),
    )
    row = follow_up(frame)
    assert row["target_response"] == "NE" and row["overall_response"] == "NE"
    assert math.isnan(row["target_sum_cm"])
    assert "T2" in row["note"]


# ---------------------------------------------------------------------------
# Non-target and new lesions (RECIST 1.1 §4.3.3-4.3.5)
# ---------------------------------------------------------------------------
def test_unequivocal_new_lesion_is_pd():
    row = follow_up(one_target(10.0, 5.0, extra=[
        ("e1", 42, "X1", "tumour", "new", None, None, "present")]))
    assert row["target_response"] == "PR"
    assert row["new_lesions"] == "yes"
    assert row["overall_response"] == "PD"


def test_non_target_unequivocal_progression_is_pd_despite_target_pr():
    row = follow_up(one_target(10.0, 5.0, extra=[
        ("e0", 0, "M1", "tumour", "non_target", None, None, "present"),
        ("e1", 42, "M1", "tumour", "non_target", None, None, "unequivocal_progression")]))
    assert row["target_response"] == "PR"
    assert row["non_target_response"] == "PD"
    assert row["overall_response"] == "PD"


def test_unassessed_non_target_is_ne_and_target_pr_stands():
    row = follow_up(one_target(10.0, 5.0, extra=[
        ("e0", 0, "M1", "tumour", "non_target", None, None, "present")]))
    assert row["non_target_response"] == "NE"
    assert row["overall_response"] == "PR"


def _with_suspected_new_lesion():
    return one_target(10.0, 5.0, extra=[("e1", 42, "X1", "tumour", "new", None, None, "suspected")])


def test_suspected_new_lesion_not_counted_by_default():
    row = follow_up(_with_suspected_new_lesion())
    assert row["new_lesions"] == "suspected"
    assert row["overall_response"] == "PR"


def test_suspected_new_lesion_counted_on_request():
    row = follow_up(_with_suspected_new_lesion(), count_suspected=True)
    assert row["new_lesions"] == "yes"
    assert row["overall_response"] == "PD"


def _growing_node(*sizes, site=None):
    return lesions(*[(f"e{i}", 42 * i, "T1", "tumour", "target", "longest", 5.0, "present")
                     for i in range(len(sizes))],
                   *[(f"e{i}", 42 * i, "N1", "lymph_node", "non_target", "short_axis", size, "present")
                     for i, size in enumerate(sizes)], sites={"N1": site} if site else None)


def test_pathological_node_that_grows_is_non_target_not_new():
    # RECIST 1.1 §3.1.2: 1.2 cm (10-15 mm) is a pathological non-target at baseline; its growth
    # to 1.6 cm is judged as non-target progression (only if unequivocal), never a new lesion
    # (EORTC FAQ). The old engine called it a new lesion and PD.
    row = follow_up(_growing_node(1.2, 1.6), "RECIST1.1")
    assert (row["new_lesions"], row["non_target_response"], row["overall_response"]) == (
        "no", "non-CR/non-PD", "SD")  # target 5.0 -> 5.0: SD
    assert "N1" in row["note"] and "unequivocal" in row["note"]


def test_normal_node_reaching_15_mm_is_new():
    # 0.8 < 1.0 cm: normal at baseline, not disease; 1.5 cm >= 15 mm: new malignant node
    row = follow_up(_growing_node(0.8, 1.5), "RECIST1.1")
    assert (row["new_lesions"], row["overall_response"]) == ("yes", "PD")
    assert "N1" in assess(_growing_node(0.8, 1.5), "RECIST1.1").iloc[0]["note"]


def test_normal_node_at_10_to_15_mm_is_equivocal_until_it_grows():
    # 0.8 -> 1.2: 10-15 mm, equivocal (EORTC FAQ "New lymph node lesions")
    assert follow_up(_growing_node(0.8, 1.2), "RECIST1.1")["new_lesions"] == "suspected"
    assert follow_up(_growing_node(0.8, 1.2), "RECIST1.1")["overall_response"] == "SD"
    # 0.8 -> 1.2 -> 1.3: grew after the equivocal reading -> new at e2, back-dated to e1
    table = assess(_growing_node(0.8, 1.2, 1.3), "RECIST1.1")
    assert list(table["overall_response"]) == ["", "PD", "PD"]
    assert "back-dated" in table.iloc[1]["note"]
    # 0.8 -> 1.2 -> 1.2: no growth, still equivocal
    assert list(assess(_growing_node(0.8, 1.2, 1.2), "RECIST1.1")["new_lesions"]) == [
        "", "suspected", "suspected"]


def test_mrecist_porta_hepatis_node_uses_2_cm():
    # L&L 2010: a porta hepatis node is malignant at >= 2 cm short axis; 1.9 is not disease
    frame = _growing_node(1.9, 2.0, site="porta hepatis lymph node")
    row = follow_up(frame, "mRECIST")
    assert (row["new_lesions"], row["overall_response"]) == ("yes", "PD")
    below = follow_up(_growing_node(1.9, 1.99, site="porta hepatis lymph node"), "mRECIST")
    assert below["new_lesions"] == "no"
    # the same node elsewhere follows RECIST 1.1: 1.9 >= 1.0 is pathological, never new
    assert follow_up(_growing_node(1.9, 2.0, site="para-aortic node"), "mRECIST")["new_lesions"] == "no"
    # ... and under RECIST 1.1 the site does not matter
    assert follow_up(frame, "RECIST1.1")["new_lesions"] == "no"


def test_porta_hepatis_nodes_are_marked_by_site_or_by_id():
    frame = _growing_node(1.9, 2.0, site="common hepatic artery lymph node")
    assert follow_up(frame, "mRECIST")["new_lesions"] == "no"  # not in the vocabulary
    assert follow_up(frame, "mRECIST", porta_hepatis=["N1"])["new_lesions"] == "yes"
    assert porta_hepatis_nodes(frame) == set()
    assert porta_hepatis_nodes(frame, "N1; N9") == {"N1", "N9"}
    assert porta_hepatis_nodes(_growing_node(1.0, 1.0, site="Hepatoduodenal ligament")) == {"N1"}


def test_node_threshold_is_a_parameter():
    # porta hepatis node with the threshold lowered to 1.5 cm: 1.2 not disease, 1.6 new
    row = follow_up(_growing_node(1.2, 1.6), "mRECIST", node_threshold_cm=1.5, porta_hepatis=["N1"])
    assert row["new_lesions"] == "yes"


def test_crossed_node_stays_new_at_later_assessments():
    table = assess(_growing_node(0.8, 1.6, 1.7), "RECIST1.1")
    assert list(table["new_lesions"]) == ["", "yes", "yes"]


def test_node_already_malignant_at_baseline_is_not_new():
    assert follow_up(_growing_node(1.6, 2.5), "RECIST1.1")["new_lesions"] == "no"


# ---------------------------------------------------------------------------
# Target eligibility and measures
# ---------------------------------------------------------------------------
def test_small_nodal_target_is_demoted_to_non_target():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 5.0, "present"),
        ("e0", 0, "N1", "lymph_node", "target", "short_axis", 1.2, "present"),
        ("e1", 56, "T1", "tumour", "target", "longest", 5.0, "present"),
        ("e1", 56, "N1", "lymph_node", "target", "short_axis", 1.2, "present"),
    )
    table = assess(frame, "RECIST1.1")
    assert table.iloc[0]["target_sum_cm"] == 5.0  # 1.2 < 1.5: node not summed
    assert "N1" in table.iloc[0]["note"] and "non-target" in table.iloc[0]["note"]
    assert table.iloc[1]["non_target_response"] == "non-CR/non-PD"
    assert table.iloc[1]["overall_response"] == "SD"


def test_tumour_thrombus_is_non_target_under_mrecist_only():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 5.0, "present"),
        ("e0", 0, "T1", "tumour", "target", "viable", 5.0, "present"),
        ("e0", 0, "V1", "vascular_invasion", "target", "longest", 2.0, "present"),
    )
    assert assess(frame, "RECIST1.1").iloc[0]["target_sum_cm"] == 7.0
    baseline = assess(frame, "mRECIST").iloc[0]
    assert baseline["target_sum_cm"] == 5.0
    assert "V1" in baseline["note"]


def test_mrecist_uses_viable_diameter_when_reported():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 10.0, "present"),
        ("e0", 0, "T1", "tumour", "target", "viable", 8.0, "present"),
        ("e1", 56, "T1", "tumour", "target", "longest", 9.0, "present"),
        ("e1", 56, "T1", "tumour", "target", "viable", 4.0, "present"),
    )
    mrecist = assess(frame, "mRECIST")
    assert list(mrecist["target_sum_cm"]) == [8.0, 4.0]  # viable: -50 % -> PR
    assert mrecist.iloc[1]["target_response"] == "PR"
    assert not mrecist["proxy"].any()
    recist = assess(frame, "RECIST1.1")
    assert recist.iloc[1]["change_from_baseline_pct"] == -10.0  # longest: 10 -> 9
    assert recist.iloc[1]["target_response"] == "SD"


def test_missing_viable_diameter_is_replaced_by_longest_and_flagged():
    frame = one_target(10.0, 6.0)
    mrecist = assess(frame, "mRECIST")
    assert mrecist["proxy"].all()
    assert "longest" in mrecist.iloc[1]["note"] and "viable" in mrecist.iloc[1]["note"]
    assert mrecist.iloc[1]["change_from_baseline_pct"] == -40.0
    assert not assess(frame, "RECIST1.1")["proxy"].any()


def test_viable_reported_only_at_follow_up_is_not_mixed_with_longest():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 10.0, "present"),
        ("e1", 56, "T1", "tumour", "target", "longest", 9.0, "present"),
        ("e1", 56, "T1", "tumour", "target", "viable", 4.0, "present"),
    )
    table = assess(frame, "mRECIST")
    # longest at both events (10 -> 9, -10 %), never longest 10 vs viable 4
    assert list(table["target_sum_cm"]) == [10.0, 9.0]
    assert table.iloc[1]["target_response"] == "SD"
    assert table["proxy"].all()


def test_unknown_criteria_is_rejected():
    with pytest.raises(ValueError):
        assess(one_target(1.0, 1.0), "RECIST1.0")


# ---------------------------------------------------------------------------
# Best overall response (RECIST 1.1 §4.4.3, §4.6.1)
# ---------------------------------------------------------------------------
def calls(*follow_ups, criteria="RECIST1.1"):
    """Assessed frame: baseline day 0, then (event_id, day, overall) calls."""
    rows = [("base", 0, "")] + list(follow_ups)
    frame = pd.DataFrame(rows, columns=["event_id", "day", "overall_response"])
    frame["criteria"] = criteria
    return frame


def bor(frame, **kwargs):
    row = best_overall_response(frame, **kwargs).iloc[0]
    return row["bor"], row["event_id"]


def test_pr_confirmed_28_days_later():
    frame = calls(("e1", 56, "PR"), ("e2", 84, "PR"))
    assert bor(frame, confirm=True) == ("PR", "e1")


def test_pr_27_days_later_is_not_confirmed():
    frame = calls(("e1", 56, "PR"), ("e2", 83, "PR"))
    assert bor(frame) == ("PR", "e1")
    assert bor(frame, confirm=True) == ("SD", "e1")  # unconfirmed PR counts as SD (56 >= 42)


def test_confirm_days_is_a_parameter():
    assert bor(calls(("e1", 56, "PR"), ("e2", 76, "PR")), confirm=True, confirm_days=20) == ("PR", "e1")


def test_cr_confirmed_by_cr_and_cr_then_pr_is_a_parameter():
    assert bor(calls(("e1", 56, "CR"), ("e2", 84, "CR")), confirm=True) == ("CR", "e1")
    # RECIST 1.1 Table 3: CR then PR is "SD, PD or PR": SD (admiralonco) by default,
    # PR when the first CR is re-read as PR (the table's footnote)
    assert bor(calls(("e1", 56, "CR"), ("e2", 84, "PR")), confirm=True) == ("SD", "e1")
    assert bor(calls(("e1", 56, "CR"), ("e2", 84, "PR")), confirm=True, cr_then_pr="pr") == ("PR", "e1")


def test_pd_between_does_not_let_a_later_pr_confirm():
    frame = calls(("e1", 56, "PR"), ("e2", 70, "PD"), ("e3", 100, "PR"))
    assert bor(frame, confirm=True) == ("SD", "e1")


def test_sd_before_minimum_interval_does_not_count():
    assert bor(calls(("e1", 35, "SD"), ("e2", 70, "PD"))) == ("PD", "e2")
    assert bor(calls(("e1", 35, "SD"))) == ("NE", "e1")
    assert bor(calls(("e1", 42, "SD"), ("e2", 70, "PD"))) == ("SD", "e1")
    assert bor(calls(("e1", 35, "SD")), min_sd_days=35) == ("SD", "e1")


def test_bor_one_row_per_criteria_in_order():
    frame = pd.concat([calls(("e1", 56, "PR"), criteria="mRECIST"),
                       calls(("e1", 56, "SD"), criteria="RECIST1.1")])
    result = best_overall_response(frame)
    assert list(result.columns) == ["criteria", "bor", "event_id", "note"]
    assert list(result["criteria"]) == ["RECIST1.1", "mRECIST"]
    assert list(result["bor"]) == ["SD", "PR"]


# ---------------------------------------------------------------------------
# Seed case: Park & Yu, J Liver Cancer 2022;22:69-74
# ---------------------------------------------------------------------------
def seed_case(node_role="non_target"):
    """MRI day -7, CT after cycle 3 (day 63), CT after cycle 6 (day 126)."""
    rows = []
    for event_id, day, primary, node in (("mri", -7, 14.0, 1.9), ("ct3", 63, 9.0, 1.9),
                                         ("ct6", 126, 6.8, 3.3)):
        rows += [
            (event_id, day, "primary", "tumour", "target", "longest", primary, "present"),
            (event_id, day, "mets", "tumour", "non_target", None, None, "present"),
            (event_id, day, "pvtt", "vascular_invasion", "non_target", None, None, "present"),
            (event_id, day, "cha_node", "lymph_node", node_role, "short_axis", node, "present"),
        ]
    rows.append(("ct6", 126, "new_ih", "tumour", "new", None, None, "suspected"))
    return lesions(*rows)


SEED_RESPONSES = pd.DataFrame({
    "event_id": ["ct3", "ct6"], "criteria": ["mRECIST", "mRECIST"],
    "category": ["PR", "PD"], "source": ["text", "text"]})


PORTA = {"porta_hepatis": ["cha_node"]}  # the seed's reading of its hepatic artery node


def test_seed_mrecist():
    # primary 14 -> 9 -> 6.8 cm (longest as proxy): -35.7 %, -51.4 % -> PR, PR
    # Node read as porta hepatis (L&L 2010): 1.9 < 2.0 cm is not disease at baseline,
    # 3.3 >= 2.0 at ct6 is a new malignant node -> PD
    table = assess(seed_case(), "mRECIST", **PORTA)
    assert list(table["overall_response"]) == ["", "PR", "PD"]
    assert list(table["new_lesions"]) == ["", "no", "yes"]
    assert "cha_node" in table.iloc[2]["note"]
    # Node read by RECIST 1.1 node rules: 1.9 >= 1.0 cm is a pathological non-target at
    # baseline; its growth is not a new lesion; suspected lesions not counted -> PR
    default = assess(seed_case(), "mRECIST")
    assert list(default["overall_response"]) == ["", "PR", "PR"]
    assert list(default["new_lesions"]) == ["", "no", "suspected"]


def test_seed_recist_node_non_target():
    table = assess(seed_case(), "RECIST1.1")
    assert list(table["overall_response"]) == ["", "PR", "PR"]
    assert list(table["new_lesions"]) == ["", "no", "suspected"]
    counted = assess(seed_case(), "RECIST1.1", count_suspected=True)
    assert list(counted["overall_response"]) == ["", "PR", "PD"]


def test_seed_recist_node_as_target():
    table = assess(seed_case(node_role="target"), "RECIST1.1")
    # sums: 14 + 1.9 = 15.9; 9 + 1.9 = 10.9 (-31.4 %, PR); 6.8 + 3.3 = 10.1
    # (-36.5 % vs baseline, -7.3 % vs the nadir 10.9: not PD)
    assert list(table["target_sum_cm"]) == [15.9, 10.9, 10.1]
    assert list(table["change_from_baseline_pct"])[1:] == [-31.4, -36.5]
    assert table.iloc[2]["change_from_nadir_pct"] == -7.3
    assert list(table["overall_response"]) == ["", "PR", "PR"]
    counted = assess(seed_case(node_role="target"), "RECIST1.1", count_suspected=True)
    assert counted.iloc[2]["overall_response"] == "PD"


def test_seed_mrecist_node_as_target():
    # porta hepatis reading: 1.9 < 2.0 cm is not disease, so not a target
    table = assess(seed_case(node_role="target"), "mRECIST", **PORTA)
    assert table.iloc[0]["target_sum_cm"] == 14.0
    assert "cha_node" in table.iloc[0]["note"]
    # RECIST node rules: 1.9 >= 1.5 cm is a measurable nodal target: 14 + 1.9 = 15.9
    assert assess(seed_case(node_role="target"), "mRECIST").iloc[0]["target_sum_cm"] == 15.9


def test_seed_response_table():
    table = response_table(seed_case(), SEED_RESPONSES, **PORTA)
    assert list(table.columns) == [
        "event_id", "criteria", "day", "target_sum_cm", "change_from_baseline_pct",
        "change_from_nadir_pct", "target_response", "non_target_response", "new_lesions",
        "overall_response", "reported_response"]
    assert list(table["criteria"]) == ["RECIST1.1"] * 3 + ["mRECIST"] * 3
    assert list(table["event_id"]) == ["mri", "ct3", "ct6"] * 2
    assert list(table["reported_response"]) == ["", "", "", "", "PR", "PD"]
    assert list(table["overall_response"]) == ["", "PR", "PR", "", "PR", "PD"]
    assert list(response_table(seed_case())["reported_response"]) == [""] * 6
    every = response_table(seed_case(), criteria=("RECIST1.1", "mRECIST", "iRECIST"), **PORTA)
    assert list(every["overall_response"])[6:] == ["", "iPR", "iPR"]


def test_seed_best_overall_response():
    table = response_table(seed_case(), **PORTA)
    assert list(best_overall_response(table)["bor"]) == ["PR", "PR"]
    confirmed = best_overall_response(table, confirm=True).set_index("criteria")
    # RECIST1.1: PR at ct3 confirmed by PR at ct6, 63 days later
    assert confirmed.loc["RECIST1.1", "bor"] == "PR"
    # mRECIST: PR at ct3 followed by PD -> SD (ct3 is day 63 >= 42 after treatment start)
    assert (confirmed.loc["mRECIST", "bor"], confirmed.loc["mRECIST", "event_id"]) == ("SD", "ct3")


def test_seed_sensitivity():
    table = sensitivity(seed_case(), SEED_RESPONSES, **PORTA)
    assert list(table.columns) == [
        "event_id", "reported_criteria", "reported", "scenario", "criteria", "measure",
        "node_role", "node_axis", "porta_hepatis", "node_growth", "count_suspected",
        "computed", "survives"]
    assert table.shape == (20, 13)  # 2 reported calls x 10 default scenarios
    ct3 = table[table["event_id"] == "ct3"]
    assert ct3["survives"].all()  # the PR holds under every reading
    ct6 = table[table["event_id"] == "ct6"].set_index("scenario")
    assert ct6.loc["as recorded", "computed"] == "PD"
    # RECIST 1.1: node already pathological at baseline, suspected lesions not counted -> PR
    assert (ct6.loc["other criteria", "criteria"], ct6.loc["other criteria", "computed"]) == (
        "RECIST1.1", "PR")
    assert not ct6.loc["other criteria", "survives"]
    assert ct6.loc["iRECIST", "computed"] == "iPR"
    assert ct6.loc["whole-tumour (longest) diameter", "survives"]
    # 1.9 cm node is below 2.0 cm: not eligible as mRECIST target, still crosses later
    assert ct6.loc["lymph node(s) promoted to target", "survives"]
    # read as a long axis, the node cannot be shown to cross 2.0 cm short axis
    assert ct6.loc["node size read as long axis", "computed"] == "PR"
    # the other reading of the node: RECIST 1.1 node rules -> a non-target, not new -> PR
    assert ct6.loc["no node read as porta hepatis", "computed"] == "PR"
    assert ct6.loc["every node read as porta hepatis", "survives"]
    # growth 1.9 -> 3.3 read as unequivocal non-target progression -> PD
    assert ct6.loc["node growth read as unequivocal progression", "survives"]
    assert ct6.loc["suspected new lesions counted", "survives"]


def test_sensitivity_accepts_custom_scenarios():
    scenarios = [{"scenario": "RECIST 1.1 counting suspected", "criteria": "RECIST1.1",
                  "count_suspected": True}]
    table = sensitivity(seed_case(), SEED_RESPONSES, scenarios=scenarios, **PORTA)
    assert len(table) == 2
    assert list(table["computed"]) == ["PR", "PD"]
    assert table["survives"].all()


def test_criteria_names():
    assert CRITERIA == ("RECIST1.1", "mRECIST")


def test_lesion_changes_follow_targets_measured_non_targets_and_the_sum():
    changes = lesion_changes(seed_case(), "mRECIST", **PORTA).set_index(["lesion_id", "event_id"])
    # primary (target, longest as proxy): (9 - 14) / 14 = -35.7 %, (6.8 - 14) / 14 = -51.4 %
    assert changes.loc[("primary", "ct3"), "change_pct"] == -35.7
    assert changes.loc[("primary", "ct6"), "change_pct"] == -51.4
    # node: 1.9 < 2.0 cm, not disease at baseline under mRECIST (a possible new lesion, not
    # a non-target, issue 21): (3.3 - 1.9) / 1.9 = +73.7 %
    assert changes.loc[("cha_node", "ct6"), ["role", "change_pct"]].tolist() == ["not_disease", 73.7]
    # the sum is the primary alone; baseline rows are 0 %
    assert changes.loc[("target sum", "ct6"), "change_pct"] == -51.4
    assert changes.loc[("target sum", "mri"), "change_pct"] == 0.0
    # mets and thrombus have no size: not followed
    assert "mets" not in changes.index.get_level_values(0)


def test_spider_roles_follow_the_criteria():
    # The seed's node_cha: 1.9 cm short axis at baseline. RECIST 1.1: a pathological node
    # (>= 1 cm) that is not a target -> non_target. mRECIST reads it as a porta hepatis node,
    # malignant only from 2 cm (Lencioni & Llovet 2010): not disease at baseline, followed as
    # a possible new lesion -> not_disease, never labelled a non-target (issue 21).
    from casekit.case import load_case
    from casekit.rules.response import case_options

    case = load_case(Path(__file__).resolve().parents[1] / "data" / "jlc2022")
    options = case_options(case)
    roles = {c: lesion_changes(case.lesions, c, **options).drop_duplicates("lesion_id")
             .set_index("lesion_id")["role"].get("node_cha") for c in ("RECIST1.1", "mRECIST")}
    assert roles == {"RECIST1.1": "non_target", "mRECIST": "not_disease"}
