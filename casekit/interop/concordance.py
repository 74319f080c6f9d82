"""Concordance of recomputed RECIST 1.1 time-point responses with recorded RS calls.

For each case (one subject, one evaluator, as :func:`casekit.interop.sdtm.import_sdtm`
writes it) the overall response computed by :func:`casekit.rules.response.assess` is set
beside the recorded call at every visit. Agreement is summarised per evaluator as a
percentage, Cohen's kappa (Cohen J. Educ Psychol Meas 1960;20:37-46: kappa = (p_o - p_e) /
(1 - p_e), p_e = sum over categories of the product of the two marginal proportions) and a
confusion matrix.

Every discordant visit is explained by a NAMED rule, established by re-running the visit
with the alternative rule: a small reference calculator of RECIST 1.1 (Eisenhauer 2009)
takes switches for the simplifications of pharmaversesdtm's ``data-raw/rs_onco.R``
(:data:`RULES`); with no switch it must give the engine's call (checked at every visit),
and the explanation is the smallest set of switches that reproduces the recorded overall,
target and non-target calls. A visit no set reproduces is listed as unexplained.

Like the engine, the calculator applies RECIST 1.1 measurability at baseline (§3.1.1, §4.2):
a recorded target with a longest diameter < 10 mm, or a node with a short axis < 15 mm, is
followed as a non-target with its measurements (gone at 0 mm, a node at < 10 mm short axis;
else present, never PD by size, §4.3.3); a node < 10 mm is not disease and can only become a
new lesion (>= 15 mm, or 10-15 mm and growing, back-dated; EORTC RECIST FAQ). rs_onco.R sums
every recorded target instead: ``small_nodes_as_targets`` and ``unmeasurable_targets_kept``.
The target limits of §4.2 (5 in all, 2 per organ) are not emulated: no pharmaversesdtm subject
records more (tr_onco.R draws 5 targets at 5 consecutive, distinct locations). When sets of the
same size each reproduce a call, the first in :data:`RULES` order is named: rules that change
which lesions are summed come before rules that change how the sum is judged (a recorded call
follows from the SUMDIAM of every recorded target, so a visit that a selection rule explains is
not credited to a threshold by coincidence).

iRECIST (Seymour et al. Lancet Oncol 2017;18:e143-e152). pharmaversesdtm's recorded iRECIST
calls (``rs_onco_irecist.csv``, 26 subjects, INVESTIGATOR only) are not derived from TR:
``data-raw/rs_onco_irecist.R`` is one literal ``tibble::tribble`` of RS records typed by hand
(no computation follows it), so there is no simplified algorithm to emulate with switches. A
discordant iRECIST visit is instead classified, by :func:`_explain_irecist`, by what the typed
record is, checked against the engine (TR) and the visit's recorded RECIST 1.1 call (whose own
departure is named by :data:`RULES`); the rules of :data:`IRECIST_RULES` apply in order:

- ``rs_visit_not_tr_visit``: the record sits on a visit with no TR records but on the date of
  a TR visit (VISITNUM 10 'WEEK 18' typed for the TR's 10.1 'WEEK 18 (T)'). The import keeps
  the record's own VISITNUM (an SDTM visit is its VISITNUM; merging by date would rewrite the
  record and break export(import)); the call is compared with the engine's at the TR visit.
- ``overall_non_target_swapped``: OVRLRESP holds NON-iCR/NON-iUPD (a non-target category) and
  NTRGRESP iSD/iPR: the two were typed in each other's rows; NTRGRESP is read as the overall.
- ``ne_not_in_tr``: a typed NE where TR measures every target (the engine's target response
  and call are evaluable) and the visit's recorded RECIST 1.1 call is evaluable too. Where TR
  has a non-target NOT DONE (01-701-1383), the typed NTRGRESP NE follows it, but a target
  response PR with non-targets not all evaluated is PR (Eisenhauer 2009 Table 1; iPR), as
  the RS RECIST 1.1 record of that visit says.
- ``copies_recist11_call`` + a RECIST 1.1 rule: the typed call is the visit's RECIST 1.1 call
  with the i-prefix (PD as iUPD or iCPD) and the engine's iRECIST call is its RECIST 1.1 call
  with the i-prefix, so the discordance is the RECIST 1.1 one, named by that visit's rule.
- ``iupd_not_confirmed`` / ``icpd_not_kept``: the typed call copies the RECIST 1.1 call where
  the engine has confirmed progression (iCPD), here or earlier; the hand-typed table applies
  no iRECIST confirmation there.

The rest are listed as ``unexplained: ...`` with the typed call, the visit's recorded RECIST
1.1 call and the engine's call: typed calls that neither copy the RECIST 1.1 record nor follow
from TR (an iSD/iPR/iCR typed where RS RECIST 1.1 and TR show PD, an iCR where both show PR).
Re-running the engine under its alternative iRECIST settings (``new_lesions_hold_iupd=False``,
any confirmation window) changes none of these visits.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

#: The simplifications of rs_onco.R, each against the RECIST 1.1 rule it replaces.
RULES = {
    "pd_from_baseline": "recorded PD measured from baseline; RECIST 1.1 measures progression "
                        "from the nadir (Eisenhauer 2009 §4.3.1; rs_onco.R: 'Nadir Not Used "
                        "In PD Derivation')",
    "small_nodes_as_targets": "recorded sum keeps lymph-node targets with a short axis < 15 mm; "
                              "RECIST 1.1 cannot measure them as targets (§3.1.1, §4.2)",
    "unmeasurable_targets_kept": "recorded sum keeps non-nodal targets with a longest diameter "
                                 "< 10 mm (tr_onco.R draws diameters of 5-14 mm); RECIST 1.1 "
                                 "cannot measure them as targets and follows them as non-targets "
                                 "(§3.1.1, §4.2)",
    "missing_target_ignored": "recorded sum leaves an unmeasured target out (sum of the rest, "
                              "rs_onco.R sum(na.rm = TRUE)); RECIST 1.1 calls the target "
                              "response NE unless the rest already show PD (§4.4.2)",
    "sum_of_tr_diameter": "recorded sum adds the TR DIAMETER records, which at this visit differ "
                          "from the LDIAM/LPERP measure RECIST 1.1 uses (tr_onco.R draws each "
                          "lesion's location anew at every visit, so a lymph node per TU is "
                          "measured as a non-node there, or the reverse)",
    "no_5mm_minimum": "recorded PD ignores the 5 mm absolute minimum increase (§4.3.1)",
    "cr_needs_zero_sum": "recorded CR needs a sum of 0 (rs_onco.R PCHG <= -100); RECIST 1.1 "
                         "accepts nodal targets < 10 mm short axis (§4.3.1)",
}
#: How the hand-typed iRECIST calls of rs_onco_irecist.R depart from the engine, applied in
#: this order by :func:`_explain_irecist` (the first two repair the record, the rest explain it).
IRECIST_RULES = {
    "rs_visit_not_tr_visit": "the iRECIST RS record sits on a visit with no TR records "
                             "(rs_onco_irecist.R types VISITNUM 10 'WEEK 18' where TR and the "
                             "RECIST 1.1 RS record VISITNUM 10.1 'WEEK 18 (T)' on the same date); "
                             "compared with the engine's call at the TR visit of that date",
    "overall_non_target_swapped": "rs_onco_irecist.R types the overall and the non-target result "
                                  "in each other's RSTESTCD rows (OVRLRESP=NON-iCR/NON-iUPD, a "
                                  "non-target category; NTRGRESP=iSD/iPR); the NTRGRESP value is "
                                  "read as the overall call",
    "ne_not_in_tr": "recorded NE typed by hand (rs_onco_irecist.R; some rows say RSSTAT=NOT DONE "
                    "'Image obscured') at a visit where TR measures every target and the "
                    "recorded RECIST 1.1 call is evaluable; the engine calls NE only from TR "
                    "records missing or not done (Eisenhauer 2009 §4.4.2)",
    "copies_recist11_call": "recorded iRECIST call is the visit's recorded RECIST 1.1 call with "
                            "the i-prefix (PD as iUPD or iCPD), so it inherits that call's "
                            "departure from RECIST 1.1, named after it (rules of RULES)",
    "iupd_not_confirmed": "recorded iUPD copies the visit's RECIST 1.1 PD where the engine has "
                          "confirmed progression, here or at an earlier assessment (iCPD: "
                          "Seymour 2017 Table 2, iUPD followed by further progression at the "
                          "next assessment; every later call stays iCPD)",
    "icpd_not_kept": "recorded call copies the visit's RECIST 1.1 call (not PD) after the engine "
                     "confirmed progression (iCPD) at an earlier assessment, which it keeps for "
                     "every later call (Seymour 2017: iCPD is the date of progression)",
}
UNEXPLAINED = "unexplained"
ENGINE_MISMATCH = "unexplained: reference calculator and engine disagree"

VISIT_COLUMNS = ["subject", "evaluator", "criteria", "event_id", "day", "recorded",
                 "computed", "agree", "recorded_target", "computed_target",
                 "recorded_non_target", "computed_non_target", "rule", "all_rules_call"]

_COMPONENT = re.compile(r"RSSEQ=[0-9]+ (TRGRESP|NTRGRESP)=([^|]*?)\s*(?:\||$)")
_WORDS = {"NON-CR/NON-PD": "non-CR/non-PD"}
_DIAMETER = re.compile(r"DIAMETER=([0-9.]+) differs")


# ------------------------------------------------------------------ agreement statistics


def cohen_kappa(first, second) -> float:
    """Cohen's kappa of two raters' categorical calls (NaN when chance agreement is 1)."""
    a, b = pd.Series(list(first), dtype=object), pd.Series(list(second), dtype=object)
    n = len(a)
    if n == 0:
        return float("nan")
    observed = float((a.to_numpy() == b.to_numpy()).mean())
    pa, pb = a.value_counts() / n, b.value_counts() / n
    expected = float(sum(pa.get(k, 0.0) * pb.get(k, 0.0) for k in set(pa.index) | set(pb.index)))
    if expected == 1.0:
        return float("nan")
    return (observed - expected) / (1.0 - expected)


# ------------------------------------------------------------------ reference calculator

_NORMAL_NODE, _NODE_TARGET, _MEASURABLE = 100, 150, 100  # tenths of a mm (§3.1.1-3.1.2)
_PD_PCT, _PR_PCT, _PD_ABS = 20, 30, 50  # %, %, tenths of a mm (§4.3.1)


def _overall(target: str, non_target: str, new: str) -> str:
    """RECIST 1.1 §4.4.1 (Tables 1 and 2), which rs_onco.R's OVRLRESP also follows."""
    if new == "yes" or "PD" in (target, non_target):
        return "PD"
    if target == "NA":
        return {"NA": "NE"}.get(non_target, non_target)
    if target == "CR":
        return "CR" if non_target in ("CR", "NA") else "PR"
    if target == "NE":
        return "NE"
    return target  # PR or SD whatever the non-PD non-target call


