"""Recompute the paper's quantitative claims from the case tables.

``claims.csv`` names, for each claim, a *quantity* that casekit can compute, the event it
refers to, a comparator and the value the paper gives. :func:`check_claims` evaluates every
claim and says whether it reproduces; :func:`require_reproduced` raises when any claim that
is not a declared known difference fails, which is what makes the claims notebook (and so
CI) fail on drift.

Quantity vocabulary (arguments in parentheses; ``@event`` is the claim's ``event_id``):

=====================================  =========================================================
``fact(KEY)``                          a fact's value (number when numeric)
``lab(TEST)`` @event                   the value as the paper reports it, in its reported unit
``lesion_size(LESION)`` @event         the lesion's diameter in cm (longest, else viable, else short axis)
``overall_response(CRITERIA)`` @event  overall time-point response (:mod:`casekit.rules.response`)
``target_change_from_baseline_pct(CRITERIA)`` @event, ``target_change_from_nadir_pct(CRITERIA)`` @event
``marker_change_pct(TEST, ref=EVENT)`` @event  % change from the reference event's value
``marker_fold_from_nadir(TEST)`` @event        value / lowest value so far
``child_pugh`` / ``albi_grade`` / ``meld`` @event  scores (:mod:`casekit.rules.scores`)
``bclc_stage``, ``muicc_stage``, ``muicc_t``   stages (:mod:`casekit.rules.staging`)
``ctcae_fever_grade``                  CTCAE v5 grade of the fact ``fever_max_c``
``days_between(A, B)``                 day of B minus day of A on the resolved timeline
=====================================  =========================================================
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from casekit.rules import markers, response, scores, staging
from casekit.case import Case

CLAIM_TABLE_COLUMNS = [
    "claim_id", "statement", "quantity", "event_id", "comparator", "expected", "computed",
    "outcome", "note",
]
REPRODUCED, DIFFERS, KNOWN, NOT_COMPUTABLE = (
    "reproduced", "does not reproduce", "known difference", "not computable")

_COMPARE: dict[str, Callable] = {"eq": operator.eq, "lt": operator.lt, "le": operator.le,
                                 "gt": operator.gt, "ge": operator.ge}
_SYMBOL = {"eq": "=", "lt": "<", "le": "≤", "gt": ">", "ge": "≥"}


class NotComputable(ValueError):
    """The case lacks what a quantity needs; the message says what."""


class ClaimsNotReproduced(AssertionError):
    """Raised by :func:`require_reproduced`; the message lists every failing claim."""


@dataclass(frozen=True)
class Quantity:
    name: str
    args: tuple[str, ...]
    options: dict[str, str]


def parse_quantity(text: str) -> Quantity:
    """``"marker_change_pct(AFP, ref=referral)"`` -> Quantity('marker_change_pct', ('AFP',), {'ref': 'referral'})."""
    match = re.fullmatch(r"\s*([a-z_0-9]+)\s*(?:\((.*)\))?\s*", text)
    if not match:
        raise NotComputable(f"cannot read quantity {text!r}; expected name or name(arg, key=value)")
    args, options = [], {}
    for part in filter(None, (p.strip() for p in (match.group(2) or "").split(","))):
        key, eq, value = part.partition("=")
        if eq:
            options[key.strip()] = value.strip()
        else:
            args.append(part)
    return Quantity(match.group(1), tuple(args), options)


class _Context:
    """Computes each derived table once per case, on first use."""

    def __init__(self, case: Case, count_suspected: bool):
        self.case = case
        self.count_suspected = count_suspected
        self._cache: dict[str, pd.DataFrame] = {}

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            case = self.case
            build = {
                "response": lambda: response.response_table(
                    case.lesions, case.responses, count_suspected=self.count_suspected,
                    **response.case_options(case)),
                "scores": lambda: scores.score_table(case.labs, case.facts_dict),
            }[name]
            self._cache[name] = build()
        return self._cache[name]

    def child_pugh_class(self) -> str | None:
        rows = self.table("scores")
        rows = rows[(rows["score"] == "child_pugh") & rows["value"].notna()]
        return rows["category"].iloc[0] if len(rows) else None


def _need(value, what: str):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        raise NotComputable(what)
    return value


def _one(frame: pd.DataFrame, column: str, what: str):
    if frame.empty:
        raise NotComputable(what)
    return _need(frame[column].iloc[0], what)


def _fact(ctx: _Context, q: Quantity, event: str):
    value = _need(ctx.case.fact(q.args[0]), f"fact {q.args[0]} not in facts.csv")
    try:
        return float(value)
    except ValueError:
        return value


def _lab(ctx: _Context, q: Quantity, event: str):
    labs = ctx.case.labs
    rows = labs[(labs["event_id"] == event) & (labs["test"] == q.args[0])]
    return float(_one(rows, "value_as_reported", f"no {q.args[0]} at {event}"))


def _lesion_size(ctx: _Context, q: Quantity, event: str):
    lesions = ctx.case.lesions
    rows = lesions[(lesions["event_id"] == event) & (lesions["lesion_id"] == q.args[0])
                   & lesions["size_cm"].notna()]
    order = {"longest": 0, "viable": 1, "short_axis": 2}
    rows = rows.sort_values("measure", key=lambda s: s.map(order))
    return float(_one(rows, "size_cm", f"lesion {q.args[0]} not measured at {event}"))


def _response_column(column: str):
    def compute(ctx: _Context, q: Quantity, event: str):
        table = ctx.table("response")
        rows = table[(table["event_id"] == event) & (table["criteria"] == q.args[0])]
        return _one(rows, column, f"no {q.args[0]} {column} at {event}")
    return compute


def _marker_change(ctx: _Context, q: Quantity, event: str):
    ref = _need(q.options.get("ref"), "marker_change_pct needs ref=EVENT")
    table = markers.marker_table(ctx.case.labs, tests=(q.args[0],), reference_event=ref)
    return float(_one(table[table["event_id"] == event], "change_from_reference_pct",
                      f"no {q.args[0]} change at {event} against {ref}"))


def _marker_fold(ctx: _Context, q: Quantity, event: str):
    table = markers.marker_table(ctx.case.labs, tests=(q.args[0],))
    return float(_one(table[table["event_id"] == event], "fold_from_nadir",
                      f"no {q.args[0]} at {event}"))


def _score(name: str, column: str):
    def compute(ctx: _Context, q: Quantity, event: str):
        table = ctx.table("scores")
        rows = table[(table["event_id"] == event) & (table["score"] == name)]
        if len(rows) and pd.isna(rows["value"].iloc[0]):
            raise NotComputable(rows["category"].iloc[0])
        value = _one(rows, column, f"no {name} at {event}")
        return value if column == "category" else float(value)
    return compute


def _stage(system: str):
    def compute(ctx: _Context, q: Quantity, event: str):
        table = staging.staging_table(ctx.case.facts_dict, ctx.child_pugh_class())
        computed = table.loc[table["system"] == system, "computed"].iloc[0]
        if computed.startswith(staging.NOT_COMPUTABLE):
            raise NotComputable(computed)
        return computed
    return compute


def _muicc_t(ctx: _Context, q: Quantity, event: str):
    facts = ctx.case.facts_dict
    count = _need(facts.get("tumour_count"), "tumour_count not in facts.csv")
    size = float(_need(facts.get("largest_tumour_cm"), "largest_tumour_cm not in facts.csv"))
    invasion = _need(facts.get("vascular_invasion"), "vascular_invasion not in facts.csv")
    return staging.muicc_t(count == "single", size <= 2.0, invasion == "no")


def _fever(ctx: _Context, q: Quantity, event: str):
    temp = _need(ctx.case.fact_number("fever_max_c"), "fever_max_c not in facts.csv")
    grade = staging.ctcae_fever_grade(temp).grade
    return float(_need(grade, "grade needs the fever's duration"))


def _days_between(ctx: _Context, q: Quantity, event: str):
    first, second = q.args
    return float(ctx.case.day_of(second) - ctx.case.day_of(first))


QUANTITIES: dict[str, Callable] = {
    "fact": _fact,
    "lab": _lab,
    "lesion_size": _lesion_size,
    "overall_response": _response_column("overall_response"),
    "target_change_from_baseline_pct": _response_column("change_from_baseline_pct"),
    "target_change_from_nadir_pct": _response_column("change_from_nadir_pct"),
    "marker_change_pct": _marker_change,
    "marker_fold_from_nadir": _marker_fold,
    "child_pugh": _score("child_pugh", "category"),
    "albi_grade": _score("albi", "category"),
    "meld": _score("meld", "value"),
    "bclc_stage": _stage("BCLC"),
    "muicc_stage": _stage("mUICC"),
    "muicc_t": _muicc_t,
    "ctcae_fever_grade": _fever,
    "days_between": _days_between,
}


def compute_quantity(case: Case, quantity: str, event_id: str = "",
                     count_suspected: bool = False):
    """The value of one quantity for a case (see the module docstring for the vocabulary)."""
    return _evaluate(_Context(case, count_suspected), quantity, event_id)


def _evaluate(ctx: _Context, quantity: str, event_id: str):
    q = parse_quantity(quantity)
    if q.name not in QUANTITIES:
        raise NotComputable(f"unknown quantity {q.name!r}; known: {', '.join(sorted(QUANTITIES))}")
    try:
        return QUANTITIES[q.name](ctx, q, event_id)
    except (KeyError, IndexError, ValueError) as exc:
        if isinstance(exc, NotComputable):
            raise
        raise NotComputable(f"{quantity} at {event_id or 'case level'}: {exc}") from exc


def _compare(computed, comparator: str, expected: str, tolerance: str) -> bool:
    """Numbers compare numerically (``eq`` within ``tolerance``); categories as text."""
    try:
        want = float(expected)
    except ValueError:
        return comparator == "eq" and str(computed) == expected
    if isinstance(computed, str):
        return False
    if comparator == "eq":
        return abs(computed - want) <= (float(tolerance) if tolerance else 0.0) + 1e-9
    return _COMPARE[comparator](computed, want)


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def check_claims(case: Case, count_suspected: bool = False) -> pd.DataFrame:
    """Evaluate every claim of ``case.claims``.

    Returns one row per claim with the columns ``claim_id, statement, quantity, event_id,
    comparator, expected, computed, outcome, note``; ``outcome`` is ``reproduced``,
    ``does not reproduce``, ``known difference`` (it differs, for the reason given in
    ``known_difference``) or ``not computable`` (the note says what is missing).
    """
    ctx = _Context(case, count_suspected)
    rows = []
    for claim in case.claims.itertuples(index=False):
        note = ""
        try:
            value = _evaluate(ctx, claim.quantity, claim.event_id)
            computed = _shown(value)
            ok = _compare(value, claim.comparator, claim.expected, claim.tolerance)
            outcome = REPRODUCED if ok else DIFFERS
        except NotComputable as exc:
            computed, outcome, note = "", NOT_COMPUTABLE, str(exc)
        if outcome != REPRODUCED and claim.known_difference:
            outcome, note = KNOWN, claim.known_difference
        rows.append({
            "claim_id": claim.claim_id, "statement": claim.statement,
            "quantity": claim.quantity, "event_id": claim.event_id,
            "comparator": _SYMBOL[claim.comparator], "expected": claim.expected,
            "computed": computed, "outcome": outcome, "note": note,
        })
    return pd.DataFrame(rows, columns=CLAIM_TABLE_COLUMNS)


def require_reproduced(checked: pd.DataFrame) -> None:
    """Raise :class:`ClaimsNotReproduced` naming each claim that neither reproduces nor is a known difference."""
    failing = checked[~checked["outcome"].isin([REPRODUCED, KNOWN])]
    if len(failing):
        lines = [f"{r.claim_id} ({r.statement}): expected {r.comparator} {r.expected}, "
                 f"computed {r.computed or '—'} [{r.outcome}{': ' + r.note if r.note else ''}]"
                 for r in failing.itertuples(index=False)]
        raise ClaimsNotReproduced(f"{len(failing)} claim(s) do not reproduce:\n" + "\n".join(lines))
