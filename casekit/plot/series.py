"""Figures of a case series: waterfall, swimmer, spider and Kaplan-Meier, drawn to the
conventions of oncology papers.

Same contract and house style as :mod:`casekit.plot.figures` (whose style, colours and
:func:`~casekit.plot.figures.save` they use): each function takes the series' tables
(:mod:`casekit.series.stats` builds them), returns a :class:`~matplotlib.figure.Figure`,
never shows or saves anything, and gives identical bytes for identical data. Every colour
that codes a best overall response is doubled by a hatch (bars) or marker (lines). Every
figure is one journal column wide (3.5 in), so that on a 420 px phone screen its 8 pt text
is still about 12 px high; nothing is drawn outside the figure (``tests/test_series.py``
measures every label against it).

Conventions followed
--------------------
- Kaplan-Meier: Morris TP et al. Proposals on Kaplan-Meier plots in medical research and a
  survey of stakeholder views: KMunicate. BMJ Open 2019;9:e030215 — a risk table of the
  number at risk, censored and with an event under the plot at each time tick, the
  confidence band, censoring ticks; the median drawn as drop lines and written with its
  95 % CI (as survminer's ``surv.median.line`` and ggsurvfit's ``add_quantile``); time in
  months (1 month = 365.25 / 12 days). Groups that are different populations (different
  numbers of subjects, e.g. iRECIST only for the subjects on a checkpoint inhibitor) get a
  panel each instead of curves laid over each other.
- Waterfall: one bar per subject, best change of the sum of target diameters (up to the
  first progression), largest increase first, coloured by best overall response, with the
  −30 % (PR) and +20 % (PD) lines (Eisenhauer 2009 §4.3.1); bars above +100 % are capped
  and their values written, as RECIST papers do.
- Swimmer: one lane per subject, longest time on study at the top, a segment for the
  duration of response, the first progression only, death apart from censoring (as the R
  packages swimplot and ggswim draw them).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import matplotlib as mpl
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from casekit.plot.figures import (
    BLACK, BLUE, FONT_SIZE, GREEN, GREY, LINE_COLOURS, ORANGE, PURPLE, SINGLE_COLUMN_IN,
    SKY_BLUE, VERMILLION, _day_ticks, _empty_note, _legend_ncols, _new_figure, _num,
    _reference_lines, _require, _styled, _text_width_pt, criteria_name,
)

#: best overall response -> (colour, hatch, marker); iRECIST calls look like their RECIST
#: counterparts, except iUPD (unconfirmed progression), which has a look of its own.
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
#: Days per month (the Julian year over 12), the usual conversion of survival papers.
DAYS_PER_MONTH = 365.25 / 12
UNITS = {"months": DAYS_PER_MONTH, "days": 1.0}
#: Bars above this best change (%) are capped at it and their value is written.
WATERFALL_CAP_PCT = 100.0
#: A swimmer draws at most this many lanes: the subjects longest on study, with a line
#: saying how many more there are (a lane thinner than ~2.5 px is not readable).
SWIMMER_MAX_LANES = 300


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


def _unit(unit: str) -> float:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    return UNITS[unit]


def _time_ticks(tmax: float, unit: str) -> list[float]:
    """Round ticks from 0 to ``tmax`` (in ``unit``): months by 1, 2, 3, 6 or 12."""
    steps = [1, 2, 3, 6, 10] if unit == "months" else [1, 2, 2.5, 5, 10]
    locator = ticker.MaxNLocator(nbins=6, steps=steps, integer=True, min_n_ticks=3)
    return [float(t) for t in locator.tick_values(0, max(tmax, 1.0)) if 0 <= t <= max(tmax, 1.0)]


# ------------------------------------------------------------------ waterfall


@_styled
def waterfall(table: pd.DataFrame, title: str = "", width: float = SINGLE_COLUMN_IN,
              cap_pct: float = WATERFALL_CAP_PCT):
    """Best % change of the target sum per subject, largest increase first, coloured (and
    hatched) by best overall response, with the −30 % (PR) and +20 % (PD) lines.

    ``table`` needs ``subject, best_change_pct, bor`` in plotting order
    (:func:`casekit.series.stats.waterfall_table`: the best change up to and including the
    first progression); bars with ``pd_despite_shrinkage`` get a black triangle just above
    zero (progression by non-targets or new lesions although the target sum shrank, so the
    bar alone would read as a response). Bars above ``cap_pct`` are drawn to it and their
    value written above them (one line for all of them when they are too narrow for a label
    each). The +20 % line is a guide: RECIST 1.1 PD is +20 % from the nadir, which for a
    best change equals baseline only when the baseline is the nadir (Eisenhauer 2009
    §4.3.1).
    """
    _require(table, ("subject", "best_change_pct", "bor"), "waterfall table")
    fig = _new_figure(width, 3.2)
    ax = fig.add_subplot()
    ax.set(ylabel="Best change (%)", title=title)
    _reference_lines(ax)
    if table.empty:
        _empty_note(ax, "No subject with a measured follow-up")
        return fig
    values = table["best_change_pct"].astype(float).to_numpy()
    heights = np.minimum(values, cap_pct)
    n = len(table)
    for i, (row, height) in enumerate(zip(table.itertuples(index=False), heights)):
        colour, hatch, _ = _bor_look(row.bor)
        ax.bar(i, height, width=0.8 if n <= 60 else 1.0, color=colour,
               hatch=hatch if n <= 60 else "", edgecolor="white",
               linewidth=0.4 if n <= 60 else 0, zorder=2)
    despite = (table["pd_despite_shrinkage"].astype(bool) if "pd_despite_shrinkage" in table
               else pd.Series(False, index=table.index))
    if despite.any():  # PD from non-targets or new lesions although the targets shrank
        flagged = np.flatnonzero(despite.to_numpy())
        ax.scatter(flagged, [4.0] * len(flagged), marker="v", s=10 if n > 60 else 14,
                   color="black", linewidths=0, zorder=3)
    capped = np.flatnonzero(values > cap_pct)
    top = max(float(heights.max()), 20.0)
    room = 0.0
    if len(capped):
        axes_pt = (width - 0.8) * 72
        if axes_pt / n >= FONT_SIZE * 1.3:  # room for a label per bar
            for i in capped:
                ax.text(i, cap_pct + 3, _num(values[i]), rotation=90, ha="center",
                        va="bottom", fontsize=FONT_SIZE - 1)
            room = _text_width_pt(_num(values.max()), FONT_SIZE - 1) * 1.3
        else:
            ax.text(capped[-1] + 0.02 * n, cap_pct,
                    f"\u2190 {len(capped)} bar{'s' * (len(capped) > 1)} capped at "
                    f"+{cap_pct:g} %\n(largest +{values.max():,.0f} %)",
                    ha="left", va="top", fontsize=FONT_SIZE - 1, zorder=4,
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                          "edgecolor": "none", "alpha": 0.85})
    low = min(float(heights.min()), -30.0)
    ax.set_ylim(low - 8, top + 8 + room * (top - low) / 140)
    ax.set_xlim(-0.7, n - 0.3)
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v)))
    if n <= _LABELLED:
        ax.set_xticks(np.arange(n), table["subject"].tolist(), rotation=90)
        ax.set_xlabel("Subject")
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{n:,} subjects, by best change")
    handles = _bor_handles(table["bor"], patch=True)
    if despite.any():
        handles += [Line2D([], [], marker="v", linestyle="none", color="black",
                           markersize=4, label="PD despite shrinkage")]
    fig.legend(handles=handles, loc="outside lower center", title="Best overall response",
               ncols=_legend_ncols([h.get_label() for h in handles], width, 4))
    return fig


# ------------------------------------------------------------------ spider


@_styled
def spider(table: pd.DataFrame, title: str = "", day_label: str | None = None,
           width: float = SINGLE_COLUMN_IN, unit: str = "months"):
    """Every subject's target-sum change from baseline over time, one line each, coloured
    (and marked) by best overall response, with the −30 % / +20 % guides.

    ``table`` needs ``subject, day, change_pct, bor`` (:func:`casekit.series.stats.spider_table`);
    time is drawn in ``unit`` (months or days) from day 0.
    """
    _require(table, ("subject", "day", "change_pct", "bor"), "spider table")
    if day_label is not None:  # the older call named the axis itself, in days
        unit = "days"
    scale = _unit(unit)
    fig = _new_figure(width, 3.2)
    ax = fig.add_subplot()
    ax.set(xlabel=day_label or f"{unit.capitalize()} from day 0", ylabel="Change from baseline (%)",
           title=title)
    _day_ticks(ax)
    _reference_lines(ax)
    if table.empty:
        _empty_note(ax, "No measured target sums")
        return fig
    many = table["subject"].nunique() > 60
    for _, rows in table.groupby("subject", sort=True):
        colour, _, marker = _bor_look(rows["bor"].iloc[0])
        ax.plot(rows["day"].astype(float) / scale, rows["change_pct"], color=colour,
                marker=marker, ms=2 if many else 3, lw=0.6 if many else 0.9,
                alpha=0.7 if many else 0.9)
    values = table["change_pct"].tolist() + [-30.0, 20.0]
    ax.set_ylim(min(values) - 12, max(values) + 12)
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v)))
    handles = _bor_handles(table["bor"], patch=False)
    fig.legend(handles=handles, loc="outside lower center", title="Best overall response",
               ncols=_legend_ncols([h.get_label() for h in handles], width, 4))
    return fig


# ------------------------------------------------------------------ swimmer


#: column -> (legend text, marker, colour, size, filled)
_SWIM_MARKS = {
    "response_day": ("first CR/PR", "^", BLUE, 22, True),
    "iupd_day": ("first iUPD (unconfirmed)", "P", PURPLE, 24, True),
    "progression_day": ("first progression", "X", VERMILLION, 26, True),
    "censored_day": ("censored (PFS)", "|", BLACK, 30, True),
    "death_day": ("death", "s", BLACK, 18, True),
}


@_styled
def swimmer(table: pd.DataFrame, title: str = "", day_label: str | None = None,
            width: float = SINGLE_COLUMN_IN, unit: str = "months",
            max_lanes: int = SWIMMER_MAX_LANES):
    """Time on study per subject (day 0 to the last recorded day), longest at the top.

    Each lane shows the duration of response (a blue segment from the first CR/PR to its
    end), the first CR/PR, the first iUPD (iRECIST), the first progression (one marker),
    the censoring of the progression-free interval and death (a filled square, never a
    censoring tick); an arrow marks a subject still on follow-up (no progression, no
    death). Subjects without any follow-up scan (``no_follow_up``) get a hollow circle at
    day 0 and no arrow. Lanes stay at least 0.05 in (about 7 px) high: a series of more
    than ``max_lanes`` subjects shows the ``max_lanes`` longest on study and says under
    the axis how many more there are and their range of time on study.

    ``table`` needs ``subject, end_day, response_day, progression_day, censored_day,
    death_day, ongoing`` and may have ``response_end_day, iupd_day, no_follow_up``
    (:func:`casekit.series.stats.swimmer_table`).
    """
    _require(table, ("subject", "end_day", "response_day", "progression_day", "censored_day",
                     "death_day", "ongoing"), "swimmer table")
    if day_label is not None:  # the older call named the axis itself, in days
        unit = "days"
    scale = _unit(unit)
    total = len(table)
    rest = table.iloc[max_lanes:]
    table = table.iloc[:max_lanes].reset_index(drop=True)
    n = len(table)
    lane_in = 0.16 if n <= _LABELLED else 0.05
    # lanes, then title and axis (0.8 in) and the legend (up to five rows of two, 0.85 in)
    height = lane_in * max(n, 4) + 1.65 + (0.2 if len(rest) else 0)
    fig = _new_figure(width, height)
    lane_pt = lane_in * 72
    largest = (0.9 * lane_pt) ** 2  # scatter sizes are areas in points squared
    # An annotation's arrow scales with the font size; a '-|>' head is 0.4 x the scale wide.
    arrow_scale = min(float(mpl.rcParams["font.size"]), 0.9 * lane_pt / 0.4)
    ax = fig.add_subplot()
    ax.set(xlabel=day_label or f"{unit.capitalize()} from day 0", title=title)
    _day_ticks(ax)
    if table.empty:
        _empty_note(ax, "No subjects")
        return fig
    y = np.arange(n)[::-1]
    ends = table["end_day"].astype(float).to_numpy() / scale
    ax.barh(y, ends, height=0.7, color="0.82", zorder=1)
    handles = [Patch(facecolor="0.82", label="on study")]
    if "response_end_day" in table:
        start = pd.to_numeric(table["response_day"], errors="coerce").astype(float)
        stop = pd.to_numeric(table["response_end_day"], errors="coerce").astype(float)
        shown = (start.notna() & stop.notna()).to_numpy()
        if shown.any():
            ax.barh(y[shown], (stop - start)[shown] / scale, left=start[shown] / scale,
                    height=0.35, color=SKY_BLUE, zorder=2)
            handles.append(Patch(facecolor=SKY_BLUE, label="response (CR/PR) duration"))
    for column, (text, marker, colour, size, _) in _SWIM_MARKS.items():
        if column not in table:
            continue
        days = pd.to_numeric(table[column], errors="coerce").astype(float)
        shown = days.notna().to_numpy()
        if shown.any():
            ax.scatter(days[shown] / scale, y[shown], marker=marker, color=colour,
                       s=min(size, largest), zorder=3, linewidths=min(1.0, 0.3 * lane_pt))
            handles.append(Line2D([], [], marker=marker, color=colour, ls="none", label=text))
    span = max(float(ends.max()), 1.0)
    if "no_follow_up" in table and table["no_follow_up"].astype(bool).any():
        none = table["no_follow_up"].astype(bool).to_numpy()
        ax.scatter(np.zeros(none.sum()), y[none], marker="o", facecolors="none",
                   edgecolors=BLACK, s=min(16, largest), linewidths=min(0.8, 0.25 * lane_pt),
                   zorder=3)
        handles.append(Line2D([], [], marker="o", color=BLACK, markerfacecolor="none",
                              ls="none", label="no follow-up scan"))
    ongoing = table["ongoing"].astype(bool).to_numpy()
    for end, lane in zip(ends[ongoing], y[ongoing]):
        ax.annotate("", (end + 0.05 * span, lane), (end, lane),
                    arrowprops=dict(arrowstyle="-|>", color=BLACK, lw=min(0.9, 0.2 * lane_pt),
                                    shrinkA=0, shrinkB=0, mutation_scale=arrow_scale),
                    zorder=3)
    if ongoing.any():
        handles.append(Line2D([], [], marker=">", color=BLACK, ls="-", lw=0.9,
                              label="on follow-up, no progression"))
    ax.set_xlim(-0.025 * span, span * 1.1)
    ax.set_ylim(-0.7, n - 0.3)
    if n <= _LABELLED:
        ax.set_yticks(y, table["subject"].tolist())
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"Subjects (n = {n:,})" if not len(rest) else
                      f"{n:,} of {total:,} subjects")
    ax.tick_params(axis="y", length=0)
    if len(rest):
        r = rest["end_day"].astype(float) / scale
        ax.text(0.0, -0.02 - 0.35 / max(height - 1.5, 0.5), f"Not drawn: {len(rest):,} "
                f"shorter on study\n({_num(r.min(), 1)}\u2013{_num(r.max(), 1)} {unit}, "
                f"median {_num(r.median(), 1)})", transform=ax.transAxes, ha="left", va="top")
    fig.legend(handles=handles, loc="outside lower center",
               ncols=_legend_ncols([h.get_label() for h in handles], width, 2))
    return fig


# ------------------------------------------------------------------ Kaplan-Meier


def risk_table(curve: pd.DataFrame, ticks_days) -> pd.DataFrame:
    """At each tick (days): ``at_risk`` after it, ``censored`` and ``events`` up to and
    including it, so that the three add up to the subjects in the curve (KMunicate's rows;
    the same counts as lifelines' ``add_at_risk_counts``).

    ``curve`` is the ``curve`` of :func:`casekit.series.stats.kaplan_meier` (one row per
    distinct time: ``time, events, censored``; any rows, not only from 0).
    """
    n = int(curve["events"].sum() + curve["censored"].sum())
    rows = []
    for t in ticks_days:
        upto = curve[curve["time"] <= t + 1e-9]
        events, censored = int(upto["events"].sum()), int(upto["censored"].sum())
        rows.append(dict(time=float(t), at_risk=n - events - censored, censored=censored,
                         events=events))
    return pd.DataFrame(rows, columns=["time", "at_risk", "censored", "events"])


def _fit_parts(fit) -> tuple[pd.DataFrame, float, tuple[float, float]]:
    """The curve, median and median CI of a fit dict, or of a bare curve (median read off
    it; its CI from the band the same way: Brookmeyer & Crowley 1982)."""
    if isinstance(fit, dict):
        return fit["curve"], fit.get("median", math.nan), fit.get("median_ci", (math.nan, math.nan))
    curve = fit

    def first_below(column: str) -> float:
        below = curve.loc[curve[column] <= 0.5, "time"]
        return float(below.iloc[0]) if len(below) else math.inf

    if curve.empty:
        return curve, math.nan, (math.nan, math.nan)
    return curve, first_below("survival"), (first_below("ci_low"), first_below("ci_high"))


def _months_text(value: float, scale: float) -> str:
    if math.isnan(value):
        return "\u2013"
    if math.isinf(value):
        return "NR"
    return f"{value / scale:.1f}" if scale != 1.0 else f"{value:g}"


def median_label(median: float, ci: tuple[float, float], unit: str = "months") -> str:
    """``median 5.5 (95 % CI 4.2–6.9) months``; ``not reached`` (NR) for an infinite
    median or bound."""
    scale = _unit(unit)
    if math.isnan(median):
        return "no subjects"
    if math.isinf(median):
        return f"median not reached (95 % CI {_months_text(ci[0], scale)}\u2013NR)"
    return (f"median {_months_text(median, scale)} (95 % CI {_months_text(ci[0], scale)}"
            f"\u2013{_months_text(ci[1], scale)}) {unit}")


@_styled
def kaplan_meier(curves: dict, title: str = "", xlabel: str | None = None,
                 ylabel: str = "Progression-free (%)", width: float = SINGLE_COLUMN_IN,
                 unit: str | None = None, time_from: str = "day 0",
                 panels: bool | None = None):
    """Kaplan-Meier step curves with their 95 % band, censoring ticks, the median as drop
    lines with "median (95 % CI)", and KMunicate's risk table (at risk, censored, events)
    under each plot at every time tick.

    ``curves`` maps a label (e.g. the criteria) to a fit of
    :func:`casekit.series.stats.kaplan_meier` (``curve``, ``median``, ``median_ci``, ``n``)
    or to its bare ``curve`` table. Time is in ``unit`` (months, or days) from
    ``time_from``; an explicit ``xlabel`` (the older call) means days. ``panels``: one
    panel per group; by default when the groups hold different numbers of subjects (they
    are then different populations, and one curve laid over the other would compare
    them). The risk table's counts are :func:`risk_table`'s.
    """
    for label, fit in curves.items():
        curve = fit["curve"] if isinstance(fit, dict) else fit
        _require(curve, ("time", "events", "censored", "survival", "ci_low", "ci_high"),
                 f"curve {label}")
    unit = unit or ("days" if xlabel is not None else "months")
    scale = _unit(unit)
    xlabel = xlabel or f"{unit.capitalize()} from {time_from}"
    drawn = {label: _fit_parts(fit) for label, fit in curves.items()}
    drawn = {label: parts for label, parts in drawn.items() if not parts[0].empty}
    sizes = {label: int(c["events"].sum() + c["censored"].sum())
             for label, (c, _, _) in drawn.items()}
    if panels is None:
        panels = len(set(sizes.values())) > 1
    groups = [[label] for label in drawn] if panels else [list(drawn)]
    groups = groups or [[]]
    colours = {label: LINE_COLOURS[i % len(LINE_COLOURS)] for i, label in enumerate(drawn)}
    styles = {label: ("-", "--", ":", "-.")[i % 4] for i, label in enumerate(drawn)}
    tmax = max((float(c["time"].max()) for c, _, _ in drawn.values()), default=0.0) / scale
    ticks = _time_ticks(tmax, unit)
    # heights: a plot of 1.9 in, a risk table of 3 rows per group, a legend line per group
    table_rows = [3 * len(g) for g in groups]
    heights = [1.9 + 0.13 * r + 0.5 + 0.16 * len(g) for g, r in zip(groups, table_rows)]
    fig = _new_figure(width, sum(heights) + (0.25 if title else 0))
    if title:
        fig.suptitle(title)
    subfigs = fig.subfigures(len(groups), 1, height_ratios=heights, squeeze=False)[:, 0]
    widest = max([_text_width_pt(f"{v:,}") for v in sizes.values()] or [10.0])
    for subfig, group in zip(subfigs, groups):
        ax, table_ax = subfig.subplots(
            2, 1, height_ratios=[1.9, 0.13 * max(3 * len(group), 1) + 0.12], sharex=True)
        ax.set_ylabel(ylabel)
        if not group:
            _empty_note(ax, "No subjects")
            table_ax.set_axis_off()
            continue
        handles = []
        labels_rows = []
        for label in group:
            curve, median, ci = drawn[label]
            colour, ls = colours[label], styles[label]
            time = curve["time"].astype(float) / scale
            ax.step(time, 100 * curve["survival"], where="post", color=colour, ls=ls, lw=1.1)
            ax.fill_between(time, 100 * curve["ci_low"], 100 * curve["ci_high"],
                            step="post", color=colour, alpha=0.15, lw=0)
            cens = curve[curve["censored"] > 0]
            ax.plot(cens["time"].astype(float) / scale, 100 * cens["survival"], ls="none",
                    marker="|", ms=5, mew=0.8, color=colour)
            if math.isfinite(median):
                m = median / scale
                ax.plot([0, m, m], [50, 50, 0], color=colour, lw=0.7, ls=":", zorder=1)
            name = criteria_name(label) if label else "All subjects"
            handles.append(Line2D([], [], color=colour, ls=ls,
                                  label=f"{name} (n = {sizes[label]:,}): "
                                        f"{median_label(median, ci, unit)}"))
            counts = risk_table(curve, [t * scale for t in ticks])
            prefix = f"{name}: " if len(group) > 1 else ""
            for what in ("at_risk", "censored", "events"):
                labels_rows.append((f"{prefix}{what.replace('_', ' ').capitalize()}",
                                    colour, counts[what].tolist()))
        ax.set_ylim(0, 105)
        ax.set_xlim(0, max(ticks[-1], tmax) * 1.03)
        ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: _num(v)))
        ax.tick_params(axis="x", labelbottom=True)
        ax.set_xlabel(xlabel)
        rows = len(labels_rows)
        for r, (_, colour, values) in enumerate(labels_rows):
            for t, v in zip(ticks, values):
                table_ax.text(t, rows - 1 - r, f"{v:,}", ha="center", va="center",
                              color=colour, fontsize=FONT_SIZE - 1)
        table_ax.set_ylim(-0.6, rows - 0.4)
        table_ax.set_yticks(range(rows), [text for text, _, _ in reversed(labels_rows)],
                            fontsize=FONT_SIZE - 1)
        for tick, (_, colour, _) in zip(table_ax.get_yticklabels(), reversed(labels_rows)):
            tick.set_color(colour)
        # keep the row names clear of the numbers centred on the first tick (t = 0)
        table_ax.tick_params(axis="y", length=0, pad=widest / 2 + 5)
        table_ax.tick_params(axis="x", length=0, labelbottom=False)
        for side in ("left", "bottom", "right", "top"):
            table_ax.spines[side].set_visible(False)
        subfig.legend(handles=handles, loc="outside lower center", ncols=1,
                      fontsize=FONT_SIZE - 1, handlelength=2.2)
    _freeze_layout(fig)
    return fig


def _freeze_layout(fig) -> None:
    """Lay the figure out once and fix every subfigure and axes at its position rounded to
    1e-6 of its parent. Constrained layout over subfigures solves to positions that differ in the last
    bits from one process to the next, and the SVG writer names each clip path after the
    full-precision rectangle, so the SVG would not be byte-identical run to run."""
    fig.draw_without_rendering()
    for sub in fig.subfigs:
        sub.bbox_relative.set_points(np.round(sub.bbox_relative.get_points(), 6))
    for ax in fig.get_axes():
        ax.set_position([round(v, 6) for v in ax.get_position().bounds])
    fig.set_layout_engine("none")
