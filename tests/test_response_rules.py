"""RECIST 1.1 / mRECIST rules at their boundaries (issue "Response criteria to the letter").

Expectations are worked out by hand from Eisenhauer 2009 (RECIST 1.1, "E2009"), the EORTC
RECIST FAQ, Lencioni & Llovet 2010 (mRECIST, "L&L 2010") and, for the confirmation
parameters, admiralonco's documented semantics; the arithmetic is in the comments.
"""

import pandas as pd
import pytest

from casekit.rules.response import assess, best_overall_response
from tests.test_response import follow_up, lesions, one_target


def _new(event_id, day, size, assessment, site="liver segment 7", lesion_id="X1"):
    return (event_id, day, lesion_id, "tumour", "new", "longest" if size else None, size, assessment)


# ---------------------------------------------------------------- rule 3: mRECIST new lesions
def _with_new(*news, site="liver segment 7"):
    base = [(f"e{i}", 42 * i, "T1", "tumour", "target", "longest", 10.0, "present") for i in range(3)]
    return lesions(*base, *news, sites={"X1": site})


def test_mrecist_new_intrahepatic_lesion_needs_1_cm():
    # L&L 2010: counted when >= 1 cm with the typical pattern (recorded "present")
    assert follow_up(_with_new(_new("e1", 42, 1.0, "present")), "mRECIST")["new_lesions"] == "yes"
    # 0.9 cm < 1 cm: equivocal under mRECIST, but a new lesion under RECIST 1.1
    small = _with_new(_new("e1", 42, 0.9, "present"))
    assert follow_up(small, "mRECIST")["new_lesions"] == "suspected"
    assert follow_up(small, "mRECIST")["overall_response"] == "SD"  # 10 -> 10
    assert follow_up(small, "RECIST1.1")["new_lesions"] == "yes"
    # unmeasured: cannot be shown to be >= 1 cm
    assert follow_up(_with_new(_new("e1", 42, None, "present")), "mRECIST")["new_lesions"] == "suspected"


def test_mrecist_new_lesion_counted_after_1_cm_growth_and_back_dated():
    # suspected 0.5 cm at e1, 1.5 cm at e2: grew 1.0 cm -> HCC at e2, PD back-dated to e1
    grown = _with_new(_new("e1", 42, 0.5, "suspected"), _new("e2", 84, 1.5, "suspected"))
    table = assess(grown, "mRECIST")
    assert list(table["overall_response"]) == ["", "PD", "PD"]
    assert "back-dated" in table.iloc[1]["note"]
    # 0.5 -> 1.4: grew 0.9 cm < 1 cm -> still equivocal
    short = _with_new(_new("e1", 42, 0.5, "suspected"), _new("e2", 84, 1.4, "suspected"))
    assert list(assess(short, "mRECIST")["new_lesions"]) == ["", "suspected", "suspected"]


def test_mrecist_extrahepatic_new_lesion_follows_recist():
    lung = _with_new(_new("e1", 42, 0.5, "present"), site="right lung")
    assert follow_up(lung, "mRECIST")["new_lesions"] == "yes"


# ---------------------------------------------------------------- rule 4: back-dating
def test_confirmed_equivocal_new_lesion_is_back_dated():
    frame = one_target(10.0, 6.0, 6.0, extra=[
        ("e1", 42, "X1", "tumour", "new", None, None, "suspected"),
        ("e2", 84, "X1", "tumour", "new", None, None, "present")])
    # 10 -> 6: -40 % PR; X1 suspected at e1, unequivocal at e2 -> PD dated e1 (E2009 §4.3.5)
    assert list(assess(frame, "RECIST1.1")["overall_response"]) == ["", "PD", "PD"]
    undated = assess(frame, "RECIST1.1", backdate_new_lesions=False)
    assert list(undated["overall_response"]) == ["", "PR", "PD"]


