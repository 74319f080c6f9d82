"""Execute the notebook collection for a case: in parallel, reproducibly, with one summary.

``run_collection`` validates the case (nothing is created when it is invalid), executes
every notebook of ``casekit/notebooks.txt`` with papermill in a pool of worker processes
started from this one process, writes the executed copies to ``OUT/notebooks/`` stripped of
run-specific metadata (so that two runs give byte-identical files), builds
``OUT/report.html`` and, after a fully successful run, copies ``OUT/figures/*`` to a
figures folder. A notebook whose inputs did not change since the last run into OUT is
reused instead (:mod:`casekit.run.inputs`); what a run may touch in OUT, and how, is
:mod:`casekit.run.outfolder`. ``refresh_notebooks`` re-executes the stored notebooks in
place with their own default parameters.

The worker processes exit when the runner dies (a parent-death signal and a watchdog
thread), stop their kernels and remove the run's scratch folder; SIGTERM is handled like
Ctrl-C.

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
import shutil
import signal
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

from casekit import render
from casekit.case.load import CACHE_ENV, FOLLOW_ENV, with_case_cache  # validate once per run
from casekit.run.errors import RunInputError  # noqa: F401 (the runner's bad-input error)
from casekit.run.kernel import KERNEL_ENV, kernel_environment, signals_deferred
from casekit.run.parameters import papermill_value as parse_value  # noqa: F401 (-p typing)
from casekit.outputs import write_bytes
from casekit.scratch import make_scratch

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

RESERVED_PARAMETERS = ("case_dir", "out_dir")
_IPC_PATH_MOST = 90  # bytes of a kernel socket's path prefix (sun_path holds 107, plus "-NNNNN")
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
    reused: bool = False  # not executed: its inputs are unchanged since the last run

    @property
    def error(self) -> str:
        """The error as one line: ``KeyError: 'size_cm'``."""
        if self.ok:
            return ""
        text = f"{self.ename}: {self.evalue}" if self.evalue else f"{self.ename}"
        # the message may quote case text: what the colour codes leave that would act on the
        # terminal (another escape sequence, a direction override) is shown as an escape
        return render.line(" ".join(_ANSI.sub("", text).split()))

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
        reused = sum(r.reused for r in self.notebooks)
        noun = "notebook" if n == 1 else "notebooks"
        note = f" ({reused} reused)" if reused else ""
        return f"{n} {noun}: {n - bad} ok{note}, {bad} failed in {self.seconds:.1f} s"


# ------------------------------------------------------------------ files


# ---------------------------------------------------------------- parameters


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


def _record_parameters(nb: nbformat.NotebookNode, ran: Mapping[str, Any],
                       shown: Mapping[str, Any]) -> None:
    """Make the injected-parameters cell show ``shown`` instead of ``ran``.

    A run executes each notebook with ``out_dir`` set to a private staging folder and then
    moves the outputs into OUT; the executed copy says ``out_dir = OUT``, where its outputs
    are, so that re-running the copy writes where the run did. The cell is rewritten only
    when it is exactly what papermill wrote for ``ran``.
    """
    from papermill.translators import translate_parameters

    for cell in nb.cells:
        if _INJECTED_TAG in cell.metadata.get("tags", []):
            if cell.source == translate_parameters(KERNEL_NAME, "python", dict(ran),
                                                   "Parameters"):
                cell.source = translate_parameters(KERNEL_NAME, "python", dict(shown),
                                                   "Parameters")
            return


def execute_notebook(path: str | Path, out_path: str | Path,
                     parameters: Mapping[str, Any] | None = None,
                     cwd: str | Path | None = None, *,
                     write_failed: bool = True,
                     shown_parameters: Mapping[str, Any] | None = None) -> NotebookResult:
    """Execute one notebook with papermill and write the stripped executed copy atomically.

    ``parameters`` are injected after the ``parameters`` cell (none: the notebook's own
    defaults, no injected cell). ``cwd`` is the kernel's working directory (default: the
    notebook's folder). A failing notebook's error-annotated copy is written too unless
    ``write_failed`` is false (``out_path`` is then left untouched). ``shown_parameters``,
    when given, is what the executed copy's injected cell shows (see
    :func:`_record_parameters`). Never raises for a notebook that fails; the result says
    what happened.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

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
    # atomically, so a killed run never leaves a half-written notebook in the output. The
    # kernel's connection file goes here too (not /tmp/tmp*.json nor the Jupyter runtime
    # folder): whatever kills this process, the next scratch folder's sweep removes it.
    scratch, owner = make_scratch("notebook")
    tmp = scratch / name
    # The kernel talks over Unix sockets in the scratch folder, not TCP ports on loopback: a
    # port picked free can be taken by another kernel starting at the same moment (seen as
    # "Address already in use" and a kernel that never answers when runs overlap).
    # A Unix socket path has at most 107 bytes: under a deep temporary folder the kernel
    # falls back to TCP.
    kernel = {"connection_file": str(scratch / "kernel.json")}
    if len(str(scratch / "k").encode()) <= _IPC_PATH_MOST:
        kernel.update(transport="ipc", ip=str(scratch / "k"))
    kernel_files = Config({"KernelManager": kernel})
    captured = _PapermillWarnings()
    error: PapermillExecutionError | None = None
    try:
        try:
            with kernel_environment(), captured.capturing():
                papermill.execute_notebook(
                    str(path), str(tmp), parameters=dict(parameters) if parameters else None,
                    cwd=str(cwd), kernel_name=KERNEL_NAME, progress_bar=False,
                    log_output=False, request_save_on_cell_execute=False,
                    config=kernel_files)
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
            if parameters and shown_parameters is not None:
                _record_parameters(nb, parameters, shown_parameters)
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
        shutil.rmtree(scratch, ignore_errors=True)
        os.close(owner)


