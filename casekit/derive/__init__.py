"""Derive once: every table casekit derives from one case, computed by one function.

:func:`derive_case` takes a loaded case and the run's options and returns a
:class:`Derived` holding each derived table once. The notebooks, ``report.html``,
``casekit series`` (its per-subject tables are these tables with a ``subject`` column in
front) and the ADaM export (:mod:`casekit.interop.adam`) only read them, so one patient
never gets two answers. Options are resolved in :mod:`casekit.derive.options`.

The tables (:data:`TABLES` gives each one's file name and columns):

- ``response`` (``response.csv``): the time-point response at every assessment under each
  criteria that applies (:func:`casekit.rules.response.assess`), with the authors' call
  beside it (``reported_response``); with ``calls="recorded"`` the recorded call is the
  overall response (admiralonco's OVR is RS as recorded).
- ``bor`` (``bor.csv``): best overall response per criteria, unconfirmed and confirmed
  (:func:`casekit.rules.best_response.best_overall_response`).
- ``best_change`` (``best_change.csv``): the smallest change of the target sum from
  baseline over the assessments up to and including the one that dates the first
  progression (Eisenhauer 2009 §4.4.3: nothing after progression counts), the basis of
  that progression, and whether it came from non-targets or new lesions despite shrinkage.
- ``endpoints`` (``endpoints.csv``): PFS (progression or death), TTR, DOR per criteria and
  OS (:func:`casekit.rules.endpoints.endpoints`).
- ``markers`` (``markers.csv``): every tumour marker and viral load the case has
  (:func:`casekit.rules.markers.case_markers`), with ``kind``.
- ``scores`` (``scores.csv``): liver scores where the case has the labs
  (:func:`casekit.rules.scores.score_table`).
- ``subject`` (``subject.csv``): one row: what the case is, its follow-up and vital status.
- ``sensitivity.csv``, on demand (:func:`sensitivity`): which reported calls survive the
  details the paper leaves out.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd

from casekit.derive.options import CONVENTIONS, OPTIONS, Options, check_parameters, resolve_options
from casekit.rules import endpoints as endpoint_rules
from casekit.rules import markers as marker_rules
from casekit.rules import response as response_rules
from casekit.rules.best_response import BOR_COLUMNS, best_overall_response

__all__ = ["CONVENTIONS", "OPTIONS", "TABLES", "Derived", "Options", "check_parameters",
           "derive_case", "resolve_options", "sensitivity"]

RESPONSE_COLUMNS = response_rules.ASSESSMENT_COLUMNS + ["reported_response"]
BEST_CHANGE_COLUMNS = ["criteria", "best_change_pct", "event_id", "day", "progression_event_id",
                       "progression_basis", "pd_despite_shrinkage"]
MARKER_COLUMNS = marker_rules.MARKER_TABLE_COLUMNS + ["kind"]
SUBJECT_COLUMNS = ["title", "cancer", "criteria", "not_assessed", "assessments",
                   "baseline_day", "last_assessment_day", "last_day", "death_day",
                   "last_alive_day", "reference_start_date", "markers", "reported_calls"]
#: table -> (file written by a case run, its columns). ``response.csv`` keeps the columns it
#: always had (no ``proxy``/``note``: notebook 04 shows the notes).
TABLES: dict[str, tuple[str, list[str]]] = {
    "response": ("response.csv", response_rules.RESPONSE_TABLE_COLUMNS),
    "bor": ("bor.csv", ["criteria", "confirmed", "bor", "event_id", "note"]),
    "best_change": ("best_change.csv", BEST_CHANGE_COLUMNS),
    "endpoints": ("endpoints.csv", endpoint_rules.ENDPOINT_COLUMNS),
    "markers": ("markers.csv", MARKER_COLUMNS),
    "subject": ("subject.csv", SUBJECT_COLUMNS),
}
#: The kinds of marker, as the markers table names them.
MARKER_KINDS = {"tumour": "tumour marker", "viral": "viral load"}


@dataclass
class Derived:
    """Every derived table of one case (module docstring), and the options used."""

    options: Options
    response: pd.DataFrame
    bor: pd.DataFrame
    best_change: pd.DataFrame
    endpoints: pd.DataFrame
    markers: pd.DataFrame
    subject: pd.DataFrame
    scores: pd.DataFrame | None = None
    not_assessed: list[str] = field(default_factory=list)

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` with exactly the columns of its file (:data:`TABLES`)."""
        return getattr(self, name)[TABLES[name][1]]


