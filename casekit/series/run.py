"""``python -m casekit series``: many case folders analysed as one cohort, on Dask.

:func:`run_series`

1. finds the case folders (``--cases`` names them, ``--series`` takes every sub-folder
   of a folder that holds CSV files, and with neither the default series is imported
   from the vendored SDTM data by ``casekit.interop.sdtm``);
2. fans the per-case work (:func:`casekit.series.analyse.analyse_case`: validate, load,
   response per applicable criteria, endpoints, best change, markers) out over a Dask
   ``distributed`` cluster: a ``LocalCluster`` of one single-threaded worker process per
   CPU by default, or the existing cluster whose scheduler ``--scheduler`` names. The
   results are combined in subject order, so the tables are byte-identical whichever
   cluster ran them and in whatever order the cases finished;
3. writes ``OUT/tables/*.csv`` (:mod:`casekit.series.tables`), optionally runs ``casekit
   run`` for every valid case through the same cluster (``--per-case-reports``, into
   ``OUT/cases/<subject>/``), executes the series notebooks (``notebooks/series/``) on the
   cluster with ``tables_dir`` pointing at those tables, and writes ``OUT/series.html``.

``OUT`` follows the rules of :mod:`casekit.owned`: it is locked while the series runs (a
second command into it exits 2), it must be new, empty or a folder a series run wrote
(one left by a killed series is taken over); a re-run replaces only the files the last one recorded (tables/,
figures/, notebooks/, series.html), unchanged, and refuses a file of the user's there.

A case that does not validate is listed with its problems and left out; a case that fails
is listed with its error; neither stops the others. The exit code is 0 when every case
and notebook went through, 1 when any case was left out or anything failed, 2 for bad
input (nothing is analysed). With ``--scheduler`` the workers must see the case folders
and ``OUT`` at the same paths (a shared file system), as for any Dask cluster reading
files.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casekit.series.analyse import OPTIONS, CaseAnalysis, analyse_cases

REPO_DIR = Path(__file__).resolve().parents[2]
SERIES_NOTEBOOKS_DIR = REPO_DIR / "notebooks" / "series"
DEFAULT_SDTM_DIR = REPO_DIR / "data" / "external" / "pharmaversesdtm"
#: Every parameter ``-p`` may set: the analysis options and what the notebooks add.
PARAMETERS = {**OPTIONS,
              "primary_criteria": ("RECIST1.1", "criteria of the waterfall, swimmer, spider "
                                                "and Kaplan-Meier figures")}
#: What a series run writes itself in OUT (the notebooks write figures/); recorded in
#: OUT/.casekit/owned.json (casekit.owned). OUT/sdtm-cases (the default series' import) and
#: OUT/cases/<subject> (--per-case-reports) are output folders of import-sdtm and run.
OWN = ("tables", "figures", "notebooks", "series.html")
#: Most cases per task: enough to amortise a scheduling round trip, few enough that the
#: cluster stays balanced (a series is split into about four tasks per worker).
CHUNK_MOST = 16


class SeriesInputError(ValueError):
    """Bad input to a series (folders, parameters, scheduler): exit 2, no traceback."""


@dataclass
class SeriesResult:
    out_dir: Path
    analyses: list[CaseAnalysis] = field(default_factory=list)
    notebooks: list = field(default_factory=list)  # runner.NotebookResult
    reports: dict[str, str] = field(default_factory=dict)  # subject -> '' or the error
    html: Path | None = None
    seconds: float = 0.0
    #: wall seconds per stage: cluster (start-up), analysis (cases fanned out and
    #: gathered), tables (combined and written), reports, notebooks
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def left_out(self) -> list[CaseAnalysis]:
        return [a for a in self.analyses if a.status != "ok"]

    @property
    def failures(self) -> list[str]:
        # Subjects the SDTM import skipped (no baseline, ...) are listed, not failures.
        lines = [f"{a.subject}: {a.reason}" for a in self.left_out
                 if a.status in ("invalid", "failed")]
        lines += [f"{s}: per-case report failed: {e}" for s, e in sorted(self.reports.items())
                  if e]
        lines += [r.failure_line for r in self.notebooks if not r.ok]
        return lines

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


# ------------------------------------------------------------------ the cases


def _case_folders_under(folder: Path) -> tuple[list[Path], list[str]]:
    """Sub-folders holding CSV files (candidates, validated later) and the names of the
    sub-folders passed over (no CSV file at all), so that nothing is dropped silently."""
    cases, passed = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if any(sub.glob("*.csv")):
            cases.append(sub)
        else:
            passed.append(sub.name)
    return cases, passed


def find_cases(cases: list[str] | None = None, series: str | None = None,
               echo: Callable[[str], None] = print) -> list[tuple[str, Path]]:
    """``(subject, folder)`` for every case, sorted by subject (the folder's name)."""
    if series is not None:
        root = Path(series)
        if not root.is_dir():
            raise SeriesInputError(f"{series}: not a folder; --series takes a folder of case "
                                   "folders")
        if (root / "facts.csv").is_file():
            raise SeriesInputError(f"{series} is itself a case folder; use --cases {series}")
        folders, passed = _case_folders_under(root)
        if passed:
            echo(f"note: {len(passed)} sub-folder(s) of {series} hold no CSV file and are "
                 f"not cases: {', '.join(passed)}")
        if not folders:
            raise SeriesInputError(f"{series}: no case folders (sub-folders with CSV files)")
    else:
        folders = [Path(c) for c in cases or []]
    named: dict[str, Path] = {}
    for folder in folders:
        subject = folder.resolve().name if folder.name in ("", ".", "..") else folder.name
        if subject in named:
            raise SeriesInputError(f"two case folders are named {subject!r} ({named[subject]} "
                                   f"and {folder}); subjects are named after their folders")
        named[subject] = folder
    return sorted(named.items())


def check_case_paths(cases: list[str]) -> None:
    """Every ``--cases`` path must be a folder: checked before anything is locked, written
    or analysed, with one line per path that is not (a typo is a mistake in the command,
    not a case to leave out)."""
    lines = []
    for case in cases:
        if not case.strip():
            lines.append(f"--cases got an empty path ({case!r}: an unset shell variable?)")
        elif not os.path.lexists(case) or (os.path.islink(case) and not os.path.exists(case)):
            lines.append(f"{case}: no such case folder (given to --cases)")
        elif not os.path.isdir(case):
            lines.append(f"{case}: not a folder; --cases takes case folders")
    if lines:
        raise SeriesInputError("\n".join(lines))


def import_default_series(out: Path, sdtm_dir: Path,
                          echo: Callable[[str], None]) -> tuple[list[tuple[str, Path]],
                                                               list[CaseAnalysis]]:
    """Import the SDTM subjects into ``OUT/sdtm-cases`` (casekit.interop.sdtm, issue 12);
    subjects it skips come back as left-out analyses with its reason."""
    try:
        from casekit.interop.sdtm import import_sdtm
    except ImportError:
        raise SeriesInputError(
            "the default series is imported from SDTM by casekit.interop.sdtm, which this "
            "installation does not have (issue 12, 'CDISC SDTM in and out'); give case "
            "folders with --cases DIR [DIR ...] or --series DIR") from None
    if not Path(sdtm_dir).is_dir():
        raise SeriesInputError(f"{sdtm_dir}: SDTM folder not found")
    from casekit.interop.sdtm_read import SdtmInputError

    try:
        summary = import_sdtm(sdtm_dir, out / "sdtm-cases", echo=echo)
    except SdtmInputError as exc:  # a missing domain or variable: bad input, exit 2
        raise SeriesInputError(str(exc)) from None
    skipped = [CaseAnalysis(str(s), "", "not_imported", error=f"not imported from SDTM: {reason}")
               for s, reason in sorted(summary.skipped.items())]
    return sorted((Path(p).name, Path(p)) for p in summary.imported), skipped


def parse_series_parameters(pairs) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs, only :data:`PARAMETERS`, typed and range-checked by their
    declaration in :mod:`casekit.run.parameters` (the collection's own)."""
    from casekit.run import runner

    unknown = sorted({name for name, _ in pairs or []} - set(PARAMETERS))
    if unknown:
        raise SeriesInputError(f"unknown series parameter(s) {', '.join(unknown)}; the "
                               f"parameters are: {', '.join(PARAMETERS)}")
    try:
        return runner.parse_parameters(pairs)
    except runner.RunInputError as exc:
        raise SeriesInputError(str(exc)) from None


# ------------------------------------------------------------------ the cluster


@contextmanager
def cluster_client(scheduler: str | None = None, jobs: int | None = None) -> Iterator:
    """A ``distributed.Client``: on the scheduler at ``scheduler``, or on a LocalCluster
    of ``jobs`` single-threaded worker processes (default: one per CPU) that is shut down
    afterwards. An unreachable scheduler is a :class:`SeriesInputError`."""
    from distributed import Client, LocalCluster

    from casekit.run.runner import default_jobs

    logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SeriesInputError(f"cannot reach the Dask scheduler {scheduler}: "
                                   f"{' '.join(str(exc).split()) or type(exc).__name__}") from None
        with client:
            yield client
        return
    workers = jobs or default_jobs()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


class Progress:
    """Counts done / failed / left; a bar on a terminal, one line per case otherwise."""

    def __init__(self, total: int, what: str, echo: Callable[[str], None], tty: bool):
        self.total, self.what, self.echo, self.tty = total, what, echo, tty
        self.done = self.failed = 0

    def __call__(self, name: str, ok: bool, detail: str = "") -> None:
        self.done += ok
        self.failed += not ok
        counts = (f"{self.done} done, {self.failed} failed, "
                  f"{self.total - self.done - self.failed} left")
        if self.tty:
            n = self.done + self.failed
            bar = "#" * round(30 * n / max(self.total, 1))
            sys.stdout.write(f"\r{self.what} [{bar:<30}] {n}/{self.total}: {counts}")
            if not ok:
                sys.stdout.write(f"\n[FAIL ] {name}: {detail}\n")
            if n == self.total:
                sys.stdout.write("\n")
            sys.stdout.flush()
        else:
            tag = "[ ok  ]" if ok else "[FAIL ]"
            self.echo(f"{tag} {name}{': ' + detail if detail else ''} ({counts})")


def _gather(client, futures: dict, progress: Progress, describe) -> dict:
    """Results by key as they finish; a task whose worker died becomes its exception. A
    future mapped to a list of keys returns a list of results, one per key."""
    from distributed import as_completed

    results = {}
    for future in as_completed(list(futures)):
        keys = futures[future]
        try:
            got = future.result()
        except Exception as exc:  # the worker died or the task could not run
            got = [exc] * len(keys) if isinstance(keys, list) else exc
        for key, value in (zip(keys, got) if isinstance(keys, list) else [(keys, got)]):
            results[key] = value
            ok, detail = describe(key, value)
            progress(key, ok, detail)
    return results


def _as_given(analysis: CaseAnalysis, folder: Path) -> CaseAnalysis:
    """The analysis with the case folder written as the user gave it (idempotent)."""
    absolute = analysis.case_dir
    analysis.case_dir = str(folder)
    analysis.problems = [p.replace(absolute, str(folder).rstrip("/"), 1)
                         for p in analysis.problems]
    analysis.error = analysis.error.replace(absolute, str(folder).rstrip("/"))
    return analysis


def _describe_analysis(subject: str, result) -> tuple[bool, str]:
    if isinstance(result, Exception):
        return False, f"{type(result).__name__}: {result}"
    return result.status == "ok", result.reason


def case_report(case_dir: str, out_dir: str, parameters: dict) -> str:
    """``casekit run`` for one case in a child process (on a worker); '' or its error."""
    from casekit.run.runner import KERNEL_ENV

    cmd = [sys.executable, "-m", "casekit", "run", "--case", case_dir, "--out", out_dir,
           "--jobs", "1"]
    for name, value in parameters.items():
        cmd += ["-p", name, str(value)]
    done = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, **KERNEL_ENV})
    if done.returncode == 0:
        return ""
    lines = [x for x in (done.stdout + done.stderr).splitlines() if x.strip()]
    return f"exit {done.returncode}: {lines[-1] if lines else ''}"


