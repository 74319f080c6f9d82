"""SYNTHETIC case folders for testing and measuring the series (invented numbers, no patient).

Until the SDTM import (issue 12) provides the default series, these are how the series is
tested end to end and how its scale is measured. Every value is marked ``assumed`` with
the reason "synthetic". Each subject follows one of five courses (RECIST 1.1, two target
lesions, day 0 = cycle 1, scans every 42 days, baseline 7 days before day 0), with sums
chosen so the calls are easy to work out by hand:

===  ==========================  ==============================================  ========
key  course                      target sums (cm) at baseline, 42, 84, 126 d     death
===  ==========================  ==============================================  ========
A    PR, then PD                 8.0, 5.0 (−37.5 %), 6.5 (+30 % from nadir)     —
B    stable disease              8.0, 7.6 (−5 %), 7.8 (−2.5 %), 7.2 (−10 %)      —
C    early progression, death    8.0, 10.0 (+25 %, +2.0 cm); died on day 60       day 60
D    PR, then CR, confirmed      8.0, 4.0 (−50 %), 0, 0                          —
E    PR (−30 % exactly), held    8.0, 5.6 (−30 %), 5.2 (−35 %)                   —
===  ==========================  ==============================================  ========

Follow-up ends 7 days after the last scan (a ``last_known_alive`` event; C instead dies, a ``death`` event). Subjects with
``hcc=True`` get the cancer fact ``hepatocellular carcinoma`` (so mRECIST applies too;
their targets have no viable diameter, so mRECIST uses the longest as a flagged proxy) and
an AFP value at every scan (400, then 100 ng/mL).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from casekit.outputs import write_table

WHY = "synthetic: invented for casekit series tests (not from any patient)"
#: course -> target sums per scan as (lesion 1, lesion 2) longest diameters, cm
COURSES = {
    "A": [(5.0, 3.0), (3.0, 2.0), (4.0, 2.5)],
    "B": [(5.0, 3.0), (4.6, 3.0), (4.8, 3.0), (4.2, 3.0)],
    "C": [(5.0, 3.0), (6.0, 4.0)],
    "D": [(5.0, 3.0), (2.5, 1.5), (0.0, 0.0), (0.0, 0.0)],
    "E": [(5.0, 3.0), (3.5, 2.1), (3.3, 1.9)],
}
DEATH_DAY = {"C": 60}
SCAN_EVERY = 42


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def write_case(folder: str | Path, subject: str, course: str, hcc: bool = False) -> Path:
    """Write one synthetic case folder following ``course`` (a key of :data:`COURSES`)."""
    folder = Path(folder)
    sizes = COURSES[course]
    cancer = "hepatocellular carcinoma" if hcc else "non-small-cell lung cancer"
    facts = _frame([
        dict(key="title", value=f"SYNTHETIC subject {subject}, course {course} "
             "(invented, not a patient)", unit="", status="assumed", source=WHY),
        dict(key="cancer", value=cancer, unit="", status="assumed", source=WHY),
    ])
    scans = [f"scan{k}" for k in range(len(sizes))]
    timeline = [dict(event_id="c1", label="Cycle 1 of systemic therapy", category="systemic",
                     anchor="", offset_days=0, status="assumed", source=WHY),
                dict(event_id="scan0", label="Baseline CT", category="imaging", anchor="c1",
                     offset_days=-7, status="assumed", source=WHY)]
    timeline += [dict(event_id=scan, label=f"Restaging CT {k}", category="imaging",
                      anchor="c1", offset_days=SCAN_EVERY * k, status="assumed", source=WHY)
                 for k, scan in enumerate(scans) if k]
    if course in DEATH_DAY:
        timeline.append(dict(event_id="end", label="Died of progressive disease",
                             category="death", anchor="c1", offset_days=DEATH_DAY[course],
                             status="assumed", source=WHY))
    else:
        timeline.append(dict(event_id="end", label="End of follow-up: known alive",
                             category="last_known_alive", anchor=scans[-1], offset_days=7,
                             status="assumed", source=WHY))
    lesions = []
    for scan, pair in zip(scans, sizes):
        for lesion, site, size in (("T1", "liver" if hcc else "right lung", pair[0]),
                                   ("T2", "left lung", pair[1])):
            lesions.append(dict(event_id=scan, lesion_id=lesion, site=site, kind="tumour",
                                role="target", measure="longest", size_cm=f"{size:.1f}",
                                assessment="present" if size else "absent",
                                status="assumed", source=WHY))
    labs = [dict(event_id=scan, test="AFP", value="400" if k == 0 else "100", unit="ng/mL",
                 status="assumed", source=WHY)
            for k, scan in enumerate(scans)] if hcc else []
    lab_columns = ["event_id", "test", "value", "unit", "status", "source"]
    write_table(facts, folder / "facts.csv")
    write_table(_frame(timeline), folder / "timeline.csv")
    write_table(pd.DataFrame(labs, columns=lab_columns), folder / "labs.csv")
    write_table(_frame(lesions), folder / "lesions.csv")
    (folder / "README.md").write_text(f"# {subject}: a SYNTHETIC case\n\n"
                                      "Invented numbers for testing casekit's series (see "
                                      "casekit/series/synthetic.py); no patient.\n",
                                      encoding="utf-8")
    return folder


def write_series(folder: str | Path, n: int, prefix: str = "SYN") -> list[Path]:
    """``n`` synthetic cases ``<prefix>-0001`` ... under ``folder``, cycling through the
    courses A-E; every third subject is HCC (mRECIST and AFP)."""
    keys = sorted(COURSES)
    return [write_case(Path(folder) / f"{prefix}-{i:04d}", f"{prefix}-{i:04d}",
                       keys[(i - 1) % len(keys)], hcc=i % 3 == 0)
            for i in range(1, n + 1)]
