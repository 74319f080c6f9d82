"""The series tables: per-case results concatenated once, written and read back canonically.

A series is a handful of long tables keyed by ``subject`` (:data:`COLUMNS` gives each
table's columns and their types). :func:`combine` concatenates the per-case tables in
subject order, once per table (no repeated concatenation, so the cost is linear in the
number of cases), and :func:`canonical` passes every table through its CSV text, so that a
series analysed in this process and one read back from ``OUT/tables`` are the same frames
and show the same in a notebook.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from casekit.outputs import write_table

_T, _I, _F, _B = "text", "int", "float", "bool"
#: table -> {column: type}; the order is the order of the columns in the CSV file.
COLUMNS: dict[str, dict[str, str]] = {
    # The per-case tables of casekit.derive (same columns, same order), "subject" in front.
    "subjects": {"subject": _T, "title": _T, "cancer": _T, "criteria": _T,
                 "not_assessed": _T, "assessments": _I, "baseline_day": _I,
                 "last_assessment_day": _I, "last_day": _I, "death_day": _I,
                 "last_alive_day": _I, "reference_start_date": _T, "markers": _T,
                 "reported_calls": _I},
    "response": {"subject": _T, "event_id": _T, "criteria": _T, "day": _I,
                 "target_sum_cm": _F, "change_from_baseline_pct": _F,
                 "change_from_nadir_pct": _F, "target_response": _T,
                 "non_target_response": _T, "new_lesions": _T, "overall_response": _T,
                 "reported_response": _T},
    "bor": {"subject": _T, "criteria": _T, "confirmed": _B, "bor": _T, "event_id": _T,
            "note": _T},
    "best_change": {"subject": _T, "criteria": _T, "best_change_pct": _F, "event_id": _T,
                    "day": _I, "progression_event_id": _T, "progression_basis": _T,
                    "pd_despite_shrinkage": _B},
    "endpoints": {"subject": _T, "criteria": _T, "endpoint": _T, "event": _B,
                  "time_days": _I, "start_day": _I, "end_day": _I, "end_event_id": _T,
                  "rule": _T, "end_reason": _T},
    "markers": {"subject": _T, "event_id": _T, "test": _T, "day": _I, "value": _F,
                "unit": _T, "change_from_reference_pct": _F, "fold_from_nadir": _F,
                "kind": _T},
    # casekit.interop.concordance.case_visits of every case ("subject" is its USUBJID).
    "concordance": {"subject": _T, "evaluator": _T, "criteria": _T, "event_id": _T,
                    "day": _I, "recorded": _T, "computed": _T, "agree": _B,
                    "recorded_target": _T, "computed_target": _T, "recorded_non_target": _T,
                    "computed_non_target": _T, "rule": _T, "all_rules_call": _T},
    "excluded": {"subject": _T, "case_dir": _T, "status": _T, "reason": _T},
    "problems": {"subject": _T, "problem": _T},
}
TABLES = tuple(COLUMNS)


def _typed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The table's columns, in order, with their types (text keeps '' for empty)."""
    out = {}
    for column, kind in COLUMNS[name].items():
        values = frame[column] if column in frame else pd.Series([""] * len(frame))
        values = values.reset_index(drop=True)
        if kind == _T:
            out[column] = values.fillna("").astype(str)
        elif kind == _F:
            out[column] = pd.to_numeric(values.replace("", None), errors="raise").astype("float64")
        elif kind == _I:
            out[column] = pd.to_numeric(values.replace("", None)).astype("Int64")
        else:
            out[column] = values.map(lambda v: v if isinstance(v, bool) else
                                     {"True": True, "False": False}[str(v)]).astype(bool)
    return pd.DataFrame(out, columns=list(COLUMNS[name]))


def to_csv_text(frame: pd.DataFrame, name: str) -> str:
    return _typed(frame, name).to_csv(index=False, lineterminator="\n")


def from_csv_text(text: str, name: str) -> pd.DataFrame:
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return _typed(raw, name)


@dataclass
class SeriesTables:
    """Every table of a series, by name (see :data:`COLUMNS`)."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``folder/<table>.csv`` for every table (atomically, deterministically)."""
        return [write_table(_typed(self.frames[name], name), Path(folder) / f"{name}.csv")
                for name in TABLES]

    @classmethod
    def read(cls, folder: str | Path) -> SeriesTables:
        """The tables ``casekit series`` wrote into ``folder``."""
        folder = Path(folder)
        missing = [name for name in TABLES if not (folder / f"{name}.csv").is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: no {', '.join(m + '.csv' for m in missing)}; "
                                    "expected the tables/ folder of a 'casekit series' run")
        return cls({name: from_csv_text((folder / f"{name}.csv").read_text(encoding="utf-8"),
                                        name) for name in TABLES})


def canonical(tables: SeriesTables) -> SeriesTables:
    """The tables as they read back from their CSV files."""
    return SeriesTables({name: from_csv_text(to_csv_text(frame, name), name)
                         for name, frame in tables.frames.items()})


def combine(analyses: Iterable) -> SeriesTables:
    """One :class:`SeriesTables` from :class:`~casekit.series.analyse.CaseAnalysis` results,
    in subject order; left-out cases go to ``excluded`` (one line each) and ``problems``
    (every problem of an invalid case)."""
    ordered = sorted(analyses, key=lambda a: a.subject)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    excluded, problems = [], []
    for analysis in ordered:
        if analysis.status != "ok":
            excluded.append(dict(subject=analysis.subject, case_dir=analysis.case_dir,
                                 status=analysis.status, reason=analysis.reason))
            problems += [dict(subject=analysis.subject, problem=p) for p in analysis.problems]
            continue
        for name, frame in analysis.tables.items():
            if len(frame):
                parts[name].append(frame)
    parts["excluded"] = [pd.DataFrame(excluded)]
    parts["problems"] = [pd.DataFrame(problems)]
    frames = {}
    for name in TABLES:
        present = [p for p in parts[name] if len(p)]
        joined = pd.concat(present, ignore_index=True) if present else pd.DataFrame(
            {c: pd.Series(dtype=object) for c in COLUMNS[name]})
        frames[name] = _typed(joined, name)
    return canonical(SeriesTables(frames))
