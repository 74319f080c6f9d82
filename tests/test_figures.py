"""Tests for casekit.plot.figures.

All data are synthetic frames built here, with the values reported by Park & Yu,
J Liver Cancer 2022;22:69-74 (AFP 654.0 -> 588.0 -> 326.4 -> 1335.2 ng/mL,
PIVKA-II 1470 -> 7497 -> 886 -> 12573 mAU/mL) on an illustrative day axis.
"""

import itertools
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib._pylab_helpers import Gcf
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont

from casekit.plot import figures

REPO = Path(__file__).resolve().parents[1]

COURSE_ROWS = [
    ("presentation", -35, "care", "Fever; CT read as abscess", "assumed"),
    ("biopsy", -21, "procedure", "Liver biopsy: HCC", "assumed"),
    ("mri_baseline", -14, "imaging", "Baseline MRI", "assumed"),
    ("diagnosis", -7, "diagnosis", "Advanced HCC, BCLC C", "assumed"),
    ("labs_pretreatment", -1, "lab", "Tumour markers before cycle 1", "assumed"),
    ("c1", 0, "systemic", "Cycle 1 atezolizumab/bevacizumab", "reported"),
    ("tenofovir", 0, "care", "Tenofovir started", "reported"),
    ("referral", 7, "care", "Referral; baseline laboratory screening", "assumed"),
    ("tare", 16, "locoregional", "TARE, glass microspheres", "reported"),
    ("fever", 17, "adverse_event", "Fever 38.3 °C", "reported"),
    ("c2", 21, "systemic", "Cycle 2", "assumed"),
    ("liver_check", 30, "lab", "Liver function stable", "reported"),
    ("c3", 42, "systemic", "Cycle 3", "assumed"),
    ("ct_c3", 62, "imaging", "Response CT after cycle 3", "assumed"),
    ("c4", 63, "systemic", "Cycle 4", "assumed"),
    ("c5", 84, "systemic", "Cycle 5", "assumed"),
    ("c6", 105, "systemic", "Cycle 6", "assumed"),
    ("ct_c6", 125, "imaging", "Response CT after cycle 6", "assumed"),
    ("outcome", 132, "outcome", "Awaiting second-line trial", "assumed"),
]
MARKER_ROWS = [
    ("labs_pretreatment", "AFP", -1, 654.0, "ng/mL"),
    ("referral", "AFP", 7, 588.0, "ng/mL"),
    ("ct_c3", "AFP", 62, 326.4, "ng/mL"),
    ("ct_c6", "AFP", 125, 1335.2, "ng/mL"),
    ("labs_pretreatment", "PIVKA-II", -1, 1470.0, "mAU/mL"),
    ("referral", "PIVKA-II", 7, 7497.0, "mAU/mL"),
    ("ct_c3", "PIVKA-II", 62, 886.0, "mAU/mL"),
    ("ct_c6", "PIVKA-II", 125, 12573.0, "mAU/mL"),
    ("diagnosis", "HBV-DNA", -7, 236000.0, "IU/mL"),
    ("referral", "HBV-DNA", 7, 30300.0, "IU/mL"),
]

