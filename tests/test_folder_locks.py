"""Issue 19 item 4: every writing command (series, import-sdtm, export-sdtm, concordance, as
``run`` already was) holds its output folder alone, recovers a folder that a killed run of
it left, and never writes through a symbolic link inside OUT.

- A second command into a folder that one holds exits 2 at once, naming the holder's
  command, PID and start time, and changes nothing (the holder here is a lock taken by the
  test process itself: ``flock`` conflicts between two descriptors of one process too).
- A run that dies without any clean-up (simulated in-process: the lock is dropped and
  nothing after that point runs; the real SIGKILL is in the slow tests) leaves a folder the
  next run of the same command takes over, saying that the last run did not finish.
- A symbolic link to a folder anywhere in OUT is refused (exit 2) and nothing is written
  where it points.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from casekit import cli
from casekit.interop.sdtm import safe_name
from casekit.lock import OutLock
from casekit.owned import OwnedFolder
from casekit.run import runner
from casekit.series import run as series_run
from casekit.series import synthetic
from conftest import DATA, REPO, changed_entries, snapshot
from test_output_safety import _inline_cluster, _inline_gather

SEED = DATA / "jlc2022"
SDTM = DATA / "external" / "pharmaversesdtm"
ONE = "01-701-1015"  # a subject of the vendored SDTM data


@pytest.fixture
def inline_dask(monkeypatch):
    """The series in-process and without its notebooks (the folder rules do not depend on
    them; the cluster and the notebooks are tested in test_series*.py)."""
    monkeypatch.setattr(series_run, "cluster_client", _inline_cluster)
    monkeypatch.setattr(series_run, "_gather", _inline_gather)
    run_series = series_run.run_series
    monkeypatch.setattr(series_run, "run_series",
                        lambda *a, **k: run_series(*a, **{**k, "notebooks": False}))


@pytest.fixture
def two_cases(tmp_path) -> list[Path]:
    return [synthetic.write_case(tmp_path / "cases" / s, s, s) for s in ("A", "B")]


def _argv(command: str, out: Path, cases: list[Path]) -> list[str]:
    return {"series": lambda: ["series", "--cases", *map(str, cases), "--out", str(out)],
            "import-sdtm": lambda: ["import-sdtm", str(SDTM), "--subjects", ONE, "--out",
                                    str(out)],
            "export-sdtm": lambda: ["export-sdtm", "--case", str(SEED), "--out", str(out)],
            "concordance": lambda: ["concordance", *map(str, cases), "--out", str(out)],
            }[command]()


def _but_locks(before: dict, after: dict) -> list[str]:
    return [e for e in changed_entries(before, after) if not e.endswith(".casekit/lock")]


COMMANDS = ["series", "import-sdtm", "export-sdtm", "concordance"]


@pytest.fixture
def cases_for(tmp_path, two_cases):
    """Case folders for each command: concordance needs recorded responses (an import)."""
    def cases(command: str) -> list[Path]:
        if command != "concordance":
            return two_cases
        from casekit.interop.sdtm import import_sdtm

        imported = tmp_path / "imported"
        if not imported.exists():
            import_sdtm(SDTM, imported, subjects=[ONE], echo=lambda line: None)
        return [imported / safe_name(ONE)]
    return cases


# ------------------------------------------------------------------ one at a time


@pytest.mark.parametrize("command", COMMANDS)
def test_a_second_command_into_a_held_folder_exits_2_naming_the_holder(
        command, tmp_path, capsys, inline_dask, cases_for):
    out = tmp_path / "out"
    argv = _argv(command, out, cases_for(command))
    assert cli.main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    before = snapshot(out)
    started = time.monotonic()
    with OutLock(out / ".casekit" / "lock", {"command": command}):
        code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert time.monotonic() - started < 5  # at once, not after waiting
    assert (f"is being written by casekit {command} (PID {os.getpid()}, started "
            in err), err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert _but_locks(before, snapshot(out)) == []


def test_a_holder_of_another_command_is_named_too(tmp_path, capsys):
    """A folder just created by one command (nothing recorded yet) and held by it."""
    out = tmp_path / "out"
    with OutLock(out / ".casekit" / "lock", {"command": "import-sdtm"}):
        code = cli.main(_argv("export-sdtm", out, []))
    err = capsys.readouterr().err
    assert code == 2
    assert f"is being written by casekit import-sdtm (PID {os.getpid()}" in err, err


def test_a_command_that_writes_nothing_leaves_no_trace(tmp_path, capsys):
    out = tmp_path / "new" / "deeper"
    code = cli.main(["import-sdtm", str(tmp_path / "no-such-sdtm"), "--out", str(out)])
    assert code == 2
    assert not (tmp_path / "new").exists(), sorted(p.name for p in out.rglob("*"))


# ------------------------------------------------------------------ killed runs


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after the point where it is raised may run."""


