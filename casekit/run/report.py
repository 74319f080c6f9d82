"""``OUT/report.html``: one self-contained page a clinician can open or attach to an e-mail.

Built from the case (title, citation, patient, assumptions) and from whatever the
notebooks left in ``OUT/figures`` and ``OUT/tables``: figures are embedded as base64 data
URIs (PNG preferred, SVG otherwise), tables become HTML tables, and anything expected but
absent is named as "not produced for this case". Inline CSS, no scripts, no network
references, no timestamps: the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


import casekit
from casekit.case import overview
from casekit.case import Case, load_case
from casekit.outputs import write_bytes

# Figures the collection produces, in reading order; any other figure follows, sorted.
EXPECTED_FIGURES = ("timeline", "markers", "viral_load", "spider", "lung_dose", "forest")
FIGURE_TITLES = {
    "timeline": "Course of care",
    "markers": "Tumour markers (AFP, PIVKA-II)",
    "viral_load": "HBV DNA",
    "spider": "Tumour size over time",
    "lung_dose": "TARE lung dose",
    "forest": "Trial context",
}
# Preference among a figure's files: PNG displays everywhere, also in e-mail previews.
FIGURE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
                ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}
EXPECTED_TABLES = ("response", "markers", "scores", "claims")
TABLE_TITLES = {
    "response": "Tumour response, recomputed",
    "markers": "Tumour markers",
    "scores": "Liver function and staging scores",
    "claims": "The paper's claims, recomputed",
}
MISSING = "not produced for this case"

CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1b1b1b;
max-width:62rem;margin:0 auto;padding:1.5rem;line-height:1.45}
h1{font-size:1.5rem;margin:0 0 .4rem}h2{font-size:1.2rem;margin-top:2rem;
border-bottom:1px solid #ccc;padding-bottom:.2rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
.citation,.patient{margin:.2rem 0;color:#333}.patient{font-weight:600}
nav{margin:1rem 0;font-size:.9rem}nav a{margin-right:1rem;color:#1a4f8b}
figure{margin:1rem 0}figure img{max-width:100%;height:auto;border:1px solid #e3e3e3}
figcaption{font-size:.9rem;color:#444}.missing{color:#8a5a00;font-style:italic}
.banner{background:#fdecea;border:1px solid #d93025;padding:.6rem .8rem;margin:1rem 0}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.85rem;margin:.4rem 0}
th,td{border:1px solid #d0d0d0;padding:.25rem .45rem;text-align:left;vertical-align:top}
th{background:#f1f3f5}tr:nth-child(even) td{background:#fafafa}td.num{text-align:right;
font-variant-numeric:tabular-nums}.st-pass,.st-ok,.st-reproduced,.st-true{color:#176b2c;
font-weight:600}.st-fail,.st-does_not_reproduce,.st-false{color:#b3261e;font-weight:600}
.st-known_difference,.st-not_computable,.st-assumed{color:#8a5a00}
footer{margin-top:2.5rem;font-size:.8rem;color:#555;border-top:1px solid #ccc;
padding-top:.5rem}@media print{nav{display:none}h2{page-break-after:avoid}}
"""

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?%?")
_STATUS_COLUMNS = ("status", "result", "verdict", "check", "agrees", "outcome")


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _title_of(stem: str, titles: dict[str, str]) -> str:
    return titles.get(stem, stem.replace("_", " ").capitalize())


# ------------------------------------------------------------------ pieces


def _header(case: Case) -> list[str]:
    parts = [f"<h1>{_e(case.title or 'Untitled case')}</h1>"]
    cite = [x for x in (case.fact("citation"), case.fact("doi")) if x]
    if cite:
        doi = case.fact("doi")
        shown = [_e(c if c != doi else f"doi:{c}") for c in cite]
        parts.append(f'<p class="citation">{" · ".join(shown)}</p>')
    patient = patient_line(case)
    if patient:
        parts.append(f'<p class="patient">{_e(patient)}</p>')
    return parts


def patient_line(case: Case) -> str:
    """``Patient: 43-year-old male; aetiology: HBV`` from the facts that exist ('' if none)."""
    age, sex = case.fact("age_years"), case.fact("sex")
    who = " ".join(x for x in (f"{age}-year-old" if age else None, sex) if x)
    bits = [who] if who else []
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


def _figures(folder: Path, allowed: frozenset[str] | None = None) -> list[str]:
    files = _figure_files(folder, allowed)
    parts = ['<h2 id="figures">Figures</h2>']
    for stem in _ordered(EXPECTED_FIGURES, files):
        title = _title_of(stem, FIGURE_TITLES)
        if stem not in files:
            parts.append(f'<h3>{_e(title)}</h3><p class="missing">Figure '
                         f'&ldquo;{_e(stem)}&rdquo;: {MISSING}.</p>')
            continue
        path = files[stem]
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        mime = FIGURE_TYPES[path.suffix.lower()]
        parts.append(f'<h3>{_e(title)}</h3><figure><img alt="{_e(title)}" '
                     f'src="data:{mime};base64,{data}">'
                     f'<figcaption>{_e(path.name)}</figcaption></figure>')
    return parts


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    return (rows[0], rows[1:]) if rows else ([], [])


