"""Cohort summaries of a series: best overall response, response rates with exact CIs,
Kaplan-Meier estimates, and the tables the waterfall, swimmer and spider plots draw.

References
----------
- Response rates: objective response rate ORR = (CR + PR) / N and disease control rate
  DCR = (CR + PR + SD [+ non-CR/non-PD]) / N over the evaluated subjects, each subject
  counted once by its best overall response (Eisenhauer 2009, Eur J Cancer 45:228-247,
  §4.4.3; non-CR/non-PD is the SD of non-target-only disease, §4.4.1 and its footnote).
- Exact binomial ("Clopper-Pearson") interval: Clopper CJ, Pearson ES. The use of
  confidence or fiducial limits illustrated in the case of the binomial. Biometrika
  1934;26:404-413, computed by the beta-quantile form lower = B(a/2; x, n-x+1),
  upper = B(1-a/2; x+1, n-x), with lower = 0 when x = 0 and upper = 1 when x = n.
- Kaplan-Meier: Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-481, fitted with lifelines
  (Davidson-Pilon C. lifelines: survival analysis in Python. JOSS 2019;4:1317), whose
  pointwise 95 % band is the exponential Greenwood ("log-log") interval (Kalbfleisch &
  Prentice 2002, §1.4); the median is the first time the estimate is <= 0.5 and its 95 %
  CI is read off the band the same way (Brookmeyer R, Crowley J. Biometrics
  1982;38:29-41, the interval of times whose survival band contains 0.5), ``inf`` (shown
  "not reached") when a curve never gets down to 0.5.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Best-overall-response categories in the order tables list them.
BOR_ORDER = ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE",
             "iCR", "iPR", "iSD", "iUPD", "iCPD")
RESPONDERS = {"CR", "PR", "iCR", "iPR"}
DISEASE_CONTROL = RESPONDERS | {"SD", "non-CR/non-PD", "iSD"}
NOT_REACHED = "not reached"


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for a binomial proportion x / n.

    Example (worked by hand): x = 1, n = 2 gives the Beta(1, 2) and Beta(2, 1) quantiles,
    1 - sqrt(0.975) = 0.0126 and sqrt(0.975) = 0.9874. NaN for n = 0.
    """
    from scipy.stats import beta

    if n <= 0:
        return math.nan, math.nan
    if not 0 <= x <= n:
        raise ValueError(f"need 0 <= x <= n, got x={x}, n={n}")
    alpha = 1 - level
    lower = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lower, upper


def _categories(values) -> list[str]:
    present = list(dict.fromkeys(values))
    return [c for c in BOR_ORDER if c in present] + sorted(set(present) - set(BOR_ORDER))


def bor_table(bor: pd.DataFrame) -> pd.DataFrame:
    """Subjects per best overall response, per criteria and confirmation:
    ``criteria, confirmed, bor, subjects, percent`` (percent of that criteria's subjects,
    one decimal)."""
    rows = []
    for (criteria, confirmed), group in bor.groupby(["criteria", "confirmed"], sort=True):
        n = group["subject"].nunique()
        counts = group["bor"].value_counts()
        for category in _categories(group["bor"]):
            k = int(counts[category])
            rows.append(dict(criteria=criteria, confirmed=bool(confirmed), bor=category,
                             subjects=k, percent=round(100 * k / n, 1)))
    return pd.DataFrame(rows, columns=["criteria", "confirmed", "bor", "subjects", "percent"])


