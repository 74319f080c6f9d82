"""Tumour response by RECIST 1.1 and mRECIST, recomputed from lesion rows.

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
  PD >= 20 % above the nadir and >= 5 mm absolute); §4.3.2 nodal targets keep
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
  >= 2 cm; response thresholds and the combination rules are RECIST 1.1's.

Units: sizes are handled as integers in tenths of a millimetre (1 cm = 100)
so that the 30 %, 20 % and 5 mm boundaries are decided exactly, never by
floating-point luck. Sizes finer than 0.1 mm are rounded to 0.1 mm.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

CRITERIA = ("RECIST1.1", "mRECIST")

#: Short axis (cm) at which a lymph node counts as malignant, by criteria:
#: RECIST 1.1 §3.1.1 (pathological and measurable at >= 15 mm);
#: Lencioni & Llovet 2010 (porta hepatis node malignant at >= 2 cm).
NODE_THRESHOLD_CM = {"RECIST1.1": 1.5, "mRECIST": 2.0}

#: A node below this short axis is normal (RECIST 1.1 §3.1.2 and §4.3.1 CR).
NORMAL_NODE_CM = 1.0

ASSESSMENT_COLUMNS = [
    "event_id", "criteria", "day", "target_sum_cm", "change_from_baseline_pct",
    "change_from_nadir_pct", "target_response", "non_target_response",
    "new_lesions", "overall_response", "proxy", "note",
]
RESPONSE_TABLE_COLUMNS = ASSESSMENT_COLUMNS[:10] + ["reported_response"]
BOR_COLUMNS = ["criteria", "bor", "event_id", "note"]
SENSITIVITY_COLUMNS = [
    "event_id", "reported_criteria", "reported", "scenario", "criteria",
    "measure", "node_role", "node_axis", "count_suspected", "computed", "survives",
]

_PER_CM = 100  # tenths of a millimetre per centimetre
_PR_DECREASE_PCT = 30  # §4.3.1
_PD_INCREASE_PCT = 20  # §4.3.1
_PD_ABSOLUTE = 50  # 5 mm in tenths of a millimetre, §4.3.1
_COUNTED_NEW = {"present", "unequivocal_progression"}

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
# Lesion readings
# --------------------------------------------------------------------------
@dataclass
class _Reading:
    """What was recorded for one lesion at one event."""

    sizes: dict = field(default_factory=dict)  # measure -> tenths of a mm
    assessments: set = field(default_factory=set)

    @property
    def absent(self) -> bool:
        return "absent" in self.assessments

    @property
    def assessed(self) -> bool:
        return bool(self.assessments) or bool(self.sizes)

    def size(self, measure: str):
        """Tenths of a mm; an absent lesion measures 0; None when not measured."""
        return 0 if self.absent else self.sizes.get(measure)


def _tenths(size_cm: float) -> int:
    return int(round(float(size_cm) * _PER_CM))


def _cm(tenths) -> float:
    return np.nan if tenths is None else round(tenths / _PER_CM, 2)


def _clean(lesions: pd.DataFrame) -> pd.DataFrame:
    """Lesion rows with empty text instead of missing values, in day order."""
    out = lesions.copy()
    for column in ("event_id", "lesion_id", "kind", "role", "measure", "assessment"):
        out[column] = out[column].fillna("").astype(str)
    out["size_cm"] = pd.to_numeric(out["size_cm"], errors="coerce")
    out["day"] = out["day"].astype(int)
    return out.sort_values("day", kind="stable").reset_index(drop=True)


def _events(lesions: pd.DataFrame) -> list[tuple[str, int]]:
    """(event_id, day) in day order; the first one is the baseline."""
    days = lesions.groupby("event_id", sort=False)["day"].min()
    return sorted(days.items(), key=lambda item: (item[1], item[0]))


def _readings(lesions: pd.DataFrame) -> dict[tuple[str, str], _Reading]:
    out: dict[tuple[str, str], _Reading] = {}
    for row in lesions.itertuples(index=False):
        reading = out.setdefault((row.event_id, row.lesion_id), _Reading())
        if row.measure and pd.notna(row.size_cm):
            reading.sizes[row.measure] = _tenths(row.size_cm)
        if row.assessment:
            reading.assessments.add(row.assessment)
    return out


def _preferred_measure(kind: str, criteria: str) -> str:
    """RECIST 1.1 §4.2: nodes by short axis, others by longest diameter;
    mRECIST: non-nodal tumour by its viable (arterially enhancing) diameter."""
    if kind == "lymph_node":
        return "short_axis"
    if criteria == "mRECIST" and kind == "tumour":
        return "viable"
    return "longest"


# --------------------------------------------------------------------------
# Baseline plan: which lesions are targets, by what measure, under a criteria
# --------------------------------------------------------------------------
@dataclass
class _Plan:
    criteria: str
    threshold: int  # node malignancy threshold, tenths of a mm
    targets: dict = field(default_factory=dict)  # lesion_id -> measure
    nodal: set = field(default_factory=set)  # lesion ids that are lymph nodes
    non_targets: list = field(default_factory=list)
    watched_nodes: dict = field(default_factory=dict)  # lesion_id -> baseline short axis
    proxy_notes: dict = field(default_factory=dict)  # lesion_id -> note
    baseline_notes: list = field(default_factory=list)


def _target_measure(lesion_id, kind, criteria, readings, event_ids, tumour_measure):
    """Measure a target is summed by, and a note when it is a substitute.

    The choice is made once per lesion for all events: if the preferred
    measure is missing at any event where the lesion is present, the longest
    diameter is used throughout, so no sum mixes viable and whole diameters.
    Nodes are never given a long-axis proxy: a long axis overstates the short
    axis and would make the node thresholds meaningless.
    """
    if kind == "lymph_node":
        return "short_axis", None
    preferred = tumour_measure or _preferred_measure(kind, criteria)
    missing = [
        e for e in event_ids
        if (e, lesion_id) in readings
        and not readings[(e, lesion_id)].absent
        and preferred not in readings[(e, lesion_id)].sizes
    ]
    if not missing or preferred == "longest":
        return preferred, None
    return "longest", (
        f"{criteria}: {lesion_id} summed by longest diameter at every assessment "
        f"as a proxy for the {preferred} diameter (not reported at {', '.join(missing)})"
    )


def _target_ineligibility(lesion_id, kind, criteria, reading, measure, threshold):
    """Why a lesion the data call a target cannot be one under this criteria."""
    if criteria == "mRECIST" and kind == "vascular_invasion":
        return f"{lesion_id}: tumour thrombus is non-target under mRECIST (Lencioni & Llovet 2010)"
    if kind == "lymph_node":
        short_axis = reading.size("short_axis")
        if short_axis is None:
            return (f"{lesion_id}: no short axis at baseline, so it cannot qualify as a "
                    f"nodal target under {criteria}; treated as non-target")
        if short_axis < threshold:
            return (f"{lesion_id}: short axis {_cm(short_axis)} cm < {_cm(threshold)} cm at "
                    f"baseline, not a measurable nodal target under {criteria}; treated as non-target")
        return None
    if reading.size(measure) is None:
        return f"{lesion_id}: not measured at baseline; treated as non-target"
    return None


def _plan(lesions, readings, events, criteria, threshold, tumour_measure) -> _Plan:
    plan = _Plan(criteria=criteria, threshold=threshold)
    baseline_id = events[0][0]
    event_ids = [e for e, _ in events]
    kinds = lesions.groupby("lesion_id", sort=False)["kind"].first()
    baseline = lesions[lesions["event_id"] == baseline_id]
    for lesion_id, role in baseline.groupby("lesion_id", sort=False)["role"].first().items():
        kind = kinds[lesion_id]
        reading = readings[(baseline_id, lesion_id)]
        if role == "new":
            plan.baseline_notes.append(f"{lesion_id}: role 'new' at baseline ignored")
            continue
        if kind == "lymph_node":
            plan.nodal.add(lesion_id)
            short_axis = reading.size("short_axis")
            if short_axis is not None and short_axis < threshold:
                plan.watched_nodes[lesion_id] = short_axis
        if role != "target":
            plan.non_targets.append(lesion_id)
            continue
        measure, proxy_note = _target_measure(
            lesion_id, kind, criteria, readings, event_ids, tumour_measure)
        reason = _target_ineligibility(lesion_id, kind, criteria, reading, measure, threshold)
        if reason:
            plan.non_targets.append(lesion_id)
            plan.baseline_notes.append(reason)
            continue
        plan.targets[lesion_id] = measure
        if proxy_note:
            plan.proxy_notes[lesion_id] = proxy_note
    return plan


# --------------------------------------------------------------------------
# Component responses at one follow-up event
# --------------------------------------------------------------------------
def _target_values(plan, readings, event_id) -> dict:
    """Tenths of a mm per target lesion; None when it was not measured."""
    return {
        lesion_id: (readings[(event_id, lesion_id)].size(measure)
                    if (event_id, lesion_id) in readings else None)
        for lesion_id, measure in plan.targets.items()
    }


def _is_partial_response(total: int, baseline: int) -> bool:
    """RECIST 1.1 §4.3.1: at least a 30 % decrease from the baseline sum."""
    return (baseline - total) * 100 >= _PR_DECREASE_PCT * baseline


def _is_progression(total: int, nadir: int) -> bool:
    """RECIST 1.1 §4.3.1: >= 20 % above the smallest sum on study (baseline
    included) and an absolute increase of >= 5 mm."""
    increase = total - nadir
    return increase * 100 >= _PD_INCREASE_PCT * nadir and increase >= _PD_ABSOLUTE


def _is_complete_response(plan, values) -> bool:
    """RECIST 1.1 §4.3.1: non-nodal targets gone and every nodal target's short
    axis < 10 mm (nodes stay in the sum, §4.3.2, so the sum need not be 0)."""
    normal = _tenths(NORMAL_NODE_CM)
    return all(
        value < normal if lesion_id in plan.nodal else value == 0
        for lesion_id, value in values.items()
    )


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


def _non_target_response(plan, readings, event_id) -> str:
    """RECIST 1.1 §4.3.3: PD on unequivocal progression of any non-target,
    NE if any was not assessed, CR if all are gone (nodes < 10 mm short axis),
    else non-CR/non-PD; NA when there was no non-target disease at baseline."""
    if not plan.non_targets:
        return "NA"
    normal = _tenths(NORMAL_NODE_CM)
    found = [readings.get((event_id, lesion_id), _Reading()) for lesion_id in plan.non_targets]
    if any("unequivocal_progression" in r.assessments for r in found):
        return "PD"
    if not all(r.assessed for r in found):
        return "NE"

    def resolved(lesion_id, reading):
        short_axis = reading.size("short_axis")
        return reading.absent or (
            lesion_id in plan.nodal and short_axis is not None and short_axis < normal)

    if all(resolved(lesion_id, r) for lesion_id, r in zip(plan.non_targets, found)):
        return "CR"
    return "non-CR/non-PD"


def _crossed_nodes(plan, readings, event_id) -> list[str]:
    """Nodes below the malignancy threshold at baseline that reach it now.

    Such a node is a new malignant lesion for this criteria (RECIST 1.1 §4.3.5;
    Lencioni & Llovet 2010 for the 2 cm porta hepatis threshold). It stays new
    at every later event where it is still at or above the threshold.
    """
    notes = []
    for lesion_id, baseline_axis in plan.watched_nodes.items():
        reading = readings.get((event_id, lesion_id))
        short_axis = reading.size("short_axis") if reading else None
        if short_axis is not None and short_axis >= plan.threshold:
            notes.append(
                f"{lesion_id}: short axis {_cm(baseline_axis)} -> {_cm(short_axis)} cm reaches "
                f"the {plan.criteria} node threshold {_cm(plan.threshold)} cm: new malignant lesion")
    return notes


def _new_lesions(plan, readings, new_ids, event_id, count_suspected) -> tuple[str, list]:
    """yes / suspected / no. Suspected (equivocal) lesions count only when
    ``count_suspected``; RECIST 1.1 §4.3.5 asks for confirmation first."""
    found = [readings[(event_id, lesion_id)] for lesion_id in new_ids]
    notes = _crossed_nodes(plan, readings, event_id)
    counted = any(r.assessments & _COUNTED_NEW for r in found) or bool(notes)
    suspected = any("suspected" in r.assessments for r in found)
    if suspected:
        notes.append("suspected new lesion(s) counted (count_suspected=True)" if count_suspected
                     else "suspected new lesion(s) not counted: RECIST 1.1 §4.3.5 needs them unequivocal")
    if counted or (suspected and count_suspected):
        return "yes", notes
    return ("suspected" if suspected else "no"), notes


def _percent_change(total: int, reference: int) -> float:
    """Percent change to one decimal, rounded half away from zero, exact."""
    if reference == 0:
        return np.nan
    change = Decimal((total - reference) * 100) / Decimal(reference)
    return float(change.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------
def _check_criteria(criteria: str) -> None:
    if criteria not in CRITERIA:
        raise ValueError(f"criteria must be one of {CRITERIA}, got {criteria!r}")


def _assess(lesions, criteria, count_suspected=False, node_threshold_cm=None,
            tumour_measure=None) -> pd.DataFrame:
    """assess() with an optional forced tumour measure (for sensitivity)."""
    _check_criteria(criteria)
    lesions = _clean(lesions)
    if lesions.empty:
        return pd.DataFrame(columns=ASSESSMENT_COLUMNS)
    threshold_cm = NODE_THRESHOLD_CM[criteria] if node_threshold_cm is None else node_threshold_cm
    events = _events(lesions)
    readings = _readings(lesions)
    plan = _plan(lesions, readings, events, criteria, _tenths(threshold_cm), tumour_measure)
    new_rows = lesions[lesions["role"] == "new"]
    new_ids = new_rows.groupby("event_id")["lesion_id"].unique()
    proxy = bool(plan.proxy_notes)
    proxy_notes = list(plan.proxy_notes.values())

    baseline_id, baseline_day = events[0]
    baseline_sum = sum(_target_values(plan, readings, baseline_id).values()) if plan.targets else None
    rows = [dict(
        event_id=baseline_id, criteria=criteria, day=baseline_day, target_sum_cm=_cm(baseline_sum),
        change_from_baseline_pct=np.nan, change_from_nadir_pct=np.nan, target_response="",
        non_target_response="", new_lesions="", overall_response="", proxy=proxy,
        note="; ".join(plan.baseline_notes + proxy_notes),
    )]
    nadir = baseline_sum
    for event_id, day in events[1:]:
        notes = list(proxy_notes)
        total = change_base = change_nadir = None
        if plan.targets:
            values = _target_values(plan, readings, event_id)
            target = _target_response(plan, values, baseline_sum, nadir)
            unmeasured = [lesion_id for lesion_id, v in values.items() if v is None]
            if unmeasured:
                notes.append(f"target(s) not measured: {', '.join(unmeasured)}")
            else:
                total = sum(values.values())
                change_base = _percent_change(total, baseline_sum)
                change_nadir = _percent_change(total, nadir)
        else:
            target = "NA"
        non_target = _non_target_response(plan, readings, event_id)
        new, new_notes = _new_lesions(
            plan, readings, new_ids.get(event_id, []), event_id, count_suspected)
        rows.append(dict(
            event_id=event_id, criteria=criteria, day=day, target_sum_cm=_cm(total),
            change_from_baseline_pct=np.nan if change_base is None else change_base,
            change_from_nadir_pct=np.nan if change_nadir is None else change_nadir,
            target_response=target, non_target_response=non_target, new_lesions=new,
            overall_response=overall_response(target, non_target, new), proxy=proxy,
            note="; ".join(notes + new_notes),
        ))
        if total is not None:
            nadir = min(nadir, total)  # smallest sum so far, baseline included
    out = pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS)
    return out.astype({"day": int, "proxy": bool,
                       "target_sum_cm": float, "change_from_baseline_pct": float,
                       "change_from_nadir_pct": float})


def assess(lesions: pd.DataFrame, criteria: str, count_suspected: bool = False,
           node_threshold_cm: float | None = None) -> pd.DataFrame:
    """Time-point response at every assessment event under one criteria.

    Rules (Eisenhauer 2009 = RECIST 1.1; Lencioni & Llovet 2010 = mRECIST):

    - Baseline is the earliest event with lesion rows; its row carries the
      target sum and empty response columns.
    - Targets are the baseline rows with role ``target`` that qualify under
      ``criteria``: a node needs a short axis >= ``node_threshold_cm``
      (default NODE_THRESHOLD_CM: 1.5 cm RECIST 1.1 §3.1.1, 2.0 cm mRECIST),
      a non-nodal target needs a baseline measurement, and tumour thrombus is
      always non-target under mRECIST. Demoted lesions are non-targets and the
      baseline note says why.
    - Measures: RECIST 1.1 longest diameter (nodes short axis); mRECIST viable
      diameter for tumours (nodes short axis). A missing preferred measure is
      replaced by the longest diameter for that lesion at every event, and
      ``proxy`` is True with a note naming the substitution.
    - Target response (§4.3.1): PD if the sum is >= 20 % and >= 0.5 cm above
      the nadir (smallest earlier sum, baseline included); else CR if every
      non-nodal target is 0 and every nodal target < 1.0 cm short axis; else
      PR if >= 30 % below baseline; else SD; NE if a target is unmeasured.
      "NA" when there are no targets.
    - Non-target response (§4.3.3): PD / NE / CR / non-CR/non-PD, "NA" when
      there is no non-target disease.
    - New lesions (§4.3.5): "yes" for a role ``new`` row assessed present or
      unequivocal_progression, or a node below the threshold at baseline that
      reaches it; "suspected" when only suspected ones exist and
      ``count_suspected`` is False (they then count as "no").
    - Overall: OVERALL_RESPONSE_TABLE (§4.4.1).

    Percentages are rounded to 0.1 and the sum to 0.01 cm; the decisions are
    made on exact integers, so -30.0 % is PR and +20 % with +0.4 cm is not PD.
    """
    return _assess(lesions, criteria, count_suspected, node_threshold_cm)


def _reported_lookup(responses: pd.DataFrame | None) -> dict:
    if responses is None or responses.empty:
        return {}
    firsts = responses.drop_duplicates(["event_id", "criteria"])
    return {(r.event_id, r.criteria): str(r.category) for r in firsts.itertuples(index=False)}


def response_table(lesions: pd.DataFrame, responses: pd.DataFrame | None = None,
                   count_suspected: bool = False) -> pd.DataFrame:
    """Both criteria, RECIST1.1 rows then mRECIST rows, each in day order,
    with the authors' call for the same event and criteria in
    ``reported_response`` (empty string where they reported none).
    Rules as in :func:`assess` (Eisenhauer 2009; Lencioni & Llovet 2010)."""
    reported = _reported_lookup(responses)
    tables = [assess(lesions, criteria, count_suspected=count_suspected) for criteria in CRITERIA]
    out = pd.concat(tables, ignore_index=True)
    out["reported_response"] = [
        reported.get((e, c), "") for e, c in zip(out["event_id"], out["criteria"])]
    return out[RESPONSE_TABLE_COLUMNS]


LESION_CHANGE_COLUMNS = ["lesion_id", "event_id", "day", "size_cm", "measure", "role",
                         "change_pct"]
TARGET_SUM = "target sum"


def lesion_changes(lesions: pd.DataFrame, criteria: str) -> pd.DataFrame:
    """Per-lesion and target-sum % change from baseline, for a spider plot.

    Every lesion measured at baseline is followed by the measure it is summed by under
    ``criteria`` (targets, with the proxy rule of :func:`assess`) or, for measured
    non-targets such as a lymph node, its own recorded measure; ``role`` says which
    (``target``, ``non_target``, or ``sum`` for the target-sum rows, whose ``lesion_id``
    is ``"target sum"``). change_pct = (size - baseline size) / baseline size x 100,
    rounded to 0.1 (Eisenhauer 2009 §4.3.1 defines the same change for the sum).
    """
    _check_criteria(criteria)
    lesions = _clean(lesions)
    columns = LESION_CHANGE_COLUMNS
    if lesions.empty:
        return pd.DataFrame(columns=columns)
    events = _events(lesions)
    readings = _readings(lesions)
    plan = _plan(lesions, readings, events, criteria,
                 _tenths(NODE_THRESHOLD_CM[criteria]), None)
    baseline_id = events[0][0]
    followed = dict(plan.targets)
    for lesion_id in plan.non_targets:
        sizes = readings[(baseline_id, lesion_id)].sizes
        if sizes:  # a measured non-target, e.g. a lymph node below the target threshold
            followed[lesion_id] = "short_axis" if "short_axis" in sizes else sorted(sizes)[0]
    rows = []
    for lesion_id, measure in followed.items():
        base = readings[(baseline_id, lesion_id)].size(measure)
        for event_id, day in events:
            reading = readings.get((event_id, lesion_id))
            size = reading.size(measure) if reading else None
            if size is None or not base:
                continue
            rows.append(dict(lesion_id=lesion_id, event_id=event_id, day=day, size_cm=_cm(size),
                             measure=measure,
                             role="target" if lesion_id in plan.targets else "non_target",
                             change_pct=_percent_change(size, base)))
    for r in assess(lesions, criteria).itertuples(index=False):
        if not np.isnan(r.target_sum_cm):
            rows.append(dict(lesion_id=TARGET_SUM, event_id=r.event_id, day=r.day,
                             size_cm=r.target_sum_cm, measure="sum", role="sum",
                             change_pct=0.0 if r.event_id == baseline_id
                             else r.change_from_baseline_pct))
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------
# Best overall response, RECIST 1.1 §4.4.3 and §4.6.1
# --------------------------------------------------------------------------
_BOR_RANK = {"CR": 5, "PR": 4, "SD": 3, "non-CR/non-PD": 3, "PD": 1, "NE": 0}
_AT_LEAST = {"CR": ("CR",), "PR": ("PR", "CR")}


def _confirmed(calls, i, response, confirm_days) -> bool:
    """A later call >= confirm_days after call i that is the same or better,
    with no PD in between (§4.6.1)."""
    day = calls[i][1]
    for _, later_day, later in calls[i + 1:]:
        if later == "PD":
            return False
        if later_day - day >= confirm_days and later in _AT_LEAST[response]:
            return True
    return False


def _counted_response(calls, i, baseline_day, confirm, confirm_days, min_sd_days):
    """The response call i counts as for BOR, with a note when it changed.

    With confirmation an unconfirmed CR counts as PR if the PR is confirmed,
    otherwise an unconfirmed CR/PR counts as SD (Eisenhauer 2009 §4.4.3, the
    confirmation table). SD (and non-CR/non-PD) counts only when at least
    ``min_sd_days`` after baseline, else NE.
    """
    event_id, day, response = calls[i]
    notes = []
    if confirm and response == "CR" and not _confirmed(calls, i, "CR", confirm_days):
        notes.append(f"CR at {event_id} not confirmed >= {confirm_days} days later")
        response = "PR"
    if confirm and response == "PR" and not _confirmed(calls, i, "PR", confirm_days):
        notes.append(f"PR at {event_id} not confirmed >= {confirm_days} days later: counts as SD")
        response = "SD"
    if response in ("SD", "non-CR/non-PD") and day - baseline_day < min_sd_days:
        notes.append(f"{response} at {event_id} only {day - baseline_day} days after baseline "
                     f"(< {min_sd_days}): NE")
        response = "NE"
    return response, notes


def best_overall_response(assessed: pd.DataFrame, confirm: bool = False,
                          confirm_days: int = 28, min_sd_days: int = 42) -> pd.DataFrame:
    """Best overall response per criteria (Eisenhauer 2009 §4.4.3).

    ``assessed`` is the output of :func:`assess` or :func:`response_table`
    (one or both criteria). The best call in the order CR > PR > SD
    (or non-CR/non-PD) > PD > NE wins; its first event is reported.

    - ``confirm=True``: a CR needs a CR, a PR a PR or CR, at a later
      assessment >= ``confirm_days`` later without PD in between (§4.6.1);
      an unconfirmed CR falls to PR (if that is confirmed) and an unconfirmed
      PR to SD, as in the paper's confirmation table.
    - SD counts only if >= ``min_sd_days`` (default 42 = 6 weeks) after the
      baseline assessment; otherwise that call is NE, so SD too early followed
      by PD gives PD.
    """
    rows = []
    for criteria in [c for c in CRITERIA if c in set(assessed["criteria"])]:
        frame = assessed[assessed["criteria"] == criteria].sort_values("day", kind="stable")
        baseline_day = int(frame["day"].iloc[0])
        follow = frame[frame["overall_response"].astype(str) != ""]
        calls = list(zip(follow["event_id"], follow["day"].astype(int), follow["overall_response"]))
        best, best_event, notes = "NE", "", []
        if not calls:
            notes.append("no follow-up assessment")
        for i in range(len(calls)):
            response, why = _counted_response(
                calls, i, baseline_day, confirm, confirm_days, min_sd_days)
            notes.extend(why)
            if _BOR_RANK[response] > _BOR_RANK[best] or (not best_event and response == best):
                best, best_event = response, calls[i][0]
        rows.append(dict(criteria=criteria, bor=best, event_id=best_event, note="; ".join(notes)))
    return pd.DataFrame(rows, columns=BOR_COLUMNS)


# --------------------------------------------------------------------------
# Sensitivity of the reported calls to unreported details
# --------------------------------------------------------------------------
#: One-at-a-time departures from "as recorded". Keys: criteria ("reported",
#: "other" or a name in CRITERIA), measure ("preferred" or "longest"),
#: node_role ("as_recorded" or "target"), node_axis ("short" or "long"),
#: count_suspected (bool).
DEFAULT_SCENARIOS = (
    {"scenario": "as recorded"},
    {"scenario": "other criteria", "criteria": "other"},
    {"scenario": "whole-tumour (longest) diameter", "measure": "longest"},
    {"scenario": "lymph node(s) promoted to target", "node_role": "target"},
    {"scenario": "node size read as long axis", "node_axis": "long"},
    {"scenario": "suspected new lesions counted", "count_suspected": True},
)
_SCENARIO_DEFAULTS = {"criteria": "reported", "measure": "preferred",
                      "node_role": "as_recorded", "node_axis": "short", "count_suspected": False}
_CATEGORY_NAMES = {"complete response": "CR", "partial response": "PR",
                   "stable disease": "SD", "progressive disease": "PD"}


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


def _scenario_lesions(lesions: pd.DataFrame, node_role: str, node_axis: str) -> pd.DataFrame:
    """Lesion rows rewritten for the node scenarios.

    node_role="target": every non-target lymph node becomes a target (it must
    still qualify under the criteria's threshold). node_axis="long": the
    recorded node size is read as its longest diameter, so its short axis is
    unknown; the node then cannot be a nodal target, cannot be shown to
    cross a malignancy threshold and is resolved only if reported absent.
    """
    out = _clean(lesions)
    nodes = out["kind"] == "lymph_node"
    if node_role == "target":
        out.loc[nodes & (out["role"] == "non_target"), "role"] = "target"
    if node_axis == "long":
        out.loc[nodes & (out["measure"] == "short_axis"), "measure"] = "longest"
    return out


def sensitivity(lesions: pd.DataFrame, responses: pd.DataFrame,
                scenarios=None) -> pd.DataFrame:
    """Does each reported call survive other readings of unreported details?

    For every (event_id, criteria, category) in ``responses`` the assessment
    is re-run under each scenario (default DEFAULT_SCENARIOS: the other
    criteria; whole (longest) instead of viable diameter; nodes promoted to
    target; node size read as long axis; suspected new lesions counted) and
    ``survives`` says whether the computed overall response equals the
    reported one. Rules as in :func:`assess` (Eisenhauer 2009; Lencioni &
    Llovet 2010). One row per scenario per reported call.
    """
    scenarios = DEFAULT_SCENARIOS if scenarios is None else scenarios
    cache: dict[tuple, pd.DataFrame] = {}
    rows = []
    for call in responses.itertuples(index=False):
        for scenario in scenarios:
            setting = {**_SCENARIO_DEFAULTS, **scenario}
            criteria = _scenario_criteria(setting["criteria"], call.criteria)
            forced = "longest" if setting["measure"] == "longest" else None
            key = (criteria, forced, setting["node_role"], setting["node_axis"],
                   bool(setting["count_suspected"]))
            if key not in cache:
                cache[key] = _assess(
                    _scenario_lesions(lesions, setting["node_role"], setting["node_axis"]),
                    criteria, count_suspected=key[4], tumour_measure=forced)
            found = cache[key].loc[cache[key]["event_id"] == call.event_id, "overall_response"]
            computed = str(found.iloc[0]) if len(found) else ""
            rows.append(dict(
                event_id=call.event_id, reported_criteria=call.criteria, reported=call.category,
                scenario=setting.get("scenario", ""), criteria=criteria,
                measure=forced or _preferred_measure("tumour", criteria),
                node_role=setting["node_role"], node_axis=setting["node_axis"],
                count_suspected=key[4], computed=computed,
                survives=bool(computed) and _category(computed) == _category(call.category),
            ))
    return pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
