"""The series figures drawn to the conventions of oncology papers (issue 19), tested on their
data: the Kaplan-Meier risk table against lifelines and by hand, medians as drop lines,
panels for different populations, the waterfall's bars and caps, the swimmer's lanes; no
label outside its figure; findings and captions computed from the tables.

The synthetic five-subject series (casekit/series/synthetic.py; every call worked out by
hand in tests/test_series.py): PFS A progression day 84, C progression day 42, B and D
censored day 126, E censored day 84; responders A (day 42, PD day 84), D (day 42,
censored day 126), E (day 42, censored day 84); C died on day 60.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection

from casekit import series
from casekit.plot import series as sf
from casekit.series import findings, stats, synthetic

REPO = Path(__file__).resolve().parents[1]
MONTH = 365.25 / 12


@pytest.fixture(scope="module")
def five(tmp_path_factory) -> series.SeriesTables:
    root = tmp_path_factory.mktemp("five")
    for key in "ABCDE":
        synthetic.write_case(root / key, key, key)
    return series.load(None, [str(root / k) for k in "ABCDE"])


def _inside(fig) -> None:
    """Nothing drawn outside the figure: the tight box of every artist (labels, legends,
    titles, annotations) lies within the canvas, to half a pixel."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.get_tightbbox(renderer)  # inches
    width, height = fig.get_size_inches()
    tol = 0.5 / fig.dpi
    assert box.x0 >= -tol and box.y0 >= -tol, (box, fig.get_size_inches())
    assert box.x1 <= width + tol and box.y1 <= height + tol, (box, fig.get_size_inches())
    ticks = {id(label) for ax in fig.get_axes() for axis in (ax.xaxis, ax.yaxis)
             for tick in axis.get_major_ticks() + axis.get_minor_ticks()
             for label in (tick.label1, tick.label2)}  # drawn only in view: in the box above
    for text in fig.findobj(lambda a: hasattr(a, "get_text") and a.get_visible()
                            and str(a.get_text()).strip()):
        if id(text) in ticks:
            continue
        extent = text.get_window_extent(renderer)
        assert extent.x0 >= -0.5 and extent.x1 <= width * fig.dpi + 0.5, text.get_text()
        assert extent.y0 >= -0.5 and extent.y1 <= height * fig.dpi + 0.5, text.get_text()


def _legible(fig) -> None:
    """One column wide (3.5 in = 525 px), so a 420 px phone shows it at >= 0.76 x: 8 pt text
    (16.7 px at 150 dpi) stays >= 12 px; no text below 7 pt."""
    assert fig.get_size_inches()[0] <= 3.5 + 1e-9
    sizes = [t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize")
                                                    and hasattr(a, "get_text")
                                                    and str(a.get_text()).strip())]
    assert sizes and min(sizes) >= 7


# ------------------------------------------------------------------ Kaplan-Meier


def test_risk_table_by_hand(five):
    pfs = five["endpoints"].query("endpoint == 'PFS'")
    curve = stats.kaplan_meier(pfs["time_days"], pfs["event"])["curve"]
    counts = sf.risk_table(curve, [0, 42, 84, 126]).set_index("time")
    # day 0: all 5 at risk; day 42: C's event -> 4; day 84: A's event and E censored -> 2;
    # day 126: B and D censored -> 0. The three rows add up to 5 at every tick.
    assert counts["at_risk"].tolist() == [5, 4, 2, 0]
    assert counts["events"].tolist() == [0, 1, 2, 2]
    assert counts["censored"].tolist() == [0, 0, 1, 3]


@pytest.mark.parametrize("times, events", [
    ([0, 0, 3, 5, 5, 9, 12, 12, 20, 31], [0, 0, 1, 1, 0, 1, 0, 1, 1, 0]),
    ([10, 40, 41, 80, 200], [1, 1, 0, 1, 0]),
])
def test_risk_table_equals_lifelines_counts(times, events):
    # lifelines' event_table, read as its add_at_risk_counts reads it (lifelines 0.30
    # plotting.py: at risk = at_risk - removed at the last time <= the tick; censored and
    # events summed up to the tick). That function itself fails under this numpy, so the
    # same reading is done here on the fitter's own table.
    from lifelines import KaplanMeierFitter

    ticks = [0.0, 5.0, 12.0, 25.0]
    table = KaplanMeierFitter().fit(times, events).event_table
    theirs = []
    for tick in ticks:
        upto = table.loc[:tick]
        theirs.append([int(upto["at_risk"].iloc[-1] - upto["removed"].iloc[-1]),
                       int(upto["censored"].sum()), int(upto["observed"].sum())])
    curve = stats.kaplan_meier(times, events)["curve"]
    ours = sf.risk_table(curve, ticks)[["at_risk", "censored", "events"]].values.tolist()
    assert ours == theirs


