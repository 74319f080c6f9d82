"""Sentences the series notebooks show, generated from the series' tables (never typed in)."""

from __future__ import annotations

import pandas as pd

from casekit.case.overview import plural as _plural


def cohort(tables) -> str:
    """Who is in the series, under which criteria, and who was left out."""
    subjects, excluded = tables["subjects"], tables["excluded"]
    counts: dict[str, int] = {}
    for names in subjects["criteria"]:
        for name in filter(None, str(names).split(";")):
            counts[name] = counts.get(name, 0) + 1
    unassessed: dict[str, int] = {}
    for names in subjects["not_assessed"]:
        for name in filter(None, str(names).split(";")):
            unassessed[name] = unassessed.get(name, 0) + 1
    text = (f"The series holds **{_plural(len(subjects), 'subject')}** analysed and "
            f"**{len(excluded)}** case folder(s) left out.")
    if counts:
        text += " Criteria that apply: " + ", ".join(
            f"{name} to {n}" for name, n in counts.items()) + "."
    if unassessed:
        text += (" Not yet computable by the response engine, so not summarised: "
                 + ", ".join(f"{name} for {n}" for name, n in unassessed.items()) + ".")
    return text


def rates(table: pd.DataFrame) -> str:
    """One sentence per criteria: ORR and DCR, unconfirmed and confirmed, with CIs."""
    lines = []
    for criteria, group in table.groupby("criteria", sort=True):
        parts = []
        for row in group.itertuples(index=False):
            label = f"{row.rate} ({'confirmed' if row.confirmed else 'unconfirmed'})"
            parts.append(f"{label} {row.subjects}/{row.n} = {row.percent:.1f} % "
                         f"(95 % CI {row.ci_low_pct:.1f}–{row.ci_high_pct:.1f} %)")
        lines.append(f"- **{criteria}**: " + "; ".join(parts))
    return "\n".join(lines) if lines else "No subject has a best overall response."


def medians(summary: pd.DataFrame, endpoint: str) -> str:
    """The Kaplan-Meier median of ``endpoint`` per criteria, with its CI."""
    rows = summary[summary["endpoint"] == endpoint]
    if rows.empty:
        return f"No subject has a {endpoint} time."
    parts = []
    for row in rows.itertuples(index=False):
        median = row.median_days if row.median_days in ("", "not reached") \
            else f"{row.median_days} days"
        parts.append(f"- **{row.criteria}**: {_plural(row.subjects, 'subject')}, "
                     f"{_plural(row.events, 'event')}; median {median} "
                     f"(95 % CI {row.ci_low_days or '–'} to {row.ci_high_days or '–'})")
    return "\n".join(parts)


def agreement(compared: pd.DataFrame, subjects: pd.DataFrame) -> str:
    """How many recorded calls the recomputation reproduces, and how many it could not
    compare (recorded under a criteria that does not apply or is not computable, or at an
    assessment without lesion rows)."""
    recorded = int(subjects["reported_calls"].sum())
    if not recorded:
        return "No case records its own response calls, so there is nothing to compare."
    agree = int(compared["agrees"].sum())
    text = (f"The cases record {_plural(recorded, 'response call')}; "
            f"{len(compared)} of them have a recomputed call beside them")
    text += (f", of which {agree} ({100 * agree / len(compared):.1f} %) agree."
             if len(compared) else ".")
    if recorded > len(compared):
        text += (f" The other {recorded - len(compared)} are under a criteria that does not "
                 "apply to the case (or is not computable yet) or at an assessment without "
                 "lesion rows, so they are not compared.")
    return text
