"""How long `casekit run` takes, next to the naive way and next to a floor.

Measured in one run on this machine, interleaved (a, b, c, a, b, c, ...) so that background
load hits all three alike, each ``--reps`` times (default 3); the medians are compared:

(a) ``python -m casekit run --case CASE --out TMP``: the whole command as a user runs it
    (Python start-up, validation, the parallel pool, the report), wall time;
(b) the naive way: ``python -m papermill NB TMP/NB -p case_dir ... -p out_dir ... --cwd
    notebooks`` once per notebook of the collection, one after the other, total wall time;
(c) the floor: as many trivial notebooks (a parameters cell, ``import pandas``,
    ``import matplotlib``) executed by the same command, ``casekit run --notebooks-dir``;
(d) a no-op re-run: (a)'s command again, at once, into (a)'s output folder, nothing
    changed, so every notebook is reused (issue 14, incremental runs).

Targets: a/b <= 0.5 (the runner at least halves the naive time) and a/c <= 1.5 (the real
collection costs at most half again as much as starting that many kernels that only import
the libraries); d/a <= 0.15 (re-running with nothing changed costs at most 15 % of a full
run). Next to the wall times, the CPU time of each command and its children
(workers, kernels) is shown; it moves less with background load. On an idle machine the
wall ratio a/c is below the CPU ratio (the floor spends a larger share of its time waiting
on kernel start-up); on a busy one it drifts up towards it, or beyond.

A MISS is a result, not an error: the exit code is 0 whenever every command ran; 1 when a
measured command failed (its timing would mean nothing); 2 for bad arguments.
The results also go to ``build/bench.json``.

Usage: ``make bench`` or ``.venv/bin/python benchmarks/bench.py [--reps N] [--jobs N]
[--case DIR] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS_FILE = REPO / "casekit" / "run" / "notebooks.txt"
DEFAULT_CASE = REPO / "data" / "jlc2022"
DEFAULT_JSON = REPO / "build" / "bench.json"
TARGETS = {"a/b": 0.5, "a/c": 1.5, "d/a": 0.15}
LABELS = {
    "a": "casekit run (parallel runner)",
    "b": "papermill CLI, once per notebook",
    "c": "floor: trivial notebooks, runner",
    "d": "casekit run again, nothing changed",
}
KEYS = "abcd"

EXIT_OK, EXIT_FAILED, EXIT_BAD_ARGS = 0, 1, 2


class BadArguments(Exception):
    pass


class CommandFailed(Exception):
    pass


# ------------------------------------------------------------------ set-up


def collection_names() -> list[str]:
    names = []
    for line in NOTEBOOKS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def write_floor_notebooks(folder: Path, names: list[str]) -> None:
    """One trivial notebook per collection name, so ``casekit run --notebooks-dir`` (which
    takes the names from casekit/notebooks.txt) runs the same number of them."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        params = new_code_cell('case_dir = "../data/jlc2022"\nout_dir = "../build/floor"',
                               metadata={"tags": ["parameters"]})
        body = new_code_cell("import pandas\nimport matplotlib")
        nb = new_notebook(cells=[params, body], metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}})
        nbformat.write(nb, str(folder / name))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "cpu": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "casekit": version("casekit"),
        "papermill": version("papermill"),
        "nbformat": version("nbformat"),
    }


def loadavg() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


