"""Execute the notebook collection for a case: in parallel, reproducibly, with one summary.

``run_collection`` validates the case (nothing is created when it is invalid), executes
every notebook of ``casekit/notebooks.txt`` with papermill in a pool of worker processes
started from this one process, writes the executed copies to ``OUT/notebooks/`` stripped of
run-specific metadata (so that two runs give byte-identical files), builds
``OUT/report.html`` and, after a fully successful run, copies ``OUT/figures/*`` to a
figures folder. ``refresh_notebooks`` re-executes the stored notebooks in place with their
own default parameters.

Every notebook runs in a fresh ``python3`` kernel whose working directory is the notebooks
folder and whose environment fixes ``PYTHONHASHSEED=0``, ``TZ=UTC`` and
``SOURCE_DATE_EPOCH=0`` (the date matplotlib writes into SVG and PDF files).
"""

from __future__ import annotations

import importlib
import json
import logging
import multiprocessing
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casekit.case.load import CACHE_ENV, with_case_cache  # validate once per run
from casekit.outputs import write_bytes

if TYPE_CHECKING:
    import nbformat

    from casekit.case import Problem

# papermill and nbformat (about 1 s to import) are imported on first use. Before the pool
# starts, the parent imports them once; workers are forked from it (or from a forkserver
# that preloads them), so no worker imports them again.
_HEAVY_MODULES = ("nbformat", "papermill", "papermill.cli")

RUN_DIR = Path(__file__).resolve().parent
REPO_DIR = RUN_DIR.parents[1]
NOTEBOOKS_FILE = RUN_DIR / "notebooks.txt"
DEFAULT_NOTEBOOKS_DIR = REPO_DIR / "notebooks"
DEFAULT_CASE_DIR = REPO_DIR / "data" / "jlc2022"
KERNEL_NAME = "python3"

