"""Time-to-event endpoints (casekit.rules.endpoints): PFS, TTR, DOR per criteria.

Hand-worked: time_days = end_day - start_day; treatment start is day 0 unless stated.
"""

import pandas as pd
import pytest

from casekit.rules.endpoints import ENDPOINT_COLUMNS, endpoints
from casekit.rules.response import assess
from tests.test_response import one_target


def calls(*follow_ups, criteria="RECIST1.1", baseline_day=-7):
    rows = [("base", baseline_day, "")] + list(follow_ups)
    frame = pd.DataFrame(rows, columns=["event_id", "day", "overall_response"])
    frame["criteria"] = criteria
    return frame


def by_endpoint(frame, **kwargs):
    return endpoints(frame, **kwargs).set_index("endpoint")


def test_columns_and_types():
    out = endpoints(calls(("e1", 63, "PR")))
    assert list(out.columns) == ENDPOINT_COLUMNS
    assert out["event"].dtype == bool and out["time_days"].dtype == int


def test_progression_after_response():
    out = by_endpoint(calls(("e1", 63, "PR"), ("e2", 126, "PD")))
    # PFS: day 0 -> PD on day 126 = 126 days, event
    assert out.loc["PFS", ["event", "time_days", "end_event_id"]].tolist() == [True, 126, "e2"]
    # TTR: day 0 -> PR on day 63
    assert out.loc["TTR", ["event", "time_days"]].tolist() == [True, 63]
    # DOR: PR day 63 -> PD day 126 = 63 days
    assert out.loc["DOR", ["event", "start_day", "end_day", "time_days"]].tolist() == [True, 63, 126, 63]


def test_censored_at_last_adequate_assessment():
    # PR (63), SD (126), NE (189): no PD -> censored at the SD scan, day 126 (NE is not adequate)
    out = by_endpoint(calls(("e1", 63, "PR"), ("e2", 126, "SD"), ("e3", 189, "NE")))
    assert out.loc["PFS", ["event", "time_days", "end_event_id"]].tolist() == [False, 126, "e2"]
    assert out.loc["DOR", ["event", "time_days"]].tolist() == [False, 63]  # 126 - 63


def test_no_response_no_dor_and_ttr_censored():
    out = by_endpoint(calls(("e1", 63, "SD"), ("e2", 126, "PD"), ("e3", 150, "PR")))
    assert "DOR" not in out.index  # the PR after PD does not count
    assert out.loc["TTR", ["event", "time_days"]].tolist() == [False, 126]


def test_no_follow_up_is_censored_at_start():
    out = by_endpoint(calls())
    assert out.loc["PFS", ["event", "time_days", "end_event_id"]].tolist() == [False, 0, ""]


def test_start_day_is_a_parameter():
    # from the baseline scan (day -7): 126 - (-7) = 133
    out = by_endpoint(calls(("e1", 126, "PD")), start_day=-7)
    assert out.loc["PFS", ["time_days", "start_day"]].tolist() == [133, -7]


def test_pfs_uses_the_back_dated_progression():
    frame = one_target(10.0, 6.0, 6.0, extra=[
        ("e1", 42, "X1", "tumour", "new", None, None, "suspected"),
        ("e2", 84, "X1", "tumour", "new", None, None, "present")])
    pfs = by_endpoint(assess(frame, "RECIST1.1")).loc["PFS"]
    # confirmed at e2 (day 84), dated at its first appearance e1 (day 42)
    assert pfs[["event", "time_days", "end_event_id"]].tolist() == [True, 42, "e1"]


def test_irecist_progression_is_the_confirmed_iupd():
    frame = calls(("e1", 42, "iPR"), ("e2", 84, "iUPD"), ("e3", 126, "iCPD"), criteria="iRECIST")
    pfs = by_endpoint(frame).loc["PFS"]
    assert pfs[["event", "time_days", "end_event_id"]].tolist() == [True, 84, "e2"]
    assert "confirmed at e3" in pfs["rule"]


@pytest.mark.parametrize("option,event", [("censor", False), ("event", True)])
def test_irecist_unconfirmed_iupd(option, event):
    frame = calls(("e1", 42, "iPR"), ("e2", 84, "iUPD"), criteria="iRECIST")
    pfs = by_endpoint(frame, unconfirmed_iupd=option).loc["PFS"]
    assert pfs[["event", "time_days"]].tolist() == [event, 84]


def test_one_row_per_criteria_per_endpoint_in_order():
    frame = pd.concat([calls(("e1", 63, "PR"), criteria="mRECIST"),
                       calls(("e1", 63, "SD"), criteria="RECIST1.1")])
    out = endpoints(frame)
    assert list(zip(out["criteria"], out["endpoint"])) == [
        ("RECIST1.1", "PFS"), ("RECIST1.1", "TTR"),
        ("mRECIST", "PFS"), ("mRECIST", "TTR"), ("mRECIST", "DOR"), ("", "OS")]


# ------------------------------------------------------------ issue 17: death, OS, censoring
def test_death_without_any_scan_is_a_pfs_event():
    # pharmaversesdtm 01-710-1083: no post-baseline scan, died on day 11 (2013-07-22 ->
    # 2013-08-02). FDA 2018 Table 2: death is a PFS event -> event at day 11 (old: censored at 0).
    out = by_endpoint(calls(), death_day=11)
    assert out.loc["PFS", ["event", "time_days", "end_reason"]].tolist() == [True, 11, "death"]
    assert out.loc["OS", ["event", "time_days", "criteria"]].tolist() == [True, 11, ""]


def test_death_before_progression_ends_pfs_and_dor():
    # PR day 63, SD day 126, death day 150, no PD: PFS event at 150; DOR 63 -> 150 = 87.
    out = by_endpoint(calls(("e1", 63, "PR"), ("e2", 126, "SD")), death_day=150,
                      death_event_id="died")
    assert out.loc["PFS", ["event", "time_days", "end_event_id"]].tolist() == [True, 150, "died"]
    assert out.loc["DOR", ["event", "time_days", "end_reason"]].tolist() == [True, 87, "death"]


def test_progression_before_death_stays_the_pfs_event():
    out = by_endpoint(calls(("e1", 63, "PD")), death_day=90)
    assert out.loc["PFS", ["event", "time_days", "end_reason"]].tolist() == [True, 63, "progression"]
    assert out.loc["OS", ["event", "time_days"]].tolist() == [True, 90]


def test_os_censored_at_last_known_alive_else_at_start():
    assert by_endpoint(calls(("e1", 63, "SD")), last_alive_day=200).loc[
        "OS", ["event", "time_days", "end_reason"]].tolist() == [False, 200, "last known alive"]
    assert by_endpoint(calls(("e1", 63, "SD"))).loc[
        "OS", ["event", "time_days", "end_reason"]].tolist() == [False, 0, "start"]


def test_censoring_at_last_assessment_counts_ne():
    # SD day 21, then NE day 57: FDA (last adequate) censors at 21, admiralonco LSTA at 57.
    frame = calls(("e1", 21, "SD"), ("e2", 57, "NE"))
    assert by_endpoint(frame).loc["PFS", ["time_days", "end_reason"]].tolist() == \
        [21, "last adequate assessment"]
    assert by_endpoint(frame, censoring="last_assessment").loc[
        "PFS", ["time_days", "end_reason"]].tolist() == [57, "last assessment"]


def test_death_before_start_is_ignored():
    out = by_endpoint(calls(("e1", 63, "SD")), death_day=-3)
    assert out.loc["PFS", "event"] == False  # noqa: E712
    assert out.loc["OS", ["event", "time_days"]].tolist() == [False, 0]
