"""One case of a series, analysed in-process: validate, load, derive.

:func:`analyse_case` is the unit of work that the series fans out (on Dask workers or in
this process); it never raises: a case that does not validate comes back ``invalid`` with
its problems, one that breaks a rule's assumptions comes back ``failed`` with the error,
so one bad case never stops the others.

What a case contributes is exactly what its own run derives
(:func:`casekit.derive.derive_case`, with the options resolved from the case and the
series' parameters by :func:`casekit.derive.resolve_options`): the series' per-subject
tables are the case's tables with a ``subject`` column (the case folder's name) in front,
concatenated once for the whole series by :func:`casekit.series.tables.combine`. The
recorded-vs-recomputed visits of the concordance
(:func:`casekit.interop.concordance.case_visits`) are read from the same derived calls,
so the series notebooks never reload a case.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from casekit.derive import OPTIONS as DERIVE_OPTIONS

#: The analysis options ``casekit series -p`` may set (a subset of
#: :data:`casekit.derive.OPTIONS`): name -> (default, what it means).
OPTIONS = {name: (default, text) for name, (default, _, text) in DERIVE_OPTIONS.items()
           if name in ("count_suspected", "confirm_days", "min_sd_days")}


@dataclass
class CaseAnalysis:
    """What became of one case: ``status`` is ``ok``, ``invalid``, ``failed`` or
    ``not_imported`` (a subject the SDTM import skipped, with its reason in ``error``)."""

    subject: str
    case_dir: str
    status: str
    problems: list[str] = field(default_factory=list)
    error: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def reason(self) -> str:
        """One line: why the case was left out ('' when it is in)."""
        if self.status == "invalid":
            more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            return f"invalid: {self.problems[0]}{more}" if self.problems else "invalid"
        if self.status == "failed":
            return f"failed: {self.error}"
        return self.error if self.status == "not_imported" else ""


def options_with_defaults(options: dict | None) -> dict:
    """The analysis options, defaults filled in; unknown names are a ValueError."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ValueError(f"unknown series parameter(s) {', '.join(unknown)}; known: "
                         f"{', '.join(OPTIONS)}")
    return {name: options.get(name, default) for name, (default, _) in OPTIONS.items()}


def _with_subject(frame: pd.DataFrame, subject: str) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    out.insert(0, "subject", subject)
    return out


def _analyse(case, subject: str, options: dict) -> dict[str, pd.DataFrame]:
    from casekit.derive import derive_case, resolve_options
    from casekit.interop.concordance import case_visits

    derived = derive_case(case, resolve_options(case, options))
    visits = [case_visits(case, criteria, derived.response)
              for criteria in ("RECIST1.1", "iRECIST") if criteria in derived.options.criteria]
    visits = [v for v in visits if len(v)]
    return {
        "subjects": _with_subject(derived.table("subject"), subject),
        "response": _with_subject(derived.table("response"), subject),
        "bor": _with_subject(derived.table("bor"), subject),
        "best_change": _with_subject(derived.table("best_change"), subject),
        "endpoints": _with_subject(derived.table("endpoints"), subject),
        "markers": _with_subject(derived.table("markers"), subject),
        "concordance": (pd.concat(visits, ignore_index=True) if visits
                        else pd.DataFrame()),
    }


def analyse_case(case_dir: str | Path, subject: str | None = None,
                 options: dict | None = None) -> CaseAnalysis:
    """Validate, load and analyse one case folder; never raises (see the module docstring).

    ``subject`` defaults to the folder's name; ``options`` are :data:`OPTIONS`.
    """
    from casekit.case import CaseError, load_case

    start = time.perf_counter()
    subject = subject or Path(case_dir).name
    result = CaseAnalysis(subject, str(case_dir), "ok")
    try:
        opts = options_with_defaults(options)
        case = load_case(case_dir)  # validates first: one pass over the files
        result.tables = _analyse(case, subject, opts)
    except CaseError as exc:
        result.status, result.problems = "invalid", [str(p) for p in exc.problems]
    except Exception as exc:  # a rule's assumption broken by this case: report, go on
        text = " ".join(str(exc).split())
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    result.seconds = time.perf_counter() - start
    return result


def analyse_cases(cases: list[tuple[str, str]], options: dict | None = None) -> list[CaseAnalysis]:
    """:func:`analyse_case` for each ``(case_dir, subject)``: one task of a few cases costs
    the cluster one scheduling round trip instead of one per case."""
    return [analyse_case(case_dir, subject, options) for case_dir, subject in cases]
