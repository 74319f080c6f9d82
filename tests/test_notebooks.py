"""Rules every notebook of the collection follows (nbval checks their outputs separately)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from papermill.translators import PythonTranslator

from casekit.run.runner import collection_names

ROOT = Path(__file__).parent.parent
NOTEBOOKS = ROOT / "notebooks"
SEED = ROOT / "data" / "jlc2022"


def load(name: str) -> dict:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))


def parameters_cell(nb: dict) -> dict:
    cells = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    return {**cells[0], "source": "".join(cells[0]["source"])}


@pytest.mark.parametrize("name", collection_names())
def test_parameters_cell_declares_case_and_outputs_and_parses_cleanly(name, caplog):
    cell = parameters_cell(load(name))
    with caplog.at_level("WARNING", logger="papermill"):
        params = PythonTranslator.inspect(cell)
    assert not caplog.records, [r.getMessage() for r in caplog.records]  # papermill can read every line
    names = [p.name for p in params]
    assert {"case_dir", "out_dir"} <= set(names)
    assignments = [line for line in cell["source"].splitlines()
                   if re.match(r"\w+\s*=", line)]
    assert len(names) == len(assignments)  # every knob is visible to papermill


@pytest.mark.parametrize("name", collection_names())
def test_stored_notebook_is_executed_and_stripped_of_run_metadata(name):
    nb = load(name)
    assert "papermill" not in nb["metadata"]
    for cell in nb["cells"]:
        assert "papermill" not in cell["metadata"] and "execution" not in cell["metadata"]
        if cell["cell_type"] == "code":
            assert cell["execution_count"] is not None, "stored notebooks are executed"
            assert not any(o["output_type"] == "error" for o in cell["outputs"])


def _reported_numbers() -> set[str]:
    """Numbers the paper reports about the patient (labs, sizes, numeric facts), as written."""
    numbers = set()
    for file, column in (("labs.csv", "value"), ("lesions.csv", "size_cm"), ("facts.csv", "value")):
        with open(SEED / file, encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                value = row[column]
                if row["status"] == "reported" and re.fullmatch(r"\d+(\.\d+)?", value):
                    numbers.add(value)
    return {n for n in numbers if len(n.replace(".", "")) >= 3}  # 1- and 2-digit numbers are too common


@pytest.mark.parametrize("name", collection_names())
def test_no_reported_number_is_typed_into_a_notebook(name):
    """A number shown must be read from data/ or computed, never typed in (outputs excluded)."""
    numbers = _reported_numbers()
    assert {"588.0", "326.4", "7497", "12573", "1335.2"} <= numbers  # the guard guards something
    text = "\n".join("".join(c["source"]) for c in load(name)["cells"])
    typed = sorted(n for n in numbers if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w.])", text))
    assert not typed, f"{name} types reported numbers {typed}; read them from the case instead"
