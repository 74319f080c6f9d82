"""Tumour response by RECIST 1.1, mRECIST and iRECIST, recomputed from lesion rows.

The public entry of the response rules: :func:`assess`, :func:`response_table`,
:func:`best_overall_response` (from :mod:`casekit.rules.best_response`),
:func:`lesion_changes` and :func:`sensitivity`. Lesion bookkeeping shared by all
criteria (targets, nodes, new lesions) is in :mod:`casekit.rules.lesions`;
iRECIST in :mod:`casekit.rules.irecist`; time-to-event endpoints in
:mod:`casekit.rules.endpoints`.

Input is the validated lesions frame (one row per lesion per measure per
imaging event); output is one row per assessment event per criteria with the
target sum, its changes, the three component responses and the overall
time-point response, plus best overall response and a sensitivity table that
asks whether the authors' reported calls survive the details they left out.

References
----------
- Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation
  criteria in solid tumours: revised RECIST guideline (version 1.1).
  Eur J Cancer 2009;45:228-247.
  §3.1.1-3.1.2 lymph nodes (>= 15 mm short axis measurable, 10-15 mm
  pathological non-measurable, < 10 mm normal); §4.2 target / non-target
  selection; §4.3.1 target response (CR, PR >= 30 % below baseline sum,
  PD >= 20 % above the nadir and >= 5 mm absolute; a target too small to
  measure counts 5 mm); §4.3.2 nodal targets keep
  their short axis in the sum; §4.3.3-4.3.4 non-target response; §4.3.5 new
  lesions must be unequivocal; §4.4.1 time-point response tables (patients with
  targets +/- non-targets; patients with non-target disease only — numbered
  Tables 1 and 2 in the paper as we read it; the project brief calls them
  Tables 4 and 5); §4.4.3 best overall response, confirmation table and the
  minimum interval for SD; §4.6.1 confirmation >= 4 weeks.
- Lencioni R, Llovet JM. Modified RECIST (mRECIST) assessment for
  hepatocellular carcinoma. Semin Liver Dis 2010;30:52-60.
  Targets are measured by the longest diameter of the viable (arterially
  enhancing) tumour; portal vein tumour thrombus is a non-measurable
  (non-target) lesion; a porta hepatis lymph node is malignant at a short axis
  >= 2 cm (other nodes follow RECIST 1.1); a new intrahepatic lesion counts
  when >= 1 cm with the typical HCC pattern or after >= 1 cm interval growth;
  response thresholds and the combination rules are RECIST 1.1's.
- EORTC RECIST FAQ (recist.eortc.org/faq) and Schwartz LH et al. RECIST 1.1 -
  Update and clarification. Eur J Cancer 2016;62:132-137: pre-existing
  pathological nodes are never new lesions; a node normal at baseline is new
  at >= 15 mm (10-15 mm: wait for growth); reappearance after CR is PD.

Units: sizes are handled as integers in tenths of a millimetre (1 cm = 100)
so that the 30 %, 20 % and 5 mm boundaries are decided exactly, never by
floating-point luck. Sizes finer than 0.1 mm are rounded to 0.1 mm.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from casekit.case.schema import RESPONSE_CRITERIA
from casekit.rules import lesions as L
from casekit.rules.best_response import BOR_COLUMNS, best_overall_response  # noqa: F401 (public API)
from casekit.rules.lesions import NORMAL_NODE_CM, porta_hepatis_nodes  # noqa: F401 (public API)

#: The default pair of response_table(); ALL_CRITERIA adds iRECIST.
CRITERIA = ("RECIST1.1", "mRECIST")
ALL_CRITERIA = tuple(RESPONSE_CRITERIA)

ASSESSMENT_COLUMNS = [
    "event_id", "criteria", "day", "target_sum_cm", "change_from_baseline_pct",
    "change_from_nadir_pct", "target_response", "non_target_response",
    "new_lesions", "overall_response", "proxy", "note",
]
RESPONSE_TABLE_COLUMNS = ASSESSMENT_COLUMNS[:10] + ["reported_response"]
SENSITIVITY_COLUMNS = [
    "event_id", "reported_criteria", "reported", "scenario", "criteria",
    "measure", "node_role", "node_axis", "porta_hepatis", "node_growth", "count_suspected",
    "computed", "survives",
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


def _check_criteria(criteria: str, allowed=ALL_CRITERIA) -> None:
    if criteria not in allowed:
        raise ValueError(f"criteria must be one of {allowed}, got {criteria!r}")


def _assess(lesions, criteria, count_suspected=False, node_threshold_cm=None,
            tumour_measure=None, porta_hepatis=None, backdate_new_lesions=True,
            reappearance_is_pd=True, max_targets=5, max_targets_per_organ=2,
            **irecist_options) -> pd.DataFrame:
    """assess() with an optional forced tumour measure (for sensitivity)."""
    _check_criteria(criteria)
    common = dict(count_suspected=count_suspected, node_threshold_cm=node_threshold_cm,
                  tumour_measure=tumour_measure, porta_hepatis=porta_hepatis,
                  backdate_new_lesions=backdate_new_lesions,
                  max_targets=max_targets, max_targets_per_organ=max_targets_per_organ)
    if criteria == "iRECIST":
        from casekit.rules import irecist
        return irecist.assess_irecist(lesions, **common, **irecist_options)
    if irecist_options:
        raise TypeError(f"unexpected option(s) for {criteria}: {sorted(irecist_options)}")
    lesions = L.clean(lesions)
    if lesions.empty:
        return pd.DataFrame(columns=ASSESSMENT_COLUMNS)
    evaluation = evaluate(lesions, criteria, **common)
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
    lesions = L.clean(lesions)
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


#: Facts of a case that the response rules read (see :func:`case_options`).
RESPONSE_FACTS = ("porta_hepatis_nodes", "criteria")


def case_options(case) -> dict:
    """Options of :func:`assess` that a case folder decides: the nodes the case
    marks as porta hepatis (fact ``porta_hepatis_nodes``) on top of the site
    vocabulary (:data:`casekit.rules.lesions.PORTA_HEPATIS_SITES`)."""
    return {"porta_hepatis": sorted(L.porta_hepatis_nodes(case.lesions,
                                                          case.fact("porta_hepatis_nodes")))}


def assess(lesions: pd.DataFrame, criteria: str, count_suspected: bool = False,
           node_threshold_cm: float | None = None, **options) -> pd.DataFrame:
    """Time-point response at every assessment event under one criteria.

    Rules (E2009 = Eisenhauer 2009, RECIST 1.1; L&L 2010 = mRECIST; FAQ = EORTC
    RECIST FAQ / Schwartz 2016; iRECIST in :mod:`casekit.rules.irecist`):

    - Baseline is the earliest event with lesion rows; its row carries the
      target sum and empty response columns.
    - Targets (E2009 §3.1, §4.2): baseline rows with role ``target`` that are
      measurable - non-nodal >= 1 cm in the summed measure, nodes >= 1.5 cm
      short axis (a porta hepatis node under mRECIST >= 2 cm, L&L 2010;
      ``node_threshold_cm`` overrides) - at most ``max_targets`` (5) and
      ``max_targets_per_organ`` (2; nodes are one organ, FAQ), the largest
      kept; tumour thrombus is non-target under mRECIST. Every demotion is in
      the baseline note.
    - Nodes not disease at baseline (< 1 cm; porta hepatis under mRECIST
      < 2 cm) are followed only as possible new lesions. A node that was
      disease at baseline is a non-target when not a target and never becomes
      a new lesion: its growth is non-target progression when the reader
      records it unequivocal (E2009 §4.3.3; FAQ "New lymph node lesions").
      Which nodes are porta hepatis: ``porta_hepatis`` (lesion ids; default
      from the site vocabulary, see :func:`case_options`).
    - Measures: RECIST 1.1 longest diameter (nodes short axis); mRECIST viable
      diameter, replaced by the longest diameter at every event when missing
      anywhere (``proxy`` True, with a note).
    - Target response (§4.3.1): PD if the sum is >= 20 % and >= 0.5 cm above
      the nadir; else CR if non-nodal targets are 0 and nodes below normal;
      else PR if >= 30 % below baseline; else SD; NE if a target was not
      assessed; a target "present" without a size counts 5 mm (§4.3.1 note).
    - New lesions (§4.3.5; L&L 2010; FAQ): see
      :func:`casekit.rules.lesions.new_lesion_states`. Equivocal ones count
      only with ``count_suspected``; when a later scan confirms one, the PD is
      back-dated to the scan where it first appeared
      (``backdate_new_lesions``, default True).
    - Overall: OVERALL_RESPONSE_TABLE (§4.4.1); after an overall CR any lesion
      that reappears makes PD (FAQ; ``reappearance_is_pd``, default True).

    ``criteria="iRECIST"`` gives iRECIST calls (:func:`casekit.rules.irecist.assess_irecist`,
    which takes its own options too). Percentages are rounded to 0.1 and sums
    to 0.01 cm; decisions are made on exact integers.
    """
    return _assess(lesions, criteria, count_suspected, node_threshold_cm, **options)


def _reported_lookup(responses: pd.DataFrame | None) -> dict:
    if responses is None or responses.empty:
        return {}
    firsts = responses.drop_duplicates(["event_id", "criteria"])
    return {(r.event_id, r.criteria): str(r.category) for r in firsts.itertuples(index=False)}


def response_table(lesions: pd.DataFrame, responses: pd.DataFrame | None = None,
                   criteria=None, count_suspected: bool = False, **options) -> pd.DataFrame:
    """Rows per criteria (default RECIST 1.1 then mRECIST; any of
    ALL_CRITERIA in the order given), each in day order, with the authors' call
    for the same event and criteria in ``reported_response`` (empty where they
    reported none). Rules and ``options`` as in :func:`assess`."""
    if isinstance(criteria, bool):  # the old positional count_suspected
        criteria, count_suspected = None, criteria
    chosen = CRITERIA if criteria is None else tuple(criteria)
    reported = _reported_lookup(responses)
    tables = [assess(lesions, c, count_suspected=count_suspected, **options) for c in chosen]
    out = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=ASSESSMENT_COLUMNS)
    out["reported_response"] = [
        reported.get((e, c), "") for e, c in zip(out["event_id"], out["criteria"])]
    return out[RESPONSE_TABLE_COLUMNS]


LESION_CHANGE_COLUMNS = ["lesion_id", "event_id", "day", "size_cm", "measure", "role",
                         "change_pct"]
TARGET_SUM = "target sum"


def lesion_changes(lesions: pd.DataFrame, criteria: str, **options) -> pd.DataFrame:
    """Per-lesion and target-sum % change from baseline, for a spider plot.

    Every lesion measured at baseline is followed by the measure it is summed by under
    ``criteria`` (targets, with the proxy rule of :func:`assess`) or, for measured
    non-targets such as a lymph node, its own recorded measure; ``role`` says which
    (``target``, ``non_target``, or ``sum`` for the target-sum rows, whose ``lesion_id``
    is ``"target sum"``). A node that is not disease at baseline under ``criteria`` is
    drawn as ``non_target`` too. change_pct = (size - baseline size) / baseline size x 100,
    rounded to 0.1 (Eisenhauer 2009 §4.3.1 defines the same change for the sum).
    ``options`` as in :func:`assess`.
    """
    _check_criteria(criteria)
    lesions = L.clean(lesions)
    columns = LESION_CHANGE_COLUMNS
    if lesions.empty:
        return pd.DataFrame(columns=columns)
    evaluation = evaluate(lesions, criteria, **{k: v for k, v in options.items()
                                                 if k in ("porta_hepatis", "node_threshold_cm",
                                                          "max_targets", "max_targets_per_organ")})
    plan, found = evaluation.plan, evaluation.found
    evts = L.events(lesions)
    baseline_id = plan.baseline_id
    followed = dict(plan.targets)
    for lesion_id in plan.non_targets + list(plan.normal_nodes):
        sizes = found[(baseline_id, lesion_id)].sizes
        if sizes:  # a measured non-target, e.g. a lymph node below the target threshold
            followed[lesion_id] = "short_axis" if "short_axis" in sizes else sorted(sizes)[0]
    rows = []
    for lesion_id, measure in followed.items():
        base = found[(baseline_id, lesion_id)].size(measure)
        for event_id, day in evts:
            reading = found.get((event_id, lesion_id))
            size = reading.size(measure) if reading else None
            if size is None or not base:
                continue
            rows.append(dict(lesion_id=lesion_id, event_id=event_id, day=day, size_cm=L.cm(size),
                             measure=measure,
                             role="target" if lesion_id in plan.targets else "non_target",
                             change_pct=_percent_change(size, base)))
    for r in assess(lesions, criteria, **options).itertuples(index=False):
        if not np.isnan(r.target_sum_cm):
            rows.append(dict(lesion_id=TARGET_SUM, event_id=r.event_id, day=r.day,
                             size_cm=r.target_sum_cm, measure="sum", role="sum",
                             change_pct=0.0 if r.event_id == baseline_id
                             else r.change_from_baseline_pct))
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------
# Sensitivity of the reported calls to unreported details
# --------------------------------------------------------------------------
#: One-at-a-time departures from "as recorded". Keys: criteria ("reported",
#: "other" or a name in ALL_CRITERIA), measure ("preferred" or "longest"),
#: node_role ("as_recorded" or "target"), node_axis ("short" or "long"),
#: porta_hepatis ("as_given": the ``porta_hepatis`` option, else the site
#: vocabulary; "none": no node is porta hepatis, RECIST 1.1 node rules for all;
#: "all": every node is), node_growth ("as_recorded" or "unequivocal": a
#: non-target node that grows to >= its measurable limit is read as unequivocal
#: non-target progression), count_suspected (bool).
DEFAULT_SCENARIOS = (
    {"scenario": "as recorded"},
    {"scenario": "other criteria", "criteria": "other"},
    {"scenario": "iRECIST", "criteria": "iRECIST"},
    {"scenario": "whole-tumour (longest) diameter", "measure": "longest"},
    {"scenario": "lymph node(s) promoted to target", "node_role": "target"},
    {"scenario": "node size read as long axis", "node_axis": "long"},
    {"scenario": "no node read as porta hepatis", "porta_hepatis": "none"},
    {"scenario": "every node read as porta hepatis", "porta_hepatis": "all"},
    {"scenario": "node growth read as unequivocal progression", "node_growth": "unequivocal"},
    {"scenario": "suspected new lesions counted", "count_suspected": True},
)
_SCENARIO_DEFAULTS = {"criteria": "reported", "measure": "preferred", "node_role": "as_recorded",
                      "node_axis": "short", "porta_hepatis": "as_given",
                      "node_growth": "as_recorded", "count_suspected": False}
_CATEGORY_NAMES = {"complete response": "CR", "partial response": "PR",
                   "stable disease": "SD", "progressive disease": "PD",
                   # iRECIST calls compared with RECIST-style reported calls: a confirmed
                   # progression is PD, an unconfirmed one (iUPD) is not.
                   "icr": "CR", "ipr": "PR", "isd": "SD", "icpd": "PD"}


def _category(text) -> str:
    key = str(text).strip().lower()
    return _CATEGORY_NAMES.get(key, key.upper() if key in ("cr", "pr", "sd", "pd", "ne") else key)


def _scenario_criteria(setting: str, reported: str) -> str:
    if setting == "reported":
        return reported
    if setting == "other":
        return next(c for c in CRITERIA if c != reported)
    _check_criteria(setting)
    return setting


def _scenario_lesions(lesions: pd.DataFrame, node_role: str, node_axis: str,
                      node_growth: str = "as_recorded") -> pd.DataFrame:
    """Lesion rows rewritten for the node scenarios.

    node_role="target": every non-target lymph node becomes a target (it must
    still qualify under the criteria's threshold). node_axis="long": the
    recorded node size is read as its longest diameter, so its short axis is
    unknown; the node then cannot be a nodal target, cannot be shown to
    cross a malignancy threshold and is resolved only if reported absent.
    node_growth="unequivocal": a non-target node whose short axis is larger
    than at baseline and >= 1.5 cm is recorded as unequivocal progression
    there (RECIST 1.1 §4.3.3 leaves that judgment to the reader).
    """
    out = L.clean(lesions)
    nodes = out["kind"] == "lymph_node"
    if node_growth == "unequivocal":
        first = out[nodes & (out["measure"] == "short_axis")].groupby("lesion_id")["size_cm"].first()
        grew = (nodes & (out["role"] == "non_target") & (out["measure"] == "short_axis")
                & (out["size_cm"] >= L.NODE_MEASURABLE_CM)
                & (out["size_cm"] > out["lesion_id"].map(first)))
        out.loc[grew, "assessment"] = "unequivocal_progression"
    if node_role == "target":
        out.loc[nodes & (out["role"] == "non_target"), "role"] = "target"
    if node_axis == "long":
        out.loc[nodes & (out["measure"] == "short_axis"), "measure"] = "longest"
    return out


def _scenario_porta(setting: str, lesions: pd.DataFrame, given):
    if setting == "none":
        return ()
    if setting == "all":
        return tuple(sorted(set(lesions.loc[lesions["kind"] == "lymph_node", "lesion_id"])))
    return given


def sensitivity(lesions: pd.DataFrame, responses: pd.DataFrame,
                scenarios=None, **options) -> pd.DataFrame:
    """Does each reported call survive other readings of unreported details?

    For every (event_id, criteria, category) in ``responses`` the assessment
    is re-run under each scenario (default DEFAULT_SCENARIOS: the other
    criteria; iRECIST; whole (longest) instead of viable diameter; nodes
    promoted to target; node size read as long axis; no node / every node read
    as porta hepatis (Lencioni & Llovet 2010's 2 cm rule); node growth read as
    unequivocal non-target progression (RECIST 1.1 §4.3.3); suspected new
    lesions counted) and ``survives`` says whether the computed overall
    response equals the reported one (an iRECIST iCPD equals PD, iUPD does
    not). ``options`` are the case's :func:`assess` options (e.g.
    :func:`case_options`), the "as recorded" reading. One row per scenario per
    reported call.
    """
    scenarios = DEFAULT_SCENARIOS if scenarios is None else scenarios
    clean_lesions = L.clean(lesions)
    given = options.pop("porta_hepatis", None)
    cache: dict[tuple, pd.DataFrame] = {}
    rows = []
    for call in responses.itertuples(index=False):
        for scenario in scenarios:
            setting = {**_SCENARIO_DEFAULTS, **scenario}
            criteria = _scenario_criteria(setting["criteria"], call.criteria)
            forced = "longest" if setting["measure"] == "longest" else None
            porta = _scenario_porta(setting["porta_hepatis"], clean_lesions, given)
            key = (criteria, forced, setting["node_role"], setting["node_axis"],
                   setting["node_growth"], None if porta is None else tuple(porta),
                   bool(setting["count_suspected"]))
            if key not in cache:
                cache[key] = _assess(
                    _scenario_lesions(lesions, setting["node_role"], setting["node_axis"],
                                      setting["node_growth"]),
                    criteria, count_suspected=key[-1], tumour_measure=forced,
                    porta_hepatis=porta, **options)
            found = cache[key].loc[cache[key]["event_id"] == call.event_id, "overall_response"]
            computed = str(found.iloc[0]) if len(found) else ""
            rows.append(dict(
                event_id=call.event_id, reported_criteria=call.criteria, reported=call.category,
                scenario=setting.get("scenario", ""), criteria=criteria,
                measure=forced or L.preferred_measure("tumour", criteria),
                node_role=setting["node_role"], node_axis=setting["node_axis"],
                porta_hepatis=setting["porta_hepatis"], node_growth=setting["node_growth"],
                count_suspected=key[-1], computed=computed,
                survives=bool(computed) and _category(computed) == _category(call.category),
            ))
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
