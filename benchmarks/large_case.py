"""A valid case folder with a very large labs.csv, for the validation scale target.

Issue 9 item 12: validating 1,000,000 lab rows (about 200 MB) must take at most 10 s and
1 GB of peak memory. The case is synthetic and written to a temporary folder by the bench
and the slow test; it is never committed. Rows: ``events`` imaging events x ``tests``
tests (the known ones with their canonical unit, then unknown codes kept as given), each
with an ``assumed`` source long enough to reach ~200 bytes a row.
"""

from __future__ import annotations

import sys
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


if __name__ == "__main__":
    target = write_large_case(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
    print(target, (target / "labs.csv").stat().st_size // 1_000_000, "MB")