def reference_calls(lesions: pd.DataFrame, rules=frozenset()) -> dict[str, tuple[str, str, str]]:
    """(target, non_target, overall) per follow-up event under RECIST 1.1 (Eisenhauer 2009
    §3.1.1, §4.2, §4.3.1-4.3.5, §4.4.1-4.4.2) with the simplifications in ``rules`` switched
    on (keys of :data:`RULES`)."""
    rows = lesions.sort_values("day", kind="stable")
    order = rows.drop_duplicates("event_id")[["event_id", "day"]]
    events = list(order["event_id"])
    sizes: dict[tuple, dict] = {}
    states: dict[tuple, set] = {}
    for r in rows.itertuples(index=False):
        key = (r.event_id, r.lesion_id)
        sizes.setdefault(key, {})
        states.setdefault(key, set())
        if r.measure and not np.isnan(r.size_cm):
            recorded = _DIAMETER.search(r.source) if "sum_of_tr_diameter" in rules else None
            # DIAMETER is in mm (tenths of a mm = x 10); size_cm x 100 is tenths of a mm.
            sizes[key][r.measure] = (int(round(float(recorded.group(1)) * 10)) if recorded
                                     else int(round(r.size_cm * 100)))
        if r.assessment:
            states[key].add(r.assessment)
    base = events[0]
    at_base = rows[rows["event_id"] == base].drop_duplicates("lesion_id")
    kind = dict(zip(rows["lesion_id"], rows["kind"]))
    targets, nodes, non_targets, watched = {}, set(), [], {}

    def size(event, lesion, measure):
        if (event, lesion) not in sizes:
            return None
        if "absent" in states[(event, lesion)]:
            return 0
        return sizes[(event, lesion)].get(measure)

    for r in at_base.itertuples(index=False):
        if r.role == "new":
            continue
        measure = "short_axis" if r.kind == "lymph_node" else "longest"
        value = size(base, r.lesion_id, measure)
        if r.kind == "lymph_node":
            nodes.add(r.lesion_id)
            if value is not None and value < _NORMAL_NODE and "small_nodes_as_targets" not in rules:
                watched[r.lesion_id] = value  # not disease (§3.1.2): only a possible new lesion
                continue
            measurable = value is not None and (value >= _NODE_TARGET
                                                or "small_nodes_as_targets" in rules)
        else:
            measurable = value is not None and (value >= _MEASURABLE
                                                or "unmeasurable_targets_kept" in rules)
        if r.role == "target" and measurable:
            targets[r.lesion_id] = measure
        else:
            non_targets.append(r.lesion_id)  # a demoted target keeps its measurements

    def gone(event, lesion):
        """§4.3.3: absent; measured 0 (non-nodal) or a node < 10 mm short axis."""
        s, measured = states[(event, lesion)], sizes[(event, lesion)]
        if "absent" in s:
            return True
        if s & {"present", "unequivocal_progression"}:
            return False
        if lesion in nodes:
            return measured.get("short_axis", _NORMAL_NODE) < _NORMAL_NODE
        return bool(measured) and not any(measured.values())

    base_sum = sum(size(base, lesion, m) for lesion, m in targets.items())
    nadir = base_sum
    counted = _watched_nodes(events, watched, lambda e, lesion: None if "absent" in states.get(
        (e, lesion), ()) else size(e, lesion, "short_axis"))
    out = {}
    for event in events[1:]:
        target = "NA"
        values = {}
        if targets:
            values = {lesion: size(event, lesion, m) for lesion, m in targets.items()}
            measured = [v for v in values.values() if v is not None]
            total = sum(measured)
            missing = len(measured) < len(values)
            reference = base_sum if "pd_from_baseline" in rules else nadir
            increase = total - reference
            progression = increase * 100 >= _PD_PCT * reference and (
                increase >= _PD_ABS or "no_5mm_minimum" in rules)
            if missing and "missing_target_ignored" not in rules:
                target = "PD" if progression else "NE"
            elif progression:
                target = "PD"
            elif (total == 0 if "cr_needs_zero_sum" in rules else all(
                    (v < _NORMAL_NODE if lesion in nodes else v == 0)
                    for lesion, v in values.items() if v is not None)):
                target = "CR"
            elif (base_sum - total) * 100 >= _PR_PCT * base_sum:
                target = "PR"
            else:
                target = "SD"
            if not missing:
                nadir = min(nadir, total)
        non_target = "NA"
        if non_targets:
            found = [(lesion, states.get((event, lesion))) for lesion in non_targets]
            if any(s and "unequivocal_progression" in s for _, s in found):
                non_target = "PD"
            elif any(s is None or (not s and not sizes.get((event, lesion))) for lesion, s in found):
                non_target = "NE"
            elif all(gone(event, lesion) for lesion, _ in found):
                non_target = "CR"
            else:
                non_target = "non-CR/non-PD"
        new = "no"
        for (e, lesion), s in states.items():
            if e == event and lesion not in targets and lesion not in non_targets and \
                    lesion not in watched and s & {"present", "unequivocal_progression"}:
                new = "yes"
        if counted.get(event):
            new = "yes"
        overall = _overall(target, non_target, new)
        out[event] = (target, non_target, overall)
    return out