def _drop_lock(owned: OwnedFolder) -> None:
    """Drop the lock as the kernel does for a killed process: no clean-up (the folder's
    close, record and status are not written)."""
    lock = getattr(owned, "_lock", None)
    if lock is not None and lock._fd is not None:
        os.close(lock._fd)
        lock._fd = None


def _die_here(owned: OwnedFolder) -> None:
    _drop_lock(owned)
    raise _Killed()


def test_a_series_killed_after_writing_its_tables_is_taken_over(tmp_path, two_cases,
                                                                monkeypatch, capsys,
                                                                inline_dask):
    out = tmp_path / "series"
    with monkeypatch.context() as patch:
        # the tables are written; the process dies before it records them
        patch.setattr(OwnedFolder, "record", lambda self, rels: _die_here(self))
        with pytest.raises(_Killed):
            cli.main(_argv("series", out, two_cases))
    assert (out / "tables").is_dir()
    record = json.loads((out / ".casekit" / "owned.json").read_text(encoding="utf-8"))
    assert record["command"] == "series" and record["status"] == "running"
    capsys.readouterr()
    assert cli.main(_argv("series", out, two_cases)) == 0
    printed = capsys.readouterr().out
    assert f"note: the 'casekit series' run into {out} by PID {os.getpid()}" in printed
    assert "did not finish; this run replaces its results" in printed
    record = json.loads((out / ".casekit" / "owned.json").read_text(encoding="utf-8"))
    assert record["status"] == "complete"
    tables = sorted(p.relative_to(out).as_posix() for p in (out / "tables").iterdir())
    assert tables and sorted(k for k in record["files"] if k.startswith("tables/")) == tables


def test_a_concordance_killed_between_import_and_tables_is_taken_over(tmp_path, capsys,
                                                                     monkeypatch):
    from casekit.interop import concordance

    out = tmp_path / "conc"
    argv = ["concordance", "--sdtm", str(SDTM), "--subjects", ONE, "--evaluator",
            "INVESTIGATOR", "--out", str(out)]
    with monkeypatch.context() as patch:
        def killed(*args, **kwargs):  # the cases are imported; the tables not yet written
            for folder in _held_folders():
                _drop_lock(folder)
            raise _Killed()

        patch.setattr(concordance, "concordance", killed)
        with pytest.raises(_Killed):
            cli.main(argv)
    assert (out / "cases").is_dir()
    capsys.readouterr()
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert "did not finish; this run replaces its results" in capsys.readouterr().out
    assert (out / "concordance_visits.csv").is_file()


def _held_folders() -> list[OwnedFolder]:
    import gc

    return [o for o in gc.get_objects() if isinstance(o, OwnedFolder)
            and getattr(o, "_lock", None) is not None and o._lock.held]


# ------------------------------------------------------------------ linked sub-folders


@pytest.mark.parametrize("command", COMMANDS)
def test_a_symlinked_sub_folder_in_out_is_refused(command, tmp_path, capsys, inline_dask,
                                                  cases_for):
    out = tmp_path / "out"
    argv = _argv(command, out, cases_for(command))
    assert cli.main(argv) == 0, capsys.readouterr().err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(out / "tables", ignore_errors=True)
    (out / "tables").symlink_to(elsewhere, target_is_directory=True)
    capsys.readouterr()
    before = snapshot(tmp_path)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: tables is a symbolic link (to {elsewhere})" in err, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert _but_locks(before, snapshot(tmp_path)) == []
    assert list(elsewhere.iterdir()) == []


def test_a_symlinked_folder_deeper_in_out_is_refused_by_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    (out / ".casekit").mkdir(parents=True)  # a run's folder
    (out / "figures").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "figures" / "more").symlink_to(elsewhere, target_is_directory=True)

    def never(*args, **kwargs):
        raise AssertionError("nothing may be executed")

    monkeypatch.setattr(runner, "_execute_many", never)
    code = cli.main(["run", "--case", str(SEED), "--out", str(out), "--notebook",
                     "02_timeline.ipynb"])
    err = capsys.readouterr().err
    assert code == 2
    assert "figures/more is a symbolic link" in err, err


def test_a_dangling_link_in_out_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(_argv("export-sdtm", out, [])) == 0
    (out / "later").symlink_to(tmp_path / "not-yet")
    capsys.readouterr()
    assert cli.main(_argv("export-sdtm", out, [])) == 2
    assert "later is a symbolic link" in capsys.readouterr().err


# ------------------------------------------------------------------ real processes


