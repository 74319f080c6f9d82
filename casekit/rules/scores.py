"""Liver-function scores: Child-Pugh, ALBI, MELD, MELD-Na and MELD 3.0, and a per-event score table.

Each score is a small function of plain numbers returning a frozen dataclass
(which also unpacks like a tuple: ``points, letter = child_pugh(...)``).
:func:`score_table` applies them to the labs frame (canonical units: BILI
mg/dL, ALB g/dL, INR ratio, CREAT mg/dL) and the case facts (``ascites``,
``encephalopathy``), never guessing a missing input.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd

BILIRUBIN_UMOL_PER_MG_DL = 17.1
ALBUMIN_G_L_PER_G_DL = 10.0

SCORE_TABLE_COLUMNS = ["event_id", "score", "value", "category", "formula"]

#: Which formula each score row is, with its reference (the ``formula`` column).
SCORE_FORMULAS = {
    "albi": "ALBI: Johnson PJ et al., J Clin Oncol 2015;33:550-558",
    "child_pugh": "Child-Pugh (INR version): Pugh RNH et al., Br J Surg 1973;60:646-649",
    "meld": "MELD: Kamath PS et al., Hepatology 2001;33:464-470, UNOS/OPTN bounds",
    "meld_na": "MELD-Na: Kim WR et al., N Engl J Med 2008;359:1018-1026, OPTN policy of January 2016",
    "meld_3": "MELD 3.0: Kim WR et al., Gastroenterology 2021;161:1887-1895, OPTN policy of July 2023",
}

# Lab tests that feed a score; an event with none of them gets no score rows.
SCORE_INPUT_TESTS = ("BILI", "ALB", "INR", "CREAT", "SODIUM")
_TEST_NAMES = {
    "BILI": "bilirubin (BILI)",
    "ALB": "albumin (ALB)",
    "INR": "INR (INR)",
    "CREAT": "creatinine (CREAT)",
    "SODIUM": "sodium (SODIUM)",
}


class Unpackable:
    """Lets a frozen dataclass result unpack like a tuple of its fields (shared with staging)."""

    def __iter__(self):
        return iter(dataclasses.astuple(self))


# ---------------------------------------------------------------- conversions


def bilirubin_mg_dl_to_umol_l(bilirubin_mg_dl: float) -> float:
    """Bilirubin mg/dL -> umol/L: x 17.1 (1 mg/dL = 17.1 umol/L; MW 584.7 g/mol)."""
    return float(bilirubin_mg_dl) * BILIRUBIN_UMOL_PER_MG_DL


def bilirubin_umol_l_to_mg_dl(bilirubin_umol_l: float) -> float:
    """Bilirubin umol/L -> mg/dL: / 17.1."""
    return float(bilirubin_umol_l) / BILIRUBIN_UMOL_PER_MG_DL


def albumin_g_dl_to_g_l(albumin_g_dl: float) -> float:
    """Albumin g/dL -> g/L: x 10."""
    return float(albumin_g_dl) * ALBUMIN_G_L_PER_G_DL


def albumin_g_l_to_g_dl(albumin_g_l: float) -> float:
    """Albumin g/L -> g/dL: / 10."""
    return float(albumin_g_l) / ALBUMIN_G_L_PER_G_DL


# ---------------------------------------------------------------- Child-Pugh

_ASCITES = {
    "none": 1, "absent": 1, "no": 1,
    "mild": 2, "slight": 2,
    "moderate_severe": 3, "moderate-severe": 3, "moderate": 3, "severe": 3,
    "tense": 3,
}
_ENCEPHALOPATHY = {
    "none": 1, "absent": 1, "no": 1,
    "grade_1_2": 2, "grade 1-2": 2, "grade_1-2": 2, "grade 1": 2, "grade 2": 2,
    "grade_1": 2, "grade_2": 2,
    "grade_3_4": 3, "grade 3-4": 3, "grade_3-4": 3, "grade 3": 3, "grade 4": 3,
    "grade_3": 3, "grade_4": 3,
}


@dataclass(frozen=True)
class ChildPugh(Unpackable):
    """Child-Pugh result: total points (5-15) and class letter (A/B/C)."""

    points: int
    letter: str

    @property
    def label(self) -> str:
        """Class letter followed by points, e.g. "A5"."""
        return f"{self.letter}{self.points}"

    def __str__(self) -> str:
        return self.label


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


#: Child-Pugh points of the laboratory items as a table (Pugh RNH et al., Br J Surg
#: 1973;60:646-649, INR version): ascending bands of (upper bound, bound included, points).
#: A value on a published cut-off falls in the middle band ("2-3", "2.8-3.5", "1.7-2.3").
CHILD_PUGH_BANDS: dict[str, tuple[tuple[float, bool, int], ...]] = {
    "bilirubin_mg_dl": ((2.0, False, 1), (3.0, True, 2), (math.inf, True, 3)),
    "albumin_g_dl": ((2.8, False, 3), (3.5, True, 2), (math.inf, True, 1)),
    "inr": ((1.7, False, 1), (2.3, True, 2), (math.inf, True, 3)),
}


def _band_points(value: float, bands: tuple[tuple[float, bool, int], ...]) -> int:
    """Points of the first band whose upper bound lies above ``value`` (or equals it, if included)."""
    for upper, included, points in bands:
        if value < upper or (included and value == upper):
            return points
    raise AssertionError("the last band is unbounded")


def bilirubin_points(bilirubin_mg_dl: float) -> int:
    """Child-Pugh points for total bilirubin (mg/dL): <2 -> 1, 2-3 -> 2, >3 -> 3.

    Boundaries as the table reads: 2.0 is in "2-3" (2 points), 3.0 is in
    "2-3" (2 points), anything above 3.0 scores 3.
    """
    return _band_points(_positive("bilirubin", bilirubin_mg_dl), CHILD_PUGH_BANDS["bilirubin_mg_dl"])


def albumin_points(albumin_g_dl: float) -> int:
    """Child-Pugh points for albumin (g/dL): >3.5 -> 1, 2.8-3.5 -> 2, <2.8 -> 3.

    3.5 and 2.8 both fall in "2.8-3.5" (2 points).
    """
    return _band_points(_positive("albumin", albumin_g_dl), CHILD_PUGH_BANDS["albumin_g_dl"])


def inr_points(inr: float) -> int:
    """Child-Pugh points for INR: <1.7 -> 1, 1.7-2.3 -> 2, >2.3 -> 3.

    1.7 and 2.3 both fall in "1.7-2.3" (2 points).
    """
    return _band_points(_positive("INR", inr), CHILD_PUGH_BANDS["inr"])


def ascites_points(ascites: str) -> int:
    """Child-Pugh points for ascites: none 1, mild 2, moderate_severe 3.

    Accepted spellings: none/absent/no; mild/slight; moderate_severe/moderate/
    severe/tense (case-insensitive). Anything else is a ValueError.
    """
    key = str(ascites).strip().lower()
    if key not in _ASCITES:
        raise ValueError(
            f"ascites {ascites!r} not recognised; use none, mild or moderate_severe"
        )
    return _ASCITES[key]


def encephalopathy_points(encephalopathy: str) -> int:
    """Child-Pugh points for hepatic encephalopathy: none 1, grade_1_2 2, grade_3_4 3.

    Accepted spellings: none/absent/no; grade_1_2 ("grade 1-2", "grade 1", ...);
    grade_3_4 ("grade 3-4", "grade 4", ...). Anything else is a ValueError.
    """
    key = str(encephalopathy).strip().lower()
    if key not in _ENCEPHALOPATHY:
        raise ValueError(
            f"encephalopathy {encephalopathy!r} not recognised; "
            "use none, grade_1_2 or grade_3_4"
        )
    return _ENCEPHALOPATHY[key]


def child_pugh_class(points: int) -> str:
    """Class from total points: A 5-6, B 7-9, C 10-15."""
    if not 5 <= points <= 15:
        raise ValueError(f"Child-Pugh points must be 5-15, got {points}")
    if points <= 6:
        return "A"
    if points <= 9:
        return "B"
    return "C"


def child_pugh(
    bilirubin_mg_dl: float,
    albumin_g_dl: float,
    inr: float,
    ascites: str,
    encephalopathy: str,
) -> ChildPugh:
    """Child-Pugh score and class.

    Pugh RNH, Murray-Lyon IM, Dawson JL, Pietroni MC, Williams R. Transection of
    the oesophagus for bleeding oesophageal varices. Br J Surg 1973;60:646-649
    (table of points), in the INR form used by current guidelines in place of
    the original prothrombin-time prolongation:

    ============== ========= ========== =================
    points            1         2          3
    ============== ========= ========== =================
    bilirubin       < 2       2 - 3      > 3   mg/dL
    albumin         > 3.5     2.8 - 3.5  < 2.8 g/dL
    INR             < 1.7     1.7 - 2.3  > 2.3
    ascites         none      mild       moderate/severe
    encephalopathy  none      grade 1-2  grade 3-4
    ============== ========= ========== =================

    Class A 5-6, B 7-9, C 10-15 points. Boundary values belong to the middle
    band as the table reads: bilirubin 2.0 and 3.0 -> 2 points; albumin 3.5
    and 2.8 -> 2 points; INR 1.7 and 2.3 -> 2 points.

    Example (the case at referral): bilirubin 0.6 (1) + albumin 4.1 (1) +
    INR 1.14 (1) + no ascites (1) + no encephalopathy (1) = 5 -> A5.
    """
    points = (
        bilirubin_points(bilirubin_mg_dl)
        + albumin_points(albumin_g_dl)
        + inr_points(inr)
        + ascites_points(ascites)
        + encephalopathy_points(encephalopathy)
    )
    return ChildPugh(points=points, letter=child_pugh_class(points))


# ---------------------------------------------------------------- ALBI


@dataclass(frozen=True)
class Albi(Unpackable):
    """ALBI result: linear predictor (unrounded) and grade 1/2/3."""

    score: float
    grade: int


def albi_grade(score: float) -> int:
    """ALBI grade: 1 if score <= -2.60; 2 if -2.60 < score <= -1.39; 3 if > -1.39."""
    if score <= -2.60:
        return 1
    if score <= -1.39:
        return 2
    return 3


def albi(bilirubin_umol_l: float, albumin_g_l: float) -> Albi:
    """Albumin-bilirubin (ALBI) score and grade.

    Johnson PJ, Berhane S, Kagebayashi C, et al. Assessment of liver function in
    patients with hepatocellular carcinoma: a new evidence-based approach - the
    ALBI grade. J Clin Oncol 2015;33:550-558:

        ALBI = 0.66 x log10(bilirubin, umol/L) - 0.085 x (albumin, g/L)

    grade 1: <= -2.60; grade 2: > -2.60 and <= -1.39; grade 3: > -1.39.
    The grade is taken from the unrounded score.

    Inputs are SI units; for mg/dL and g/dL convert with
    :func:`bilirubin_mg_dl_to_umol_l` (x 17.1) and :func:`albumin_g_dl_to_g_l`
    (x 10), or call :func:`albi_conventional`.

    Example: bilirubin 0.6 mg/dL = 10.26 umol/L, albumin 41 g/L:
    0.66 x 1.0111 - 0.085 x 41 = 0.6674 - 3.485 = -2.818 -> grade 1.
    """
    bili = _positive("bilirubin", bilirubin_umol_l)
    alb = _positive("albumin", albumin_g_l)
    score = 0.66 * math.log10(bili) - 0.085 * alb
    return Albi(score=score, grade=albi_grade(score))


def albi_conventional(bilirubin_mg_dl: float, albumin_g_dl: float) -> Albi:
    """ALBI from conventional units (bilirubin mg/dL, albumin g/dL); see :func:`albi`."""
    return albi(
        bilirubin_mg_dl_to_umol_l(bilirubin_mg_dl), albumin_g_dl_to_g_l(albumin_g_dl)
    )


# ---------------------------------------------------------------- MELD


@dataclass(frozen=True)
class Meld(Unpackable):
    """MELD result: integer score, unrounded value, and the bounds applied."""

    score: int
    unrounded: float
    note: str


def _meld_result(raw: float, notes: list[str]) -> Meld:
    """Every MELD formula's last step (UNOS/OPTN): rounded half-up, capped at 40."""
    score = math.floor(raw + 0.5)
    if score > 40:
        score = 40
        notes.append("score capped at 40")
    return Meld(score=int(score), unrounded=raw, note="; ".join(notes) or "within bounds")


