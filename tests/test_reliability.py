"""Trustworthy and fast: determinism, untouched inputs, a harness that can fail, bad input
end to end, interrupted runs.

Notebook executions are the expensive part (1.5-2.5 s of kernel time each), so: the two
complete runs of the demo case come from the shared ``demo_runs`` fixture (conftest.py);
the claims check runs only notebook 07 (twice, module-scoped); nbval runs one notebook in
two layouts in a single pytest subprocess; bad input is checked in-process for every kind
and with one real subprocess.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from casekit import cli
from casekit.run import runner
from casekit.outputs import write_atomic
from conftest import DATA, DEMO_CASE, REPO, changed_entries, snapshot
from test_case import BAD_CASES, make_case

SEED = DATA / "jlc2022"
CLAIMS_NB = "07_claims_check.ipynb"
# The drift every "can fail" test injects: AFP after cycle 3, claim C08 (326.4 ng/mL).
AFP_C3 = "ct_c3,AFP,326.4,"
AFP_C3_DRIFTED = "ct_c3,AFP,362.4,"
LOCATED = re.compile(r"^(?P<file>.+):(?P<line>\d+):(?P<column>\d+): (?P<message>.+)$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk: length 0, type, CRC


def copy_seed(dest: Path, drift: bool) -> Path:
    case = shutil.copytree(SEED, dest)
    if drift:
        labs = case / "labs.csv"
        text = labs.read_text(encoding="utf-8")
        assert text.count(AFP_C3) == 1, "the seed case changed: update AFP_C3"
        labs.write_text(text.replace(AFP_C3, AFP_C3_DRIFTED), encoding="utf-8")
    return case


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def outputs(folder: Path) -> dict[str, bytes]:
    """The files a run leaves for the user: its bookkeeping in .casekit/ aside (the manifest
    records the hashes of the executed notebooks, which hold the absolute out_dir)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] != ".casekit"}


# ============================================================ the harness can fail


@pytest.fixture(scope="module")
def claims_runs(tmp_path_factory):
    """Notebook 07 alone on a drifted copy of the seed case, then on a faithful copy."""
    root = tmp_path_factory.mktemp("claims")
    runs = {}
    data_before = snapshot(DATA)
    for name, drift in (("drifted", True), ("faithful", False)):
        case = copy_seed(root / name / "case", drift)
        before = snapshot(case)
        lines: list[str] = []
        result = runner.run_collection(case, root / name / "out", echo=lines.append,
                                       notebook_names=[CLAIMS_NB])
        runs[name] = {"case": case, "out": root / name / "out", "result": result,
                      "lines": lines, "case_changed": changed_entries(before, snapshot(case))}
    runs["data_changed"] = changed_entries(data_before, snapshot(DATA))
    return runs


