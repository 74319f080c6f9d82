"""Notebook parameters: one declaration (casekit/run/parameters.py) that the stored notebooks,
the README and `casekit run -p` all follow (issue 9 item 10, issue 11 "parameter cells are a
checked contract")."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from casekit import cli
from casekit.run import runner
from casekit.run.parameters import (BY_NAME, PARAMETERS, markdown_table, parse_parameters,
                                    parse_value)

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
SEED = REPO / "data" / "jlc2022"


def stored_defaults(nb: dict) -> dict[str, object]:
    """The assignments of a notebook's ``parameters`` cell, as Python values."""
    [cell] = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    tree = ast.parse("".join(cell["source"]))
    return {node.targets[0].id: ast.literal_eval(node.value)
            for node in tree.body if isinstance(node, ast.Assign)}


def mismatches(name: str, nb: dict) -> list[str]:
    """How a notebook's parameters cell differs from the declaration (empty: it agrees)."""
    stored = stored_defaults(nb)
    declared = {p.name: p.default for p in PARAMETERS if name in p.notebooks}
    found = [f"{n}: not declared for {name}" for n in stored.keys() - declared.keys()]
    found += [f"{n}: declared for {name} but not in its parameters cell"
              for n in declared.keys() - stored.keys()]
    for n in stored.keys() & declared.keys():
        # type too: True == 1 in Python, but not as a parameter
        if stored[n] != declared[n] or type(stored[n]) is not type(declared[n]):
            found.append(f"{n}: stored default {stored[n]!r} != declared {declared[n]!r}")
    return found


@pytest.mark.parametrize("name", runner.collection_names())
def test_stored_parameter_cells_match_the_declaration(name):
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    assert mismatches(name, nb) == []


def test_a_default_changed_in_jupyterlab_is_caught():
    """Setting count_suspected = True in notebook 04 and saving must fail the suite."""
    name = "04_tumour_response.ipynb"
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    [cell] = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    source = "".join(cell["source"])
    cell["source"] = source.replace("count_suspected = False", "count_suspected = True")
    assert cell["source"] != source
    assert mismatches(name, nb) == ["count_suspected: stored default True != declared False"]


def test_every_declared_parameter_is_in_a_notebook_and_its_default_is_acceptable():
    books = set(runner.collection_names())
    for p in PARAMETERS:
        assert p.notebooks and set(p.notebooks) <= books, p.name
        if p.default is None:
            assert p.nullable, p.name
            continue
        text = (",".join(map(str, p.default)) if isinstance(p.default, list)
                else str(p.default).lower() if p.kind == "bool" else str(p.default))
        assert parse_value(p, text) == p.default, p.name  # the default passes its own check


def test_readme_table_is_generated_from_the_declaration():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- parameters:start.*?-->\n(.*?)<!-- parameters:end -->", readme, re.S)
    assert table, "README lacks the generated table of parameters"
    assert table.group(1) == markdown_table(), (
        "README's table differs from casekit/run/parameters.py; paste markdown_table()")


# ------------------------------------------------------------ strict values


@pytest.mark.parametrize("text, value", [
    ("true", True), ("True", True), ("TRUE", True), ("1", True),
    ("false", False), ("False", False), ("0", False),
])
def test_booleans(text, value):
    assert parse_parameters([("count_suspected", text)]) == {"count_suspected": value}


@pytest.mark.parametrize("name, text, fragment", [
    # papermill's typing made these the truthy strings "false", "no", "maybe"
    ("count_suspected", "no", "expected true or false"),
    ("count_suspected", "maybe", "expected true or false"),
    ("count_suspected", "", "expected true or false"),
    ("include_assumed", "yes", "expected true or false"),
    ("confirm_days", "-5", "out of range; expected 0 to 365"),
    ("confirm_days", "2.5", "expected a whole number"),
    ("min_sd_days", "99999999999999999999", "out of range"),
    ("max_activity_gbq", "1e9", "out of range; expected 0.5 to 200"),
    ("max_activity_gbq", "nan", "expected a number"),
    ("max_activity_gbq", "inf", "expected a number"),
    ("activity_step_gbq", "0", "out of range"),
    ("thresholds", "20,150", "out of range"),
    ("thresholds", "20,,50", "non-empty list"),
    ("marker_tests", "", "non-empty list"),
    ("marker_tests", "[AFP", "not a JSON list"),
    ("marker_tests", '{"AFP": 1}', "expected a list, not JSON dict"),
    ("primary_criteria", "RECIST", "expected one of mRECIST, RECIST1.1"),
    ("day_label", "None", None),  # nullable: fine
    ("count_suspectd", "true", "unknown parameter 'count_suspectd'; did you mean count_suspected?"),
    ("case_dir", "x", "set by --case/--out"),
])
def test_bad_values_and_names_are_refused(name, text, fragment):
    if fragment is None:
        assert parse_parameters([(name, text)]) == {name: None}
        return
    with pytest.raises(runner.RunInputError, match=re.escape(fragment)):
        parse_parameters([(name, text)])


def test_lists_and_numbers():
    assert parse_parameters([("marker_tests", "AFP,CEA")]) == {"marker_tests": ["AFP", "CEA"]}
    assert parse_parameters([("marker_tests", ' ["AFP", "CA 19-9"] ')]) == {
        "marker_tests": ["AFP", "CA 19-9"]}
    assert parse_parameters([("thresholds", "[30, 60]")]) == {"thresholds": [30, 60]}
    assert parse_parameters([("perfused_masses_kg", "0.8, 1.2")]) == {
        "perfused_masses_kg": [0.8, 1.2]}
    assert parse_parameters([("max_activity_gbq", "200"), ("confirm_days", "0")]) == {
        "max_activity_gbq": 200.0, "confirm_days": 0}


# ------------------------------------------------------- command line, exit 2


@pytest.mark.parametrize("argv, message", [
    (["-p", "count_suspected", "maybe"], "expected true or false"),
    (["-p", "confirm_days", "-5"], "out of range"),
    (["-p", "max_activity_gbq", "1e9"], "out of range"),
    (["-p", "typo", "1"], "unknown parameter 'typo'"),
    (["--notebook", "04_tumor_response.ipynb"],
     "--notebook 04_tumor_response.ipynb: no such notebook; did you mean 04_tumour_response.ipynb?"),
])
def test_cli_refuses_before_anything_runs(tmp_path, monkeypatch, argv, message):
    def never(*args, **kwargs):
        raise AssertionError("nothing may run")

    monkeypatch.setattr(runner, "_execute_many", never)
    monkeypatch.setattr("casekit.case.load._check", never)  # not even validation
    out = tmp_path / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(["run", "--case", str(SEED), "--out", str(out)] + argv)
    assert code == 2
    assert message in err.getvalue() and "Traceback" not in err.getvalue()
    assert not out.exists()


def test_refresh_refuses_a_misspelt_notebook(monkeypatch):
    monkeypatch.setattr(runner, "_execute_many", lambda *a, **k: pytest.fail("ran"))
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert cli.main(["refresh-notebooks", "--notebook", "01_case.ipynb"]) == 2
    assert "no such notebook" in err.getvalue()


def test_declared_names_are_unique_and_kinds_known():
    assert len(BY_NAME) == len(PARAMETERS)
    assert {p.kind for p in PARAMETERS} <= {"bool", "int", "float", "str", "list[str]",
                                            "list[float]"}
