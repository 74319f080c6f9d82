"""The case series on real Dask clusters (slow: clusters and kernels take seconds to start).

- a real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (ephemeral
  ports, bounded waits, always torn down) against the default LocalCluster: the same
  tables, byte for byte, and the same series.html;
- a SYNTHETIC 40-case series (casekit/series/synthetic.py) with one invalid case: the
  invalid one is listed and left out, the others match the in-process analysis byte for
  byte, the exit code says something was left out;
- progress lines and the terminal bar; per-case reports through the same executor.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from casekit import series
from casekit.series import synthetic
from casekit.series.run import run_series

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MIXED = [str(REPO / "data" / "jlc2022"), str(REPO / "data" / "demo-synthetic")]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.fixture
def dask_cluster(tmp_path):
    """``tcp://127.0.0.1:PORT`` of a scheduler with two single-threaded workers."""
    file = tmp_path / "scheduler.json"
    logs = [open(tmp_path / f"{name}.log", "wb") for name in ("scheduler", "w1", "w2")]
    common = dict(cwd=REPO, start_new_session=True, stderr=subprocess.STDOUT)
    processes = [subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
         "--no-dashboard", "--scheduler-file", str(file)], stdout=logs[0], **common)]
    try:
        deadline = time.monotonic() + 60
        while not file.exists():
            assert time.monotonic() < deadline, (tmp_path / "scheduler.log").read_text()
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written in one go, but let it finish
        address = json.loads(file.read_text())["address"]
        for log in logs[1:]:
            processes.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--host", "127.0.0.1", "--no-dashboard"], stdout=log, **common))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)
        for log in logs:
            log.close()


def test_external_cluster_gives_byte_identical_tables_and_report(dask_cluster, tmp_path):
    local = run_series(cases=MIXED, out_dir=tmp_path / "local", jobs=2, echo=lambda _: None)
    remote = run_series(cases=MIXED, out_dir=tmp_path / "remote", scheduler=dask_cluster,
                        echo=lambda _: None)
    assert local.exit_code == remote.exit_code == 0, (local.failures, remote.failures)
    local_files = _files(tmp_path / "local")
    remote_files = _files(tmp_path / "remote")
    tables = sorted(k for k in local_files if k.startswith("tables/"))
    assert "tables/endpoints.csv" in tables and "tables/series_response_rates.csv" in tables
    assert [k for k in tables if local_files[k] != remote_files.get(k)] == []
    assert local_files["series.html"] == remote_files["series.html"]
    figures = [k for k in local_files if k.startswith("figures/")]
    assert len(figures) == 12 and all(local_files[k] == remote_files[k] for k in figures)


def test_unreachable_scheduler_is_bad_input(tmp_path, capsys):
    from casekit import cli

    code = cli.main(["series", "--cases", *MIXED, "--out", str(tmp_path),
                     "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2 and "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_synthetic_series_on_a_local_cluster(tmp_path):
    cases = synthetic.write_series(tmp_path / "cases", 40)
    bad = cases[6]
    (bad / "timeline.csv").write_text("event_id,label\n", encoding="utf-8")
    lines: list[str] = []
    result = run_series(series=str(tmp_path / "cases"), out_dir=tmp_path / "out", jobs=2,
                        notebooks=False, echo=lines.append, tty=False)
    assert result.exit_code == 1
    assert [a.subject for a in result.left_out] == [bad.name]
    assert any(line.startswith(f"left out {bad.name}: invalid: ") for line in lines)
    assert lines[-1] == f"FAILED {bad.name}: {result.left_out[0].reason}"
    progress = [line for line in lines if line.startswith(("[ ok  ]", "[FAIL ]"))]
    assert len(progress) == 40 and progress[-1].endswith("(39 done, 1 failed, 0 left)")
    # The cluster's tables are the in-process analysis, byte for byte.
    here = series.load(None, [str(c) for c in cases])
    here.write(tmp_path / "here")
    assert _files(tmp_path / "here") == _files(tmp_path / "out" / "tables")
    assert len(here["subjects"]) == 39


def test_terminal_progress_bar(tmp_path, capsys):
    cases = synthetic.write_series(tmp_path / "cases", 3)
    run_series(cases=[str(c) for c in cases], out_dir=tmp_path / "out", jobs=1,
               notebooks=False, echo=lambda _: None, tty=True)
    out = capsys.readouterr().out
    assert "\rcases [" in out and "3/3: 3 done, 0 failed, 0 left\n" in out


def test_per_case_reports_through_the_same_executor(tmp_path):
    cases = synthetic.write_series(tmp_path / "cases", 1)
    result = run_series(cases=[str(cases[0])], out_dir=tmp_path / "out", jobs=1,
                        per_case_reports=True, notebooks=False, echo=lambda _: None)
    assert result.reports == {"SYN-0001": ""}
    assert (tmp_path / "out" / "cases" / "SYN-0001" / "report.html").is_file()
