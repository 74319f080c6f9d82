"""The case series (issue 13), in-process: statistics worked by hand, the series tables of a
SYNTHETIC five-subject series whose every call is worked out by hand, the figures' data, and
the command line's bad-input paths. The Dask runs are in test_series_cluster.py (slow).

The synthetic courses (casekit/series/synthetic.py), RECIST 1.1, two targets, sums in cm,
scans on days -7 (baseline), 42, 84, 126:
  A 8.0 -> 5.0 (-37.5 % PR) -> 6.5 (+1.5 cm = +30 % over the nadir 5.0: PD)
  B 8.0 -> 7.6 (-5 %) -> 7.8 (-2.5 %) -> 7.2 (-10 %): SD throughout
  C 8.0 -> 10.0 (+25 %, +2.0 cm: PD); died on day 60
  D 8.0 -> 4.0 (-50 % PR) -> 0 (CR) -> 0 (CR, 42 days later: confirmed)
  E 8.0 -> 5.6 (-30.0 % exactly: PR) -> 5.2 (-35 %: PR, 42 days later: confirmed)
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from casekit import series
from casekit.plot import series as series_figures
from casekit.rules.endpoints import endpoints
from casekit import cli
from casekit.series import stats, synthetic
from casekit.series.analyse import analyse_case
from casekit.series.run import SeriesInputError, find_cases, run_series

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def five(tmp_path_factory) -> tuple[Path, series.SeriesTables]:
    root = tmp_path_factory.mktemp("five")
    for key in "ABCDE":
        synthetic.write_case(root / key, key, key)
    return root, series.load(None, [str(root / k) for k in "ABCDE"])


# ------------------------------------------------------------------ exact CIs


def _binomial_tail(x: int, n: int, p: float) -> float:
    """P(X >= x) for X ~ Binomial(n, p), by the sum of terms (independent of scipy)."""
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(x, n + 1))


def test_clopper_pearson_closed_forms():
    # x = 1, n = 2: lower solves 1 - (1 - p)^2 = 0.025 -> p = 1 - sqrt(0.975) = 0.012579;
    # upper solves p^2 = 0.975 -> p = sqrt(0.975) = 0.987421.
    lo, hi = stats.clopper_pearson(1, 2)
    assert lo == pytest.approx(1 - math.sqrt(0.975), abs=1e-9)
    assert hi == pytest.approx(math.sqrt(0.975), abs=1e-9)
    # x = 0, n = 5: lower 0, upper solves (1 - p)^5 = 0.025 -> 1 - 0.025^(1/5) = 0.521823.
    assert stats.clopper_pearson(0, 5) == pytest.approx((0.0, 1 - 0.025 ** 0.2), abs=1e-9)
    # x = n = 2: upper 1, lower solves p^2 = 0.025 -> sqrt(0.025) = 0.158114.
    assert stats.clopper_pearson(2, 2) == pytest.approx((math.sqrt(0.025), 1.0), abs=1e-9)
    assert all(math.isnan(v) for v in stats.clopper_pearson(0, 0))


def test_clopper_pearson_three_of_five_solves_the_binomial_tails():
    # The interval's defining equations: P(X >= 3 | p_low) = 0.025, P(X <= 3 | p_high) = 0.025
    # (Clopper & Pearson 1934); tabulated: 3/5 -> 14.66 % to 94.73 %.
    lo, hi = stats.clopper_pearson(3, 5)
    assert _binomial_tail(3, 5, lo) == pytest.approx(0.025, abs=1e-9)
    assert 1 - _binomial_tail(4, 5, hi) == pytest.approx(0.025, abs=1e-9)
    assert (round(lo, 4), round(hi, 4)) == (0.1466, 0.9473)


# ------------------------------------------------------------------ Kaplan-Meier


def test_kaplan_meier_median_worked_by_hand():
    # times 1..5, events at 1, 3, 4 (2 and 5 censored): S(1) = 4/5 = 0.8; S(3) = 0.8 x 2/3
    # = 0.5333; S(4) = 0.5333 x 1/2 = 0.2667 <= 0.5 first -> median 4.
    fit = stats.kaplan_meier([1, 2, 3, 4, 5], [1, 0, 1, 1, 0])
    assert fit["median"] == 4
    curve = fit["curve"].set_index("time")
    assert curve.loc[[1.0, 3.0, 4.0], "survival"].tolist() == [0.8, 0.5333, 0.2667]
    assert curve.loc[[1.0, 2.0, 3.0], "at_risk"].tolist() == [5, 4, 3]


def test_kaplan_meier_median_ci_from_the_log_log_band():
    # times 2, 4, 6, 8, 10, all events: S = 0.8, 0.6, 0.4, 0.2, 0 -> median 6.
    # Band at t = 2 (Greenwood sum 1/(5*4) = 0.05): se of log(-log S) = sqrt(0.05)/-ln 0.8
    # = 0.2236/0.2231 = 1.0021, lower = 0.8^exp(1.96 x 1.0021) = 0.8^7.129 = 0.204 <= 0.5,
    # so the CI's lower end is day 2. At t = 8 the sum is 0.05 + 1/12 + 1/6 + 1/2 = 0.8,
    # se = sqrt(0.8)/ln 5 = 0.5557, upper = 0.2^exp(-1.96 x 0.5557) = 0.2^0.3365 = 0.582
    # > 0.5, so the upper end is the last time, day 10.
    fit = stats.kaplan_meier([2, 4, 6, 8, 10], [1, 1, 1, 1, 1])
    assert fit["median"] == 6
    assert fit["median_ci"] == (2.0, 10.0)
    assert fit["curve"].set_index("time").loc[2.0, "ci_low"] == pytest.approx(0.2038, abs=1e-4)


def test_at_risk_counts_times_at_or_after_each_tick():
    # times 1..5: at day 0 all 5, at day 3 the subjects with 3, 4, 5, at day 5 one.
    assert stats.at_risk([1, 2, 3, 4, 5], [0, 3, 5, 6]) == [5, 3, 1, 0]


# ------------------------------------------------------------------ placeholder endpoints


def _assessed(calls: list[tuple[str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame([dict(event_id=e, criteria="RECIST1.1", day=d, overall_response=r)
                         for e, d, r in calls])


def test_endpoints_placeholder_on_unambiguous_courses():
    # PR at day 42, PD at day 84: PFS event 84, TTR 42, DOR 84 - 42 = 42.
    out = endpoints(_assessed([("b", -7, ""), ("s1", 42, "PR"), ("s2", 84, "PD")]))
    got = {r.endpoint: (r.event, r.time_days, r.end_event_id) for r in out.itertuples()}
    assert got == {"PFS": (True, 84, "s2"), "TTR": (True, 42, "s1"), "DOR": (True, 42, "s2"),
                   "OS": (False, 0, "")}  # no vital status stated: OS censored at the start
    # SD then NE: censored at the last adequate assessment (day 42), no DOR.
    out = endpoints(_assessed([("b", -7, ""), ("s1", 42, "SD"), ("s2", 84, "NE")]))
    got = {r.endpoint: (r.event, r.time_days) for r in out.itertuples()}
    assert got == {"PFS": (False, 42), "TTR": (False, 42), "OS": (False, 0)}
    assert list(out.columns) == ["criteria", "endpoint", "event", "time_days", "start_day",
                                 "end_day", "end_event_id", "rule", "end_reason"]


# ------------------------------------------------------------------ the synthetic series


def test_best_overall_response_per_subject(five):
    _, tables = five
    bor = tables["bor"].pivot(index="subject", columns="confirmed", values="bor")
    assert bor[False].to_dict() == {"A": "PR", "B": "SD", "C": "PD", "D": "CR", "E": "PR"}
    # Confirmed: A's PR is followed by PD (not confirmed -> SD); D's CR and E's PR are
    # confirmed 42 >= 28 days later.
    assert bor[True].to_dict() == {"A": "SD", "B": "SD", "C": "PD", "D": "CR", "E": "PR"}


def test_response_rates_with_exact_cis(five):
    _, tables = five
    rates = stats.response_rates(tables["bor"]).set_index(["confirmed", "rate"])
    # Unconfirmed ORR: A, D, E = 3/5 = 60.0 % (14.7-94.7 %); DCR: all but C = 4/5 = 80.0 %,
    # CI 28.4-99.5 % (tabulated Clopper-Pearson for 4/5: 0.2836-0.9949).
    assert rates.loc[(False, "ORR"), ["subjects", "n", "percent", "ci_low_pct",
                                      "ci_high_pct"]].tolist() == [3, 5, 60.0, 14.7, 94.7]
    assert rates.loc[(False, "DCR"), ["subjects", "percent", "ci_low_pct",
                                      "ci_high_pct"]].tolist() == [4, 80.0, 28.4, 99.5]
    # Confirmed ORR: D, E = 2/5 = 40.0 %, CI 5.3-85.3 % (the mirror image of 3/5).
    assert rates.loc[(True, "ORR"), ["subjects", "percent", "ci_low_pct",
                                     "ci_high_pct"]].tolist() == [2, 40.0, 5.3, 85.3]


def test_waterfall_bars_equal_the_best_changes(five):
    _, tables = five
    table = stats.waterfall_table(tables["best_change"], tables["bor"], "RECIST1.1")
    # Best changes: A -37.5, B -10.0, C +25.0, D -100.0, E -35.0; largest first.
    assert table["subject"].tolist() == ["C", "B", "E", "A", "D"]
    assert table["best_change_pct"].tolist() == [25.0, -10.0, -35.0, -37.5, -100.0]
    fig = series_figures.waterfall(table)
    bars = [p.get_height() for p in fig.axes[0].patches]
    assert bars == table["best_change_pct"].tolist()


def test_pfs_kaplan_meier_of_the_series(five):
    _, tables = five
    pfs = tables["endpoints"].query("endpoint == 'PFS'").set_index("subject")
    # A PD day 84, C PD day 42; B and D censored at day 126, E at day 84.
    assert pfs["time_days"].to_dict() == {"A": 84, "B": 126, "C": 42, "D": 126, "E": 84}
    assert pfs["event"].to_dict() == {"A": True, "B": False, "C": True, "D": False, "E": False}
    fit = stats.kaplan_meier(pfs["time_days"], pfs["event"])
    # Day 42: 5 at risk, 1 event -> 0.8; day 84: 4 at risk, 1 event -> 0.8 x 3/4 = 0.6;
    # never <= 0.5: median not reached.
    curve = fit["curve"].set_index("time")
    assert curve.loc[[42.0, 84.0, 126.0], "survival"].tolist() == [0.8, 0.6, 0.6]
    assert math.isinf(fit["median"])
    summary = stats.endpoint_summary(tables["endpoints"]).set_index("endpoint")
    assert summary.loc["PFS", ["subjects", "events", "median_days"]].tolist() == [
        5, 2, "not reached"]
    # DOR, responders A, D, E: A 42 days (event), D 84 and E 42 (censored): S = 2/3 after
    # day 42, median not reached.
    assert summary.loc["DOR", ["subjects", "events", "median_days"]].tolist() == [
        3, 1, "not reached"]


def test_swimmer_lanes(five):
    _, tables = five
    lanes = stats.swimmer_table(tables["subjects"], tables["endpoints"], "RECIST1.1")
    # End of follow-up: 7 days after the last scan (B, D: 133; A, E: 91); C died on day 60.
    assert lanes["subject"].tolist() == ["B", "D", "A", "E", "C"]
    assert lanes["end_day"].tolist() == [133, 133, 91, 91, 60]
    by = lanes.set_index("subject")
    assert by["ongoing"].to_dict() == {"A": False, "B": True, "C": False, "D": True,
                                       "E": True}
    assert by.loc["C", "death_day"] == 60 and by.loc["A", "progression_day"] == 84
    assert by.loc["D", "response_day"] == 42 and by.loc["B", "censored_day"] == 126


def test_spider_has_one_line_per_subject_from_zero(five):
    _, tables = five
    table = stats.spider_table(tables["response"], tables["bor"], "RECIST1.1")
    firsts = table.groupby("subject")["change_pct"].first()
    assert (firsts == 0.0).all() and len(firsts) == 5
    assert table.loc[table["subject"] == "A", "change_pct"].tolist() == [0.0, -37.5, -18.8]
    assert len(series_figures.spider(table).axes[0].get_lines()) == 5 + 3  # + 0/-30/+20


def test_tables_read_back_identical(five, tmp_path):
    _, tables = five
    tables.write(tmp_path)
    again = series.SeriesTables.read(tmp_path)
    for name in tables.frames:
        pd.testing.assert_frame_equal(again[name], tables[name])


# ------------------------------------------------------------------ bad cases


def test_invalid_case_is_listed_with_its_problems(tmp_path):
    good = synthetic.write_case(tmp_path / "good", "good", "B")
    bad = synthetic.write_case(tmp_path / "bad", "bad", "B")
    text = (bad / "lesions.csv").read_text(encoding="utf-8").replace(",4.6,", ",4,6,", 1)
    (bad / "lesions.csv").write_text(text, encoding="utf-8")
    tables = series.load(None, [str(good), str(bad)])
    assert tables["subjects"]["subject"].tolist() == ["good"]
    assert tables["excluded"][["subject", "status"]].values.tolist() == [["bad", "invalid"]]
    assert tables["problems"]["problem"].str.contains("lesions.csv:").all()


def test_a_failing_case_is_reported_not_raised(tmp_path, monkeypatch):
    from casekit.series import analyse

    case = synthetic.write_case(tmp_path / "odd", "odd", "A")

    def broken(*args, **kwargs):  # a rule's assumption that this case breaks
        raise ValueError("no baseline\nscan")

    monkeypatch.setattr(analyse, "_analyse", broken)
    result = analyse_case(case)
    assert (result.status, result.error) == ("failed", "ValueError: no baseline scan")


def test_an_unknown_criteria_fact_leaves_the_case_out_as_invalid(tmp_path):
    """It used to pass validation and fail the analysis (issue 20: validate checks it)."""
    case = synthetic.write_case(tmp_path / "odd", "odd", "A")
    with open(case / "facts.csv", "a", encoding="utf-8") as handle:
        handle.write(f"criteria,WHO,,assumed,{synthetic.WHY}\n")  # not a known criteria
    result = analyse_case(case)
    assert result.status == "invalid"
    assert ["'WHO' is not a response criteria" in p for p in result.problems] == [True]


def test_series_folder_lists_subfolders_without_csv(tmp_path):
    synthetic.write_case(tmp_path / "x", "x", "A")
    (tmp_path / "notes").mkdir()
    lines = []
    assert find_cases(series=str(tmp_path), echo=lines.append) == [("x", tmp_path / "x")]
    assert lines == [f"note: 1 sub-folder(s) of {tmp_path} hold no CSV file and are not "
                     "cases: notes"]


def test_two_folders_with_one_name_are_refused(tmp_path):
    with pytest.raises(SeriesInputError, match="two case folders are named 'a'"):
        find_cases([str(tmp_path / "1" / "a"), str(tmp_path / "2" / "a")])


@pytest.mark.parametrize("argv, message", [
    (["--cases", "data/jlc2022", "-p", "nope", "1"], "unknown series parameter(s) nope"),
    (["--cases", "data/jlc2022", "--jobs", "0"], "--jobs must be at least 1"),
    (["--cases", "data/jlc2022", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"],
     "--jobs sizes the local cluster"),
    (["--series", "does-not-exist"], "does-not-exist: not a folder"),
    (["--series", "data/jlc2022"], "is itself a case folder"),
    (["--sdtm", "does-not-exist"], "does-not-exist: SDTM folder not found"),
])
def test_bad_input_exits_2_with_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code = cli.main(["series", *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_run_series_refuses_unknown_parameters_before_any_work(tmp_path):
    with pytest.raises(SeriesInputError):
        run_series(cases=["data/jlc2022"], out_dir=tmp_path, parameters={"x": 1})
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------ the series notebooks

SERIES_NOTEBOOKS = sorted((REPO / "notebooks" / "series").glob("*.ipynb"))


def test_series_collection_is_stored_executed_and_stripped():
    import json

    from papermill.translators import PythonTranslator

    from casekit.series.run import PARAMETERS, series_notebooks

    assert [p.name for p in series_notebooks()] == [p.name for p in SERIES_NOTEBOOKS]
    assert len(SERIES_NOTEBOOKS) == 3
    for path in SERIES_NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert "papermill" not in nb["metadata"]
        cells = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        assert len(cells) == 1
        names = {p.name for p in PythonTranslator.inspect(
            {**cells[0], "source": "".join(cells[0]["source"])})}
        # What the runner passes (cases, tables_dir, out_dir and every -p parameter).
        assert names == {"cases", "tables_dir", "out_dir", *PARAMETERS}, path.name
        for cell in nb["cells"]:
            assert "execution" not in cell["metadata"]
            if cell["cell_type"] == "code":
                assert cell["execution_count"] is not None
                assert not any(o["output_type"] == "error" for o in cell["outputs"])


def test_no_reported_number_is_typed_into_a_series_notebook():
    from test_notebooks import _reported_numbers

    numbers = _reported_numbers()
    for path in SERIES_NOTEBOOKS:
        import json
        import re

        text = "\n".join("".join(c["source"])
                         for c in json.loads(path.read_text(encoding="utf-8"))["cells"])
        typed = sorted(n for n in numbers if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w.])",
                                                        text))
        assert not typed, f"{path.name} types reported numbers {typed}"


def test_series_html_is_self_contained(five, tmp_path):
    from casekit.plot import figures
    from casekit.series.report import render_series_report
    from casekit.series.run import SeriesResult
    from casekit.series.tables import combine

    root, _ = five
    bad = analyse_case(tmp_path / "bad", "bad")
    bad.problems = ["x/bad/facts.csv:1:1: <no>"]
    analyses = [analyse_case(root / k, k) for k in "ABCDE"] + [bad]
    combine(analyses).write(tmp_path / "tables")
    fig = series_figures.waterfall(pd.DataFrame({"subject": ["a"], "best_change_pct": [-40.0],
                                                 "bor": ["PR"]}))
    figures.save(fig, tmp_path / "figures", "series_waterfall")
    result = SeriesResult(tmp_path, analyses=analyses)
    text = render_series_report(tmp_path, result)
    assert text == render_series_report(tmp_path, result)  # deterministic
    assert 'src="data:image/png;base64,' in text and "<script" not in text
    assert "http://" not in text and "https://" not in text
    assert "&lt;no&gt;" in text and "<no>" not in text  # autoescaped
    assert "Figure series_spider: not produced for this series." in text


def test_the_mixed_hand_curated_series():
    tables = series.load(None, [str(REPO / "data" / "jlc2022"),
                                str(REPO / "data" / "demo-synthetic")])
    best = tables["best_change"].query("criteria == 'RECIST1.1'").set_index("subject")
    # demo: 10.0 -> 6.5 cm = -35.0 % (its README); seed: primary 14 -> 6.8 cm, the only
    # target, (6.8 - 14) / 14 = -51.43 -> -51.4 %.
    assert best["best_change_pct"].to_dict() == {"demo-synthetic": -35.0, "jlc2022": -51.4}
    bor = tables["bor"].query("criteria == 'RECIST1.1' and confirmed").set_index("subject")
    # demo: PR at ct1 followed by SD: not confirmed -> SD; seed: PR after cycle 3 and again
    # 63 days later after cycle 6 (>= 28): confirmed PR.
    assert bor["bor"].to_dict() == {"demo-synthetic": "SD", "jlc2022": "PR"}
    pfs = tables["endpoints"].query("criteria == 'RECIST1.1' and endpoint == 'PFS'")
    # demo: PD at ct3 (day 126); seed: no RECIST 1.1 progression, censored at day 125.
    assert pfs.set_index("subject")[["event", "time_days"]].values.tolist() == [
        [True, 126], [False, 125]]


def test_swimmer_markers_fit_their_lane_in_a_long_series():
    # 200 lanes: past 40 subjects a lane is 0.05 in = 3.6 pt tall (about 7 px at 150 dpi,
    # readable), and a marker may be 90 % of that, an area of (0.9 x 3.6)^2 = 10.50 pt^2
    # (full-size markers, 22-30 pt^2, would run into the neighbouring subjects' lanes, as
    # they did on the SDTM series).
    from matplotlib.collections import PathCollection

    from casekit.plot.series import swimmer

    n = 200
    table = pd.DataFrame({"subject": [f"S{i:03d}" for i in range(n)], "end_day": 100,
                          "response_day": 40, "progression_day": pd.NA, "censored_day": 100,
                          "death_day": pd.NA, "ongoing": True})
    fig = swimmer(table)
    sizes = [s for c in fig.axes[0].collections if isinstance(c, PathCollection)
             for s in c.get_sizes()]
    assert sizes and max(sizes) <= 10.5
    # a short series keeps the full-size markers: 0.16 in a lane = 11.5 pt, cap 107 pt^2
    small = swimmer(table.head(2))
    sizes = sorted({s for c in small.axes[0].collections if isinstance(c, PathCollection)
                    for s in c.get_sizes()})
    assert sizes == [22, 30]


@pytest.mark.slow  # runs the series notebooks
def test_a_case_path_with_a_semicolon_does_not_break_the_series_notebooks(tmp_path):
    # issue 19: paths were joined with ';' for the notebooks; they now read the tables only
    import shutil

    from casekit.series.run import run_series

    odd = tmp_path / "a;b"
    shutil.copytree(REPO / "data" / "demo-synthetic", odd)
    result = run_series(cases=[str(odd)], out_dir=tmp_path / "out", jobs=1, echo=lambda _: None)
    assert result.exit_code == 0
    assert (tmp_path / "out" / "series.html").is_file()