def _reported(case) -> dict:
    responses = case.responses.drop_duplicates(["event_id", "criteria"])
    return {(str(e), str(c)): str(k) for e, c, k in
            zip(responses["event_id"], responses["criteria"], responses["category"])}


def _as_recorded(case, frame: pd.DataFrame, criteria: str) -> pd.DataFrame:
    """``frame`` with the recorded calls as the overall response: admiralonco's OVR is RS as
    recorded. Computed follow-ups with no recorded call carry no call; recorded calls at
    events without lesion rows are added."""
    recorded = case.responses[case.responses["criteria"] == criteria]
    calls = dict(zip(recorded["event_id"].astype(str), recorded["category"].astype(str)))
    baseline = frame["event_id"].iloc[0] if len(frame) else None
    out = frame.copy()
    out["overall_response"] = [calls.get(str(e), "") if e != baseline else ""
                               for e in out["event_id"]]
    out["note"] = [("recorded call (calls=recorded)" + ("; " + n if n else "")) if c else n
                   for c, n in zip(out["overall_response"], out["note"])]
    days = dict(zip(case.timeline["event_id"].astype(str), case.timeline["day"].astype(int)))
    extra = [dict(event_id=e, criteria=criteria, day=days[e], overall_response=c,
                  target_response="", non_target_response="", new_lesions="", proxy=False,
                  note="recorded call (calls=recorded); no lesion rows at this event")
             for e, c in calls.items() if e not in set(out["event_id"].astype(str))]
    if extra:
        out = pd.concat([out, pd.DataFrame(extra)], ignore_index=True)
    return out.sort_values("day", kind="stable").reset_index(drop=True)


def _response(case, options: Options) -> tuple[pd.DataFrame, list[str]]:
    reported = _reported(case)
    frames, not_assessed = [], []
    for name in options.criteria:
        try:
            frame = response_rules.assess(case.lesions, name,
                                          count_suspected=options.count_suspected,
                                          porta_hepatis=options.porta_hepatis)
        except ValueError as exc:
            if "criteria" not in str(exc):
                raise
            not_assessed.append(name)  # the engine does not implement it
            continue
        if options.calls == "recorded":
            frame = _as_recorded(case, frame, name)
        frames.append(frame.assign(reported_response=[reported.get((str(e), name), "")
                                                      for e in frame["event_id"]]))
    table = (pd.concat(frames, ignore_index=True) if frames
             else pd.DataFrame(columns=RESPONSE_COLUMNS))
    return table[RESPONSE_COLUMNS].astype({"day": int, "proxy": bool}), not_assessed


def _bor(response: pd.DataFrame, options: Options) -> pd.DataFrame:
    rows = []
    assessed = [c for c in options.criteria if c in set(response["criteria"])]
    # one call per confirmation setting covers every criteria (the rule groups by criteria)
    frames = {confirm: best_overall_response(
        response, confirm=confirm, confirm_days=options.confirm_days,
        min_sd_days=options.min_sd_days,
        non_target_only_unconfirmed_cr=options.non_target_only_unconfirmed_cr
    ).set_index("criteria") if assessed else None for confirm in (False, True)}
    for criteria in options.criteria:
        for confirm in (False, True):
            if criteria not in assessed:  # nothing assessed: no best response (ADaM: MISSING)
                rows.append(dict(criteria=criteria, confirmed=confirm, bor="NE", event_id="",
                                 note="no tumour assessment"))
                continue
            row = frames[confirm].loc[criteria]
            rows.append(dict(criteria=criteria, confirmed=confirm, bor=row["bor"],
                             event_id=row["event_id"], note=row["note"]))
    return pd.DataFrame(rows, columns=["criteria", "confirmed"] + BOR_COLUMNS[1:])


