"""``casekit new-case DIR``: a case folder to fill in.

Every file of the format is written with its header and one example row. CSV has no
comments, so each example row is a real row whose ``source`` starts with
:data:`casekit.case.schema.EXAMPLE_MARKER`, marked ``assumed``. The example rows hang
together (the lesion, lab, response and claim all refer to the root event ``day0``), but
validation reports every row that still carries the marker, so a scaffold is never taken
for a case: it becomes valid once each example row is replaced or deleted.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from casekit.case import schema
from casekit.outputs import write_bytes

PLACEHOLDER = f"{schema.EXAMPLE_MARKER}: replace or delete it"

EXAMPLE_ROWS: dict[str, dict[str, str]] = {
    "facts.csv": {
        "key": "title", "value": "New case — replace this title", "unit": "",
        "status": "assumed", "source": PLACEHOLDER,
    },
    "timeline.csv": {
        "event_id": "day0", "label": "EXAMPLE day 0 — e.g. the first dose of treatment",
        "category": "systemic", "anchor": "", "offset_days": "0",
        "status": "assumed", "source": PLACEHOLDER,
    },
    "labs.csv": {
        "event_id": "day0", "test": "AFP", "value": "1.0", "unit": "ng/mL",
        "status": "assumed", "source": PLACEHOLDER,
    },
    "lesions.csv": {
        "event_id": "day0", "lesion_id": "example_lesion", "site": "EXAMPLE site",
        "kind": "tumour", "role": "target", "measure": "longest", "size_cm": "1.0",
        "assessment": "present", "status": "assumed", "source": PLACEHOLDER,
    },
    "responses.csv": {
        "event_id": "day0", "criteria": "RECIST1.1", "category": "NE",
        "source": PLACEHOLDER + " (then quote the paper verbatim)",
    },
    "claims.csv": {
        "claim_id": "EX01", "statement": "EXAMPLE claim: the example lesion measured 1 cm",
        "quantity": "lesion_size(example_lesion)", "event_id": "day0", "comparator": "eq",
        "expected": "1.0", "tolerance": "0.05", "known_difference": "",
        "source": PLACEHOLDER + " (then quote the paper verbatim)",
    },
    "trials.csv": {
        "trial": "EXAMPLE trial", "comparison": "EXAMPLE drug A vs drug B", "endpoint": "OS",
        "measure": "hazard ratio", "estimate": "0.8", "ci_low": "0.6", "ci_high": "1.0",
        "unit": "", "microspheres": "", "status": "assumed", "source": PLACEHOLDER,
        "citation": "EXAMPLE: the trial's publication",
    },
}

README = """\
# {name}: a casekit case folder

Written by `casekit new-case`. Each CSV file holds its header and ONE example row
(its text says EXAMPLE). Replace the example rows with the case's data, or delete them; a
file may also keep only its header row (`responses.csv`, `claims.csv` and `trials.csv` may be deleted).
`validate` reports every example row still there: the case is valid once they are gone.

The full description of every column, vocabulary and unit is the project's data
dictionary, `data/README.md`. In short:

Files (a `*` marks the required ones):

- `facts.csv`*: one scalar fact per row (`key`, `value`, `unit`). `title` is required;
  `citation`, `doi`, `age_years`, `sex`, `cancer` and `aetiology` head the report;
  `cancer` also decides which response criteria apply (below).
- `timeline.csv`*: one event per row, placed `offset_days` after its `anchor` event
  (empty anchor = a root event, on day `offset_days`).
- `labs.csv`*: one laboratory value per row (`test` such as AFP, `value`, `unit`); may
  keep only its header.
