"""iRECIST time-point responses (Seymour L, Bogaerts J, Perrone A, et al. iRECIST:
guidelines for response criteria for use in trials testing immunotherapeutics.
Lancet Oncol 2017;18:e143-e152; below "S2017"), with the EORTC iRECIST FAQ
(recist.eortc.org/irecist).

Rules, as implemented:

- Lesions, measures, target response and non-target response are RECIST 1.1's
  (S2017 "Assessment of target, non-target and new lesions" - RECIST 1.1 rules
  apply), computed by :func:`casekit.rules.timepoint.evaluate`; calls carry the
  i-prefix: iCR, iPR, iSD, non-iCR/non-iUPD, iUPD (unconfirmed progression),
  iCPD (confirmed progression), NE.
- New lesions (S2017 panel 2): each new lesion is, at its first appearance,
  new-lesion-target (NLT: measurable by RECIST 1.1 §3.1.1, at most 5 in all
  and 2 per organ) or new-lesion-non-target (NLNT). The NLT sum is measured
  separately and never added to the target sum (it is in the note).
- RECIST 1.1 PD (target >= 20 % and >= 5 mm above the nadir, unequivocal
  non-target progression, or a new lesion) is iUPD.
- Confirmation (S2017 Table 2; FAQ "How do new lesions define progression?",
  "If iUPD is driven by non-target disease"): at the next assessment (expected
  4-8 weeks later: ``confirm_window_days``; outside it the call is still made
  and the note says so) iUPD becomes iCPD when, compared with the first iUPD
  of the sequence (increases are additive): the target sum rose further by
  >= 5 mm; a measured non-target rose (need not be unequivocal); the NLT sum
  rose >= 5 mm or an NLNT grew; another new lesion appeared; or progression
  appears in a category that did not trigger the iUPD.
- Not confirmed: the call stays iUPD while the target or non-target disease
  still meets RECIST 1.1 PD, or (``new_lesions_hold_iupd``, default True)
  while the new lesions that triggered it are still present - the FAQ allows
  either reading ("each subsequent TP response remains iUPD" or "iSD, iPR");
  otherwise the bar is reset (S2017: "iUPD ... followed by iSD, iPR or iCR"):
  the call is read afresh, the new lesions seen so far become part of the
  reference, and a new iUPD needs new progression (further new lesions, or the
  NLT sum >= 20 % and >= 5 mm above its nadir).
- After an iCR, a lesion that reappears (the RECIST 1.1 rule of the EORTC FAQ,
  see :func:`casekit.rules.response.assess`) is iUPD.
- An NE assessment after iUPD neither confirms nor resets: iUPD is confirmed
  at the next evaluable one. After iCPD every later call is iCPD.
- Clinical stability (S2017: treatment continued beyond iUPD only in
  clinically stable patients) is not recorded in the case format and not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from casekit.rules import lesions as L
from casekit.rules import timepoint  # the shared RECIST 1.1 time-point engine

_I_OVERALL = {"CR": "iCR", "PR": "iPR", "SD": "iSD", "non-CR/non-PD": "non-iCR/non-iUPD",
              "PD": "iUPD", "NE": "NE"}
_I_TARGET = {"CR": "iCR", "PR": "iPR", "SD": "iSD", "PD": "iUPD", "NE": "NE", "NA": "NA"}
_I_NON_TARGET = {"CR": "iCR", "non-CR/non-PD": "non-iCR/non-iUPD", "PD": "iUPD", "NE": "NE",
                 "NA": "NA"}
_FIVE_MM = 50  # tenths of a millimetre


@dataclass
class _Pending:
    """The first iUPD of an unconfirmed sequence, what later scans are compared with."""

    event_id: str
    day: int
    triggers: set
    target_sum: int | None
    nlt_sum: int
    new_ids: set
    nlnt_sizes: dict
    non_target_sizes: dict


@dataclass
class _NewLesionBook:
    """NLT / NLNT categories, fixed at each new lesion's first appearance (S2017 panel 2)."""

    category: dict = field(default_factory=dict)  # lesion_id -> "NLT" / "NLNT"

    def classify(self, plan, now: dict, max_nlt: int, max_per_organ: int) -> None:
        for lid, lesion in now.items():
            if lesion.status != "counted" or lid in self.category:
                continue
            kind = plan.kinds.get(lid, "")
            limit = L.tenths(L.NODE_MEASURABLE_CM if kind == "lymph_node" else L.MEASURABLE_CM)
            organ = L.organ(kind, plan.sites.get(lid, ""))
            nlt = [k for k, c in self.category.items() if c == "NLT"]
            in_organ = sum(L.organ(plan.kinds.get(k, ""), plan.sites.get(k, "")) == organ for k in nlt)
            measurable = lesion.size is not None and lesion.size >= limit
            self.category[lid] = ("NLT" if measurable and len(nlt) < max_nlt
                                  and in_organ < max_per_organ else "NLNT")

    def sums(self, now: dict) -> tuple[int, dict]:
        nlt = sum(x.size or 0 for lid, x in now.items()
                  if x.status == "counted" and self.category.get(lid) == "NLT")
        nlnt = {lid: x.size for lid, x in now.items()
                if x.status == "counted" and self.category.get(lid) == "NLNT" and x.size is not None}
        return nlt, nlnt