# ------------------------------------------------------------- the pool


@dataclass(frozen=True)
class _Task:
    name: str
    path: Path
    out_path: Path
    parameters: dict[str, Any] | None
    cwd: Path
    write_failed: bool = True
    shown_parameters: dict[str, Any] | None = None


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (the command line exits 143 instead of 130)."""


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


_WORKER: dict[str, Any] = {}  # in a worker: its parent's pid and the run's scratch folder


def _exit_now(signum: int, frame: object = None) -> None:
    """A worker stops at once: no Python clean-up, hence no half-torn-down asyncio loop that
    prints "Task exception was never retrieved". A signal reaches a worker only when the
    whole run is being torn down (Ctrl-C, SIGTERM, the runner died), so it stops its kernel
    and removes the run's scratch folder (kernel connection files, papermill's copies)
    itself: the runner may be gone (SIGKILL) and cannot."""
    _signal_all(_children([os.getpid()]), signal.SIGTERM)
    # The run's case cache too (casekit.case.load.case_cache): its owner may be gone.
    for folder in (_WORKER.get("scratch"), _WORKER.get("case_cache")):
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    os._exit(128 + signum)


def _watch_parent(ppid: int) -> None:
    while os.getppid() == ppid:
        time.sleep(0.5)
    _exit_now(signal.SIGTERM)


def _init_worker(scratch: str | None = None, run_env: dict[str, str] | None = None) -> None:
    """In each pool worker: the kernels' environment and this run's (its case cache: a
    forkserver may predate it); private runtime and temporary folders (removed by the runner,
    whatever happens to the worker); and exit with the parent."""
    os.environ.update(KERNEL_ENV)
    os.environ.update(run_env or {})
    if scratch:
        os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(scratch, "runtime")
        os.environ["TMPDIR"] = scratch
        tempfile.tempdir = scratch
    # Ctrl-C reaches the whole process group: the runner decides, workers just stop.
    signal.signal(signal.SIGINT, _exit_now)
    signal.signal(signal.SIGTERM, _exit_now)
    ppid = os.getppid()
    _WORKER.update(ppid=ppid, scratch=scratch, case_cache=(run_env or {}).get(CACHE_ENV))
    if sys.platform.startswith("linux"):
        try:  # SIGTERM when the parent dies, even by SIGKILL
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            pass
    if os.getppid() != ppid or ppid == 1:  # the parent died before prctl took effect
        _exit_now(signal.SIGTERM)
    # A watchdog as well: prctl follows the forking *thread*, and other systems lack it.
    threading.Thread(target=_watch_parent, args=(ppid,), daemon=True,
                     name="casekit-parent-watchdog").start()


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
                                      write_failed=task.write_failed,
                                      shown_parameters=task.shown_parameters)
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


def _children(pids: Iterable[int]) -> list[int]:
    """The direct children of ``pids`` (Linux /proc; elsewhere none are found)."""
    wanted, found = set(pids), []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        if int(stat[stat.rindex(b")") + 2:].split()[1]) in wanted:
            found.append(int(entry))
    return found


def _signal_all(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
        return stat[stat.rindex(b")") + 2:][:1] != b"Z"
    except OSError:
        return False


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop the pool's workers and their kernels now (an interrupted run): SIGTERM, then
    SIGKILL after a few seconds. The kernels run in sessions of their own, so they are
    found as the workers' children and stopped by pid, before the workers go."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    kernels = _children(p.pid for p in processes if p.pid)
    _signal_all(kernels, signal.SIGTERM)
    for process in processes:
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + 5
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1)
    while any(_alive(pid) for pid in kernels) and time.monotonic() < deadline:
        time.sleep(0.05)
    _signal_all([pid for pid in kernels if _alive(pid)], signal.SIGKILL)


@contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread, so a
    terminated run cleans up exactly like one stopped with Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _execute_many(tasks: list[_Task], jobs: int | None,
                  echo: Callable[[str], None]) -> list[NotebookResult]:
    """Run ``tasks`` in worker processes, at most ``jobs`` at a time, in the given order.

    A task is submitted only when a worker is free, so ``[start]`` is printed when the
    notebook really starts. Results come back in the order of ``tasks``. An interrupt
    (Ctrl-C, SIGTERM) stops the workers and their kernels before it propagates; their
    scratch files (papermill's notebooks, kernel connection files) are removed.
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
    if not runnable:
        return [results[i] for i in range(len(tasks))]
    for module in _HEAVY_MODULES:  # once, here, before the workers fork
        importlib.import_module(module)
    workers = max(1, min(jobs or default_jobs(), len(runnable)))
    queue = list(runnable)
    pending: dict[Future, tuple[int, _Task]] = {}

    def crashed(task: _Task, exc: BaseException) -> NotebookResult:
        text = str(exc).strip()
        return NotebookResult(task.name, False, 0.0, ename=type(exc).__name__,
                              evalue=text.splitlines()[0] if text else "")

    # the kernels' connection files and papermill's copies; a run killed outright (every
    # process at once) leaves it to the next run's sweep (casekit.scratch)
    scratch_path, owner = make_scratch("run")
    scratch = str(scratch_path)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                               initializer=_init_worker,
                               initargs=(scratch, {
                                   **{k: os.environ[k] for k in (CACHE_ENV,)
                                      if k in os.environ},
                                   # always: a forkserver may have another value
                                   FOLLOW_ENV: os.environ.get(FOLLOW_ENV, "")}))
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
        pool.shutdown(wait=True)
    except BaseException:
        _stop_workers(pool)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        os.close(owner)
    return [results[i] for i in range(len(tasks))]


