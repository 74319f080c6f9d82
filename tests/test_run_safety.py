"""Issue 9, items 1-5: a run never deletes, overwrites or embeds a file it did not write,
never mixes two cases in one report, and never leaves a report that looks current after an
interruption.

Most checks need no kernel: a run with an empty notebook list still checks, locks and
writes its report and manifest. The few that execute use one tiny notebook (test_runner's
``make_notebook``) that writes one figure and one table, about a second of kernel time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from casekit import cli
from casekit.run import runner
from conftest import DATA, DEMO_CASE, REPO, changed_entries, snapshot
from test_runner import PNG_1PX, make_notebook

SEED = DATA / "jlc2022"
SEED_TITLE = "Concurrent transarterial radioembolization"

WRITE = '''\
import base64, time
from pathlib import Path
out = Path(out_dir)
(out / "figures").mkdir(parents=True, exist_ok=True)
(out / "tables").mkdir(parents=True, exist_ok=True)
(out / "figures" / "timeline.png").write_bytes(base64.b64decode("{png}"))
(out / "tables" / "response.csv").write_text("case\\n" + Path(case_dir).name + "\\n")
time.sleep(float(pause))
'''.format(png=PNG_1PX)
PARAMS = 'case_dir = "../data/jlc2022"\nout_dir = "../build/jlc2022"\npause = 0\n'


@pytest.fixture
def nbs(tmp_path) -> Path:
    folder = tmp_path / "nbs"
    make_notebook(folder / "w.ipynb", WRITE, params=PARAMS)
    return folder


def run(case, out, *extra, nbs=None, notebooks=("w.ipynb",), capsys=None):
    argv = ["run", "--case", str(case), "--out", str(out)]
    if nbs is not None:
        argv += ["--notebooks-dir", str(nbs)]
    for name in notebooks:
        argv += ["--notebook", name]
    return cli.main(argv + list(extra))


def changed_but_lock(before, after) -> list[str]:
    """Changed entries, the lock file aside (a refused run may still have taken the lock)."""
    return [e for e in changed_entries(before, after) if e != ".casekit/lock"]


def never(*args, **kwargs):
    raise AssertionError("nothing may be executed")


# ------------------------------------------------------------ refused folders


def _case_copy(tmp_path: Path) -> Path:
    return shutil.copytree(SEED, tmp_path / "case")


@pytest.mark.parametrize("where", ["empty", "blank", "repo", "repo-parent", "notebooks",
                                   "data", "data-sub", "case", "inside-case", "holds-case",
                                   "link-to-case", "user-folder", "old-casekit", "a-file"])
def test_unsafe_out_folders_are_refused_with_exit_2(tmp_path, capsys, monkeypatch, where):
    case = _case_copy(tmp_path)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "report.html").write_text("my own report")
    (user / "figures").mkdir()
    (user / "figures" / "holiday.png").write_bytes(b"\x89PNG mine")
    old = tmp_path / "old"
    (old / "figures").mkdir(parents=True)
    (old / ".casekit-run").write_text("Written by 'casekit run'")
    (tmp_path / "link").symlink_to(case / "")
    (tmp_path / "file").write_text("x")
    out = {"empty": "", "blank": "  ", "repo": str(REPO), "repo-parent": str(REPO.parent),
           "notebooks": str(REPO / "notebooks"), "data": str(REPO / "data"),
           "data-sub": str(REPO / "data" / "new-out"), "case": str(case),
           "inside-case": str(case / "out"), "holds-case": str(tmp_path),
           "link-to-case": str(tmp_path / "link" / "out"), "user-folder": str(user),
           "old-casekit": str(old), "a-file": str(tmp_path / "file")}[where]
    monkeypatch.setattr(runner, "_execute_many", never)
    monkeypatch.chdir(user)  # where --out "" would land: the user's own folder
    before = snapshot(tmp_path)
    repo_top = sorted(p.name for p in REPO.iterdir())
    code = cli.main(["run", "--case", str(case), "--out", out])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    expected = {"empty": "--out is empty", "blank": "--out is empty",
                "user-folder": "not empty and not a casekit output folder",
                "old-casekit": "older casekit", "a-file": "is not a folder"}
    assert expected.get(where, "give it a folder of its own") in err, err
    assert changed_entries(before, snapshot(tmp_path)) == []
    assert sorted(p.name for p in REPO.iterdir()) == repo_top
    assert not (REPO / "data" / "new-out").exists()


@pytest.mark.slow  # two runs of the collection: make test-slow / CI
def test_a_folder_of_casekit_output_and_user_files_keeps_the_user_files(tmp_path, nbs):
    case, out = _case_copy(tmp_path), tmp_path / "out"
    assert run(case, out, nbs=nbs) == 0
    mine = {"figures/holiday.png": b"\x89PNG mine", "tables/budget.csv": b"a,b\n1,2\n",
            "notes.txt": b"mine"}
    for rel, data in mine.items():
        (out / rel).write_bytes(data)
    assert run(case, out, "--force", nbs=nbs) == 0
    for rel, data in mine.items():
        assert (out / rel).read_bytes() == data, rel  # neither deleted nor overwritten
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "holiday" not in report and "budget" not in report  # nor embedded
    assert "timeline.png" in report


def test_a_user_edit_of_a_casekit_file_is_never_overwritten(tmp_path, nbs, capsys):
    case, out = _case_copy(tmp_path), tmp_path / "out"
    assert run(case, out, nbs=nbs) == 0
    (out / "tables" / "response.csv").write_text("my corrected table\n")
    before = snapshot(out)
    assert run(case, out, "--force", nbs=nbs) == 2
    assert "response.csv was changed after casekit wrote it" in capsys.readouterr().err
    assert changed_but_lock(before, snapshot(out)) == []


def test_manifest_records_case_inputs_parameters_and_every_file(tmp_path, nbs):
    case, out = _case_copy(tmp_path), tmp_path / "out"
    assert run(case, out, "-p", "pause", "0", nbs=nbs) == 0
    manifest = json.loads((out / ".casekit" / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["case"]["path"] == str(case.resolve()) and manifest["case"]["name"] == "case"
    assert manifest["parameters"] == {"pause": 0}
    files = {p.relative_to(out).as_posix() for p in out.rglob("*")
             if p.is_file() and ".casekit" not in p.parts}
    assert set(manifest["files"]) == files == {"figures/timeline.png", "tables/response.csv",
                                               "notebooks/w.ipynb", "report.html"}
    assert manifest["notebooks"]["w.ipynb"]["files"] == sorted(files - {"report.html"})
    report = (out / "report.html").read_text(encoding="utf-8")
    # the report states the case, the inputs' content hash and the parameters
    assert manifest["case"]["inputs_hash"] in report
    assert "case folder &ldquo;case&rdquo;" in report and "pause = 0" in report


# ------------------------------------------------------------ two cases, one folder


def test_a_notebook_run_of_another_case_into_a_case_folder_is_refused(tmp_path, nbs, capsys):
    case_a, out = _case_copy(tmp_path), tmp_path / "out"
    case_b = shutil.copytree(DEMO_CASE, tmp_path / "case_b")
    assert run(case_a, out, nbs=nbs) == 0
    before = snapshot(out)
    assert run(case_b, out, nbs=nbs) == 2
    err = capsys.readouterr().err
    assert "holds the results of another case ('case'" in err
    assert changed_but_lock(before, snapshot(out)) == []
    assert SEED_TITLE in (out / "report.html").read_text(encoding="utf-8")


def test_a_second_run_into_a_locked_folder_exits_2_naming_the_holder(tmp_path, capsys,
                                                                     monkeypatch):
    from casekit.lock import OutLock

    out = tmp_path / "out"
    (out / ".casekit").mkdir(parents=True)
    monkeypatch.setattr(runner, "_execute_many", never)
    with OutLock(out / ".casekit" / "lock", {"command": "run", "case": "A"}):
        code = run(SEED, out, notebooks=())
    err = capsys.readouterr().err
    assert code == 2
    assert f"is being written by casekit run (PID {os.getpid()}, started " in err
    assert "wait for it or choose another --out" in err
    assert sorted(p.name for p in out.iterdir()) == [".casekit"]  # nothing written


def test_a_lock_left_by_a_dead_run_is_taken_over_with_a_note(tmp_path):
    out = tmp_path / "out"
    (out / ".casekit").mkdir(parents=True)
    (out / ".casekit" / "lock").write_text(json.dumps({"pid": 999999999, "started": "then"}))
    lines: list[str] = []
    result = runner.run_collection(SEED, out, echo=lines.append, notebook_names=[])
    assert result.exit_code == 0
    assert any("by PID 999999999 (started then) did not finish" in line for line in lines)
    assert (out / ".casekit" / "lock").read_text() == ""  # released cleanly


@pytest.mark.slow
def test_two_runs_at_once_never_mix_two_cases(tmp_path, nbs):
    """Real processes: run A holds the folder while its notebook sleeps; run B of another
    case into the same folder exits 2 at once, naming A's PID; A's report is all A."""
    case_a, out = _case_copy(tmp_path), tmp_path / "out"
    case_b = shutil.copytree(DEMO_CASE, tmp_path / "case_b")
    cmd = [sys.executable, "-m", "casekit", "run", "--notebooks-dir", str(nbs), "--notebook",
           "w.ipynb", "--out", str(out)]
    first = subprocess.Popen(cmd + ["--case", str(case_a), "-p", "pause", "4"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    manifest = out / ".casekit" / "manifest.json"
    deadline = time.monotonic() + 60
    while not manifest.exists() and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    second = subprocess.run(cmd + ["--case", str(case_b)], capture_output=True, text=True,
                            timeout=120)
    out_a, err_a = first.communicate(timeout=120)
    assert first.returncode == 0, out_a + err_a
    assert second.returncode == 2, second
    assert f"being written by casekit run (PID {first.pid}," in second.stderr
    report = (out / "report.html").read_text(encoding="utf-8")
    assert SEED_TITLE in report and "case_b" not in report
    assert (out / "tables" / "response.csv").read_text() == "case\ncase\n"


# ------------------------------------------------------------ interrupted runs


def test_an_interrupted_run_replaces_the_previous_report(tmp_path, monkeypatch, capsys):
    case_b = shutil.copytree(DEMO_CASE, tmp_path / "case_b")
    out = tmp_path / "out"
    # case A, complete (no notebook: the report alone, which is what matters here)
    assert runner.run_collection(SEED, out, echo=None, notebook_names=[]).exit_code == 0
    assert SEED_TITLE in (out / "report.html").read_text(encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_execute_many", interrupted)
    assert cli.main(["run", "--case", str(case_b), "--out", str(out)]) == 130
    page = (out / "report.html").read_text(encoding="utf-8")
    assert SEED_TITLE not in page  # A's complete-looking report is gone
    assert "No report" in page and "interrupted" in page and "case_b" in page
    manifest = json.loads((out / ".casekit" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert not (out / ".casekit" / "work").exists()
