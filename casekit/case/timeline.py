"""The course of care: resolve each event's study day through its chain of anchors.

The report gives no dates, so every event is placed relative to another one
(``anchor`` + ``offset_days``); a root event (no anchor) sits at its own ``offset_days``.
For the seed case day 0 is the first atezolizumab/bevacizumab dose.
"""

from __future__ import annotations

import re

import pandas as pd


class AnchorError(ValueError):
    """An anchor names no event, or anchors form a cycle. ``event_ids`` are the rows at fault."""

    def __init__(self, message: str, event_ids: list[str], missing: bool):
        super().__init__(message)
        self.event_ids = event_ids
        self.missing = missing


def resolve_days(events: pd.DataFrame) -> dict[str, int]:
    """Day of every event: the root's ``offset_days``, else its anchor's day plus its own.

    ``events`` needs ``event_id``, ``anchor`` ('' for a root) and integer ``offset_days``.
    Raises :class:`AnchorError` listing every event whose anchor is missing or on a cycle.
    """
    anchor = dict(zip(events["event_id"], events["anchor"]))
    offset = dict(zip(events["event_id"], events["offset_days"].astype(int)))
    missing = sorted(e for e, a in anchor.items() if a and a not in anchor)
    if missing:
        raise AnchorError("anchor names no event", missing, missing=True)

    days: dict[str, int] = {}
    cycles: set[str] = set()
    for start in anchor:
        chain: list[str] = []
        node = start
        while node and node not in days and node not in chain and node not in cycles:
            chain.append(node)
            node = anchor[node]
        if node in chain:  # walked back onto this chain: a cycle
            cycle = chain[chain.index(node):]
            cycles.update(cycle)
            chain = chain[: chain.index(node)]
        if node in cycles:
            cycles.update(chain)  # hanging off a cycle: unresolvable too
            continue
        base = days[node] if node else 0
        for event in reversed(chain):
            base = base + offset[event] if anchor[event] else offset[event]
            days[event] = base
    if cycles:
        raise AnchorError("anchors form a cycle", sorted(cycles), missing=False)
    return days


def cycle_path(events: pd.DataFrame, start: str) -> list[str]:
    """The anchor chain from ``start`` until it repeats, for a readable cycle message."""
    anchor = dict(zip(events["event_id"], events["anchor"]))
    path = [start]
    while anchor.get(path[-1]) and anchor[path[-1]] not in path:
        path.append(anchor[path[-1]])
    return path + [anchor.get(path[-1], "")]


def course_table(timeline: pd.DataFrame) -> pd.DataFrame:
    """The resolved course of care, sorted by day: event, day, category, label, status."""
    cols = ["event_id", "day", "category", "label", "anchor", "offset_days", "status"]
    return timeline[cols].sort_values(["day", "event_id"], kind="stable").reset_index(drop=True)


def day_axis_label(timeline: pd.DataFrame) -> str:
    """'Day (0 = <label of the day-0 root event>)', or 'Study day' when no root sits at day 0.

    The label is cut at its first parenthesis or semicolon so the axis title fits a
    single-column figure.
    """
    roots = timeline[(timeline["anchor"] == "") & (timeline["day"] == 0)]
    if not len(roots):
        return "Study day"
    label = re.split(r"\s*[(;]", roots["label"].iloc[0])[0]
    return f"Day (0 = {label})"