def test_km_figure_draws_the_risk_table_and_the_median(five):
    fits = stats.km_fits(five["endpoints"], "PFS")
    fig = sf.kaplan_meier(fits, title="PFS")
    _inside(fig)
    _legible(fig)
    ax, table_ax = fig.subfigs[0].axes
    # ticks in months; the risk table holds at risk / censored / events at each tick
    ticks = list(ax.get_xticks())
    want = sf.risk_table(fits["RECIST1.1"]["curve"], [t * MONTH for t in ticks])
    written = {}
    for text in table_ax.texts:
        written.setdefault(round(text.get_position()[1]), []).append(int(text.get_text()))
    assert written[2] == want["at_risk"].tolist()
    assert written[1] == want["censored"].tolist()
    assert written[0] == want["events"].tolist()
    assert [t.get_text() for t in table_ax.get_yticklabels()] == ["Events", "Censored",
                                                                 "At risk"]
    # median not reached: no drop line; the legend says so with the CI
    legend = fig.subfigs[0].legends[0].get_texts()[0].get_text()
    assert legend.startswith("RECIST 1.1 (n = 5): median not reached (95 % CI")


def test_km_median_drop_lines_in_months():
    # 5 events at days 30, 60, 90, 120, 150: S = 0.8, 0.6, 0.4 ... -> median day 90
    fit = stats.kaplan_meier([30, 60, 90, 120, 150], [1, 1, 1, 1, 1])
    assert fit["median"] == 90
    fig = sf.kaplan_meier({"RECIST1.1": fit})
    ax = fig.subfigs[0].axes[0]
    drops = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert len(drops) == 1
    x, y = drops[0].get_data()
    assert list(y) == [50, 50, 0] and x[1] == pytest.approx(90 / MONTH)  # 2.96 months
    assert "median 3.0 (95 % CI" in fig.subfigs[0].legends[0].get_texts()[0].get_text()
    assert ax.get_xlabel() == "Months from day 0"
    days = sf.kaplan_meier({"RECIST1.1": fit}, unit="days")
    assert days.subfigs[0].axes[0].get_xlabel() == "Days from day 0"


def test_different_populations_get_panels_of_their_own():
    a = stats.kaplan_meier([30, 60, 90, 120], [1, 0, 1, 0])
    b = stats.kaplan_meier([30, 60], [1, 0])
    fig = sf.kaplan_meier({"RECIST1.1": a, "iRECIST": b})
    assert len(fig.subfigs) == 2  # 4 vs 2 subjects: two panels
    _inside(fig)
    same = sf.kaplan_meier({"RECIST1.1": a, "mRECIST": a})
    assert len(same.subfigs) == 1  # the same subjects: one plot, rows per group
    labels = [t.get_text() for t in same.subfigs[0].axes[1].get_yticklabels()]
    assert labels[-1] == "RECIST 1.1: At risk" and labels[0] == "mRECIST: Events"


# ------------------------------------------------------------------ waterfall


def test_waterfall_caps_extreme_bars_and_writes_their_value():
    table = pd.DataFrame({"subject": ["a", "b", "c"], "best_change_pct": [250.0, 10.0, -40.0],
                          "bor": ["PD", "SD", "PR"], "pd_despite_shrinkage": [False] * 3})
    fig = sf.waterfall(table)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [100.0, 10.0, -40.0]  # capped at +100 %
    assert "250" in [t.get_text() for t in ax.texts]
    _inside(fig)
    _legible(fig)


def test_waterfall_of_a_long_series_caps_in_one_label():
    n = 254
    values = np.linspace(320, -100, n).round(1)
    table = pd.DataFrame({"subject": [f"S{i}" for i in range(n)], "best_change_pct": values,
                          "bor": ["PD"] * 60 + ["SD"] * 100 + ["PR"] * 94,
                          "pd_despite_shrinkage": [False] * 200 + [True] * 54})
    fig = sf.waterfall(table)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == np.minimum(values, 100).tolist()
    capped = int((values > 100).sum())
    assert any(t.get_text().startswith(f"\u2190 {capped} bars capped at +100 %")
               for t in ax.texts)
    _inside(fig)
    _legible(fig)


