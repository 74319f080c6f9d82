"""Figures: one house style and one function per figure.

Every figure function takes the public tables as DataFrames and returns a
:class:`matplotlib.figure.Figure`. It never shows or saves anything and never
touches pyplot's global figure list, so a notebook cell that ends with the call
displays the figure once and leaks nothing. :func:`save` writes ``name.png`` and
``name.svg`` atomically and byte-for-byte reproducibly.

House style (:func:`style`):

* sized for a journal column: single column 3.5 in, double column 7 in wide;
  text 8 pt (titles 9 pt) in matplotlib's bundled DejaVu Sans only;
* the colour-blind-safe palette of Okabe & Ito (Okabe M, Ito K. Color Universal
  Design (CUD): how to make figures and presentations that are friendly to
  colorblind people. 2008. https://jfly.uni-koeln.de/color/), with every
  colour coding doubled by a marker shape or line style;
* reproducible output: a fixed ``svg.hashsalt``, glyphs written as paths
  (``svg.fonttype = "path"``), PNG at 150 dpi, and no ``Software``/``Date``/
  ``Creator`` metadata, so the same inputs give identical bytes on every run.

Each figure function applies the style itself (:func:`matplotlib.rc_context`),
so notebooks need no set-up and global rcParams are left as they were.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib import ticker
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.textpath import text_to_path
from matplotlib.transforms import offset_copy

from casekit import render
from casekit.case import timeline as course_items
from casekit.outputs import write_atomic

# --------------------------------------------------------------------------- style

#: Okabe & Ito (2008) colour-blind-safe palette, in their published order.
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
BLACK, ORANGE, SKY_BLUE, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = OKABE_ITO
GREY = "#7F7F7F"  # neutral guides (reference lines, imaging), not a data colour

SINGLE_COLUMN_IN = 3.5
DOUBLE_COLUMN_IN = 7.0
FONT_SIZE = 8
TITLE_SIZE = 9
DPI = 150
FONT = "DejaVu Sans"

#: Line colours in order of use; yellow is left out (too pale on white for lines).
LINE_COLOURS = (BLUE, VERMILLION, GREEN, ORANGE, SKY_BLUE, PURPLE, BLACK)

RC_PARAMS = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "mathtext.fontset": "dejavusans",
    "font.size": FONT_SIZE,
    "axes.titlesize": TITLE_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE,
    "ytick.labelsize": FONT_SIZE,
    "legend.fontsize": FONT_SIZE,
    "legend.title_fontsize": FONT_SIZE,
    "figure.titlesize": TITLE_SIZE,
    "axes.prop_cycle": cycler(color=LINE_COLOURS),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "axes.formatter.use_mathtext": False,
    # Case text ($ in a label) is drawn literally, never parsed as mathtext (issue 9 item 8).
    "text.parse_math": False,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "figure.dpi": DPI,
    "figure.facecolor": "white",
    "savefig.dpi": DPI,
    "savefig.facecolor": "white",
    "savefig.bbox": None,
    "svg.hashsalt": "casekit",
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}

#: Metadata passed to savefig: drop everything that changes between runs or versions.
PNG_METADATA = {"Software": None}
SVG_METADATA = {"Date": None, "Creator": None}


@contextmanager
def style():
    """Context manager: the house rcParams, restored on exit (used by every figure)."""
    with mpl.rc_context(RC_PARAMS):
        yield


def apply_style() -> None:
    """Set the house rcParams globally (for ad-hoc plots in a notebook; figures don't need it)."""
    mpl.rcParams.update(RC_PARAMS)


def _styled(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with style():
            return func(*args, **kwargs)

    return wrapper


def save(fig: Figure, folder: str | Path, name: str) -> tuple[Path, Path]:
    """Write ``folder/name.png`` and ``folder/name.svg`` atomically; return both paths."""
    if not name or Path(name).name != name or Path(name).suffix in {".png", ".svg"}:
        raise ValueError(f"name must be a bare file stem such as 'timeline', got {name!r}")
    folder = Path(folder)
    paths = []
    with style():
        for fmt, metadata in (("png", PNG_METADATA), ("svg", SVG_METADATA)):
            write = functools.partial(fig.savefig, format=fmt, dpi=DPI, metadata=metadata)
            paths.append(write_atomic(folder / f"{name}.{fmt}", write))
    return paths[0], paths[1]


# --------------------------------------------------------------------------- shared helpers


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s): {', '.join(missing)}")


def _new_figure(width: float, height: float) -> Figure:
    """A constrained-layout figure whose size is a whole number of pixels at DPI."""
    width, height = round(width * DPI) / DPI, round(height * DPI) / DPI
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.get_layout_engine().set(w_pad=3 / 72, h_pad=3 / 72, wspace=0.02, hspace=0.04)
    return fig


def _text_width_pt(text: str, size: float = FONT_SIZE) -> float:
    """Exact width of ``text`` in points in the house font (no renderer needed)."""
    prop = FontProperties(family=FONT, size=size)
    return text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0]


def _wrap(text: str, width_pt: float, most: int | None = None) -> list[str]:
    """Greedy word wrap to a width in points, measured in the house font; with ``most``,
    it stops at ``most + 1`` lines (enough to know the text was cut)."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and _text_width_pt(f"{lines[-1]} {word}") <= width_pt:
            lines[-1] = f"{lines[-1]} {word}"
        elif most is not None and len(lines) > most:
            break
        else:
            lines.append(word)
    return lines or [""]


def _legend_ncols(labels: Sequence[str], width_in: float, most: int = 4) -> int:
    """Most columns (up to ``most``) for a one-block legend of ``labels`` across the figure."""
    for ncols in range(min(most, len(labels)), 1, -1):
        # matplotlib fills columns top-down, the first n % ncols columns one entry longer
        base, extra = divmod(len(labels), ncols)
        sizes = [base + (i < extra) for i in range(ncols)]
        starts = np.cumsum([0] + sizes)
        columns = [labels[a:b] for a, b in zip(starts, starts[1:]) if b > a]
        needed = sum(max(_text_width_pt(t) for t in col) + 36 for col in columns)
        if needed <= width_in * 72 - 12:
            return ncols
    return 1


def _num(value: float, decimals: int = 0) -> str:
    """Thousands separators and a true minus sign: 12573 -> '12,573', -30 -> '−30'."""
    return f"{value:,.{decimals}f}".replace("-", "\u2212")


def _day_ticks(ax) -> None:
    """Day-axis tick labels written as the captions and keys write days: thousands
    separators and a true minus (a course of 8,000 days read '8000' under a key of
    '6,985'); the ticks themselves are matplotlib's."""
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v, _decimals([v]))))


