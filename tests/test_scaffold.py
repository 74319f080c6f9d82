"""casekit new-case: a scaffold that validates as written and loads once filled in."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from casekit.case import schema
from casekit import cli
from casekit.case import CaseError, load_case, validate_case
from casekit.case.scaffold import ScaffoldError, new_case

FILES = ["facts.csv", "timeline.csv", "labs.csv", "lesions.csv", "responses.csv",
         "claims.csv", "trials.csv"]


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_scaffold_has_every_file_with_header_and_one_example_row(tmp_path):
    folder = tmp_path / "newcase"
    written = new_case(folder)
    assert sorted(p.name for p in written) == sorted(FILES + ["README.md"])
    for name in FILES:
        table = rows(folder / name)
        assert table[0] == schema.columns(name), name
        assert len(table) == 2, f"{name}: one example row"
        assert any("EXAMPLE" in cell for cell in table[1]), f"{name}: says it is an example"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "data/README.md" in readme and "python -m casekit validate" in readme


def test_scaffold_is_not_valid_until_its_example_rows_are_replaced(tmp_path):
    """Issue 11: validate must not say 'valid' for a fresh scaffold. One problem per file,
    on the example row (line 2), in the source column that carries the marker."""
    new_case(tmp_path / "c")
    problems = validate_case(tmp_path / "c")
    assert sorted(p.file.rsplit("/", 1)[1] for p in problems) == sorted(FILES)
    for p in problems:
        name = p.file.rsplit("/", 1)[1]
        assert (p.line, p.column) == (2, schema.columns(name).index("source") + 1), str(p)
        assert "EXAMPLE row" in p.message and "replace it" in p.message
    with pytest.raises(CaseError):
        load_case(tmp_path / "c")
    # each example row is valid in itself: with the marker gone the scaffold loads
    for name in FILES:
        path = tmp_path / "c" / name
        path.write_text(path.read_text(encoding="utf-8").replace(schema.EXAMPLE_MARKER, "x"),
                        encoding="utf-8")
    assert validate_case(tmp_path / "c") == []
    case = load_case(tmp_path / "c")
    assert case.title == "New case — replace this title"
    assert list(case.timeline["event_id"]) == ["day0"]


def test_filled_in_scaffold_loads(tmp_path):
    folder = tmp_path / "filled"
    new_case(folder)
    (folder / "facts.csv").write_text(
        "key,value,unit,status,source\n"
        "title,Durable response of HCC to a new regimen: a case report,,reported,"
        "Durable response of HCC\n"
        "age_years,61,years,reported,A 61-year-old woman\n"
        "sex,female,,reported,A 61-year-old woman\n", encoding="utf-8")
    (folder / "timeline.csv").write_text(
        "event_id,label,category,anchor,offset_days,status,source\n"
        "c1,Cycle 1,systemic,,0,reported,the first cycle\n"
        "ct_base,Baseline CT,imaging,c1,-10,assumed,interval not stated\n"
        "ct_fu,Follow-up CT,imaging,c1,63,assumed,after three 3-weekly cycles\n",
        encoding="utf-8")
    (folder / "labs.csv").write_text(
        "event_id,test,value,unit,status,source\n"
        "ct_base,AFP,1200,ng/mL,reported,AFP 1200 ng/mL\n"
        "ct_fu,AFP,85.5,ng/mL,reported,falling to 85.5 ng/mL\n"
        "ct_base,BILI,17.1,umol/L,reported,bilirubin 17.1 umol/L\n", encoding="utf-8")
    (folder / "lesions.csv").write_text(
        "event_id,lesion_id,site,kind,role,measure,size_cm,assessment,status,source\n"
        "ct_base,t1,segment 8,tumour,target,longest,6.2,present,reported,a 6.2 cm mass\n"
        "ct_fu,t1,segment 8,tumour,target,longest,3.1,present,reported,shrank to 3.1 cm\n",
        encoding="utf-8")
    (folder / "responses.csv").write_text("event_id,criteria,category,source\n"
                                          "ct_fu,RECIST1.1,PR,a partial response\n",
                                          encoding="utf-8")
    (folder / "claims.csv").unlink()  # optional
    (folder / "trials.csv").unlink()  # optional
    assert validate_case(folder) == []
    case = load_case(folder)
    assert case.title.startswith("Durable response")
    assert list(case.timeline["event_id"]) == ["ct_base", "c1", "ct_fu"]
    assert case.labs.loc[case.labs["test"] == "BILI", "value"].item() == pytest.approx(1.0)
    assert case.claims.empty


def test_refuses_a_folder_that_is_not_empty(tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="not empty"):
        new_case(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_cli_new_case(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["new-case", str(empty)]) == 0  # an existing empty folder is fine
    assert "validate" in capsys.readouterr().out
    assert cli.main(["validate", str(empty)]) == 2  # example rows still there
    out = capsys.readouterr().out
    assert "EXAMPLE row" in out and "valid" not in out.splitlines()

    assert cli.main(["new-case", str(empty)]) == 2  # now it is not empty
    captured = capsys.readouterr()
    assert "not empty" in captured.err and "Traceback" not in captured.err

    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert cli.main(["new-case", str(afile)]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_readme_names_every_criterion_and_the_fact_that_decides(tmp_path):
    """Issue 21: the README listed "mRECIST or RECIST1.1" (no iRECIST) and never said that
    the fact `cancer` decides which criteria apply (casekit.rules.criteria)."""
    from casekit.rules.criteria import CHECKPOINT_INHIBITORS, is_hepatocellular

    new_case(tmp_path / "c")
    readme = (tmp_path / "c" / "README.md").read_text(encoding="utf-8")
    assert "(`RECIST1.1`, `mRECIST` or `iRECIST`;" in readme
    assert "mRECIST` or `RECIST1.1`" not in readme
    assert "`iUPD`, `iCPD`" in readme  # iRECIST's categories, which responses.csv accepts
    assert "## Which response criteria apply" in readme
    assert "The fact `cancer`" in readme and "mRECIST too when `cancer`" in readme
    # the examples it gives are the ones casekit.rules.criteria acts on
    assert is_hepatocellular("hepatocellular carcinoma") and is_hepatocellular("HCC")
    assert {"pembrolizumab", "atezolizumab"} <= set(CHECKPOINT_INHIBITORS)
    assert "casekit care --case" in readme