def _watched_nodes(events, watched, short_axis) -> dict[str, bool]:
    """Follow-up events where a node that was not disease at baseline (< 10 mm) counts as a
    new lesion (EORTC RECIST FAQ "New lymph node lesions"): at >= 15 mm short axis, or at
    10-15 mm when it grew since an earlier 10-15 mm reading; a 10-15 mm reading confirmed
    by a later count is progression back-dated to it (Eisenhauer 2009 §4.3.5)."""
    counted = {event: False for event in events[1:]}
    for lesion in watched:
        status, previous = {}, None
        for event in events[1:]:
            value = short_axis(event, lesion)
            if value is None:
                continue
            if value >= _NODE_TARGET or (previous is not None and _NORMAL_NODE <= previous < value):
                status[event] = "counted"
            elif value >= _NORMAL_NODE:
                status[event] = "equivocal"
            previous = value
        later = [event for event in events[1:] if status.get(event) == "counted"]
        for event in events[1:]:
            if status.get(event) == "counted" or (
                    status.get(event) == "equivocal" and any(events.index(e) > events.index(event)
                                                             for e in later)):
                counted[event] = True
    return counted


def _explain(lesions, event, recorded, engine_call, cache) -> str:
    """The smallest set of RULES that reproduces the recorded calls at ``event``."""
    if frozenset() not in cache:
        cache[frozenset()] = reference_calls(lesions)
    if cache[frozenset()].get(event, ("", "", ""))[2] != engine_call:
        return ENGINE_MISMATCH
    names = list(RULES)
    for k in range(1, len(names) + 1):
        for combo in itertools.combinations(names, k):
            rules = frozenset(combo)
            if rules not in cache:
                cache[rules] = reference_calls(lesions, rules)
            target, non_target, overall = cache[rules].get(event, ("", "", ""))
            wanted_t, wanted_nt, wanted = recorded
            if overall == wanted and (not wanted_t or wanted_t == target) and \
                    (not wanted_nt or wanted_nt == non_target):
                return " + ".join(combo)
    return UNEXPLAINED


