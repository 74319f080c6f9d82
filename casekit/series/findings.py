"""What a series shows, in sentences computed from its tables (never typed in): the findings
``series.html`` opens with, and the captions of its figures.

Every number comes from the series tables (:mod:`casekit.series.tables`) through the same
functions the series notebooks use (:mod:`casekit.series.stats`,
:func:`casekit.interop.concordance.summarise`), so the page and the notebooks cannot
disagree. Numbers are written one way throughout: counts with thousands separators,
percentages and months to one decimal, confidence intervals as "95 % CI low–high".

References: ORR/DCR and the exact CI as in :mod:`casekit.series.stats` (Eisenhauer 2009
§4.4.3; Clopper & Pearson 1934); Kaplan-Meier medians with the Brookmeyer & Crowley (1982)
interval; agreement and Cohen's kappa as in :mod:`casekit.interop.concordance`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from casekit.case.overview import plural
from casekit.plot.figures import criteria_name
from casekit.plot.series import DAYS_PER_MONTH, SWIMMER_MAX_LANES, WATERFALL_CAP_PCT
from casekit.series import stats

#: Endpoints as a reader names them, in the order the findings give them.
ENDPOINT_NAMES = {"PFS": "progression-free survival", "OS": "overall survival",
                  "DOR": "duration of response"}

#: Where time 0 of each endpoint is: a subject censored there adds nothing to its curve.
START = {"PFS": "day 0", "OS": "day 0", "DOR": "their first response", "TTR": "day 0"}


@dataclass
class Finding:
    """One block of the findings: a heading and its sentences."""

    heading: str
    lines: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ numbers


def count(n: int) -> str:
    return f"{int(n):,}"


def pct(value: float) -> str:
    """``26.8 %`` (one decimal, as :func:`casekit.series.stats.response_rates` rounds)."""
    return f"{value:.1f} %".replace("-", "\u2212")


def months(days: float) -> str:
    """Days as months to one decimal; ``not reached`` for an infinite time."""
    if math.isinf(days):
        return stats.NOT_REACHED
    return f"{days / DAYS_PER_MONTH:.1f}"


def _name(criteria: str, lower: bool = False) -> str:
    return criteria_name(criteria) if criteria else ("all" if lower else "All") + " subjects"


def _at_start(endpoints: pd.DataFrame, endpoint: str, criteria: str) -> int:
    """Subjects censored at day 0 (nothing after the start): they add nothing to a curve."""
    rows = endpoints[(endpoints["endpoint"] == endpoint) & (endpoints["criteria"] == criteria)]
    return int(((~rows["event"]) & (rows["time_days"] == 0)).sum())


# ------------------------------------------------------------------ findings


def _cohort(tables) -> Finding:
    subjects, excluded = tables["subjects"], tables["excluded"]
    block = Finding("Subjects")
    text = f"{plural(len(subjects), 'subject')} analysed"
    if excluded.empty:
        text += "; no case folder left out."
    else:
        by = excluded.assign(why=excluded["status"].str.replace("_", " ")).groupby("why").size()
        text += (f"; {count(len(excluded))} left out ("
                 + ", ".join(f"{count(k)} {why}" for why, k in by.items())
                 + "), each listed with its reason under Cases left out.")
    block.lines.append(text)
    counts: dict[str, int] = {}
    for names in subjects["criteria"]:
        for name in filter(None, str(names).split(";")):
            counts[name] = counts.get(name, 0) + 1
    if counts:
        block.lines.append("Criteria that apply: " + ", ".join(
            f"{criteria_name(c)} to {count(k)}" for c, k in counts.items()) + ".")
    pfs = tables["endpoints"]
    start = pfs[(pfs["endpoint"] == "PFS") & (pfs["end_reason"] == "start")]
    if len(start):
        block.lines.append(
            f"{plural(start['subject'].nunique(), 'subject')} have no follow-up scan after "
            "baseline: they count in every denominator (best overall response NE) and are "
            "censored at day 0, so they add nothing to a Kaplan-Meier estimate.")
    return block


def _responses(tables) -> Finding:
    block = Finding("Response (best overall response, exact 95 % CI)")
    rates = stats.response_rates(tables["bor"])
    if rates.empty:
        block.lines.append("No subject has a best overall response.")
        return block
    for criteria, group in rates.groupby("criteria", sort=True):
        parts = []
        for rate in ("ORR", "DCR"):
            rows = group[group["rate"] == rate].set_index("confirmed")
            said = []
            for confirmed in (False, True):
                if confirmed not in rows.index:
                    continue
                r = rows.loc[confirmed]
                said.append(f"{'confirmed ' if confirmed else ''}{pct(r['percent'])} "
                            f"({count(r['subjects'])}/{count(r['n'])}; 95 % CI "
                            f"{r['ci_low_pct']:.1f}\u2013{r['ci_high_pct']:.1f} %)")
            parts.append(f"{rate} " + ", ".join(said))
        n = int(group["n"].iloc[0])
        block.lines.append(f"{criteria_name(criteria)} (n = {count(n)}): " + "; ".join(parts)
                           + ".")
    return block


def _medians(tables) -> Finding:
    block = Finding("Time to event (Kaplan-Meier median, 95 % CI)")
    summary = stats.endpoint_summary(tables["endpoints"])
    for endpoint, name in ENDPOINT_NAMES.items():
        for i, row in enumerate(summary[summary["endpoint"] == endpoint].itertuples(index=False)):
            fit = stats.kaplan_meier(*_times(tables["endpoints"], endpoint, row.criteria))
            lo, hi = fit["median_ci"]
            median = fit["median"]
            said = f"{endpoint} ({name})" if i == 0 else endpoint
            text = (f"{said}, {_name(row.criteria, lower=True)}: median "
                    + (f"{months(median)} months" if math.isfinite(median)
                       else stats.NOT_REACHED)
                    + f" (95 % CI {months(lo)}\u2013{months(hi)}); "
                    f"{plural(row.events, 'event')} in {plural(row.subjects, 'subject')}")
            zero = _at_start(tables["endpoints"], endpoint, row.criteria)
            if zero:
                text += f" ({count(zero)} censored at {START[endpoint]})"
            block.lines.append(text + ".")
    if not block.lines:
        block.lines.append("No subject has a time-to-event endpoint.")
    return block


def _times(endpoints: pd.DataFrame, endpoint: str, criteria: str):
    rows = endpoints[(endpoints["endpoint"] == endpoint) & (endpoints["criteria"] == criteria)]
    return rows["time_days"], rows["event"]


def concordance_rows(tables) -> pd.DataFrame:
    """:func:`casekit.interop.concordance.summarise`'s summary for every criteria with
    recorded calls, one row per criteria and evaluator."""
    from casekit.interop import concordance

    visits = tables["concordance"]
    frames = [concordance.summarise(visits, c)["summary"]
              for c in sorted(set(visits["criteria"])) if c]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def concordance_rules(tables) -> pd.DataFrame:
    """Per criteria and evaluator, each rule that explains differing visits (or the
    unexplained ones), with its meaning (:func:`casekit.interop.concordance.summarise`)."""
    from casekit.interop import concordance

    visits = tables["concordance"]
    frames = []
    for criteria in sorted(c for c in set(visits["criteria"]) if c):
        rules = concordance.summarise(visits, criteria)["rules"]
        frames.append(rules.assign(criteria=criteria))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["criteria", "evaluator", "rule", "visits", "meaning"])
    return pd.concat(frames, ignore_index=True)[["criteria", "evaluator", "rule", "visits",
                                                 "meaning"]]


def _concordance(tables) -> Finding:
    block = Finding("Recorded vs recomputed calls")
    summary = concordance_rows(tables)
    if summary.empty:
        block.lines.append("No case records its own response calls, so there is nothing to "
                           "compare.")
        return block
    for row in summary.itertuples(index=False):
        text = (f"{criteria_name(row.criteria)}, {str(row.evaluator).lower()}: "
                f"{count(row.agree)} of {count(row.visits)} recorded visit calls "
                f"({pct(row.agreement_pct)}) agree with the recomputed ones "
                f"(Cohen's \u03ba {row.kappa:.2f}; {plural(row.subjects, 'subject')})")
        if row.discordant:
            explained = row.discordant - row.unexplained
            text += (f"; of the {count(row.discordant)} that differ, {count(explained)} "
                     "are explained by a named recording rule")
            if row.unexplained:
                text += f" and {count(row.unexplained)} are not"
        block.lines.append(text + ".")
    return block


def _markers(tables) -> Finding:
    block = Finding("Markers")
    markers = tables["markers"]
    summary = stats.marker_summary(markers)
    for row in summary.itertuples(index=False):
        block.lines.append(
            f"{row.test}: measured in {plural(row.subjects, 'subject')}, "
            f"{count(row.with_follow_up)} with a later value; {count(row.decline_ge_50pct)} "
            "fell at least 50 % below their first value.")
    viral = markers[markers["kind"] == "viral load"]
    for test, group in viral.groupby("test", sort=True):
        block.lines.append(f"{test} (viral load): measured in "
                           f"{plural(group['subject'].nunique(), 'subject')}.")
    if not block.lines:
        block.lines.append("No subject in this series has tumour markers or viral loads.")
    return block


def findings(tables) -> list[Finding]:
    """The findings of a series, in reading order: who, response rates, time to event,
    agreement with the recorded calls, markers."""
    return [_cohort(tables), _responses(tables), _medians(tables), _concordance(tables),
            _markers(tables)]


# ------------------------------------------------------------------ captions


def _assessed(tables, criteria: str) -> int:
    bor = tables["bor"]
    return int(bor.loc[bor["criteria"] == criteria, "subject"].nunique())


def waterfall_caption(tables, criteria: str, confirmed: bool = False) -> str:
    """What the waterfall draws, for how many of the subjects, and why the rest are not."""
    table = stats.waterfall_table(tables["best_change"], tables["bor"], criteria, confirmed)
    n, assessed = len(table), _assessed(tables, criteria)
    text = (f"Best change of the sum of target diameters from baseline, up to and including "
            f"the first progression, one bar per subject: {count(n)} of the {count(assessed)} "
            f"subjects assessed under {criteria_name(criteria)}")
    text += (f" (the other {count(assessed - n)} have no measured target sum after baseline "
             "up to their first progression, so no bar)." if assessed > n else ".")
    text += (f" Bars are coloured by the {'confirmed' if confirmed else 'unconfirmed'} best "
             "overall response; dashed lines at \u221230 % (partial response) and +20 % "
             "(progression).")
    capped = int((table["best_change_pct"] > WATERFALL_CAP_PCT).sum())
    if capped:
        text += (f" {plural(capped, 'bar')} above +{WATERFALL_CAP_PCT:g} % "
                 f"{'is' if capped == 1 else 'are'} capped there, with the value written.")
    despite = int(table["pd_despite_shrinkage"].astype(bool).sum())
    if despite:
        text += (f" \u25bc: {plural(despite, 'subject')} progressed by non-target or new "
                 "lesions although the target sum shrank.")
    return text


def spider_caption(tables, criteria: str) -> str:
    table = stats.spider_table(tables["response"], tables["bor"], criteria)
    return (f"Change of the sum of target diameters from baseline at every assessment, one "
            f"line per subject ({count(table['subject'].nunique())} subjects with a measured "
            f"target sum under {criteria_name(criteria)}), in months from day 0, coloured by "
            "best overall response; dashed lines at \u221230 % and +20 %.")


def swimmer_caption(tables, criteria: str) -> str:
    table = stats.swimmer_table(tables["subjects"], tables["endpoints"], criteria,
                                tables["response"])
    n = len(table)
    responders = int(table["response_day"].notna().sum())
    text = (f"Time on study of the {count(n)} subjects assessed under "
            f"{criteria_name(criteria)}, longest at the top, in months from day 0. Blue "
            f"segment: duration of response ({plural(responders, 'responder')}); "
            f"\u25b2 first CR/PR; \u2716 first progression only"
            f"{' (iCPD: confirmed)' if criteria == 'iRECIST' else ''} "
            f"({count(table['progression_day'].notna().sum())} subjects); | censoring of "
            f"progression-free survival; \u25a0 death ({count(table['death_day'].notna().sum())}); "
            "\u2192 followed up without progression or death.")
    if table["iupd_day"].notna().any():
        text += f" \u271a first iUPD ({count(table['iupd_day'].notna().sum())})."
    none = int(table["no_follow_up"].sum())
    if none:
        text += (f" \u25cb {plural(none, 'subject')} without any follow-up scan after "
                 "baseline (censored at day 0), drawn at the bottom.")
    if n > SWIMMER_MAX_LANES:
        text += (f" Only the {count(SWIMMER_MAX_LANES)} longest on study are drawn; the "
                 f"line under the plot summarises the other {count(n - SWIMMER_MAX_LANES)}.")
    return text


def km_caption(tables, endpoint: str) -> str:
    """The Kaplan-Meier figure of ``endpoint``: groups, their sizes and events, and whether
    they are different populations (then drawn in panels of their own)."""
    fits = stats.km_fits(tables["endpoints"], endpoint)
    what = {"PFS": "progression-free survival (progression or death)",
            "OS": "overall survival (death from any cause)",
            "DOR": "duration of response (responders, from the first CR/PR to progression "
                   "or death)"}.get(endpoint, endpoint)
    groups = "; ".join(f"{_name(c)}: {plural(f['n'], 'subject')}, "
                       f"{plural(f['events'], 'event')}"
                       + (f", {count(z)} censored at day 0"
                          if (z := _at_start(tables["endpoints"], endpoint, c)) else "")
                       .replace("day 0", START.get(endpoint, "day 0"))
                       for c, f in fits.items())
    text = (f"Kaplan-Meier estimate of {what}, in months, with its pointwise 95 % band, "
            "censoring ticks and the median as dotted drop lines; under each plot the number "
            f"at risk, censored and with an event at each tick. {groups or 'No subjects'}.")
    if len({f["n"] for f in fits.values()}) > 1:
        text += (" The groups are different populations, so each has its own panel; their "
                 "curves are not a comparison.")
    return text