# ---------------------------------------------------------------- timing


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far: the commands,
    their workers and their kernels (each is waited for by its parent)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Timing:
    """Wall and CPU seconds, summed over the commands of one measurement."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0


def timed(cmd: list[str], log: Path, timing: Timing | None = None) -> Timing:
    """Run one command (from the repository folder), its output to ``log``; add its wall
    time and CPU time to ``timing``."""
    timing = timing or Timing()
    with open(log, "ab") as out:
        out.write(("$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        cpu = children_cpu()
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT)
        timing.wall += time.perf_counter() - start
        timing.cpu += children_cpu() - cpu
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise CommandFailed(f"exit {proc.returncode}: {' '.join(cmd)}\n  "
                            + "\n  ".join(tail))
    return timing


def run_a(py: str, case: str, out: Path, jobs: int | None, log: Path) -> Timing:
    cmd = [py, "-m", "casekit", "run", "--case", case, "--out", str(out)]
    return timed(cmd + (["--jobs", str(jobs)] if jobs else []), log)


def run_b(py: str, case: str, out: Path, names: list[str], log: Path) -> Timing:
    out.mkdir(parents=True)
    total = Timing()
    for name in names:
        timed([py, "-m", "papermill", f"notebooks/{name}", str(out / name),
               "-p", "case_dir", str((REPO / case).resolve()),
               "-p", "out_dir", str(out), "--cwd", "notebooks"], log, total)
    return total


def run_c(py: str, case: str, out: Path, floor_dir: Path, jobs: int | None,
          log: Path) -> Timing:
    cmd = [py, "-m", "casekit", "run", "--case", case, "--out", str(out),
           "--notebooks-dir", str(floor_dir)]
    return timed(cmd + (["--jobs", str(jobs)] if jobs else []), log)


# ---------------------------------------------------------------- report


def render(result: dict) -> str:
    m = result["machine"]
    lines = [f"casekit benchmark: {len(result['notebooks'])} notebooks, "
             f"{result['reps']} repetition(s) interleaved a,d,b,c; "
             f"jobs={result['jobs'] or 'default'}; case {result['case']}",
             "",
             f"     {'what':<34}{'median':>9}   {'runs (s)':<16}{'CPU (median)':>12}"]
    for key in KEYS:
        runs = " ".join(f"{s:.1f}" for s in result["seconds"][key])
        lines.append(f" ({key}) {LABELS[key]:<34}{result['median'][key]:>7.1f} s   {runs:<16}"
                     f"{result['median_cpu'][key]:>10.1f} s")
    lines.append("")
    for ratio, target in TARGETS.items():
        value = result["ratios"][ratio]
        verdict = "PASS" if result["targets"][ratio]["pass"] else "MISS"
        lines.append(f" {ratio} = {value:.3f}   target <= {target:.2f}   {verdict}"
                     f"   (CPU time {ratio} = {result['cpu_ratios'][ratio]:.3f})")
    loads = ", ".join("-" if v is None else f"{v:.2f}" for v in result["loadavg"])
    lines += ["",
              f"machine: {m['cpu_count']} CPUs ({m['usable_cpus']} usable), {m['cpu']}; "
              f"{m['platform']}",
              f"python {m['python']} ({m['executable']}); casekit {m['casekit']}, "
              f"papermill {m['papermill']}, nbformat {m['nbformat']}",
              f"1-min load average before each repetition and at the end: {loads}",
              f"wrote {result['json']}"]
    return "\n".join(lines)


# ------------------------------------------------------------------ main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench.py", description="Time casekit run against the papermill CLI (naive) "
        "and against trivial notebooks (floor); print medians and ratios.")
    parser.add_argument("--reps", type=int, default=3, metavar="N",
                        help="repetitions of each measurement (default 3)")
    parser.add_argument("--jobs", type=int, metavar="N",
                        help="--jobs for casekit run (default: its own, the CPU count)")
    parser.add_argument("--case", default=str(DEFAULT_CASE), metavar="DIR",
                        help="the case folder (default data/jlc2022)")
    parser.add_argument("--json", default=str(DEFAULT_JSON), metavar="PATH",
                        help="where to write the results (default build/bench.json)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed the message; --help exits 0
        raise SystemExit(EXIT_BAD_ARGS if exc.code else EXIT_OK) from None
    if args.reps < 1:
        raise BadArguments(f"--reps must be at least 1, not {args.reps}")
    if args.jobs is not None and args.jobs < 1:
        raise BadArguments(f"--jobs must be at least 1, not {args.jobs}")
    case = Path(args.case).resolve()
    if not case.is_dir():
        raise BadArguments(f"--case {args.case}: not a folder")
    # Pass the case as a user in the repository folder would type it.
    try:
        args.case = str(case.relative_to(REPO))
    except ValueError:
        args.case = str(case)
    args.json = Path(args.json).resolve()
    if args.json.is_dir():
        raise BadArguments(f"--json {args.json}: is a folder")
    return args


def _ratio(values: dict[str, float], ratio: str) -> float:
    top, bottom = ratio.split("/")
    return values[top] / values[bottom]


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except BadArguments as exc:
        print(f"bench.py: error: {exc}", file=sys.stderr)
        return EXIT_BAD_ARGS
    try:
        import nbformat  # noqa: F401  (needed to write the floor notebooks)
    except ImportError:
        print("bench.py: error: nbformat is not importable; run it with the project's "
              "virtualenv: make bench", file=sys.stderr)
        return EXIT_BAD_ARGS
    for module in ("casekit", "papermill"):
        probe = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO,
                               capture_output=True)
        if probe.returncode:
            print(f"bench.py: error: {sys.executable} cannot import {module}; run it with "
                  "the project's virtualenv: make bench", file=sys.stderr)
            return EXIT_BAD_ARGS

    names = collection_names()
    py = sys.executable
    wall: dict[str, list[float]] = {k: [] for k in KEYS}
    cpu: dict[str, list[float]] = {k: [] for k in KEYS}
    loads = []
    with tempfile.TemporaryDirectory(prefix="casekit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        floor_dir = tmp / "floor-notebooks"
        write_floor_notebooks(floor_dir, names)
        log = tmp / "commands.log"
        try:
            for rep in range(1, args.reps + 1):
                loads.append(loadavg())
                for key, timing in (
                        ("a", lambda: run_a(py, args.case, tmp / f"a{rep}", args.jobs, log)),
                        ("d", lambda: run_a(py, args.case, tmp / f"a{rep}", args.jobs, log)),
                        ("b", lambda: run_b(py, args.case, tmp / f"b{rep}", names, log)),
                        ("c", lambda: run_c(py, args.case, tmp / f"c{rep}", floor_dir,
                                            args.jobs, log))):
                    measured = timing()
                    wall[key].append(measured.wall)
                    cpu[key].append(measured.cpu)
                print(f"rep {rep}/{args.reps}: " + ", ".join(
                      f"{k} {wall[k][-1]:.1f} s" for k in KEYS), file=sys.stderr, flush=True)
        except CommandFailed as exc:
            print(f"bench.py: a measured command failed, so no timing is reported:\n{exc}",
                  file=sys.stderr)
            return EXIT_FAILED
    loads.append(loadavg())

    median = {k: statistics.median(v) for k, v in wall.items()}
    median_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    result = {
        "reps": args.reps,
        "jobs": args.jobs,
        "case": args.case,
        "notebooks": names,
        "seconds": {k: [round(s, 3) for s in v] for k, v in wall.items()},
        "median": {k: round(v, 3) for k, v in median.items()},
        "ratios": {ratio: round(_ratio(median, ratio), 3) for ratio in TARGETS},
        "targets": {ratio: {"max": target, "pass": _ratio(median, ratio) <= target}
                    for ratio, target in TARGETS.items()},
        "cpu_seconds": {k: [round(s, 3) for s in v] for k, v in cpu.items()},
        "median_cpu": {k: round(v, 3) for k, v in median_cpu.items()},
        "cpu_ratios": {ratio: round(_ratio(median_cpu, ratio), 3) for ratio in TARGETS},
        "loadavg": loads,
        "machine": machine(),
        "json": str(args.json),
    }
    # A separate step (issue 9 item 12): validating 1,000,000 lab rows, <= 10 s and <= 1 GB.
    import large_case
    result["validate_1m"] = large_case.measure_validation(py)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(render(result))
    print(large_case.render(result["validate_1m"]))
    return EXIT_OK


# ------------------------------------------------------------------ series (issue 13)

SERIES_JSON = REPO / "build" / "bench-series.json"
SERIES_TARGETS = {"subjects_per_s": 25.0, "ratio_4x": 4.4,
                  # end to end (analysis, the series notebooks, series.html; issue 17)
                  "end_to_end_subjects_per_s_4x": 15.0, "end_to_end_ratio_4x": 4.4}
# Runs in a child process so that its whole process tree (client, cluster, workers) can be
# sampled for memory: the whole ``casekit series`` of the folder argv[1] into argv[2]
# (analysis, the series notebooks, series.html).
_SERIES_CHILD = """
import json, resource, sys
from casekit.series.run import run_series
r = run_series(series=sys.argv[1], out_dir=sys.argv[2], echo=lambda _: None)
cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF,
          resource.RUSAGE_CHILDREN) for f in ("ru_utime", "ru_stime"))