def _bounded_liver_inputs(bilirubin_mg_dl: float, inr: float, creatinine_mg_dl: float,
                          dialysis: bool, creatinine_cap: float,
                          notes: list[str]) -> tuple[float, float, float]:
    """Bilirubin, INR and creatinine as MELD-Na and MELD 3.0 bound them: each at least 1.0,
    creatinine at most ``creatinine_cap`` and set to it with dialysis (OPTN 2016, 2023)."""
    bili = _bounded("bilirubin", _positive("bilirubin", bilirubin_mg_dl), 1.0, None, notes)
    i = _bounded("INR", _positive("INR", inr), 1.0, None, notes)
    creat = _positive("creatinine", creatinine_mg_dl)
    if dialysis:
        notes.append(f"dialysis: creatinine set to {creatinine_cap}")
        return bili, i, creatinine_cap
    return bili, i, _bounded("creatinine", creat, 1.0, creatinine_cap, notes)


def meld(
    bilirubin_mg_dl: float,
    inr: float,
    creatinine_mg_dl: float,
    dialysis: bool = False,
) -> Meld:
    """Model for End-stage Liver Disease (MELD), UNOS form.

    Kamath PS, Wiesner RH, Malinchoc M, et al. A model to predict survival in
    patients with end-stage liver disease. Hepatology 2001;33:464-470, with the
    bounds of the UNOS/OPTN implementation:

        MELD = 3.78 ln(bilirubin mg/dL) + 11.2 ln(INR)
               + 9.57 ln(creatinine mg/dL) + 6.43

    * any value < 1.0 is set to 1.0 (so no logarithm is negative);
    * creatinine is capped at 4.0 mg/dL, and set to 4.0 with dialysis
      (UNOS: at least twice, or 24 h of CVVHD, in the prior week);
    * the result is rounded half-up to an integer and capped at 40 (UNOS).

    MELD-Na and MELD 3.0: :func:`meld_na`, :func:`meld_3`.

    Example: all inputs 1.0 -> 6.43 -> 6. Creatinine 5.0 -> 4.0:
    9.57 x ln 4 + 6.43 = 13.267 + 6.43 = 19.70 -> 20.
    """
    bili = _positive("bilirubin", bilirubin_mg_dl)
    i = _positive("INR", inr)
    creat = _positive("creatinine", creatinine_mg_dl)
    notes = []
    floored = [name for name, v in (("bilirubin", bili), ("INR", i), ("creatinine", creat))
               if v < 1.0]
    if floored:
        notes.append(f"{', '.join(floored)} < 1.0 set to 1.0")
    bili, i, creat = max(bili, 1.0), max(i, 1.0), max(creat, 1.0)
    if dialysis:
        creat = 4.0
        notes.append("dialysis: creatinine set to 4.0")
    elif creat > 4.0:
        creat = 4.0
        notes.append("creatinine capped at 4.0")
    raw = 3.78 * math.log(bili) + 11.2 * math.log(i) + 9.57 * math.log(creat) + 6.43
    return _meld_result(raw, notes)