# The same frames as source text, for the scripts run in fresh interpreters.
RENDER_SCRIPT = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from casekit.plot import figures

    course = pd.DataFrame({course!r}, columns=["event_id", "day", "category", "label", "status"])
    markers = pd.DataFrame({markers!r}, columns=["event_id", "test", "day", "value", "unit"])
    figures.save(figures.timeline(course), sys.argv[1], "timeline")
    figures.save(figures.marker_trajectories(markers, course), sys.argv[1], "markers")
    """
).format(course=COURSE_ROWS, markers=MARKER_ROWS)


def course_frame(rows=COURSE_ROWS):
    return pd.DataFrame(rows, columns=["event_id", "day", "category", "label", "status"])


def marker_frame(rows=MARKER_ROWS):
    frame = pd.DataFrame(rows, columns=["event_id", "test", "day", "value", "unit"])
    return frame.assign(change_from_reference_pct=np.nan, fold_from_nadir=np.nan)


def lesion_frame():
    return pd.DataFrame(
        {
            "lesion_id": ["primary"] * 3 + ["node_cha"] * 3 + ["target sum"] * 3,
            "day": [-14, 62, 125] * 3,
            "change_pct": [0.0, -35.7, -51.4, 0.0, 0.0, 73.7, 0.0, -35.7, -51.4],
            "role": ["target"] * 3 + ["non_target"] * 3 + ["sum"] * 3,
        }
    )


def response_frame():
    return pd.DataFrame(
        {"day": [62, 125], "criteria": ["mRECIST", "mRECIST"], "overall_response": ["PR", "PD"]}
    )


def sweep_frame(lsf_pct=2.38, lung_mass_kg=1.0):
    activity = np.round(np.arange(0.0, 40.01, 0.5), 2)
    dose = 49.67 * activity * lsf_pct / 100 / lung_mass_kg
    return pd.DataFrame({"activity_gbq": activity, "lung_dose_gy": dose, "within_limit": dose <= 30})


def trials_frame():
    return pd.DataFrame(
        [
            ("IMbrave150", "atezolizumab + bevacizumab vs sorafenib", "OS", 0.58, 0.42, 0.79, None,
             "reported"),
            ("IMbrave150", "atezolizumab + bevacizumab vs sorafenib", "PFS", 0.59, 0.47, 0.76, None,
             "reported"),
            ("SARAH", "TARE vs sorafenib", "OS", 1.15, 0.94, 1.41, "resin", "reported"),
            ("SORAMIC", "TARE + sorafenib vs sorafenib", "OS", 1.01, 0.81, 1.25, "resin",
             "assumed"),
            ("GLASS-X", "TARE vs sorafenib", "OS", 0.9, 0.7, 1.2, "glass", "reported"),
        ],
        columns=["trial", "comparison", "endpoint", "estimate", "ci_low", "ci_high",
                 "microspheres", "status"],
    )


def all_figures():
    course, markers = course_frame(), marker_frame()
    return {
        "timeline": figures.timeline(course),
        "markers": figures.marker_trajectories(markers, course),
        "viral_load": figures.viral_load(markers, course=course),
        "spider": figures.spider(lesion_frame(), response_frame()),
        "lung_dose": figures.lung_dose(sweep_frame(), lsf_pct=2.38),
        "forest": figures.forest(trials_frame()),
        "timeline_single_column": figures.timeline(course, width=figures.SINGLE_COLUMN_IN),
    }


def texts(fig):
    """Every drawn, non-empty Text in the figure with its extent (pixels).

    Tick labels exist for ticks outside the view limits too; only those inside count.
    """
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    tick_labels, drawn_ticks = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_labels.update({id(tick.label1), id(tick.label2)})
                if lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    drawn_ticks += [tick.label1, tick.label2]
    candidates = [t for t in fig.findobj(mpl.text.Text) if id(t) not in tick_labels]
    found = []
    for artist in candidates + drawn_ticks:
        if artist.get_visible() and artist.get_text().strip():
            found.append((artist.get_text(), artist.get_window_extent(renderer)))
    return found


def ylabels(fig):
    return [ax.get_ylabel() for ax in fig.axes]


# ------------------------------------------------------------------ reproducibility


def _render_in_fresh_process(folder: Path, hash_seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "MPLBACKEND": "agg"}
    subprocess.run([sys.executable, "-c", RENDER_SCRIPT, str(folder)], cwd=REPO, env=env,
                   check=True, capture_output=True, timeout=300)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    first = _render_in_fresh_process(tmp_path_factory.mktemp("run1"), "1")
    second = _render_in_fresh_process(tmp_path_factory.mktemp("run2"), "2")
    return first, second


@pytest.mark.slow  # fresh processes per figure: make test-slow / CI
def test_png_and_svg_byte_identical_across_processes(two_runs):
    first, second = two_runs
    expected = {"timeline.png", "timeline.svg", "markers.png", "markers.svg"}
    assert set(first) == set(second) == expected
    for name in sorted(expected):
        assert first[name] == second[name], f"{name} differs between runs"


@pytest.mark.slow  # every figure in two fresh processes: make test-slow / CI
def test_svg_has_no_date_creator_or_run_dependent_ids(two_runs):
    first, second = two_runs
    for name in ("timeline.svg", "markers.svg"):
        one, two = first[name].decode("utf-8"), second[name].decode("utf-8")
        assert "<dc:date>" not in one and "<dc:creator>" not in one
        ids_one, ids_two = re.findall(r'id="([^"]+)"', one), re.findall(r'id="([^"]+)"', two)
        assert ids_one and ids_one == ids_two


@pytest.mark.slow  # every figure in two fresh processes: make test-slow / CI
def test_png_has_no_software_stamp(two_runs):
    first, _ = two_runs
    for name in ("timeline.png", "markers.png"):
        assert first[name].startswith(b"\x89PNG")
        assert b"Software" not in first[name]


def test_saved_png_is_150_dpi_at_column_width(tmp_path):
    png, _ = figures.save(figures.viral_load(marker_frame()), tmp_path, "viral_load")
    data = png.read_bytes()
    width = int.from_bytes(data[16:20], "big")
    assert width == round(figures.SINGLE_COLUMN_IN * figures.DPI)


def test_house_font_is_matplotlibs_bundled_dejavu_sans():
    with figures.style():
        path = findfont(FontProperties(family=mpl.rcParams["font.family"]))
    assert Path(path).name == "DejaVuSans.ttf"
    assert Path(path).is_relative_to(mpl.get_data_path())


# ------------------------------------------------------------------ save


def test_save_writes_png_and_svg_and_no_part_files(tmp_path):
    fig = figures.marker_trajectories(marker_frame())
    png, svg = figures.save(fig, tmp_path / "out", "markers")
    assert (png, svg) == (tmp_path / "out" / "markers.png", tmp_path / "out" / "markers.svg")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["markers.png", "markers.svg"]
    assert not list(tmp_path.rglob("*.part"))


def test_save_twice_in_one_process_is_identical(tmp_path):
    fig = figures.timeline(course_frame())
    first = [p.read_bytes() for p in figures.save(fig, tmp_path / "a", "timeline")]
    second = [p.read_bytes() for p in figures.save(fig, tmp_path / "b", "timeline")]
    assert first == second


@pytest.mark.parametrize("name", ["", "a/b", "markers.png", "x.svg"])
def test_save_rejects_names_that_are_not_stems(tmp_path, name):
    with pytest.raises(ValueError):
        figures.save(figures.viral_load(marker_frame()), tmp_path, name)


# ------------------------------------------------------------------ no global state


def test_figures_leave_rcparams_and_pyplot_alone():
    before = dict(mpl.rcParams)
    figs = all_figures()
    assert dict(mpl.rcParams) == before
    assert Gcf.get_num_fig_managers() == 0
    for fig in figs.values():
        assert isinstance(fig, Figure)
        assert re.fullmatch(r"<Figure size \d+x\d+ with \d+ Axes>", repr(fig))


def test_repr_is_stable_between_calls():
    assert repr(figures.timeline(course_frame())) == repr(figures.timeline(course_frame()))


def test_palette_is_okabe_ito():
    assert figures.OKABE_ITO == ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442",
                                 "#0072B2", "#D55E00", "#CC79A7")
    assert set(figures.LINE_COLOURS) <= set(figures.OKABE_ITO)


# ------------------------------------------------------------------ readability


@pytest.mark.parametrize("name", ["timeline", "markers", "viral_load", "spider", "lung_dose",
                                  "forest", "timeline_single_column"])
def test_text_does_not_overlap_and_stays_inside(name):
    fig = all_figures()[name]
    found = texts(fig)
    page = fig.bbox
    for text, box in found:
        assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1, f"{text!r} leaves the figure"
        assert box.y0 >= page.y0 - 1 and box.y1 <= page.y1 + 1, f"{text!r} leaves the figure"
    for (a, box_a), (b, box_b) in itertools.combinations(found, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"


@pytest.mark.parametrize("name", ["timeline", "markers", "viral_load", "spider", "lung_dose",
                                  "forest"])
def test_every_axis_is_labelled_and_fonts_are_8_to_9_pt(name):
    fig = all_figures()[name]
    for ax in fig.axes:
        assert ax.get_xlabel() or ax.get_shared_x_axes().get_siblings(ax) != [ax]
        assert ax.get_ylabel()
    sizes = {t.get_fontsize() for t in fig.findobj(mpl.text.Text) if t.get_text().strip()}
    assert sizes and min(sizes) >= 8 and max(sizes) <= 9


# ------------------------------------------------------------------ timeline


def test_timeline_lanes_numbers_and_key():
    fig = figures.timeline(course_frame())
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Study day"
    lanes = [t.get_text() for t in ax.get_yticklabels()]
    assert lanes[-1] == "Diagnosis" and "Systemic therapy" in lanes and len(lanes) == 9
    drawn = [t.get_text() for t in fig.findobj(mpl.text.Text)]
    assert any(t.startswith("Day \u2248132: Awaiting") for t in drawn)
    assert any(t.startswith("Day 16: TARE") for t in drawn)  # reported: no ≈
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["reported timing", "assumed timing (\u2248 day)"]


def test_timeline_assumed_markers_are_hollow_and_dashed():
    fig = figures.timeline(course_frame())
    collections = [c for c in fig.axes[0].collections if len(c.get_offsets())]
    hollow = [c for c in collections if tuple(c.get_facecolor()[0]) == (1.0, 1.0, 1.0, 1.0)]
    filled = [c for c in collections if c not in hollow]
    assert hollow and filled
    assert all(c.get_linestyle()[0][1] is not None for c in hollow)  # dashed
    assert all(c.get_linestyle()[0][1] is None for c in filled)  # solid


def test_timeline_with_only_reported_events():
    course = course_frame()
    fig = figures.timeline(course[course["status"] == "reported"], day_label="Days from dose 1")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Days from dose 1"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["reported timing"]


def test_timeline_derived_timing_has_its_own_legend_entry():
    rows = [("a", 0, "systemic", "A", "reported"), ("b", 9, "lab", "B", "derived")]
    legend = figures.timeline(course_frame(rows)).axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["reported timing", "derived timing"]


def test_timeline_empty_course():
    fig = figures.timeline(course_frame([]))
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_xlabel() == "Study day"


def test_timeline_same_day_same_lane_shares_one_label():
    rows = [("a", 5, "lab", "A", "reported"), ("b", 5, "lab", "B", "assumed")]
    fig = figures.timeline(course_frame(rows), width=figures.SINGLE_COLUMN_IN)
    drawn = [t.get_text() for t in fig.axes[0].texts]
    assert "1,2" in drawn


def test_timeline_missing_column_is_a_clear_error():
    with pytest.raises(ValueError, match="status"):
        figures.timeline(course_frame().drop(columns="status"))


# ------------------------------------------------------------------ markers


def test_marker_trajectories_panels_units_and_value_labels():
    fig = figures.marker_trajectories(marker_frame(), course_frame())
    assert ylabels(fig) == ["AFP (ng/mL)", "PIVKA-II (mAU/mL)"]
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    assert fig.axes[-1].get_xlabel() == "Study day"
    values = [t.get_text() for ax in fig.axes for t in ax.texts]
    for text in ("654.0", "588.0", "326.4", "1,335.2", "1,470", "7,497", "886", "12,573"):
        assert text in values
    assert "TARE" in values  # locoregional line labelled once, on the top panel
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["systemic cycle", "locoregional", "imaging"]


def test_marker_trajectories_test_with_one_value_and_missing_test():
    markers = marker_frame()
    one = pd.concat([markers[markers["test"] == "AFP"].head(1)])
    fig = figures.marker_trajectories(one, tests=("AFP", "PIVKA-II"))
    assert ylabels(fig) == ["AFP (ng/mL)"]
    assert [t.get_text() for t in fig.axes[0].texts] == ["654"]  # fewest decimals that are exact


def test_marker_trajectories_no_values_and_empty_course():
    empty = marker_frame([])
    fig = figures.marker_trajectories(empty, course=course_frame([]))
    assert len(fig.axes) == 1 and fig.axes[0].get_xlabel() == "Study day"
    fig = figures.marker_trajectories(marker_frame(), course=course_frame([]))
    assert ylabels(fig) == ["AFP (ng/mL)", "PIVKA-II (mAU/mL)"]
    assert not fig.legends


def test_marker_trajectories_drops_non_positive_values_with_a_note():
    rows = [("a", "HBV-DNA", 0, 2000.0, "IU/mL"), ("b", "HBV-DNA", 30, 0.0, "IU/mL")]
    fig = figures.viral_load(marker_frame(rows))
    notes = [t.get_text() for t in fig.axes[0].texts]
    assert "1 value(s) \u2264 0 not shown" in notes


def test_marker_trajectories_rejects_mixed_units():
    rows = [("a", "AFP", 0, 10.0, "ng/mL"), ("b", "AFP", 5, 10.0, "IU/mL")]
    with pytest.raises(ValueError, match="more than one unit"):
        figures.marker_trajectories(marker_frame(rows))


def test_viral_load_log_axis_in_iu_per_ml():
    fig = figures.viral_load(marker_frame())
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert "IU/mL" in ax.get_ylabel()
    assert {"236,000", "30,300"} <= {t.get_text() for t in ax.texts}


# ------------------------------------------------------------------ spider


def test_spider_thresholds_target_sum_and_responses():
    fig = figures.spider(lesion_frame(), response_frame())
    (ax,) = fig.axes
    assert ax.get_ylabel() == "Change from baseline (%)"
    guides = [line for line in ax.lines if len(set(line.get_ydata())) == 1]
    levels = {line.get_ydata()[0] for line in guides if line.get_linestyle() == "--"}
    assert levels == {-30.0, 20.0}
    drawn = {t.get_text() for t in ax.texts}
    # one criteria: the calls alone at the top, the criteria in the title
    assert {"PR \u221230 %", "PD +20 %", "PR", "PD"} <= drawn
    assert ax.get_title(loc="left") == "Lesion size by mRECIST"


def test_spider_names_the_criteria_it_was_given():
    recist = response_frame().assign(criteria="RECIST1.1")
    ax = figures.spider(lesion_frame(), recist).axes[0]
    assert ax.get_title(loc="left") == "Lesion size by RECIST 1.1"
    assert "mRECIST" not in {t.get_text() for t in ax.texts}
    both = pd.concat([recist, response_frame()])
    drawn = {t.get_text() for t in figures.spider(lesion_frame(), both).axes[0].texts}
    assert "RECIST 1.1: PR\nmRECIST: PR" in drawn


def test_spider_non_targets_dashed_and_labelled_and_targets_above_the_sum():
    fig = figures.spider(lesion_frame(), response_frame())
    (ax,) = fig.axes
    by_label = {line.get_label(): line for line in ax.lines}
    node, primary, total = (by_label["node_cha (non-target)"], by_label["primary"],
                            by_label["sum of targets"])
    assert node.get_linestyle() == "--" and primary.get_linestyle() == "-"
    assert node.get_markerfacecolor() == "white"
    # the single target's line coincides with the sum: it must be drawn over it, thinner
    assert primary.get_zorder() > total.get_zorder()
    assert total.get_linewidth() > primary.get_linewidth()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["primary", "node_cha (non-target)", "sum of targets"]


def test_spider_threshold_labels_sit_in_the_margin_beside_their_line():
    fig = figures.spider(lesion_frame(), response_frame())
    (ax,) = fig.axes
    fig.canvas.draw()
    for text in (t for t in ax.texts if t.get_text().startswith(("PR ", "PD "))):
        x, y = text.get_position()
        assert x > 1.0  # right of the axes: no assessment guide line crosses it
        assert text.get_verticalalignment() == "center"
        assert y in (-30.0, 20.0)


def test_spider_without_response_or_rows():
    assert figures.spider(lesion_frame()).axes[0].get_ylabel() == "Change from baseline (%)"
    empty = lesion_frame().iloc[0:0]
    assert isinstance(figures.spider(empty), Figure)


# ------------------------------------------------------------------ lung dose


def test_lung_dose_limit_maximum_and_lsf():
    fig = figures.lung_dose(sweep_frame(), limit_gy=30.0, lsf_pct=2.38)
    (ax,) = fig.axes
    assert ax.get_ylabel() == "Lung dose (Gy)" and ax.get_xlabel() == "Administered activity (GBq)"
    assert "LSF 2.38 %" in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "limit 30 Gy" in legend
    assert "max. activity 25.0 GBq" in legend  # 30 / (49.67 * 0.0238) = 25.4 -> 25.0 on a 0.5 grid


def test_lung_dose_without_any_activity_within_limit():
    sweep = sweep_frame().assign(within_limit=False)
    fig = figures.lung_dose(sweep)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert not any(t.startswith("max.") for t in legend)


# ------------------------------------------------------------------ forest


def test_forest_rows_text_and_markers():
    fig = figures.forest(trials_frame())
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert "Hazard ratio" in ax.get_xlabel()
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0] == "IMbrave150 OS: atezolizumab + bevacizumab vs sorafenib"  # first row on top
    drawn = {t.get_text() for t in ax.texts}
    assert "0.58 (0.42\u20130.79)" in drawn and "1.15 (0.94\u20131.41)" in drawn
    assert any(line.get_xdata()[0] == 1.0 for line in ax.lines)  # HR 1 reference line
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["resin microspheres (TARE)",
                      "resin microspheres (TARE), HR not given in the case report",
                      "glass microspheres (TARE)", "no microspheres (systemic only)"]


def test_forest_legend_symbols_are_the_plotted_symbols():
    fig = figures.forest(trials_frame())
    ax = fig.axes[0]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    # the legend is made of the very containers that drew the points (marker, fill, colour
    # and error bar), one per drawn group: no stand-in symbol such as a grey circle
    assert legend == [c.get_label() for c in ax.containers]
    hollow = next(c for c in ax.containers if "not given" in c.get_label()).lines[0]
    assert hollow.get_marker() == "s" and hollow.get_markerfacecolor() == "white"
    assert mpl.colors.to_hex(hollow.get_color()) == figures.BLUE.lower()


def test_forest_without_status_column():
    fig = figures.forest(trials_frame().drop(columns="status"))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert not any("not given" in t for t in legend)


def test_forest_of_systemic_trials_only_names_no_microspheres():
    rows = trials_frame()
    systemic = rows[rows["microspheres"].isna()].assign(status=["reported", "assumed"])
    fig = figures.forest(systemic)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["HR stated in the case report", "HR not given in the case report"]
    assert not figures.forest(systemic.assign(status="reported")).legends