def html_table(header: list[str], rows: list[list[str]]) -> str:
    """An escaped HTML table; numbers right-aligned, status-like cells classed by value."""
    status_cols = {i for i, h in enumerate(header) if h.strip().lower() in _STATUS_COLUMNS}
    out = ['<div class="scroll"><table><thead><tr>']
    out += [f"<th>{_e(h)}</th>" for h in header]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            classes = []
            if _NUMBER.fullmatch(cell.strip()):
                classes.append("num")
            if i in status_cols and cell.strip():
                slug = re.sub(r"[^a-z0-9_]+", "_", cell.strip().lower())
                classes.append(f"st-{slug}")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            out.append(f"<td{attr}>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _tables(folder: Path, allowed: frozenset[str] | None = None) -> list[str]:
    present = sorted(p.stem for p in _selected(folder, allowed)
                     if p.suffix == ".csv" and not p.name.startswith("."))
    parts = ['<h2 id="tables">Tables</h2>']
    for stem in _ordered(EXPECTED_TABLES, present):
        title = _title_of(stem, TABLE_TITLES)
        path = folder / f"{stem}.csv"
        parts.append(f"<h3>{_e(title)} <small>({_e(stem)}.csv)</small></h3>")
        if stem not in present or not path.is_file():
            parts.append(f'<p class="missing">Table &ldquo;{_e(stem)}.csv&rdquo;: '
                         f"{MISSING}.</p>")
            continue
        header, rows = _read_csv(path)
        if header and "outcome" in header:
            noun = "claims" if stem == "claims" else "rows"
            parts.append(f"<p>{_e(outcome_summary(header, rows, noun))}</p>")
        parts.append(html_table(header, rows) if header else
                     '<p class="missing">(empty table)</p>')
    return parts


def outcome_summary(header: list[str], rows: list[list[str]], noun: str = "rows") -> str:
    """``28 claims: 27 reproduced, 1 known difference`` (most frequent first)."""
    column = header.index("outcome")
    counts: dict[str, int] = {}
    for row in rows:
        value = row[column] if column < len(row) else ""
        counts[value or "(none)"] = counts.get(value or "(none)", 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return f"{len(rows)} {noun}: " + ", ".join(f"{n} {value}" for value, n in ranked)


def _assumptions(case: Case) -> list[str]:
    rows = overview.assumptions(case)
    parts = ['<h2 id="assumptions">Assumptions</h2>']
    if rows.empty:
        parts.append("<p>The case marks no value as assumed.</p>")
        return parts
    parts.append(f"<p>{len(rows)} value(s) are not stated by the paper; each was chosen "
                 "for the reason given.</p>")
    parts.append(html_table(list(rows.columns), rows.astype(str).values.tolist()))
    return parts


# ------------------------------------------------------------------ public


def provenance_block(provenance: Mapping[str, Any] | None) -> list[str]:
    """What the report was computed from: the case folder, the content hash of its files
    and the run's parameters (no paths, no times: the report is shared and reproducible)."""
    if not provenance:
        return []
    params = provenance.get("parameters") or {}
    shown = ", ".join(f"{k} = {v!r}" for k, v in sorted(params.items())) or \
        "none (the notebooks' defaults)"
    return ['<p class="provenance"><strong>Computed from</strong> the case folder '
            f'&ldquo;{_e(provenance.get("case", ""))}&rdquo;, inputs hash '
            f'<code>sha256:{_e(provenance.get("inputs_hash", ""))}</code>; '
            f"parameters: {_e(shown)}.</p>"]


def render_report(case: Case, out_dir: str | Path, failed: Iterable[str] = (), *,
                  files: Iterable[str] | None = None,
                  provenance: Mapping[str, Any] | None = None) -> str:
    """The report's HTML text.

    ``files`` (paths relative to ``out_dir``), when given, are the only outputs the report
    may embed: a run passes the files its own notebooks produced, never whatever else lies
    in the folder. ``provenance`` (case, inputs_hash, parameters) adds
    :func:`provenance_block`.
    """
    out = Path(out_dir)
    allowed = None if files is None else frozenset(files)
    title = case.title or "Untitled case"
    body = _header(case)
    body.append('<nav><a href="#figures">Figures</a><a href="#tables">Tables</a>'
                '<a href="#assumptions">Assumptions</a></nav>')
    failed = sorted(failed)
    if failed:
        body.append('<div class="banner"><strong>Incomplete run.</strong> These notebooks '
                    "failed, so some results below may be missing or stale: "
                    + ", ".join(_e(n) for n in failed) + ".</div>")
    body += provenance_block(provenance)
    body += _figures(out / "figures", allowed)
    body += _tables(out / "tables", allowed)
    body += _assumptions(case)
    licence = case.fact("licence")
    footer = (f"Generated by casekit {_e(casekit.__version__)} from the case folder "
              f"&ldquo;{_e(Path(case.path).name)}&rdquo;. Every number above is recomputed "
              "from the case's tables by the notebook collection; the executed notebooks "
              "are in notebooks/ beside this file.")
    if licence:
        footer += f" Source article licence: {_e(licence)}."
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body)
            + f"\n<footer>{footer}</footer>\n</body>\n</html>\n")


def build_report(case_dir: str | Path, out_dir: str | Path,
                 failed: Iterable[str] = ()) -> Path:
    """Write ``OUT/report.html`` (atomically) and return its path.

    ``failed`` names notebooks that failed in this run; the report then says it is
    incomplete. Raises :class:`casekit.case.CaseError` for an invalid case.
    """
    case = load_case(case_dir)
    text = render_report(case, out_dir, failed)
    return write_bytes(Path(out_dir) / "report.html", text.encode("utf-8"))
