"""``OUT/report.html``: one self-contained page a clinician can open or attach to an e-mail.

The page answers first, then shows the evidence. **Key findings** are computed from the
tables the notebooks left in ``OUT/tables`` (and from the case): the response at each scan
under each criterion that applies, beside the authors' call with why they agree or differ;
the best overall response; time-to-event endpoints when ``endpoints.csv`` exists; each
marker's trajectory in one sentence; liver scores and stage where they apply; how many of
the paper's claims reproduce (naming those that do not); how the case scores against the
CARE checklist when the run wrote ``care.csv``; and the assumptions the calls rest on,
grouped by reason (a synthetic case whose every value is invented says so once). Then
the evidence:
figures (base64 data URIs, PNG preferred, with captions saying what they show) and tables
(human column headers with units, numbers at the precision they were given, long tables
capped with a link to the full CSV beside the report; the claims table lists every claim
that is not reproduced first, so the cap never hides one), and the CARE checklist
(:mod:`casekit.rules.care`) as a section of its own.

Sections that do not apply to the case (:mod:`casekit.case.sections`) are left out; an
expected output that is absent is named as "not produced for this case"; a table with no
rows says "none for this case". Inline CSS, no scripts, no network references, no
timestamps: the same inputs give the same bytes. The layout is checked in a real browser
at 1280 and 400 px (``tests/test_report_browser.py``).

The page is the template ``templates/report.html.j2`` of a :func:`casekit.render.environment`
(every value escaped with :func:`casekit.render.html`); the fragments built here (findings,
figures, tables) are :class:`casekit.render.Html`, which escapes whatever case text goes into
them. Case text is escaped by construction, not by remembering to.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

import casekit
from casekit import render
from casekit.case import Case, load_case, overview, sections, timeline, trials
from casekit.case.overview import plural
from casekit.outputs import write_bytes
from casekit.plot import figures
from casekit.plot.figures import criteria_name
from casekit.render import Html
from casekit.rules import claims as claim_rules
from casekit.rules import response
from casekit.rules import markers as marker_rules
from casekit.rules.criteria import applicable_criteria

# Figures the collection produces, in reading order; any other figure follows, sorted.
EXPECTED_FIGURES = ("timeline", "markers", "viral_load", "spider", "lung_dose", "forest")
FIGURE_TITLES = {
    "timeline": "Course of care",
    "markers": "Tumour markers",
    "viral_load": "Viral load",
    "spider": "Tumour size over time",
    "lung_dose": "Radioembolization lung dose",
    "forest": "Trial context",
}
# Preference among a figure's files: PNG displays everywhere, also in e-mail previews.
FIGURE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
                ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}
EXPECTED_TABLES = ("response", "bor", "endpoints", "sensitivity", "markers", "scores", "claims")
TABLE_TITLES = {
    "response": "Tumour response, recomputed",
    "bor": "Best overall response",
    "sensitivity": "Which reported calls survive the unreported details (sensitivity)",
    "endpoints": "Time-to-event endpoints",
    "markers": "Tumour markers",
    "scores": "Liver function scores",
    "claims": "The paper's claims, recomputed",
}
#: Tables shown in a section of their own, not among the evidence tables.
OWN_SECTION_TABLES = ("care",)
CARE_TABLE = "care.csv"
MISSING = "not produced for this case"
NONE_FOR_CASE = "none for this case"
#: Rows shown of a long table; the rest are counted and linked to the full CSV.
MAX_ROWS = 15
#: Assumed values listed in the Assumptions section; the rest are counted by the case file
#: that marks them. More than a hand-curated case holds (the seed 22, the demo cases 53, 47).
MAX_ASSUMPTION_ROWS = 60
#: Scans listed one by one in the key findings; a longer course lists those where a call
#: changes or the authors give one (issue 20 item 4: a case of 1,000 scans).
MAX_FINDING_SCANS = MAX_ROWS

#: Human column headers (with units) for the collection's snake_case columns.
COLUMN_LABELS = {
    "event_id": "Event", "criteria": "Criteria", "day": "Day", "test": "Test",
    "target_sum_cm": "Target sum (cm)", "change_from_baseline_pct": "Change from baseline (%)",
    "change_from_nadir_pct": "Change from nadir (%)", "target_response": "Target",
    "non_target_response": "Non-target", "new_lesions": "New lesions",
    "overall_response": "Overall (computed)", "reported_response": "Authors' call",
    "value": "Value", "unit": "Unit", "change_from_reference_pct": "Change from reference (%)",
    "fold_from_nadir": "Fold over nadir", "score": "Score", "category": "Category",
    "claim_id": "Claim", "statement": "Statement", "quantity": "Recomputed as",
    "comparator": "Test", "expected": "Paper", "computed": "Computed", "outcome": "Outcome",
    "note": "Note", "endpoint": "Endpoint", "event": "Event observed",
    "time_days": "Time (days)", "start_day": "Start day", "end_day": "End day",
    "end_event_id": "End event", "rule": "Rule", "table": "Table", "item": "Item",
    "reason": "Reason", "care_item": "#", "topic": "CARE item", "verdict": "Verdict",
    "evidence": "Evidence (file:line)", "to_complete": "To complete",
    "care_evidence": "Evidence (file:line); what would complete the item",
}
#: Claims needing a reader's attention first: the cap on long tables hides only reproduced
#: ones. An outcome not listed (a future one) counts as needing attention.
CLAIM_ORDER = {claim_rules.DIFFERS: 0, claim_rules.NOT_COMPUTABLE: 1, claim_rules.KNOWN: 2,
               claim_rules.REPRODUCED: 3}
#: The response table's columns in the report: the call and the authors' call stay in view.
RESPONSE_COLUMNS = ("event_id", "day", "criteria", "target_sum_cm", "change_from_baseline_pct",
                    "change_from_nadir_pct", "target_response", "non_target_response",
                    "new_lesions", "overall_response", "reported_response")
SENSITIVITY_SHOWN = ("event_id", "reported_criteria", "reported", "scenario", "computed",
                     "survives")
SCORE_NAMES = {"child_pugh": "Child-Pugh", "albi": "ALBI", "meld": "MELD", "meld_na": "MELD-Na",
               "meld_3": "MELD 3.0"}

CSS = """
*{box-sizing:border-box}
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1b1b1b;
max-width:66rem;margin:0 auto;padding:1.5rem;line-height:1.45;overflow-wrap:break-word}
h1{font-size:1.5rem;margin:0 0 .4rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ccc;padding-bottom:.2rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
.citation,.patient{margin:.2rem 0;color:#333}.patient{font-weight:600}
nav{margin:1rem 0;font-size:.9rem}nav a{margin-right:1rem;color:#1a4f8b;white-space:nowrap}
.findings{background:#f4f7fb;border:1px solid #c9d6e6;padding:.3rem 1rem 1rem;margin:1rem 0}
.findings h2{margin-top:.8rem}.findings ul{margin:.3rem 0;padding-left:1.2rem}
.findings li{margin:.2rem 0}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #e3e3e3}
figcaption{font-size:.9rem;color:#444}.missing{color:#8a5a00;font-style:italic}
.none{color:#555;font-style:italic}
.banner{background:#fdecea;border:1px solid #d93025;padding:.6rem .8rem;margin:1rem 0}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-size:.85rem;
margin:.4rem 0}th,td{border:1px solid #d0d0d0;padding:.25rem .45rem;text-align:left;
vertical-align:top}td{max-width:24rem}th{background:#f1f3f5}
tr:nth-child(even) td{background:#fafafa}td.num{text-align:right;white-space:nowrap;
font-variant-numeric:tabular-nums}.st-pass,.st-ok,.st-reproduced,.st-true,.st-agrees{
color:#176b2c;font-weight:600}.st-present{color:#176b2c;font-weight:600}
.st-partial{color:#8a5a00;font-weight:600}.st-missing{color:#b3261e;font-weight:600}.st-fail,.st-does_not_reproduce,.st-false,.st-differs{
color:#b3261e;font-weight:600}.st-known_difference,.st-not_computable,.st-assumed{color:#8a5a00}
.more{font-size:.85rem;color:#444}
footer{margin-top:2.5rem;font-size:.8rem;color:#555;border-top:1px solid #ccc;
padding-top:.5rem}@media print{nav{display:none}h2{page-break-after:avoid}}
@media (max-width:600px){body{padding:.6rem}h1{font-size:1.25rem}
.findings{padding:.2rem .6rem .6rem}}
"""

_NUMBER = re.compile(r"[-\u2212]?[0-9][0-9,]*(\.[0-9]+)?([eE][-+]?[0-9]+)?%?")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_STATUS_COLUMNS = ("status", "result", "verdict", "check", "agrees", "outcome", "agreement")
TEMPLATES = Path(__file__).with_name("templates")


def _title_of(stem: str, titles: dict[str, str]) -> str:
    return titles.get(stem, stem.replace("_", " ").capitalize())


def column_label(name: str) -> str:
    """``change_from_baseline_pct`` -> ``Change from baseline (%)``; unknown names in words."""
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    words = name.replace("_", " ").strip()
    for suffix, unit in ((" pct", " (%)"), (" cm", " (cm)"), (" days", " (days)"),
                         (" gy", " (Gy)"), (" gbq", " (GBq)"), (" kg", " (kg)")):
        if words.endswith(suffix):
            words = words[: -len(suffix)] + unit
    return words[:1].upper() + words[1:]


# ------------------------------------------------------------------ numbers


def _decimals(texts: Iterable[str], most: int = 2) -> int:
    """Fewest decimals (up to ``most``) that show every number of a column exactly."""
    values = [float(t) for t in texts]
    for decimals in range(most + 1):
        if all(abs(round(v, decimals) - v) < 1e-9 for v in values):
            return decimals
    return most


def format_number(text: str, decimals: int) -> str:
    """``236000.0`` -> ``236,000``; ``-35.7`` -> ``−35.7`` (true minus); others unchanged."""
    if not _PLAIN_NUMBER.fullmatch(text):
        return text
    return marker_rules.format_number(float(text), decimals)


#: Columns whose numbers are formatted per test (or score): measured values in their units.
_PER_TEST_COLUMNS = {"value", "value_as_reported", "reference_value", "nadir"}


def format_columns(header: list[str], rows: list[list[str]]) -> list[list[str]]:
    """Numbers formatted alike within a column (per ``test`` where the table has one, so
    AFP keeps its one decimal and PIVKA-II none): thousands separators, true minus signs,
    and no ``588.0`` beside ``588``. Identifier-like columns (``day``) get no separators
    beyond what the number needs; claim values keep the precision the paper gave them."""
    out = [list(r) + [""] * (len(header) - len(r)) for r in rows]
    keys = [header.index(k) for k in ("test", "score") if k in header]
    group_of = lambda r: tuple(r[k] for k in keys)  # noqa: E731 - AFP apart from PIVKA-II
    per_row = {"expected", "computed"}  # one claim per row: the paper's precision rules
    for j, name in enumerate(header):
        if name in per_row:
            continue
        groups: dict[str, list[int]] = {}
        # Values follow their test's precision (units differ); a unitless column such as
        # fold_from_nadir is one group, so a fold of 1 never reads "1" in one row, "1.00" in
        # the next.
        by_test = name in _PER_TEST_COLUMNS
        for i, row in enumerate(out):
            if _PLAIN_NUMBER.fullmatch(row[j]):
                groups.setdefault(group_of(row) if by_test else (), []).append(i)
        for members in groups.values():
            decimals = _decimals(out[i][j] for i in members)
            for i in members:
                out[i][j] = format_number(out[i][j], decimals)
    if "expected" in header and "computed" in header:
        a, b = header.index("expected"), header.index("computed")
        for row in out:
            if _PLAIN_NUMBER.fullmatch(row[a]):
                given = len(row[a].split(".")[1]) if "." in row[a] else 0
                row[a] = format_number(row[a], given)
                if _PLAIN_NUMBER.fullmatch(row[b]):
                    # the computed value at the paper's precision or finer, never coarser
                    row[b] = format_number(row[b], max(given, _decimals([row[b]])))
    return out


# ------------------------------------------------------------------ pieces


def _citation(case: Case) -> list[str]:
    """The citation and the DOI (``doi:...``), those the case states."""
    doi = case.fact("doi")
    return [c if c != doi else f"doi:{c}" for c in (case.fact("citation"), doi) if c]


def patient_line(case: Case) -> str:
    """``Patient: 43-year-old male; aetiology: HBV`` from the facts that exist ('' if none);
    the case's ``cancer`` fact leads when it is stated."""
    age, sex = case.fact("age_years"), case.fact("sex")
    who = " ".join(x for x in (f"{age}-year-old" if age else None, sex) if x)
    bits = [who] if who else []
    if case.fact("cancer"):
        bits.append(f"cancer: {case.fact('cancer')}")
    aetiology = case.fact("aetiology") or case.fact("etiology")
    if aetiology:
        bits.append(f"aetiology: {aetiology}")
    return ("Patient: " + "; ".join(bits)) if bits else ""


def _selected(folder: Path, allowed: frozenset[str] | None) -> list[Path]:
    """The files of ``folder`` the report may use: all of them, or only the names in
    ``allowed`` (paths relative to the output folder, e.g. ``figures/timeline.png``)."""
    if not folder.is_dir():
        return []
    items = sorted(folder.iterdir())
    if allowed is None:
        return items
    return [p for p in items if f"{folder.name}/{p.name}" in allowed]


def _figure_files(folder: Path, allowed: frozenset[str] | None = None) -> dict[str, Path]:
    """Each figure's stem -> its preferred file."""
    found: dict[str, Path] = {}
    rank = {suffix: i for i, suffix in enumerate(FIGURE_TYPES)}
    if folder.is_dir():
        for item in _selected(folder, allowed):
            suffix = item.suffix.lower()
            if not item.is_file() or item.name.startswith(".") or suffix not in rank:
                continue
            best = found.get(item.stem)
            if best is None or rank[suffix] < rank[best.suffix.lower()]:
                found[item.stem] = item
    return found


def _ordered(expected: Iterable[str], present: Iterable[str]) -> list[str]:
    expected = list(expected)
    return expected + sorted(set(present) - set(expected))


def expected_figures(case: Case) -> list[str]:
    """The figures the collection draws for this case (a section that does not apply has
    none): the timeline always; markers, viral load, spider, lung dose and forest only when
    the case has what they show."""
    wanted = {"timeline": True,
              "markers": bool(marker_rules.case_markers(case.labs)),
              "viral_load": bool(marker_rules.case_markers(case.labs, "viral")),
              "spider": case.lesions["size_cm"].notna().any(),
              "lung_dose": sections.has_radioembolization(case)
              and case.fact("lung_shunt_fraction_pct") is not None,
              "forest": sections.trials_path(case.path) is not None}
    return [stem for stem in EXPECTED_FIGURES if wanted[stem]]


def _markers_named(case: Case, kind: str) -> str:
    names = [marker_rules.marker_name(t) for t in marker_rules.case_markers(case.labs, kind)]
    return ", ".join(names)


def figure_caption(stem: str, case: Case) -> str:
    """What a figure shows, in words built from the case (not its file name)."""
    criteria = ", ".join(criteria_name(c) for c in applicable_criteria(case))
    kind = "viral" if stem == "viral_load" else "tumour"
    # a big case's figures label only some values and calls (figure_note says which)
    each_value = ", each value labelled" if figures.labels_every_value(
        case.labs, marker_rules.case_markers(case.labs, kind)) else ""
    each_scan = "; the calls at each scan are written above it" \
        if figures.labels_every_assessment(case.lesions) else ""
    captions = {
        "timeline": "The course of care in study days: one lane per kind of event; filled "
                    "markers are timings the paper states, hollow ones are assumed.",
        "markers": f"{_markers_named(case, 'tumour')} over time (log scale){each_value}; "
                   "treatments and scans are marked on the day axis.",
        "viral_load": f"{_markers_named(case, 'viral')} over time (log scale).",
        "spider": "Change of each measured lesion from baseline (targets solid, non-targets "
                  "dashed) and of the sum of target diameters (grey band), with the partial-"
                  f"response (\u221230 %) and progression (+20 %) thresholds{each_scan}. "
                  f"Criteria that apply to this case: {criteria}.",
        "lung_dose": "Lung dose against the administered activity for this patient's lung "
                     "shunt fraction, with the dose limit and the largest activity within it.",
        "forest": "Hazard ratios with 95 % confidence intervals of the trials the case's "
                  "discussion cites (log scale; hollow: not stated in the case report).",
    }
    caption = captions.get(stem, f"Figure {stem.replace('_', ' ')}.")
    note = figure_note(stem, case)
    return f"{caption} {note}" if note else caption


def figure_note(stem: str, case: Case) -> str:
    """What a figure aggregated or left out for this case (a big one), in words computed
    from the case by the function that draws it; '' when it shows everything."""
    course = timeline.course_table(case.timeline)
    if stem == "timeline":
        return figures.timeline_note(course)
    if stem in ("markers", "viral_load"):
        kind = "tumour" if stem == "markers" else "viral"
        return figures.series_note(case.labs, marker_rules.case_markers(case.labs, kind), course)
    if stem == "spider":
        return figures.spider_note(case.lesions)
    if stem == "forest":
        table = trials.case_trials(case.path)
        return figures.forest_note(trials.hazard_ratios(table)) if table is not None else ""
    return ""


def _figures(folder: Path, case: Case, allowed: frozenset[str] | None = None) -> list[Html]:
    files = _figure_files(folder, allowed)
    parts = []
    for stem in _ordered(expected_figures(case), files):
        title = _title_of(stem, FIGURE_TITLES)
        if stem not in files:
            parts.append(Html('<h3>{}</h3><p class="missing">Figure &ldquo;{}&rdquo;: {}.</p>')
                         .format(title, stem, MISSING))
            continue
        path = files[stem]
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        mime = FIGURE_TYPES[path.suffix.lower()]
        caption = figure_caption(stem, case)
        parts.append(Html('<h3>{title}</h3><figure><img alt="{caption}" '
                          'src="data:{mime};base64,{data}">'
                          "<figcaption>{caption} <small>({name})</small></figcaption>"
                          "</figure>").format(title=title, caption=caption, mime=mime,
                                              data=data, name=path.name))
    return parts


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    return (rows[0], rows[1:]) if rows else ([], [])


def html_table(header: list[str], rows: list[list[str]], link: str | None = None,
               max_rows: int | None = None, hidden_are: str = "") -> Html:
    """An escaped HTML table with human headers and consistently formatted numbers;
    numbers right-aligned, status-like cells classed by value. No rows: "none for this
    case". More than ``max_rows``: the first rows, the count of the rest (``hidden_are``
    says what they all are, e.g. "all reproduced") and ``link``."""
    if not rows:
        return _none_for_case()
    status_cols = {i for i, h in enumerate(header) if h.strip().lower() in _STATUS_COLUMNS}
    shown = format_columns(header, rows)
    hidden = 0
    if max_rows is not None and len(shown) > max_rows:
        shown, hidden = shown[:max_rows], len(shown) - max_rows
    out = [Html('<div class="scroll"><table><thead><tr>')]
    out += [Html("<th>{}</th>").format(column_label(h)) for h in header]
    out.append(Html("</tr></thead><tbody>"))
    for row in shown:
        out.append(Html("<tr>"))
        for i, cell in enumerate(row):
            classes = []
            if _NUMBER.fullmatch(cell.strip()):
                classes.append("num")
            if i in status_cols and cell.strip():
                slug = re.sub(r"[^a-z0-9_]+", "_", cell.strip().lower()).strip("_")
                classes.append(f"st-{slug}")
            attr = Html(' class="{}"').format(" ".join(classes)) if classes else ""
            out.append(Html("<td{}>{}</td>").format(attr, cell))
        out.append(Html("</tr>"))
    out.append(Html("</tbody></table></div>"))
    if hidden:
        where = (Html(' The full table is <a href="{0}">{0}</a> beside this report.')
                 .format(link) if link else "")
        what = f", {hidden_are}" if hidden_are else ""
        out.append(Html('<p class="more">First {} of {} rows; {} more not shown{}.{}</p>')
                   .format(max_rows, max_rows + hidden, hidden, what, where))
    return Html("").join(out)


def _none_for_case() -> Html:
    return Html('<p class="none">{}.</p>').format(NONE_FOR_CASE.capitalize())


def _response_rows(header: list[str], rows: list[list[str]],
                   criteria: list[str]) -> tuple[list[str], list[list[str]]]:
    """The response table cut to the criteria that apply and to the columns a reader
    needs to see the call beside the authors' (the full CSV keeps everything)."""
    keep = [c for c in RESPONSE_COLUMNS if c in header]
    at = [header.index(c) for c in keep]
    crit = header.index("criteria") if "criteria" in header else None
    chosen = [r for r in rows if crit is None or r[crit] in criteria]
    cut = [[r[i] if i < len(r) else "" for i in at] for r in chosen]
    if "criteria" in keep:  # RECIST1.1 -> RECIST 1.1, as a reader writes it
        j = keep.index("criteria")
        for row in cut:
            row[j] = criteria_name(row[j])
    # "NA" (no such lesions at baseline, RECIST 1.1 §4.4.1) said in words, never as a code
    for name in ("target_response", "non_target_response"):
        if name in keep:
            j = keep.index(name)
            for row in cut:
                row[j] = "none at baseline" if row[j] == "NA" else row[j]
    return keep, cut


def expected_tables(case: Case) -> list[str]:
    wanted = {"response": case.lesions["size_cm"].notna().any(),
              "bor": False,  # shown when the response notebook writes it
              "sensitivity": False,
              "endpoints": False,  # shown when the response notebook writes it
              "markers": bool(marker_rules.case_markers(case.labs)
                              or marker_rules.case_markers(case.labs, "viral")),
              "scores": sections.has_liver_scores(case),
              "claims": not case.claims.empty}
    return [stem for stem in EXPECTED_TABLES if wanted[stem]]


def _tables(folder: Path, case: Case, allowed: frozenset[str] | None = None) -> list[Html]:
    present = sorted(p.stem for p in _selected(folder, allowed)
                     if p.suffix == ".csv" and not p.name.startswith(".")
                     and p.stem not in OWN_SECTION_TABLES)
    parts = []
    criteria = applicable_criteria(case)
    for stem in _ordered(expected_tables(case), present):
        title = _title_of(stem, TABLE_TITLES)
        path = folder / f"{stem}.csv"
        link = f"tables/{stem}.csv"
        parts.append(Html("<h3>{} <small>({}.csv)</small></h3>").format(title, stem))
        if stem not in present or not path.is_file():
            parts.append(Html('<p class="missing">Table &ldquo;{}.csv&rdquo;: {}.</p>')
                         .format(stem, MISSING))
            continue
        header, rows = _read_csv(path)
        if stem == "response" and header:
            header, rows = _response_rows(header, rows, criteria)
            parts.append(Html('<p>Criteria that apply to this case: {}; every column is in '
                              '<a href="{link}">{link}</a>.</p>')
                         .format(", ".join(criteria_name(c) for c in criteria), link=link))
        if stem == "sensitivity" and header:
            # the scenario names the one detail it changes; the settings stay in the CSV
            at = [header.index(c) for c in SENSITIVITY_SHOWN if c in header]
            header, rows = [header[i] for i in at], [[r[i] for i in at] for r in rows]
            parts.append(Html("<p>Each row changes one detail the paper does not report and "
                              "re-runs the engine: does the authors' call still come out? "
                              'Every setting is in <a href="{0}">{0}</a>.</p>').format(link))
        cap, hidden_are = MAX_ROWS, ""
        if header and "outcome" in header:
            noun = "claims" if stem == "claims" else "rows"
            parts.append(Html("<p>{}</p>").format(outcome_summary(header, rows, noun)))
            if stem == "claims":
                rows = claims_first(header, rows)
                cap, hidden_are = max(MAX_ROWS, attention_count(header, rows)), "all reproduced"
        parts.append(html_table(header, rows, link=link, max_rows=cap, hidden_are=hidden_are)
                     if header else _none_for_case())
    return parts


def _claim_rank(header: list[str], row: list[str]) -> int:
    at = header.index("outcome")
    return CLAIM_ORDER.get(row[at] if at < len(row) else "", 0)


def claims_first(header: list[str], rows: list[list[str]]) -> list[list[str]]:
    """Claims that do not reproduce, are not computable or differ for a known reason first
    (in that order), then the reproduced ones; the file's order within each."""
    return sorted(rows, key=lambda row: _claim_rank(header, row))


def attention_count(header: list[str], rows: list[list[str]]) -> int:
    """How many claims are not reproduced (each must stay in view under the cap)."""
    return sum(_claim_rank(header, row) < CLAIM_ORDER[claim_rules.REPRODUCED] for row in rows)


def _care_section(folder: Path, allowed: frozenset[str] | None = None) -> list[Html]:
    """The CARE checklist the run wrote (``tables/care.csv``): its summary and every item
    with its verdict, evidence and what would complete it. Nothing when it is absent (the
    template then leaves out the section and its link)."""
    frame = _frame(folder / CARE_TABLE, allowed)
    if frame is None:
        return []
    from casekit.rules.care import care_summary

    # evidence and what would complete an item share a column: four columns fit a phone
    header = ["care_item", "topic", "verdict", "care_evidence"]
    rows = [[r.care_item, r.topic, r.verdict,
             "; ".join(filter(None, [r.evidence, r.to_complete and
                                     f"to complete: {r.to_complete}"]))]
            for r in frame.itertuples(index=False)]
    return [Html("<p>{}: the case folder scored against the CARE "
                 "guidelines for case reports (Gagnier et al. 2013; Riley et al., J Clin "
                 "Epidemiol 2017;89:218-235). An item is present when the folder shows every "
                 "part of it, partial when it shows some, or only assumed values. The mapping "
                 "is in the project's data/README.md; the table is "
                 '<a href="tables/care.csv">tables/care.csv</a>.</p>').format(care_summary(frame)),
            html_table(header, rows)]


def outcome_summary(header: list[str], rows: list[list[str]], noun: str = "rows") -> str:
    """``28 claims: 27 reproduced, 1 known difference`` (most frequent first)."""
    column = header.index("outcome")
    counts: dict[str, int] = {}
    for row in rows:
        value = row[column] if column < len(row) else ""
        counts[value or "(none)"] = counts.get(value or "(none)", 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{len(rows):,} {noun}: " + ", ".join(f"{n:,} {value}" for value, n in ranked)


def _assumptions(case: Case) -> list[Html]:
    rows = overview.assumptions(case)
    parts = []
    if rows.empty:
        parts.append(Html("<p>The case marks no value as assumed.</p>"))
        return parts
    reason = one_reason(case, rows)
    if reason is not None:
        parts.append(Html("<p>All {} values of this case are assumed, for one reason: {}.</p>")
                     .format(_num_text(len(rows)), reason))
        shown = rows.drop(columns="reason")  # the same in every row
    else:
        parts.append(Html("<p>{} {} not stated by the paper; each was chosen for the reason "
                          "given.</p>").format(plural(len(rows), "value"),
                                               "is" if len(rows) == 1 else "are"))
        shown = rows
    parts.append(html_table(list(shown.columns),
                            shown.head(MAX_ASSUMPTION_ROWS).astype(str).values.tolist()))
    if len(rows) > MAX_ASSUMPTION_ROWS:
        # no CSV of them beside the report: the case's own files mark every one
        counts = rows["table"].value_counts(sort=False)
        where = [f"{_num_text(int(counts[t]))} in {t}.csv" for t in dict.fromkeys(rows["table"])]
        parts.append(Html('<p class="more">First {} of {} assumed values; {} more not shown. '
                          "The case folder marks each with the status &ldquo;assumed&rdquo;: "
                          "{}.</p>").format(MAX_ASSUMPTION_ROWS, _num_text(len(rows)),
                                            _num_text(len(rows) - MAX_ASSUMPTION_ROWS),
                                            ", ".join(where)))
    return parts


# ------------------------------------------------------------ key findings


_NEEDS = {
    "response.csv": ("event_id", "criteria", "day", "overall_response", "target_response",
                     "non_target_response", "new_lesions", "change_from_baseline_pct",
                     "change_from_nadir_pct"),
    "markers.csv": marker_rules.REQUIRED_COLUMNS,
    "scores.csv": ("event_id", "score", "value", "category"),
    "claims.csv": ("outcome",),
    "endpoints.csv": ("criteria", "endpoint", "event", "time_days"),
    "bor.csv": ("criteria", "confirmed", "bor", "event_id"),
    CARE_TABLE: ("care_item", "topic", "verdict", "evidence", "to_complete"),
}


def _frame(path: Path, allowed: frozenset[str] | None = None) -> pd.DataFrame | None:
    """A table of the run as text, or None when it is absent, not one of the files the run
    may use (``allowed``, as in :func:`_selected`) or lacks the columns a finding needs (a
    foreign or hand-made table is shown as evidence, not summarised)."""
    if not path.is_file() or (allowed is not None
                              and f"{path.parent.name}/{path.name}" not in allowed):
        return None
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if any(c not in frame.columns for c in _NEEDS.get(path.name, ())):
        return None
    return frame


def _pct(text: str) -> str:
    return format_number(text, 1) + " %" if text else "?"


def call_basis(row: pd.Series) -> str:
    """Why the computed call came out as it did, in a few words from its components."""
    overall = row["overall_response"]
    parts = []
    if row["target_response"] == "PD":
        parts.append(f"target sum {_pct(row['change_from_nadir_pct'])} from its nadir")
    if row["non_target_response"] == "PD":
        parts.append("non-target progression")
    if row["new_lesions"] == "yes":
        parts.append("one or more new lesions")  # RECIST 1.1 §4.3.1, PD: "one or more"
    if overall in ("PR", "SD", "CR") or not parts:
        parts.insert(0, f"target sum {_pct(row['change_from_baseline_pct'])} from baseline")
    if row["new_lesions"] == "suspected":
        parts.append("suspected new lesions not counted")
    return ", ".join(parts)


def _event_name(event_id: str, labels: Mapping[str, str]) -> str:
    """The timeline's label of an event (its id only where it has none)."""
    return labels.get(event_id) or event_id


def _scans_to_list(groups: list, cap: int = MAX_FINDING_SCANS) -> tuple[list, int, int]:
    """The (key, rows) groups of scans the findings list: all of them up to ``cap``; beyond,
    the first scan and those where a criterion's call changes from its scan before or the
    authors give a call, at most ``cap``. Returns them, how many scans were left out because
    their calls did not change, and how many were left out by the cap alone."""
    if len(groups) <= cap:
        return groups, 0, 0
    last: dict[str, str] = {}
    eventful = []
    for i, (key, group) in enumerate(groups):
        calls = dict(zip(group["criteria"], group["overall_response"]))
        reported = "reported_response" in group and (group["reported_response"] != "").any()
        if i == 0 or reported or any(last.get(c) != r for c, r in calls.items()):
            eventful.append((key, group))
        last.update(calls)
    return eventful[:cap], len(groups) - len(eventful), max(len(eventful) - cap, 0)


def _response_findings(table: pd.DataFrame, criteria: list[str],
                       labels: Mapping[str, str] | None = None) -> list[Html]:
    """One line per scan: each criterion's call with its basis, and the authors' call. Of a
    course of more than :data:`MAX_FINDING_SCANS` scans, those where something changes."""
    labels = labels or {}
    follow = table[(table["overall_response"] != "") & table["criteria"].isin(criteria)]
    groups, unchanged, beyond = _scans_to_list(
        list(follow.groupby(["event_id", "day"], sort=False)))
    lines = []
    for (event_id, day), group in groups:
        calls = []
        for row in group.itertuples(index=False):
            row = pd.Series(row._asdict())
            text = Html("{} <b>{}</b> ({})").format(criteria_name(row["criteria"]),
                                                    row["overall_response"], call_basis(row))
            reported = row.get("reported_response", "")
            if reported:
                same = reported == row["overall_response"]
                verdict = "agrees" if same else "differs"
                text += Html(' &mdash; authors: {}, <span class="st-{verdict}">{verdict}</span>')\
                    .format(reported, verdict=verdict)
            calls.append(text)
        lines.append(Html("<li>{} (day {}): {}</li>").format(
            _event_name(event_id, labels), format_number(str(day), 0), Html("; ").join(calls)))
    if unchanged or beyond:
        bits = []
        if unchanged:
            bits.append(f"{_scans(unchanged)} whose calls are those of the scan before")
        if beyond:
            bits.append(f"{_scans(beyond, 'more ')} where a call changes (only the first "
                        f"{MAX_FINDING_SCANS} are listed)")
        lines.append(Html("<li>Not listed: {}; every call is in the response table "
                          '(<a href="tables/response.csv">tables/response.csv</a>).</li>')
                     .format(" and ".join(bits)))
    return lines


def _num_text(n: int) -> str:
    return format_number(str(n), 0)


def _scans(n: int, more: str = "") -> str:
    return f"{_num_text(n)} {more}{'scan' if n == 1 else 'scans'}"


def _bor_findings(table: pd.DataFrame, criteria: list[str],
                  labels: Mapping[str, str] | None = None) -> list[Html]:
    """From ``bor.csv`` (the derived best overall response; never recomputed here)."""
    labels = labels or {}
    confirmed = table["confirmed"].astype(str).str.lower().isin(["true", "1"])
    plain = table[~confirmed].set_index("criteria")
    checked = table[confirmed].set_index("criteria")
    lines = []
    for crit in [c for c in criteria if c in plain.index]:
        a = plain.loc[crit]
        text = Html("{}: <b>{}</b>").format(criteria_name(crit), a["bor"])
        if a["event_id"]:
            text += Html(" at {}").format(_event_name(a["event_id"], labels))
        if crit in checked.index and checked.loc[crit, "bor"] != a["bor"]:
            text += Html(" (with confirmation required: {})").format(checked.loc[crit, "bor"])
        lines.append(text)
    return [Html("<li>Best overall response, unconfirmed: {}</li>").format(
        Html("; ").join(lines))] if lines else []


#: The endpoints of the findings table, in reading order, and how a row's end is said.
_ENDPOINT_ORDER = ("PFS", "TTR", "DOR")
_ENDED = {"progression": "progression", "death": "death", "response": "response"}


def _endpoint_cell(endpoint: str, row: pd.Series, labels: Mapping[str, str]) -> str:
    days = int(row["time_days"])
    observed = str(row["event"]).strip().lower() in ("true", "1")
    reason = str(row.get("end_reason", "") or "")
    where = _event_name(str(row.get("end_event_id", "") or ""), labels)
    if observed:
        what = _ENDED.get(reason, "event")
    elif reason == "start":
        what = "censored at the start (nothing after it)"
    else:
        what = f"censored ({reason})" if reason else "censored"
    text = f"{days} {'day' if days == 1 else 'days'}, {what}"
    if endpoint == "DOR" and days == 0:
        text += " — the response was first seen at the last assessment"
    elif where and reason not in ("start", "last known alive"):
        text += f" at {where}"
    return text


def _endpoint_findings(table: pd.DataFrame, labels: Mapping[str, str] | None = None) -> list[Html]:
    """Endpoints as a small table: criteria x PFS/TTR/DOR, then overall survival."""
    labels = labels or {}
    if table.empty:
        return []
    rows = []
    for criteria, group in table[table["criteria"] != ""].groupby("criteria", sort=False):
        by = group.set_index("endpoint")
        cells = [_endpoint_cell(e, by.loc[e], labels) if e in by.index else "not a responder"
                 if e == "DOR" else "" for e in _ENDPOINT_ORDER]
        rows.append(Html("<tr><th>{}</th>{}</tr>").format(
            criteria_name(criteria), Html("").join(Html("<td>{}</td>").format(c) for c in cells)))
    out = []
    if rows:
        out.append(Html("<li>Endpoints (days from day 0; DOR from the first response):"
                        '<table class="endpoints"><thead><tr><th>Criteria</th>'
                        "<th>Progression-free survival</th><th>Time to response</th>"
                        "<th>Duration of response</th></tr></thead><tbody>{}</tbody></table>"
                        "</li>").format(Html("").join(rows)))
    for _, row in table[table["endpoint"] == "OS"].iterrows():
        out.append(Html("<li>Overall survival: {}</li>")
                   .format(_endpoint_cell("OS", row, labels)))
    return out


def _marker_findings(table: pd.DataFrame) -> list[Html]:
    table = table.assign(day=pd.to_numeric(table["day"]), value=pd.to_numeric(table["value"]))
    notes = marker_rules.marker_notes(table).set_index("test")
    lines = []
    order = marker_rules.case_markers(table) + marker_rules.case_markers(table, "viral")
    for test in order + [t for t in dict.fromkeys(table["test"]) if t not in order]:
        sentence = marker_rules.trajectory_sentence(table, test)
        if test in notes.index and notes.at[test, "kind"] == "unknown":
            sentence += f" ({notes.at[test, 'note']}.)"
        lines.append(Html("<li>{}</li>").format(sentence))
    return lines


def _score_findings(case: Case, table: pd.DataFrame | None) -> list[Html]:
    from casekit.rules import staging

    bits, child_pugh = [], None
    if table is not None and not table.empty:
        first = table[table["event_id"] == table["event_id"].iloc[0]]
        missing: dict[str, list[str]] = {}  # one "not computable" per reason, scores named
        for row in first.itertuples(index=False):
            name = SCORE_NAMES.get(row.score, row.score)
            if row.value == "" and str(row.category).startswith("not computable"):
                missing.setdefault(str(row.category), []).append(name)
            elif row.value == "":
                bits.append(f"{name} {row.category}")
            elif row.score == "albi":
                bits.append(f"{name} {row.category} ({format_number(row.value, 2)})")
            elif row.score == "child_pugh":
                child_pugh = row.category
                bits.append(f"{name} {row.category}")
            else:
                bits.append(f"{name} {format_number(row.value, 0)}")
        bits += [f"{' and '.join(names)} {why}" for why, names in missing.items()]
        event = str(first["event_id"].iloc[0])
        bits = [f"at {_event_name(event, dict(zip(case.timeline['event_id'], case.timeline['label'])))}"
                f": " + ", ".join(bits)]
    if sections.has_liver_staging(case):
        stages = staging.staging_table(case.facts_dict, child_pugh)
        for row in stages.itertuples(index=False):
            text = f"{row.system} {row.computed}"
            if row.reported:
                text += f" (paper: {row.reported})"
            bits.append(text)
    return [Html("<li>Scores and stage: {}</li>").format("; ".join(bits))] if bits else []


def _claim_findings(table: pd.DataFrame | None) -> list[Html]:
    if table is None or "outcome" not in table:
        return []
    n = len(table)
    ok = int((table["outcome"] == "reproduced").sum())
    known = int((table["outcome"] == "known difference").sum())
    text = Html("{} of {} reproduced").format(ok, plural(n, "claim"))
    ids = lambda frame: ", ".join(frame["claim_id"]) if "claim_id" in frame else ""  # noqa: E731
    named = lambda which: Html(" ({})").format(which) if which else ""  # noqa: E731
    if known:
        text += (Html(", {}").format(plural(known, "known difference"))
                 + named(ids(table[table["outcome"] == claim_rules.KNOWN]))
                 + f", with {'its reason' if known == 1 else 'their reasons'}")
    rest = table[~table["outcome"].isin([claim_rules.REPRODUCED, claim_rules.KNOWN])]
    if len(rest):
        text += Html(", <b>{} not reproduced</b>").format(len(rest)) + named(ids(rest))
    where = "table below, those not reproduced first" if known or len(rest) else "table below"
    return [Html("<li>Claims of the paper: {} ({}).</li>").format(text, where)]


def _care_findings(table: pd.DataFrame | None) -> list[Html]:
    """One line: how the case scores against CARE and which items it lacks."""
    if table is None or table.empty:
        return []
    from casekit.rules.care import MISSING as CARE_MISSING, PARTIAL, care_summary

    bits = [care_summary(table)]
    for verdict in (CARE_MISSING, PARTIAL):
        topics = table.loc[table["verdict"] == verdict, "topic"].str.lower().tolist()
        if topics:
            bits.append(f"{verdict}: {', '.join(topics)}")
    return [Html("<li>{} (section below).</li>").format("; ".join(bits))]


def one_reason(case: Case, assumed: pd.DataFrame) -> str | None:
    """The reason when every value of the case is assumed for the same one (a synthetic
    demo case: "synthetic: invented ..."), else None. ``assumed``: overview.assumptions."""
    values = sum(len(getattr(case, name)) for name in overview.PROVENANCE_TABLES)
    if len(assumed) and len(assumed) == values and assumed["reason"].nunique() == 1:
        return str(assumed["reason"].iloc[0])
    return None


def _grouped(rows: pd.DataFrame) -> list[str]:
    """One line per assumed value, or per reason when several values share it."""
    bits = []
    for reason, group in rows.groupby("reason", sort=False):
        if len(group) == 1:
            r = group.iloc[0]
            bits.append(f"{r['item']} = {r['value']} (assumed: {reason})")
            continue
        names = list(group["item"])
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        bits.append(f"{len(group)} values ({shown}) assumed: {reason}")
    return bits


def _assumption_findings(case: Case, response_table: pd.DataFrame | None) -> list[Html]:
    """The assumptions the response calls rest on: assumed lesion rows, assumed facts the
    response rules read (e.g. which nodes are porta hepatis nodes), assumed scan timings,
    and suspected new lesions left uncounted. Values that share a reason are one line; a
    case whose every value is assumed for one reason (a synthetic demo case) says so once."""
    rows = overview.assumptions(case)
    bits: list[str] = []
    reason = one_reason(case, rows)
    if reason is not None:
        bits.append(f"all values of this case are assumed, for one reason: {reason}")
    else:
        lesion_rows = rows[(rows["table"] == "lesions")
                           | ((rows["table"] == "facts")
                              & rows["item"].isin(response.RESPONSE_FACTS))]
        scans = set(case.timeline.loc[case.timeline["category"] == "imaging", "event_id"])
        timing = rows[(rows["table"] == "timeline") & rows["item"].isin(scans)]
        bits += _grouped(lesion_rows)
        if len(timing):
            one = len(timing) == 1
            bits.append(f"the {'day' if one else 'days'} of {len(timing)} of "
                        f"{plural(len(scans), 'scan')} {'is' if one else 'are'} assumed "
                        "(intervals such as the confirmation window depend on them)")
    if response_table is not None and (response_table["new_lesions"] == "suspected").any():
        bits.append("suspected new lesions are not counted as new lesions")
    if not bits:
        return []
    items = Html("").join(Html("<li>{}</li>").format(b) for b in bits)
    return [Html("<li>The calls rest on these assumptions:<ul>{}</ul></li>").format(items)]


def _key_findings(case: Case, criteria: list[str], folder: Path,
                  allowed: frozenset[str] | None = None) -> list[Html]:
    """The key findings' list items (the template says when there are none)."""
    labels = dict(zip(case.timeline["event_id"].astype(str), case.timeline["label"].astype(str)))
    response_table = _frame(folder / "response.csv", allowed)
    items: list[Html] = []
    if response_table is not None and not response_table.empty:
        items += _response_findings(response_table, criteria, labels)
    bor = _frame(folder / "bor.csv", allowed)
    if bor is not None and not bor.empty:
        items += _bor_findings(bor, criteria, labels)
    endpoints = _frame(folder / "endpoints.csv", allowed)
    if endpoints is not None:
        items += _endpoint_findings(endpoints[endpoints["criteria"].isin([*criteria, ""])],
                                    labels)
    marker_table = _frame(folder / "markers.csv", allowed)
    if marker_table is not None and not marker_table.empty:
        items += _marker_findings(marker_table)
    items += _score_findings(case, _frame(folder / "scores.csv", allowed))
    items += _claim_findings(_frame(folder / "claims.csv", allowed))
    items += _care_findings(_frame(folder / CARE_TABLE, allowed))
    items += _assumption_findings(case, response_table)
    return items


# ------------------------------------------------------------------ public


def _provenance(provenance: Mapping[str, Any] | None) -> dict[str, str] | None:
    """What the report was computed from: the case folder, the content hash of its files
    and the run's parameters (no paths, no times: the report is shared and reproducible)."""
    if not provenance:
        return None
    params = provenance.get("parameters") or {}
    shown = ", ".join(f"{k} = {v!r}" for k, v in sorted(params.items())) or \
        "none (the notebooks' defaults)"
    return {"case": provenance.get("case", ""), "inputs_hash": provenance.get("inputs_hash", ""),
            "parameters": shown}


def _environment():
    return render.environment(TEMPLATES)


def render_report(case: Case, out_dir: str | Path, failed: Iterable[str] = (), *,
                  files: Iterable[str] | None = None,
                  provenance: Mapping[str, Any] | None = None) -> str:
    """The report's HTML text: ``templates/report.html.j2`` filled with the case's header,
    the key findings and the evidence.

    ``files`` (paths relative to ``out_dir``), when given, are the only outputs the report
    may embed: a run passes the files its own notebooks produced, never whatever else lies
    in the folder. ``provenance`` (case, inputs_hash, parameters) adds what the report was
    computed from.
    """
    out = Path(out_dir)
    allowed = None if files is None else frozenset(files)
    criteria = applicable_criteria(case)
    return _environment().get_template("report.html.j2").render(
        title=case.title or "Untitled case", css=Html(CSS), citation=_citation(case),
        patient=patient_line(case), care=_care_section(out / "tables", allowed),
        failed=sorted(failed), provenance=_provenance(provenance),
        criteria=", ".join(criteria_name(c) for c in criteria),
        findings=_key_findings(case, criteria, out / "tables", allowed),
        figures=_figures(out / "figures", case, allowed),
        tables=_tables(out / "tables", case, allowed), assumptions=_assumptions(case),
        version=casekit.__version__, folder=Path(case.path).name,
        licence=case.fact("licence") or "")


def build_report(case_dir: str | Path, out_dir: str | Path,
                 failed: Iterable[str] = ()) -> Path:
    """Write ``OUT/report.html`` (atomically) and return its path.

    ``failed`` names notebooks that failed in this run; the report then says it is
    incomplete. Raises :class:`casekit.case.CaseError` for an invalid case.
    """
    case = load_case(case_dir)
    text = render_report(case, out_dir, failed)
    return write_bytes(Path(out_dir) / "report.html", text.encode("utf-8"))