def execute_notebook_quietly(path: str, out_path: str, parameters: dict, cwd: str):
    """:func:`casekit.run.runner.execute_notebook` on a worker, with the worker's stderr
    (where kernels write their start-up chatter) set aside: the result carries the error
    of a failing notebook, so the terminal shows attributed lines only."""
    import tempfile

    from casekit.run.runner import execute_notebook

    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            return execute_notebook(path, out_path, parameters, cwd)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def series_notebooks(folder: Path = SERIES_NOTEBOOKS_DIR) -> list[Path]:
    """The series collection: the folder's notebooks in name order."""
    return sorted(folder.glob("[0-9]*.ipynb"))


# ------------------------------------------------------------------ the run


def run_series(cases: list[str] | None = None, series: str | None = None,
               out_dir: str | Path = "build/series", parameters: dict | None = None,
               scheduler: str | None = None, jobs: int | None = None,
               per_case_reports: bool = False, notebooks: bool = True,
               sdtm_dir: str | Path = DEFAULT_SDTM_DIR,
               echo: Callable[[str], None] = print, tty: bool | None = None) -> SeriesResult:
    """Analyse a series into ``out_dir`` (see the module docstring).

    ``parameters`` are typed values of :data:`PARAMETERS`; ``notebooks=False`` skips the
    series notebooks and ``series.html`` (tables only). Raises :class:`SeriesInputError`
    for bad input before anything is analysed.
    """
    start = time.perf_counter()
    tty = sys.stdout.isatty() if tty is None else tty
    params = dict(parameters or {})
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise SeriesInputError(f"unknown series parameter(s) {', '.join(unknown)}")
    if jobs is not None and jobs < 1:
        raise SeriesInputError(f"--jobs must be at least 1, not {jobs}")
    if scheduler and jobs:
        raise SeriesInputError("--jobs sizes the local cluster; with --scheduler the "
                               "cluster's own workers run the cases")
    from casekit.owned import OutFolderRefused, OwnedFolder

    check_case_paths(cases or [])
    default = cases is None and series is None
    inputs = [(c, "a case folder") for c in cases or []]
    inputs += [(series, "the series folder")] if series is not None else []
    inputs += [(sdtm_dir, "the SDTM folder")] if default else []
    try:  # OUT is locked until the run is done: a second command into it exits 2
        owned = OwnedFolder.open(out_dir, "series", inputs, echo=echo)
    except OutFolderRefused as exc:
        raise SeriesInputError(str(exc)) from None
    with owned:
        try:
            owned.claim(OWN)  # nothing of the user's where this run writes
        except OutFolderRefused as exc:
            raise SeriesInputError(str(exc)) from None
        out = owned.path
        options = {k: v for k, v in params.items() if k in OPTIONS}
        skipped: list[CaseAnalysis] = []
        if default:
            try:
                found, skipped = import_default_series(out, Path(sdtm_dir), echo)
            except OutFolderRefused as exc:  # OUT/sdtm-cases holds files of the user's
                raise SeriesInputError(str(exc)) from None
        else:
            found = find_cases(cases, series, echo)
        if not found:
            raise SeriesInputError("no cases to analyse")
        owned.remove_owned()  # the last run's files (only those, and only if unchanged)
        out.mkdir(parents=True, exist_ok=True)
        try:
            return _run_series(owned, found, skipped, params, options, scheduler, jobs,
                               per_case_reports, notebooks, echo, tty, start)
        finally:  # interrupted or not, what this run wrote is its own
            owned.record(OWN)


