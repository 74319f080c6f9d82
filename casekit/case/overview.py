"""What a case holds: a patient summary, provenance counts and the list of assumptions."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from casekit import render
from casekit.case import Case

# Tables that carry status/source, in the order a reader meets them.
PROVENANCE_TABLES = ("facts", "timeline", "labs", "lesions")
ASSUMPTION_COLUMNS = ["table", "item", "value", "reason"]


def _item(table: str, row: Mapping, labels: dict | None = None) -> tuple[str, str]:
    """A readable name and value for one row of a case table; an event is named by its
    timeline label (``labels``), so a reader never meets a raw event id."""
    labels = labels or {}
    at = labels.get(row.get("event_id", ""), row.get("event_id", ""))
    if table == "facts":
        value = f"{row['value']} {row['unit']}".strip() if row["value"] else "(left empty)"
        return row["key"], value
    if table == "timeline":
        anchor = labels.get(row["anchor"], row["anchor"]) if row["anchor"] else "the root"
        return at, f"day {row['day']} ({row['offset_days']:+d} d from {anchor})"
    if table == "labs":
        return f"{row['test']} at {at}", f"{row['value_as_reported']} {row['unit_as_reported']}"
    size = "" if pd.isna(row["size_cm"]) else f"{row['size_cm']:g} cm {row['measure']}"
    return f"{row['lesion_id']} at {at}", size or row["assessment"]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 claim``, ``2 claims``, ``1,000 scans`` (thousands separated, as casekit writes
    counts everywhere); ``many`` for an irregular plural (``analysis``/``analyses``)."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def provenance_counts(case: Case) -> pd.DataFrame:
    """How many rows of each table are reported, derived or assumed (with a total row and column)."""
    counts = pd.DataFrame({
        name: getattr(case, name)["status"].value_counts()
        for name in PROVENANCE_TABLES
    }).T.reindex(columns=["reported", "derived", "assumed"]).fillna(0).astype("int64")
    counts.loc["all tables"] = counts.sum()
    counts["total"] = counts.sum(axis=1)
    counts.index.name = "table"
    return counts


def assumptions(case: Case) -> pd.DataFrame:
    """Every assumed value of the case, with the reason its table gives."""
    rows = []
    labels = dict(zip(case.timeline["event_id"], case.timeline["label"]))
    for name in PROVENANCE_TABLES:
        frame = getattr(case, name)
        # plain dicts, not iterrows: a big case has 100,000 assumed rows (issue 20 item 4)
        for row in frame[frame["status"] == "assumed"].to_dict("records"):
            item, value = _item(name, row, labels)
            rows.append({"table": name, "item": item, "value": value, "reason": row["source"]})
    return pd.DataFrame(rows, columns=ASSUMPTION_COLUMNS)


def markdown_text(value: object) -> str:
    """Case-provided text made safe to place inside Markdown (:func:`casekit.render.markdown`)."""
    return render.markdown(value)


def patient_summary(case: Case) -> str:
    """A one-paragraph Markdown summary built only from the facts the case states; every
    case value in it is escaped with :func:`markdown_text`."""
    facts = {key: markdown_text(value) for key, value in case.facts_dict.items()}
    who = " ".join(filter(None, [
        f"{facts['age_years']}-year-old" if "age_years" in facts else "",
        facts.get("sex", "patient"),
    ]))
    parts = [f"**{markdown_text(case.title)}**"]
    if "citation" in facts:
        parts.append(f"*{facts['citation']}*" + (f", doi:{facts['doi']}" if "doi" in facts else ""))
    details = [f"{label}: {facts[key]}" for key, label in (
        ("aetiology", "aetiology"), ("histology", "histology"),
        ("tumour_subtype", "subtype"), ("primary_site", "primary site"),
        ("t_stage", "T"), ("n_stage", "N"), ("m_stage", "M"),
        ("bclc_stage_reported", "BCLC as reported"), ("outcome", "outcome"),
    ) if key in facts]
    parts.append(f"A {who}" + ("; " + "; ".join(details) if details else "") + ".")
    return "\n\n".join(parts)
