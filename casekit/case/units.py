"""Laboratory units: the canonical unit of each known test and the exact factors into it.

A conversion is listed only where it is a fixed factor (mass or molar concentration of a
single substance). Conversions that depend on the assay, such as HBV DNA copies/mL to
IU/mL or PIVKA-II ng/mL to mAU/mL, are deliberately absent: such a value is rejected,
never guessed.

Factors: bilirubin 1 mg/dL = 17.1 umol/L (molar mass 584.7 g/mol); creatinine
1 mg/dL = 88.4 umol/L (113.1 g/mol); albumin and haemoglobin 1 g/dL = 10 g/L;
cell counts 1 x 10^9/L = 1 x 10^3/uL = 1000/uL; mass concentrations 1 ng/mL = 1 ug/L;
arbitrary enzyme-immunoassay units 1 U/mL = 1 kU/L and 1 mIU/mL = 1 IU/L; enzyme activity
1 ukat/L = 60 U/L (1 U = 1 umol/min, 1 kat = 1 mol/s; IFCC/IUPAC).

Tumour markers and viral loads are listed with their meaning and reference in
:data:`casekit.rules.markers.MARKERS`; their units live here with the other tests. A test
code may have synonyms (``DCP`` for ``PIVKA-II``): a synonym is validated and converted
like its code and keeps its own name in the tables.
"""

from __future__ import annotations

# test -> (canonical unit, {accepted unit: factor that multiplies a value into canonical})
UNITS: dict[str, tuple[str, dict[str, float]]] = {
    "AFP": ("ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}),
    "PIVKA-II": ("mAU/mL", {"mAU/mL": 1.0}),
    "CEA": ("ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}),
    "CA19-9": ("U/mL", {"U/mL": 1.0, "kU/L": 1.0}),
    "CA-125": ("U/mL", {"U/mL": 1.0, "kU/L": 1.0}),
    "CA15-3": ("U/mL", {"U/mL": 1.0, "kU/L": 1.0}),
    "PSA": ("ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}),
    "CYFRA21-1": ("ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}),
    "NSE": ("ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}),
    "B-HCG": ("IU/L", {"IU/L": 1.0, "mIU/mL": 1.0}),
    "LDH": ("U/L", {"U/L": 1.0, "IU/L": 1.0, "ukat/L": 60.0}),
    "HBV-DNA": ("IU/mL", {"IU/mL": 1.0}),
    "HCV-RNA": ("IU/mL", {"IU/mL": 1.0}),
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

# Other names of a test code, as laboratories write them.
SYNONYMS: dict[str, str] = {
    "DCP": "PIVKA-II", "CA 19-9": "CA19-9", "CA 125": "CA-125", "CA125": "CA-125",
    "CA 15-3": "CA15-3", "CYFRA 21-1": "CYFRA21-1", "BETA-HCG": "B-HCG", "HCG": "B-HCG",
    "β-hCG": "B-HCG",
}

# Spellings of the same unit that people type; folded before lookup.
_ALIASES = {"µ": "u", "μ": "u", "×": "x", "10x9/L": "10^9/L", "10x3/uL": "10^3/uL"}


def normalise_unit(unit: str) -> str:
    """Fold typographic variants (µ/μ -> u, ×10 -> 10) so 'µmol/L' and 'umol/L' match."""
    for old, new in _ALIASES.items():
        unit = unit.replace(old, new)
    return unit


def canonical_test(test: str) -> str:
    """The code of ``test`` in :data:`UNITS` (a synonym's code), or ``test`` unchanged."""
    return SYNONYMS.get(test, test)


def is_known(test: str) -> bool:
    """Whether casekit knows the test (its code or a synonym) and checks its unit."""
    return canonical_test(test) in UNITS


def accepted_units(test: str) -> list[str]:
    """The units a known test may be given in (empty for a test casekit does not know)."""
    test = canonical_test(test)
    return sorted(UNITS[test][1]) if test in UNITS else []


def to_canonical(test: str, value: float, unit: str) -> tuple[float, str]:
    """Convert `value` in `unit` into the canonical unit of `test`.

    Unknown tests pass through unchanged. Raises KeyError for an unknown unit of a known
    test (validation reports that before anything is converted).
    """
    if not is_known(test):
        return value, unit
    canonical, factors = UNITS[canonical_test(test)]
    factor = factors[normalise_unit(unit)]
    # Round away binary noise (5160 * 0.001 = 5.16000...01) without losing real digits.
    return float(f"{value * factor:.10g}"), canonical