def _decimals(values: Iterable[float], most: int = 2) -> int:
    """Fewest decimals (up to ``most``) that show every value exactly as given."""
    for decimals in range(most + 1):
        if all(abs(round(v, decimals) - v) < 1e-9 for v in values):
            return decimals
    return most


def _short(label: str, limit: int = 18) -> str:
    """The first phrase of a label ('TARE, glass microspheres' -> 'TARE')."""
    head = str(label)
    for sep in (",", ";", ":", "("):
        head = head.split(sep)[0]
    head = head.strip()
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "\u2026"


def _empty_note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=GREY)


def _log_axis(ax, values: Sequence[float], axes_pt: float, room_pt: float = 22.0) -> None:
    """Log y limits leaving ``room_pt`` above and below the data for value labels and
    cycle ticks (``axes_pt`` is the axes height), with plain-number ticks (1,000 not 10^3)."""
    lo, hi = np.log10(min(values)), np.log10(max(values))
    pad = max(room_pt * (hi - lo) / max(axes_pt - 2 * room_pt, 1.0), 0.3)
    lo, hi = lo - pad, hi + pad
    ax.set_yscale("log")
    ax.set_ylim(10**lo, 10**hi)
    subs = (1.0,) if hi - lo > 2.2 else (1.0, 2.0, 5.0)
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.yaxis.set_minor_locator(ticker.LogLocator(base=10, subs=np.arange(2, 10)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v, _decimals([v]))))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _label_slots(days: Sequence[float], values: Sequence[float], close: float):
    """(vertical sign, horizontal alignment) for each point's value label.

    Below a local minimum, above otherwise; two points closer than ``close`` in x
    with labels on the same side push them apart (earlier left, later right).
    """
    signs = []
    for i, value in enumerate(values):
        neighbours = [values[j] for j in (i - 1, i + 1) if 0 <= j < len(values)]
        signs.append(-1 if neighbours and all(value < n for n in neighbours) else 1)

    def crowded(i, j):
        return 0 <= i < j < len(days) and days[j] - days[i] < close and signs[i] == signs[j]

    return [(sign, "left" if crowded(i - 1, i) else "right" if crowded(i, i + 1) else "center")
            for i, sign in enumerate(signs)]


