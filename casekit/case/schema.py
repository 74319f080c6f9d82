"""The case-folder format as pandera schemas: columns, vocabularies and value rules.

Every file is read as text first, so that a bad cell can be reported exactly as written
(``1,470``, ``n/a``) with its line and column, and only then parsed. Rules that relate rows
or files (an ``event_id`` that must exist, anchor cycles, units by test) are relational and
live in :mod:`casekit.case`; everything that concerns one cell or one column lives here.
The data dictionary in ``data/README.md`` documents the same format for people.
"""

from __future__ import annotations

import re

import pandera.pandas as pa

STATUSES = ("reported", "derived", "assumed")
TIMELINE_CATEGORIES = (
    "diagnosis", "imaging", "systemic", "locoregional", "procedure", "lab",
    "adverse_event", "care", "outcome",
)
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

# Facts with a controlled vocabulary or a number; any other key is free text.
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
    "tare_microspheres": ("glass", "resin"),
    "ecog": ("0", "1", "2", "3", "4"),
}
# Facts that say what the case is; read by casekit.rules.criteria.
FACT_CRITERIA_SEPARATOR = ";"
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


def _is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text))


# Each check's `error` is the message template; `{value}` is filled with the cell.
def _not_empty(what: str) -> pa.Check:
    return pa.Check(lambda v: v != "", element_wise=True, error=f"is empty; expected {what}")


def _vocabulary(words: tuple[str, ...], optional: bool = False) -> pa.Check:
    allowed = set(words) | ({""} if optional else set())
    return pa.Check(
        lambda v: v in allowed, element_wise=True,
        error="'{value}' is not a known word; expected one of: " + ", ".join(words)
        + (" (or empty)" if optional else ""),
    )


def _thousands() -> pa.Check:
    return pa.Check(
        lambda v: not _THOUSANDS.fullmatch(v), element_wise=True,
        error="'{value}' has a thousands separator; write the plain number, e.g. 1470 for 1,470",
    )


def _non_negative_number(optional: bool) -> pa.Check:
    def ok(v: str) -> bool:
        if v == "":
            return optional
        # Signed and comma-grouped numbers get their own, clearer messages.
        return _is_number(v) or bool(_SIGNED.fullmatch(v)) or bool(_THOUSANDS.fullmatch(v))

    return pa.Check(ok, element_wise=True,
                    error="'{value}' is not a number; expected a plain decimal like 5.16"
                    + (" (or empty)" if optional else ""))


def _not_negative() -> pa.Check:
    return pa.Check(lambda v: not _SIGNED.fullmatch(v), element_wise=True,
                    error="'{value}' is negative; expected a number of at least 0")


def _integer() -> pa.Check:
    return pa.Check(lambda v: bool(re.fullmatch(r"-?[0-9]+", v)), element_wise=True,
                    error="'{value}' is not a whole number of days; expected e.g. -7, 0 or 21")


def _identifier() -> pa.Check:
    return pa.Check(lambda v: v == "" or bool(re.fullmatch(r"[A-Za-z0-9_.\-]+", v)),
                    element_wise=True,
                    error="'{value}' is not an identifier; use letters, digits, '_', '-' or '.'")


def _text(*checks: pa.Check) -> pa.Column:
    return pa.Column(str, checks=list(checks), nullable=False, coerce=False)


def _measured() -> list[pa.Check]:
    return [_non_negative_number(optional=True), _thousands(), _not_negative()]


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
                             _integer()),
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
        "size_cm": _text(*_measured()),
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
        "quantity": _text(_not_empty("the quantity that recomputes it, e.g. lab(AFP)")),
        "event_id": _text(),
        "comparator": _text(_vocabulary(CLAIM_COMPARATORS)),
        "expected": _text(_not_empty("the value the paper gives")),
        "tolerance": _text(*_measured()),
        "known_difference": _text(),
        "source": _text(_not_empty("a verbatim snippet of the paper")),
    }),
}

REQUIRED_FILES = ("facts.csv", "timeline.csv", "labs.csv", "lesions.csv")
OPTIONAL_FILES = ("responses.csv", "claims.csv")


def columns(file: str) -> list[str]:
    """The columns of a case file, in the order the format documents them."""
    return list(SCHEMAS[file].columns)