_I_PREFIX = {"CR": "iCR", "PR": "iPR", "SD": "iSD", "non-CR/non-PD": "non-iCR/non-iUPD",
             "NE": "NE"}


def _explain_irecist(row: dict, recist: dict, same_day: dict) -> str:
    """The named rules (:data:`IRECIST_RULES`) that account for one discordant iRECIST visit.

    ``row``: recorded / computed calls of the visit (``recorded``, ``computed``,
    ``computed_target``, ``recorded_non_target``); ``recist``: event_id -> the RECIST 1.1 concordance row
    (recorded, computed, rule) of the case; ``same_day``: event_id -> (event_id, iRECIST
    call) of the event with TR records on the same day. rs_onco_irecist.R types every call by
    hand (no derivation from TR), so nothing can be re-run: each rule is a check of what the
    typed record is, against the TR data and the recorded RECIST 1.1 call of the visit.
    """
    rules = []
    event, recorded, computed = row["event_id"], row["recorded"], row["computed"]
    if not computed:
        if event not in same_day:
            return f"{UNEXPLAINED}: no TR assessment at this visit or on its date"
        event, computed = same_day[event]
        rules.append("rs_visit_not_tr_visit")
    if recorded == "non-iCR/non-iUPD" and row["recorded_non_target"] in ("iSD", "iPR"):
        recorded = row["recorded_non_target"]
        rules.append("overall_non_target_swapped")
    if recorded == computed:
        return " + ".join(rules)
    r11 = recist.get(event, {})
    r11_recorded, r11_computed = r11.get("recorded", ""), r11.get("computed", "")
    if recorded == "NE" and row.get("computed_target") != "NE" and r11_recorded not in ("", "NE"):
        return " + ".join(rules + ["ne_not_in_tr"])
    copies = recorded == _I_PREFIX.get(r11_recorded) or (
        r11_recorded == "PD" and recorded in ("iUPD", "iCPD"))
    engine_copies = computed == _I_PREFIX.get(r11_computed) or (
        r11_computed == "PD" and computed in ("iUPD", "iCPD"))
    if copies and engine_copies and r11_recorded != r11_computed and \
            not r11.get("rule", "").startswith(UNEXPLAINED):
        return " + ".join(rules + ["copies_recist11_call", r11["rule"]])
    if copies and computed == "iCPD":
        return " + ".join(rules + ["iupd_not_confirmed" if recorded == "iUPD" else "icpd_not_kept"])
    repaired = f" ({' + '.join(rules)})" if rules else ""
    return (f"{UNEXPLAINED}{repaired}: typed {recorded} is neither the visit's recorded RECIST 1.1 "
            f"call ({r11_recorded or 'none'}) nor what TR shows (engine {computed})")