_HALO = {"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}
#: A series of more values labels only its first, last, lowest and highest (issue 20 item 4).
MAX_VALUE_LABELS = 12
#: A line through more points is drawn without a marker at each point.
MAX_POINT_MARKERS = 60


def _labelled(values: Sequence[float]) -> list[int]:
    """Indices of the values that get a label: all, or beyond :data:`MAX_VALUE_LABELS` the
    first, the last, the lowest and the highest (each at its first occurrence)."""
    if len(values) <= MAX_VALUE_LABELS:
        return list(range(len(values)))
    return sorted({0, len(values) - 1, int(np.argmin(values)), int(np.argmax(values))})


def _value_labels(days, values, close: float):
    """(text, vertical sign, horizontal alignment) of each point's value label; None for a
    point left unlabelled (:func:`_labelled`)."""
    decimals = _decimals(values)
    keep = _labelled(values)
    slots = _label_slots([days[i] for i in keep], [values[i] for i in keep], close)
    labels = [None] * len(values)
    for i, (sign, ha) in zip(keep, slots):
        labels[i] = (_num(values[i], decimals), sign, ha)
    return labels


def _point_marker(n: int, marker: str = "o") -> str:
    return marker if n <= MAX_POINT_MARKERS else "None"


def _annotate_values(ax, days, values, labels) -> None:
    for day, value, label in zip(days, values, labels):
        if label is None:
            continue
        text, sign, ha = label
        dx = {"left": 2, "right": -2, "center": 0}[ha]
        ax.annotate(text, (day, value), xytext=(dx, 5 * sign), textcoords="offset points",
                    ha=ha, va="bottom" if sign > 0 else "top", zorder=4, bbox=_HALO)


def _overhang_pt(label, side: str) -> float:
    """How far a value label sticks out past its point on the ``side`` ('left'/'right')."""
    text, _, ha = label
    width = _text_width_pt(text) + 8  # offset from the point plus a little air
    if ha == "center":
        return width / 2
    return width if (ha == "right") == (side == "left") else 0.0


# --------------------------------------------------------------------------- timeline

#: category -> (lane title, marker, colour); lanes run top to bottom in this order.
CATEGORY_STYLE = {
    "diagnosis": ("Diagnosis", "D", BLACK),
    "imaging": ("Imaging", "s", SKY_BLUE),
    "systemic": ("Systemic therapy", "o", BLUE),
    "locoregional": ("Locoregional", "^", VERMILLION),
    "procedure": ("Procedure", "v", GREEN),
    "lab": ("Laboratory", "P", PURPLE),
    "adverse_event": ("Adverse event", "X", ORANGE),
    "care": ("Care", "h", BLACK),
    "outcome": ("Outcome", "*", BLACK),
    "last_known_alive": ("Last known alive", ">", BLACK),
    "death": ("Death", "x", BLACK),
}
_LANE_IN, _KEY_LINE_PT, _KEY_MARGIN_PT = 0.3, 10.5, 4.0
_ASSUMED_EDGE = (0, (2.0, 1.2))
#: At most this many lanes (one per known category); further categories share the last,
#: "Other", so the figure's height stays bounded whatever the course holds.
MAX_LANES = len(CATEGORY_STYLE)
OTHER_LANE = "other"
#: A key entry wraps to at most this many lines (the rest of a long label is cut with "…").
MAX_KEY_LINES = 3
_SPAN_LABEL = "span of aggregated events"


def _category_style(category: str):
    return CATEGORY_STYLE.get(category, (str(category).replace("_", " ").capitalize(), "o", BLACK))


def _status_look(status: str, colour: str) -> dict:
    """Scatter keywords: reported filled, derived half-tone, assumed hollow and dashed."""
    if status == "assumed":
        return {"facecolors": "white", "edgecolors": colour, "linestyles": [_ASSUMED_EDGE]}
    face = mpl.colors.to_rgba(colour, 0.45 if status == "derived" else 1.0)
    return {"facecolors": [face], "edgecolors": colour, "linestyles": "solid"}


def _lanes(categories: Iterable[str]) -> list[str]:
    present = set(categories)
    known = [c for c in CATEGORY_STYLE if c in present]
    return known + sorted(present - set(known))


def _capped_lanes(items: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The lanes of ``items``; beyond :data:`MAX_LANES`, the last lane is "Other" and holds
    every category that did not get a lane of its own."""
    lanes = _lanes(items["category"])
    if len(lanes) <= MAX_LANES:
        return items, lanes
    kept = lanes[: MAX_LANES - 1]
    other = items["category"].where(items["category"].isin(kept), OTHER_LANE)
    return items.assign(category=other), kept + [OTHER_LANE]


def _numbered(course: pd.DataFrame, lanes: list[str], most: int | None = None) -> pd.DataFrame:
    """Events in day order (lane order breaks ties), numbered 1..n, with lane row y; past
    ``most`` events the number is 0 (drawn, but neither numbered nor in the key)."""
    events = course.assign(day=course["day"].astype(int), status=course["status"].astype(str),
                           lane=course["category"].map(lanes.index))
    events = events.sort_values(["day", "lane"], kind="stable").reset_index(drop=True)
    number = np.arange(1, len(events) + 1)
    if most is not None:
        number = np.where(number <= most, number, 0)
    return events.assign(number=number, y=len(lanes) - 1 - events["lane"])


def _day_text(day: int, status: str) -> str:
    return ("\u2248" if status == "assumed" else "") + _num(day)


def _number_markers(ax, events: pd.DataFrame, close: float) -> None:
    """Event numbers beside markers; same-lane neighbours alternate above/below."""
    groups = events[events["number"] > 0].groupby(["y", "day"], sort=True)["number"]
    numbers = groups.apply(lambda s: ",".join(map(str, s))).reset_index()
    last_day, last_sign = {}, {}
    for row in numbers.itertuples(index=False):
        crowded = row.y in last_day and row.day - last_day[row.y] < close
        sign = -last_sign[row.y] if crowded else 1
        last_day[row.y], last_sign[row.y] = row.day, sign
        ax.annotate(row.number, (row.day, row.y), xytext=(0, 6 * sign), textcoords="offset points",
                    ha="center", va="bottom" if sign > 0 else "top")


def _draw_lanes(ax, events: pd.DataFrame, lanes: list[str]) -> None:
    single = events if "events" not in events else events[events["events"] == 1]
    for (category, status), rows in single.groupby(["category", "status"], sort=True):
        _, marker, colour = _category_style(category)
        ax.scatter(rows["day"], rows["y"], s=38, marker=marker, linewidths=1.0, zorder=3,
                   **_status_look(status, colour))
    spans = events.iloc[:0] if "events" not in events else events[events["events"] > 1]
    for row in spans.itertuples(index=False):  # a bar from the first to the last event
        look = _status_look(row.status, _category_style(row.category)[2])
        ax.broken_barh([(row.day, row.end_day - row.day)], (row.y - 0.16, 0.32),
                       facecolors=look["facecolors"], edgecolors=look["edgecolors"],
                       linestyles=look["linestyles"], linewidths=1.0, zorder=2)
    ax.set_yticks(range(len(lanes)), [_category_style(c)[0] for c in reversed(lanes)])
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    ax.grid(axis="y", color="0.9", linewidth=0.6)
    ax.axvline(0, color="0.85", linewidth=0.8, zorder=0)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)


def _status_legend(ax, statuses: set[str], axes_in: float, spans: bool = False) -> None:
    names = {"reported": "reported timing", "derived": "derived timing",
             "assumed": "assumed timing (\u2248 day)"}
    handles = [ax.scatter([], [], s=38, marker="o", linewidths=1.0, label=names[s],
                          **_status_look(s, "0.25")) for s in names if s in statuses]
    if spans:
        handles.append(mpl.patches.Patch(facecolor="0.75", edgecolor="0.25", linewidth=1.0,
                                          label=_SPAN_LABEL))
    ncols = _legend_ncols([h.get_label() for h in handles], axes_in)
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=ncols,
              borderaxespad=0.3, handletextpad=0.3, columnspacing=1.5)


def _clipped(lines: list[str], width_pt: float, most: int = MAX_KEY_LINES) -> list[str]:
    """At most ``most`` wrapped lines; a cut ends its last line with "…" within the width."""
    if len(lines) <= most:
        return lines
    words = lines[most - 1].split()
    while len(words) > 1 and _text_width_pt(" ".join(words) + "\u2026") > width_pt:
        words.pop()
    return lines[: most - 1] + [" ".join(words) + "\u2026"]


def _key_entries(events: pd.DataFrame, width_pt: float, number_pt: float):
    """(number, wrapped lines) per numbered event or span for the key under the lanes, then
    one line counting those left unnumbered."""
    entries = []
    spans = "events" in events
    for row in events[events["number"] > 0].itertuples(index=False):
        if spans and row.events > 1:
            text = (f"Days {_day_text(row.day, row.status)} to {_num(row.end_day)}: "
                    f"{row.label}")
        else:
            text = f"Day {_day_text(row.day, row.status)}: {row.label}"
        lines = _wrap(text, width_pt - number_pt, MAX_KEY_LINES)
        entries.append((str(row.number), _clipped(lines, width_pt - number_pt)))
    left = int((events["number"] == 0).sum())
    if left:
        text = (f"{_num(left)} more not numbered or listed here; the course table lists "
                "every event")
        entries.append(("\u2026", _wrap(text, width_pt - number_pt)))
    return entries


def _split_columns(entries, ncols: int):
    """Fill columns top to bottom, balancing the number of lines."""
    total = sum(len(lines) for _, lines in entries)
    columns, used = [[] for _ in range(ncols)], 0
    for entry in entries:
        col = min(int(used * ncols / max(total, 1)), ncols - 1)
        columns[col].append(entry)
        used += len(entry[1])
    return columns


def _key_layout(events: pd.DataFrame, width: float):
    """Key columns, column width (pt), number width (pt) and key height (in)."""
    ncols = 2 if width >= 5 else 1
    number_pt = _text_width_pt(str(events["number"].max())) * 1.15 + 4  # numbers are bold
    col_pt = (width * 72 - 2 * _KEY_MARGIN_PT) / ncols
    columns = _split_columns(_key_entries(events, col_pt - 8, number_pt), ncols)
    lines = max(sum(len(body) for _, body in column) for column in columns)
    return columns, col_pt, number_pt, (lines * _KEY_LINE_PT + 2 * _KEY_MARGIN_PT) / 72


def _draw_key(subfig, columns, col_pt: float, margin_pt: float, number_pt: float) -> None:
    for c, column in enumerate(columns):
        line = 0
        for number, lines in column:
            x = margin_pt + c * col_pt
            y = -(margin_pt + line * _KEY_LINE_PT)
            subfig.text(0, 1, number, va="top", ha="left", fontweight="bold",
                        transform=offset_copy(subfig.transSubfigure, subfig.figure, x, y, "points"))
            body = offset_copy(subfig.transSubfigure, subfig.figure, x + number_pt, y, "points")
            subfig.text(0, 1, "\n".join(lines), va="top", ha="left", linespacing=1.1, transform=body)
            line += len(lines)


@_styled
def timeline(course: pd.DataFrame, day_label: str = "Study day",
             width: float = DOUBLE_COLUMN_IN,
             max_items: int = course_items.MAX_ITEMS) -> Figure:
    """CARE-style timeline: one lane per category, events numbered and listed in a key below.

    ``course`` needs ``day, category, label, status`` (``event_id`` is not used).
    Reported timings are filled markers, derived half-tone, assumed hollow with a
    dashed outline and a '≈' before the day in the key.

    A course of more than ``max_items`` events is drawn as
    :func:`casekit.case.timeline.timeline_items` aggregates it: dense runs as bars (spans)
    listed once in the key with their count, first and last event. The figure's size is
    bounded: at most :data:`MAX_LANES` lanes, ``max_items`` key entries (any further
    items are drawn unnumbered and counted in the key's last line) of at most
    :data:`MAX_KEY_LINES` lines each. :func:`timeline_note` says in words what was
    aggregated.
    """
    _require(course, ("day", "category", "label", "status"), "course")
    course = course.assign(label=course["label"].map(render.plot))  # case text, drawn as is
    day_label = render.plot(day_label)
    if course.empty:
        fig = _new_figure(width, 1.4)
        ax = fig.add_subplot()
        ax.set(xlabel=day_label, ylabel="Event category", yticks=[])
        _empty_note(ax, "No events")
        return fig
    items, lanes = _capped_lanes(course_items.timeline_items(course, max_items))
    events = _numbered(items, lanes, max_items)
    columns, col_pt, number_pt, key_in = _key_layout(events, width)
    lanes_in = _LANE_IN * len(lanes) + 0.85
    fig = _new_figure(width, lanes_in + key_in)
    top, bottom = fig.subfigures(2, 1, height_ratios=[lanes_in, key_in])
    ax = top.add_subplot()
    _draw_lanes(ax, events, lanes)
    first, last = events["day"].min(), events["end_day"].max()
    span = max(last - first, 1)
    ax.set_xlim(first - 0.03 * span, last + 0.03 * span)
    axes_in = width - 1.4  # less the lane titles and the axis label
    _number_markers(ax, events, close=16 / (axes_in * 72) * span)
    _status_legend(ax, set(events["status"]), axes_in, spans=bool((events["events"] > 1).any()))
    ax.set(xlabel=day_label, ylabel="Event category")
    _day_ticks(ax)
    _draw_key(bottom, columns, col_pt, _KEY_MARGIN_PT, number_pt)
    return fig


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _dense_runs(items: pd.DataFrame) -> str:
    """'dense runs (...) are drawn as bars: 7,999 systemic therapy events (days 0 to
    7,998) and ...' for the spans among ``items`` (:func:`course_items.timeline_items`)."""
    spans = items[items["events"] > 1].sort_values(["day", "category"], kind="stable")
    runs = [f"{_num(r.events)} {_category_style(r.category)[0].lower()} events "
            f"(days {_num(r.day)} to {_num(r.end_day)})" for r in spans.itertuples()]
    return (f"dense runs (events of one kind at most {course_items.DENSE_GAP_DAYS} days "
            "apart) are drawn as bars: " + _and(runs))


def timeline_note(course: pd.DataFrame, max_items: int = course_items.MAX_ITEMS) -> str:
    """What :func:`timeline` aggregated or left out for ``course``, in one or two sentences
    for a caption ('' when it drew every event as itself)."""
    if len(course) <= max_items:
        return ""
    items, lanes = _capped_lanes(course_items.timeline_items(course, max_items))
    bits = []
    if (items["events"] > 1).any():
        bits.append(f"Of its {_num(len(course))} events, {_dense_runs(items)}.")
    if len(items) > max_items:
        bits.append(f"Only the first {max_items} of {_num(len(items))} events and spans are "
                    "numbered and listed in the key.")
    folded = sorted(set(course["category"]) - set(lanes))
    if folded:
        bits.append(f"The categories {', '.join(folded)} share the lane \u201cOther\u201d.")
    return " ".join(bits + ["The course table lists every event."])


# --------------------------------------------------------------------------- markers

_OVERLAYS = {  # course category -> legend text
    "systemic": "systemic cycle",
    "locoregional": "locoregional",
    "imaging": "imaging",
}


#: More treatments and scans than this on a marker panel are drawn as dense runs (spans).
MAX_OVERLAY_EVENTS = course_items.MAX_ITEMS
_DENSE_OVERLAYS = {"systemic": "systemic cycles, dense run", "locoregional":
                   "locoregional, dense run", "imaging": "imaging, dense run"}


def _overlay_events(course: pd.DataFrame | None) -> pd.DataFrame:
    """The treatments and scans to mark on a marker panel (``day, category, label``); of
    more than :data:`MAX_OVERLAY_EVENTS`, dense runs become spans (``end_day``, ``events``;
    :func:`casekit.case.timeline.timeline_items`)."""
    if course is None or course.empty:
        return pd.DataFrame(columns=["day", "category", "label"])
    _require(course, ("day", "category", "label"), "course")
    marks = course.loc[course["category"].isin(list(_OVERLAYS)), ["day", "category", "label"]]
    marks = marks.assign(label=marks["label"].map(render.plot))
    if len(marks) <= MAX_OVERLAY_EVENTS:
        return marks
    status = course.loc[marks.index, "status"] if "status" in course else "reported"
    return course_items.timeline_items(marks.assign(status=status), MAX_OVERLAY_EVENTS)


def _overlay_days(overlay: pd.DataFrame) -> list:
    return overlay["day"].tolist() + (overlay["end_day"].tolist() if "end_day" in overlay else [])


def _draw_overlays(ax, overlay: pd.DataFrame, label_top: bool) -> None:
    """Cycles as ticks on the x axis, locoregional as labelled lines, imaging dotted; a
    dense run of them as a bar (cycles along the bottom, scans along the top) or a band."""
    xaxis = ax.get_xaxis_transform()
    for row in overlay.itertuples(index=False):
        if getattr(row, "events", 1) > 1:
            if row.category == "systemic":
                ax.axvspan(row.day, row.end_day, ymin=0, ymax=0.06, color=BLUE, lw=0, zorder=2)
            elif row.category == "locoregional":
                ax.axvspan(row.day, row.end_day, color=VERMILLION, alpha=0.15, lw=0, zorder=1)
            else:
                ax.axvspan(row.day, row.end_day, ymin=0.96, ymax=1.0, color=GREY, lw=0,
                           zorder=1)
        elif row.category == "systemic":
            ax.plot([row.day, row.day], [0, 0.06], transform=xaxis, color=BLUE, lw=1.6, zorder=2)
        elif row.category == "locoregional":
            ax.axvline(row.day, color=VERMILLION, lw=1.2, alpha=0.8, zorder=1)
            if label_top:
                ax.text(row.day, 1.0, _short(row.label), transform=xaxis, ha="center",
                        va="bottom", color=VERMILLION)
        else:
            ax.axvline(row.day, color=GREY, lw=0.9, ls=":", zorder=1)


def _overlay_legend(fig, overlay: pd.DataFrame, width: float) -> None:
    looks = {"systemic": {"color": BLUE, "marker": "|", "ms": 7, "ls": "none", "mew": 1.6},
             "locoregional": {"color": VERMILLION, "lw": 1.2},
             "imaging": {"color": GREY, "lw": 0.9, "ls": ":"}}
    present = [c for c in _OVERLAYS if c in set(overlay["category"])]
    dense = set(overlay.loc[overlay["events"] > 1, "category"]) if "events" in overlay else set()
    singles = set(overlay["category"]) if not dense else \
        set(overlay.loc[overlay["events"] == 1, "category"])
    colours = {"systemic": BLUE, "locoregional": VERMILLION, "imaging": GREY}
    if present:
        handles = [Line2D([], [], label=_OVERLAYS[c], **looks[c]) for c in present
                   if c in singles]
        handles += [mpl.patches.Patch(color=colours[c], alpha=0.15 if c == "locoregional"
                                      else 1.0, lw=0, label=_DENSE_OVERLAYS[c])
                    for c in present if c in dense]
        ncols = _legend_ncols([h.get_label() for h in handles], width)
        fig.legend(handles=handles, loc="outside upper center", ncols=ncols,
                   handletextpad=0.4, columnspacing=1.2)


class _Series(NamedTuple):
    test: str
    unit: str
    days: list
    values: list
    dropped: int


def _series(markers: pd.DataFrame, test: str) -> _Series:
    """Positive values of one test in day order, its unit and how many values were dropped."""
    rows = markers.loc[markers["test"] == test].copy()
    rows["value"] = pd.to_numeric(rows["value"], errors="coerce")
    rows = rows.dropna(subset=["value"]).sort_values("day", kind="stable")
    units = sorted(set(rows["unit"].astype(str)))
    if len(units) > 1:
        raise ValueError(f"{test} has more than one unit ({', '.join(units)}); convert first")
    positive = rows[rows["value"] > 0]
    return _Series(render.plot(test), render.plot(units[0]) if units else "",
                   positive["day"].tolist(),
                   positive["value"].astype(float).tolist(), len(rows) - len(positive))


def _series_limits(series: list[_Series], labels: list, overlay_days: list, axes_pt: float):
    """Day limits with 5 % margins, widened so the end points' value labels fit."""
    days = [d for s in series for d in s.days] + overlay_days
    total = max(max(days) - min(days), 4) / 0.9
    lo, hi = min(days) - 0.05 * total, max(days) + 0.05 * total
    for s, marks in zip(series, labels):  # the first and the last value are always labelled
        lo = min(lo, s.days[0] - _overhang_pt(marks[0], "left") / axes_pt * total)
        hi = max(hi, s.days[-1] + _overhang_pt(marks[-1], "right") / axes_pt * total)
    return lo, hi


def _marker_panel(ax, s: _Series, labels, colour: str, axes_pt: float) -> None:
    ax.plot(s.days, s.values, marker=_point_marker(len(s.days)), color=colour, zorder=3)
    _annotate_values(ax, s.days, s.values, labels)
    _log_axis(ax, s.values, axes_pt)
    ax.set_ylabel(f"{s.test} ({s.unit})" if s.unit else s.test)
    if s.dropped:
        ax.text(0.99, 0.02, f"{s.dropped} value(s) \u2264 0 not shown", transform=ax.transAxes,
                ha="right", va="bottom", color=GREY)


def _series_figure(markers: pd.DataFrame, tests: Sequence[str], course, day_label: str,
                   width: float, panel_in: float) -> Figure:
    """Stacked log panels, one per test with a value, sharing the day axis."""
    _require(markers, ("test", "day", "value", "unit"), "markers")
    series = [s for s in (_series(markers, test) for test in tests) if s.days]
    day_label = render.plot(day_label)
    overlay = _overlay_events(course)
    legend_in = 0.25 if not overlay.empty else 0.0
    fig = _new_figure(width, panel_in * max(len(series), 1) + 0.45 + legend_in)
    if not series:
        ax = fig.add_subplot()
        ax.set(xlabel=day_label, ylabel=render.plot(" / ".join(tests)), yticks=[])
        _empty_note(ax, render.plot(f"No values for {', '.join(tests)}"))
        return fig
    all_days = [d for s in series for d in s.days] + _overlay_days(overlay)
    close = 0.08 * max(max(all_days) - min(all_days), 1)
    labels = [_value_labels(s.days, s.values, close) for s in series]
    lo, hi = _series_limits(series, labels, _overlay_days(overlay), axes_pt=width * 72 - 62)
    axes = fig.subplots(len(series), 1, sharex=True, squeeze=False)[:, 0]
    for i, (ax, s, marks) in enumerate(zip(axes, series, labels)):
        _marker_panel(ax, s, marks, LINE_COLOURS[i % len(LINE_COLOURS)], panel_in * 72 - 16)
        _draw_overlays(ax, overlay, label_top=i == 0)
        ax.set_xlim(lo, hi)
        _day_ticks(ax)
    axes[-1].set_xlabel(day_label)
    fig.align_ylabels(axes)
    _overlay_legend(fig, overlay, width)
    return fig


@_styled
def marker_trajectories(markers: pd.DataFrame, course: pd.DataFrame | None = None,
                        tests: Sequence[str] = ("AFP", "PIVKA-II"), day_label: str = "Study day",
                        width: float = SINGLE_COLUMN_IN) -> Figure:
    """Serum tumour markers over time: one log panel per test, each value labelled.

    ``markers`` needs ``test, day, value, unit`` (the marker table). Tests with no
    positive value are skipped. With ``course`` (the course table), systemic cycles
    are ticks on the day axis, locoregional treatments labelled vertical lines and
    imaging dotted vertical lines.
    """
    return _series_figure(markers, tuple(tests), course, day_label, width, panel_in=1.45)


@_styled
def viral_load(markers: pd.DataFrame, test: str = "HBV-DNA", course: pd.DataFrame | None = None,
               day_label: str = "Study day", width: float = SINGLE_COLUMN_IN) -> Figure:
    """Viral load over time on a log axis (IU/mL for HBV DNA, the unit taken from the data)."""
    return _series_figure(markers, (test,), course, day_label, width, panel_in=1.7)


def _unlabelled_tests(values: pd.DataFrame, tests: Sequence[str]) -> list[str]:
    numbers = pd.to_numeric(values["value"], errors="coerce")
    counts = values.loc[numbers > 0, "test"].value_counts()
    return [t for t in tests if counts.get(t, 0) > MAX_VALUE_LABELS]


def labels_every_value(values: pd.DataFrame, tests: Sequence[str]) -> bool:
    """Whether a marker figure of ``tests`` labels every value (no test has more than
    :data:`MAX_VALUE_LABELS`)."""
    return not _unlabelled_tests(values, tests)


def series_note(values: pd.DataFrame, tests: Sequence[str],
                course: pd.DataFrame | None = None) -> str:
    """What :func:`marker_trajectories` or :func:`viral_load` leaves out for ``tests`` of
    ``values`` (``test, value``: the marker table or the case's labs) and ``course``, in
    words for a caption ('' when it labels every value and marks every treatment and scan)."""
    many = _unlabelled_tests(values, tests)
    bits = []
    if many:
        bits.append(f"{_and(many)} {'has' if len(many) == 1 else 'have'} more than "
                    f"{MAX_VALUE_LABELS} values: only the first, last, lowest and highest "
                    "are labelled.")
    overlay = _overlay_events(course)
    if "events" in overlay and (overlay["events"] > 1).any():
        bits.append(f"Of the {_num(int(overlay['events'].sum()))} treatments and scans, "
                    f"{_dense_runs(overlay)}.")
    return " ".join(bits)


# --------------------------------------------------------------------------- spider

TARGET_SUM = "target sum"
PR_THRESHOLD_PCT, PD_THRESHOLD_PCT = -30.0, 20.0
#: Criteria codes as a reader writes them.
CRITERIA_NAMES = {"RECIST1.1": "RECIST 1.1", "mRECIST": "mRECIST", "iRECIST": "iRECIST"}


def criteria_name(code: str) -> str:
    return CRITERIA_NAMES.get(code, code)


def _reference_lines(ax) -> None:
    """Zero, PR and PD lines, each named in the right margin at its own height, where no
    assessment guide line can cross the label."""
    ax.axhline(0, color="0.6", lw=0.6, zorder=0)
    for level, text in ((PR_THRESHOLD_PCT, "PR"), (PD_THRESHOLD_PCT, "PD")):
        ax.axhline(level, color=GREY, lw=0.8, ls="--", zorder=0)
        sign = "\u2212" if level < 0 else "+"
        ax.text(1.01, level, f"{text} {sign}{abs(level):g} %",
                transform=ax.get_yaxis_transform(), ha="left", va="center", color=GREY)


#: A spider names at most this many lesions; the others are thin grey lines, counted in
#: the legend (issue 20 item 4: 100 lesions).
MAX_NAMED_LESIONS = 9
#: Beyond this many assessments, only those whose calls differ from the assessment before
#: are labelled above the axes (at most this many).
MAX_ASSESSMENT_LABELS = 12
_UNNAMED_LESION = {"color": "#C8C8C8", "lw": 0.6, "zorder": 2}


def _assessment_texts(response: pd.DataFrame) -> tuple[list[tuple[float, str]], bool]:
    """(day, label) of each assessment: its calls, one line per criteria; of more than
    :data:`MAX_ASSESSMENT_LABELS` assessments, the first and those whose calls changed
    (then True: some were left out)."""
    rows = response.dropna(subset=["overall_response"]).sort_values(["day", "criteria"])
    several = rows["criteria"].nunique() > 1
    texts = []
    for day, group in rows.groupby("day", sort=True):
        # The baseline row has no response: name it rather than print an empty call.
        calls = [(criteria_name(c) + ": " if several else "") + r
                 for c, r in zip(group["criteria"], group["overall_response"]) if r]
        texts.append((day, "\n".join(dict.fromkeys(calls)) or "baseline"))
    if len(texts) <= MAX_ASSESSMENT_LABELS:
        return texts, False
    texts = [t for i, t in enumerate(texts) if i == 0 or t[1] != texts[i - 1][1]]
    return texts[:MAX_ASSESSMENT_LABELS], True


def _label_levels(texts, xlim: tuple[float, float], axes_pt: float, most: int = 3) -> list[int]:
    """A row (0, 1, ...) for each label above the axes so that none overlaps the one before
    it in its row; -1 for a label that finds no free row among ``most``."""
    per_pt = (xlim[1] - xlim[0]) / axes_pt
    ends = [-np.inf] * most
    levels = []
    for day, text in texts:
        half = (max(_text_width_pt(line) for line in text.split("\n")) / 2 + 3) * per_pt
        free = [r for r in range(most) if day - half > ends[r]]
        levels.append(free[0] if free else -1)
        if free:
            ends[free[0]] = day + half
    return levels


def _response_labels(ax, response: pd.DataFrame, axes_pt: float) -> int:
    """Each assessment's calls above the axes; returns how many lines the labels take.
    Of a long course (:func:`_assessment_texts`), labels that would overlap go up a row."""
    texts, thinned = _assessment_texts(response)
    most = max([text.count("\n") + 1 for _, text in texts] or [1])
    levels = _label_levels(texts, ax.get_xlim(), axes_pt) if thinned else [0] * len(texts)
    for (day, text), level in zip(texts, levels):
        if level < 0:
            continue
        ax.axvline(day, color="0.85", lw=0.8, zorder=0)
        where = ax.get_xaxis_transform()
        if level:
            where = offset_copy(where, ax.figure, y=level * most * FONT_SIZE * 1.25,
                                units="points")
        ax.text(day, 1.01, text, transform=where, ha="center", va="bottom")
    return most * (max(levels, default=0) + 1)


def _named_lesions(rows: pd.DataFrame, lesions: list) -> list:
    """The lesions a spider names: all, or beyond :data:`MAX_NAMED_LESIONS` the targets
    first, then the others, in the order they come."""
    if len(lesions) <= MAX_NAMED_LESIONS:
        return lesions
    role = rows.drop_duplicates("lesion_id").set_index("lesion_id")["role"]
    ranked = sorted(lesions, key=lambda lid: role.get(lid) != "target")
    return ranked[:MAX_NAMED_LESIONS]


def _lesion_look(role: str, i: int) -> dict:
    """Targets solid with round markers; measured non-targets dashed with hollow markers;
    the target sum a broad pale band drawn underneath, so a lesion whose line coincides
    with it (a single target) stays visible on top."""
    if role == "sum":
        return {"color": "#BDBDBD", "lw": 5.0, "zorder": 1, "marker": "s", "ms": 6.5,
                "mfc": "#BDBDBD", "mec": "#8C8C8C", "solid_capstyle": "round"}
    colour = LINE_COLOURS[i % 6]
    if role in ("non_target", "not_disease"):
        return {"color": colour, "lw": 1.1, "ls": (0, (4, 2)), "zorder": 3, "marker": "o",
                "ms": 3.5, "mfc": "white"}
    return {"color": colour, "lw": 1.2, "zorder": 3, "marker": "o", "ms": 3.5}


@_styled
def spider(lesion_changes: pd.DataFrame, response: pd.DataFrame | None = None,
           day_label: str = "Study day", width: float = SINGLE_COLUMN_IN,
           criteria: str | None = None) -> Figure:
    """Spider plot: % change from baseline per lesion and of the target sum.

    ``lesion_changes`` needs ``lesion_id, day, change_pct`` (and ``role``: ``target``,
    ``non_target``, ``not_disease``, ``sum``); the target-sum line has ``lesion_id ==
    "target sum"``. Targets are solid lines, measured non-targets dashed with hollow
    markers and "(non-target)" in the legend, a node that was not disease at baseline under
    the criteria likewise with "(not disease at baseline)" (under mRECIST a porta hepatis
    node below 2 cm: its growth is a new lesion, not non-target progression), the target
    sum a broad grey band underneath.
    ``response`` (``day, criteria, overall_response``) labels each assessment at the top.
    ``criteria`` (default: the criteria in ``response``) names the rules in the title, so a
    plot never claims criteria it was not computed under. Dashed lines mark the RECIST
    thresholds, PR −30 % from baseline and PD +20 % (PD is strictly from the nadir).
    """
    _require(lesion_changes, ("lesion_id", "day", "change_pct"), "lesion_changes")
    if response is not None:
        _require(response, ("day", "criteria", "overall_response"), "response")
    rows = lesion_changes.dropna(subset=["change_pct"]).sort_values("day", kind="stable")
    if "role" not in rows:
        rows = rows.assign(role=np.where(rows["lesion_id"] == TARGET_SUM, "sum", "target"))
    if criteria is None and response is not None and not response.empty:
        criteria = ", ".join(criteria_name(c) for c in dict.fromkeys(response["criteria"]))
    lesions = [lid for lid in dict.fromkeys(rows["lesion_id"]) if lid != TARGET_SUM]
    named = _named_lesions(rows, lesions)
    unnamed = [lid for lid in lesions if lid not in set(named)]
    # a capped legend has up to MAX_NAMED_LESIONS + 2 entries: room for them below the axes
    fig = _new_figure(width, 3.0 + (0.16 * (len(named) + 2) if unnamed else 0.0))
    ax = fig.add_subplot()
    ax.set(xlabel=render.plot(day_label), ylabel="Change from baseline (%)")
    _day_ticks(ax)
    _reference_lines(ax)
    lines = dict(tuple(rows.groupby("lesion_id", sort=False)))
    if TARGET_SUM in lines:
        line = lines[TARGET_SUM]
        look = _lesion_look("sum", 0)
        look["marker"] = _point_marker(len(line), look["marker"])
        ax.plot(line["day"], line["change_pct"], label="sum of targets", **look)
    for i, lesion in enumerate(named):
        line = lines[lesion]
        role = str(line["role"].iloc[0])
        label = {"non_target": f"{lesion} (non-target)",
                 "not_disease": f"{lesion} (not disease at baseline)"}.get(role, str(lesion))
        look = _lesion_look(role, i)
        look["marker"] = _point_marker(len(line), look["marker"])
        ax.plot(line["day"], line["change_pct"], label=render.plot(label), **look)
    for lesion in unnamed:
        ax.plot(lines[lesion]["day"], lines[lesion]["change_pct"], **_UNNAMED_LESION)
    if unnamed:  # one legend entry for them all, after the named ones
        ax.plot([], [], label=f"{_num(len(unnamed))} more lesions, not named", **_UNNAMED_LESION)
    values = rows["change_pct"].tolist() + [PR_THRESHOLD_PCT, PD_THRESHOLD_PCT]
    ax.set_ylim(min(values) - 12, max(values) + 12)
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v)))
    if rows.empty:
        _empty_note(ax, "No measurements")
        return fig
    days = rows["day"].tolist() + ([] if response is None else response["day"].tolist())
    span = max(max(days) - min(days), 4)
    ax.set_xlim(min(days) - 0.06 * span, max(days) + 0.06 * span)
    label_lines = 1
    if response is not None and not response.empty:
        label_lines = _response_labels(ax, response, axes_pt=width * 72 - 100)
    if criteria:  # above the assessment labels, however many lines they take
        ax.set_title(f"Lesion size by {criteria_name(criteria)}", loc="left",
                     pad=4 + FONT_SIZE * 1.25 * label_lines)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda k: labels[k] == "sum of targets")
    fig.legend([handles[k] for k in order], [labels[k] for k in order],
               loc="outside lower center", ncols=_legend_ncols(labels, width, 3))
    return fig


