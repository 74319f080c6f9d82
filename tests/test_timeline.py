"""Resolving event days through anchors."""

import pandas as pd
import pytest

from casekit.case.timeline import AnchorError, day_axis_label, resolve_days


def events(*rows):
    return pd.DataFrame(rows, columns=["event_id", "anchor", "offset_days", "label"])


def test_days_follow_anchor_chains_in_any_file_order():
    # tare = c2 - 5, c2 = c1 + 21, fever = tare + 1: 16 and 17 (the seed case's reported intervals)
    frame = events(("fever", "tare", 1, "f"), ("tare", "c2", -5, "t"),
                   ("c2", "c1", 21, "c"), ("c1", "", 0, "Cycle 1 (other hospital)"))
    assert resolve_days(frame) == {"c1": 0, "c2": 21, "tare": 16, "fever": 17}


def test_a_second_root_sits_at_its_own_offset():
    assert resolve_days(events(("a", "", 0, ""), ("b", "", -30, ""), ("c", "b", 2, ""))) == {
        "a": 0, "b": -30, "c": -28}


def test_cycle_and_missing_anchor_are_named():
    with pytest.raises(AnchorError) as err:
        resolve_days(events(("a", "b", 1, ""), ("b", "a", 1, ""), ("r", "", 0, "")))
    assert err.value.event_ids == ["a", "b"] and not err.value.missing
    with pytest.raises(AnchorError) as err:
        resolve_days(events(("a", "zz", 1, ""), ("r", "", 0, "")))
    assert err.value.event_ids == ["a"] and err.value.missing


def test_day_axis_label_names_the_day_zero_event_briefly():
    frame = events(("c1", "", 0, "Cycle 1 atezolizumab/bevacizumab (other hospital)"))
    frame["day"] = [0]
    assert day_axis_label(frame) == "Day (0 = Cycle 1 atezolizumab/bevacizumab)"
    frame["day"] = [5]
    assert day_axis_label(frame) == "Study day"