def test_unconfirmed_equivocal_new_lesion_stays_equivocal():
    frame = one_target(10.0, 6.0, 6.0, extra=[
        ("e1", 42, "X1", "tumour", "new", None, None, "suspected"),
        ("e2", 84, "X1", "tumour", "new", None, None, "absent")])
    assert list(assess(frame, "RECIST1.1")["overall_response"]) == ["", "PR", "PR"]


# ---------------------------------------------------------------- rule 5: reappearance after CR
def test_reappearance_after_cr_is_pd():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 3.0, "present"),
        ("e1", 42, "T1", "tumour", "target", None, None, "absent"),
        ("e2", 84, "T1", "tumour", "target", "longest", 0.4, "present"))
    # e2: sum 0.4 vs nadir 0: +0.4 cm < 0.5 cm, not PD by the sum; -86.7 % vs baseline -> PR;
    # but after a CR the lesion reappeared -> PD (EORTC FAQ)
    table = assess(frame, "RECIST1.1")
    assert list(table["overall_response"]) == ["", "CR", "PD"]
    assert table.iloc[2]["target_response"] == "PR" and "reappeared" in table.iloc[2]["note"]
    assert assess(frame, "RECIST1.1", reappearance_is_pd=False).iloc[2]["overall_response"] == "PR"


def test_non_target_reappearing_after_cr_is_pd():
    frame = lesions(
        ("e0", 0, "M1", "tumour", "non_target", None, None, "present"),
        ("e1", 42, "M1", "tumour", "non_target", None, None, "absent"),
        ("e2", 84, "M1", "tumour", "non_target", None, None, "present"))
    assert list(assess(frame, "RECIST1.1")["overall_response"]) == ["", "CR", "PD"]


# ---------------------------------------------------------------- rule 6: measurability, limits
def test_non_nodal_target_below_10_mm_is_not_measurable():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 5.0, "present"),
        ("e0", 0, "T2", "tumour", "target", "longest", 0.9, "present"),
        ("e1", 42, "T1", "tumour", "target", "longest", 5.0, "present"),
        ("e1", 42, "T2", "tumour", "target", "longest", 0.9, "present"))
    baseline = assess(frame, "RECIST1.1").iloc[0]
    assert baseline["target_sum_cm"] == 5.0  # 0.9 < 1.0 cm: non-target
    assert "T2" in baseline["note"] and "not measurable" in baseline["note"]
    at_limit = frame.assign(size_cm=frame["size_cm"].where(frame["lesion_id"] != "T2", 1.0))
    assert assess(at_limit, "RECIST1.1").iloc[0]["target_sum_cm"] == 6.0  # 1.0 cm is measurable


# A target demoted at baseline keeps its measurements and is judged from them as a
# non-target (E2009 §4.3.3: non-target CR = every non-target gone, every node
# non-pathological, < 10 mm short axis; non-target PD only when unequivocal, never by size).
def _demoted(t2_sizes, node_sizes=None):
    """T1 (tumour target, 3.0 cm at baseline, absent after), T2 a tumour "target" of 0.8 cm
    at baseline (< 1 cm: non-target) with ``t2_sizes`` after it, and with ``node_sizes``
    a nodal "target" N1 of 1.2 cm short axis (< 1.5 cm: non-target) too. Rows carry no
    assessment, as SDTM TR measurements do not."""
    rows = [("e0", 0, "T1", "tumour", "target", "longest", 3.0, None),
            ("e0", 0, "T2", "tumour", "target", "longest", 0.8, None)]
    for i, size in enumerate(t2_sizes, start=1):
        rows += [(f"e{i}", 42 * i, "T1", "tumour", "target", "longest", 0.0, None),
                 (f"e{i}", 42 * i, "T2", "tumour", "target", "longest", size, None)]
    if node_sizes is not None:
        rows += [(f"e{i}", 42 * i, "N1", "lymph_node", "target", "short_axis", size, None)
                 for i, size in enumerate((1.2, *node_sizes))]
    return lesions(*rows)