def _measured_counts(lesions: pd.DataFrame) -> tuple[int, int]:
    """Lesions with a measured size, and assessments (events with any lesion row)."""
    measured = lesions.loc[pd.to_numeric(lesions["size_cm"], errors="coerce").notna()]
    return measured["lesion_id"].nunique(), lesions["event_id"].nunique()


def labels_every_assessment(lesions: pd.DataFrame) -> bool:
    """Whether a spider of the case's ``lesions`` writes the calls at every assessment
    (there are at most :data:`MAX_ASSESSMENT_LABELS`)."""
    return _measured_counts(lesions)[1] <= MAX_ASSESSMENT_LABELS


def spider_note(lesions: pd.DataFrame) -> str:
    """What :func:`spider` may leave out for a case's ``lesions`` (``event_id, lesion_id,
    size_cm``), in words for a caption ('' when it names every lesion and labels every
    assessment)."""
    n_lesions, n_scans = _measured_counts(lesions)
    bits = []
    if n_lesions > MAX_NAMED_LESIONS:
        bits.append(f"The case measures {_num(n_lesions)} lesions: at most "
                    f"{MAX_NAMED_LESIONS} are named (targets first), the others are thin grey "
                    "lines counted in the legend.")
    if n_scans > MAX_ASSESSMENT_LABELS:
        bits.append(f"Of its {_num(n_scans)} assessments, calls are written above the first "
                    f"and those where they change (at most {MAX_ASSESSMENT_LABELS}).")
    return " ".join(bits)