def test_waterfall_caption_counts_the_bars_and_the_rest(five):
    text = findings.waterfall_caption(five, "RECIST1.1")
    assert "5 of the 5 subjects assessed under RECIST 1.1." in text
    assert "up to and including the first progression" in text


# ------------------------------------------------------------------ swimmer


def test_swimmer_table_by_hand(five):
    lanes = stats.swimmer_table(five["subjects"], five["endpoints"], "RECIST1.1",
                                five["response"]).set_index("subject")
    # response segments: A 42 -> 84 (its PD), D 42 -> 126, E 42 -> 84 (censored)
    assert lanes["response_end_day"].dropna().to_dict() == {"A": 84, "D": 126, "E": 84}
    assert lanes["progression_day"].dropna().to_dict() == {"A": 84, "C": 42}
    assert lanes["death_day"].dropna().to_dict() == {"C": 60}
    assert not lanes["no_follow_up"].any() and lanes["iupd_day"].isna().all()


def _scatter_points(ax, marker_colour):
    out = []
    for c in ax.collections:
        if isinstance(c, PathCollection) and len(c.get_offsets()):
            colours = c.get_facecolors() if len(c.get_facecolors()) else c.get_edgecolors()
            if np.allclose(colours[0][:3], marker_colour):
                out += [tuple(p) for p in c.get_offsets()]
    return out


def test_swimmer_draws_one_first_pd_death_apart_and_no_follow_up():
    from matplotlib.colors import to_rgb

    table = pd.DataFrame({
        "subject": ["a", "b", "c", "d"], "end_day": [300, 200, 100, 0],
        "response_day": [60, pd.NA, pd.NA, pd.NA], "response_end_day": [180, pd.NA, pd.NA, pd.NA],
        "progression_day": [180, 90, pd.NA, pd.NA], "iupd_day": pd.NA,
        "censored_day": [pd.NA, pd.NA, pd.NA, pd.NA], "death_day": [pd.NA, pd.NA, 100, pd.NA],
        "no_follow_up": [False, False, False, True], "ongoing": [False, False, False, False]})
    fig = sf.swimmer(table, unit="days")
    ax = fig.axes[0]
    pd_marks = _scatter_points(ax, to_rgb(sf.VERMILLION))
    assert sorted(pd_marks) == [(90.0, 2.0), (180.0, 3.0)]  # one per subject, its first
    death = _scatter_points(ax, to_rgb(sf.BLACK))
    assert (100.0, 1.0) in death  # c's death, a filled square, not a censoring tick
    hollow = [c for c in ax.collections if isinstance(c, PathCollection)
              and len(c.get_facecolors()) == 0]
    assert [tuple(p) for p in hollow[0].get_offsets()] == [(0.0, 0.0)]  # d: no follow-up
    segment = [p for p in ax.patches if p.get_height() == pytest.approx(0.35)]
    assert [(p.get_x(), p.get_width()) for p in segment] == [(60.0, 120.0)]  # a's response
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "no follow-up scan" in texts and "death" in texts
    _inside(fig)


def test_swimmer_of_a_very_long_series_shows_the_longest_and_says_so():
    n = 350
    table = pd.DataFrame({"subject": [f"S{i:03d}" for i in range(n)],
                          "end_day": np.arange(n, 0, -1) * 2, "response_day": pd.NA,
                          "progression_day": pd.NA, "censored_day": pd.NA, "death_day": pd.NA,
                          "ongoing": False})
    fig = sf.swimmer(table, unit="days")
    ax = fig.axes[0]
    assert len(ax.patches) == sf.SWIMMER_MAX_LANES
    note = [t.get_text() for t in ax.texts if t.get_text().startswith("Not drawn")]
    # lanes 301..350 end on days 100, 98, ..., 2: range 2-100, median 51
    assert note == ["Not drawn: 50 shorter on study\n(2.0\u2013100.0 days, median 51.0)"]
    _inside(fig)


# ------------------------------------------------------------------ every figure


