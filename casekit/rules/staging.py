"""Staging and grading: BCLC 2022, modified UICC (Korea/Japan), CTCAE v5.0 fever.

Functions take plain values; :func:`staging_table` reads the case facts
(dict key -> value string, missing key = not reported), recomputes BCLC and
mUICC and compares them with the stages the paper reports. A stage that cannot
be determined is returned as ``"not computable: <reason>"``, never guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from casekit.rules.scores import NO_WORDS, YES_WORDS, Unpackable

NOT_COMPUTABLE = "not computable"
STAGING_TABLE_COLUMNS = ["system", "computed", "reported", "agrees", "note"]


@dataclass(frozen=True)
class Stage(Unpackable):
    """A stage (or "not computable: ...") and a note on how it was reached."""

    stage: str
    note: str


@dataclass(frozen=True)
class FeverGrade(Unpackable):
    """CTCAE fever grade (None when it cannot be decided) and a note."""

    grade: int | None
    note: str


# ---------------------------------------------------------------- BCLC 2022


def _normalise_child_pugh(child_pugh_class) -> str | None:
    if child_pugh_class is None:
        return None
    text = str(child_pugh_class).strip().upper()
    if text.startswith("CHILD-PUGH"):
        text = text[len("CHILD-PUGH"):].strip()
    if text[:1] in {"A", "B", "C"}:
        return text[:1]
    raise ValueError(f"child_pugh_class {child_pugh_class!r} not recognised (A, B or C)")


def _check_ecog(ecog) -> int | None:
    if ecog is None:
        return None
    value = int(ecog)
    if value != float(ecog) or not 0 <= value <= 4:
        raise ValueError(f"ECOG performance status must be an integer 0-4, got {ecog!r}")
    return value


def bclc_stage(
    child_pugh_class: str | None,
    portal_invasion: bool | None,
    extrahepatic_spread: bool | None,
    ecog: int | None = None,
    n_nodules: int | str | None = None,
    largest_cm: float | None = None,
) -> Stage:
    """Barcelona Clinic Liver Cancer stage, 2022 update.

    Reig M, Forner A, Rimola J, et al. BCLC strategy for prognosis prediction
    and treatment recommendation: the 2022 update. J Hepatol 2022;76:681-693,
    Figure 1. Applied in this order:

    * D (terminal): ECOG PS 3-4, or end-stage liver function (taken as
      Child-Pugh C);
    * C (advanced): portal invasion and/or extrahepatic spread, or ECOG PS 1-2
      (liver function preserved);
    * B (intermediate): multinodular beyond the A criteria, ECOG 0;
    * A (early): single nodule (any size), or 2-3 nodules each <= 3 cm, ECOG 0;
    * 0 (very early): single nodule <= 2 cm, ECOG 0.

    ``n_nodules`` is an integer or "single"/"multiple" ("multiple" = 2 or
    more: stage B when the largest is > 3 cm, otherwise undecidable between A
    and B). ``child_pugh_class`` may be "A", "B", "C" or a label like "A5".

    Unknown inputs: with ECOG unknown the stage is computed from what is known
    and the note says what would change it (e.g. "ECOG not reported; stage D
    would need ECOG 3-4 or Child-Pugh C"); for stages 0-B it is computed as if
    ECOG were 0 and the note says so. Inputs that leave the stage undecided
    give "not computable: <reason>". Child-Pugh B is not end-stage by this
    rule; BCLC 2022 asks for "preserved liver function" for 0-C, which the note
    flags for clinical judgement.
    """
    cp = _normalise_child_pugh(child_pugh_class)
    ps = _check_ecog(ecog)
    notes: list[str] = []

    # D: terminal
    if ps is not None and ps >= 3:
        return Stage("D", f"ECOG {ps} (3-4)")
    if cp == "C":
        note = "Child-Pugh C (end-stage liver function)"
        if ps is None:
            note += "; ECOG not reported"
        return Stage("D", note)
    if cp is None:
        return Stage(
            f"{NOT_COMPUTABLE}: Child-Pugh class not available",
            "stage D would follow from Child-Pugh C or ECOG 3-4",
        )
    if cp == "B":
        notes.append(
            "Child-Pugh B: BCLC 2022 requires preserved liver function for stages 0-C; "
            "not end-stage by the Child-Pugh C rule"
        )

    # C: advanced
    vascular_or_spread = []
    if portal_invasion:
        vascular_or_spread.append("portal invasion")
    if extrahepatic_spread:
        vascular_or_spread.append("extrahepatic spread")
    if vascular_or_spread:
        notes.insert(0, " and ".join(vascular_or_spread))
        if ps is None:
            notes.append("ECOG not reported; stage D would need ECOG 3-4 or Child-Pugh C")
        else:
            notes.append(f"ECOG {ps}")
        return Stage("C", "; ".join(notes))
    if ps in (1, 2):
        notes.insert(0, f"ECOG {ps} (1-2)")
        return Stage("C", "; ".join(notes))

    unknown = []
    if portal_invasion is None:
        unknown.append("portal invasion not reported")
    if extrahepatic_spread is None:
        unknown.append("extrahepatic spread not reported")
    if unknown:
        return Stage(
            f"{NOT_COMPUTABLE}: {'; '.join(unknown)}",
            "portal invasion or extrahepatic spread would make it C",
        )

    # 0 / A / B by tumour burden (ECOG 0, or assumed 0)
    burden = _bclc_burden(n_nodules, largest_cm)
    if burden.stage.startswith(NOT_COMPUTABLE):
        return Stage(burden.stage, "; ".join(notes + [burden.note]))
    notes.insert(0, burden.note)
    if ps is None:
        notes.append(
            "ECOG not reported; computed as if ECOG 0 - ECOG 1-2 would make it C, 3-4 D"
        )
    else:
        notes.append("ECOG 0")
    return Stage(burden.stage, "; ".join(notes))


def _bclc_burden(n_nodules, largest_cm) -> Stage:
    """0/A/B from nodule count and largest diameter (BCLC 2022, Figure 1)."""
    if n_nodules is None:
        return Stage(f"{NOT_COMPUTABLE}: number of nodules not reported", "")
    if isinstance(n_nodules, str):
        key = n_nodules.strip().lower()
        if key in {"single", "solitary"}:
            n = 1
        elif key in {"multiple", "multinodular", "several"}:
            n = None  # >= 2, exact count unknown
        elif key.isdigit():
            n = int(key)
        else:
            raise ValueError(f"n_nodules {n_nodules!r} not recognised")
    else:
        n = int(n_nodules)
    if n is not None and n < 1:
        raise ValueError(f"n_nodules must be >= 1, got {n_nodules!r}")
    size = None if largest_cm is None else float(largest_cm)
    if size is not None and (not math.isfinite(size) or size <= 0):
        raise ValueError(f"largest_cm must be positive, got {largest_cm!r}")

    if n == 1:
        if size is None:
            return Stage(
                f"{NOT_COMPUTABLE}: size of the single nodule not reported (0 if <= 2 cm, else A)",
                "",
            )
        if size <= 2.0:
            return Stage("0", f"single nodule {size:g} cm (<= 2 cm)")
        return Stage("A", f"single nodule {size:g} cm (> 2 cm)")
    if n is None:  # multiple, count unknown
        if size is not None and size > 3.0:
            return Stage("B", f"multiple nodules, largest {size:g} cm (> 3 cm)")
        return Stage(
            f"{NOT_COMPUTABLE}: multiple nodules of unknown count"
            + ("" if size is not None else " and size")
            + " (A if 2-3 nodules each <= 3 cm, else B)",
            "",
        )
    if n <= 3:
        if size is None:
            return Stage(
                f"{NOT_COMPUTABLE}: size of the {n} nodules not reported "
                "(A if each <= 3 cm, else B)",
                "",
            )
        if size <= 3.0:
            return Stage("A", f"{n} nodules, largest {size:g} cm (each <= 3 cm)")
        return Stage("B", f"{n} nodules, largest {size:g} cm (> 3 cm)")
    return Stage("B", f"{n} nodules (> 3)")


# ---------------------------------------------------------------- mUICC


def muicc_t(single: bool, size_le_2cm: bool, no_vascular_invasion: bool) -> str:
    """T category of the modified UICC stage: T1-T4 from three criteria.

    Korean Liver Cancer Association-National Cancer Center Korea practice
    guidelines for HCC (2018: Gut Liver 2019;13:227-299 / Korean J Radiol
    2019;20:1042-1113; 2022: Clin Mol Hepatol 2022;28:583-705), after the
    Liver Cancer Study Group of Japan. Criteria: (1) single tumour,
    (2) largest diameter <= 2 cm, (3) no vascular (or bile duct) invasion.
    T1 all three met, T2 two, T3 one, T4 none.
    """
    met = sum(bool(x) for x in (single, size_le_2cm, no_vascular_invasion))
    return {3: "T1", 2: "T2", 1: "T3", 0: "T4"}[met]


def _norm_tnm(value, prefix: str, allowed: set[int]) -> int:
    text = str(value).strip().upper()
    if text.startswith(prefix):
        text = text[1:]
    if not text.isdigit() or int(text) not in allowed:
        raise ValueError(f"{prefix} category {value!r} not recognised")
    return int(text)


def muicc_stage(t: str, n: str, m: str) -> str:
    """Modified UICC stage (Korea/Japan) from T, N and M.

    KLCA-NCC Korea practice guidelines (2018, 2022; see :func:`muicc_t`):
    I = T1N0M0; II = T2N0M0; III = T3N0M0; IVA = T4N0M0 or any T N1M0;
    IVB = any T, any N, M1.

    The case (T4N1M0) is IVA; the paper reports it as "stage IV".
    Accepts "T4"/"4", "N1"/"1", "M0"/"0".
    """
    t_num = _norm_tnm(t, "T", {1, 2, 3, 4})
    n_num = _norm_tnm(n, "N", {0, 1})
    m_num = _norm_tnm(m, "M", {0, 1})
    if m_num == 1:
        return "IVB"
    if n_num == 1 or t_num == 4:
        return "IVA"
    return {1: "I", 2: "II", 3: "III"}[t_num]


# ---------------------------------------------------------------- CTCAE fever


def ctcae_fever_grade(temp_c: float, duration_h: float | None = None) -> FeverGrade:
    """CTCAE v5.0 grade of "Fever" (General disorders and administration site
    conditions). National Cancer Institute, Common Terminology Criteria for
    Adverse Events v5.0, 27 Nov 2017:

    * grade 1: 38.0-39.0 degC;
    * grade 2: > 39.0-40.0 degC;
    * grade 3: > 40.0 degC for <= 24 h;
    * grade 4: > 40.0 degC for > 24 h;
    * below 38.0 degC: grade 0 (not fever by this term).

    Boundaries as the table reads: 38.0 and 39.0 are grade 1, 40.0 is grade 2.
    Above 40.0 degC without a duration the grade is None (3 or 4), with a note.
    Example: the case's 38.3 degC -> grade 1.
    """
    t = float(temp_c)
    if not math.isfinite(t):
        raise ValueError(f"temperature must be a finite number, got {temp_c!r}")
    if duration_h is not None and (not math.isfinite(float(duration_h)) or duration_h < 0):
        raise ValueError(f"duration_h must be >= 0, got {duration_h!r}")
    if t < 38.0:
        return FeverGrade(0, f"{t:g} degC < 38.0 degC: not fever (grade 0)")
    if t <= 39.0:
        return FeverGrade(1, f"{t:g} degC in 38.0-39.0 degC")
    if t <= 40.0:
        return FeverGrade(2, f"{t:g} degC in >39.0-40.0 degC")
    if duration_h is None:
        return FeverGrade(
            None, f"{t:g} degC > 40.0 degC, duration not given: grade 3 if <= 24 h, 4 if > 24 h"
        )
    if duration_h <= 24:
        return FeverGrade(3, f"{t:g} degC > 40.0 degC for {duration_h:g} h (<= 24 h)")
    return FeverGrade(4, f"{t:g} degC > 40.0 degC for {duration_h:g} h (> 24 h)")


# ---------------------------------------------------------------- staging table


def _fact(facts: dict, key: str) -> str | None:
    value = facts.get(key)
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def _fact_bool(facts: dict, key: str) -> tuple[bool | None, str | None]:
    """(value, problem): True/False from yes/no-like strings; None if absent."""
    raw = _fact(facts, key)
    if raw is None:
        return None, None
    low = raw.lower()
    if low in YES_WORDS:
        return True, None
    if low in NO_WORDS:
        return False, None
    return None, f"{key} value {raw!r} not recognised"


def _fact_number(facts: dict, key: str) -> tuple[float | None, str | None]:
    raw = _fact(facts, key)
    if raw is None:
        return None, None
    try:
        return float(raw), None
    except ValueError:
        return None, f"{key} value {raw!r} not a number"


def _tumour_count(raw: str | None) -> int | str | None:
    if raw is None:
        return None
    low = raw.lower()
    if low in {"single", "solitary", "1"}:
        return 1
    if low.isdigit():
        return int(low)
    if low in {"multiple", "multinodular", "several"}:
        return "multiple"
    return None


def _normalise_stage_text(text: str) -> str:
    out = text.strip().upper()
    if out.startswith("STAGE"):
        out = out[len("STAGE"):].strip()
    if out.startswith("BCLC"):
        out = out[len("BCLC"):].strip()
    return out


def _agreement(computed: str, reported: str | None) -> tuple[object, str | None]:
    """(agrees, note). agrees is NA when either side is missing."""
    if reported is None or computed.startswith(NOT_COMPUTABLE):
        return pd.NA, None
    c, r = _normalise_stage_text(computed), _normalise_stage_text(reported)
    if c == r:
        return True, None
    if r == "IV" and c in {"IVA", "IVB"}:
        return True, f"reported 'IV' without the A/B subdivision; consistent with {c}"
    return False, None


def _bclc_row(facts: dict, child_pugh_class) -> dict:
    problems = []
    portal, p1 = _fact_bool(facts, "portal_invasion")
    spread, p2 = _fact_bool(facts, "extrahepatic_spread")
    ecog_raw = _fact(facts, "ecog")
    ecog = None
    if ecog_raw is not None:
        try:
            ecog = _check_ecog(float(ecog_raw))
        except ValueError:
            problems.append(f"ecog value {ecog_raw!r} not recognised")
    size, p3 = _fact_number(facts, "largest_tumour_cm")
    count_raw = _fact(facts, "tumour_count")
    count = _tumour_count(count_raw)
    if count_raw is not None and count is None:
        problems.append(f"tumour_count value {count_raw!r} not recognised")
    problems += [p for p in (p1, p2, p3) if p]
    if problems:
        computed, note = f"{NOT_COMPUTABLE}: {'; '.join(problems)}", ""
    else:
        try:
            computed, note = bclc_stage(child_pugh_class, portal, spread, ecog, count, size)
        except ValueError as exc:
            computed, note = f"{NOT_COMPUTABLE}: {exc}", ""
    if isinstance(child_pugh_class, str) and child_pugh_class.strip():
        note = f"Child-Pugh {child_pugh_class.strip()}; {note}" if note else (
            f"Child-Pugh {child_pugh_class.strip()}"
        )
    return {"system": "BCLC", "computed": computed, "note": note,
            "reported": _fact(facts, "bclc_stage_reported")}


def _muicc_row(facts: dict) -> dict:
    notes = []
    problems = []
    # T from the three criteria when all are known
    count_raw = _fact(facts, "tumour_count")
    count = _tumour_count(count_raw)
    single = None if count is None else (count == 1)
    if count_raw is not None and count is None:
        problems.append(f"tumour_count value {count_raw!r} not recognised")
    size, p = _fact_number(facts, "largest_tumour_cm")
    if p:
        problems.append(p)
    vascular, p = _fact_bool(facts, "vascular_invasion")
    if p:
        problems.append(p)
    if vascular is None and p is None:
        portal, _ = _fact_bool(facts, "portal_invasion")
        if portal:
            vascular = True
            notes.append("vascular invasion taken from portal_invasion = yes")

    reported_t = _fact(facts, "t_stage")
    criteria_missing = [name for name, v in (("tumour_count", single),
                                             ("largest_tumour_cm", size),
                                             ("vascular_invasion", vascular)) if v is None]
    t = None
    if not criteria_missing and not problems:
        t = muicc_t(single, size <= 2.0, not vascular)
        met = sum((single, size <= 2.0, not vascular))
        notes.insert(0, f"{t} from {met} of 3 criteria (single, <= 2 cm, no vascular invasion)")
        if reported_t is not None and reported_t.strip().upper() != t:
            notes.append(f"facts t_stage is {reported_t}")
    elif reported_t is not None:
        t = reported_t.strip().upper()
        why = (", ".join(criteria_missing) + " not reported") if criteria_missing else "; ".join(problems)
        notes.insert(0, f"T taken from facts t_stage ({why})")
        problems = []

    n = _fact(facts, "n_stage")
    m = _fact(facts, "m_stage")
    reasons = list(problems)
    if t is None and not problems:
        reasons.append("T criteria not reported (" + ", ".join(criteria_missing) + ")")
    if n is None:
        reasons.append("n_stage not in facts")
    if m is None:
        reasons.append("m_stage not in facts")
    if reasons:
        computed = f"{NOT_COMPUTABLE}: {'; '.join(reasons)}"
    else:
        try:
            computed = muicc_stage(t, n, m)
            notes.insert(1 if notes else 0, f"{t}{n.upper()}{m.upper()}")
        except ValueError as exc:
            computed = f"{NOT_COMPUTABLE}: {exc}"
    return {"system": "mUICC", "computed": computed, "note": "; ".join(notes),
            "reported": _fact(facts, "muicc_stage_reported")}


def staging_table(facts: dict[str, str], child_pugh_class: str | None) -> pd.DataFrame:
    """BCLC and mUICC stages recomputed from the facts, next to the reported ones.

    Columns: ``system`` ("BCLC", "mUICC"), ``computed``, ``reported`` (from
    the facts ``bclc_stage_reported`` / ``muicc_stage_reported``; None when
    absent), ``agrees`` (nullable boolean; NA when either side is missing or
    not computable), ``note``.

    Determinants read from the facts: ``portal_invasion``,
    ``extrahepatic_spread``, ``ecog``, ``tumour_count`` ("single", "multiple"
    or a number), ``largest_tumour_cm``, ``vascular_invasion``, ``n_stage``,
    ``m_stage`` (and ``t_stage`` as a fall-back when the T criteria are
    incomplete). ``child_pugh_class`` ("A", "A5", ...) comes from the score
    table or the caller.

    Choices: mUICC T is recomputed from the three criteria when all are known
    (a differing facts ``t_stage`` is mentioned in the note); a missing
    ``vascular_invasion`` is taken as present when ``portal_invasion`` is
    "yes". A reported "IV" agrees with a computed IVA or IVB (the paper does
    not subdivide stage IV), and the note says so.
    """
    facts = facts or {}
    rows = [_bclc_row(facts, child_pugh_class), _muicc_row(facts)]
    for row in rows:
        agrees, extra = _agreement(row["computed"], row["reported"])
        row["agrees"] = agrees
        if extra:
            row["note"] = f"{row['note']}; {extra}" if row["note"] else extra
    table = pd.DataFrame(rows, columns=STAGING_TABLE_COLUMNS)
    table["agrees"] = table["agrees"].astype("boolean")
    return table