# --------------------------------------------------------------------------- lung dose


@_styled
def lung_dose(sweep: pd.DataFrame, limit_gy: float = 30.0, lsf_pct: float | None = None,
              max_activity_gbq: float | None = None, width: float = SINGLE_COLUMN_IN) -> Figure:
    """Lung dose against administered activity, the dose limit and the largest activity within it.

    ``sweep`` needs ``activity_gbq, lung_dose_gy, within_limit`` (one row per activity).
    ``lsf_pct`` (the lung shunt fraction, %) goes into the title. ``max_activity_gbq``, the
    exact activity at the limit (``dosimetry.max_activity_for_lung_limit``), is marked when
    given; otherwise the largest swept activity within the limit is.
    """
    _require(sweep, ("activity_gbq", "lung_dose_gy", "within_limit"), "sweep")
    rows = sweep.sort_values("activity_gbq", kind="stable")
    fig = _new_figure(width, 2.6)
    ax = fig.add_subplot()
    title = "Lung dose by activity" + (f" (LSF {lsf_pct:.2f} %)" if lsf_pct is not None else "")
    ax.set(xlabel="Administered activity (GBq)", ylabel="Lung dose (Gy)", title=title)
    ax.plot(rows["activity_gbq"], rows["lung_dose_gy"], color=BLUE, label="lung dose")
    ax.axhline(limit_gy, color=VERMILLION, ls="--", lw=1.0, label=f"limit {limit_gy:g} Gy")
    within = rows[rows["within_limit"].astype(bool)]
    best = None
    if max_activity_gbq is not None and np.isfinite(max_activity_gbq):
        best = (max_activity_gbq, limit_gy)
    elif not within.empty:
        row = within.loc[within["activity_gbq"].idxmax()]
        best = (row["activity_gbq"], row["lung_dose_gy"])
    if best is not None:
        ax.axvline(best[0], color=GREY, ls=":", lw=0.9)
        ax.plot(*best, "o", color=BLACK, label=f"max. activity {best[0]:.1f} GBq")
    top = max(rows["lung_dose_gy"].max() if not rows.empty else 0, limit_gy) * 1.1
    ax.set_ylim(0, top)
    if not rows.empty:
        ax.set_xlim(0, rows["activity_gbq"].max())
    ax.legend(loc="upper left")
    return fig