def test_no_figure_of_the_series_draws_outside_itself(five):
    t = five
    figs = [sf.waterfall(stats.waterfall_table(t["best_change"], t["bor"], "RECIST1.1"),
                         title="RECIST 1.1"),
            sf.spider(stats.spider_table(t["response"], t["bor"], "RECIST1.1")),
            sf.swimmer(stats.swimmer_table(t["subjects"], t["endpoints"], "RECIST1.1",
                                           t["response"])),
            sf.kaplan_meier(stats.km_fits(t["endpoints"], "OS"), ylabel="Alive (%)"),
            sf.kaplan_meier(stats.km_fits(t["endpoints"], "DOR"), time_from="first response",
                            ylabel="Still responding (%)")]
    for fig in figs:
        _inside(fig)
        _legible(fig)


def test_figures_are_byte_identical(five, tmp_path):
    from casekit.plot import figures

    fits = stats.km_fits(five["endpoints"], "PFS")
    a = figures.save(sf.kaplan_meier(fits), tmp_path / "a", "km")
    b = figures.save(sf.kaplan_meier(fits), tmp_path / "b", "km")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


# ------------------------------------------------------------------ findings


def test_findings_by_hand(five):
    said = {f.heading: f.lines for f in findings.findings(five)}
    assert said["Subjects"][0] == "5 subjects analysed; no case folder left out."
    # ORR 3/5, CI 14.7-94.7 %; confirmed 2/5, CI 5.3-85.3 %; DCR 4/5, CI 28.4-99.5 %
    # (the hand-worked Clopper-Pearson values of tests/test_series.py)
    rates = said["Response (best overall response, exact 95 % CI)"][0]
    assert rates.startswith("RECIST 1.1 (n = 5): ORR 60.0 % (3/5; 95 % CI 14.7\u201394.7 %), "
                            "confirmed 40.0 % (2/5; 95 % CI 5.3\u201385.3 %); DCR 80.0 % (4/5; "
                            "95 % CI 28.4\u201399.5 %)")
    times = said["Time to event (Kaplan-Meier median, 95 % CI)"]
    # PFS: S = 0.6 at its lowest, median not reached; 2 events (A, C) in 5
    assert times[0].startswith("PFS (progression-free survival), RECIST 1.1: median not "
                               "reached") and times[0].endswith("2 events in 5 subjects.")


def test_concordance_finding_per_criteria_and_evaluator():
    visits = pd.DataFrame({
        "subject": ["s1", "s1", "s2", "s2", "s2"], "evaluator": ["INVESTIGATOR"] * 5,
        "criteria": ["RECIST1.1"] * 4 + ["iRECIST"], "event_id": ["v1", "v2", "v1", "v2", "v1"],
        "day": [40, 80, 40, 80, 40], "recorded": ["PR", "PD", "SD", "SD", "iUPD"],
        "computed": ["PR", "PD", "SD", "PD", "iSD"], "agree": [True, True, True, False, False],
        "rule": ["", "", "", "pd_from_baseline", "unexplained: x"],
        "all_rules_call": ["PR", "PD", "SD", "SD", ""]})
    tables = {"concordance": visits}
    lines = findings._concordance(tables).lines
    # RECIST 1.1: 3 of 4 agree = 75.0 %; iRECIST: 0 of 1
    assert lines[0].startswith("RECIST 1.1, investigator: 3 of 4 recorded visit calls "
                               "(75.0 %) agree")
    assert lines[0].endswith("of the 1 that differ, 1 are explained by a named recording rule.")
    assert lines[1].startswith("iRECIST, investigator: 0 of 1 recorded visit calls (0.0 %)")
    assert lines[1].endswith("0 are explained by a named recording rule and 1 are not.")


def test_median_label_formats():
    assert sf.median_label(90.0, (60.0, math.inf)) == \
        "median 3.0 (95 % CI 2.0\u2013NR) months"
    assert sf.median_label(math.inf, (45.0, math.inf)) == \
        "median not reached (95 % CI 1.5\u2013NR)"


