"""Figures of a case series: waterfall, swimmer, spider and Kaplan-Meier.

Same contract and house style as :mod:`casekit.plot.figures` (whose style, colours and
:func:`~casekit.plot.figures.save` they use): each function takes the series' tables
(:mod:`casekit.series.stats` builds them), returns a :class:`~matplotlib.figure.Figure`,
never shows or saves anything, and gives identical bytes for identical data. Every colour
that codes a best overall response is doubled by a hatch (bars) or marker (lines).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import matplotlib as mpl
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from casekit.plot.figures import (
    BLACK, BLUE, DOUBLE_COLUMN_IN, GREEN, GREY, LINE_COLOURS, ORANGE, PURPLE,
    SINGLE_COLUMN_IN, SKY_BLUE, VERMILLION, _empty_note, _legend_ncols, _new_figure, _num,
    _reference_lines, _require, _styled,
)

#: best overall response -> (colour, hatch, marker); iRECIST calls look like their RECIST
#: counterparts.
BOR_STYLE = {
    "CR": (BLUE, "", "o"),
    "PR": (SKY_BLUE, "////", "s"),
    "SD": (GREEN, "....", "D"),
    "non-CR/non-PD": (ORANGE, "\\\\\\\\", "v"),
    "PD": (VERMILLION, "xxxx", "^"),
    "NE": (GREY, "", "x"),
}
for _i, _r in (("iCR", "CR"), ("iPR", "PR"), ("iSD", "SD"), ("iCPD", "PD")):
    BOR_STYLE[_i] = BOR_STYLE[_r]
BOR_STYLE["iUPD"] = (PURPLE, "++++", "P")
_LABELLED = 40  # subject names are written along the axis up to this many subjects


def _bor_look(bor: str):
    return BOR_STYLE.get(bor, (BLACK, "", "o"))


def _bor_handles(values, patch: bool) -> list:
    present = list(dict.fromkeys(values))
    order = [b for b in BOR_STYLE if b in present] + sorted(set(present) - set(BOR_STYLE))
    handles = []
    for bor in order:
        colour, hatch, marker = _bor_look(bor)
        if patch:
            handles.append(Patch(facecolor=colour, hatch=hatch, edgecolor="white", label=bor))
        else:
            handles.append(Line2D([], [], color=colour, marker=marker, label=bor))
    return handles


@_styled
def waterfall(table: pd.DataFrame, title: str = "", width: float = DOUBLE_COLUMN_IN):
    """Best % change of the target sum per subject, largest increase first, coloured (and
    hatched) by best overall response, with the −30 % (PR) and +20 % (PD) lines.

    ``table`` needs ``subject, best_change_pct, bor`` in plotting order
    (:func:`casekit.series.stats.waterfall_table`); bars with ``pd_despite_shrinkage`` get a
    black triangle just above zero (progression by non-targets or new lesions although the
    target sum shrank, so the bar alone would read as a response). The +20 % line is a guide: RECIST 1.1
    PD is +20 % from the nadir, which for a best change equals baseline only when the
    baseline is the nadir (Eisenhauer 2009 §4.3.1).
    """
    _require(table, ("subject", "best_change_pct", "bor"), "waterfall table")
    fig = _new_figure(width, 2.9)
    ax = fig.add_subplot()
    ax.set(ylabel="Best change from baseline (%)", title=title)
    _reference_lines(ax)
    if table.empty:
        _empty_note(ax, "No subject with a measured follow-up")
        return fig
    x = np.arange(len(table))
    for i, row in enumerate(table.itertuples(index=False)):
        colour, hatch, _ = _bor_look(row.bor)
        ax.bar(i, row.best_change_pct, width=0.8, color=colour, hatch=hatch,
               edgecolor="white", linewidth=0.4, zorder=2)
    despite = (table["pd_despite_shrinkage"].astype(bool) if "pd_despite_shrinkage" in table
               else pd.Series(False, index=table.index))
    if despite.any():  # PD from non-targets or new lesions although the targets shrank
        flagged = np.flatnonzero(despite.to_numpy())
        ax.scatter(flagged, [2.0] * len(flagged), marker="v", s=14, color="black", zorder=3,
                   label="PD by non-targets or new lesions despite shrinkage")
    values = table["best_change_pct"].tolist() + [-30.0, 20.0]
    ax.set_ylim(min(values) - 10, max(values) + 12)
    ax.set_xlim(-0.7, len(table) - 0.3)
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v)))
    if len(table) <= _LABELLED:
        ax.set_xticks(x, table["subject"].tolist(), rotation=90)
        ax.set_xlabel("Subject")
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"Subjects (n = {len(table)}), ordered by best change")
    handles = _bor_handles(table["bor"], patch=True)
    if despite.any():
        handles += [Line2D([], [], marker="v", linestyle="none", color="black",
                           markersize=4, label="PD despite shrinkage")]
    fig.legend(handles=handles, loc="outside lower center", title="Best overall response",
               ncols=_legend_ncols([h.get_label() for h in handles], width, 6))
    return fig


@_styled
def spider(table: pd.DataFrame, title: str = "", day_label: str = "Study day",
           width: float = SINGLE_COLUMN_IN):
    """Every subject's target-sum change from baseline over time, one line each, coloured
    (and marked) by best overall response, with the −30 % / +20 % guides.

    ``table`` needs ``subject, day, change_pct, bor`` (:func:`casekit.series.stats.spider_table`).
    """
    _require(table, ("subject", "day", "change_pct", "bor"), "spider table")
    fig = _new_figure(width, 3.0)
    ax = fig.add_subplot()
    ax.set(xlabel=day_label, ylabel="Change of target sum from baseline (%)", title=title)
    _reference_lines(ax)
    if table.empty:
        _empty_note(ax, "No measured target sums")
        return fig
    for _, rows in table.groupby("subject", sort=True):
        colour, _, marker = _bor_look(rows["bor"].iloc[0])
        ax.plot(rows["day"], rows["change_pct"], color=colour, marker=marker, ms=3, lw=0.9,
                alpha=0.9)
    values = table["change_pct"].tolist() + [-30.0, 20.0]
    ax.set_ylim(min(values) - 12, max(values) + 12)
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v)))
    handles = _bor_handles(table["bor"], patch=False)
    fig.legend(handles=handles, loc="outside lower center", title="Best overall response",
               ncols=_legend_ncols([h.get_label() for h in handles], width, 4))
    return fig


_SWIM_MARKS = {  # column -> (legend text, marker, colour, size)
    "response_day": ("first CR/PR", "^", BLUE, 22),
    "progression_day": ("progression", "X", VERMILLION, 26),
    "censored_day": ("censored (PFS)", "|", BLACK, 30),
    "death_day": ("death", "s", BLACK, 18),
}


@_styled
def swimmer(table: pd.DataFrame, title: str = "", day_label: str = "Study day",
            width: float = SINGLE_COLUMN_IN):
    """Time on study per subject (day 0 to the last recorded day), longest at the top, with
    response onset, progression, PFS censoring and death; an arrow marks a subject still
    on study (no progression, no death recorded).

    ``table`` needs ``subject, end_day, response_day, progression_day, censored_day,
    death_day, ongoing`` (:func:`casekit.series.stats.swimmer_table`).
    """
    _require(table, ("subject", "end_day", "ongoing", *_SWIM_MARKS), "swimmer table")
    n = len(table)
    height = min(0.16 * max(n, 3) + 1.1, 9.0)
    fig = _new_figure(width, height)
    # Markers no taller than a lane: once the height is capped, a long series gets thinner
    # lanes, and full-size markers would run into the neighbouring subjects' lanes.
    lane_pt = (height - 1.1) * 72 / max(n, 3)
    largest = (0.9 * lane_pt) ** 2  # scatter sizes are areas in points squared
    # An annotation's arrow scales with the font size; a '-|>' head is 0.4 x the scale wide.
    arrow_scale = min(float(mpl.rcParams["font.size"]), 0.9 * lane_pt / 0.4)
    ax = fig.add_subplot()
    ax.set(xlabel=day_label, title=title)
    if table.empty:
        _empty_note(ax, "No subjects")
        return fig
    y = np.arange(n)[::-1]
    ax.barh(y, table["end_day"].astype(float), height=0.6, color="0.82", zorder=1)
    handles = [Patch(facecolor="0.82", label="on study")]
    for column, (text, marker, colour, size) in _SWIM_MARKS.items():
        days = pd.to_numeric(table[column], errors="coerce").astype(float)
        shown = days.notna().to_numpy()
        if shown.any():
            ax.scatter(days[shown], y[shown], marker=marker, color=colour,
                       s=min(size, largest), zorder=3, linewidths=min(1.0, 0.3 * lane_pt))
            handles.append(Line2D([], [], marker=marker, color=colour, ls="none", label=text))
    span = max(float(table["end_day"].max()), 1.0)
    ongoing = table["ongoing"].astype(bool).to_numpy()
    for end, lane in zip(table["end_day"][ongoing].astype(float), y[ongoing]):
        ax.annotate("", (end + 0.06 * span, lane), (end, lane),
                    arrowprops=dict(arrowstyle="-|>", color=BLACK, lw=min(0.9, 0.2 * lane_pt),
                                    shrinkA=0, shrinkB=0, mutation_scale=arrow_scale),
                    zorder=3)
    if ongoing.any():
        handles.append(Line2D([], [], marker=">", color=BLACK, ls="-", lw=0.9,
                              label="on study, no progression"))
    ax.set_xlim(0, span * 1.1)
    ax.set_ylim(-0.7, n - 0.3)
    if n <= _LABELLED:
        ax.set_yticks(y, table["subject"].tolist())
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"Subjects (n = {n})")
    ax.tick_params(axis="y", length=0)
    fig.legend(handles=handles, loc="outside lower center",
               ncols=_legend_ncols([h.get_label() for h in handles], width, 3))
    return fig


def _at_risk(curve: pd.DataFrame, ticks) -> list[int]:
    leaving = curve["events"] + curve["censored"]
    return [int(leaving[curve["time"] >= t].sum()) for t in ticks]


@_styled
def kaplan_meier(curves: dict[str, pd.DataFrame], title: str = "",
                 xlabel: str = "Days from day 0", ylabel: str = "Progression-free (%)",
                 width: float = SINGLE_COLUMN_IN):
    """Kaplan-Meier step curves with their 95 % band and censoring ticks, and the number at
    risk under the axis at each day tick.

    ``curves`` maps a label (e.g. the criteria) to the ``curve`` table of
    :func:`casekit.series.stats.kaplan_meier` (``time, events, censored, survival, ci_low,
    ci_high``). At risk at day t = subjects whose time is >= t.
    """
    for label, curve in curves.items():
        _require(curve, ("time", "events", "censored", "survival", "ci_low", "ci_high"),
                 f"curve {label}")
    rows = max(len(curves), 1)
    fig = _new_figure(width, 2.6 + 0.16 * rows)
    ax, table_ax = fig.subplots(2, 1, height_ratios=[2.3, 0.28 + 0.16 * rows], sharex=True)
    ax.set(ylabel=ylabel, title=title)
    drawn = {label: c for label, c in curves.items() if not c.empty}
    if not drawn:
        _empty_note(ax, "No subjects")
        table_ax.set_axis_off()
        return fig
    tmax = max(float(c["time"].max()) for c in drawn.values())
    ticks = [t for t in ticker.MaxNLocator(nbins=5, integer=True).tick_values(0, tmax)
             if 0 <= t <= tmax]
    for i, (label, curve) in enumerate(drawn.items()):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        ls = ("-", "--", ":", "-.")[i % 4]
        ax.step(curve["time"], 100 * curve["survival"], where="post", color=colour, ls=ls,
                label=label)
        ax.fill_between(curve["time"], 100 * curve["ci_low"], 100 * curve["ci_high"],
                        step="post", color=colour, alpha=0.15, lw=0)
        cens = curve[curve["censored"] > 0]
        ax.plot(cens["time"], 100 * cens["survival"], ls="none", marker="|", ms=6,
                color=colour)
        for t, n in zip(ticks, _at_risk(curve, ticks)):
            table_ax.text(t, rows - 1 - i, str(n), ha="center", va="center", color=colour)
    ax.set_ylim(0, 105)
    ax.set_xlim(0, tmax * 1.04 if tmax > 0 else 1)
    ax.set_xticks(ticks)
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v)))
    ax.legend(loc="lower left")
    table_ax.set_ylim(-0.6, rows - 0.4)
    table_ax.set_yticks(range(rows), list(reversed(list(drawn))))
    table_ax.tick_params(axis="y", length=0, pad=8)
    for side in ("left", "bottom"):
        table_ax.spines[side].set_visible(False)
    table_ax.tick_params(axis="x", length=0)
    table_ax.set_xlabel(xlabel)
    table_ax.set_title("Number at risk", loc="left", fontsize=8)
    return fig
