"""Which sections of the collection apply to a case, decided from the case itself.

A section that does not apply is left out of the report and said once in its notebook
("no radioembolization in this case's timeline"), never shown as "not produced". The
notebooks and the report ask the same functions here, so they cannot disagree.

- Tumour markers: whatever markers the labs hold (:func:`casekit.rules.markers.case_markers`).
- Viral load: when the labs hold viral-load rows (HBV DNA, HCV RNA).
- Liver function scores: when the labs hold at least one of their inputs (bilirubin,
  albumin, INR, creatinine); a score whose other inputs are missing says why.
- Liver staging (BCLC, modified UICC): both are defined for hepatocellular carcinoma only
  (Reig M et al., J Hepatol 2022;76:681-693; Kudo M et al., the Korean modified UICC);
  they apply when the fact ``cancer`` names HCC, or, when the case does not state its
  cancer, when it gives a staging determinant (``portal_invasion``, ``bclc_stage_reported``,
  ...).
- Radioembolization dosimetry: when the timeline has a radioembolization event
  (:data:`RADIOEMBOLIZATION`, matched in event labels).
- Trial context: when the case folder holds ``trials.csv``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

_HCC = re.compile(r"hepatocellular|\bHCC\b", re.IGNORECASE)


def is_hepatocellular(cancer: str | None) -> bool:
    """True when the ``cancer`` fact names hepatocellular carcinoma (or HCC): mRECIST and
    the liver staging systems are defined for it only (Lencioni & Llovet 2010)."""
    return bool(cancer) and bool(_HCC.search(cancer))

#: Words that name radioembolization in a timeline label (TARE, SIRT, Y-90 microspheres).
RADIOEMBOLIZATION = ("TARE", "SIRT", "radioemboli[sz]ation", "selective internal radiation",
                     "Y-?90", "yttrium-?90", "TheraSphere", "SIR-Spheres")
_RE = re.compile(r"\b(?:" + "|".join(RADIOEMBOLIZATION) + r")\b", re.IGNORECASE)
#: Timeline categories a radioembolization is recorded under (not a later check-up that
#: mentions it).
TREATMENT_CATEGORIES = ("locoregional", "procedure")

#: Laboratory inputs of Child-Pugh, ALBI and MELD (casekit.rules.scores).
LIVER_SCORE_TESTS = ("BILI", "ALB", "INR", "CREAT")
#: Facts that determine the BCLC or modified UICC stage.
LIVER_STAGING_FACTS = ("portal_invasion", "bclc_stage_reported", "muicc_stage_reported",
                       "child_pugh_reported", "tumour_count", "largest_tumour_cm")
TRIALS_FILE = "trials.csv"


def radioembolization_events(timeline: pd.DataFrame) -> pd.DataFrame:
    """The treatment rows of the timeline whose label names radioembolization, in day order."""
    labels = timeline.get("label", pd.Series(dtype=str)).astype(str)
    treatment = timeline.get("category", pd.Series(dtype=str)).isin(TREATMENT_CATEGORIES)
    return timeline[labels.str.contains(_RE) & treatment]


def has_radioembolization(case) -> bool:
    return not radioembolization_events(case.timeline).empty


def has_liver_scores(case) -> bool:
    """True when the labs hold an input of the liver function scores."""
    return bool(case.labs["test"].isin(LIVER_SCORE_TESTS).any())


def has_liver_staging(case) -> bool:
    cancer = case.fact("cancer")
    if cancer is not None:
        return is_hepatocellular(cancer)
    return any(case.fact(key) is not None for key in LIVER_STAGING_FACTS)


def trials_path(case_dir: str | Path) -> Path | None:
    """The case's ``trials.csv``, or None when the case cites no trials."""
    path = Path(case_dir) / TRIALS_FILE
    return path if path.is_file() else None


def absent(what: str, where: str = "this case") -> str:
    """The one sentence a notebook prints for a section that does not apply:
    ``absent("radioembolization", "this case's timeline")``."""
    return f"No {what} in {where}: this section does not apply and is left out of the report."