# --------------------------------------------------------------------------- forest

#: microspheres -> (legend text, marker, colour)
MICROSPHERE_STYLE = {
    "resin": ("resin microspheres (TARE)", "s", BLUE),
    "glass": ("glass microspheres (TARE)", "D", VERMILLION),
    "none": ("no microspheres (systemic only)", "o", BLACK),
}
_HR_TICKS = (0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0)
#: A forest plot shows at most this many rows (the first ones); the title counts the rest.
MAX_FOREST_ROWS = 40


def _microspheres(value) -> str:
    text = "" if pd.isna(value) else str(value).strip().lower()
    return text if text in MICROSPHERE_STYLE else "none"


def _forest_rows(trials: pd.DataFrame) -> pd.DataFrame:
    rows = trials.reset_index(drop=True)
    assumed = rows["status"].astype(str).eq("assumed") if "status" in rows else False
    return rows.assign(kind=rows["microspheres"].map(_microspheres), assumed=assumed,
                       y=np.arange(len(rows))[::-1],
                       row_label=[render.plot(f"{t} {e}: {c}") for t, e, c in
                                  zip(rows["trial"], rows["endpoint"], rows["comparison"])])


def _forest_points(ax, rows: pd.DataFrame) -> list:
    """Draw each (microspheres, assumed) group and return the drawn containers as legend
    handles, so every legend symbol is exactly a symbol of the plot (marker, fill, colour and
    error bar). When no row names microspheres, the kinds are not in the legend."""
    handles = []
    name_kinds = set(rows["kind"]) != {"none"}
    for kind, (text, marker, colour) in MICROSPHERE_STYLE.items():
        for assumed, group in rows[rows["kind"] == kind].groupby("assumed", sort=True):
            err = [group["estimate"] - group["ci_low"], group["ci_high"] - group["estimate"]]
            label = text if name_kinds else "HR stated in the case report"
            if assumed:
                label = (f"{text}, " if name_kinds else "") + "HR not given in the case report"
            handles.append(ax.errorbar(group["estimate"], group["y"], xerr=err, fmt=marker,
                                       color=colour, mfc="white" if assumed else colour, ms=5,
                                       capsize=2.5, lw=1.1, label=label))
    if not name_kinds and not rows["assumed"].any():
        return []  # one kind, all stated: nothing for a legend to tell apart
    return handles