# ------------------------------------------------------------------ per case and overall


def _load(case):
    from casekit.case import load_case

    return load_case(case) if isinstance(case, (str, Path)) else case


def case_visits(case, criteria: str, response: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per call the case records under ``criteria`` (:data:`VISIT_COLUMNS`), beside
    the recomputed call of ``response`` - the case's derived response table
    (:func:`casekit.derive.derive_case`), derived here when not given - with the rule that
    explains a disagreement."""
    recorded = case.responses[case.responses["criteria"] == criteria]
    if recorded.empty:
        return pd.DataFrame(columns=VISIT_COLUMNS)
    if response is None:
        from casekit.derive import derive_case

        response = derive_case(case).response
    assessed = response[response["criteria"] == criteria].set_index("event_id")
    subject = case.fact("usubjid", case.path.name)
    evaluator = case.fact("evaluator_id") or case.fact("evaluator", "")
    days = case.timeline.set_index("event_id")["day"]
    cache: dict = {}
    # Every simplification at once emulates rs_onco.R: how often does it give the recorded call?
    emulated = reference_calls(case.lesions, frozenset(RULES)) if criteria == "RECIST1.1" else {}
    recist, same_day = {}, {}
    if criteria == "iRECIST":
        recist = case_visits(case, "RECIST1.1", response).set_index("event_id").to_dict("index")
        by_day = {int(days[e]): e for e in assessed.index if e in days.index}
        for e in recorded["event_id"]:
            other = by_day.get(int(days[e]))
            if e not in assessed.index and other is not None:
                same_day[e] = (other, str(assessed.loc[other, "overall_response"]))
    rows = []
    for r in recorded.itertuples(index=False):
        parts = dict(_COMPONENT.findall(r.source))
        rec_t = _WORDS.get(parts.get("TRGRESP", ""), parts.get("TRGRESP", ""))
        rec_nt = _WORDS.get(parts.get("NTRGRESP", ""), parts.get("NTRGRESP", ""))
        if r.event_id in assessed.index:
            a = assessed.loc[r.event_id]
            computed, comp_t, comp_nt = (str(a["overall_response"]), str(a["target_response"]),
                                         str(a["non_target_response"]))
        else:
            computed = comp_t = comp_nt = ""
        agree = computed == r.category
        rule = ""
        if not agree and criteria == "iRECIST":
            rule = _explain_irecist(dict(event_id=r.event_id, recorded=r.category,
                                         computed=computed, computed_target=comp_t,
                                         recorded_non_target=rec_nt),
                                    recist, same_day)
        elif not agree:
            rule = (_explain(case.lesions, r.event_id, (rec_t, rec_nt, r.category), computed, cache)
                    if criteria == "RECIST1.1" and computed else UNEXPLAINED)
        rows.append((subject, evaluator, criteria, r.event_id, int(days[r.event_id]), r.category,
                     computed, agree, rec_t, comp_t, rec_nt, comp_nt, rule,
                     emulated.get(r.event_id, ("", "", ""))[2]))
    return pd.DataFrame(rows, columns=VISIT_COLUMNS)


def concordance(cases, criteria: str = "RECIST1.1") -> dict[str, pd.DataFrame]:
    """Recorded vs recomputed time-point responses for ``cases`` (folders or loaded cases).

    Returns ``visits`` (one row per recorded call, with the explaining rule of a
    disagreement), ``summary`` (per evaluator: visits, agreement %, Cohen's kappa,
    discordant, unexplained), ``confusion`` (per evaluator: recorded x computed counts) and
    ``rules`` (per evaluator: discordant visits per explaining rule). ``all_rules_call`` /
    ``all_rules_reproduce``: the call with every rule of :data:`RULES` switched on (an
    emulation of rs_onco.R) and how many recorded calls it reproduces (RECIST 1.1 only).
    iRECIST discordances are classified by :data:`IRECIST_RULES`.
    """
    frames = [case_visits(_load(c), criteria) for c in cases]
    visits = pd.concat([f for f in frames if not f.empty] or [pd.DataFrame(columns=VISIT_COLUMNS)],
                       ignore_index=True)
    return summarise(visits, criteria)


def summarise(visits: pd.DataFrame, criteria: str = "RECIST1.1") -> dict[str, pd.DataFrame]:
    """The tables of :func:`concordance` from its ``visits`` (rows of :func:`case_visits`,
    e.g. a series' ``concordance`` table), for ``criteria``."""
    visits = visits[visits["criteria"] == criteria]
    visits = visits.sort_values(["evaluator", "subject", "day"], kind="stable").reset_index(drop=True)
    summary_rows, confusion, rules = [], [], []
    for evaluator, group in visits.groupby("evaluator", sort=True):
        n = len(group)
        agree = int(group["agree"].sum())
        summary_rows.append(dict(
            evaluator=evaluator, criteria=criteria, subjects=group["subject"].nunique(),
            visits=n, agree=agree, agreement_pct=round(100.0 * agree / n, 1) if n else np.nan,
            kappa=round(cohen_kappa(group["recorded"], group["computed"]), 3),
            discordant=n - agree,
            unexplained=int(group["rule"].str.startswith(UNEXPLAINED).sum()),
            all_rules_reproduce=int((group["all_rules_call"] == group["recorded"]).sum())))
        counts = group.groupby(["recorded", "computed"]).size()
        confusion += [dict(evaluator=evaluator, recorded=r, computed=c, visits=int(v))
                      for (r, c), v in counts.items()]
        for rule, v in group.loc[~group["agree"], "rule"].value_counts().sort_index().items():
            rules.append(dict(evaluator=evaluator, rule=rule, visits=int(v),
                              meaning="; ".join({**RULES, **IRECIST_RULES}.get(x, x)
                                                for x in rule.split(" + "))))
    return {"visits": visits, "summary": pd.DataFrame(summary_rows),
            "confusion": pd.DataFrame(confusion, columns=["evaluator", "recorded", "computed",
                                                          "visits"]),
            "rules": pd.DataFrame(rules, columns=["evaluator", "rule", "visits", "meaning"])}


DEFAULT_EVALUATORS = ("INVESTIGATOR", "RADIOLOGIST 1", "RADIOLOGIST 2")


def concordance_command(cases, out_dir, sdtm_dir=None, evaluators=None, subjects=None,
                        echo: Callable[[str], None] = print) -> dict[str, pd.DataFrame]:
    """``casekit concordance``: import (with ``sdtm_dir``) and write the tables to ``out_dir``:
    ``concordance_visits.csv``, ``_summary``, ``_confusion``, ``_rules`` (RECIST 1.1), and
    ``concordance_irecist_*.csv`` for the cases with recorded iRECIST calls (returned: the
    RECIST 1.1 tables).
    ``out_dir`` follows :mod:`casekit.owned` (checked before anything is imported or
    written: the case folders and ``sdtm_dir`` are its inputs); the imported cases are
    ``import-sdtm`` folders of their own inside it."""
    from casekit.interop.sdtm import import_sdtm, safe_name
    from casekit.owned import OwnedFolder

    case_dirs = [Path(c) for c in cases or []]
    inputs = [(c, "a case folder") for c in case_dirs]
    inputs += [(sdtm_dir, "the SDTM folder")] if sdtm_dir is not None else []
    owned = OwnedFolder.open(out_dir, "concordance", inputs, echo=echo)
    out_dir = Path(out_dir)
    if not case_dirs and sdtm_dir is None:
        raise ValueError("no case folders: give CASE_DIR arguments or --sdtm SDTM_DIR")
    if sdtm_dir is not None:
        owned.begin()  # the imports write into OUT: from now on it is known as ours
        for evaluator in evaluators or DEFAULT_EVALUATORS:
            echo(f"importing {evaluator}")
            summary = import_sdtm(sdtm_dir, out_dir / "cases" / safe_name(evaluator),
                                  evaluator=evaluator, subjects=subjects, echo=echo)
            case_dirs += summary.imported
    if not case_dirs:
        raise ValueError("no case folders: give CASE_DIR arguments or --sdtm SDTM_DIR")
    from casekit.case import load_case

    loaded = [load_case(c) for c in case_dirs]
    tables = concordance(loaded, "RECIST1.1")
    for name, frame in tables.items():
        owned.write_table(frame, out_dir / f"concordance_{name}.csv")
    for r in tables["summary"].itertuples(index=False):
        echo(f"RECIST 1.1, {r.evaluator}: {r.visits} visits, agreement {r.agreement_pct} %, "
             f"kappa {r.kappa}, discordant {r.discordant}, unexplained {r.unexplained}")
    irecist = concordance([c for c in loaded if (c.responses["criteria"] == "iRECIST").any()],
                          "iRECIST")
    for name, frame in irecist.items():
        owned.write_table(frame, out_dir / f"concordance_irecist_{name}.csv")
    echo(f"iRECIST: {len(irecist['visits'])} visits compared")
    for r in irecist["summary"].itertuples(index=False):
        echo(f"iRECIST, {r.evaluator}: {r.visits} visits, agreement {r.agreement_pct} %, "
             f"kappa {r.kappa}, discordant {r.discordant}, unexplained {r.unexplained}")
    owned.commit()
    return tables