@pytest.mark.slow  # a whole collection run (or several): CI runs it via make test-slow
def test_claims_check_fails_on_a_drifted_value(claims_runs):
    run = claims_runs["drifted"]
    result = run["result"]
    assert result.exit_code == 1, "\n".join(run["lines"])
    assert [r.name for r in result.notebooks] == [CLAIMS_NB]
    [failed] = result.failed
    assert failed.ename == "ClaimsNotReproduced"
    assert "C08" in failed.error and "362.4" in failed.error, failed.error
    # exactly one claim broke: C09 (362.4 < 588.0) and C20 (1335.2 / 362.4 = 3.7 > 2)
    # still hold with the drifted value
    assert failed.error.startswith("ClaimsNotReproduced: 1 claim(s) do not reproduce")
    assert result.summary.startswith("1 notebook: 0 ok, 1 failed in ")
    assert any(line.startswith("FAILED 07_claims_check.ipynb") and "C08" in line
               for line in run["lines"]), run["lines"]
    # the table of recomputed claims (written before the verdict cell) says which and why
    rows = {r["claim_id"]: r for r in read_rows(run["out"] / "tables" / "claims.csv")}
    assert (rows["C08"]["expected"], rows["C08"]["computed"]) == ("326.4", "362.4")
    assert rows["C08"]["outcome"] == "does not reproduce"
    assert [c for c, r in rows.items() if r["outcome"] == "does not reproduce"] == ["C08"]
    # the executed copy keeps the error, and the report says the run is incomplete
    nb = json.loads((run["out"] / "notebooks" / CLAIMS_NB).read_text(encoding="utf-8"))
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["ClaimsNotReproduced"]
    assert "Incomplete run" in (run["out"] / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow  # a whole collection run (or several): CI runs it via make test-slow
def test_claims_check_passes_on_the_faithful_copy(claims_runs):
    run = claims_runs["faithful"]
    result = run["result"]
    assert result.exit_code == 0, "\n".join(run["lines"])
    assert [(r.name, r.ok) for r in result.notebooks] == [(CLAIMS_NB, True)]
    rows = read_rows(run["out"] / "tables" / "claims.csv")
    listed = read_rows(SEED / "claims.csv")
    assert [r["claim_id"] for r in rows] == [r["claim_id"] for r in listed]
    outcomes = {r["claim_id"]: r["outcome"] for r in rows}
    # every claim reproduces except those the case declares known differences (C24)
    known = {r["claim_id"] for r in listed if r["known_difference"]}
    assert known and {c for c, o in outcomes.items() if o != "reproduced"} == known
    assert {outcomes[c] for c in known} == {"known difference"}
    assert {r["claim_id"]: r["computed"] for r in rows}["C08"] == "326.4"


@pytest.mark.slow  # a whole collection run (or several): CI runs it via make test-slow
def test_a_failing_run_leaves_its_inputs_untouched(claims_runs):
    assert claims_runs["drifted"]["result"].exit_code == 1  # it did fail
    for name in ("drifted", "faithful"):
        assert claims_runs[name]["case_changed"] == [], name
    assert claims_runs["data_changed"] == []


@pytest.fixture(scope="module")
def nbval_runs(tmp_path_factory):
    """nbval over the stored notebook 03 in two layouts, in ONE pytest subprocess:
    ``drifted/notebooks/03...`` whose ``../data/jlc2022`` has the changed AFP value, and
    ``faithful/notebooks/03...`` with an exact copy. The kernel's working directory is the
    notebook's folder, so the notebook's default ``case_dir = "../data/jlc2022"`` resolves
    to the copy (and its ``out_dir = "../build/jlc2022"`` stays inside tmp)."""
    root = tmp_path_factory.mktemp("nbval")
    name = "03_tumour_markers.ipynb"
    targets = {}
    for layout, drift in (("drifted", True), ("faithful", False)):
        copy_seed(root / layout / "data" / "jlc2022", drift)
        (root / layout / "notebooks").mkdir()
        shutil.copy2(REPO / "notebooks" / name, root / layout / "notebooks" / name)
        targets[layout] = f"{layout}/notebooks/{name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # -c /dev/null: the repository's pyproject (addopts, testpaths, filterwarnings) must
    # not apply; --rootdir pins the root that -c would otherwise move to /dev.
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env",
         "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(root),
         "-q", "-rA", targets["drifted"], targets["faithful"]],
        cwd=root, env=env, capture_output=True, text=True, timeout=300)
    outcomes: dict[str, dict[str, str]] = {"drifted": {}, "faithful": {}}
    for line in proc.stdout.splitlines():
        match = re.match(r"^(PASSED|FAILED|ERROR) (\w+)/notebooks/\S+?::(Cell \d+)", line)
        if match:
            outcomes[match[2]][match[3]] = match[1]
    code_cells = sum(c["cell_type"] == "code" for c in json.loads(
        (REPO / "notebooks" / name).read_text(encoding="utf-8"))["cells"])
    return {"proc": proc, "outcomes": outcomes, "code_cells": code_cells}


@pytest.mark.slow  # a whole collection run (or several): CI runs it via make test-slow
def test_nbval_catches_drift_in_the_data(nbval_runs):
    proc, outcomes = nbval_runs["proc"], nbval_runs["outcomes"]
    report = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 1, report  # 1 = some tests failed (not a usage error)
    drifted = outcomes["drifted"]
    assert len(drifted) == nbval_runs["code_cells"], report
    # code cell 3 shows the marker table (cell 2 lists the case's markers), whose AFP row
    # after cycle 3 now reads 362.4
    assert drifted["Cell 3"] == "FAILED", drifted
    assert drifted["Cell 0"] == "PASSED"  # the parameters cell did not change


@pytest.mark.slow  # a whole collection run (or several): CI runs it via make test-slow
def test_nbval_passes_on_the_faithful_copy(nbval_runs):
    proc, outcomes = nbval_runs["proc"], nbval_runs["outcomes"]
    faithful = outcomes["faithful"]
    assert len(faithful) == nbval_runs["code_cells"], proc.stdout[-3000:]
    assert set(faithful.values()) == {"PASSED"}, faithful


# ============================================================ bad input end to end


