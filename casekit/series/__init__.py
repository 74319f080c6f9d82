"""The series layer: many case folders analysed as one cohort (issue 13).

``analyse`` (one case, in-process: the unit of work), ``tables`` (the series tables,
combined once and read back canonically), ``stats`` (BOR, ORR/DCR with exact CIs,
Kaplan-Meier with lifelines, the plot tables), ``run`` (``casekit series`` on Dask) and
``report`` (``series.html``). Figures are in :mod:`casekit.plot.series`.

:func:`load` is what the series notebooks call: the tables ``casekit series`` wrote, or,
without them, the cases analysed here in this process (a small series needs no cluster).
"""

from __future__ import annotations

from pathlib import Path

from casekit.series.analyse import OPTIONS, analyse_case
from casekit.series.tables import SeriesTables, combine

__all__ = ["OPTIONS", "SeriesTables", "analyse_case", "combine", "load", "output_dirs",
           "recorded_vs_recomputed", "split_cases"]


def split_cases(cases: str | list) -> list[str]:
    """``"a;b"`` (a notebook parameter) or a list -> case folders."""
    items = cases.split(";") if isinstance(cases, str) else list(cases)
    return [str(c).strip() for c in items if str(c).strip()]


def load(tables_dir: str | Path | None = None, cases: str | list = "",
         **options) -> SeriesTables:
    """The series' tables: read from ``tables_dir`` (``OUT/tables`` of ``casekit series``)
    when given, else ``cases`` analysed in this process with ``options``."""
    if tables_dir is not None:
        return SeriesTables.read(tables_dir)
    folders = split_cases(cases)
    return combine(analyse_case(folder, Path(folder).name, options) for folder in folders)


def output_dirs(out_dir: str | Path | None) -> tuple[Path, Path]:
    """``figures/`` and ``tables/`` of a series (created); ``None`` means
    ``../../build/interactive/series``, the repository's build/ seen from
    ``notebooks/series/``: a notebook run by hand (JupyterLab, ``make notebooks``) never
    writes into a ``casekit series`` output folder such as ``build/series``."""
    from casekit.outputs import output_dirs as _dirs

    return _dirs(out_dir if out_dir is not None else Path("..") / ".." / "build" / "interactive" / "series",
                 "series")


def recorded_vs_recomputed(response):
    """Every call a case records (responses.csv) beside the recomputed one, with
    ``agrees``."""
    rows = response[response["reported_response"] != ""]
    out = rows[["subject", "event_id", "criteria", "day", "overall_response",
                "reported_response"]].reset_index(drop=True)
    return out.assign(agrees=out["overall_response"] == out["reported_response"])
