"""Best overall response (BOR) from time-point calls: RECIST 1.1 §4.4.3 and iRECIST.

Eisenhauer EA, et al. Eur J Cancer 2009;45:228-247 (E2009):
- §4.4.3: the best response recorded from the start of treatment until
  progression; assessments after the first PD do not count.
- §4.4.3 and the table "Best overall response when confirmation of CR and PR
  required" (Table 3 of the paper): CR needs a later CR, PR a later PR or CR,
  >= 4 weeks later (§4.6.1); an unconfirmed response counts as SD when SD's
  minimum interval is met, else as NE (or PD when PD follows).
- Stable disease counts only if met "at least once after study entry at a
  minimum interval (in general not less than 6-8 weeks)".

The confirmation details the paper leaves open are parameters with the
semantics of pharmaverse admiralonco ``derive_param_confirmed_bor()`` (read
for its documented semantics, not its code), side by side:

==========================  ===============================  ==========================
casekit parameter           admiralonco argument             default here (theirs)
==========================  ===============================  ==========================
``confirm_days``            ``ref_confirm``                  28 (28 in their examples)
``max_ne``                  ``max_nr_ne``                    1 (1)
``accept_sd``               ``accept_sd``                    False (FALSE)
``min_sd_days``             ``ref_start_window``             42 (28 in their examples)
``start_day``               ``reference_date`` (TRTSDT)      0 = the timeline's day 0
``cr_then_pr``              (CR then PR is flagged, PR not   "sd"
                            confirmed after a CR in window)
==========================  ===============================  ==========================

- CR confirmed: a CR at least ``confirm_days`` later, only CR or NE in between,
  at most ``max_ne`` NE.
- PR confirmed: a CR or PR at least ``confirm_days`` later, only CR/PR/NE in
  between (one SD allowed with ``accept_sd``), at most ``max_ne`` NE, and no PR
  after a CR inside the window, the confirming call included (admiralonco's
  ``cbor_pr``: the first CR of the window must come after its last PR); so
  PR, CR, PR, CR with the last CR confirming is not a confirmed PR.
- Non-target disease only: RECIST 1.1 Table 2's footnote prefers
  "non-CR/non-PD" to "SD" for it. An unconfirmed CR of a subject whose every
  follow-up has no target response (``target_response`` "NA") therefore counts
  as non-CR/non-PD (``non_target_only_unconfirmed_cr``; "SD" gives
  admiralonco's reading). When SD and non-CR/non-PD both qualify, SD is taken
  whatever the visit order (admiralonco lists ``bor_sd`` before
  ``bor_non_crpd``), so the answer never depends on which came first.
- ``cr_then_pr``: Table 3 gives "CR then PR" as "SD, PD or PR" (footnote: if
  the first CR was real, the PR is PD - handled at the time point by the
  reappearance rule; if small lesions were in fact still present, the first
  call should have been PR). "sd": as admiralonco, the unconfirmed CR counts
  as SD; "pr": the CR is re-read as PR and may be confirmed by the later PR.
- The minimum SD interval counts from treatment start (``start_day``, the
  timeline's day 0), as admiralonco's ``ref_start_window`` counts from the
  treatment start date, not from the baseline scan.

iRECIST (Seymour L, et al. Lancet Oncol 2017;18:e143-e152): the same rules
with iCR/iPR/iSD; iUPD ranks above iCPD (an unconfirmed progression), and the
calls after the first iCPD do not count.
"""

from __future__ import annotations

import pandas as pd

BOR_COLUMNS = ["criteria", "bor", "event_id", "note"]
_ORDER = ("RECIST1.1", "mRECIST", "iRECIST")

# Ranks of the counted calls; higher is better.
_RANK = {"CR": 6, "PR": 5, "SD": 4, "non-CR/non-PD": 3, "UPD": 2, "PD": 1, "NE": 0}
# iRECIST call -> RECIST-style call used by the rules, and back.
_FROM_I = {"iCR": "CR", "iPR": "PR", "iSD": "SD", "non-iCR/non-iUPD": "non-CR/non-PD",
           "iUPD": "UPD", "iCPD": "PD", "NE": "NE"}
_TO_I = {v: k for k, v in _FROM_I.items()}


def _confirmed(calls, i, response, confirm_days, max_ne, accept_sd) -> bool:
    """Is ``response`` (CR or PR) at call i confirmed (admiralonco semantics, above)?"""
    day = calls[i][1]
    wanted = ("CR",) if response == "CR" else ("CR", "PR")
    between = ("CR", "NE") if response == "CR" else ("CR", "PR", "SD", "NE")
    seen = []
    for _, later_day, later in calls[i + 1:]:
        if later_day - day >= confirm_days and later in wanted:
            if seen.count("NE") > max_ne or seen.count("SD") > (1 if accept_sd else 0):
                return False
            window = seen + [later]
            if response == "PR" and "CR" in window and "PR" in window[window.index("CR"):]:
                return False  # a PR after a CR in the window, whichever call confirms
            return True
        if later not in between:
            return False
        seen.append(later)
    return False