def _bounded(name, value, low, high, notes):
    if value < low:
        notes.append(f"{name} < {low:g} set to {low:g}")
        return low
    if high is not None and value > high:
        notes.append(f"{name} > {high:g} set to {high:g}")
        return high
    return value


def meld_na(bilirubin_mg_dl: float, inr: float, creatinine_mg_dl: float, sodium_mmol_l: float,
            dialysis: bool = False) -> Meld:
    """MELD-Na as implemented by OPTN policy from January 2016 (Kim WR, Biggins SW,
    Kremers WK, et al. Hyponatremia and mortality among patients on the liver-transplant
    waiting list. N Engl J Med 2008;359:1018-1026; OPTN Policy 9.1.D):

        MELD(i) = 0.957 ln(creatinine) + 0.378 ln(bilirubin) + 1.120 ln(INR) + 0.643,
                  rounded to the tenth and multiplied by 10;
        if MELD(i) > 11: MELD = MELD(i) + 1.32 (137 - Na) - 0.033 MELD(i) (137 - Na)

    Bounds: bilirubin, INR, creatinine < 1.0 set to 1.0; creatinine capped at 4.0 and
    set to 4.0 with dialysis; sodium bounded to 125-137 mmol/L; the result rounded
    half-up to an integer and capped at 40.

    Example (worked in tests): bilirubin 2.0, INR 1.5, creatinine 1.5, Na 130 ->
    MELD(i) = 0.957 x 0.405465 + 0.378 x 0.693147 + 1.120 x 0.405465 + 0.643 = 1.7472
    -> 1.7 -> 17; 17 + 1.32 x 7 - 0.033 x 17 x 7 = 17 + 9.24 - 3.927 = 22.313 -> 22.
    """
    notes: list[str] = []
    bili, i, creat = _bounded_liver_inputs(bilirubin_mg_dl, inr, creatinine_mg_dl, dialysis,
                                           4.0, notes)
    na = _bounded("sodium", _positive("sodium", sodium_mmol_l), 125.0, 137.0, notes)
    inner = 0.957 * math.log(creat) + 0.378 * math.log(bili) + 1.120 * math.log(i) + 0.643
    meld_i = math.floor(inner * 10 + 0.5)  # rounded to the tenth, times 10
    raw = float(meld_i)
    if meld_i > 11:
        raw = meld_i + 1.32 * (137 - na) - 0.033 * meld_i * (137 - na)
    else:
        notes.append(f"MELD(i) {meld_i} <= 11: no sodium term")
    return _meld_result(raw, notes)