def _run_series(owned, found, skipped, params, options, scheduler, jobs, per_case_reports,
                notebooks, echo, tty, start) -> SeriesResult:
    from casekit.series.tables import combine

    out = owned.path
    result = SeriesResult(out)
    mark = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        result.stages[name] = round(now - mark, 3)
        mark = now

    with cluster_client(scheduler, jobs) as client:
        stage("cluster")
        workers = max(len(client.nthreads()), 1)
        echo(f"analysing {len(found)} case(s) on {workers} Dask worker(s)")
        # Workers get absolute paths (a remote worker's working folder is its own); the
        # tables and messages show the folders as they were given.
        size = max(1, min(CHUNK_MOST, len(found) // (workers * 4)))
        chunks = [[(str(Path(f).resolve()), s) for s, f in found[i:i + size]]
                  for i in range(0, len(found), size)]
        futures = {client.submit(analyse_cases, chunk, options, pure=False):
                   [s for _, s in chunk] for chunk in chunks}
        given = dict(found)
        done = _gather(client, futures, Progress(len(found), "cases", echo, tty),
                       lambda s, r: _describe_analysis(
                           s, r if isinstance(r, Exception) else _as_given(r, given[s])))
        for subject, folder in found:
            got = done[subject]
            if isinstance(got, Exception):
                got = CaseAnalysis(subject, str(folder), "failed",
                                   error=f"{type(got).__name__}: {got}")
            else:
                got = _as_given(got, folder)
            result.analyses.append(got)
        stage("analysis")
        result.analyses += skipped
        tables = combine(result.analyses)
        tables.write(out / "tables")
        stage("tables")
        echo(f"wrote {out / 'tables'}")
        for analysis in result.left_out:
            echo(f"left out {analysis.subject}: {analysis.reason}")
            for problem in analysis.problems[1:]:
                echo(f"    {problem}")

        valid = [(s, f) for s, f in found if done.get(s) is not None
                 and not isinstance(done[s], Exception) and done[s].status == "ok"]
        if per_case_reports and valid:
            reports = {client.submit(case_report, str(Path(f).resolve()),
                                     str(out / "cases" / s), params, pure=False): s
                       for s, f in valid}
            result.reports = _gather(
                client, reports, Progress(len(valid), "case reports", echo, tty),
                lambda s, r: (r == "", r if isinstance(r, str) else repr(r)))
            result.reports = {s: (r if isinstance(r, str) else f"{type(r).__name__}: {r}")
                              for s, r in result.reports.items()}
            stage("reports")
        if notebooks:
            result.notebooks = _run_notebooks(client, out, params, found, echo)
            stage("notebooks")
    if notebooks:
        from casekit.series.report import build_series_report

        result.html = build_series_report(out, result, params)
        echo(f"wrote {result.html}")
    result.seconds = time.perf_counter() - start
    ok = sum(a.status == "ok" for a in result.analyses)
    echo(f"{len(result.analyses)} case(s): {ok} analysed, {len(result.left_out)} left out "
         f"in {result.seconds:.1f} s")
    for line in result.failures:
        echo(f"FAILED {line}")
    return result


def _run_notebooks(client, out: Path, params: dict, found, echo) -> list:
    from casekit.run import runner

    paths = series_notebooks()
    # The notebooks read the series' tables only: no case folder (nor a ';'-joined list of
    # them, which a ';' in a path would break) reaches them.
    nb_params = {"cases": "", "tables_dir": str(out / "tables"), "out_dir": str(out), **params}
    futures = {client.submit(execute_notebook_quietly, str(p), str(out / "notebooks" / p.name),
                             nb_params, str(p.parent), pure=False): p.name for p in paths}
    got = _gather(client, futures, Progress(len(paths), "notebooks", echo, False),
                  lambda name, r: (not isinstance(r, Exception) and r.ok,
                                   r.error if not isinstance(r, Exception) else repr(r)))
    results = []
    for p in paths:
        r = got[p.name]
        results.append(r if not isinstance(r, Exception) else runner.NotebookResult(
            p.name, False, 0.0, ename=type(r).__name__, evalue=str(r)))
    return results


def main(args) -> int:
    """The ``series`` subcommand (see :func:`casekit.cli._add_series_command`)."""
    try:
        sdtm = None if args.cases or args.series else (args.sdtm or DEFAULT_SDTM_DIR)
        result = run_series(cases=args.cases, series=args.series, out_dir=args.out,
                            parameters=parse_series_parameters(args.parameter),
                            scheduler=args.scheduler, jobs=args.jobs,
                            per_case_reports=args.per_case_reports,
                            sdtm_dir=sdtm or DEFAULT_SDTM_DIR,
                            echo=lambda line: print(line, flush=True))
    except SeriesInputError as exc:
        for line in str(exc).splitlines():  # one line per problem (e.g. per missing case)
            print(f"error: {line}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    return result.exit_code