def best_change(response: pd.DataFrame, unconfirmed_iupd: str = "censor") -> pd.DataFrame:
    """Best (smallest) % change of the target sum from baseline per criteria, over the
    follow-ups up to and including the one that dates the first progression (Eisenhauer
    2009 §4.4.3; what a waterfall plot draws). ``progression_basis`` says what made that
    progression (targets, non-targets, new lesions); ``pd_despite_shrinkage`` is True when
    the best change is a shrinkage (< 0) and the progression did not come from the targets.
    First follow-up wins ties; NaN when no follow-up has a measured sum."""
    by_criteria: dict[str, list[dict]] = {}
    ordered = response.sort_values("day", kind="stable")
    for row in ordered.to_dict("records"):  # plain rows: a handful per case, no frame ops
        by_criteria.setdefault(row["criteria"], []).append(row)
    out = []
    for criteria, rows in by_criteria.items():
        follow = [r for r in rows if str(r["overall_response"]) != ""]
        calls = [(r["event_id"], int(r["day"]), str(r["overall_response"])) for r in follow]
        dated, _, _ = endpoint_rules._progression(calls, unconfirmed_iupd)
        scan = None if dated is None else follow[dated]
        if scan is not None:
            follow = [r for r in follow if r["day"] <= scan["day"]]
        measured = [r for r in follow if pd.notna(r["change_from_baseline_pct"])]
        basis = ""
        if scan is not None:
            parts = [what for what, hit in (
                ("targets", scan["target_response"] == "PD"),
                ("non-targets", scan["non_target_response"] == "PD"),
                ("new lesions", scan["new_lesions"] == "yes")) if hit]
            basis = " + ".join(parts) or "as recorded"
        progression = "" if scan is None else str(scan["event_id"])
        if not measured:
            out.append(dict(criteria=criteria, best_change_pct=float("nan"), event_id="",
                            day=pd.NA, progression_event_id=progression,
                            progression_basis=basis, pd_despite_shrinkage=False))
            continue
        best = min(measured, key=lambda r: (r["change_from_baseline_pct"], r["day"]))
        change = float(best["change_from_baseline_pct"])
        out.append(dict(criteria=criteria, best_change_pct=change, event_id=str(best["event_id"]),
                        day=int(best["day"]), progression_event_id=progression,
                        progression_basis=basis,
                        pd_despite_shrinkage=bool(scan is not None and change < 0
                                                  and "targets" not in basis.split(" + "))))
    return pd.DataFrame(out, columns=BEST_CHANGE_COLUMNS).astype({"pd_despite_shrinkage": bool})


def _markers(case, options: Options) -> pd.DataFrame:
    parts = []
    for kind, label in MARKER_KINDS.items():
        tests = marker_rules.case_markers(case.labs, kind)
        if not tests:
            continue
        with warnings.catch_warnings():
            # A test without a value at the reference event gets NaN changes, by rule.
            warnings.simplefilter("ignore", UserWarning)
            table = marker_rules.marker_table(case.labs, tests=tuple(tests),
                                              reference_event=options.reference_event)
        parts.append(table.assign(kind=label))
    if not parts:
        return pd.DataFrame(columns=MARKER_COLUMNS)
    return pd.concat(parts, ignore_index=True)[MARKER_COLUMNS]


def _scores(case) -> pd.DataFrame | None:
    from casekit.case import sections
    from casekit.rules import scores

    return scores.score_table(case.labs, case.facts_dict) if sections.has_liver_scores(case) else None


