"""One case of a series, analysed in-process: validate, load, response, endpoints, markers.

:func:`analyse_case` is the unit of work that the series fans out (on Dask workers or in
this process); it never raises: a case that does not validate comes back ``invalid`` with
its problems, one that breaks a rule's assumptions comes back ``failed`` with the error,
so one bad case never stops the others. Its tables are small, keyed by ``subject`` (the
case folder's name), and are concatenated once for the whole series by
:func:`casekit.series.tables.combine`.

What is computed per case (the definitions are those of the rules called):

- the criteria that apply (:func:`casekit.rules.criteria.applicable_criteria`), each
  assessed with :func:`casekit.rules.response.assess`; a criteria the response engine does
  not implement yet (iRECIST before the response-rules branch lands) is named in
  ``subjects.not_assessed`` rather than guessed;
- best overall response per criteria, without and with confirmation
  (:func:`casekit.rules.response.best_overall_response`, Eisenhauer 2009 §4.4.3, §4.6.1);
- best percentage change of the target sum: the smallest ``change_from_baseline_pct`` of
  any follow-up assessment with a measured sum (the quantity a waterfall plot shows);
- PFS, TTR and DOR (:func:`casekit.rules.endpoints.endpoints`, day 0 of the timeline as
  the start);
- serum markers (:func:`casekit.rules.markers.marker_table`);
- for the swimmer plot: the last day the case records anything (the end of follow-up) and
  the day of death when an ``outcome`` event's label says the patient died.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

#: Analysis options, their defaults and what they mean; ``-p NAME VALUE`` sets them.
OPTIONS = {
    "count_suspected": (False, "count suspected (unconfirmed) new lesions as new lesions"),
    "confirm_days": (28, "minimum interval that confirms a CR/PR (RECIST 1.1 §4.6.1)"),
    "min_sd_days": (42, "minimum time from baseline for stable disease to count "
                        "(RECIST 1.1 §4.4.3; 6 weeks)"),
}
#: Timeline labels that record a death (the format has no death field; an outcome event
#: whose label says so is the only place a case can state it).
DEATH = re.compile(r"\b(?:death|died|dead|deceased)\b", re.IGNORECASE)


@dataclass
class CaseAnalysis:
    """What became of one case: ``status`` is ``ok``, ``invalid``, ``failed`` or
    ``not_imported`` (a subject the SDTM import skipped, with its reason in ``error``)."""

    subject: str
    case_dir: str
    status: str
    problems: list[str] = field(default_factory=list)
    error: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def reason(self) -> str:
        """One line: why the case was left out ('' when it is in)."""
        if self.status == "invalid":
            more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            return f"invalid: {self.problems[0]}{more}" if self.problems else "invalid"
        if self.status == "failed":
            return f"failed: {self.error}"
        return self.error if self.status == "not_imported" else ""


def options_with_defaults(options: dict | None) -> dict:
    """The analysis options, defaults filled in; unknown names are a ValueError."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown series parameter(s) {', '.join(unknown)}; known: "
                         f"{', '.join(OPTIONS)}")
    return {name: options.get(name, default) for name, (default, _) in OPTIONS.items()}


def _with_subject(frame: pd.DataFrame, subject: str) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    out.insert(0, "subject", subject)
    return out


def _best_change(assessed: pd.DataFrame) -> dict:
    """The follow-up with the smallest change of the target sum from baseline (first one on
    ties); NaN when no follow-up has a measured sum."""
    follow = assessed[(assessed["overall_response"].astype(str) != "")
                      & assessed["change_from_baseline_pct"].notna()]
    if follow.empty:
        return dict(best_change_pct=float("nan"), event_id="", day=pd.NA)
    best = follow.sort_values(["change_from_baseline_pct", "day"], kind="stable").iloc[0]
    return dict(best_change_pct=float(best["change_from_baseline_pct"]),
                event_id=str(best["event_id"]), day=int(best["day"]))


def _reported(case) -> dict:
    responses = case.responses
    return {(str(e), str(c)): str(k) for e, c, k in
            zip(responses["event_id"], responses["criteria"], responses["category"])}