def _measured_non_targets(plan, found, event_id) -> dict:
    out = {}
    for lid in plan.non_targets:
        reading = found.get((event_id, lid))
        size = reading.any_size() if reading else None
        if size is not None:
            out[lid] = size
    return out


def _confirmation(pending: _Pending, target_call, non_target, total, nlt_sum, nlnt, counted,
                  nt_sizes) -> list[str]:
    """Why the iUPD at ``pending`` is confirmed now (S2017 Table 2), or []."""
    why = []
    if "target" in pending.triggers:
        if total is not None and pending.target_sum is not None \
                and total - pending.target_sum >= _FIVE_MM:
            why.append(f"target sum {L.cm(pending.target_sum)} -> {L.cm(total)} cm (>= 5 mm more)")
    elif target_call == "PD":
        why.append("target progression, a category that had not progressed")
    if "non_target" in pending.triggers:
        grown = [lid for lid, size in nt_sizes.items()
                 if lid in pending.non_target_sizes and size > pending.non_target_sizes[lid]]
        if grown:
            why.append(f"non-target {', '.join(grown)} larger again")
    elif non_target == "PD":
        why.append("non-target progression, a category that had not progressed")
    more = sorted(counted - pending.new_ids)
    if more:
        why.append(f"another new lesion ({', '.join(more)})")
    if nlt_sum - pending.nlt_sum >= _FIVE_MM:
        why.append(f"new-lesion target sum {L.cm(pending.nlt_sum)} -> {L.cm(nlt_sum)} cm (>= 5 mm)")
    grown_new = [lid for lid, size in nlnt.items()
                 if lid in pending.nlnt_sizes and size > pending.nlnt_sizes[lid]]
    if grown_new:
        why.append(f"new non-target lesion(s) {', '.join(grown_new)} larger")
    return why


