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


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("bench.py: interrupted", file=sys.stderr)
        sys.exit(130)
