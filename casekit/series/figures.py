"""The series' figures from its tables, by name: what the series notebooks draw and save
and what ``series.html`` captions, from one place.

:data:`FIGURES` lists each figure's file stem and title in reading order; :func:`draw`
builds it from the series tables (:mod:`casekit.series.stats` for the plotted table,
:mod:`casekit.plot.series` for the drawing), :func:`caption` says what it shows, for how
many subjects and under which criteria (:mod:`casekit.series.findings`), and
:func:`save_all` writes every one of them (PNG and SVG, byte-identical run to run).
"""

from __future__ import annotations

from pathlib import Path

from casekit.plot import figures as house
from casekit.plot import series as draw_series
from casekit.plot.figures import criteria_name
from casekit.series import findings, stats

#: stem -> title, in reading order.
FIGURES = {
    "series_waterfall": "Waterfall: best change of the target sum",
    "series_spider": "Spider: target-sum change over time",
    "series_swimmer": "Swimmer: time on study",
    "series_km_pfs": "Progression-free survival (Kaplan-Meier)",
    "series_km_os": "Overall survival (Kaplan-Meier)",
    "series_km_dor": "Duration of response (Kaplan-Meier)",
}


def draw(tables, stem: str, criteria: str = "RECIST1.1", unit: str = "months"):
    """The figure ``stem`` of :data:`FIGURES` (waterfall, spider and swimmer under
    ``criteria``; the Kaplan-Meier figures per criteria); time in ``unit``."""
    title = criteria_name(criteria)
    if stem == "series_waterfall":
        return draw_series.waterfall(
            stats.waterfall_table(tables["best_change"], tables["bor"], criteria), title=title)
    if stem == "series_spider":
        return draw_series.spider(
            stats.spider_table(tables["response"], tables["bor"], criteria), title=title,
            unit=unit)
    if stem == "series_swimmer":
        return draw_series.swimmer(
            stats.swimmer_table(tables["subjects"], tables["endpoints"], criteria,
                                tables["response"]), title=title, unit=unit)
    if stem == "series_km_pfs":
        return draw_series.kaplan_meier(stats.km_fits(tables["endpoints"], "PFS"),
                                        title="Progression-free survival", unit=unit)
    if stem == "series_km_os":
        return draw_series.kaplan_meier(stats.km_fits(tables["endpoints"], "OS"),
                                        title="Overall survival", ylabel="Alive (%)",
                                        unit=unit)
    if stem == "series_km_dor":
        return draw_series.kaplan_meier(stats.km_fits(tables["endpoints"], "DOR"),
                                        title="Duration of response",
                                        ylabel="Still responding (%)",
                                        time_from="first response", unit=unit)
    raise ValueError(f"no series figure {stem!r}; the figures are: {', '.join(FIGURES)}")


def caption(tables, stem: str, criteria: str = "RECIST1.1") -> str:
    """What figure ``stem`` draws, for how many subjects, under which criteria."""
    if stem == "series_waterfall":
        return findings.waterfall_caption(tables, criteria)
    if stem == "series_spider":
        return findings.spider_caption(tables, criteria)
    if stem == "series_swimmer":
        return findings.swimmer_caption(tables, criteria)
    endpoint = {"series_km_pfs": "PFS", "series_km_os": "OS", "series_km_dor": "DOR"}.get(stem)
    if endpoint is None:
        raise ValueError(f"no series figure {stem!r}; the figures are: {', '.join(FIGURES)}")
    return findings.km_caption(tables, endpoint)


def save(tables, stem: str, folder: str | Path, criteria: str = "RECIST1.1") -> Path:
    """Draw figure ``stem`` and write ``folder/stem.png`` and ``.svg``; the PNG's path."""
    return house.save(draw(tables, stem, criteria), folder, stem)[0]


def save_all(tables, folder: str | Path, criteria: str = "RECIST1.1") -> list[Path]:
    """Every figure of :data:`FIGURES` into ``folder``; their PNG paths."""
    return [save(tables, stem, folder, criteria) for stem in FIGURES]