- `lesions.csv`*: one lesion measurement or assessment per row, at an imaging event.
- `responses.csv`: the responses the authors reported, one per scan and criteria
  ({criteria_names}; `CR`, `PR`, `SD`, `non-CR/non-PD`, `PD`,
  `NE`, and iRECIST's `iCR`, `iPR`, `iSD`, `iUPD`, `iCPD`, `non-iCR/non-iUPD`).
- `claims.csv`: the paper's quantitative claims, recomputed by the claims notebook.
- `source.txt`: the paper's text; every `reported` snippet must then be found in it.

## Which response criteria apply

{criteria_rule}

## Filling it in

1. Put the paper's title and the `cancer` in `facts.csv` (`status` `reported`, `source` a
   verbatim snippet).
2. Build the timeline: pick a root event (day 0, e.g. the first dose) and place every other
   event relative to an anchor. Dates the paper does not give are `assumed`, with the reason.
3. Add labs, lesions, reported responses and claims, each row pointing at a timeline event.
4. Provenance on every row: `status` is `reported` (the paper states it; `source` quotes
   it verbatim), `derived` (computed; `source` names the rule) or `assumed` (not stated;
   `source` gives the reason). Never invent a value: leave it empty or mark it assumed.
5. Numbers are plain decimals (`1470`, not `1,470`).

## Checking and running

From the repository root, with the project's virtual environment (`make setup`):

    .venv/bin/python -m casekit validate {path}
    .venv/bin/python -m casekit run --case {path} --out build/{name}

(`.venv/bin/casekit validate {path}` is the same command.) `validate` lists every problem as `file:line:column: message`; `run` executes the notebook
collection for this case and writes `build/{name}/report.html`.
`.venv/bin/python -m casekit care --case {path}` then says which items of the CARE
checklist for case reports the folder shows, and what would complete the others.
"""


# What casekit.rules.criteria.applicable_criteria does, in words (case/ does not import
# rules/; tests/test_scaffold.py checks the two agree on every criterion).
CRITERIA_RULE = """\
The fact `cancer` (free text: `hepatocellular carcinoma`, `cutaneous melanoma`, ...) decides
them, with the timeline. RECIST 1.1 applies to every solid tumour; mRECIST too when `cancer`
names hepatocellular carcinoma (or HCC); iRECIST too when a timeline label names an immune
checkpoint inhibitor (e.g. pembrolizumab, atezolizumab). Without a `cancer` fact mRECIST
never applies. A `criteria` fact (`RECIST1.1;iRECIST`, names separated by `;`) overrides
both rules."""


def _names(words) -> str:
    quoted = [f"`{w}`" for w in words]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]


class ScaffoldError(ValueError):
    """The target folder cannot be used (it exists and is not empty, or is a file)."""


def _csv_text(name: str, row: dict[str, str]) -> str:
    columns = schema.columns(name)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow([row[c] for c in columns])
    return buffer.getvalue()


def next_step(folder: str | Path) -> str:
    """The command to type next, as typed from the repository root."""
    return f".venv/bin/python -m casekit validate {Path(folder).as_posix()}"


def new_case(folder: str | Path) -> list[Path]:
    """Write a new case folder and return the files written.

    Raises :class:`ScaffoldError` if ``folder`` exists and is not an empty folder; nothing
    is written then.
    """
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise ScaffoldError(f"{folder}: exists and is not a folder")
        if any(folder.iterdir()):
            raise ScaffoldError(f"{folder}: folder exists and is not empty; "
                                "choose a new folder name")
    names = list(schema.REQUIRED_FILES) + list(schema.OPTIONAL_FILES)
    missing = set(names) - set(EXAMPLE_ROWS)
    assert not missing, f"no example row for {sorted(missing)}"
    written = [write_bytes(folder / name, _csv_text(name, EXAMPLE_ROWS[name]).encode("utf-8"))
               for name in names]
    readme = README.format(name=folder.resolve().name, path=folder.as_posix(),
                           criteria_rule=CRITERIA_RULE,
                           criteria_names=_names(schema.RESPONSE_CRITERIA))
    written.append(write_bytes(folder / "README.md", readme.encode("utf-8")))
    return written
