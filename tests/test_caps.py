"""Big cases stay readable (issue 20 item 4): the caps on the timeline, the other figures and
the report's tables, each on a small synthetic course or table worked out by hand. The caps
engage only beyond what the seed case has (21 events, a few lesions and values): its
figures and notebooks are checked byte for byte elsewhere (test_figures, nbval)."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib as mpl
import pandas as pd
from matplotlib.collections import PolyCollection

from casekit.case import load_case
from casekit.case import timeline as T
from casekit.plot import figures
from casekit.run import report

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from big_case import write_big_case  # noqa: E402

COLUMNS = ["event_id", "day", "category", "label", "status"]


def course(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


# Nine events. Systemic on days 0-3 is a dense run of 4 (gaps of 1 day <= 28); day 40 is
# 37 days after day 3, so it stands alone. Imaging on days 10, 20, 30 is a dense run of 3
# (gaps of 10). The lab event on day 5 is alone in its category.
NINE = course([
    ("s0", 0, "systemic", "Dose 0", "reported"),
    ("s1", 1, "systemic", "Dose 1", "reported"),
    ("s2", 2, "systemic", "Dose 2", "assumed"),
    ("s3", 3, "systemic", "Dose 3", "reported"),
    ("lab", 5, "lab", "Blood count", "reported"),
    ("i1", 10, "imaging", "CT 1", "derived"),
    ("i2", 20, "imaging", "CT 2", "reported"),
    ("i3", 30, "imaging", "CT 3", "derived"),
    ("s40", 40, "systemic", "Dose 40", "reported"),
])


def as_tuples(items):
    return sorted(tuple(r) for r in items[["day", "end_day", "category", "label", "status",
                                            "events"]].itertuples(index=False))


def test_a_course_within_the_cap_is_drawn_event_by_event():
    items = T.timeline_items(NINE, max_items=9)
    assert len(items) == 9 and (items["events"] == 1).all()
    assert (items["end_day"] == items["day"]).all()


def test_dense_treatment_events_become_one_span_first():
    # 9 > 8: the systemic run of days 0-3 becomes one span (4 events, least certain status
    # "assumed" because of dose 2); 1 span + day 40 + 3 scans + 1 lab = 6 items <= 8, so the
    # scans stay single.
    items = T.timeline_items(NINE, max_items=8)
    assert as_tuples(items) == [
        (0, 3, "systemic", "4 events, from Dose 0 to Dose 3", "assumed", 4),
        (5, 5, "lab", "Blood count", "reported", 1),
        (10, 10, "imaging", "CT 1", "derived", 1),
        (20, 20, "imaging", "CT 2", "reported", 1),
        (30, 30, "imaging", "CT 3", "derived", 1),
        (40, 40, "systemic", "Dose 40", "reported", 1),
    ]


def test_other_dense_runs_follow_when_the_course_is_still_too_long():
    # 6 items after the treatments > 5: the three scans (10 days apart) become a span too,
    # "derived" (the least certain of derived and reported); the lone lab event stays.
    items = T.timeline_items(NINE, max_items=5)
    assert as_tuples(items) == [
        (0, 3, "systemic", "4 events, from Dose 0 to Dose 3", "assumed", 4),
        (5, 5, "lab", "Blood count", "reported", 1),
        (10, 30, "imaging", "3 events, from CT 1 to CT 3", "derived", 3),
        (40, 40, "systemic", "Dose 40", "reported", 1),
    ]


def test_runs_of_fewer_than_three_or_further_apart_than_28_days_stay_events():
    rows = course([("a", 0, "systemic", "A", "reported"), ("b", 28, "systemic", "B", "reported"),
                   ("c", 57, "systemic", "C", "reported"), ("d", 85, "systemic", "D", "reported")])
    # gaps 28, 29, 28: runs {a, b} and {c, d}, two events each: nothing to aggregate
    assert (T.timeline_items(rows, max_items=1)["events"] == 1).all()


def test_timeline_note_says_what_was_aggregated():
    assert figures.timeline_note(NINE, max_items=9) == ""
    assert figures.timeline_note(NINE, max_items=5) == (
        "Of its 9 events, dense runs (events of one kind at most 28 days apart) are drawn as "
        "bars: 4 systemic therapy events (days 0 to 3) and 3 imaging events (days 10 to 30). "
        "The course table lists every event.")


def test_timeline_draws_spans_as_bars_with_a_legend_entry_and_lists_them_once():
    fig = figures.timeline(NINE, max_items=5)
    ax = fig.axes[0]
    bars = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bars) == 2  # the systemic and the imaging span
    assert "span of aggregated events" in [t.get_text() for t in ax.get_legend().get_texts()]
    drawn = [t.get_text() for t in fig.findobj(mpl.text.Text)]
    assert "Days \u22480 to 3: 4 events, from Dose 0 to Dose 3" in drawn
    assert "Days 10 to 30: 3 events, from CT 1 to CT 3" in drawn  # derived: no ≈
    assert [t for t in ax.texts if t.get_text() in ("1", "2", "3", "4")]  # 4 items numbered


def _sparse(n: int, label: str = "Scan") -> pd.DataFrame:
    """``n`` scans 40 days apart: never a dense run, so nothing can be aggregated."""
    return course([(f"e{k}", 40 * k, "imaging", f"{label} {k}", "reported") for k in range(n)])


def test_timeline_key_lists_at_most_max_items_and_counts_the_rest():
    fig = figures.timeline(_sparse(200))
    drawn = [t.get_text() for t in fig.findobj(mpl.text.Text)]
    numbers = [t for t in drawn if t.isdigit()]
    assert "60" in numbers and "61" not in numbers
    assert ("140 more not numbered or listed here; the course table lists every event"
            in [" ".join(t.split()) for t in drawn])
    assert figures.timeline_note(_sparse(200)) == (
        "Only the first 60 of 200 events and spans are numbered and listed in the key. "
        "The course table lists every event.")


def test_timeline_height_is_bounded_however_long_the_course_and_its_labels():
    short = figures.timeline(_sparse(200)).get_size_inches()[1]
    long_labels = figures.timeline(_sparse(300, "word " * 30)).get_size_inches()[1]
    # 60 entries of at most 3 lines and the 2-line count of the rest: 182 lines in 2
    # columns balanced by lines, so the longer column holds at most 91 + one entry (3) = 94
    # lines of 10.5 pt; then the margins (8 pt) and one lane (0.3 in) with its axis (0.85)
    bound = (94 * 10.5 + 8) / 72 + 0.3 + 0.85
    assert short < long_labels <= bound + 0.01
    assert long_labels * figures.DPI < 10_000
    clipped = [t.get_text() for t in figures.timeline(_sparse(70, "word " * 30))
               .findobj(mpl.text.Text) if t.get_text().startswith("Day 0:")]
    assert len(clipped) == 1 and clipped[0].count("\n") == 2 and clipped[0].endswith("\u2026")


def test_timeline_lanes_are_capped_with_an_other_lane():
    rows = course([(f"e{k}", k * 40, f"kind_{k:02d}", f"Event {k}", "reported")
                   for k in range(14)])
    fig = figures.timeline(rows)
    lanes = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(lanes) == figures.MAX_LANES == 11
    assert lanes[0] == "Other"  # the bottom lane
    assert "The categories kind_10, kind_11, kind_12, kind_13 share the lane" in \
        figures.timeline_note(rows, max_items=13)


# ------------------------------------------------------------------ markers, spider, forest


def _markers(values, test="AFP", unit="ng/mL"):
    return pd.DataFrame({"test": test, "day": [7 * k for k in range(len(values))],
                         "value": values, "unit": unit})


def _value_texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_a_long_series_labels_only_its_first_last_lowest_and_highest_value():
    # 13 values > 12: 50 first, 20 lowest (index 4), 90 highest (index 9), 60 last
    values = [50, 40, 30, 25, 20, 30, 40, 60, 80, 90, 85, 70, 60]
    fig = figures.marker_trajectories(_markers(values), tests=("AFP",))
    assert sorted(_value_texts(fig)) == ["20", "50", "60", "90"]
    assert fig.axes[0].lines[0].get_marker() == "o"  # 13 points keep their markers
    # 12 values: every one labelled, as for the seed
    assert len(_value_texts(figures.marker_trajectories(_markers(values[:12]),
                                                        tests=("AFP",)))) == 12
    many = figures.marker_trajectories(_markers([100.0] * 61), tests=("AFP",))
    assert many.axes[0].lines[0].get_marker() == "None"  # 61 points: a plain line
    assert figures.series_note(_markers(values), ["AFP"]) == (
        "AFP has more than 12 values: only the first, last, lowest and highest are labelled.")
    assert figures.series_note(_markers(values[:12]), ["AFP"]) == ""


def test_dense_treatments_and_scans_on_marker_panels_become_bars():
    # 61 daily doses (days 0-60) > 60 overlay events: one systemic span; a single scan
    course = pd.DataFrame(
        [(f"d{k}", k, "systemic", f"Dose {k}", "reported") for k in range(61)]
        + [("ct", 30, "imaging", "CT", "reported")], columns=COLUMNS)
    fig = figures.marker_trajectories(_markers([10, 20]), course, tests=("AFP",))
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_facecolor()[:3] == mpl.colors.to_rgb(figures.BLUE)]
    assert len(bars) == 1
    assert [line.get_linestyle() for line in ax.lines[1:]] == [":"]  # the one scan, dotted
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["imaging", "systemic cycles, dense run"]
    assert figures.series_note(_markers([10, 20]), ["AFP"], course) == (
        "Of the 62 treatments and scans, dense runs (events of one kind at most 28 days apart) "
        "are drawn as bars: 61 systemic therapy events (days 0 to 60).")


def _changes(n_lesions, n_scans=3):
    """``n_lesions`` lesions (the first two targets) and the target sum at ``n_scans`` scans."""
    rows = [(f"L{j}", 10 * k, float(-k), "target" if j < 2 else "non_target")
            for j in range(n_lesions) for k in range(n_scans)]
    rows += [("target sum", 10 * k, float(-k), "sum") for k in range(n_scans)]
    return pd.DataFrame(rows, columns=["lesion_id", "day", "change_pct", "role"])


def test_spider_names_at_most_nine_lesions_targets_first_and_counts_the_rest():
    # 12 lesions, the non-targets first and reversed (L11 ... L2), the two targets last:
    # the targets are still named first, then the first 7 others as they come (L11 ... L5)
    changes = _changes(12)
    changes = pd.concat([changes[changes["role"] != "target"].iloc[::-1],
                         changes[changes["role"] == "target"]], ignore_index=True)
    fig = figures.spider(changes)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:9] == ["L0", "L1"] + [f"L{j} (non-target)" for j in range(11, 4, -1)]
    assert legend[-2:] == ["3 more lesions, not named", "sum of targets"]
    assert len(figures.spider(_changes(9)).legends[0].get_texts()) == 9 + 1  # no cap
    lesions = pd.DataFrame({"event_id": ["ct"] * 10, "lesion_id": [f"L{j}" for j in range(10)],
                            "size_cm": ["1.0"] * 10})
    assert figures.spider_note(lesions) == (
        "The case measures 10 lesions: at most 9 are named (targets first), the others are "
        "thin grey lines counted in the legend.")
    assert figures.spider_note(lesions.head(9)) == ""


def test_spider_of_many_assessments_labels_those_where_the_call_changes():
    # 20 scans: SD at 1-9, PR at 10-19: labelled: baseline (day 0), SD (day 10), PR (day 100)
    response = pd.DataFrame({"day": [10 * k for k in range(20)], "criteria": "RECIST1.1",
                             "overall_response": [""] + ["SD"] * 9 + ["PR"] * 10})
    fig = figures.spider(_changes(2, 20), response)
    above = [t.get_text() for t in fig.axes[0].texts if t.get_text() in
             ("baseline", "SD", "PR")]
    assert above == ["baseline", "SD", "PR"]
    assert len(figures.spider(_changes(2, 12), response.head(12)).axes[0].texts) == 2 + 12


def test_forest_draws_at_most_40_rows_and_says_so():
    hrs = pd.DataFrame({"trial": [f"T{k}" for k in range(45)], "comparison": "A vs B",
                        "endpoint": "OS", "estimate": 0.8, "ci_low": 0.6, "ci_high": 1.1,
                        "microspheres": None})
    fig = figures.forest(hrs)
    assert len(fig.axes[0].get_yticks()) == 40
    assert fig._suptitle.get_text() == ("First 40 of 45 hazard ratios shown; the trials "
                                        "table lists every one")
    assert figures.forest_note(hrs) == "Only the first 40 of 45 hazard ratios are drawn."
    assert figures.forest_note(hrs.head(40)) == ""
    assert figures.forest(hrs.head(40))._suptitle is None


# ------------------------------------------------------------------ report


def test_the_big_case_generator_writes_a_valid_case_at_any_scale(tmp_path):
    # 30 events: c1, 5 scans, 5 marker draws, the end and 18 daily doses; 5 x 6 lesion rows
    case = load_case(write_big_case(tmp_path / "small", events=30, scans=5, lesions_per_scan=6))
    assert len(case.timeline) == 30 and len(case.lesions) == 30 and len(case.labs) == 10
    assert set(case.timeline["status"]) == set(case.lesions["status"]) == {"assumed"}
    assert case.timeline["day"].max() == 19  # the end, the day after dose 18


def test_report_caps_the_assumptions_and_says_where_the_rest_are(tmp_path):
    # 4 facts + 30 events + 10 lab rows + 30 lesion rows = 74 assumed values > 60
    folder = write_big_case(tmp_path / "small", events=30, scans=5, lesions_per_scan=6)
    page = report.render_report(load_case(folder), tmp_path / "out")
    section = page[page.index('id="assumptions"'):]
    assert section.count("<tr>") == 1 + 60  # the header and the first 60 values
    assert ("First 60 of 74 assumed values; 14 more not shown. The case folder marks each "
            "with the status &ldquo;assumed&rdquo;: 4 in facts.csv, 30 in timeline.csv, 10 in "
            "labs.csv, 30 in lesions.csv.") in section


def _response(calls):
    """A response.csv of one criterion: (scan, day, call, authors' call) per row."""
    return pd.DataFrame(
        [{"event_id": e, "day": str(d), "criteria": "RECIST1.1", "overall_response": c,
          "target_response": c, "non_target_response": "", "new_lesions": "no",
          "change_from_baseline_pct": "-40.0", "change_from_nadir_pct": "0.0",
          "reported_response": r} for e, d, c, r in calls])


def test_key_findings_of_many_scans_list_those_where_a_call_changes():
    # 20 scans: PR at 1-9, SD at 10-14, PR again at 15-19; the authors called scan 12.
    # Listed: scan 1 (the first), 10 (PR -> SD), 12 (authors), 15 (SD -> PR) = 4 of 20;
    # the other 16 repeat the call of the scan before.
    calls = [(f"s{k}", 7 * k, "PR" if k < 10 or k >= 15 else "SD", "SD" if k == 12 else "")
             for k in range(1, 21)]
    lines = report._response_findings(_response(calls), ["RECIST1.1"])
    assert [line.split(" (day")[0] for line in lines[:-1]] == ["<li>s1", "<li>s10", "<li>s12",
                                                              "<li>s15"]
    assert lines[-1] == ("<li>Not listed: 16 scans whose calls are those of the scan before; "
                         'every call is in the response table (<a href="tables/response.csv">'
                         "tables/response.csv</a>).</li>")
    # within the cap every scan is listed, as before
    assert len(report._response_findings(_response(calls[:15]), ["RECIST1.1"])) == 15


def test_key_findings_cap_scans_even_when_every_call_changes():
    calls = [(f"s{k}", 7 * k, "PR" if k % 2 else "SD", "") for k in range(1, 41)]
    lines = report._response_findings(_response(calls), ["RECIST1.1"])
    assert len(lines) == 15 + 1
    assert lines[-1].startswith("<li>Not listed: 25 more scans where a call changes (only "
                                "the first 15 are listed); every call")


def test_timeline_caption_in_the_report_says_what_was_aggregated(tmp_path):
    # 70 events > 60: the 58 daily doses (days 1-58) and c1 (day 0) are one systemic run
    folder = write_big_case(tmp_path / "small", events=70, scans=5, lesions_per_scan=5)
    caption = report.figure_caption("timeline", load_case(folder))
    assert caption.endswith(
        "Of its 70 events, dense runs (events of one kind at most 28 days apart) are drawn "
        "as bars: 59 systemic therapy events (days 0 to 58). The course table lists every "
        "event.")
    assert report.figure_note("timeline", load_case(Path(report.__file__).resolve()
                                                    .parents[2] / "data" / "jlc2022")) == ""


def test_captions_of_a_big_case_say_what_the_figures_leave_out(tmp_path):
    # 13 scans (> 12 assessments), 10 lesions (> 9 named), AFP at 13 draws (> 12 labels)
    case = load_case(write_big_case(tmp_path / "c", events=40, scans=13, lesions_per_scan=10))
    markers = report.figure_caption("markers", case)
    assert "each value labelled" not in markers
    assert markers.endswith("AFP and PIVKA-II have more than 12 values: only the first, last, "
                            "lowest and highest are labelled.")
    spider = report.figure_caption("spider", case)
    assert "the calls at each scan are written above it" not in spider
    assert spider.endswith("The case measures 10 lesions: at most 9 are named (targets "
                           "first), the others are thin grey lines counted in the legend. Of "
                           "its 13 assessments, calls are written above the first and those "
                           "where they change (at most 12).")
    seed = load_case(Path(report.__file__).resolve().parents[2] / "data" / "jlc2022")
    assert "each value labelled" in report.figure_caption("markers", seed)
    assert "the calls at each scan" in report.figure_caption("spider", seed)


def test_day_ticks_have_thousands_separators_like_the_key():
    # A course of 8,000 days: the key wrote "Day ≈7,999" under an axis that read "8000".
    long = course([("a", 0, "systemic", "Start", "reported"),
                   ("b", 8000, "imaging", "Last CT", "reported"),
                   ("c", -12, "imaging", "Baseline CT", "reported")])
    fig = figures.timeline(long)
    fig.canvas.draw()
    ax = fig.axes[0]
    shown = {t.get_text() for t in ax.get_xticklabels() if t.get_visible()}
    assert {"0", "2,000", "8,000"} <= shown
    assert not any("," not in t and len(t.lstrip("\u2212")) > 3 for t in shown)


def test_counts_in_words_have_thousands_separators():
    # The big case's report read "All 112004 values of this case are assumed".
    from casekit.case.overview import plural

    assert plural(112004, "value") == "112,004 values" and plural(1, "scan") == "1 scan"
    assert report.outcome_summary(["outcome"], [["reproduced"]] * 1200, "claims") == \
        "1,200 claims: 1,200 reproduced"