def test_demoted_target_measured_0_has_disappeared():
    # T1 3.0 -> 0 cm: target CR. T2 0.8 -> 0 cm: the non-target is gone -> non-target CR,
    # overall CR (E2009 §4.4.1: CR + CR + no new = CR). Read as "present" it would be PR.
    row = follow_up(_demoted([0.0]))
    assert (row["target_response"], row["non_target_response"], row["overall_response"]) == \
        ("CR", "CR", "CR")


def test_demoted_node_resolves_below_10_mm_short_axis():
    # N1 1.2 cm at baseline (pathological, not measurable as a target: §3.1.2). At e1
    # 0.9 cm < 1.0 cm: non-pathological -> non-target CR (T2 at 0 too) -> CR; at 1.0 cm it is
    # still pathological -> non-CR/non-PD, and target CR + non-CR/non-PD = PR (§4.4.1).
    assert follow_up(_demoted([0.0], node_sizes=[0.9]))["overall_response"] == "CR"
    at_limit = follow_up(_demoted([0.0], node_sizes=[1.0]))
    assert (at_limit["non_target_response"], at_limit["overall_response"]) == \
        ("non-CR/non-PD", "PR")
    assert follow_up(_demoted([0.0], node_sizes=[0.0]))["overall_response"] == "CR"


def test_demoted_target_measured_above_0_is_present_never_pd_by_size():
    # T2 0.8 -> 0.1 cm: still there -> non-CR/non-PD; target CR -> PR.
    row = follow_up(_demoted([0.1]))
    assert (row["non_target_response"], row["overall_response"]) == ("non-CR/non-PD", "PR")
    # T2 0.8 -> 3.0 cm (almost 4x): growth alone is not unequivocal progression (§4.3.3).
    grown = follow_up(_demoted([3.0]))
    assert (grown["non_target_response"], grown["overall_response"]) == ("non-CR/non-PD", "PR")


def test_demoted_target_back_after_cr_is_pd():
    # e1: T1 and T2 at 0 -> CR. e2: T2 0 -> 0.5 cm, measured again: it reappeared after a CR
    # -> PD (EORTC FAQ, as for a non-target recorded present); target still CR (T1 at 0).
    table = assess(_demoted([0.0, 0.5]), "RECIST1.1")
    assert list(table["overall_response"]) == ["", "CR", "PD"]
    assert "T2 reappeared" in table.iloc[2]["note"]
    # iRECIST reads the same non-target state: iCR, then iUPD on the reappearance.
    assert list(assess(_demoted([0.0, 0.5]), "iRECIST")["overall_response"]) == ["", "iCR", "iUPD"]
    assert list(assess(_demoted([0.0], node_sizes=[0.9]), "iRECIST")["overall_response"]) == \
        ["", "iCR"]


def test_at_most_two_targets_per_organ_the_largest_kept():
    rows = [("e0", 0, lid, "tumour", "target", "longest", size, "present")
            for lid, size in (("T1", 3.0), ("T2", 5.0), ("T3", 4.0))]
    frame = lesions(*rows, sites={"T1": "liver segment 2", "T2": "liver segment 6",
                                  "T3": "liver segment 8"})
    baseline = assess(frame, "RECIST1.1").iloc[0]
    assert baseline["target_sum_cm"] == 9.0  # T2 5.0 + T3 4.0; T1 (3.0) dropped
    assert "used T2, T3" in baseline["note"] and "T1 treated as non-target" in baseline["note"]


def test_at_most_five_targets():
    rows = [("e0", 0, f"T{i}", "tumour", "target", "longest", float(i), "present")
            for i in range(1, 7)]
    # six organs; sizes 1..6 cm: the five largest sum to 2+3+4+5+6 = 20
    assert assess(lesions(*rows), "RECIST1.1").iloc[0]["target_sum_cm"] == 20.0