def response_rates(bor: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """ORR and DCR with exact CIs per criteria, unconfirmed and confirmed.

    Columns ``criteria, confirmed, rate, subjects, n, percent, ci_low_pct, ci_high_pct``
    (percentages to one decimal). ``n`` counts the subjects assessed under that criteria.
    """
    rows = []
    for (criteria, confirmed), group in bor.groupby(["criteria", "confirmed"], sort=True):
        n = int(group["subject"].nunique())
        for rate, wanted in (("ORR", RESPONDERS), ("DCR", DISEASE_CONTROL)):
            k = int(group.loc[group["bor"].isin(wanted), "subject"].nunique())
            lo, hi = clopper_pearson(k, n, level)
            rows.append(dict(criteria=criteria, confirmed=bool(confirmed), rate=rate,
                             subjects=k, n=n, percent=round(100 * k / n, 1),
                             ci_low_pct=round(100 * lo, 1), ci_high_pct=round(100 * hi, 1)))
    return pd.DataFrame(rows, columns=["criteria", "confirmed", "rate", "subjects", "n",
                                       "percent", "ci_low_pct", "ci_high_pct"])


# ------------------------------------------------------------------ Kaplan-Meier


def kaplan_meier(times, events, level: float = 0.95) -> dict:
    """Kaplan-Meier estimate with lifelines.

    Returns ``curve`` (``time, at_risk, events, censored, survival, ci_low, ci_high``, one
    row per distinct time from 0), ``median``, ``median_ci`` (low, high; ``inf`` when the
    band never reaches 0.5), ``n`` and ``events``. See the module docstring for the method.
    """
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    times = pd.Series(times, dtype="float64").reset_index(drop=True)
    events = pd.Series(events, dtype=bool).reset_index(drop=True)
    if times.empty:
        empty = pd.DataFrame(columns=["time", "at_risk", "events", "censored", "survival",
                                      "ci_low", "ci_high"])
        return dict(curve=empty, median=math.nan, median_ci=(math.nan, math.nan), n=0,
                    events=0)
    fitter = KaplanMeierFitter(alpha=1 - level).fit(times, events)
    table = fitter.event_table
    band = fitter.confidence_interval_
    curve = pd.DataFrame({
        "time": table.index.to_numpy(dtype="float64"),
        "at_risk": table["at_risk"].to_numpy(dtype="int64"),
        "events": table["observed"].to_numpy(dtype="int64"),
        "censored": table["censored"].to_numpy(dtype="int64"),
        "survival": fitter.survival_function_.iloc[:, 0].to_numpy(dtype="float64"),
        "ci_low": band.iloc[:, 0].to_numpy(dtype="float64"),
        "ci_high": band.iloc[:, 1].to_numpy(dtype="float64"),
    }).round({"survival": 4, "ci_low": 4, "ci_high": 4})
    ci = median_survival_times(band)
    return dict(curve=curve, median=float(fitter.median_survival_time_),
                median_ci=(float(ci.iloc[0, 0]), float(ci.iloc[0, 1])), n=len(times),
                events=int(events.sum()))


def at_risk(times, ticks) -> list[int]:
    """Subjects still at risk at each tick: those whose time is >= the tick."""
    values = np.asarray(pd.Series(times, dtype="float64"))
    return [int((values >= t).sum()) for t in ticks]


def _days(value: float) -> str:
    if math.isnan(value):
        return ""
    return NOT_REACHED if math.isinf(value) else f"{value:g}"


def endpoint_summary(endpoints: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per criteria and endpoint (PFS, DOR, TTR): subjects, events, KM median (days) and its
    CI as text (``not reached`` for an infinite bound)."""
    rows = []
    for (criteria, endpoint), group in endpoints.groupby(["criteria", "endpoint"], sort=True):
        fit = kaplan_meier(group["time_days"], group["event"], level)
        rows.append(dict(criteria=criteria, endpoint=endpoint, subjects=fit["n"],
                         events=fit["events"], median_days=_days(fit["median"]),
                         ci_low_days=_days(fit["median_ci"][0]),
                         ci_high_days=_days(fit["median_ci"][1])))
    return pd.DataFrame(rows, columns=["criteria", "endpoint", "subjects", "events",
                                       "median_days", "ci_low_days", "ci_high_days"])


# ------------------------------------------------------------------ plot tables


def waterfall_table(best_change: pd.DataFrame, bor: pd.DataFrame, criteria: str,
                    confirmed: bool = False) -> pd.DataFrame:
    """One bar per subject with a measured follow-up up to its first progression
    (:func:`casekit.derive.best_change`): ``subject, best_change_pct, bor,
    pd_despite_shrinkage``, largest increase first (the waterfall's order); ties by subject."""
    best = best_change[(best_change["criteria"] == criteria)
                       & best_change["best_change_pct"].notna()]
    calls = bor[(bor["criteria"] == criteria) & (bor["confirmed"] == confirmed)]
    out = best[["subject", "best_change_pct", "pd_despite_shrinkage"]].merge(
        calls[["subject", "bor"]], on="subject", how="left")
    out["bor"] = out["bor"].fillna("NE")
    out = out[["subject", "best_change_pct", "bor", "pd_despite_shrinkage"]]
    return out.sort_values(["best_change_pct", "subject"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def swimmer_table(subjects: pd.DataFrame, endpoints: pd.DataFrame, criteria: str,
                  response: pd.DataFrame | None = None) -> pd.DataFrame:
    """One lane per subject assessed under ``criteria``.

    ``end_day``: the last day the case records (end of follow-up, from day 0);
    ``response_day``: first CR/PR (TTR event); ``response_end_day``: the end of that
    response (the DOR row's end: progression, death or its censoring);
    ``progression_day``: the first progression (the PFS event when it is a progression,
    so one per subject; under iRECIST, with ``response``, the first iCPD, the day the
    progression was confirmed); ``iupd_day``: the first iUPD (iRECIST, from ``response``); ``censored_day``: PFS censoring; ``death_day`` from the timeline;
    ``no_follow_up``: no adequate assessment after baseline (PFS censored at the start);
    ``ongoing``: followed up, no progression and no death recorded (drawn as an arrow).
    Longest first; ties by subject.
    """
    ends = endpoints[endpoints["criteria"] == criteria]

    def day_of(endpoint: str, event: bool | None, reason: str | None = None) -> pd.Series:
        rows = ends[ends["endpoint"] == endpoint]
        if event is not None:
            rows = rows[rows["event"] == event]
        if reason is not None:
            rows = rows[rows["end_reason"] == reason]
        return rows.set_index("subject")["end_day"]

    out = subjects.loc[subjects["subject"].isin(set(ends["subject"])),
                       ["subject", "last_day", "death_day"]].rename(
        columns={"last_day": "end_day"}).reset_index(drop=True)
    out["end_day"] = out["end_day"].clip(lower=0)
    out["response_day"] = out["subject"].map(day_of("TTR", True)).astype("Int64")
    out["response_end_day"] = out["subject"].map(day_of("DOR", None)).astype("Int64")
    out["progression_day"] = out["subject"].map(day_of("PFS", True, "progression")).astype("Int64")
    iupd = pd.Series(dtype="Int64")
    if response is not None:
        calls = response[response["criteria"] == criteria].sort_values("day", kind="stable")

        def first(call: str) -> pd.Series:
            return calls[calls["overall_response"] == call].groupby("subject")["day"].first()

        iupd = first("iUPD")
        # iRECIST's PFS event is the iCPD dated back to its iUPD (Seymour 2017): the lane
        # marks the iUPD where it was seen and the progression where it was confirmed.
        icpd = first("iCPD")
        confirmed = out["subject"].map(icpd).astype("Int64")
        out["progression_day"] = confirmed.where(confirmed.notna(), out["progression_day"])
    out["iupd_day"] = out["subject"].map(iupd).astype("Int64")
    pfs_censored = day_of("PFS", False)
    start = set(ends.loc[(ends["endpoint"] == "PFS") & (ends["end_reason"] == "start"),
                         "subject"])
    out["no_follow_up"] = out["subject"].isin(start)
    out["censored_day"] = out["subject"].map(pfs_censored).astype("Int64").where(
        ~out["no_follow_up"])
    out["ongoing"] = (out["progression_day"].isna() & out["death_day"].isna()
                      & ~out["no_follow_up"])
    out = out[["subject", "end_day", "response_day", "response_end_day", "progression_day",
               "iupd_day", "censored_day", "death_day", "no_follow_up", "ongoing"]]
    return out.sort_values(["end_day", "subject"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def km_fits(endpoints: pd.DataFrame, endpoint: str, level: float = 0.95) -> dict[str, dict]:
    """:func:`kaplan_meier` of ``endpoint`` per criteria (``''`` for OS, which has none),
    in criteria order: what :func:`casekit.plot.series.kaplan_meier` draws."""
    rows = endpoints[endpoints["endpoint"] == endpoint]
    return {str(criteria): kaplan_meier(group["time_days"], group["event"], level)
            for criteria, group in rows.groupby("criteria", sort=True)}


def spider_table(response: pd.DataFrame, bor: pd.DataFrame, criteria: str,
                 confirmed: bool = False) -> pd.DataFrame:
    """``subject, day, change_pct, bor``: every assessment with a measured target sum
    under ``criteria`` (baseline at 0 %), for the spider plot."""
    rows = response[(response["criteria"] == criteria)
                       & response["target_sum_cm"].notna()].copy()
    baseline = rows["overall_response"] == ""
    rows["change_pct"] = rows["change_from_baseline_pct"].where(~baseline, 0.0)
    rows = rows[rows["change_pct"].notna()]
    calls = bor[(bor["criteria"] == criteria) & (bor["confirmed"] == confirmed)]
    out = rows[["subject", "day", "change_pct"]].merge(calls[["subject", "bor"]],
                                                       on="subject", how="left")
    out["bor"] = out["bor"].fillna("NE")
    return out.sort_values(["subject", "day"], kind="stable").reset_index(drop=True)


def marker_summary(markers: pd.DataFrame) -> pd.DataFrame:
    """Per test: subjects with values, median first value, and the number of subjects whose
    lowest later value fell >= 50 % below their first (a common marker-response cut-off in
    HCC, e.g. Riaz A et al., J Clin Oncol 2009;27:5734-5742)."""
    rows = []
    markers = markers[markers["kind"] == "tumour marker"]  # viral loads are not serum markers
    for test, group in markers.groupby("test", sort=True):
        firsts = group.sort_values("day", kind="stable").groupby("subject").first()
        follow = group[group["change_from_reference_pct"].notna()]
        best = follow.groupby("subject")["change_from_reference_pct"].min()
        units = sorted(set(group["unit"]))
        rows.append(dict(test=test, unit=";".join(units), subjects=len(firsts),
                         median_first_value=float(firsts["value"].median()),
                         with_follow_up=int((group.groupby("subject").size() > 1).sum()),
                         decline_ge_50pct=int((best <= -50).sum())))
    return pd.DataFrame(rows, columns=["test", "unit", "subjects", "median_first_value",
                                       "with_follow_up", "decline_ge_50pct"])
