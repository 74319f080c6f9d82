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


import numpy as np
import pandas as pd

from casekit.case.schema import RESPONSE_CRITERIA
from casekit.rules import irecist
from casekit.rules import lesions as L
from casekit.rules.best_response import BOR_COLUMNS, best_overall_response  # noqa: F401 (public API)
from casekit.rules.lesions import NORMAL_NODE_CM, porta_hepatis_nodes  # noqa: F401 (public API)
from casekit.rules.timepoint import (  # noqa: F401 (public API)
    ASSESSMENT_COLUMNS, OVERALL_RESPONSE_TABLE, Evaluation, TimePoint, _percent_change,
    _reappeared, assess_time_points, evaluate, evaluate_cleaned,
    overall_response)

#: The default pair of response_table(); ALL_CRITERIA adds iRECIST.
CRITERIA = ("RECIST1.1", "mRECIST")
ALL_CRITERIA = tuple(RESPONSE_CRITERIA)

RESPONSE_TABLE_COLUMNS = ASSESSMENT_COLUMNS[:10] + ["reported_response"]
SENSITIVITY_COLUMNS = [
    "event_id", "reported_criteria", "reported", "scenario", "criteria",
    "measure", "node_role", "node_axis", "porta_hepatis", "node_growth", "count_suspected",
    "computed", "survives",
]


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
        return irecist.assess_irecist(lesions, **common, **irecist_options)
    if irecist_options:
        raise TypeError(f"unexpected option(s) for {criteria}: {sorted(irecist_options)}")
    return assess_time_points(lesions, criteria, reappearance_is_pd=reappearance_is_pd, **common)


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
    is ``"target sum"``). A node that is not disease at baseline under ``criteria`` (below
    its malignancy threshold: 1 cm, a porta hepatis node 2 cm under mRECIST) is
    ``not_disease``: followed only as a possible new lesion, never a non-target. change_pct = (size - baseline size) / baseline size x 100,
    rounded to 0.1 (Eisenhauer 2009 §4.3.1 defines the same change for the sum).
    ``options`` as in :func:`assess`.
    """
    _check_criteria(criteria)
    lesions = L.clean(lesions)
    columns = LESION_CHANGE_COLUMNS
    if lesions.empty:
        return pd.DataFrame(columns=columns)
    evaluation = evaluate_cleaned(lesions, criteria, **{k: v for k, v in options.items()
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
                             role=("target" if lesion_id in plan.targets else "non_target"
                                   if lesion_id in plan.non_targets else "not_disease"),
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
