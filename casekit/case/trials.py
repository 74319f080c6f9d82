"""Published trial results that a case's discussion cites: the case's own ``trials.csv``.

Trials belong to the case (``data/jlc2022/trials.csv``): a case whose discussion cites no
trial has no such file and gets no trial context and no forest plot. The table is input
like a case table: it is validated (pandera) and every row carries ``status`` and
``source``. Columns: trial, comparison, endpoint, measure, estimate, ci_low, ci_high, unit,
microspheres, status, source, citation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from casekit.case.load import refuse_links
from casekit.render import markdown
from casekit.case.schema import STATUSES

TRIAL_COLUMNS = ["trial", "comparison", "endpoint", "measure", "estimate", "ci_low", "ci_high",
                 "unit", "microspheres", "status", "source", "citation"]

_SCHEMA = pa.DataFrameSchema(
    {
        "trial": pa.Column(str), "comparison": pa.Column(str), "endpoint": pa.Column(str),
        "measure": pa.Column(str),
        "estimate": pa.Column(float, pa.Check.ge(0)),
        "ci_low": pa.Column(float, pa.Check.ge(0), nullable=True),
        "ci_high": pa.Column(float, pa.Check.ge(0), nullable=True),
        "unit": pa.Column(str, nullable=True),
        "microspheres": pa.Column(str, pa.Check.isin(["glass", "resin"]), nullable=True),
        "status": pa.Column(str, pa.Check.isin(STATUSES)),
        "source": pa.Column(str, pa.Check.str_length(min_value=1)),
        "citation": pa.Column(str, pa.Check.str_length(min_value=1)),
    },
    checks=pa.Check(lambda df: (df["ci_low"].isna() | (df["ci_low"] <= df["estimate"]))
                    & (df["ci_high"].isna() | (df["estimate"] <= df["ci_high"])),
                    error="estimate must lie within its confidence interval"),
    strict=True,
)


def load_trials(path: str | Path) -> pd.DataFrame:
    """Read and validate a trials table; raises pandera's SchemaErrors naming each bad cell."""
    frame = pd.read_csv(path, dtype={c: object for c in TRIAL_COLUMNS if c not in
                                     ("estimate", "ci_low", "ci_high")}, keep_default_na=False,
                        na_values={"estimate": [""], "ci_low": [""], "ci_high": [""]})
    for column in ("unit", "microspheres"):
        frame[column] = frame[column].replace("", None)
    return _SCHEMA.validate(frame, lazy=True)


def case_trials(case_dir: str | Path) -> pd.DataFrame | None:
    """The validated ``trials.csv`` of a case folder, or None when the case has none."""
    refuse_links(case_dir)
    path = Path(case_dir) / "trials.csv"
    return load_trials(path) if path.is_file() else None


def _listing(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def context_summary(trials: pd.DataFrame, microspheres_given: str | None = None) -> str:
    """What the trial table holds, in Markdown sentences read from it (no trial named here
    that is not in the table): each trial with its comparisons, how many figures the case
    report states, and, when the case says which microspheres the patient received, which
    trials used other ones."""
    lines = []
    for trial, rows in trials.groupby("trial", sort=False):
        comparisons = list(dict.fromkeys(rows["comparison"].astype(str)))
        # the arms of a trial's medians are not comparisons of their own
        comparisons = [c for c in comparisons if " vs " in c] or comparisons
        lines.append(f"- **{markdown(trial)}**: {_listing([markdown(c) for c in comparisons])} "
                     f"({markdown(rows['citation'].iloc[0])})")
    reported = int((trials["status"] == "reported").sum())
    text = (f"The case's discussion cites {trials['trial'].nunique()} trial(s):\n\n"
            + "\n".join(lines) + f"\n\n{reported} of the {len(trials)} figures below are "
            "stated in the case report itself (`reported`); the others are `assumed`, each "
            "with where it comes from.")
    if microspheres_given:
        other = trials[trials["microspheres"].notna()
                       & (trials["microspheres"] != microspheres_given)]
        names = [markdown(n) for n in dict.fromkeys(other["trial"])]
        if names:
            kinds = _listing([markdown(k) for k in sorted(set(other["microspheres"]))])
            text += (f"\n\n{_listing(names)} used **{kinds}** microspheres; this patient "
                     f"received **{markdown(microspheres_given)}** microspheres, which differ in activity "
                     "per sphere and dosimetry, so those trials are context rather than "
                     "evidence for this regimen.")
    return text


def hazard_ratios(trials: pd.DataFrame, include_assumed: bool = True) -> pd.DataFrame:
    """The hazard-ratio rows, in file order; ``include_assumed=False`` keeps only figures
    the case report itself states."""
    rows = trials[trials["measure"] == "hazard ratio"]
    if not include_assumed:
        rows = rows[rows["status"] == "reported"]
    return rows.reset_index(drop=True)


def other_results(trials: pd.DataFrame) -> pd.DataFrame:
    """Everything that is not a hazard ratio (response rates, medians)."""
    return trials[trials["measure"] != "hazard ratio"].reset_index(drop=True)
