"""Time-to-event endpoints from time-point responses and vital status: PFS, OS, TTR, DOR.

Definitions (times in whole days on the case's timeline, ``time_days = end_day -
start_day``; an ADaM ADTTE's ``AVAL`` is one more, ADT - STARTDT + 1, and is computed by
the ADaM export, :mod:`casekit.interop.adam`):

- ``PFS`` (progression-free survival): from ``start_day`` (treatment start, the
  timeline's day 0) to the first progression or death from any cause, whichever comes
  first - event True - or, without either, censored (event False) at the last
  assessment chosen by ``censoring``. The day of progression is the day of the scan
  where it was first seen: a confirmed equivocal new lesion is already back-dated by
  the response engine (Eisenhauer 2009, RECIST 1.1 §4.3.5). FDA Guidance for Industry
  "Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics" (2018),
  Table 2 (PFS censoring): documented progression or death is an event; no
  progression and no death is censored at the date of the last radiological assessment
  (``censoring="last_adequate"``, the default here: the last assessment with a call
  other than NE); no post-baseline assessment (and no death) is censored at the start.
  ``censoring="last_assessment"`` censors at the last assessment whatever its call, NE
  included - admiralonco's ADTTE template (``lasta_censor``: the LSTA parameter is the
  last OVR record). The guidance's option of censoring a death after two or more
  missed assessments is not applied (the case format has no visit schedule).
- ``OS`` (overall survival): from ``start_day`` to death from any cause (event), else
  censored at the last day the patient was known alive (``last_alive_day``; without it,
  at ``start_day``, as admiralonco's ``rand_censor``). One row per case, ``criteria``
  empty: it depends on no response criteria.
- ``TTR`` (time to response): from ``start_day`` to the first CR or PR (event), else
  censored at the last adequate assessment up to the first progression.
- ``DOR`` (duration of response, responders only; ADaM's ``RSD``): from the first CR
  or PR (unconfirmed, admiralonco's RSP) to progression or death, whichever comes first
  (event), else censored as PFS is; ``start_day`` of its row is the day of the first
  response.
- iRECIST (Seymour 2017, Lancet Oncol 18:e143-e152, "Data collection and analysis"):
  progression is iUPD confirmed as iCPD, dated at that iUPD. An iUPD never confirmed
  (e.g. at the last scan) is handled by ``unconfirmed_iupd``: "censor" (default;
  censored at that assessment, which is adequate but not progression) or "event"
  (counted as progression at the iUPD - the reading of a study that stops at iUPD).

Assessments after the first progression are not used. A death before ``start_day``
is ignored. Responses are unconfirmed time-point calls (no confirmation is required for
TTR/DOR here). ``end_reason`` names what ended each row: progression, death, last
adequate assessment, last assessment, last known alive, start (censored at the start:
nothing after it), or response (TTR).
"""

from __future__ import annotations

import pandas as pd

ENDPOINT_COLUMNS = ["criteria", "endpoint", "event", "time_days", "start_day", "end_day",
                    "end_event_id", "rule", "end_reason"]
#: How PFS and DOR are censored without progression or death (see the module docstring).
CENSORING = ("last_adequate", "last_assessment")
_ORDER = ("RECIST1.1", "mRECIST", "iRECIST")
_RESPONSE = {"CR", "PR", "iCR", "iPR"}
_NOT_ADEQUATE = {"NE", ""}
_CENSOR_REASON = {"last_adequate": "last adequate assessment",
                  "last_assessment": "last assessment"}


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


def overall_survival(start_day: int = 0, death_day: int | None = None,
                     last_alive_day: int | None = None, death_event_id: str = "",
                     last_alive_event_id: str = "") -> dict:
    """The OS row (module docstring): death is the event, else censored at the last day
    known alive, else at the start."""
    rule = "OS: death from any cause, else censored at the last day known alive"
    if death_day is not None and death_day >= start_day:
        end, event_id, event, reason = death_day, death_event_id, True, "death"
    elif last_alive_day is not None and last_alive_day >= start_day:
        end, event_id, event, reason = last_alive_day, last_alive_event_id, False, "last known alive"
    else:
        end, event_id, event, reason = start_day, "", False, "start"
    return dict(criteria="", endpoint="OS", event=event, time_days=int(end - start_day),
                start_day=int(start_day), end_day=int(end), end_event_id=event_id, rule=rule,
                end_reason=reason)