def meld_3(bilirubin_mg_dl: float, inr: float, creatinine_mg_dl: float, sodium_mmol_l: float,
           albumin_g_dl: float, female: bool, dialysis: bool = False) -> Meld:
    """MELD 3.0 (Kim WR, Mannalithara A, Heimbach JK, et al. MELD 3.0: the Model for
    End-stage Liver Disease updated for the modern era. Gastroenterology
    2021;161:1887-1895; OPTN policy from July 2023):

        MELD 3.0 = 1.33 (if female) + 4.56 ln(bilirubin) + 0.82 (137 - Na)
                   - 0.24 (137 - Na) ln(bilirubin) + 9.09 ln(INR) + 11.14 ln(creatinine)
                   + 1.85 (3.5 - albumin) - 1.83 (3.5 - albumin) ln(creatinine) + 6

    Bounds: bilirubin, INR, creatinine < 1.0 set to 1.0; creatinine capped at 3.0 and
    set to 3.0 with dialysis; sodium 125-137 mmol/L; albumin 1.5-3.5 g/dL; rounded
    half-up to an integer, capped at 40.

    Example (worked in tests): male, bilirubin 2.0, INR 1.5, creatinine 1.5, Na 130,
    albumin 3.0 -> 22.49 -> 22; female -> 23.82 -> 24.
    """
    notes: list[str] = []
    bili, i, creat = _bounded_liver_inputs(bilirubin_mg_dl, inr, creatinine_mg_dl, dialysis,
                                           3.0, notes)
    na = _bounded("sodium", _positive("sodium", sodium_mmol_l), 125.0, 137.0, notes)
    alb = _bounded("albumin", _positive("albumin", albumin_g_dl), 1.5, 3.5, notes)
    raw = (1.33 * bool(female) + 4.56 * math.log(bili) + 0.82 * (137 - na)
           - 0.24 * (137 - na) * math.log(bili) + 9.09 * math.log(i) + 11.14 * math.log(creat)
           + 1.85 * (3.5 - alb) - 1.83 * (3.5 - alb) * math.log(creat) + 6)
    return _meld_result(raw, notes)