print(json.dumps({"stages": r.stages, "seconds": r.seconds, "left_out": len(r.left_out),
                  "cases": len(r.analyses), "cpu_seconds": round(cpu, 2)}))
"""


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (0 once it has gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _series_run(py: str, folder: Path, out: Path) -> dict:
    """One ``run_series`` in a child process: its stages, wall time and peak tree RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen([py, "-c", _SERIES_CHILD, str(folder), str(out)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.1)
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise CommandFailed(f"series run on {folder} exited {proc.returncode}:\n{stderr[-2000:]}")
    got = json.loads(stdout.strip().splitlines()[-1])
    return {**got, "wall": round(time.perf_counter() - start, 3),
            "peak_rss_mb": round(peak / 2**20, 1)}


def _replicate(cases: list[Path], dest: Path, copies: int) -> None:
    """``copies`` copies of every case folder under new subject ids (folder names)."""
    import shutil

    for k in range(1, copies + 1):
        for case in cases:
            shutil.copytree(case, dest / f"{case.name}-r{k}")


def series_main(argv: list[str] | None = None) -> int:
    """``bench.py series [--n N]``: ``casekit series`` at scale (issues 13 and 17).

    The series is the SDTM import of the vendored pharmaversesdtm data (254 subjects) when
    ``casekit.interop.sdtm`` is installed, else N SYNTHETIC cases (casekit/series/synthetic.py,
    default 254); the same series replicated 4x under new ids is timed against it. Reported:
    subjects/s of the analysis stage (target >= 25) and its 4x time ratio (target <= 4.4);
    end to end (analysis, series notebooks, series.html) the 4x series' subjects/s (target
    >= 15) and the 4x wall-time ratio (target <= 4.4); the peak resident memory of the whole
    process tree (client, cluster, workers, kernels).
    """
    parser = argparse.ArgumentParser(prog="bench.py series")
    parser.add_argument("--n", type=int, default=254, metavar="N",
                        help="synthetic cases when the SDTM import is absent (default 254)")
    parser.add_argument("--json", default=str(SERIES_JSON), metavar="PATH")
    args = parser.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="casekit-bench-series-") as tmp_name:
        tmp = Path(tmp_name)
        base = tmp / "series"
        import_seconds = None
        try:
            from casekit.interop.sdtm import import_sdtm
        except ImportError:
            import_sdtm = None
        if import_sdtm is not None:
            start = time.perf_counter()
            summary = import_sdtm(REPO / "data" / "external" / "pharmaversesdtm", base,
                                  echo=lambda _: None)
            import_seconds = round(time.perf_counter() - start, 3)
            source = f"SDTM import (pharmaversesdtm), {len(summary.imported)} subjects"
        else:
            from casekit.series.synthetic import write_series

            write_series(base, args.n)
            source = (f"{args.n} SYNTHETIC cases (casekit.interop.sdtm not installed: the "
                      "SDTM series cannot be imported on this branch)")
        cases = sorted(p for p in base.iterdir() if p.is_dir())
        replicated = tmp / "series-x4"
        _replicate(cases, replicated, 4)
        try:
            one = _series_run(py, base, tmp / "out1")
            four = _series_run(py, replicated, tmp / "out4")
        except CommandFailed as exc:
            print(f"bench.py series: {exc}", file=sys.stderr)
            return EXIT_FAILED
    n1, n4 = one["cases"], four["cases"]
    rate = n1 / one["stages"]["analysis"]
    ratio = four["stages"]["analysis"] / one["stages"]["analysis"]
    e2e_rate = n4 / four["wall"]
    e2e_ratio = four["wall"] / one["wall"]
    result = {"source": source, "import_seconds": import_seconds, "x1": one, "x4": four,
              "subjects_per_s": round(rate, 1), "ratio_4x": round(ratio, 2),
              "wall_ratio_4x": round(e2e_ratio, 2),
              "end_to_end_subjects_per_s_4x": round(e2e_rate, 1),
              "targets": {"subjects_per_s": rate >= SERIES_TARGETS["subjects_per_s"],
                          "ratio_4x": ratio <= SERIES_TARGETS["ratio_4x"],
                          "end_to_end_subjects_per_s_4x":
                              e2e_rate >= SERIES_TARGETS["end_to_end_subjects_per_s_4x"],
                          "end_to_end_ratio_4x": e2e_ratio <= SERIES_TARGETS["end_to_end_ratio_4x"]},
              "loadavg": loadavg(), "machine": machine()}
    json_path = Path(args.json).resolve()
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    verdict = {k: "PASS" if v else "MISS" for k, v in result["targets"].items()}
    print(f"casekit series benchmark: {source}\n"
          + (f" import: {import_seconds:.1f} s\n" if import_seconds is not None else "")
          + f" {n1} subjects: analysis {one['stages']['analysis']:.2f} s = {rate:.1f} "
          f"subjects/s (target >= 25: {verdict['subjects_per_s']}); cluster start "
          f"{one['stages']['cluster']:.1f} s; whole run {one['wall']:.1f} s; peak RSS "
          f"{one['peak_rss_mb']:.0f} MB; CPU {one['cpu_seconds']:.1f} s (client, cluster and "
          f"workers, start-up included)\n"
          f" {n4} subjects (4x, new ids): analysis {four['stages']['analysis']:.2f} s, "
          f"ratio {ratio:.2f} (target <= 4.4: {verdict['ratio_4x']}); whole run "
          f"{four['wall']:.1f} s = {e2e_rate:.1f} subjects/s end to end (target >= 15: "
          f"{verdict['end_to_end_subjects_per_s_4x']}), ratio {e2e_ratio:.2f} (target <= 4.4: "
          f"{verdict['end_to_end_ratio_4x']}); peak RSS "
          f"{four['peak_rss_mb']:.0f} MB; CPU {four['cpu_seconds']:.1f} s\n"
          f" 1-min load average at the end: {result['loadavg']}; {machine()['usable_cpus']} "
          f"usable CPUs, {machine()['cpu']}\n wrote {json_path}")
    return EXIT_OK


