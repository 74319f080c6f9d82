"""Laboratory units: the canonical unit of each known test and the exact factors into it.

A conversion is listed only where it is a fixed factor (mass or molar concentration of a
single substance). Conversions that depend on the assay, such as HBV DNA copies/mL to
IU/mL or PIVKA-II ng/mL to mAU/mL, are deliberately absent: such a value is rejected,
never guessed.

Factors: bilirubin 1 mg/dL = 17.1 umol/L (molar mass 584.7 g/mol); creatinine
1 mg/dL = 88.4 umol/L (113.1 g/mol); albumin and haemoglobin 1 g/dL = 10 g/L;
cell counts 1 x 10^9/L = 1 x 10^3/uL = 1000/uL.
"""

from __future__ import annotations

# test -> (canonical unit, {accepted unit: factor that multiplies a value into canonical})
UNITS: dict[str, tuple[str, dict[str, float]]] = {
    "AFP": ("ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}),
    "PIVKA-II": ("mAU/mL", {"mAU/mL": 1.0}),
    "HBV-DNA": ("IU/mL", {"IU/mL": 1.0}),
    "WBC": ("10^9/L", {"10^9/L": 1.0, "10^3/uL": 1.0, "/uL": 0.001}),
    "HGB": ("g/dL", {"g/dL": 1.0, "g/L": 0.1}),
    "PLT": ("10^9/L", {"10^9/L": 1.0, "10^3/uL": 1.0, "/uL": 0.001}),
    "BILI": ("mg/dL", {"mg/dL": 1.0, "umol/L": 1 / 17.1}),
    "ALB": ("g/dL", {"g/dL": 1.0, "g/L": 0.1}),
    "INR": ("ratio", {"ratio": 1.0}),
    "AST": ("IU/L", {"IU/L": 1.0, "U/L": 1.0}),
    "ALT": ("IU/L", {"IU/L": 1.0, "U/L": 1.0}),
    "CREAT": ("mg/dL", {"mg/dL": 1.0, "umol/L": 1 / 88.4}),
    "SODIUM": ("mmol/L", {"mmol/L": 1.0, "mEq/L": 1.0}),
}

# Spellings of the same unit that people type; folded before lookup.
_ALIASES = {"µ": "u", "μ": "u", "×": "x", "10x9/L": "10^9/L", "10x3/uL": "10^3/uL"}


def normalise_unit(unit: str) -> str:
    """Fold typographic variants (µ/μ -> u, ×10 -> 10) so 'µmol/L' and 'umol/L' match."""
    for old, new in _ALIASES.items():
        unit = unit.replace(old, new)
    return unit


def accepted_units(test: str) -> list[str]:
    """The units a known test may be given in (empty for a test casekit does not know)."""
    return sorted(UNITS[test][1]) if test in UNITS else []


def to_canonical(test: str, value: float, unit: str) -> tuple[float, str]:
    """Convert `value` in `unit` into the canonical unit of `test`.

    Unknown tests pass through unchanged. Raises KeyError for an unknown unit of a known
    test (validation reports that before anything is converted).
    """
    if test not in UNITS:
        return value, unit
    canonical, factors = UNITS[test]
    factor = factors[normalise_unit(unit)]
    # Round away binary noise (5160 * 0.001 = 5.16000...01) without losing real digits.
    return float(f"{value * factor:.10g}"), canonical
