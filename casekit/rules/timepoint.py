"""The RECIST 1.1 time-point engine shared by RECIST 1.1, mRECIST and iRECIST.

Eisenhauer EA, et al. New response evaluation criteria in solid tumours: revised RECIST
guideline (version 1.1). Eur J Cancer 2009;45:228-247 (E2009): §4.3.1 target response,
§4.3.3-4.3.4 non-target response (:mod:`casekit.rules.lesions`), §4.3.5 new lesions, §4.4.1
the overall time-point response tables, encoded as data (:data:`OVERALL_RESPONSE_TABLE`).
:func:`evaluate` computes the baseline plan and the per-event components;
:func:`assess_time_points` combines them for RECIST 1.1 and mRECIST (Lencioni & Llovet
2010 change the lesion rules, not the combination); :mod:`casekit.rules.irecist` combines
the same components its own way. The public entry is :func:`casekit.rules.response.assess`;
rules and references in full: :mod:`casekit.rules.response`.

Units: sizes are integers in tenths of a millimetre (1 cm = 100), so the 30 %, 20 % and
5 mm boundaries are decided exactly.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from casekit.rules import lesions as L

ASSESSMENT_COLUMNS = [
    "event_id", "criteria", "day", "target_sum_cm", "change_from_baseline_pct",
    "change_from_nadir_pct", "target_response", "non_target_response",
    "new_lesions", "overall_response", "proxy", "note",
]

_PER_CM = 100  # tenths of a millimetre per centimetre
_PR_DECREASE_PCT = 30  # §4.3.1
_PD_INCREASE_PCT = 20  # §4.3.1
_PD_ABSOLUTE = 50  # 5 mm in tenths of a millimetre, §4.3.1

# --------------------------------------------------------------------------
# Overall time-point response, RECIST 1.1 §4.4.1, encoded as data.
# Each published row lists the values it covers; "NA" means no lesions of
# that kind at baseline (target "NA" selects the non-target-only table).
# --------------------------------------------------------------------------
_TARGETS = ("CR", "PR", "SD", "PD", "NE")
_NON_TARGETS = ("CR", "non-CR/non-PD", "NE", "PD", "NA")
_NEW = ("no", "yes")
_WITH_TARGETS = "Eisenhauer 2009 §4.4.1 targets +/- non-targets"
_NON_TARGET_ONLY = "Eisenhauer 2009 §4.4.1 non-target disease only"
_COMPLETION = "completion (not in the published tables)"

_PUBLISHED_ROWS = (
    # target, non_target, new_lesions -> overall, source
    ("CR", "CR", "no", "CR", _WITH_TARGETS),
    ("CR", "non-CR/non-PD", "no", "PR", _WITH_TARGETS),
    ("CR", "NE", "no", "PR", _WITH_TARGETS),  # "not evaluated"
    ("PR", ("CR", "non-CR/non-PD", "NE"), "no", "PR", _WITH_TARGETS),  # non-PD or not all evaluated
    ("SD", ("CR", "non-CR/non-PD", "NE"), "no", "SD", _WITH_TARGETS),
    ("NE", ("CR", "non-CR/non-PD"), "no", "NE", _WITH_TARGETS),  # not all evaluated / non-PD
    ("PD", _NON_TARGETS, _NEW, "PD", _WITH_TARGETS),
    (_TARGETS, "PD", _NEW, "PD", _WITH_TARGETS),
    (_TARGETS, _NON_TARGETS, "yes", "PD", _WITH_TARGETS),
    ("NA", "CR", "no", "CR", _NON_TARGET_ONLY),
    ("NA", "non-CR/non-PD", "no", "non-CR/non-PD", _NON_TARGET_ONLY),
    ("NA", "NE", "no", "NE", _NON_TARGET_ONLY),
    ("NA", "PD", _NEW, "PD", _NON_TARGET_ONLY),
    ("NA", _NON_TARGETS, "yes", "PD", _NON_TARGET_ONLY),
    # Targets but no non-target disease at baseline: the target call stands.
    ("CR", "NA", "no", "CR", _COMPLETION),
    ("PR", "NA", "no", "PR", _COMPLETION),
    ("SD", "NA", "no", "SD", _COMPLETION),
    ("NE", "NA", "no", "NE", _COMPLETION),
    ("NE", "NE", "no", "NE", _COMPLETION),  # nothing evaluable
    ("NA", "NA", "no", "NE", _COMPLETION),  # no baseline disease at all
)


def _expand_rows(rows) -> pd.DataFrame:
    """One row per (target, non_target, new_lesions); first listed row wins,
    and two rows that disagree on the same combination are an error."""
    as_tuple = lambda v: v if isinstance(v, tuple) else (v,)  # noqa: E731
    seen: dict[tuple, tuple] = {}
    for target, non_target, new, overall, source in rows:
        for key in itertools.product(as_tuple(target), as_tuple(non_target), as_tuple(new)):
            if key in seen and seen[key][0] != overall:
                raise ValueError(f"response table disagrees with itself at {key}")
            seen.setdefault(key, (overall, source))
    return pd.DataFrame(
        [(*key, overall, source) for key, (overall, source) in seen.items()],
        columns=["target", "non_target", "new_lesions", "overall", "source"],
    )


#: Overall time-point response for every combination of target response,
#: non-target response and new lesions (yes/no), with the published table each
#: row comes from (Eisenhauer 2009 §4.4.1), plus the few completions for
#: combinations the paper does not list.
OVERALL_RESPONSE_TABLE = _expand_rows(_PUBLISHED_ROWS)
_OVERALL_LOOKUP = {
    (r.target, r.non_target, r.new_lesions): r.overall
    for r in OVERALL_RESPONSE_TABLE.itertuples(index=False)
}


def overall_response(target: str, non_target: str, new_lesions: str) -> str:
    """Overall time-point response looked up in OVERALL_RESPONSE_TABLE.

    ``new_lesions`` is "yes", "no" or "suspected"; suspected lesions that were
    not counted do not make progression (RECIST 1.1 §4.3.5: a new lesion must
    be unequivocal), so "suspected" is looked up as "no".
    """
    new = "no" if new_lesions == "suspected" else new_lesions
    try:
        return _OVERALL_LOOKUP[(target, non_target, new)]
    except KeyError:
        raise ValueError(f"no overall response for {(target, non_target, new_lesions)}") from None


# --------------------------------------------------------------------------
# Target response, RECIST 1.1 §4.3.1
# --------------------------------------------------------------------------
def _is_partial_response(total: int, baseline: int) -> bool:
    """RECIST 1.1 §4.3.1: at least a 30 % decrease from the baseline sum."""
    return (baseline - total) * 100 >= _PR_DECREASE_PCT * baseline


def _is_progression(total: int, nadir: int) -> bool:
    """RECIST 1.1 §4.3.1: >= 20 % above the smallest sum on study (baseline
    included) and an absolute increase of >= 5 mm."""
    increase = total - nadir
    return increase * 100 >= _PD_INCREASE_PCT * nadir and increase >= _PD_ABSOLUTE


def _is_complete_response(plan, values) -> bool:
    """RECIST 1.1 §4.3.1: non-nodal targets gone and every nodal target below
    its normal limit (nodes stay in the sum, §4.3.2, so the sum need not be 0)."""
    return all(value < plan.nodal[lid].normal_below if lid in plan.nodal else value == 0
               for lid, value in values.items())


def _target_response(plan, values, baseline_sum, nadir) -> str:
    """CR / PR / SD / PD / NE for the target lesions; PD takes precedence.
    With a target unmeasured the call is NE unless the measured ones alone
    already show progression (RECIST 1.1 §4.4.2)."""
    measured = sum(v for v in values.values() if v is not None)
    if any(v is None for v in values.values()):
        return "PD" if _is_progression(measured, nadir) else "NE"
    if _is_progression(measured, nadir):
        return "PD"
    if _is_complete_response(plan, values):
        return "CR"
    if _is_partial_response(measured, baseline_sum):
        return "PR"
    return "SD"


def _percent_change(total: int, reference: int) -> float:
    """Percent change to one decimal, rounded half away from zero, exact."""
    if reference == 0:
        return np.nan
    change = Decimal((total - reference) * 100) / Decimal(reference)
    return float(change.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _new_lesion_call(now: dict, count_suspected: bool) -> tuple[str, list]:
    """yes / suspected / no from the new-lesion states at one event
    (RECIST 1.1 §4.3.5: equivocal ones count only when ``count_suspected``)."""
    notes = [lesion.why for lesion in now.values()]
    counted = any(lesion.status == "counted" for lesion in now.values())
    equivocal = any(lesion.status == "equivocal" for lesion in now.values())
    if equivocal:
        notes.append("equivocal new lesion(s) counted (count_suspected=True)" if count_suspected
                     else "equivocal new lesion(s) not counted: RECIST 1.1 §4.3.5 needs them unequivocal")
    if counted or (equivocal and count_suspected):
        return "yes", notes
    return ("suspected" if equivocal else "no"), notes


def _reappeared(plan, found, event_id, values) -> list[str]:
    """Lesions back after a CR (EORTC RECIST FAQ "Does a new lesion always result
    in PD?" and "Abnormal lymph node"): a non-nodal target > 0, a nodal target at
    or above its normal limit, a non-nodal non-target seen again (recorded present,
    or measured > 0: :meth:`casekit.rules.lesions.Reading.seen`), or a non-target
    node that progressed unequivocally."""
    back = [lid for lid, v in values.items() if v is not None and
            (v >= plan.nodal[lid].normal_below if lid in plan.nodal else v > 0)]
    for lid in plan.non_targets:
        reading = found.get((event_id, lid))
        if reading is None:
            continue
        if lid in plan.nodal:
            if "unequivocal_progression" in reading.assessments:
                back.append(lid)
        elif reading.seen():  # recorded present, or a demoted target measured > 0
            back.append(lid)
    return back


def _frame(rows) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS)
    return out.astype({"day": int, "proxy": bool, "target_sum_cm": float,
                       "change_from_baseline_pct": float, "change_from_nadir_pct": float})


@dataclass
class TimePoint:
    """The components at one follow-up event, before any criteria combines them."""

    event_id: str
    day: int
    values: dict  # target lesion -> tenths of a mm (None: not assessed)
    total: int | None  # target sum when every target was assessed
    non_target: str
    new_lesions: str  # yes / suspected / no
    new: dict  # lesion_id -> lesions.NewLesion
    notes: list

    def target_call(self, plan, baseline_sum, nadir) -> str:
        return _target_response(plan, self.values, baseline_sum, nadir) if plan.targets else "NA"

    def row(self, criteria, target, overall, baseline_sum, nadir, proxy, notes) -> dict:
        has_total = self.total is not None and baseline_sum is not None
        return dict(
            event_id=self.event_id, criteria=criteria, day=self.day,
            target_sum_cm=L.cm(self.total),
            change_from_baseline_pct=_percent_change(self.total, baseline_sum) if has_total else np.nan,
            change_from_nadir_pct=_percent_change(self.total, nadir) if has_total else np.nan,
            target_response=target, non_target_response=self.non_target,
            new_lesions=self.new_lesions, overall_response=overall, proxy=proxy,
            note="; ".join(notes))


@dataclass
class Evaluation:
    criteria: str
    plan: L.Plan
    found: dict
    baseline_day: int
    baseline_sum: int | None
    points: list
    proxy: bool

    def baseline_row(self) -> dict:
        return dict(
            event_id=self.plan.baseline_id, criteria=self.criteria, day=self.baseline_day,
            target_sum_cm=L.cm(self.baseline_sum), change_from_baseline_pct=np.nan,
            change_from_nadir_pct=np.nan, target_response="", non_target_response="",
            new_lesions="", overall_response="", proxy=self.proxy,
            note="; ".join(self.plan.baseline_notes + list(self.plan.proxy_notes.values())))


def evaluate(lesions, criteria, *, count_suspected=False, node_threshold_cm=None,
             tumour_measure=None, porta_hepatis=None, backdate_new_lesions=True,
             max_targets=5, max_targets_per_organ=2) -> Evaluation:
    """Baseline plan and per-event components (rules 1-6 of the module
    docstring) for ``criteria``; iRECIST uses RECIST 1.1's lesion rules."""
    return evaluate_cleaned(L.clean(lesions), criteria, count_suspected=count_suspected,
                            node_threshold_cm=node_threshold_cm, tumour_measure=tumour_measure,
                            porta_hepatis=porta_hepatis,
                            backdate_new_lesions=backdate_new_lesions, max_targets=max_targets,
                            max_targets_per_organ=max_targets_per_organ)


def evaluate_cleaned(lesions, criteria, *, count_suspected=False, node_threshold_cm=None,
                     tumour_measure=None, porta_hepatis=None, backdate_new_lesions=True,
                     max_targets=5, max_targets_per_organ=2) -> Evaluation:
    """:func:`evaluate` of rows already passed through :func:`casekit.rules.lesions.clean`
    (callers that clean once themselves; cleaning copies and re-types every column)."""
    porta = L.porta_hepatis_nodes(lesions) if porta_hepatis is None else set(porta_hepatis)
    evts = L.events(lesions)
    found = L.readings(lesions)
    plan = L.make_plan(lesions, found, evts, criteria, porta_hepatis=porta,
                       node_threshold_cm=node_threshold_cm, tumour_measure=tumour_measure,
                       max_targets=max_targets, max_targets_per_organ=max_targets_per_organ)
    new_ids = list(dict.fromkeys(lesions.loc[lesions["role"] == "new", "lesion_id"]))
    rule_criteria = "RECIST1.1" if criteria == "iRECIST" else criteria
    states = L.new_lesion_states(plan, found, evts, new_ids, criteria=rule_criteria)
    backdated = L.confirm_equivocal(states, evts, backdate_new_lesions and not count_suspected)
    if count_suspected:  # equivocal lesions count where they are seen
        for now, extra in zip(states, backdated):
            if any(x.status == "equivocal" for x in now.values()):
                extra.append("equivocal new lesion(s) counted (count_suspected=True)")
            now.update({lid: L.NewLesion(lid, "counted", x.size, x.why)
                        for lid, x in now.items() if x.status == "equivocal"})
    proxy_notes = list(plan.proxy_notes.values())
    baseline_sum = (sum(L.target_values(plan, found, plan.baseline_id)[0].values())
                    if plan.targets else None)
    points = []
    for (event_id, day), now, extra in zip(evts[1:], states, backdated):
        notes = list(proxy_notes)
        values, value_notes = L.target_values(plan, found, event_id)
        notes += value_notes
        unmeasured = [lid for lid, v in values.items() if v is None]
        if unmeasured:
            notes.append(f"target(s) not measured: {', '.join(unmeasured)}")
        total = sum(values.values()) if plan.targets and not unmeasured else None
        non_target, nt_notes = L.non_target_state(plan, found, event_id)
        new, new_notes = _new_lesion_call(now, count_suspected)
        points.append(TimePoint(event_id, day, values, total, non_target, new, now,
                                notes + nt_notes + new_notes + extra))
    return Evaluation(criteria, plan, found, evts[0][1], baseline_sum, points, bool(proxy_notes))




def assess_time_points(lesions, criteria, *, reappearance_is_pd=True, **common) -> pd.DataFrame:
    """Time-point responses under RECIST 1.1 or mRECIST (``common``: the options of
    :func:`evaluate`); after an overall CR any lesion that reappears makes PD (EORTC RECIST
    FAQ; ``reappearance_is_pd``)."""
    lesions = L.clean(lesions)
    if lesions.empty:
        return pd.DataFrame(columns=ASSESSMENT_COLUMNS)
    evaluation = evaluate_cleaned(lesions, criteria, **common)
    plan, rows = evaluation.plan, []
    baseline_sum = evaluation.baseline_sum
    rows.append(evaluation.baseline_row())
    nadir, previous = baseline_sum, None
    for point in evaluation.points:
        target = point.target_call(plan, baseline_sum, nadir)
        overall = overall_response(target, point.non_target, point.new_lesions)
        notes = list(point.notes)
        if reappearance_is_pd and previous == "CR" and overall != "PD":
            back = _reappeared(plan, evaluation.found, point.event_id, point.values)
            if back:
                overall = "PD"
                notes.append(f"{', '.join(back)} reappeared after CR: PD (EORTC RECIST FAQ)")
        rows.append(point.row(criteria, target, overall, baseline_sum, nadir, evaluation.proxy,
                              notes))
        if point.total is not None:
            nadir = min(nadir, point.total)  # smallest sum so far, baseline included
        previous = overall
    return _frame(rows)
