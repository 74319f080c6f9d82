"""Issue 20 item 5: nothing left behind. A run killed outright (every process at once, as by
SIGKILL to its process group) cannot remove its scratch folders (case cache, papermill's
copies, kernel connection files); the next run removes them (casekit.scratch.sweep), and
never the folder of a run that is still alive. Kernel connection files live in those
folders, never in /tmp directly nor in the Jupyter runtime folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from casekit.scratch import make_scratch, scratch_folder, sweep
from conftest import DATA, REPO
from test_runner import make_notebook

SEED = DATA / "jlc2022"

DIE = """\
import os, signal, sys, tempfile
tempfile.tempdir = sys.argv[1]
from casekit.scratch import make_scratch
folder, _ = make_scratch("run")
(folder / "kernel.json").write_text("{}")
print(folder, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_scratch(where: Path) -> Path:
    """The scratch folder of a process killed with SIGKILL right after making it."""
    done = subprocess.run([sys.executable, "-c", DIE, str(where)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr
    return Path(done.stdout.strip())


def test_sweep_removes_the_folders_of_dead_runs_only(tmp_path):
    dead = _killed_scratch(tmp_path)
    assert (dead / "kernel.json").is_file()  # left behind by the kill
    foreign = tmp_path / "casekit-not-ours"  # no .owner: not made by casekit.scratch
    foreign.mkdir()
    other = tmp_path / "someone-elses"
    other.mkdir()
    import tempfile

    saved, tempfile.tempdir = tempfile.tempdir, str(tmp_path)
    try:
        live, fd = make_scratch("live")  # sweeps first: the dead one goes already
        assert not dead.exists()
        dead = _killed_scratch(tmp_path)
        assert sweep(tmp_path) == [dead]
        assert live.is_dir() and foreign.is_dir() and other.is_dir()
        os.close(fd)  # the live run ends without cleaning up (as if killed)
        assert sweep(tmp_path) == [live]
        with scratch_folder("block") as folder:
            assert sweep(tmp_path) == [] and folder.is_dir()
        assert not folder.exists()
    finally:
        tempfile.tempdir = saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["casekit-not-ours",
                                                           "someone-elses"]


WAIT = '''\
import time
time.sleep(float(pause))
'''
PARAMS = 'case_dir = "../data/jlc2022"\nout_dir = "../build/jlc2022"\npause = 0\n'


def _kernel_processes(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_a_run_killed_outright_leaves_nothing_after_the_next_run(tmp_path):
    """SIGKILL to the run's whole process group while a kernel runs: its scratch (kernel
    connection file included) stays in TMPDIR until the next run, which removes it; the
    Jupyter runtime folder is never used."""
    tmp, runtime = tmp_path / "tmp", tmp_path / "runtime"
    tmp.mkdir()
    runtime.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "JUPYTER_RUNTIME_DIR": str(runtime)}
    nbs = tmp_path / "nbs"
    make_notebook(nbs / "w.ipynb", WAIT, params=PARAMS)
    argv = [sys.executable, "-m", "casekit", "run", "--case", str(SEED), "--out",
            str(tmp_path / "out"), "--notebooks-dir", str(nbs), "--notebook", "w.ipynb"]
    before = sorted(tmp.iterdir())
    run = subprocess.Popen(argv + ["-p", "pause", "60"], cwd=REPO, env=env,
                           start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp.rglob("*.json")):  # the kernel's connection file
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        # the kernel runs: its connection file is in the run's scratch, nowhere else
        assert [p.name for p in tmp.iterdir() if p.name.startswith("tmp")] == []
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    left = sorted(p.name for p in tmp.iterdir())
    assert any(name.startswith("casekit-run-") for name in left), left
    # the orphaned kernel notices that its parent is gone and ends
    deadline = time.monotonic() + 30
    while _kernel_processes(str(tmp)) and time.monotonic() < deadline:
        time.sleep(0.2)
    orphans = _kernel_processes(str(tmp))
    for pid in orphans:  # pragma: no cover - do not leave it running
        os.kill(pid, signal.SIGKILL)
    assert orphans == []
    again = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(tmp.iterdir()) == before
    assert list(runtime.iterdir()) == []
