"""``OUT/series.html``: the series on one self-contained page, findings first.

The page answers first: **Findings** (:func:`casekit.series.findings.findings`: who was
analysed and who left out with why, ORR and DCR per criteria with exact CIs, Kaplan-Meier
medians of PFS, OS and DOR with CIs, how far the recomputed calls agree with the recorded
ones per criteria and evaluator, what the markers did), all computed from the series
tables in ``OUT/tables``, never typed. Then the evidence: the figures the series notebooks
saved in ``OUT/figures`` (:data:`casekit.series.figures.FIGURES`), each with a caption
computed from the same tables (what is drawn, for how many subjects, under which
criteria), and tables with human headers, numbers formatted alike, and at most
:data:`MAX_ROWS` rows with a link to the full CSV.

Rendered with a Jinja2 template (``templates/series.html.j2``, autoescaped) and the case
report's CSS (:data:`casekit.run.report.CSS`) and table builder: figures embedded as data
URIs at their own pixel size (one journal column, so that they stay legible on a phone),
inline CSS, no scripts, no timestamps — the same inputs give the same bytes. Anything
expected but absent is named as not produced. The layout is checked in Chromium at 1280
and 420 px (``tests/test_series_browser.py``).
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import casekit
from casekit import render
from casekit.outputs import write_bytes
from casekit.plot.figures import criteria_name
from casekit.run.report import CSS, html_table

MISSING = "not produced for this series"
#: Rows shown of a long table; the rest are counted and linked to the full CSV.
MAX_ROWS = 60
TEMPLATES = Path(__file__).with_name("templates")
SERIES_CSS = """
.lead{color:#333;margin:.2rem 0}.note{font-size:.9rem;color:#444;margin:.2rem 0}
.findings h3{margin:.7rem 0 .2rem;font-size:.95rem}
figure img{display:block}figcaption{margin-top:.3rem;max-width:44rem}
td:first-child{white-space:nowrap}
@media (max-width:600px){figure{margin:.6rem 0}.findings li{margin:.3rem 0}}
"""


@dataclass
class _Figure:
    stem: str
    title: str
    caption: str = ""
    src: str = ""
    width: int = 0
    height: int = 0


@dataclass
class _Table:
    title: str
    html: str
    anchor: str = ""
    csv: str = ""
    note: str = ""


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (bytes 16-24)."""
    return struct.unpack(">II", data[16:24])


def _figure(folder: Path, stem: str, title: str, caption: str) -> _Figure:
    path = folder / f"{stem}.png"
    if not path.is_file():
        return _Figure(stem, title)
    data = path.read_bytes()
    width, height = _png_size(data)
    return _Figure(stem, title, caption or title,
                   "data:image/png;base64," + base64.b64encode(data).decode("ascii"),
                   width, height)


def _yes(value) -> str:
    return "yes" if bool(value) else "no"


def _frame_table(frame: pd.DataFrame, columns: dict, link: str | None = None,
                 hidden_are: str = "") -> str:
    """``frame``'s ``columns`` (name -> header, or (header, function of the value)) as an
    HTML table capped at :data:`MAX_ROWS`."""
    header, getters = [], []
    for name, spec in columns.items():
        label, how = spec if isinstance(spec, tuple) else (spec, None)
        header.append(label)
        getters.append((name, how))
    rows = [[("" if pd.isna(row[name]) else str(how(row[name]) if how else row[name]))
             for name, how in getters] for _, row in frame.iterrows()]
    return html_table(header, rows, link=link, max_rows=MAX_ROWS, hidden_are=hidden_are)


def _tables(tables) -> list[_Table]:
    from casekit.series import findings, stats

    out = []
    rates = stats.response_rates(tables["bor"])
    rates = rates.assign(ci=[f"{lo:.1f}\u2013{hi:.1f}" for lo, hi in
                             zip(rates["ci_low_pct"], rates["ci_high_pct"])],
                         ratio=[f"{k:,}/{n:,}" for k, n in zip(rates["subjects"], rates["n"])])
    out.append(_Table("Objective response and disease control rates", _frame_table(
        rates, {"criteria": ("Criteria", criteria_name),
                "confirmed": ("Confirmed", _yes), "rate": "Rate", "ratio": "Subjects / n",
                "percent": "Rate (%)", "ci": "Exact 95 % CI (%)"}), "rates",
        note="ORR = (CR + PR) / n; DCR = (CR + PR + SD + non-CR/non-PD) / n; n = every "
             "subject assessed under the criteria (Eisenhauer 2009 \u00a74.4.3); exact "
             "(Clopper\u2013Pearson) intervals."))
    out.append(_Table("Best overall response", _frame_table(
        stats.bor_table(tables["bor"]),
        {"criteria": ("Criteria", criteria_name), "confirmed": ("Confirmed", _yes),
         "bor": "Best overall response", "subjects": "Subjects",
         "percent": "Share of subjects (%)"}), "bor", "tables/bor.csv"))
    summary = stats.endpoint_summary(tables["endpoints"])
    rows = []
    for row in summary.itertuples(index=False):
        fit = stats.kaplan_meier(*findings._times(tables["endpoints"], row.endpoint,
                                                  row.criteria))
        lo, hi = fit["median_ci"]
        rows.append(dict(endpoint=row.endpoint, criteria=findings._name(row.criteria),
                         subjects=row.subjects, events=row.events,
                         median=findings.months(fit["median"]),
                         ci=f"{findings.months(lo)}\u2013{findings.months(hi)}",
                         days=row.median_days))
    out.append(_Table("Time to event: Kaplan-Meier medians", _frame_table(
        pd.DataFrame(rows, columns=["endpoint", "criteria", "subjects", "events", "median",
                                    "ci", "days"]),
        {"endpoint": "Endpoint", "criteria": ("Criteria", criteria_name),
         "subjects": "Subjects", "events": "Events", "median": "Median (months)",
         "ci": "95 % CI (months)", "days": "Median (days)"}), "endpoints",
        "tables/endpoints.csv",
        note="PFS: progression or death; OS: death from any cause; DOR: responders, from the "
             "first CR/PR. The median's CI is read off the pointwise band (Brookmeyer & "
             "Crowley 1982); 1 month = 30.44 days."))
    agreement = findings.concordance_rows(tables)
    if not agreement.empty:
        out.append(_Table("Agreement of the recorded calls with the recomputed ones",
                          _frame_table(agreement, {
                              "criteria": ("Criteria", criteria_name),
                              "evaluator": ("Evaluator", str.lower), "subjects": "Subjects",
                              "visits": "Visits", "agree": "Agree",
                              "agreement_pct": "Agreement (%)", "kappa": "Cohen's \u03ba",
                              "discordant": "Differ", "unexplained": "Unexplained"}),
                          "agreement"))
        rules = findings.concordance_rules(tables)
        if len(rules):
            out.append(_Table("Why recorded and recomputed calls differ", _frame_table(
                rules, {"criteria": ("Criteria", criteria_name),
                        "evaluator": ("Evaluator", str.lower),
                        "rule": ("Rule", lambda r: "unexplained" if r.startswith(
                            "unexplained") else r.replace(" + ", " +\u200b")),
                        "visits": "Visits", "meaning": "What the recording did"},
                link="tables/concordance.csv"),
                "rules", note="Each difference is explained by the recording rule that "
                              "reproduces the recorded call, or listed as unexplained."))
    visits = tables["concordance"]
    if len(visits):
        # unexplained differences first, then the explained ones, then the agreements
        rank = (visits["agree"].astype(bool).astype(int) * 2
                + (~visits["rule"].str.startswith("unexplained")).astype(int))
        ordered = visits.assign(_o=rank).sort_values(
            ["_o", "criteria", "subject", "day"], kind="stable")
        out.append(_Table("Recorded vs recomputed calls, visit by visit", _frame_table(
            ordered, {"subject": "Subject", "criteria": ("Criteria", criteria_name),
                      "evaluator": ("Evaluator", str.lower), "event_id": "Visit",
                      "day": "Day", "recorded": "Recorded", "computed": "Recomputed",
                      "agree": ("Agree", _yes), "rule": "Why they differ"},
            link="tables/concordance.csv", hidden_are="unexplained differences first"),
            "visits", "tables/concordance.csv",
            note="Unexplained differences come first, then the differences a recording rule "
                 "explains (casekit.interop.concordance), then the visits that agree."))
    markers = stats.marker_summary(tables["markers"])
    if len(markers):
        out.append(_Table("Tumour markers", _frame_table(markers, {
            "test": "Test", "unit": "Unit", "subjects": "Subjects",
            "median_first_value": "Median first value", "with_follow_up": "With a later value",
            "decline_ge_50pct": "Fell \u2265 50 %"}), "markers", "tables/markers.csv"))
    excluded = tables["excluded"]
    if len(excluded):
        out.append(_Table("Cases left out", _frame_table(
            excluded, {"subject": "Subject", "case_dir": "Case folder",
                       "status": ("Status", lambda s: s.replace("_", " ")),
                       "reason": "Reason"}, link="tables/excluded.csv"),
            "left-out", "tables/excluded.csv"))
    problems = tables["problems"]
    if len(problems):
        out.append(_Table("Every problem of the invalid cases", _frame_table(
            problems, {"subject": "Subject", "problem": "Problem (file:line:column)"},
            link="tables/problems.csv"), "problems", "tables/problems.csv"))
    return out


def _environment():
    # the case report's environment: every value escaped with casekit.render.html
    return render.environment(TEMPLATES)


def render_series_report(out_dir: str | Path, result, parameters: dict | None = None) -> str:
    """The page's HTML text from ``OUT/tables``, ``OUT/figures`` and the run's result;
    ``parameters`` are the series' (``primary_criteria`` names the figures' criteria)."""
    from markupsafe import Markup

    from casekit.series import figures as drawn
    from casekit.series import findings as said
    from casekit.series.figures import FIGURES
    from casekit.series.tables import TABLES, SeriesTables

    out = Path(out_dir)
    params = parameters if parameters is not None else getattr(result, "parameters", {}) or {}
    primary = str(params.get("primary_criteria", "RECIST1.1"))
    try:
        tables = SeriesTables.read(out / "tables")
        error = ""
    except (OSError, ValueError, KeyError) as exc:
        tables, error = None, " ".join(str(exc).split())
    captions = {}
    if tables is not None:
        captions = {stem: drawn.caption(tables, stem, primary) for stem in FIGURES}
    shown = [_figure(out / "figures", stem, title, captions.get(stem, ""))
             for stem, title in FIGURES.items()]
    table_parts = []
    if tables is not None:
        table_parts = [_Table(t.title, Markup(t.html), t.anchor, t.csv, t.note)
                       for t in _tables(tables)]
    analysed = sum(a.status == "ok" for a in result.analyses)
    return _environment().get_template("series.html.j2").render(
        css=Markup(CSS), series_css=Markup(SERIES_CSS), analysed=analysed,
        folders=len(result.analyses), left_out=len(result.left_out),
        primary=criteria_name(primary),
        failed=", ".join(r.name for r in result.notebooks if not r.ok),
        findings=said.findings(tables) if tables is not None else [],
        missing=MISSING, tables_error=error, figures=shown, tables=table_parts,
        csvs=[f"{name}.csv" for name in TABLES], version=casekit.__version__)


def build_series_report(out_dir: str | Path, result, parameters: dict | None = None) -> Path:
    """Write ``OUT/series.html`` atomically and return its path."""
    return write_bytes(Path(out_dir) / "series.html",
                       render_series_report(out_dir, result, parameters).encode("utf-8"))