def assess_irecist(lesions: pd.DataFrame, *, count_suspected=False, node_threshold_cm=None,
                   tumour_measure=None, porta_hepatis=None, backdate_new_lesions=True,
                   max_targets=5, max_targets_per_organ=2, confirm_window_days=(28, 56),
                   new_lesions_hold_iupd=True, max_new_targets=5,
                   max_new_targets_per_organ=2) -> pd.DataFrame:
    """iRECIST time-point responses at every assessment event (rules: module docstring).

    Same columns as :func:`casekit.rules.response.assess`, ``criteria`` "iRECIST";
    component columns carry iRECIST names; the note gives the NLT sum and why an
    iUPD was confirmed, kept or reset.
    """

    lesions = L.clean(lesions)
    if lesions.empty:
        return pd.DataFrame(columns=timepoint.ASSESSMENT_COLUMNS)
    evaluation = timepoint.evaluate_cleaned(
        lesions, "iRECIST", count_suspected=count_suspected, node_threshold_cm=node_threshold_cm,
        tumour_measure=tumour_measure, porta_hepatis=porta_hepatis,
        backdate_new_lesions=backdate_new_lesions, max_targets=max_targets,
        max_targets_per_organ=max_targets_per_organ)
    plan, found = evaluation.plan, evaluation.found
    baseline_sum = evaluation.baseline_sum
    rows = [{**evaluation.baseline_row(), "criteria": "iRECIST"}]
    book = _NewLesionBook()
    nadir, pending, confirmed, previous = baseline_sum, None, None, None
    known_new: set = set()
    nlt_nadir = None
    low, high = confirm_window_days
    for point in evaluation.points:
        target = point.target_call(plan, baseline_sum, nadir)
        non_target = point.non_target
        book.classify(plan, point.new, max_new_targets, max_new_targets_per_organ)
        counted = {lid for lid, x in point.new.items() if x.status == "counted"}
        nlt_sum, nlnt = book.sums(point.new)
        nt_sizes = _measured_non_targets(plan, found, point.event_id)
        notes = list(point.notes)
        if book.category:
            notes.append("new lesions: " + ", ".join(f"{lid} {c}" for lid, c in book.category.items())
                         + f"; new-lesion target sum {L.cm(nlt_sum)} cm (kept apart from the target sum)")
        evaluable = target != "NE" and non_target != "NE"
        if confirmed:
            call = "iCPD"
            notes.append(f"after progression confirmed at {confirmed}")
        elif pending is None:
            triggers = set()
            if target == "PD":
                triggers.add("target")
            if non_target == "PD":
                triggers.add("non_target")
            if previous == "iCR":
                back = timepoint._reappeared(plan, found, point.event_id, point.values)
                if back:
                    triggers.add("non_target" if set(back) <= set(plan.non_targets) else "target")
                    notes.append(f"{', '.join(back)} reappeared after iCR (EORTC RECIST FAQ)")
            fresh = counted - known_new
            if fresh:
                triggers.add("new")
            elif nlt_nadir is not None and nlt_sum - nlt_nadir >= _FIVE_MM \
                    and (nlt_sum - nlt_nadir) * 100 >= 20 * nlt_nadir:
                triggers.add("new")
                notes.append(f"new-lesion target sum {L.cm(nlt_nadir)} -> {L.cm(nlt_sum)} cm: "
                             f">= 20 % and >= 5 mm (iRECIST FAQ)")
            if triggers:
                call = "iUPD"
                pending = _Pending(point.event_id, point.day, triggers, point.total, nlt_sum,
                                   set(counted), dict(nlnt), dict(nt_sizes))
                notes.append(f"iUPD ({', '.join(sorted(triggers))}): needs confirmation at the next "
                             f"assessment, {low}-{high} days later (Seymour 2017)")
            else:
                call = _I_OVERALL[timepoint.overall_response(target, non_target, "no")]
            known_new |= counted
            if nlt_nadir is not None:
                nlt_nadir = min(nlt_nadir, nlt_sum)
        else:
            gap = point.day - pending.day
            if not low <= gap <= high:
                notes.append(f"assessed {gap} days after the iUPD at {pending.event_id}, outside "
                             f"the {low}-{high} day confirmation window")
            why = _confirmation(pending, target, non_target, point.total, nlt_sum, nlnt, counted,
                                nt_sizes)
            if why:
                call, confirmed = "iCPD", point.event_id
                notes.append(f"iUPD at {pending.event_id} confirmed: " + "; ".join(why))
            else:
                hold = target == "PD" or non_target == "PD" or (
                    new_lesions_hold_iupd and "new" in pending.triggers
                    and bool(pending.new_ids & counted))
                if hold:
                    call = "iUPD"
                    notes.append(f"iUPD at {pending.event_id} neither confirmed nor resolved: "
                                 f"remains iUPD")
                elif not evaluable:
                    call = "NE"
                    notes.append(f"iUPD at {pending.event_id}: not evaluable here, to be confirmed "
                                 f"at the next assessment")
                else:
                    call = _I_OVERALL[timepoint.overall_response(target, non_target, "no")]
                    notes.append(f"iUPD at {pending.event_id} not confirmed: reference reset "
                                 f"(Seymour 2017)")
                    pending = None
                    known_new |= counted
                    nlt_nadir = nlt_sum
        rows.append(point.row("iRECIST", _I_TARGET[target], call, baseline_sum, nadir,
                              evaluation.proxy, notes) | {
            "non_target_response": _I_NON_TARGET[non_target]})
        if point.total is not None:
            nadir = min(nadir, point.total)
        previous = call
    if pending is not None and not confirmed and rows[-1]["overall_response"] == "iUPD":
        rows[-1]["note"] = "; ".join(filter(None, [
            rows[-1]["note"], "iUPD cannot be confirmed: no later assessment"]))
    return timepoint._frame(rows)