def _forest_text(ax, rows: pd.DataFrame) -> None:
    side = ax.get_yaxis_transform()  # x in axes fraction, y in data
    ax.text(1.02, len(rows) - 0.35, "HR (95 % CI)", transform=side, ha="left", va="bottom",
            fontweight="bold")
    for row in rows.itertuples(index=False):
        text = f"{row.estimate:.2f} ({row.ci_low:.2f}\u2013{row.ci_high:.2f})"
        ax.text(1.02, row.y, text, transform=side, ha="left", va="center")


def forest_note(trials: pd.DataFrame) -> str:
    """'Only the first 40 of N hazard ratios are drawn.' when :func:`forest` leaves rows of
    ``trials`` (its hazard-ratio rows) out; else ''."""
    if len(trials) <= MAX_FOREST_ROWS:
        return ""
    return f"Only the first {MAX_FOREST_ROWS} of {_num(len(trials))} hazard ratios are drawn."


@_styled
def forest(trials: pd.DataFrame, width: float = DOUBLE_COLUMN_IN) -> Figure:
    """Forest plot of hazard ratios (log axis, line at HR 1), one row per trial endpoint.

    ``trials`` needs ``trial, comparison, endpoint, estimate, ci_low, ci_high,
    microspheres`` and holds hazard-ratio rows only. Marker shape and colour show the
    microspheres (resin / glass / none); with a ``status`` column, ``assumed`` rows
    are hollow. Of more than :data:`MAX_FOREST_ROWS` rows, the first are drawn and the
    title counts the others.
    """
    _require(trials, ("trial", "comparison", "endpoint", "estimate", "ci_low", "ci_high",
                      "microspheres"), "trials")
    left_out = max(len(trials) - MAX_FOREST_ROWS, 0)
    rows = _forest_rows(trials.head(MAX_FOREST_ROWS))
    fig = _new_figure(width, 0.32 * max(len(rows), 1) + 1.25 + (0.25 if left_out else 0.0))
    ax = fig.add_subplot()
    ax.set(xlabel="Hazard ratio, 95 % CI (log scale; < 1 favours the first-named arm)",
           ylabel="Trial, endpoint: comparison")
    if left_out:
        fig.suptitle(f"First {MAX_FOREST_ROWS} of {_num(len(trials))} hazard ratios shown; the "
                     "trials table lists every one", x=0.01, ha="left")
    if rows.empty:
        _empty_note(ax, "No hazard ratios")
        return fig
    handles = _forest_points(ax, rows)
    ax.axvline(1.0, color=GREY, lw=0.8, zorder=0)
    ax.set_xscale("log")
    lo, hi = min(rows["ci_low"].min(), 1.0) / 1.2, max(rows["ci_high"].max(), 1.0) * 1.2
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(ticker.FixedLocator([t for t in _HR_TICKS if lo <= t <= hi]))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_yticks(rows["y"], rows["row_label"])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.tick_params(axis="y", length=0)
    _forest_text(ax, rows)
    if handles:
        ncols = _legend_ncols([h.get_label() for h in handles], width)
        fig.legend(handles=handles, loc="outside lower center", ncols=ncols)
    return fig
