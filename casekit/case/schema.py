"""The case-folder format as pandera schemas: columns, vocabularies and value rules.

Every file is read as text first, so that a bad cell can be reported exactly as written
(``1,470``, ``n/a``) with its line and column, and only then parsed. Rules that relate rows
or files (an ``event_id`` that must exist, anchor cycles, units by test) are relational and
live in :mod:`casekit.case`; everything that concerns one cell or one column lives here.
The data dictionary in ``data/README.md`` documents the same format for people.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pandera.pandas as pa

STATUSES = ("reported", "derived", "assumed")
TIMELINE_CATEGORIES = (
    "diagnosis", "imaging", "systemic", "locoregional", "procedure", "lab",
    "adverse_event", "care", "outcome", "death", "last_known_alive",
)
#: Vital status (issue 17): at most one event of each; they date OS and the death that ends
#: PFS (casekit.rules.endpoints). An ``outcome`` event says nothing about vital status.
VITAL_CATEGORIES = ("death", "last_known_alive")
LESION_KINDS = ("tumour", "lymph_node", "vascular_invasion")
LESION_ROLES = ("target", "non_target", "new")
LESION_MEASURES = ("longest", "viable", "short_axis")
LESION_ASSESSMENTS = ("present", "absent", "unequivocal_progression", "suspected")
RESPONSE_CRITERIA = ("RECIST1.1", "mRECIST", "iRECIST")
# RECIST 1.1 / mRECIST calls, and iRECIST's (Seymour 2017: iCR, iPR, iSD, iUPD, iCPD, and
# non-iCR/non-iUPD for non-target disease only, as SDTM RS records it).
RESPONSE_CATEGORIES = ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE",
                       "iCR", "iPR", "iSD", "iUPD", "iCPD", "non-iCR/non-iUPD")
CLAIM_COMPARATORS = ("eq", "lt", "le", "gt", "ge")
#: The quantities a claim can be recomputed by (casekit.rules.claims.QUANTITIES computes
#: each; a test keeps the two lists equal). Listed here so that validate refuses a name
#: notebook 07 would not know (it failed the run of a case called valid).
CLAIM_QUANTITIES = ("fact", "lab", "lesion_size", "overall_response",
                    "target_change_from_baseline_pct", "target_change_from_nadir_pct",
                    "marker_change_pct", "marker_fold_from_nadir", "child_pugh", "albi_grade",
                    "meld", "bclc_stage", "muicc_stage", "muicc_t", "ctcae_fever_grade",
                    "days_between")
#: How ``casekit new-case`` marks its example rows (in ``source``); validation refuses a
#: case that still holds one, so a scaffold is never mistaken for a case.
EXAMPLE_MARKER = "EXAMPLE row written by casekit new-case"

# Facts with a controlled vocabulary or a number; any other key is free text.
TARE_MICROSPHERES = ("glass", "resin")

FACT_VOCABULARY: dict[str, tuple[str, ...]] = {
    "sex": ("male", "female"),
    "ascites": ("none", "mild", "moderate_severe"),
    "encephalopathy": ("none", "grade_1_2", "grade_3_4"),
    "portal_invasion": ("yes", "no"),
    "vascular_invasion": ("yes", "no"),
    "extrahepatic_spread": ("yes", "no"),
    "cirrhosis": ("yes", "no"),
    "tumour_count": ("single", "multiple"),
    "t_stage": ("T1", "T2", "T3", "T4"),
    "n_stage": ("N0", "N1"),
    "m_stage": ("M0", "M1"),
    "bclc_stage_reported": ("0", "A", "B", "C", "D"),
    "tare_microspheres": TARE_MICROSPHERES,
    "ecog": ("0", "1", "2", "3", "4"),
}
# Facts that say what the case is; read by casekit.rules.criteria.
FACT_CRITERIA_SEPARATOR = ";"
#: Facts that are calendar dates (YYYY-MM-DD): the day 0 of a case that has dates, from
#: which the SDTM and ADaM exports date every event.
FACT_DATES = ("reference_start_date",)
FACT_NUMBERS = (
    "age_years", "largest_tumour_cm", "lung_shunt_fraction_pct", "tare_activity_gbq",
    "tare_target_tissue_dose_gy", "tare_tumour_dose_gy", "fever_max_c",
    "atezolizumab_dose_mg", "bevacizumab_dose_mg_per_kg", "smoking_pack_years",
    "cycles_total", "cycles_before_transfer", "abstinence_months", "lung_mass_kg",
    "perfused_liver_mass_kg",
)

_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_THOUSANDS = re.compile(r"-?[0-9]{1,3}([, ][0-9]{3})+(\.[0-9]+)?")
_SIGNED = re.compile(r"-[0-9]+(\.[0-9]+)?")
# A decimal comma, as some locales write 1.5 (and not a thousands group such as 1,470).
DECIMAL_COMMA = re.compile(r"-?[0-9]+,[0-9]+")

# Sanity limits (issue 9 item 11), documented with their reasons in data/README.md.
#: Largest lesion diameter accepted, cm: no solid tumour or node measured on imaging comes
#: near it; a larger number is a unit slip (mm typed as cm) or a typo.
MAX_LESION_CM = 50.0
#: Largest day offset, either way: 100 years (36,500 days) is longer than any course of care.
MAX_OFFSET_DAYS = 36_500
#: Upper sanity limit of each known lab test, in its canonical unit (casekit.case.units).
#: Chosen generously, well above any value seen in patients, so that only a unit slip or a
#: typo trips them; data/README.md lists them with the same reasons. Unknown tests are only
#: required to be finite.
LAB_LIMITS: dict[str, float] = {
    "AFP": 1e8,        # ng/mL; extreme AFP-secreting tumours stay orders of magnitude below
    "PIVKA-II": 1e8,   # mAU/mL; likewise
    "HBV-DNA": 1e11,   # IU/mL; above the highest viral loads seen in untreated infection
    "WBC": 1000.0,     # 10^9/L; above hyperleukocytosis in leukaemia
    "HGB": 30.0,       # g/dL; above extreme polycythaemia
    "PLT": 5000.0,     # 10^9/L; above extreme thrombocytosis
    "BILI": 100.0,     # mg/dL; above the deepest jaundice
    "ALB": 10.0,       # g/dL; serum albumin cannot exceed this
    "INR": 30.0,       # ratio; above what coagulometers report
    "AST": 100000.0,   # IU/L; above ischaemic or toxic hepatitis
    "ALT": 100000.0,   # IU/L; likewise
    "CREAT": 50.0,     # mg/dL; above end-stage renal failure
    "SODIUM": 250.0,   # mmol/L; above any survivable hypernatraemia
}
#: Upper sanity limits of numeric facts (every numeric fact must also be finite).
FACT_LIMITS: dict[str, float] = {
    "age_years": 130.0,
    "largest_tumour_cm": MAX_LESION_CM,
    "lung_shunt_fraction_pct": 100.0,
    "fever_max_c": 45.0,
}


def _is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text))


# Checks are vectorised (a Series in, a boolean Series out) so a table of a million rows
# validates in seconds; each check's `error` is the message template, `{value}` the cell.
def _check(ok, error: str, name: str | None = None) -> pa.Check:
    return pa.Check(ok, error=error, name=name)


def _matches(series: pd.Series, pattern: re.Pattern) -> pd.Series:
    """Whether each cell fully matches ``pattern``; each distinct cell is matched once
    (a column of a million lab values holds far fewer distinct texts)."""
    codes, distinct = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=False)
    hits = np.fromiter((isinstance(v, str) and pattern.fullmatch(v) is not None
                        for v in distinct), dtype=bool, count=len(distinct))
    return pd.Series(hits[codes], index=series.index, dtype=bool)


NOT_EMPTY = "not_empty"


def _not_empty(what: str) -> pa.Check:
    return _check(lambda s: s != "", f"is empty; expected {what}", name=NOT_EMPTY)


def _vocabulary(words: tuple[str, ...], optional: bool = False) -> pa.Check:
    allowed = list(words) + ([""] if optional else [])
    return _check(lambda s: s.isin(allowed),
                  "'{value}' is not a known word; expected one of: " + ", ".join(words)
                  + (" (or empty)" if optional else ""))


def _thousands() -> pa.Check:
    return _check(lambda s: ~_matches(s, _THOUSANDS),
                  "'{value}' has a thousands separator; write the plain number, e.g. 1470 "
                  "for 1,470")


def _decimal_comma() -> pa.Check:
    return _check(lambda s: ~_matches(s, DECIMAL_COMMA) | _matches(s, _THOUSANDS),
                  "'{value}' has a decimal comma; write a decimal point, e.g. 1.5 for 1,5")


def _non_negative_number(optional: bool) -> pa.Check:
    def ok(s):
        # Signed, comma-grouped and decimal-comma numbers get their own, clearer messages.
        fine = (_matches(s, _NUMBER) | _matches(s, _SIGNED) | _matches(s, _THOUSANDS)
                | _matches(s, DECIMAL_COMMA))
        return fine & (s != "") if not optional else fine | (s == "")

    return _check(ok, "'{value}' is not a number; expected a plain decimal like 5.16"
                  + (" (or empty)" if optional else ""))


def _not_negative() -> pa.Check:
    return _check(lambda s: ~_matches(s, _SIGNED),
                  "'{value}' is negative; expected a number of at least 0")


def numbers(series: pd.Series) -> pd.Series:
    """The cells of a text column as floats: NaN where a cell is not a plain number,
    ``inf`` where it overflows (``1e999``)."""
    plain = _matches(series, _NUMBER)
    return pd.to_numeric(series.where(plain, None), errors="coerce").astype("float64")


def _finite() -> pa.Check:
    return _check(lambda s: ~np.isinf(numbers(s)),
                  "'{value}' is too large: it overflows to infinity; expected a finite number")


def _at_most(limit: float, error: str) -> pa.Check:
    return _check(lambda s: ~(numbers(s) > limit), error)


def _integer() -> pa.Check:
    return _check(lambda s: _matches(s, re.compile(r"-?[0-9]+")),
                  "'{value}' is not a whole number of days; expected e.g. -7, 0 or 21")


def _day_range() -> pa.Check:
    def ok(s):
        whole = _matches(s, re.compile(r"-?[0-9]+"))
        days = pd.to_numeric(s.where(whole, None), errors="coerce").astype("float64")
        return ~(days.abs() > MAX_OFFSET_DAYS)

    return _check(ok, "'{value}' days is out of range; day offsets lie within "
                  f"-{MAX_OFFSET_DAYS} and {MAX_OFFSET_DAYS} (100 years)")


def _identifier() -> pa.Check:
    return _check(lambda s: (s == "") | _matches(s, re.compile(r"[A-Za-z0-9_.\-]+")),
                  "'{value}' is not an identifier; use letters, digits, '_', '-' or '.'")


def _quantity() -> pa.Check:
    """``name`` or ``name(arguments)`` with a name from CLAIM_QUANTITIES (the syntax of
    casekit.rules.claims.parse_quantity)."""
    pattern = re.compile(r"\s*(" + "|".join(CLAIM_QUANTITIES) + r")\s*(\(.*\))?\s*")
    return _check(lambda s: (s == "") | _matches(s, pattern),
                  "'{value}' is not a quantity casekit computes; expected name or "
                  "name(arguments) with a name from: " + ", ".join(CLAIM_QUANTITIES))


def _text(*checks: pa.Check) -> pa.Column:
    # No dtype and no null check: every cell is read as text already (never null), and
    # pandera would test each of a million cells in Python.
    return pa.Column(None, checks=list(checks), nullable=True, coerce=False)


def _measured() -> list[pa.Check]:
    return [_non_negative_number(optional=True), _thousands(), _decimal_comma(),
            _not_negative(), _finite()]


def _status_source() -> dict[str, pa.Column]:
    return {
        "status": _text(_vocabulary(STATUSES)),
        "source": _text(_not_empty(
            "for 'reported' a verbatim snippet of the paper, for 'derived' the rule, "
            "for 'assumed' the reason")),
    }


def _schema(name: str, columns: dict[str, pa.Column]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(columns, name=name, strict=True, ordered=False)


SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "facts.csv": _schema("facts.csv", {
        "key": _text(_not_empty("a fact key such as age_years"), _identifier()),
        "value": _text(),
        "unit": _text(),
        **_status_source(),
    }),
    "timeline.csv": _schema("timeline.csv", {
        "event_id": _text(_not_empty("an event id"), _identifier()),
        "label": _text(_not_empty("a short description of the event")),
        "category": _text(_vocabulary(TIMELINE_CATEGORIES)),
        "anchor": _text(_identifier()),
        "offset_days": _text(_not_empty("days after the anchor (or the root's day)"),
                             _integer(), _day_range()),
        **_status_source(),
    }),
    "labs.csv": _schema("labs.csv", {
        "event_id": _text(_not_empty("the id of a timeline event")),
        "test": _text(_not_empty("a test code such as AFP")),
        "value": _text(_not_empty("a measured value"), *_measured()),
        "unit": _text(_not_empty("a unit such as ng/mL")),
        **_status_source(),
    }),
    "lesions.csv": _schema("lesions.csv", {
        "event_id": _text(_not_empty("the id of a timeline event")),
        "lesion_id": _text(_not_empty("a lesion id"), _identifier()),
        "site": _text(),
        "kind": _text(_vocabulary(LESION_KINDS)),
        "role": _text(_vocabulary(LESION_ROLES)),
        "measure": _text(_vocabulary(LESION_MEASURES, optional=True)),
        "size_cm": _text(*_measured(), _at_most(
            MAX_LESION_CM, "'{value}' cm is larger than any lesion (at most "
            f"{MAX_LESION_CM:g} cm); was it given in mm?")),
        "assessment": _text(_vocabulary(LESION_ASSESSMENTS, optional=True)),
        **_status_source(),
    }),
    "responses.csv": _schema("responses.csv", {
        "event_id": _text(_not_empty("the id of a timeline event")),
        "criteria": _text(_vocabulary(RESPONSE_CRITERIA)),
        "category": _text(_vocabulary(RESPONSE_CATEGORIES)),
        "source": _text(_not_empty("a verbatim snippet of the paper")),
    }),
    "claims.csv": _schema("claims.csv", {
        "claim_id": _text(_not_empty("a claim id such as C01"), _identifier()),
        "statement": _text(_not_empty("the claim in words")),
        "quantity": _text(_not_empty("the quantity that recomputes it, e.g. lab(AFP)"),
                          _quantity()),
        "event_id": _text(),
        "comparator": _text(_vocabulary(CLAIM_COMPARATORS)),
        "expected": _text(_not_empty("the value the paper gives"), _thousands(),
                          _decimal_comma(), _finite()),
        "tolerance": _text(*_measured()),
        "known_difference": _text(),
        "source": _text(_not_empty("a verbatim snippet of the paper")),
    }),
    # The trials the case's discussion cites (notebook 06, forest plot); the estimate must lie
    # within its interval (a relational check in casekit.case.load).
    "trials.csv": _schema("trials.csv", {
        "trial": _text(_not_empty("the trial's name, e.g. IMbrave150")),
        "comparison": _text(_not_empty("what was compared, e.g. 'drug A vs drug B'")),
        "endpoint": _text(_not_empty("the endpoint, e.g. OS or PFS")),
        "measure": _text(_not_empty("the measure, e.g. hazard ratio or median")),
        "estimate": _text(_not_empty("the estimate"), *_measured(), _finite()),
        "ci_low": _text(*_measured(), _finite()),
        "ci_high": _text(*_measured(), _finite()),
        "unit": _text(),
        "microspheres": _text(_vocabulary(TARE_MICROSPHERES, optional=True)),
        **_status_source(),
        "citation": _text(_not_empty("the publication the figure comes from")),
    }),
}

REQUIRED_FILES = ("facts.csv", "timeline.csv", "labs.csv", "lesions.csv")
OPTIONAL_FILES = ("responses.csv", "claims.csv", "trials.csv")


def columns(file: str) -> list[str]:
    """The columns of a case file, in the order the format documents them."""
    return list(SCHEMAS[file].columns)


def text_columns(file: str) -> list[str]:
    """The columns of a case file that take any text: no vocabulary, number or identifier
    rule, at most "not empty" (labels, sites, sources, test names, units, statements, and
    event ids checked only against the timeline). Derived from the checks, so a new
    free-text column is among them without being listed (the hostile-text tests put
    markup, formulas and control characters into every one)."""
    return [name for name, column in SCHEMAS[file].columns.items()
            if all(check.name == NOT_EMPTY for check in column.checks)]
