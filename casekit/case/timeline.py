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


# --------------------------------------------------------------------------- big courses

#: The timeline figure numbers and lists at most this many items (events or spans); a
#: longer course is aggregated into spans first (issue 20 item 4). The seed case has 21.
MAX_ITEMS = 60
#: Treatment categories: their dense runs are aggregated first.
TREATMENT_CATEGORIES = ("systemic", "locoregional")
#: Events of one category at most this many days apart are a dense run (daily doses, weekly
#: scans, 3- and 4-weekly cycles).
DENSE_GAP_DAYS = 28
#: A run becomes a span from this many events on.
MIN_SPAN_EVENTS = 3
#: Least certain first: a span is as certain as its least certain event.
_STATUS_RANK = {"assumed": 0, "derived": 1, "reported": 2}
ITEM_COLUMNS = ["day", "end_day", "category", "label", "status", "events"]


def _runs(days: list[int], gap: int) -> list[tuple[int, int]]:
    """(start, stop) index ranges of ``days`` (sorted) whose neighbours are at most ``gap``
    days apart."""
    runs, start = [], 0
    for i in range(1, len(days) + 1):
        if i == len(days) or days[i] - days[i - 1] > gap:
            runs.append((start, i))
            start = i
    return runs


def _aggregate(items: pd.DataFrame, categories: set[str]) -> pd.DataFrame:
    """Single events of ``categories`` in dense runs (:data:`DENSE_GAP_DAYS`, at least
    :data:`MIN_SPAN_EVENTS`) replaced by one span each; everything else as it was."""
    keep, spans = [], []
    for category, rows in items.groupby("category", sort=False):
        single = rows[rows["events"] == 1]
        if category not in categories or len(single) < MIN_SPAN_EVENTS:
            keep.append(rows)
            continue
        keep.append(rows[rows["events"] > 1])
        single = single.sort_values("day", kind="stable")
        days = single["day"].tolist()
        for a, b in _runs(days, DENSE_GAP_DAYS):
            run = single.iloc[a:b]
            if b - a < MIN_SPAN_EVENTS:
                keep.append(run)
                continue
            labels = run["label"].astype(str).tolist()
            status = min(run["status"].astype(str), key=lambda s: _STATUS_RANK.get(s, 0))
            spans.append({"day": days[a], "end_day": days[b - 1], "category": category,
                          "label": f"{b - a:,} events, from {labels[0]} to {labels[-1]}",
                          "status": status, "events": b - a})
    parts = [p for p in keep if len(p)] + ([pd.DataFrame(spans, columns=ITEM_COLUMNS)]
                                           if spans else [])
    return pd.concat(parts, ignore_index=True)[ITEM_COLUMNS] if parts else items


def timeline_items(course: pd.DataFrame, max_items: int = MAX_ITEMS) -> pd.DataFrame:
    """What the timeline figure draws: the events of ``course`` (``day, category, label,
    status``), or, for a course of more than ``max_items`` events, dense runs aggregated
    into spans: first those of treatments (:data:`TREATMENT_CATEGORIES`), then, if the
    course is still longer than ``max_items``, those of every other category.

    Columns: ``day`` (a span's first), ``end_day`` (its last; an event's own day),
    ``category``, ``label`` (a span's: its count, first and last label), ``status`` (a
    span's: its least certain event's) and ``events`` (1 for an event). Rows in the order
    of ``course``, spans after them; the figure sorts them by day.
    """
    items = course.assign(day=course["day"].astype(int), end_day=course["day"].astype(int),
                          status=course["status"].astype(str), events=1)[ITEM_COLUMNS]
    if len(items) <= max_items:
        return items.reset_index(drop=True)
    items = _aggregate(items, set(TREATMENT_CATEGORIES))
    if len(items) > max_items:
        items = _aggregate(items, set(items["category"]))
    return items.reset_index(drop=True)