# ---------------------------------------------------------------- run


def _printer(echo: Callable[[str], None] | None) -> Callable[[str], None]:
    if echo is None:
        return lambda line: None
    if echo is print:
        return lambda line: print(line, flush=True)
    return echo


def _protected_folders(nb_dir: Path) -> list[tuple[Path, str, bool]]:
    """Folders an output folder must never be (see casekit.owned.check_folder)."""
    from casekit.owned import protected_folders

    return [*protected_folders(), (nb_dir, "the notebooks folder", False)]


@with_case_cache
def run_collection(case_dir: str | Path, out_dir: str | Path,
                   parameters: Mapping[str, Any] | None = None, jobs: int | None = None,
                   notebooks_dir: str | Path | None = None,
                   figures_dir: str | Path | None = None,
                   echo: Callable[[str], None] | None = print,
                   notebook_names: list[str] | None = None,
                   force: bool = False) -> RunResult:
    """Validate ``case_dir``, execute the collection into ``out_dir`` and build the report.

    ``parameters`` (already typed; see :func:`parse_parameters`) go to every notebook
    besides the absolute ``case_dir`` and ``out_dir``. ``notebook_names`` overrides the
    list in ``casekit/notebooks.txt``. ``echo`` receives the progress lines (None: quiet).
    A notebook whose inputs are unchanged since the last run into ``out_dir`` is reused
    instead of executed unless ``force``. Raises :class:`RunInputError` for bad parameters,
    a missing notebooks folder, an output folder that must not be used or is in use.

    The output folder is locked for the whole run, and only files that a previous run
    recorded in ``OUT/.casekit/manifest.json`` are ever replaced or removed; the report
    embeds only this run's files (see :mod:`casekit.run.outfolder`).
    """
    from casekit.case import validate_case
    from casekit.run.outfolder import OutFolder

    say = _printer(echo)
    start = time.perf_counter()
    case = Path(case_dir).resolve()
    nb_dir = Path(notebooks_dir).resolve() if notebooks_dir else DEFAULT_NOTEBOOKS_DIR
    folder = OutFolder.check(out_dir, case, _protected_folders(nb_dir))
    out = folder.path
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
    if not nb_dir.is_dir():
        raise RunInputError(f"{nb_dir}: notebooks folder not found")
    subset = notebook_names is not None
    names = list(notebook_names) if subset else collection_names()

    with _signals_as_interrupts(), folder.locked(case) as session:
        for line in session.notes:
            say(line)
        plan = session.plan(nb_dir, names, params, subset=subset, force=force)
        for name in plan.reused:
            say(f"[reuse] {name}  inputs unchanged since the last run")
        tasks = [_Task(name, nb_dir / name, session.stage(name) / "notebooks" / name,
                       {**plan.injected, "out_dir": str(session.stage(name))}, nb_dir,
                       shown_parameters=plan.injected)
                 for name in plan.to_run]
        result = RunResult(case, out)
        session.begin()
        executed = _execute_many(tasks, jobs, say)
        by_name = {r.name: r for r in executed}
        result.notebooks = [by_name.get(name) or NotebookResult(name, True, 0.0, reused=True)
                            for name in names]

        if params and executed:
            ran = [r for r in executed if r.ok or r.cell is not None]
            for name in sorted(params):
                if ran and all(name in r.unknown_parameters for r in ran):
                    say(f"warning: '{name}' is not a parameter of any notebook")

        with signals_deferred():
            conflicts = session.commit(executed)
            for line in conflicts:
                say(f"warning: {line}")
            failed = sorted({r.name for r in result.failed} | session.failed_kept())
            try:
                result.report = session.write_report(failed=failed)
                say(f"wrote {result.report}")
            except Exception as exc:  # the report must not hide the notebooks' results
                text = " ".join(str(exc).split())
                result.report_error = (f"{type(exc).__name__}: {text}" if text
                                       else type(exc).__name__)
            if conflicts and result.report_error is None:
                result.report_error = f"{len(conflicts)} output file(s) not written " \
                    "(see the warnings above)"
            session.finish(ok=result.ok)
        if figures_dir is not None and result.ok:
            result.copied_figures = session.copy_figures(Path(figures_dir))
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
    with _signals_as_interrupts():
        result.notebooks = _execute_many(tasks, jobs, say)
    result.seconds = time.perf_counter() - start
    say(result.summary)
    for failure in result.failed:
        say(failure.failure_line + " (left unchanged)")
    return result