def endpoints(assessed: pd.DataFrame, start_day: int = 0, *, death_day: int | None = None,
              death_event_id: str = "", last_alive_day: int | None = None,
              last_alive_event_id: str = "", censoring: str = "last_adequate",
              unconfirmed_iupd: str = "censor", criteria=None) -> pd.DataFrame:
    """One row per criteria per endpoint (PFS, TTR, and DOR for responders), then OS.

    ``criteria`` (default: those in ``assessed``) lists the criteria to report; one with no
    assessment still gets its PFS and TTR (censored at the start, or PFS ended by death).

    ``assessed`` is the output of :func:`casekit.rules.response.assess` or
    ``response_table`` (one or more criteria). ``death_day`` / ``last_alive_day`` are the
    case's vital status on its timeline (None: not stated). Definitions and references:
    the module docstring. Columns: :data:`ENDPOINT_COLUMNS`.
    """
    if unconfirmed_iupd not in ("censor", "event"):
        raise ValueError(f"unconfirmed_iupd must be 'censor' or 'event', got {unconfirmed_iupd!r}")
    if censoring not in CENSORING:
        raise ValueError(f"censoring must be one of {CENSORING}, got {censoring!r}")
    death = death_day if death_day is not None and death_day >= start_day else None
    present = list(dict.fromkeys(assessed["criteria"])) if len(assessed) else []
    present += [c for c in (criteria or ()) if c not in present]
    ordered = [c for c in _ORDER if c in present] + [c for c in present if c not in _ORDER]
    rows = []
    for criteria in ordered:
        frame = (assessed[assessed["criteria"] == criteria].sort_values("day", kind="stable")
                 if len(assessed) else assessed)
        follow = frame[frame["overall_response"].astype(str) != ""] if len(frame) else frame
        calls = [] if follow.empty else list(zip(follow["event_id"], follow["day"].astype(int),
                         follow["overall_response"].astype(str)))
        dated, known, why = _progression(calls, unconfirmed_iupd)
        used = calls if known is None else calls[:known + 1]
        counted = [c for c in used if c[2] not in _NOT_ADEQUATE] if censoring == "last_adequate" \
            else list(used)
        last = counted[-1] if counted else ("", start_day, "")
        last_reason = _CENSOR_REASON[censoring] if counted else "start"
        pd_rule = ("first PD (iCPD dated at its iUPD)" if criteria == "iRECIST"
                   else "first PD (back-dated per RECIST 1.1 §4.3.5)")
        censor_rule = f"else censored at the {_CENSOR_REASON[censoring]}"
        # The event that ends PFS and DOR: progression or death, whichever is first.
        ending = None
        if dated is not None:
            ending = (calls[dated], "progression")
        if death is not None and (ending is None or death < ending[0][1]):
            ending = ((death_event_id, death, "death"), "death")

        def row(endpoint, event, begin, end, rule, reason):
            rows.append(dict(criteria=criteria, endpoint=endpoint, event=bool(event),
                             time_days=int(end[1] - begin), start_day=int(begin),
                             end_day=int(end[1]), end_event_id=end[0], rule=rule,
                             end_reason=reason))

        pfs_rule = f"PFS: {pd_rule} or death, {censor_rule}" + (f"; {why}" if why else "")
        if ending is not None:
            row("PFS", True, start_day, ending[0], pfs_rule, ending[1])
        else:
            row("PFS", False, start_day, last, pfs_rule, last_reason)
        before_pd = used if dated is None else calls[:dated + 1]
        first = next((c for c in before_pd if c[2] in _RESPONSE), None)
        if first is not None:
            row("TTR", True, start_day, first, "TTR: first CR or PR", "response")
            dor_rule = f"DOR: first CR/PR to {pd_rule} or death, {censor_rule}"
            if ending is not None:
                row("DOR", True, first[1], ending[0], dor_rule, ending[1])
            else:
                row("DOR", False, first[1], last, dor_rule, last_reason)
        else:
            before = [c for c in before_pd if c[2] not in _NOT_ADEQUATE]
            end = before[-1] if before else ("", start_day, "")
            row("TTR", False, start_day, end, "TTR: first CR or PR, else censored at the last "
                "adequate assessment", "last adequate assessment" if before else "start")
    rows.append(overall_survival(start_day, death_day, last_alive_day, death_event_id,
                                 last_alive_event_id))
    return pd.DataFrame(rows, columns=ENDPOINT_COLUMNS).astype(
        {"event": bool, "time_days": int, "start_day": int, "end_day": int})