def test_swimmer_under_irecist_marks_iupd_and_the_confirmed_icpd():
    # one iRECIST subject: iUPD on day 41, iCPD on day 86 (PFS dates the event back to
    # day 41, Seymour 2017); the lane shows the iUPD at 41 and the progression at 86.
    subjects = pd.DataFrame({"subject": ["s"], "last_day": [169], "death_day": pd.array(
        [pd.NA], dtype="Int64")})
    endpoints = pd.DataFrame({"subject": ["s"], "criteria": ["iRECIST"], "endpoint": ["PFS"],
                              "event": [True], "time_days": [41], "start_day": [0],
                              "end_day": [41], "end_event_id": ["w6"], "rule": [""],
                              "end_reason": ["progression"]})
    response = pd.DataFrame({"subject": ["s"] * 4, "criteria": ["iRECIST"] * 4,
                             "day": [0, 41, 86, 126],
                             "overall_response": ["", "iUPD", "iCPD", "iCPD"]})
    lane = stats.swimmer_table(subjects, endpoints, "iRECIST", response).iloc[0]
    assert (lane["iupd_day"], lane["progression_day"]) == (41, 86)
    fig = sf.swimmer(stats.swimmer_table(subjects, endpoints, "iRECIST", response))
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "first iUPD (unconfirmed)" in texts and "first progression" in texts


def test_risk_table_names_do_not_run_into_the_numbers():
    # a 254-subject group: "At risk" beside "254" centred on tick 0 (they once read
    # "RECIST1.1254")
    fit = stats.kaplan_meier(list(range(1, 255)), [1] * 254)
    fig = sf.kaplan_meier({"RECIST1.1": fit})
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    table_ax = fig.subfigs[0].axes[1]
    names = max(t.get_window_extent(renderer).x1 for t in table_ax.get_yticklabels())
    numbers = min(t.get_window_extent(renderer).x0 for t in table_ax.texts)
    assert names < numbers


def test_long_tables_are_capped_with_a_link_to_their_csv(tmp_path):
    import re

    from casekit.series.analyse import CaseAnalysis
    from casekit.series.report import render_series_report
    from casekit.series.run import SeriesResult
    from casekit.series.tables import combine

    bad = [CaseAnalysis(f"bad{i:02d}", f"x/bad{i:02d}", "invalid",
                        problems=[f"x/bad{i:02d}/facts.csv:2:1: no value"]) for i in range(70)]
    combine(bad).write(tmp_path / "tables")
    text = render_series_report(tmp_path, SeriesResult(tmp_path, analyses=bad))
    bodies = re.findall(r"<tbody>(.*?)</tbody>", text, re.S)
    assert bodies and max(b.count("<tr>") for b in bodies) == 60
    assert "First 60 of 70 rows; 10 more not shown." in text
    assert 'href="tables/excluded.csv"' in text and 'href="tables/problems.csv"' in text
    # the findings say how many were left out and why
    assert "0 subjects analysed; 70 left out (70 invalid)" in text


def test_km_layout_is_frozen_at_rounded_positions():
    # Constrained layout over subfigures ends in positions that differ in their last bits
    # from one process to another, and the SVG names its clip paths after them: the figure
    # is laid out once and every position rounded, so no layout runs again at save time.
    fits = {"RECIST1.1": stats.kaplan_meier([30, 60, 90, 120], [1, 0, 1, 0]),
            "iRECIST": stats.kaplan_meier([30, 60], [1, 0])}
    fig = sf.kaplan_meier(fits)
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    assert not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    for sub in fig.subfigs:
        points = sub.bbox_relative.get_points()
        assert (np.round(points, 6) == points).all()
    for ax in fig.get_axes():
        bounds = np.array(ax.get_position().bounds)
        assert (np.round(bounds, 6) == bounds).all()
    _inside(fig)


@pytest.mark.slow
def test_km_svg_is_byte_identical_across_processes(tmp_path):
    import subprocess
    import sys

    code = ("import sys\nfrom casekit.series import load, stats\n"
            "from casekit.plot import series as sf, figures\n"
            f"t = load(None, [{str(REPO / 'data' / 'jlc2022')!r}, "
            f"{str(REPO / 'data' / 'demo-synthetic')!r}])\n"
            "figures.save(sf.kaplan_meier(stats.km_fits(t['endpoints'], 'PFS')), "
            "sys.argv[1], 'km')\n")
    outs = []
    for i in range(4):  # the layout's last bits varied in about one process of four
        subprocess.run([sys.executable, "-c", code, str(tmp_path / str(i))], check=True)
        outs.append((tmp_path / str(i) / "km.svg").read_bytes())
    assert len(set(outs)) == 1
