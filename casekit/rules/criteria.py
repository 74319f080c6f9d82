"""Which response criteria apply to a case.

RECIST 1.1 applies to every solid tumour (Eisenhauer 2009, Eur J Cancer 45:228-247, §1).
mRECIST is defined for hepatocellular carcinoma only (Lencioni & Llovet 2010, Semin Liver
Dis 30:52-60, "Introduction": an amendment of RECIST for HCC). iRECIST is for trials of
immunotherapy (Seymour et al. 2017, Lancet Oncol 18:e143-e152, "Introduction" and panel 1),
so it applies when the case's timeline shows an immune checkpoint inhibitor.

A case may name its criteria itself with the fact ``criteria`` (``RECIST1.1;iRECIST``);
that overrides the defaults. The fact ``cancer`` is free text (``hepatocellular
carcinoma``, ``non-small-cell lung cancer``).
"""

from __future__ import annotations

import re

import pandas as pd

from casekit.case.schema import FACT_CRITERIA_SEPARATOR, RESPONSE_CRITERIA
from casekit.case.sections import is_hepatocellular  # noqa: F401 (used and re-exported)

#: Immune checkpoint inhibitors by international non-proprietary name (anti-PD-1, anti-PD-L1,
#: anti-CTLA-4, anti-LAG-3), as data: a timeline label naming one makes iRECIST apply.
CHECKPOINT_INHIBITORS = (
    "atezolizumab", "avelumab", "durvalumab",  # PD-L1
    "nivolumab", "pembrolizumab", "cemiplimab", "dostarlimab", "retifanlimab",
    "tislelizumab", "toripalimab", "camrelizumab", "sintilimab", "serplulimab",  # PD-1
    "ipilimumab", "tremelimumab",  # CTLA-4
    "relatlimab",  # LAG-3
)
_ICI = re.compile(r"\b(" + "|".join(CHECKPOINT_INHIBITORS) + r")\b", re.IGNORECASE)

def checkpoint_inhibitors(timeline: pd.DataFrame) -> list[str]:
    """Checkpoint inhibitors named in the timeline's labels, lower case, in first-seen order."""
    seen: list[str] = []
    for label in timeline.get("label", pd.Series(dtype=str)).astype(str):
        for name in _ICI.findall(label):
            if name.lower() not in seen:
                seen.append(name.lower())
    return seen


def applicable_criteria(case) -> list[str]:
    """The response criteria that apply to ``case``, in :data:`RESPONSE_CRITERIA` order.

    The fact ``criteria`` (names separated by ``;``) wins when present. Otherwise
    RECIST 1.1 always; mRECIST when the fact ``cancer`` names hepatocellular carcinoma;
    iRECIST when the timeline names an immune checkpoint inhibitor (see module docstring
    for the references).
    """
    stated = case.fact("criteria")
    if stated:
        wanted = {c.strip() for c in stated.split(FACT_CRITERIA_SEPARATOR) if c.strip()}
        unknown = wanted - set(RESPONSE_CRITERIA)
        if unknown:
            raise ValueError(f"facts.csv criteria: unknown criteria {sorted(unknown)}; "
                             f"expected names from {', '.join(RESPONSE_CRITERIA)}")
        return [c for c in RESPONSE_CRITERIA if c in wanted]
    out = ["RECIST1.1"]
    if is_hepatocellular(case.fact("cancer")):
        out.append("mRECIST")
    if checkpoint_inhibitors(case.timeline):
        out.append("iRECIST")
    return out