# ---------------------------------------------------------------- per-event table


def _event_values(rows: pd.DataFrame) -> tuple[dict[str, float], dict[str, str]]:
    """Value per score input test at one event, and reasons for unusable ones."""
    values: dict[str, float] = {}
    problems: dict[str, str] = {}
    for test in SCORE_INPUT_TESTS:
        vals = pd.to_numeric(rows.loc[rows["test"] == test, "value"], errors="coerce").dropna()
        distinct = sorted(set(float(v) for v in vals))
        if len(distinct) == 1:
            if distinct[0] > 0:
                values[test] = distinct[0]
            else:
                problems[test] = f"{_TEST_NAMES[test]} is not positive ({distinct[0]:g})"
        elif len(distinct) > 1:
            problems[test] = f"conflicting {_TEST_NAMES[test]} values at this event"
    return values, problems


def _lab_reasons(needed, values, problems) -> list[str]:
    missing = [t for t in needed if t not in values and t not in problems]
    reasons = []
    if missing:
        reasons.append("no " + ", ".join(_TEST_NAMES[t] for t in missing) + " reported")
    reasons.extend(problems[t] for t in needed if t in problems)
    return reasons


def _fact(facts: dict, key: str):
    value = facts.get(key)
    if value is None or str(value).strip() == "":
        return None
    return str(value).strip()