# ------------------------------------------------------------------ SDTM formats (issue 18)

SDTM_JSON = REPO / "build" / "bench-sdtm.json"
SDTM_TARGET_CSV_SECONDS = 2.0


def sdtm_main(argv: list[str] | None = None) -> int:
    """``bench.py sdtm [--reps N]``: ``import_sdtm`` of the 254 vendored pharmaversesdtm
    subjects as delivered (CSV.gz), and the same study as SAS XPORT v5 and as Dataset-JSON
    1.1 (written once, untimed, by casekit.interop.sdtm_write), interleaved ``--reps`` times;
    medians of wall and CPU time. Target: CSV <= 2 s wall."""
    import pandas as pd

    from casekit.interop import sdtm_write
    from casekit.interop.sdtm import import_sdtm

    parser = argparse.ArgumentParser(prog="bench.py sdtm")
    parser.add_argument("--reps", type=int, default=3, metavar="N")
    parser.add_argument("--json", default=str(SDTM_JSON), metavar="PATH")
    args = parser.parse_args(argv)
    source = REPO / "data" / "external" / "pharmaversesdtm"
    when = sdtm_write.creation_time([])
    times: dict[str, list[tuple[float, float]]] = {"csv": [], "xpt": [], "json": []}
    with tempfile.TemporaryDirectory(prefix="casekit-bench-sdtm-") as tmp_name:
        tmp = Path(tmp_name)
        folders = {"csv": source, "xpt": tmp / "xpt", "json": tmp / "json"}
        for fmt in ("xpt", "json"):
            folders[fmt].mkdir()
        for path in sorted(source.glob("*.csv.gz")):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            domain, stem = frame["DOMAIN"].iloc[0], path.name[: -len(".csv.gz")]
            (folders["xpt"] / f"{stem}.xpt").write_bytes(sdtm_write.xpt_bytes(domain, frame, when))
            (folders["json"] / f"{stem}.json").write_bytes(
                sdtm_write.json_bytes(domain, frame, when, "CDISCPILOT01", f"{stem}.json"))
        for rep in range(args.reps):
            for fmt, folder in folders.items():
                start, cpu = time.perf_counter(), time.process_time()
                summary = import_sdtm(folder, tmp / f"out-{fmt}-{rep}", echo=lambda _: None)
                times[fmt].append((time.perf_counter() - start, time.process_time() - cpu))
                assert len(summary.imported) == 254, (fmt, len(summary.imported))
    result = {fmt: {"wall_s": round(statistics.median(w for w, _ in t), 3),
                    "cpu_s": round(statistics.median(c for _, c in t), 3)}
              for fmt, t in times.items()}
    result["target_csv"] = result["csv"]["wall_s"] <= SDTM_TARGET_CSV_SECONDS
    result.update(loadavg=loadavg(), machine=machine())
    json_path = Path(args.json).resolve()
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for fmt in times:
        print(f"import-sdtm, 254 subjects, {fmt:4}: {result[fmt]['wall_s']:.2f} s wall, "
              f"{result[fmt]['cpu_s']:.2f} s CPU (median of {args.reps})")
    print(f"target CSV <= {SDTM_TARGET_CSV_SECONDS:g} s: "
          f"{'PASS' if result['target_csv'] else 'MISS'}; 1-min load average "
          f"{result['loadavg']}; wrote {json_path}")
    return EXIT_OK


if __name__ == "__main__":
    try:
        if sys.argv[1:2] == ["series"]:
            sys.exit(series_main(sys.argv[2:]))
        if sys.argv[1:2] == ["sdtm"]:
            sys.exit(sdtm_main(sys.argv[2:]))
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench.py: interrupted", file=sys.stderr)
        sys.exit(130)