# The environment every kernel starts with (on top of the caller's).
KERNEL_ENV = {"PYTHONHASHSEED": "0", "TZ": "UTC", "SOURCE_DATE_EPOCH": "0",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
# Written into an output folder by a run; only a folder carrying it is ever cleaned.
RUN_MARKER = ".casekit-run"
RESERVED_PARAMETERS = ("case_dir", "out_dir")
_ERROR_TAG = "papermill-error-cell-tag"
_INJECTED_TAG = "injected-parameters"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def skip_unused_imports() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in this process.

    jsonschema (imported by nbformat) registers optional format checkers for whatever is
    installed; ``rfc3987_syntax`` (pulled in by jupyter-events) compiles a grammar at
    import, about 0.8 s of the 1.1 s papermill takes to import, for "iri" formats that
    nbformat's schema never uses. Marking it absent makes the import fail fast. Called by
    the command line only, and only before jsonschema is loaded; kernels are unaffected.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class NotebookResult:
    """How one notebook went. ``cell`` is the 1-based position of the failing cell in the
    source notebook, ``exec_count`` its ``In [n]`` in the executed copy."""

    name: str
    ok: bool
    seconds: float
    output: Path | None = None
    cell: int | None = None
    exec_count: int | None = None
    ename: str | None = None
    evalue: str | None = None
    unknown_parameters: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    stderr: tuple[str, ...] = ()

    @property
    def error(self) -> str:
        """The error as one line: ``KeyError: 'size_cm'``."""
        if self.ok:
            return ""
        text = f"{self.ename}: {self.evalue}" if self.evalue else f"{self.ename}"
        return " ".join(_ANSI.sub("", text).split())

    @property
    def failure_line(self) -> str:
        """``FAILED 04_tumour_response.ipynb cell 7 (In [6]): KeyError: 'size_cm'``."""
        where = ""
        if self.cell is not None:
            where = f" cell {self.cell}"
            if self.exec_count is not None:
                where += f" (In [{self.exec_count}])"
        return f"FAILED {self.name}{where}: {self.error}"


@dataclass
class RunResult:
    """A whole run. ``problems`` is non-empty when the case was invalid (nothing ran)."""

    case_dir: Path | None
    out_dir: Path | None
    notebooks: list[NotebookResult] = field(default_factory=list)
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    report: Path | None = None
    report_error: str | None = None
    copied_figures: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> list[NotebookResult]:
        return [r for r in self.notebooks if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.failed and self.report_error is None

    @property
    def exit_code(self) -> int:
        if self.problems:
            return 2
        return 0 if self.ok else 1

    @property
    def summary(self) -> str:
        n, bad = len(self.notebooks), len(self.failed)
        noun = "notebook" if n == 1 else "notebooks"
        return f"{n} {noun}: {n - bad} ok, {bad} failed in {self.seconds:.1f} s"


class RunInputError(ValueError):
    """Bad input to a run (parameters, notebooks folder): reported without a traceback."""


# ------------------------------------------------------------------ files


# ---------------------------------------------------------------- parameters


def _papermill_resolve_type() -> Callable[[str], Any]:
    try:  # the exact logic of `papermill -p NAME VALUE`
        from papermill.cli import _resolve_type
        return _resolve_type
    except ImportError:  # pragma: no cover - papermill moved it
        def resolve(value: str) -> Any:
            if value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[value]
            for cast in (int, float):
                try:
                    return cast(value)
                except ValueError:
                    pass
            return value
        return resolve


def parse_value(value: str) -> Any:
    """A ``-p`` value typed as papermill's CLI types it: int, float, True/False/None, else str."""
    return _papermill_resolve_type()(value)


def parse_parameters(pairs: Iterable[tuple[str, str]] | None,
                     notebooks_dir: str | Path | None = None) -> dict[str, Any]:
    """``[(name, text), ...]`` from ``-p NAME VALUE`` into typed parameters: strictly, by
    the declaration in :mod:`casekit.run.parameters` (raises :class:`RunInputError`)."""
    from casekit.run import parameters

    return parameters.parse_parameters(pairs, notebooks_dir=notebooks_dir)


# ------------------------------------------------------------ the collection


def collection_names(path: str | Path = NOTEBOOKS_FILE) -> list[str]:
    """The collection's notebook file names, in order (blank lines and # comments skipped)."""
    names = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


# ------------------------------------------------------- notebook clean-up


def strip_run_metadata(nb: nbformat.NotebookNode,
                       source_ids: Iterable[str] = ()) -> nbformat.NotebookNode:
    """Remove what differs between two runs of the same notebook, in place.

    Drops ``metadata.papermill``, ``metadata.widgets`` and each cell's ``papermill`` and
    ``execution`` metadata (and the empty ``tags`` papermill adds), and gives cells
    deterministic ids: ids of the source notebook are kept; cells papermill adds (injected
    parameters, error markers), or ids it made up, get fixed ones. Outputs and execution
    counts are kept.
    """
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    keep = set(source_ids)
    used: set[str] = set()
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.metadata.get("tags") == []:  # papermill adds an empty list to every cell
            del cell.metadata["tags"]
        tags = cell.metadata.get("tags", [])
        if _INJECTED_TAG in tags:
            want = "injected-parameters"
        elif _ERROR_TAG in tags:
            want = ("papermill-error-anchor" if 'id="papermill-error-cell"' in cell.source
                    else "papermill-error-message")
        elif cell.get("id") in keep:
            want = cell["id"]
        else:
            want = f"cell-{index}"
        candidate, n = want, 1
        while candidate in used:
            n += 1
            candidate = f"{want}-{n}"
        used.add(candidate)
        if "id" in cell or nb.nbformat_minor >= 5:
            cell["id"] = candidate
    return nb


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The notebook as Jupyter saves it: nbformat's sorted JSON plus a final newline."""
    import nbformat

    text = nbformat.writes(nb)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def _source_cells(path: Path) -> tuple[set[str], int | None, bool]:
    """Ids of the source notebook's cells, the index of its parameters cell, and whether it
    already holds an injected-parameters cell (which papermill then replaces in place)."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    ids = {c["id"] for c in cells if isinstance(c.get("id"), str)}
    params_at = next((i for i, c in enumerate(cells)
                      if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    injected = any(_INJECTED_TAG in c.get("metadata", {}).get("tags", []) for c in cells)
    return ids, params_at, injected


# ------------------------------------------------------------ one notebook


@contextmanager
def kernel_environment() -> Iterator[None]:
    """Set :data:`KERNEL_ENV` for kernels started inside the block; restore afterwards."""
    saved = {k: os.environ.get(k) for k in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _PapermillWarnings(logging.Handler):
    """Collects the warnings of papermill's loggers into the result instead of letting them
    reach stderr unattributed; 'Passed unknown parameter' ones are kept apart as names."""

    PREFIX = "Passed unknown parameter: "

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.names: list[str] = []
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(self.PREFIX):
            self.names.append(message[len(self.PREFIX):].strip())
        else:
            self.messages.append(" ".join(message.split()))

    @contextmanager
    def capturing(self) -> Iterator[_PapermillWarnings]:
        logger = logging.getLogger("papermill")  # also catches papermill.translators etc.
        propagate = logger.propagate
        logger.addHandler(self)
        logger.propagate = False
        try:
            yield self
        finally:
            logger.removeHandler(self)
            logger.propagate = propagate


def execute_notebook(path: str | Path, out_path: str | Path,
                     parameters: Mapping[str, Any] | None = None,
                     cwd: str | Path | None = None, *,
                     write_failed: bool = True) -> NotebookResult:
    """Execute one notebook with papermill and write the stripped executed copy atomically.

    ``parameters`` are injected after the ``parameters`` cell (none: the notebook's own
    defaults, no injected cell). ``cwd`` is the kernel's working directory (default: the
    notebook's folder). A failing notebook's error-annotated copy is written too unless
    ``write_failed`` is false (``out_path`` is then left untouched). Never raises for a
    notebook that fails; the result says what happened.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    path, out_path = Path(path), Path(out_path)
    cwd = Path(cwd) if cwd is not None else path.parent
    name = path.name
    start = time.perf_counter()

    def failed(ename: str, evalue: str, **extra: Any) -> NotebookResult:
        return NotebookResult(name, False, time.perf_counter() - start, ename=ename,
                              evalue=evalue, **extra)

    try:
        source_ids, params_at, had_injected = _source_cells(path)
    except FileNotFoundError:
        return failed("FileNotFoundError", f"notebook not found: {path}")
    except (OSError, ValueError) as exc:
        return failed(type(exc).__name__, f"cannot read {path}: {exc}")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    # papermill writes the executed notebook here; the stripped copy then goes into place
    # atomically, so a killed run never leaves a half-written notebook in the output.
    scratch = tempfile.TemporaryDirectory(prefix="casekit-run-")
    tmp = Path(scratch.name) / name
    captured = _PapermillWarnings()
    error: PapermillExecutionError | None = None
    try:
        try:
            with kernel_environment(), captured.capturing():
                papermill.execute_notebook(
                    str(path), str(tmp), parameters=dict(parameters) if parameters else None,
                    cwd=str(cwd), kernel_name=KERNEL_NAME, progress_bar=False,
                    log_output=False, request_save_on_cell_execute=False)
        except PapermillExecutionError as exc:
            error = exc
        except Exception as exc:  # kernel died, timed out, bad JSON, ...
            first = (str(exc).strip().splitlines() or [""])[0]
            return failed(type(exc).__name__, first,
                          unknown_parameters=tuple(captured.names),
                          warnings=tuple(captured.messages))
        seconds = time.perf_counter() - start
        written = None
        if tmp.exists() and (error is None or write_failed):
            nb = nbformat.read(tmp, as_version=4)
            strip_run_metadata(nb, source_ids)
            written = write_bytes(out_path, notebook_bytes(nb))
        undeclared = [p for p in RESERVED_PARAMETERS if p in captured.names]
        if undeclared:  # the collection's contract: every notebook takes both
            captured.messages.append("its parameters cell does not define "
                                     + " and ".join(undeclared))
        logged = {"unknown_parameters": tuple(captured.names),
                  "warnings": tuple(captured.messages)}
        if error is None:
            return NotebookResult(name, True, seconds, output=written, **logged)
        cell = error.cell_index
        injected_before = (bool(parameters) and not had_injected
                           and cell >= (0 if params_at is None else params_at + 1))
        return NotebookResult(name, False, seconds, output=written,
                              cell=cell - (1 if injected_before else 0) + 1,
                              exec_count=error.exec_count, ename=error.ename,
                              evalue=error.evalue, **logged)
    finally:
        scratch.cleanup()


# ------------------------------------------------------------- the pool


@dataclass(frozen=True)
class _Task:
    name: str
    path: Path
    out_path: Path
    parameters: dict[str, Any] | None
    cwd: Path
    write_failed: bool = True


def _init_worker(run_env: dict[str, str] | None = None) -> None:
    os.environ.update(KERNEL_ENV)
    os.environ.update(run_env or {})  # this run's case cache: a forkserver may predate it


# Kernel chatter on the worker's stderr that says nothing about the notebook.
_STDERR_NOISE = re.compile(r"Kernel is running over TCP without encryption"
                           r"|KeyboardInterrupt caught in kernel")


def _run_task(task: _Task) -> NotebookResult:
    """In a worker: execute one notebook with the process's stderr (the kernels' too)
    captured, so that the terminal shows attributed lines instead of interleaved chatter."""
    with tempfile.TemporaryFile() as err:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(err.fileno(), 2)
        try:
            result = execute_notebook(task.path, task.out_path, task.parameters, task.cwd,
                                      write_failed=task.write_failed)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        text = err.read().decode("utf-8", errors="replace")
    lines = [line.rstrip() for line in _ANSI.sub("", text).splitlines()
             if line.strip() and not _STDERR_NOISE.search(line)]
    return replace(result, stderr=tuple(lines[-20:]))


def _mp_context() -> multiprocessing.context.BaseContext:
    """Fork (instant, inherits the imports) when that is safe; otherwise a forkserver
    that preloads this module once for all workers; spawn where neither exists."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([*_HEAVY_MODULES, __name__])
        return ctx
    return multiprocessing.get_context("spawn")


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _progress(result: NotebookResult) -> str:
    tag = "[ ok  ]" if result.ok else "[FAIL ]"
    return f"{tag} {result.name}  {result.seconds:.1f} s"


def _execute_many(tasks: list[_Task], jobs: int | None,
                  echo: Callable[[str], None]) -> list[NotebookResult]:
    """Run ``tasks`` in worker processes, at most ``jobs`` at a time, in the given order.

    A task is submitted only when a worker is free, so ``[start]`` is printed when the
    notebook really starts. Results come back in the order of ``tasks``.
    """
    results: dict[int, NotebookResult] = {}
    runnable = []
    for i, task in enumerate(tasks):
        if task.path.is_file():
            runnable.append((i, task))
        else:
            results[i] = NotebookResult(task.name, False, 0.0, ename="FileNotFoundError",
                                        evalue=f"notebook not found: {task.path}")
            echo(f"[FAIL ] {task.name}  not found")
    if runnable:
        for module in _HEAVY_MODULES:  # once, here, before the workers fork
            importlib.import_module(module)
        workers = max(1, min(jobs or default_jobs(), len(runnable)))
        queue = list(runnable)
        pending: dict[Future, tuple[int, _Task]] = {}

        def crashed(task: _Task, exc: BaseException) -> NotebookResult:
            text = str(exc).strip()
            return NotebookResult(task.name, False, 0.0, ename=type(exc).__name__,
                                  evalue=text.splitlines()[0] if text else "")

        with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                                 initializer=_init_worker,
                                 initargs=({k: os.environ[k] for k in (CACHE_ENV,)
                                            if k in os.environ},)) as pool:
            try:
                while queue or pending:
                    while queue and len(pending) < workers:
                        i, task = queue.pop(0)
                        echo(f"[start] {task.name}")
                        try:
                            pending[pool.submit(_run_task, task)] = (i, task)
                        except BrokenProcessPool as exc:  # a worker died: nothing more runs
                            for j, lost in [(i, task)] + queue:
                                results[j] = crashed(lost, exc)
                                echo(_progress(results[j]))
                            queue.clear()
                    if not pending:
                        break
                    done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                    for future in sorted(done, key=lambda f: pending[f][0]):
                        i, task = pending.pop(future)
                        try:
                            result = future.result()
                        except Exception as exc:  # the worker process itself died
                            result = crashed(task, exc)
                        results[i] = result
                        echo(_progress(result))
                        for message in result.warnings:
                            echo(f"[warn ] {result.name}: {message}")
                        for line in result.stderr:
                            echo(f"[stderr] {result.name}: {line}")
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    return [results[i] for i in range(len(tasks))]


# ---------------------------------------------------------------- run


def _printer(echo: Callable[[str], None] | None) -> Callable[[str], None]:
    if echo is None:
        return lambda line: None
    if echo is print:
        return lambda line: print(line, flush=True)
    return echo


def _clean_outputs(out: Path) -> None:
    """Remove the files an earlier run left in notebooks/, figures/ and tables/, but only in
    a folder that an earlier run marked as its own."""
    if not (out / RUN_MARKER).is_file():
        return
    for sub in ("notebooks", "figures", "tables"):
        folder = out / sub
        if folder.is_dir():
            for item in sorted(folder.iterdir()):
                if item.is_file() or item.is_symlink():
                    item.unlink()


def _copy_figures(figures: Path, dest: Path) -> list[Path]:
    copied = []
    for item in sorted(figures.iterdir()) if figures.is_dir() else []:
        if item.is_file() and not item.name.startswith("."):
            copied.append(write_bytes(dest / item.name, item.read_bytes()))
    return copied


@with_case_cache
def run_collection(case_dir: str | Path, out_dir: str | Path,
                   parameters: Mapping[str, Any] | None = None, jobs: int | None = None,
                   notebooks_dir: str | Path | None = None,
                   figures_dir: str | Path | None = None,
                   echo: Callable[[str], None] | None = print,
                   notebook_names: list[str] | None = None) -> RunResult:
    """Validate ``case_dir``, execute the collection into ``out_dir`` and build the report.

    ``parameters`` (already typed; see :func:`parse_parameters`) go to every notebook
    besides the absolute ``case_dir`` and ``out_dir``. ``notebook_names`` overrides the
    list in ``casekit/notebooks.txt``. ``echo`` receives the progress lines (None: quiet).
    Raises :class:`RunInputError` for bad parameters or a missing notebooks folder.
    """
    from casekit.case import validate_case

    say = _printer(echo)
    start = time.perf_counter()
    case = Path(case_dir).resolve()
    out = Path(out_dir).resolve()
    problems = validate_case(case_dir)
    if problems:
        for problem in problems:
            say(str(problem))
        say(f"{len(problems)} problem(s) in {case_dir}; nothing was run")
        return RunResult(case, out, problems=problems)
    params = dict(parameters or {})
    for name in params:
        if name in RESERVED_PARAMETERS or not str(name).isidentifier():
            raise RunInputError(f"parameter '{name}' cannot be passed to the notebooks")
    nb_dir = Path(notebooks_dir).resolve() if notebooks_dir else DEFAULT_NOTEBOOKS_DIR
    if not nb_dir.is_dir():
        raise RunInputError(f"{nb_dir}: notebooks folder not found")
    subset = notebook_names is not None
    names = list(notebook_names) if subset else collection_names()
    if out.exists() and not out.is_dir():
        raise RunInputError(f"{out_dir}: exists and is not a folder")

    if not subset:
        _clean_outputs(out)
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(out / RUN_MARKER, b"Written by 'casekit run': the files in notebooks/, "
                b"figures/ and tables/ here are replaced by each run.\n")
    for sub in ("notebooks", "figures", "tables"):
        (out / sub).mkdir(exist_ok=True)

    params = {"case_dir": str(case), "out_dir": str(out), **params}
    tasks = [_Task(name, nb_dir / name, out / "notebooks" / name, params, nb_dir)
             for name in names]
    result = RunResult(case, out)
    result.notebooks = _execute_many(tasks, jobs, say)

    if params.keys() - {"case_dir", "out_dir"} and result.notebooks:
        ran = [r for r in result.notebooks if r.ok or r.cell is not None]
        for name in sorted(params.keys() - {"case_dir", "out_dir"}):
            if ran and all(name in r.unknown_parameters for r in ran):
                say(f"warning: '{name}' is not a parameter of any notebook")

    from casekit.run.report import build_report
    try:
        result.report = build_report(case, out, failed=[r.name for r in result.failed])
        say(f"wrote {result.report}")
    except Exception as exc:  # the report must not hide the notebooks' results
        text = " ".join(str(exc).split())
        result.report_error = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if figures_dir is not None and result.ok:
        result.copied_figures = _copy_figures(out / "figures", Path(figures_dir))
        say(f"copied {len(result.copied_figures)} figure file(s) to {figures_dir}")
    result.seconds = time.perf_counter() - start
    say(result.summary)
    for failure in result.failed:
        say(failure.failure_line)
    if result.report_error:
        say(f"FAILED report.html: {result.report_error}")
    return result


@with_case_cache
def refresh_notebooks(notebooks_dir: str | Path | None = None, jobs: int | None = None,
                      echo: Callable[[str], None] | None = print,
                      notebook_names: list[str] | None = None,
                      case_dir: str | Path | None = DEFAULT_CASE_DIR) -> RunResult:
    """Re-execute the stored notebooks in place with their default parameters.

    The kernel's working directory is the notebooks folder. A notebook is rewritten only
    when it ran cleanly (stripped of run metadata, execution counts kept); a failing one is
    left as it was. ``case_dir``, when given, is validated first (the notebooks' default).
    """
    from casekit.case import validate_case

    say = _printer(echo)
    start = time.perf_counter()
    if case_dir is not None:
        problems = validate_case(case_dir)
        if problems:
            for problem in problems:
                say(str(problem))
            say(f"{len(problems)} problem(s) in {case_dir}; nothing was run")
            return RunResult(Path(case_dir), None, problems=problems)
    nb_dir = Path(notebooks_dir).resolve() if notebooks_dir else DEFAULT_NOTEBOOKS_DIR
    if not nb_dir.is_dir():
        raise RunInputError(f"{nb_dir}: notebooks folder not found")
    names = list(notebook_names) if notebook_names is not None else collection_names()
    tasks = [_Task(name, nb_dir / name, nb_dir / name, None, nb_dir, write_failed=False)
             for name in names]
    result = RunResult(Path(case_dir) if case_dir else None, None)
    result.notebooks = _execute_many(tasks, jobs, say)
    result.seconds = time.perf_counter() - start
    say(result.summary)
    for failure in result.failed:
        say(failure.failure_line + " (left unchanged)")
    return result