def _not_computable(event_id, score, reasons) -> dict:
    return {
        "event_id": event_id,
        "score": score,
        "value": math.nan,
        "category": "not computable: " + "; ".join(reasons),
    }


def score_table(labs: pd.DataFrame, facts: dict[str, str]) -> pd.DataFrame:
    """Child-Pugh, ALBI, MELD, MELD-Na and MELD 3.0 for every event that has liver-score labs.

    Columns (exactly): ``event_id, score, value, category, formula``; sorted by event
    day then score name (``albi``, ``child_pugh``, ``meld``, ``meld_3``, ``meld_na``);
    ``formula`` names the formula of the row with its reference (SCORE_FORMULAS).

    * ``child_pugh``: value = points; category = class letter + points
      ("A5"). Needs BILI, ALB, INR and the facts ``ascites`` and
      ``encephalopathy``. Facts are case-level: the same ascites/encephalopathy
      values are used at every event.
    * ``albi``: value = score rounded to 2 decimals; category "grade 1".
      Needs BILI and ALB (converted x 17.1 and x 10 to SI).
    * ``meld``: value = integer MELD (UNOS form); category = the bounds applied
      (e.g. "bilirubin < 1.0 set to 1.0") or "within bounds". Needs BILI, INR,
      CREAT; dialysis is taken from the fact ``dialysis`` ("yes"/"no"), absent
      meaning no dialysis.
    * ``meld_na``: :func:`meld_na`; needs BILI, INR, CREAT and SODIUM.
    * ``meld_3``: :func:`meld_3`; needs BILI, INR, CREAT, SODIUM, ALB and the fact
      ``sex`` (``male``/``female``).

    A score whose inputs are missing or unusable gets an empty value (NaN) and
    ``category = "not computable: <reason>"``, e.g. "not computable: no
    creatinine (CREAT) reported" or "not computable: ascites not in facts".
    Events with none of BILI, ALB, INR, CREAT get no rows. Several distinct
    values of one test at the same event are treated as unusable (not
    averaged, not picked).
    """
    missing = [c for c in ("event_id", "day", "test", "value") if c not in labs.columns]
    if missing:
        raise ValueError(f"labs is missing required column(s): {', '.join(missing)}")
    facts = facts or {}

    relevant = labs.loc[labs["test"].isin(SCORE_INPUT_TESTS)]
    records = []
    if not relevant.empty:
        event_days = relevant.groupby("event_id", sort=False)["day"].min()
        for event_id, day in event_days.items():
            rows = relevant.loc[relevant["event_id"] == event_id]
            values, problems = _event_values(rows)
            for rec in (
                _albi_row(event_id, values, problems),
                _child_pugh_row(event_id, values, problems, facts),
                _meld_row(event_id, values, problems, facts),
                _meld_na_row(event_id, values, problems, facts),
                _meld_3_row(event_id, values, problems, facts),
            ):
                rec["_day"] = day
                records.append(rec)

    for rec in records:
        rec["formula"] = SCORE_FORMULAS[rec["score"]]
    out = pd.DataFrame.from_records(records, columns=SCORE_TABLE_COLUMNS + ["_day"])
    out["value"] = out["value"].astype("float64")
    out = out.sort_values(["_day", "score"], kind="mergesort").reset_index(drop=True)
    return out[SCORE_TABLE_COLUMNS]


