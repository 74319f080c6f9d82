"""Time-to-event endpoints from time-point responses: PFS, TTR and DOR.

PLACEHOLDER. This file implements contract 3 (``endpoints(assessed, start_day=0)``) so that
the case series (issue 13) can be built before the branch that owns it (response-rules,
issue "Response criteria to the letter") lands; the lead replaces it with that branch's
version on merge. It is honest but simple: it takes the calls of ``assess`` as they are
(unconfirmed, not back-dated) and does not implement RECIST 1.1 §4.3.5's back-dating of
progression first seen as equivocal.

Definitions (Eisenhauer 2009, Eur J Cancer 45:228-247, §4.4.3 and §4.6.2 "duration of
overall response"; FDA Guidance for Industry, Clinical Trial Endpoints for the Approval of
Cancer Drugs and Biologics, 2018, §III.B for PFS and its censoring at the last adequate
assessment):

- ``PFS`` (progression-free interval; deaths are not in the assessed frame): from
  ``start_day`` to the first time-point call of progression (``PD``; ``iCPD`` under
  iRECIST), an event; otherwise censored at the last adequate assessment (a follow-up call
  other than ``NE``), or at ``start_day`` when there is none.
- ``TTR``: from ``start_day`` to the first ``CR``/``PR`` (``iCR``/``iPR``) before any
  progression, an event; otherwise censored at the last adequate assessment.
- ``DOR``: responders only, from the first ``CR``/``PR`` to the first progression after it
  (event) or censored at the last adequate assessment.

``time_days = end_day - start_day``, whole days, never negative (a censoring day before
``start_day`` is moved to ``start_day``).
"""

from __future__ import annotations

import pandas as pd

ENDPOINT_COLUMNS = ["criteria", "endpoint", "event", "time_days", "start_day", "end_day",
                    "end_event_id", "rule"]
_PROGRESSION = {"PD", "iCPD"}
_RESPONSE = {"CR", "PR", "iCR", "iPR"}
_NOT_ADEQUATE = {"", "NE"}


def _row(criteria, endpoint, event, start, end, end_event, rule) -> dict:
    end = max(int(end), int(start))
    return dict(criteria=criteria, endpoint=endpoint, event=bool(event),
                time_days=end - int(start), start_day=int(start), end_day=end,
                end_event_id=end_event, rule=rule)


def _one_criteria(criteria: str, frame: pd.DataFrame, start_day: int) -> list[dict]:
    frame = frame.sort_values("day", kind="stable")
    calls = [(str(e), int(d), str(r)) for e, d, r in
             zip(frame["event_id"], frame["day"], frame["overall_response"].fillna(""))
             if str(r) != ""]
    adequate = [c for c in calls if c[2] not in _NOT_ADEQUATE]
    last = adequate[-1] if adequate else ("", start_day, "")
    progression = next((c for c in calls if c[2] in _PROGRESSION), None)
    response = next((c for c in calls if c[2] in _RESPONSE
                     and (progression is None or c[1] < progression[1])), None)
    rows = []
    if progression:
        rows.append(_row(criteria, "PFS", True, start_day, progression[1], progression[0],
                         "first progression call (placeholder: not back-dated)"))
    else:
        rows.append(_row(criteria, "PFS", False, start_day, last[1], last[0],
                         "no progression: censored at the last adequate assessment"))
    if response:
        rows.append(_row(criteria, "TTR", True, start_day, response[1], response[0],
                         "first CR/PR call (unconfirmed)"))
        if progression:
            rows.append(_row(criteria, "DOR", True, response[1], progression[1],
                             progression[0], "first CR/PR to first progression call"))
        else:
            rows.append(_row(criteria, "DOR", False, response[1], last[1], last[0],
                             "no progression: censored at the last adequate assessment"))
    else:
        rows.append(_row(criteria, "TTR", False, start_day, last[1], last[0],
                         "no CR/PR: censored at the last adequate assessment"))
    return rows


def endpoints(assessed: pd.DataFrame, start_day: int = 0) -> pd.DataFrame:
    """PFS, TTR and (for responders) DOR per criteria of ``assessed`` (contract 3).

    ``assessed`` is the output of ``response.assess`` or ``response.response_table``; one
    row per criteria per endpoint, criteria in order of first appearance. PLACEHOLDER: see
    the module docstring for the definitions and what the real implementation adds.
    """
    rows: list[dict] = []
    for criteria in dict.fromkeys(assessed["criteria"]):
        rows += _one_criteria(criteria, assessed[assessed["criteria"] == criteria], start_day)
    out = pd.DataFrame(rows, columns=ENDPOINT_COLUMNS)
    return out.astype({"event": bool, "time_days": "int64", "start_day": "int64",
                       "end_day": "int64"})