def _casekit(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "casekit", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, **kwargs)


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.slow
def test_two_series_at_once_the_second_exits_2_and_the_first_finishes(tmp_path, two_cases):
    out = tmp_path / "series"
    first = _casekit("series", "--cases", *map(str, two_cases), "--out", str(out),
                     "--jobs", "1")
    try:
        _wait_for(out / ".casekit" / "owned.json", first)
        second = subprocess.run([sys.executable, "-m", "casekit", "series", "--cases",
                                 *map(str, two_cases), "--out", str(out), "--jobs", "1"],
                                cwd=REPO, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second.stderr
        assert f"is being written by casekit series (PID {first.pid}, started " \
            in second.stderr
        stdout, stderr = first.communicate(timeout=300)
        assert first.returncode == 0, stdout + stderr
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()


@pytest.mark.slow
def test_a_series_killed_by_sigkill_is_taken_over_by_the_next(tmp_path, two_cases):
    out = tmp_path / "series"
    argv = ["series", "--cases", *map(str, two_cases), "--out", str(out), "--jobs", "1"]
    first = _casekit(*argv)
    try:
        _wait_for(out / "tables" / "subjects.csv", first)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the run and its Dask workers, at once
        first.wait()
    again = subprocess.run([sys.executable, "-m", "casekit", *argv], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"by PID {first.pid}" in again.stdout and "did not finish" in again.stdout
    assert (out / "series.html").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["import-sdtm", "export-sdtm"])
def test_an_import_or_export_killed_while_writing_is_taken_over(command, tmp_path):
    """SIGKILL in the middle of writing the files (the 3rd file written)."""
    out = tmp_path / "out"
    argv = _argv(command, out, [])
    kill = ("import os, signal, casekit.owned as o\n"
            "w, n = o.write_bytes, [0]\n"
            "def dying(*a):\n"
            "    n[0] += 1\n"
            "    if n[0] == 3: os.kill(os.getpid(), signal.SIGKILL)\n"
            "    return w(*a)\n"
            "o.write_bytes = dying\n"
            f"from casekit.cli import main; main({argv[:]!r})\n")
    died = subprocess.run([sys.executable, "-c", kill], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert died.returncode == -signal.SIGKILL, died.stderr
    again = subprocess.run([sys.executable, "-m", "casekit", *argv], cwd=REPO,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    record = json.loads((out / ".casekit" / "owned.json").read_text(encoding="utf-8"))
    assert record["status"] == "complete" and record["pending"] == {}


# ------------------------------------------------------------------ issue 19 item 3


def test_series_case_paths_that_do_not_exist_exit_2_before_anything_runs(
        tmp_path, two_cases, capsys, monkeypatch):
    """One line per missing path; nothing analysed, no cluster started, OUT not created."""
    def never(*args, **kwargs):
        raise AssertionError("nothing may run")

    monkeypatch.setattr(series_run, "cluster_client", never)
    monkeypatch.setattr(series_run, "import_default_series", never)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a case\n", encoding="utf-8")
    missing = [tmp_path / "nope", tmp_path / "cases" / "typo"]
    out = tmp_path / "out"
    code = cli.main(["series", "--cases", str(two_cases[0]), str(missing[0]),
                     str(two_cases[1]), str(missing[1]), str(a_file), "", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines() == [f"error: {missing[0]}: no such case folder (given to --cases)",
                                f"error: {missing[1]}: no such case folder (given to --cases)",
                                f"error: {a_file}: not a folder; --cases takes case folders",
                                "error: --cases got an empty path ('': an unset shell "
                                "variable?)"]
    assert not out.exists()


def test_a_call_that_raised_does_not_keep_the_folder_locked_in_its_process(tmp_path):
    """An interactive session keeps the last traceback, and with it the folder of the call
    that raised: the next call into that folder in the same process goes ahead."""
    from casekit.interop.sdtm import SdtmInputError, import_sdtm

    out = tmp_path / "imported"
    with pytest.raises(SdtmInputError) as kept:  # `kept` holds the traceback
        import_sdtm(tmp_path / "no-such-sdtm", out, echo=lambda line: None)
    summary = import_sdtm(SDTM, out, subjects=[ONE], echo=lambda line: None)
    assert summary.imported == [out / safe_name(ONE)]
    assert kept.value is not None


def test_a_folder_in_use_in_a_with_block_is_never_taken_over(tmp_path):
    out = tmp_path / "series"
    with OwnedFolder.open(out, "series", []) as held:
        held.claim(["tables"])
        with pytest.raises(Exception, match="is being written by casekit series "
                           f"\\(PID {os.getpid()}"):
            OwnedFolder.open(out, "series", [])
