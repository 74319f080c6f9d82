"""Issue 9, item 6: process hygiene of ``casekit run`` under SIGTERM, Ctrl-C and SIGKILL.

Real ``casekit run`` processes on two tiny notebooks that sleep, stopped once both kernels
are busy. Afterwards no worker or kernel may survive, the scratch folders (TMPDIR) and the
Jupyter runtime folder (kernel connection files) must hold what they held before, and
stderr must carry no traceback (e.g. asyncio's "Task exception was never retrieved").
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import DATA
from test_runner import make_notebook

SLEEP = '''\
from pathlib import Path
out = Path(out_dir)
out.mkdir(parents=True, exist_ok=True)
import os, time
(out / f"started-{os.getpid()}.txt").write_text("yes")
time.sleep(60)
'''


@pytest.fixture
def started(tmp_path):
    """Start the run; at teardown kill whatever of it is still alive, also when the test
    failed before looking (on the old runner, orphaned workers lived on forever)."""
    runs = []
    yield lambda: runs.append(_start(tmp_path)) or runs[-1]
    for proc, run in runs:
        for process in [psutil.Process(proc.pid)] if proc.poll() is None else []:
            process.kill()
        for process in run["descendants"]:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass


def _start(tmp_path: Path) -> tuple[subprocess.Popen, dict]:
    nbs = tmp_path / "nbs"
    for name in ("s1.ipynb", "s2.ipynb"):
        make_notebook(nbs / name, SLEEP)
    scratch, runtime = tmp_path / "tmp", tmp_path / "runtime"
    scratch.mkdir()
    runtime.mkdir()
    out = tmp_path / "out"
    env = {**os.environ, "TMPDIR": str(scratch), "JUPYTER_RUNTIME_DIR": str(runtime)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "casekit", "run", "--case", str(DATA / "jlc2022"), "--out",
         str(out), "--notebooks-dir", str(nbs), "--notebook", "s1.ipynb", "--notebook",
         "s2.ipynb", "--jobs", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while len(list(out.rglob("started-*.txt"))) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    descendants = psutil.Process(proc.pid).children(recursive=True)
    # the runner, two workers, two kernels
    assert len(descendants) >= 4, descendants
    return proc, {"out": out, "scratch": scratch, "runtime": runtime,
                  "descendants": descendants}


def _survivors(descendants: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while True:
        alive = [p for p in descendants
                 if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _check_clean(run: dict) -> None:
    survivors = _survivors(run["descendants"], 10)
    for process in survivors:  # do not leave them behind even when the test fails
        process.kill()
    assert survivors == [], [p.cmdline()[:4] for p in survivors]
    assert list(run["scratch"].iterdir()) == []
    assert list(run["runtime"].iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_sigterm_and_ctrl_c_stop_everything_and_mark_the_report(started, how):
    proc, run = started()
    if how == "SIGTERM":
        proc.send_signal(signal.SIGTERM)
    else:  # a terminal sends SIGINT to the whole foreground process group
        os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == (143 if how == "SIGTERM" else 130), stderr
    assert stderr.strip() == ("terminated" if how == "SIGTERM" else "interrupted"), stderr
    assert "Traceback" not in stdout + stderr and "never retrieved" not in stderr
    _check_clean(run)
    out = run["out"]
    assert json.loads((out / ".casekit" / "manifest.json").read_text())["status"] == \
        "interrupted"
    assert "No report" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_sigkill_of_the_runner_leaves_no_orphan(started):
    proc, run = started()
    proc.kill()
    proc.communicate(timeout=60)
    _check_clean(run)
    # the run did not finish: its page says so, never a report of earlier results
    assert "No report" in (run["out"] / "report.html").read_text(encoding="utf-8")
