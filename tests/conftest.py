"""Shared test helpers: the synthetic demo case run through the whole collection, twice.

Executing the seven notebooks costs 15-20 s of kernel time per run, so ``demo_runs`` runs
the collection on ``data/demo-synthetic`` exactly twice per test session, into two separate
output folders, and every test that needs a real end-to-end run reads those two folders.

Under pytest-xdist each worker has its own session, so a plain session fixture would run
once per worker. Here the runs go into a folder that all workers share (the parent of the
per-worker base temp folder), each run under a file lock of its own: a worker makes any run
that nobody has made or is making (so two workers asking at once make one run each, side by
side), then waits for the rest and reuses what was written (a JSON record per run).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO = TESTS_DIR.parent
DATA = REPO / "data"
DEMO_CASE = DATA / "demo-synthetic"

# tests/ has no __init__.py: pytest's default ("prepend") import mode puts tests/ on
# sys.path, but make `from test_case import ...` work under any import mode.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every entry under ``folder``: relative path -> (mode, mtime_ns, sha256 of the bytes).

    Two equal snapshots mean nothing was added, removed, rewritten, touched or chmod-ed.
    """
    entries = {}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            digest = "link:" + os.readlink(path)
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            digest = "dir"
        entries[path.relative_to(folder).as_posix()] = (st.st_mode, st.st_mtime_ns, digest)
    return entries


def changed_entries(before: dict, after: dict) -> list[str]:
    """The paths that differ between two snapshots (for readable assertion messages)."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


@dataclass(frozen=True)
class DemoRuns:
    """Two complete runs of the collection on the demo case, into ``first`` and ``second``.

    ``results`` holds, per run, ``exit_code``, ``summary``, ``report``, ``report_error``,
    ``notebooks`` (name, ok, error) and ``lines`` (the progress output).
    """

    first: Path
    second: Path
    results: list[dict]
    data_changed: list[str]  # entries of data/ that differ before vs after both runs

    @property
    def outs(self) -> tuple[Path, Path]:
        return self.first, self.second


RUN_NAMES = ("first", "second")


def _run_demo(out: Path) -> dict:
    from casekit.run.runner import run_collection

    before = snapshot(DATA)
    lines: list[str] = []
    result = run_collection(DEMO_CASE, out, echo=lines.append)
    return {
        "exit_code": result.exit_code,
        "summary": result.summary,
        "report": str(result.report) if result.report else None,
        "report_error": result.report_error,
        "notebooks": [{"name": r.name, "ok": r.ok, "error": r.error} for r in result.notebooks],
        "lines": lines,
        "data_changed": changed_entries(before, snapshot(DATA)),
    }


def _claim_run(root: Path, name: str, block: bool) -> dict | None:
    """The record of run ``name``: made here if nobody made it yet. Without ``block``,
    return None at once when another worker is making it right now."""
    record = root / f"{name}.json"
    with open(root / f".{name}.lock", "w") as lock:
        try:  # released when the file is closed
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            return None
        if not record.exists():  # first here (or the worker before us failed): run it
            data = _run_demo(root / name)
            tmp = record.with_name(record.name + ".part")
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            tmp.replace(record)
        return json.loads(record.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory) -> DemoRuns:
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "demo-synthetic-runs"
    root.mkdir(exist_ok=True)
    # Take any run nobody is making yet (two workers then make one each, side by side),
    # then wait for the rest.
    records = {name: _claim_run(root, name, block=False) for name in RUN_NAMES}
    for name in RUN_NAMES:
        if records[name] is None:
            records[name] = _claim_run(root, name, block=True)
    results = [records[name] for name in RUN_NAMES]
    changed = sorted({entry for r in results for entry in r["data_changed"]})
    return DemoRuns(root / "first", root / "second", results, changed)
