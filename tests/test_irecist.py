"""iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-e152, Table 2; EORTC iRECIST FAQ).

Every expectation is worked out by hand; the arithmetic is in the comments. Scans every
42 days (6 weeks, inside the 4-8 week confirmation window) unless stated.
"""

import pandas as pd

from casekit.rules.response import assess, best_overall_response
from tests.test_response import lesions, one_target


def calls(frame, **options):
    return list(assess(frame, "iRECIST", **options)["overall_response"])


def test_target_progression_is_iupd_then_confirmed_by_5_mm_more():
    # 5.0 -> 6.0: +1.0 cm, +20 % vs nadir 5.0 -> iUPD; 6.0 -> 6.5: +0.5 cm more -> iCPD
    assert calls(one_target(5.0, 6.0, 6.5)) == ["", "iUPD", "iCPD"]
    # 6.0 -> 6.4: +0.4 cm only, still 28 % above the nadir -> remains iUPD
    table = assess(one_target(5.0, 6.0, 6.4), "iRECIST")
    assert list(table["overall_response"]) == ["", "iUPD", "iUPD"]
    assert "cannot be confirmed" in table.iloc[2]["note"]


def test_increases_after_iupd_are_additive():
    # 6.0 (iUPD) -> 6.3 (+0.3, iUPD) -> 6.5 (+0.5 vs the first iUPD) -> iCPD (FAQ)
    assert calls(one_target(5.0, 6.0, 6.3, 6.5)) == ["", "iUPD", "iUPD", "iCPD"]


def test_unconfirmed_iupd_resets_the_reference():
    # 5.0 -> 6.0 iUPD -> 4.0: -20 % vs baseline, not PD -> iSD, bar reset;
    # 4.0 -> 5.0: +25 % and +1.0 cm vs the nadir 4.0 -> a new iUPD, not iCPD
    table = assess(one_target(5.0, 6.0, 4.0, 5.0), "iRECIST")
    assert list(table["overall_response"]) == ["", "iUPD", "iSD", "iUPD"]
    assert "reset" in table.iloc[2]["note"]


def test_shrinkage_after_iupd_can_be_ipr():
    # 10.0 -> 12.0 (+20 %, +2 cm) iUPD -> 6.0: -40 % vs baseline -> iPR
    assert calls(one_target(10.0, 12.0, 6.0)) == ["", "iUPD", "iPR"]


def _new_lesions(*rows, target=(10.0, 8.0, 8.0)):
    base = [(f"e{i}", 42 * i, "T1", "tumour", "target", "longest", size, "present")
            for i, size in enumerate(target)]
    return lesions(*base, *rows)


def test_new_lesion_is_iupd_confirmed_by_growth_of_the_new_lesion_target_sum():
    # target 10 -> 8 (-20 %, iSD component); X1 1.2 cm new (measurable: NLT) -> iUPD;
    # X1 1.2 -> 1.8: NLT sum +0.6 cm >= 5 mm -> iCPD
    frame = _new_lesions(("e1", 42, "X1", "tumour", "new", "longest", 1.2, "present"),
                         ("e2", 84, "X1", "tumour", "new", "longest", 1.8, "present"))
    table = assess(frame, "iRECIST")
    assert list(table["overall_response"]) == ["", "iUPD", "iCPD"]
    assert "X1 NLT" in table.iloc[1]["note"]
    assert table.iloc[1]["target_sum_cm"] == 8.0  # the new lesion is not in the target sum


def test_stable_new_lesion_holds_iupd_by_default_or_resets():
    # X1 1.2 -> 1.5: +0.3 cm < 5 mm: not confirmed
    frame = _new_lesions(("e1", 42, "X1", "tumour", "new", "longest", 1.2, "present"),
                         ("e2", 84, "X1", "tumour", "new", "longest", 1.5, "present"))
    assert calls(frame) == ["", "iUPD", "iUPD"]
    assert calls(frame, new_lesions_hold_iupd=False) == ["", "iUPD", "iSD"]


def test_another_new_lesion_confirms():
    frame = _new_lesions(("e1", 42, "X1", "tumour", "new", "longest", 1.2, "present"),
                         ("e2", 84, "X1", "tumour", "new", "longest", 1.2, "present"),
                         ("e2", 84, "X2", "tumour", "new", None, None, "present"))
    table = assess(frame, "iRECIST")
    assert list(table["overall_response"]) == ["", "iUPD", "iCPD"]
    assert "another new lesion (X2)" in table.iloc[2]["note"]