def _subject(case, options: Options, response, markers, not_assessed) -> pd.DataFrame:
    imaging_days = sorted(set(case.lesions["day"].astype(int)))
    follow = response[response["overall_response"].astype(str) != ""]
    death = case.vital_event("death")
    alive = case.vital_event("last_known_alive")
    return pd.DataFrame([dict(
        title=case.title, cancer=case.fact("cancer", ""), criteria=";".join(options.criteria),
        not_assessed=";".join(not_assessed),
        assessments=int(follow["event_id"].nunique()),
        baseline_day=imaging_days[0] if imaging_days else pd.NA,
        last_assessment_day=int(follow["day"].max()) if len(follow) else (
            imaging_days[0] if imaging_days else pd.NA),
        last_day=int(case.timeline["day"].max()),
        death_day=death[1] if death else pd.NA,
        last_alive_day=alive[1] if alive else pd.NA,
        reference_start_date=case.fact("reference_start_date", ""),
        markers=";".join(dict.fromkeys(markers["test"])),
        reported_calls=len(case.responses))], columns=SUBJECT_COLUMNS)


def sensitivity(case, options: Options) -> pd.DataFrame:
    """``sensitivity.csv``: does each call the authors reported survive other readings of
    the details the paper leaves out (:func:`casekit.rules.response.sensitivity`: the other
    criteria, iRECIST, whole-tumour diameters, node roles, axes and porta hepatis readings,
    node growth read as unequivocal, suspected lesions counted)? Derived with the case's
    options, on demand: it re-runs the engine about ten times per reported call."""
    if case.responses.empty:
        return pd.DataFrame(columns=response_rules.SENSITIVITY_COLUMNS)
    return response_rules.sensitivity(case.lesions, case.responses,
                                      scenarios=applicable_scenarios(options.criteria),
                                      porta_hepatis=options.porta_hepatis)


def applicable_scenarios(criteria) -> tuple[dict, ...]:
    """The sensitivity scenarios that mean something for a case assessed under ``criteria``:
    the "other criteria" (RECIST 1.1 beside mRECIST) and the porta hepatis readings (the
    2 cm rule) only where mRECIST applies, the iRECIST reading only where iRECIST does."""
    def applies(scenario: dict) -> bool:
        if scenario.get("criteria") == "other" or "porta_hepatis" in scenario:
            return "mRECIST" in criteria
        if scenario.get("criteria") == "iRECIST":
            return "iRECIST" in criteria
        return True

    return tuple(s for s in response_rules.DEFAULT_SCENARIOS if applies(s))


def derive_case(case, options: Options | None = None, **parameters) -> Derived:
    """Every derived table of ``case`` (a :class:`casekit.case.Case`), once.

    ``options`` come from :func:`resolve_options`; without them, ``parameters`` (names of
    :data:`OPTIONS`) are resolved here. Rules and references: each table's function.
    """
    if options is None:
        options = resolve_options(case, parameters)
    elif parameters:
        raise TypeError("give options or parameters, not both")
    response, not_assessed = _response(case, options)
    death = case.vital_event("death")
    alive = case.vital_event("last_known_alive")
    ends = endpoint_rules.endpoints(
        response, start_day=0, death_day=death[1] if death else None,
        death_event_id=death[0] if death else "", last_alive_day=alive[1] if alive else None,
        last_alive_event_id=alive[0] if alive else "", censoring=options.censoring,
        unconfirmed_iupd=options.unconfirmed_iupd,
        criteria=[c for c in options.criteria if c not in not_assessed])
    markers = _markers(case, options)
    return Derived(options=options, response=response, bor=_bor(response, options),
                   best_change=best_change(response, options.unconfirmed_iupd),
                   endpoints=ends, markers=markers,
                   subject=_subject(case, options, response, markers, not_assessed),
                   scores=_scores(case), not_assessed=not_assessed)
