"""A valid case folder with a very large labs.csv, for the validation scale target.

Issue 9 item 12: validating 1,000,000 lab rows (about 200 MB) must take at most 10 s and
1 GB of peak memory. The case is synthetic and written to a temporary folder by the bench
and the slow test; it is never committed. Rows: ``events`` imaging events x ``tests``
tests (the known ones with their canonical unit, then unknown codes kept as given), each
with an ``assumed`` source long enough to reach ~200 bytes a row.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from casekit.case import units  # noqa: E402

REASON = ("synthetic scale-test row written by benchmarks/large_case.py; not case data "
          "only there to measure how long validation takes on a very large table of labs")


def write_large_case(folder: str | Path, rows: int = 1_000_000, tests: int = 100) -> Path:
    """Write the case into ``folder`` (created) and return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    events = -(-rows // tests)
    (folder / "facts.csv").write_text(
        "key,value,unit,status,source\n"
        "title,Synthetic scale-test case,,assumed,synthetic\n", encoding="utf-8")
    with open(folder / "timeline.csv", "w", encoding="utf-8") as out:
        out.write("event_id,label,category,anchor,offset_days,status,source\n"
                  "start,Start,systemic,,0,assumed,synthetic\n")
        for e in range(events):
            out.write(f"e{e},Draw {e},lab,start,{e % 3650},assumed,synthetic\n")
    (folder / "lesions.csv").write_text(
        "event_id,lesion_id,site,kind,role,measure,size_cm,assessment,status,source\n"
        "start,t1,liver,tumour,target,longest,5.0,present,assumed,synthetic\n",
        encoding="utf-8")
    known = [(test, unit) for test, (unit, _) in units.UNITS.items()]
    codes = (known + [(f"X{i:03d}", "U/L") for i in range(tests)])[:tests]
    written = 0
    with open(folder / "labs.csv", "w", encoding="utf-8") as out:
        out.write("event_id,test,value,unit,status,source\n")
        for e in range(events):
            lines = []
            for t, (test, unit) in enumerate(codes):
                if written == rows:
                    break
                value = f"{(e + t) % 40 / 10 + 0.5:.1f}"  # within every sanity limit
                lines.append(f"e{e},{test},{value},{unit},assumed,{REASON} {e}.{t}\n")
                written += 1
            out.write("".join(lines))
    return folder


#: Issue 9 item 12's target for validating 1,000,000 lab rows.
TARGET_SECONDS, TARGET_MB = 10.0, 1000.0


def measure_validation(python: str = sys.executable, rows: int = 1_000_000) -> dict:
    """Write the large case to a temporary folder and time ``python -m casekit validate``
    on it: wall seconds, peak resident memory of that process alone (``wait4``), exit
    code and the progress lines it printed."""
    with tempfile.TemporaryDirectory(prefix="casekit-large-") as tmp:
        case = write_large_case(Path(tmp) / "case", rows)
        size = sum(p.stat().st_size for p in case.iterdir())
        with open(Path(tmp) / "out", "w+b") as out, open(Path(tmp) / "err", "w+b") as err:
            start = time.perf_counter()
            proc = subprocess.Popen([python, "-m", "casekit", "validate", str(case)],
                                    cwd=REPO, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(), err.read().decode()
    peak_mb = usage.ru_maxrss / 1024  # Linux reports kilobytes
    return {"rows": rows, "mb": round(size / 1e6), "exit_code": proc.returncode,
            "seconds": round(seconds, 2), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_mb": round(peak_mb),
            "pass": proc.returncode == 0 and seconds <= TARGET_SECONDS and peak_mb <= TARGET_MB,
            "stdout": stdout.strip().splitlines()[-1:],
            "progress": [line for line in stderr.splitlines() if line.startswith("[")]}


def render(result: dict) -> str:
    verdict = "ok" if result["pass"] else "MISS"
    return (f"validate {result['rows']:,} lab rows ({result['mb']} MB): "
            f"{result['seconds']:.1f} s (target <= {TARGET_SECONDS:g} s; CPU "
            f"{result['cpu_seconds']:.1f} s), peak "
            f"{result['peak_mb']} MB (target <= {TARGET_MB:g} MB), exit {result['exit_code']}"
            f"  [{verdict}]")


if __name__ == "__main__":
    if len(sys.argv) > 1:  # write a case to look at: large_case.py DIR [ROWS]
        target = write_large_case(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
        print(target, (target / "labs.csv").stat().st_size // 1_000_000, "MB")
    else:
        print(render(measure_validation()))