def _counted(calls, i, confirm, confirm_days, max_ne, accept_sd, cr_then_pr,
             start_day, min_sd_days, unconfirmed_cr="SD"):
    """The call i as it counts for BOR, and a note when it changed."""
    event_id, day, response = calls[i]
    notes = []
    if confirm and response == "CR" and not _confirmed(calls, i, "CR", confirm_days, max_ne,
                                                       accept_sd):
        later = [c for _, _, c in calls[i + 1:]]
        if unconfirmed_cr == "non-CR/non-PD":
            notes.append(f"CR at {event_id} not confirmed >= {confirm_days} days later; "
                         "non-target disease only: counts as non-CR/non-PD (RECIST 1.1 Table 2)")
            response = "non-CR/non-PD"
        elif cr_then_pr == "pr" and later and later[0] == "PR":
            notes.append(f"CR at {event_id} followed by PR: re-read as PR (RECIST 1.1 Table 3 footnote)")
            response = "PR"
        else:
            notes.append(f"CR at {event_id} not confirmed >= {confirm_days} days later: counts as SD")
            response = "SD"
    if confirm and response == "PR" and not _confirmed(calls, i, "PR", confirm_days, max_ne,
                                                       accept_sd):
        notes.append(f"PR at {event_id} not confirmed >= {confirm_days} days later: counts as SD")
        response = "SD"
    if response in ("SD", "non-CR/non-PD") and day - start_day < min_sd_days:
        notes.append(f"{response} at {event_id} only {day - start_day} days after treatment start "
                     f"(< {min_sd_days}): NE")
        response = "NE"
    return response, notes


def best_overall_response(assessed: pd.DataFrame, confirm: bool = False,
                          confirm_days: int = 28, min_sd_days: int = 42, *,
                          max_ne: int = 1, accept_sd: bool = False, cr_then_pr: str = "sd",
                          start_day: int = 0,
                          non_target_only_unconfirmed_cr: str = "non-CR/non-PD") -> pd.DataFrame:
    """Best overall response per criteria (E2009 §4.4.3; Seymour 2017 for iRECIST).

    ``assessed`` is the output of :func:`casekit.rules.response.assess` or
    ``response_table`` (one or more criteria). Calls after the first PD (iCPD)
    are ignored. The best counted call in the order CR > PR > SD (or
    non-CR/non-PD) > [iUPD] > PD > NE wins; its first event is reported.
    Confirmation rules and parameters: module docstring. Without ``confirm``
    a CR or PR counts as it is; SD (and non-CR/non-PD) counts only
    ``min_sd_days`` after ``start_day``, else NE.
    """
    if cr_then_pr not in ("sd", "pr"):
        raise ValueError(f"cr_then_pr must be 'sd' or 'pr', got {cr_then_pr!r}")
    if non_target_only_unconfirmed_cr not in ("non-CR/non-PD", "SD"):
        raise ValueError("non_target_only_unconfirmed_cr must be 'non-CR/non-PD' or 'SD', "
                         f"got {non_target_only_unconfirmed_cr!r}")
    present = list(dict.fromkeys(assessed["criteria"]))
    ordered = [c for c in _ORDER if c in present] + [c for c in present if c not in _ORDER]
    rows = []
    for criteria in ordered:
        frame = assessed[assessed["criteria"] == criteria].sort_values("day", kind="stable")
        follow = frame[frame["overall_response"].astype(str) != ""]
        irecist = criteria == "iRECIST"
        calls = []
        for e, d, r in zip(follow["event_id"], follow["day"].astype(int), follow["overall_response"]):
            calls.append((e, d, _FROM_I.get(r, r) if irecist else r))
            if calls[-1][2] == "PD":
                break  # §4.4.3: nothing after the first progression counts
        best, best_event, notes = "NE", "", []
        if not calls:
            notes.append("no follow-up assessment")
        if len(calls) < len(follow):
            notes.append(f"{len(follow) - len(calls)} assessment(s) after the first progression "
                         f"at {calls[-1][0]} ignored (RECIST 1.1 §4.4.3)")
        targets = follow["target_response"].astype(str) if "target_response" in follow else None
        non_target_only = targets is not None and len(targets) > 0 and bool((targets == "NA").all())
        unconfirmed_cr = non_target_only_unconfirmed_cr if non_target_only else "SD"
        for i in range(len(calls)):
            response, why = _counted(calls, i, confirm, confirm_days, max_ne, accept_sd,
                                     cr_then_pr, start_day, min_sd_days, unconfirmed_cr)
            notes.extend(why)
            if _RANK[response] > _RANK[best] or (not best_event and response == best):
                best, best_event = response, calls[i][0]
        rows.append(dict(criteria=criteria, bor=_TO_I.get(best, best) if irecist else best,
                         event_id=best_event, note="; ".join(notes)))
    return pd.DataFrame(rows, columns=BOR_COLUMNS)