def _bad_case(tmp_path: Path, edits, file: str, column: int, fragment: str) -> tuple[Path, int]:
    """The bad case as tests/test_case.py builds it (the non-UTF-8 one needs a raw byte)."""
    if fragment == "is not UTF-8":
        case = make_case(tmp_path, {})
        path = case / file
        path.write_bytes(path.read_bytes().replace(b"fixture\nscan2", b"fixtur\xe9\nscan2"))
        return case, len("scan1,AFP,100,ng/mL,assumed,test fixtur") + 1
    return make_case(tmp_path, edits), column


@pytest.mark.parametrize("edits,file,line,column,fragment",
                         [case[1:] for case in BAD_CASES], ids=[case[0] for case in BAD_CASES])
def test_run_rejects_bad_input_before_executing_anything(tmp_path, capsys, monkeypatch,
                                                         edits, file, line, column, fragment):
    case, column = _bad_case(tmp_path, edits, file, column, fragment)
    out = tmp_path / "out"
    before = snapshot(case)

    def must_not_run(*args, **kwargs):
        raise AssertionError("a notebook was executed for an invalid case")

    monkeypatch.setattr(runner, "_execute_many", must_not_run)
    code = cli.main(["run", "--case", str(case), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert not out.exists()
    assert snapshot(case) == before
    assert "Traceback" not in captured.out + captured.err
    assert "[start]" not in captured.out
    *problems, last = captured.out.splitlines()
    assert problems and last.endswith("; nothing was run"), captured.out
    located = [LOCATED.match(p) for p in problems]
    assert all(located), problems
    hits = [m for m in located if Path(m["file"]).name == file and fragment in m["message"]]
    assert hits, problems
    assert (int(hits[0]["line"]), int(hits[0]["column"])) == (line, column), problems
    assert Path(hits[0]["file"]).resolve() == (case / file).resolve()


def test_run_subprocess_exits_2_with_located_messages_and_no_traceback(tmp_path):
    # two kinds at once: a bad number and a missing file
    case = make_case(tmp_path, {"labs.csv": ("scan1,AFP,100,", 'scan1,AFP,"1,470",'),
                                "lesions.csv": None})
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "casekit", "run", "--case", str(case),
                           "--out", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "[start]" not in proc.stdout
    *problems, last = proc.stdout.splitlines()
    assert len(problems) == 2 and all(LOCATED.match(p) for p in problems), proc.stdout
    assert [Path(LOCATED.match(p)["file"]).name for p in problems] == ["labs.csv", "lesions.csv"]
    assert last == f"2 problem(s) in {case}; nothing was run"
    assert not out.exists()


# ============================================================ interrupted runs


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("error", [Interrupted, KeyboardInterrupt])
@pytest.mark.parametrize("existed", [False, True], ids=["new", "existing"])
def test_write_atomic_failing_midway_leaves_nothing_half_written(tmp_path, error, existed):
    target = tmp_path / "tables" / "response.csv"
    old = b"event_id,criteria\nct1,RECIST1.1\n"
    if existed:
        target.parent.mkdir()
        target.write_bytes(old)
    seen = {}

    def write(handle):
        handle.write(b"event_id,criteria\n")
        handle.flush()
        seen["temp"] = Path(os.readlink(f"/proc/self/fd/{handle.fileno()}"))
        seen["listing"] = sorted(p.name for p in target.parent.iterdir())
        # midway: the target is still the old file (or absent), the bytes go elsewhere
        seen["target_meanwhile"] = target.read_bytes() if target.exists() else None
        raise error("killed midway")

    with pytest.raises(error):
        write_atomic(target, write)
    assert seen["temp"].parent == target.parent and seen["temp"] != target
    assert seen["temp"].name.startswith(".response.csv.") and seen["temp"].name.endswith(".part")
    assert seen["listing"] == sorted([seen["temp"].name] + (["response.csv"] if existed else []))
    assert seen["target_meanwhile"] == (old if existed else None)
    if existed:
        assert target.read_bytes() == old
    else:
        assert not target.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == (["response.csv"] if existed else [])


def test_write_atomic_success_replaces_whole_file(tmp_path):
    target = tmp_path / "t.csv"
    target.write_bytes(b"old\n")
    write_atomic(target, lambda h: (h.write(b"new,"), h.write(b"content\n")))
    assert target.read_bytes() == b"new,content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def _check_complete(path: Path) -> None:
    data = path.read_bytes()
    suffix = path.suffix
    if suffix == ".png":
        assert data.startswith(PNG_SIGNATURE) and data.endswith(PNG_END), path
    elif suffix == ".svg":
        assert data.startswith(b"<?xml") and data.endswith(b"</svg>\n"), path
    elif suffix == ".csv":
        rows = list(csv.reader(data.decode("utf-8").splitlines()))
        assert rows and data.endswith(b"\n"), path
        assert all(len(r) == len(rows[0]) for r in rows), path
    elif suffix == ".ipynb":
        nb = json.loads(data)
        assert nb["cells"] and "nbformat" in nb, path
    elif suffix == ".html":
        assert data.endswith(b"</html>\n"), path
    elif path.name == "manifest.json":
        assert json.loads(data)["case"], path
    else:
        assert path.name == "lock" and path.parent.name == ".casekit", path


def _kill_run(proc: subprocess.Popen) -> None:
    """SIGKILL a ``casekit run`` started with ``start_new_session=True``, kernels included.

    Freeze its process group (the CLI and its pool workers) so that nothing new starts,
    collect every descendant (jupyter_client starts kernels in sessions of their own, so
    the group does not hold them), then SIGKILL the group and each descendant by pid."""
    try:
        os.killpg(proc.pid, signal.SIGSTOP)
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except (ProcessLookupError, psutil.NoSuchProcess):
        descendants = []
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for child in descendants:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=30)
    psutil.wait_procs(descendants, timeout=30)


@pytest.mark.slow  # a whole collection run (or several): CI runs it via make test-slow
def test_killed_run_leaves_no_truncated_file_that_looks_finished(tmp_path):
    out = tmp_path / "out"
    scratch = tmp_path / "scratch"  # papermill's scratch notebooks, kernel connection files
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "JUPYTER_RUNTIME_DIR": str(scratch)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "casekit", "run", "--case", str(DEMO_CASE), "--out", str(out)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    trigger = None
    deadline = time.monotonic() + 30  # under load the first figure can take a while
    finished_early = None
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                finished_early = proc.returncode
                break
            # notebooks write into OUT/.casekit/work/<notebook>/ until the run ends
            done = sorted(out.rglob("*.png")) if out.is_dir() else []
            if done:
                trigger = done[0]
                break
            time.sleep(0.01)
    finally:
        if proc.returncode is None:  # still running (not yet reaped: its pid is still ours)
            _kill_run(proc)
    if finished_early is not None:  # it beat us: then it must have succeeded
        assert finished_early == 0
    else:
        assert trigger is not None, "no figure appeared within 30 s"
    checked = []
    for path in sorted(out.rglob("*")):
        if path.is_dir() or (path.name.startswith(".") and path.name.endswith(".part")):
            continue  # temporary names may remain after a kill
        _check_complete(path)
        checked.append(path)
    if trigger is not None:
        assert trigger in checked


# ============================================================ determinism, inputs


@pytest.mark.slow  # a whole collection run (or several): CI runs it via make test-slow
def test_demo_runs_leave_data_untouched(demo_runs):
    assert demo_runs.data_changed == []


@pytest.mark.slow  # a whole collection run (or several): CI runs it via make test-slow
def test_two_runs_give_the_same_files(demo_runs):
    first, second = outputs(demo_runs.first), outputs(demo_runs.second)
    assert sorted(first) == sorted(second)
    expected_kinds = {"figures/timeline.png", "figures/timeline.svg", "tables/response.csv",
                      "notebooks/07_claims_check.ipynb", "report.html"}
    assert expected_kinds <= set(first)
    assert not [name for name in first if name.endswith(".part")]
    out1 = json.dumps(str(demo_runs.first))[1:-1]  # as it appears inside notebook JSON
    out2 = json.dumps(str(demo_runs.second))[1:-1]
    differ = []
    for name, data in first.items():
        other = second[name]
        if name.startswith("notebooks/"):
            # The injected-parameters cell records the absolute out_dir, which necessarily
            # differs between two output folders; it must be the only difference.
            text1, text2 = data.decode("utf-8"), other.decode("utf-8")
            assert text1.count(out1) == 1 and text2.count(out2) == 1, name
            data, other = text1.replace(out1, "<OUT>"), text2.replace(out2, "<OUT>")
        if data != other:
            differ.append(name)
    assert differ == []


@pytest.mark.slow  # a whole collection run (or several): CI runs it via make test-slow
def test_executed_notebooks_differ_only_in_the_injected_out_dir(demo_runs):
    # pins down where the path sits: in the injected-parameters cell, nowhere else
    for path in sorted((demo_runs.first / "notebooks").iterdir()):
        nb = json.loads(path.read_text(encoding="utf-8"))
        holding = [c for c in nb["cells"] if str(demo_runs.first) in "".join(c["source"])
                   or str(demo_runs.first) in json.dumps(c.get("outputs", []))]
        assert len(holding) == 1, path.name
        assert "injected-parameters" in holding[0]["metadata"].get("tags", []), path.name
        assert holding[0].get("outputs", []) == []