def test_target_too_small_to_measure_counts_5_mm():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 3.0, "present"),
        ("e1", 42, "T1", "tumour", "target", None, None, "present"))
    row = follow_up(frame)
    # 5 mm default: (0.5 - 3.0) / 3.0 = -83.3 % -> PR, not NE
    assert (row["target_sum_cm"], row["change_from_baseline_pct"], row["target_response"]) == (
        0.5, -83.3, "PR")


# ---------------------------------------------------------------- rule 7: BOR
def calls(*follow_ups, criteria="RECIST1.1", baseline_day=0):
    rows = [("base", baseline_day, "")] + list(follow_ups)
    frame = pd.DataFrame(rows, columns=["event_id", "day", "overall_response"])
    frame["criteria"] = criteria
    return frame


def bor(frame, **kwargs):
    row = best_overall_response(frame, **kwargs).iloc[0]
    return row["bor"], row["event_id"]


def test_bor_ignores_assessments_after_progression():
    # E2009 §4.4.3: PR, PD, CR, CR -> PR (the CRs after PD do not count)
    frame = calls(("e1", 56, "PR"), ("e2", 84, "PD"), ("e3", 126, "CR"), ("e4", 168, "CR"))
    assert bor(frame) == ("PR", "e1")
    assert "ignored" in best_overall_response(frame).iloc[0]["note"]


def test_minimum_sd_interval_counts_from_treatment_start():
    # baseline scan day -7, SD on day 38: 45 days after the scan but 38 < 42 after day 0 -> NE
    frame = calls(("e1", 38, "SD"), baseline_day=-7)
    assert bor(frame) == ("NE", "e1")
    assert bor(frame, start_day=-7) == ("SD", "e1")


# RECIST 1.1 Table 3 (best overall response when confirmation is required): first call at day
# 56, second 28 days later (day 84); minimum SD interval 42 days from day 0 is met.
TABLE_3 = [
    ("CR", "CR", "CR"),
    ("CR", "PR", "SD"),  # "SD, PD or PR"; default reading SD (cr_then_pr="sd")
    ("CR", "SD", "SD"),
    ("CR", "PD", "SD"),
    ("CR", "NE", "SD"),
    ("PR", "CR", "PR"),
    ("PR", "PR", "PR"),
    ("PR", "SD", "SD"),
    ("PR", "PD", "SD"),
    ("PR", "NE", "SD"),
    ("NE", "NE", "NE"),
]


@pytest.mark.parametrize("first,second,expected", TABLE_3)
def test_confirmation_table(first, second, expected):
    assert bor(calls(("e1", 56, first), ("e2", 84, second)), confirm=True)[0] == expected


@pytest.mark.parametrize("first,second,expected", [("CR", "PD", "PD"), ("PR", "PD", "PD"),
                                                   ("CR", "NE", "NE"), ("PR", "NE", "NE")])
def test_confirmation_table_when_sd_interval_not_met(first, second, expected):
    # first call on day 35 < 42: an unconfirmed CR/PR cannot count as SD ("otherwise PD / NE")
    assert bor(calls(("e1", 35, first), ("e2", 63, second)), confirm=True)[0] == expected


def test_ne_allowed_between_response_and_confirmation():
    frame = calls(("e1", 56, "PR"), ("e2", 70, "NE"), ("e3", 98, "PR"))
    assert bor(frame, confirm=True) == ("PR", "e1")  # one NE <= max_ne 1
    assert bor(frame, confirm=True, max_ne=0) == ("SD", "e1")


def test_sd_between_pr_and_confirmation_is_a_parameter():
    frame = calls(("e1", 56, "PR"), ("e2", 70, "SD"), ("e3", 98, "PR"))
    assert bor(frame, confirm=True) == ("SD", "e1")
    assert bor(frame, confirm=True, accept_sd=True) == ("PR", "e1")