def _analyse(case, subject: str, options: dict) -> dict[str, pd.DataFrame]:
    from casekit.rules import endpoints, markers, response
    from casekit.rules.criteria import applicable_criteria

    criteria = applicable_criteria(case)
    reported = _reported(case)
    assessed, not_assessed = [], []
    for name in criteria:
        try:
            frame = response.assess(case.lesions, name,
                                    count_suspected=bool(options["count_suspected"]))
        except ValueError as exc:
            if "criteria" not in str(exc):
                raise
            not_assessed.append(name)  # the engine does not implement it (yet)
            continue
        frame = frame.assign(reported_response=[reported.get((str(e), name), "")
                                                for e in frame["event_id"]])
        assessed.append(frame)
    table = (pd.concat(assessed, ignore_index=True) if assessed
             else pd.DataFrame(columns=response.ASSESSMENT_COLUMNS + ["reported_response"]))

    bor_rows, best_rows = [], []
    for frame in assessed:
        name = str(frame["criteria"].iloc[0])
        for confirm in (False, True):
            bor = response.best_overall_response(
                frame, confirm=confirm, confirm_days=int(options["confirm_days"]),
                min_sd_days=int(options["min_sd_days"]))
            for row in bor.itertuples(index=False):
                bor_rows.append(dict(criteria=row.criteria, confirmed=confirm, bor=row.bor,
                                     event_id=row.event_id, note=row.note))
        best_rows.append(dict(criteria=name, **_best_change(frame)))
    ends = endpoints.endpoints(table) if assessed else pd.DataFrame(
        columns=endpoints.ENDPOINT_COLUMNS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no reference event is passed
        marker_rows = markers.marker_table(case.labs)

    timeline = case.timeline
    imaging_days = sorted(set(case.lesions["day"].astype(int)))
    deaths = timeline[(timeline["category"] == "outcome")
                      & timeline["label"].astype(str).str.contains(DEATH)]
    subject_row = dict(
        title=case.title, cancer=case.fact("cancer", ""), criteria=";".join(criteria),
        not_assessed=";".join(not_assessed),
        assessments=max(len(imaging_days) - 1, 0),
        baseline_day=imaging_days[0] if imaging_days else pd.NA,
        last_assessment_day=imaging_days[-1] if imaging_days else pd.NA,
        last_day=int(timeline["day"].max()),
        death_day=int(deaths["day"].min()) if len(deaths) else pd.NA,
        markers=";".join(sorted(set(marker_rows["test"]))),
        reported_calls=len(case.responses),
    )
    return {
        "subjects": pd.DataFrame([dict(subject=subject, **subject_row)]),
        "assessments": _with_subject(table, subject),
        "bor": _with_subject(pd.DataFrame(bor_rows, columns=["criteria", "confirmed", "bor",
                                                             "event_id", "note"]), subject),
        "best_change": _with_subject(pd.DataFrame(best_rows, columns=[
            "criteria", "best_change_pct", "event_id", "day"]), subject),
        "endpoints": _with_subject(ends, subject),
        "markers": _with_subject(marker_rows, subject),
    }


def analyse_case(case_dir: str | Path, subject: str | None = None,
                 options: dict | None = None) -> CaseAnalysis:
    """Validate, load and analyse one case folder; never raises (see the module docstring).

    ``subject`` defaults to the folder's name; ``options`` are :data:`OPTIONS`.
    """
    from casekit.case import CaseError, load_case

    start = time.perf_counter()
    subject = subject or Path(case_dir).name
    result = CaseAnalysis(subject, str(case_dir), "ok")
    try:
        opts = options_with_defaults(options)
        case = load_case(case_dir)  # validates first: one pass over the files
        result.tables = _analyse(case, subject, opts)
    except CaseError as exc:
        result.status, result.problems = "invalid", [str(p) for p in exc.problems]
    except Exception as exc:  # a rule's assumption broken by this case: report, go on
        text = " ".join(str(exc).split())
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    result.seconds = time.perf_counter() - start
    return result


def analyse_cases(cases: list[tuple[str, str]], options: dict | None = None) -> list[CaseAnalysis]:
    """:func:`analyse_case` for each ``(case_dir, subject)``: one task of a few cases costs
    the cluster one scheduling round trip instead of one per case."""
    return [analyse_case(case_dir, subject, options) for case_dir, subject in cases]
