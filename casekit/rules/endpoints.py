"""Time-to-event endpoints from time-point responses: PFS, TTR and DOR per criteria.

Definitions (times in whole days on the case's timeline, ``time_days =
end_day - start_day``):

- ``PFS`` (progression-free interval): from ``start_day`` (treatment start,
  the timeline's day 0) to the first progression - event True - or, without
  one, censored (event False) at the last adequate assessment. The day of
  progression is the day of the scan where it was first seen: a confirmed
  equivocal new lesion is already back-dated by the response engine
  (Eisenhauer 2009, RECIST 1.1 §4.3.5). Adequate = an assessment with a call
  other than NE (the usual censoring rule of FDA Guidance "Clinical Trial
  Endpoints for the Approval of Cancer Drugs and Biologics", 2018, Table on
  PFS censoring).
- ``TTR`` (time to response): from ``start_day`` to the first CR or PR
  (event), else censored at the last adequate assessment up to the first
  progression.
- ``DOR`` (duration of response, responders only): from the first CR or PR
  to the first progression (event), else censored at the last adequate
  assessment; ``start_day`` of its row is the day of the first response.
- iRECIST (Seymour 2017, Lancet Oncol 18:e143-e152, "Data collection and
  analysis"): progression is iUPD confirmed as iCPD, dated at that iUPD. An
  iUPD never confirmed (e.g. at the last scan) is handled by
  ``unconfirmed_iupd``: "censor" (default; censored at that assessment, which
  is adequate but not progression) or "event" (counted as progression at the
  iUPD - the reading of a study that stops at iUPD).

Assessments after the first progression are not used. Responses are
unconfirmed time-point calls (no confirmation is required for TTR/DOR here).
"""

from __future__ import annotations

import pandas as pd

ENDPOINT_COLUMNS = ["criteria", "endpoint", "event", "time_days", "start_day", "end_day",
                    "end_event_id", "rule"]
_ORDER = ("RECIST1.1", "mRECIST", "iRECIST")
_RESPONSE = {"CR", "PR", "iCR", "iPR"}
_NOT_ADEQUATE = {"NE", ""}


def _progression(calls, unconfirmed_iupd: str):
    """Index of the call that dates the first progression, the index where it is
    known (confirmation), and a note; (None, None, note) without one."""
    for i, (_, _, call) in enumerate(calls):
        if call == "PD":
            return i, i, ""
        if call == "iCPD":
            start = i
            while start > 0 and calls[start - 1][2] in ("iUPD", "NE"):
                start -= 1
            while calls[start][2] == "NE":
                start += 1
            return start, i, f"iUPD at {calls[start][0]} confirmed at {calls[i][0]}"
    if unconfirmed_iupd == "event":
        for i, (_, _, call) in enumerate(calls):
            if call == "iUPD":
                return i, i, f"iUPD at {calls[i][0]} never confirmed, counted as progression"
    return None, None, ""


def endpoints(assessed: pd.DataFrame, start_day: int = 0, *,
              unconfirmed_iupd: str = "censor") -> pd.DataFrame:
    """One row per criteria per endpoint (PFS, TTR, and DOR for responders).

    ``assessed`` is the output of :func:`casekit.rules.response.assess` or
    ``response_table`` (one or more criteria). Definitions and references: the
    module docstring. Columns: ``criteria, endpoint, event, time_days,
    start_day, end_day, end_event_id, rule``.
    """
    if unconfirmed_iupd not in ("censor", "event"):
        raise ValueError(f"unconfirmed_iupd must be 'censor' or 'event', got {unconfirmed_iupd!r}")
    present = list(dict.fromkeys(assessed["criteria"])) if len(assessed) else []
    ordered = [c for c in _ORDER if c in present] + [c for c in present if c not in _ORDER]
    rows = []
    for criteria in ordered:
        frame = assessed[assessed["criteria"] == criteria].sort_values("day", kind="stable")
        follow = frame[frame["overall_response"].astype(str) != ""]
        calls = list(zip(follow["event_id"], follow["day"].astype(int),
                         follow["overall_response"].astype(str)))
        dated, known, why = _progression(calls, unconfirmed_iupd)
        used = calls if known is None else calls[:known + 1]
        adequate = [c for c in used if c[2] not in _NOT_ADEQUATE]
        last = adequate[-1] if adequate else ("", start_day, "")
        pd_rule = ("first PD (iCPD dated at its iUPD)" if criteria == "iRECIST"
                   else "first PD (back-dated per RECIST 1.1 §4.3.5)")
        censor_rule = "else censored at the last adequate assessment"

        def row(endpoint, event, begin, end, rule):
            rows.append(dict(criteria=criteria, endpoint=endpoint, event=bool(event),
                             time_days=int(end[1] - begin), start_day=int(begin),
                             end_day=int(end[1]), end_event_id=end[0], rule=rule))

        pfs_rule = f"PFS: {pd_rule}, {censor_rule}" + (f"; {why}" if why else "")
        if dated is not None:
            row("PFS", True, start_day, calls[dated], pfs_rule)
        else:
            row("PFS", False, start_day, last, pfs_rule)
        before_pd = used if dated is None else calls[:dated + 1]
        first = next((c for c in before_pd if c[2] in _RESPONSE), None)
        if first is not None:
            row("TTR", True, start_day, first, "TTR: first CR or PR")
            dor_rule = f"DOR: first CR/PR to {pd_rule}, {censor_rule}"
            if dated is not None:
                row("DOR", True, first[1], calls[dated], dor_rule)
            else:
                row("DOR", False, first[1], last, dor_rule)
        else:
            before = [c for c in before_pd if c[2] not in _NOT_ADEQUATE]
            end = before[-1] if before else ("", start_day, "")
            row("TTR", False, start_day, end, f"TTR: first CR or PR, {censor_rule}")
    return pd.DataFrame(rows, columns=ENDPOINT_COLUMNS).astype(
        {"event": bool, "time_days": int, "start_day": int, "end_day": int})