def _albi_row(event_id, values, problems) -> dict:
    reasons = _lab_reasons(("BILI", "ALB"), values, problems)
    if reasons:
        return _not_computable(event_id, "albi", reasons)
    result = albi_conventional(values["BILI"], values["ALB"])
    return {
        "event_id": event_id,
        "score": "albi",
        "value": round(result.score, 2),
        "category": f"grade {result.grade}",
    }


def _child_pugh_row(event_id, values, problems, facts) -> dict:
    reasons = _lab_reasons(("BILI", "ALB", "INR"), values, problems)
    ascites = _fact(facts, "ascites")
    enceph = _fact(facts, "encephalopathy")
    for key, val, table in (("ascites", ascites, _ASCITES),
                            ("encephalopathy", enceph, _ENCEPHALOPATHY)):
        if val is None:
            reasons.append(f"{key} not in facts")
        elif val.lower() not in table:
            reasons.append(f"{key} value {val!r} not recognised")
    if reasons:
        return _not_computable(event_id, "child_pugh", reasons)
    result = child_pugh(values["BILI"], values["ALB"], values["INR"], ascites, enceph)
    return {
        "event_id": event_id,
        "score": "child_pugh",
        "value": float(result.points),
        "category": result.label,
    }


#: Words read as yes / no in a case's facts (also used by :mod:`casekit.rules.staging`).
YES_WORDS = {"yes", "true", "y", "1", "present", "positive"}
NO_WORDS = {"no", "false", "n", "0", "absent", "negative", "none"}


def _meld_row(event_id, values, problems, facts) -> dict:
    reasons = _lab_reasons(("BILI", "INR", "CREAT"), values, problems)
    dialysis_fact = _fact(facts, "dialysis")
    dialysis = False
    if dialysis_fact is not None:
        if dialysis_fact.lower() in YES_WORDS:
            dialysis = True
        elif dialysis_fact.lower() not in NO_WORDS:
            reasons.append(f"dialysis value {dialysis_fact!r} not recognised")
    if reasons:
        return _not_computable(event_id, "meld", reasons)
    result = meld(values["BILI"], values["INR"], values["CREAT"], dialysis=dialysis)
    return {
        "event_id": event_id,
        "score": "meld",
        "value": float(result.score),
        "category": result.note,
    }


def _dialysis(facts, reasons) -> bool:
    value = _fact(facts, "dialysis")
    if value is None or value.lower() in NO_WORDS:
        return False
    if value.lower() in YES_WORDS:
        return True
    reasons.append(f"dialysis value {value!r} not recognised")
    return False


def _meld_na_row(event_id, values, problems, facts) -> dict:
    reasons = _lab_reasons(("BILI", "INR", "CREAT", "SODIUM"), values, problems)
    dialysis = _dialysis(facts, reasons)
    if reasons:
        return _not_computable(event_id, "meld_na", reasons)
    result = meld_na(values["BILI"], values["INR"], values["CREAT"], values["SODIUM"],
                     dialysis=dialysis)
    return {"event_id": event_id, "score": "meld_na", "value": float(result.score),
            "category": result.note}


def _meld_3_row(event_id, values, problems, facts) -> dict:
    reasons = _lab_reasons(("BILI", "INR", "CREAT", "SODIUM", "ALB"), values, problems)
    dialysis = _dialysis(facts, reasons)
    sex = _fact(facts, "sex")
    if sex is None:
        reasons.append("sex not in facts")
    elif sex.lower() not in ("male", "female"):
        reasons.append(f"sex value {sex!r} not recognised")
    if reasons:
        return _not_computable(event_id, "meld_3", reasons)
    result = meld_3(values["BILI"], values["INR"], values["CREAT"], values["SODIUM"],
                    values["ALB"], female=sex.lower() == "female", dialysis=dialysis)
    return {"event_id": event_id, "score": "meld_3", "value": float(result.score),
            "category": result.note}