def test_new_lesion_categories_five_in_all_two_per_organ():
    # seven new lesions at e1: X1-X3 in the liver (1.5 cm), X4-X6 one each in lung, bone,
    # adrenal (1.5 cm), X7 0.8 cm (not measurable). NLT: X1, X2 (2 per organ), X4, X5, X6
    # -> 5 in all; X3 (third in the liver) and X7 (< 1 cm) are NLNT.
    sites = {"X1": "liver", "X2": "liver", "X3": "liver", "X4": "lung", "X5": "bone",
             "X6": "adrenal", "X7": "spleen"}
    rows = [("e1", 42, lid, "tumour", "new", "longest", 0.8 if lid == "X7" else 1.5, "present")
            for lid in sites]
    frame = _new_lesions(*rows)
    frame["site"] = frame["lesion_id"].map(sites).fillna("site of T1")
    note = assess(frame, "iRECIST").iloc[1]["note"]
    for lid in ("X1", "X2", "X4", "X5", "X6"):
        assert f"{lid} NLT" in note
    assert "X3 NLNT" in note and "X7 NLNT" in note
    # NLT sum: 5 x 1.5 = 7.5 cm
    assert "new-lesion target sum 7.5 cm" in note


def test_non_target_iupd_confirmed_by_any_further_increase():
    # non-target node 1.2 -> 1.8 unequivocal -> iUPD; 1.8 -> 1.9 (any increase) -> iCPD
    frame = one_target(5.0, 5.0, 5.0, extra=[
        ("e0", 0, "N1", "lymph_node", "non_target", "short_axis", 1.2, "present"),
        ("e1", 42, "N1", "lymph_node", "non_target", "short_axis", 1.8, "unequivocal_progression"),
        ("e2", 84, "N1", "lymph_node", "non_target", "short_axis", 1.9, "present")])
    assert calls(frame) == ["", "iUPD", "iCPD"]


def test_progression_in_another_category_confirms():
    # target iUPD (5 -> 6), then a new lesion appears with no further target growth -> iCPD
    frame = one_target(5.0, 6.0, 6.0, extra=[("e2", 84, "X1", "tumour", "new", None, None, "present")])
    assert calls(frame) == ["", "iUPD", "iCPD"]


def test_confirmation_outside_4_to_8_weeks_is_noted():
    frame = lesions(*[(e, d, "T1", "tumour", "target", "longest", s, "present")
                      for e, d, s in (("e0", 0, 5.0), ("e1", 42, 6.0), ("e2", 142, 6.5))])
    table = assess(frame, "iRECIST")
    assert list(table["overall_response"]) == ["", "iUPD", "iCPD"]
    assert "outside the 28-56 day confirmation window" in table.iloc[2]["note"]  # 100 days


def test_irecist_best_overall_response():
    frame = assess(one_target(10.0, 6.0, 7.5, 8.5, 4.0), "iRECIST")
    # 10 -> 6 (-40 %) iPR; 7.5 vs nadir 6: +25 %, +1.5 cm -> iUPD; 8.5: +1.0 cm more -> iCPD;
    # later calls do not count
    assert list(frame["overall_response"]) == ["", "iPR", "iUPD", "iCPD", "iCPD"]
    row = best_overall_response(frame).iloc[0]
    assert (row["criteria"], row["bor"], row["event_id"]) == ("iRECIST", "iPR", "e1")
    only_upd = assess(one_target(5.0, 6.0), "iRECIST")
    assert best_overall_response(only_upd).iloc[0]["bor"] == "iUPD"


def test_seed_final_scan_under_irecist():
    from tests.test_response import seed_case
    from casekit.rules.response import sensitivity
    # as recorded: suspected lesions not counted, node a non-target -> iPR (14 -> 6.8: -51.4 %)
    assert calls(seed_case()) == ["", "iPR", "iPR"]
    # suspected new lesions counted: RECIST 1.1 PD -> iUPD, which no later scan can confirm
    table = assess(seed_case(), "iRECIST", count_suspected=True)
    assert list(table["overall_response"]) == ["", "iPR", "iUPD"]
    assert "cannot be confirmed" in table.iloc[2]["note"]
    responses = pd.DataFrame({"event_id": ["ct6"], "criteria": ["iRECIST"], "category": ["iUPD"],
                              "source": ["x"]})
    scenarios = [{"scenario": "growth", "node_growth": "unequivocal"}]
    assert sensitivity(seed_case(), responses, scenarios=scenarios)["computed"].tolist() == ["iUPD"]


def test_reappearance_after_icr_is_iupd():
    frame = lesions(
        ("e0", 0, "T1", "tumour", "target", "longest", 3.0, "present"),
        ("e1", 42, "T1", "tumour", "target", None, None, "absent"),
        ("e2", 84, "T1", "tumour", "target", "longest", 0.4, "present"))
    # 0.4 cm vs nadir 0: +0.4 cm < 5 mm, but the lesion is back after iCR -> iUPD
    table = assess(frame, "iRECIST")
    assert list(table["overall_response"]) == ["", "iCR", "iUPD"]
    assert "reappeared" in table.iloc[2]["note"]