def test_pr_after_cr_in_window_does_not_confirm_pr():
    # PR day 56, CR day 70, PR day 98 (>= 28 days after 56): a PR after a CR in the window
    frame = calls(("e1", 56, "PR"), ("e2", 70, "CR"), ("e3", 98, "PR"))
    assert bor(frame, confirm=True)[0] == "SD"


# ---------------------------------------------------------------- issue 17: BOR and node fixes
def test_pr_cr_pr_cr_is_not_a_confirmed_pr():
    # PR d56, CR d66, PR d76, CR d96. The PR's first confirming call >= 28 days later is the
    # CR at d96 (40 days): window CR, PR, CR has a PR after a CR -> PR not confirmed
    # (admiralonco cbor_pr: first CR of the window after its last PR). CR d66: its first
    # CR >= 28 days later is d96 with a PR in between -> not confirmed (-> SD, d66 >= 42).
    # PR d76: CR d96 is only 20 days later -> not confirmed. Best: SD. Old code: PR.
    frame = calls(("e1", 56, "PR"), ("e2", 66, "CR"), ("e3", 76, "PR"), ("e4", 96, "CR"))
    assert bor(frame, confirm=True)[0] == "SD"
    # PR, PR, CR (CR after the last PR): confirmed
    ok = calls(("e1", 56, "PR"), ("e2", 66, "PR"), ("e3", 96, "CR"))
    assert bor(ok, confirm=True) == ("PR", "e1")


def _nt_only(*follow_ups):
    frame = calls(*follow_ups)
    frame["target_response"] = ["", *["NA"] * len(follow_ups)]
    return frame


@pytest.mark.parametrize("order", [0, 1])
def test_non_target_only_unconfirmed_cr_is_order_independent(order):
    # Non-target disease only (every follow-up target_response NA): an unconfirmed CR is
    # non-CR/non-PD (RECIST 1.1 Table 2 footnote); with the other non-CR/non-PD call the BOR
    # is non-CR/non-PD whichever comes first. admiralonco's reading ("SD") gives SD both ways.
    pair = [("CR", "e1"), ("non-CR/non-PD", "e1")]
    first, second = pair[order][0], pair[1 - order][0]
    frame = _nt_only(("e1", 56, first), ("e2", 70, second))
    assert bor(frame, confirm=True)[0] == "non-CR/non-PD"
    assert bor(frame, confirm=True, non_target_only_unconfirmed_cr="SD")[0] == "SD"


def test_sd_wins_over_non_cr_non_pd_whatever_the_order():
    # Both qualify (day >= 42): SD ranks first, as admiralonco's bor_sd precedes bor_non_crpd.
    assert bor(calls(("e1", 56, "non-CR/non-PD"), ("e2", 98, "SD")))[0] == "SD"
    assert bor(calls(("e1", 56, "SD"), ("e2", 98, "non-CR/non-PD")))[0] == "SD"


def test_targets_gone_and_present_node_below_10_mm_is_cr():
    # E2009 §4.3.3: non-target CR needs every node non-pathological (< 10 mm short axis). T1
    # 2.0 -> 0 cm (target CR); non-target node N1 1.2 -> 0.8 cm short axis, recorded
    # "present": 8 mm < 10 mm -> non-target CR -> overall CR (old code: PR).
    frame = lesions(("e0", 0, "T1", "tumour", "target", "longest", 2.0, "present"),
                    ("e0", 0, "N1", "lymph_node", "non_target", "short_axis", 1.2, "present"),
                    ("e1", 42, "T1", "tumour", "target", "longest", 0.0, "absent"),
                    ("e1", 42, "N1", "lymph_node", "non_target", "short_axis", 0.8, "present"))
    row = follow_up(frame)
    assert (row["target_response"], row["non_target_response"], row["overall_response"]) == \
        ("CR", "CR", "CR")
    # at 1.0 cm the node is still pathological: non-CR/non-PD, overall PR
    at_limit = frame.assign(size_cm=[2.0, 1.2, 0.0, 1.0])
    assert follow_up(at_limit)["overall_response"] == "PR"
