"""Sentences about a case's response calls, generated from the computed tables.

Notebook 04 shows these instead of typed prose, so every name, call and day in
its argument is read from the case or computed (rules in
:mod:`casekit.rules.response`, :mod:`casekit.rules.irecist`,
:mod:`casekit.rules.endpoints`). They return Markdown: every value that comes from the
case (facts, event and lesion ids, the engine's notes that quote them) is escaped with
:func:`casekit.render.markdown` (``_m``), so case text is shown, never run.
"""

from __future__ import annotations

import pandas as pd

from casekit.render import markdown as _m
from casekit.rules import criteria as criteria_rules
from casekit.rules import response

_NAMES = {"RECIST1.1": "RECIST 1.1", "mRECIST": "mRECIST", "iRECIST": "iRECIST"}


def _name(criteria: str) -> str:
    return _NAMES.get(criteria, criteria)


def _join(items) -> str:
    items = list(items)
    items = [_m(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def criteria_sentence(case, chosen) -> str:
    """Which criteria apply and why (casekit.rules.criteria)."""
    why = ["RECIST 1.1 applies to every solid tumour"]
    if case.fact("criteria"):
        why = [f"the case names its criteria (criteria = {_m(case.fact('criteria'))})"]
    else:
        if "mRECIST" in chosen:
            why.append(f"mRECIST because the cancer is {_m(case.fact('cancer'))}")
        if "iRECIST" in chosen:
            drugs = criteria_rules.checkpoint_inhibitors(case.timeline)
            why.append(f"iRECIST because the timeline names the checkpoint inhibitor(s) {_join(drugs)}")
    return f"Criteria computed: **{_join([_name(c) for c in chosen])}** — {'; '.join(why)}."


def node_reading_sentence(case, options, criteria=("mRECIST",)) -> str:
    """Which nodes are read as porta hepatis nodes for mRECIST, and on what ground; empty
    when mRECIST is not among ``criteria`` (the 2 cm rule is mRECIST's alone)."""
    if "mRECIST" not in criteria:
        return ""
    nodes = options.get("porta_hepatis") or []
    if not nodes:
        return ("No lymph node is read as a porta hepatis node: under mRECIST every node follows "
                "RECIST 1.1's node rules.")
    marked = case.fact("porta_hepatis_nodes")
    reason = ""
    if marked:
        row = case.facts.loc[case.facts["key"] == "porta_hepatis_nodes"].iloc[0]
        reason = f" The case marks {_m(marked)} ({_m(row['status'])}): {_m(row['source'])}."
    return (f"Read as porta hepatis node(s) under mRECIST (malignant from 2 cm short axis, "
            f"Lencioni & Llovet 2010): {_join(nodes)}.{reason}")


def _scenario_call(sens, event_id, criteria, scenario) -> str:
    rows = sens[(sens["event_id"] == event_id) & (sens["reported_criteria"] == criteria)
                & (sens["scenario"] == scenario)]
    return str(rows["computed"].iloc[0]) if len(rows) else ""


def reported_calls_text(table: pd.DataFrame, sens: pd.DataFrame) -> str:
    """For each reported call: does the computed call agree, and on which readings
    does it depend (the scenarios of the sensitivity table that change it)?"""
    reported = table[table["reported_response"] != ""]
    if reported.empty:
        return "This case has no reported responses to compare with."
    lines = []
    for r in reported.itertuples(index=False):
        agree = "agrees with" if response._category(r.overall_response) == response._category(
            r.reported_response) else "differs from"
        line = (f"- {_m(r.event_id)} ({_name(r.criteria)}): computed **{r.overall_response}** "
                f"{agree} the authors' {r.reported_response}")
        rows = sens[(sens["event_id"] == r.event_id) & (sens["reported_criteria"] == r.criteria)]
        base = _scenario_call(sens, r.event_id, r.criteria, "as recorded")
        flips = [f"{_m(s.scenario)} → {s.computed}" for s in rows.itertuples(index=False)
                 if s.scenario != "as recorded" and s.criteria == r.criteria and s.computed != base]
        if flips:
            line += "; it changes with " + "; ".join(flips)
        else:
            line += "; no single-detail reading changes it"
        lines.append(line + ".")
    return "\n".join(lines)


def new_lesion_basis_text(assessed: pd.DataFrame) -> str:
    """What the new-lesion component of each PD rests on (the notes of
    :func:`casekit.rules.response.assess` outputs)."""
    pds = assessed[(assessed["overall_response"].isin(["PD", "iUPD", "iCPD"]))
                   & (assessed["new_lesions"] == "yes")]
    if pds.empty:
        return ""
    lines = []
    for r in pds.itertuples(index=False):
        notes = [n for n in str(r.note).split("; ") if "new" in n and "equivocal" not in n and "not counted" not in n]
        lines.append(f"- {_m(r.event_id)} ({_name(r.criteria)}) {r.overall_response}, new-lesion "
                     "component from: " + ("; ".join(_m(n) for n in notes) or "the new-lesion rows"))
    return "\n".join(lines)


def irecist_last_scan_text(lesions: pd.DataFrame, options: dict) -> str:
    """What iRECIST says of the last scan, as recorded and under the readings in
    which RECIST 1.1 calls it PD."""
    recorded = response.assess(lesions, "iRECIST", **options)
    last = recorded.iloc[-1]
    text = [f"As recorded, iRECIST calls the last scan ({_m(last['event_id'])}) "
            f"**{last['overall_response']}**."]
    readings = {
        "suspected new lesions counted": dict(count_suspected=True),
        "node growth read as unequivocal progression": dict(node_growth="unequivocal"),
    }
    for label, change in readings.items():
        frame = lesions
        opts = dict(options)
        if "node_growth" in change:
            frame = response._scenario_lesions(lesions, "as_recorded", "short", "unequivocal")
        else:
            opts.update(change)
        recist = response.assess(frame, "RECIST1.1", **opts).iloc[-1]
        irecist = response.assess(frame, "iRECIST", **opts).iloc[-1]
        if recist["overall_response"] == "PD":
            unconfirmed = "cannot be confirmed" in irecist["note"]
            text.append(
                f"With {label}, RECIST 1.1 calls it PD and iRECIST **{irecist['overall_response']}**"
                + (": an unconfirmed progression that only a later scan (4–8 weeks on, Seymour 2017) "
                   "could confirm as iCPD or reset; no later scan is reported, so it stays "
                   "unconfirmed." if unconfirmed else "."))
    return " ".join(text)


def endpoints_text(ends: pd.DataFrame) -> str:
    """One line per criteria: PFS (progression, death or censored) and response timing;
    then overall survival."""
    lines = []
    for criteria, rows in ends[ends["criteria"] != ""].groupby("criteria", sort=False):
        by = rows.set_index("endpoint")
        pfs = by.loc["PFS"]
        ended = "death" if pfs.get("end_reason") == "death" else "progression"
        what = (f"{ended} at {_m(pfs['end_event_id'])} (day {pfs['end_day']}), "
                f"{pfs['time_days']} days" if pfs["event"] else
                f"no progression or death: censored at {_m(pfs['end_event_id']) or 'the start'} "
                f"(day {pfs['end_day']}), {pfs['time_days']} days")
        line = f"- {_name(criteria)}: PFS — {what}"
        if "DOR" in by.index:
            dor = by.loc["DOR"]
            end = "death" if dor.get("end_reason") == "death" else "progression"
            line += (f"; first response at {_m(by.loc['TTR', 'end_event_id'])} ({by.loc['TTR', 'time_days']} "
                     f"days); response lasted {dor['time_days']} days"
                     + (f" to {end}" if dor["event"] else " (censored)"))
        lines.append(line + ".")
    for os_row in ends[ends["endpoint"] == "OS"].itertuples(index=False):
        lines.append(f"- Overall survival — death at {_m(os_row.end_event_id)} (day {os_row.end_day})."
                     if os_row.event else
                     f"- Overall survival — censored at {_m(os_row.end_event_id) or 'the start'} "
                     f"(day {os_row.end_day}, last known alive), {os_row.time_days} days."
                     if os_row.end_event_id else
                     "- Overall survival — the case states no death and no last day known "
                     "alive: censored at the start.")
    return "\n".join(lines)
