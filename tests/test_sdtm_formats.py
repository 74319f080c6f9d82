"""SDTM as delivered (issue 18): CSV, SAS XPORT v5 and Dataset-JSON 1.1 in and out, define.xml,
any study's file names, and the variants a real study has (no RSCAT, NA strings, several
files of one domain, results in cm or only in TRORRES)."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pyreadstat
import pytest

from casekit.case import load_case, validate_case
from casekit.cli import main
from casekit.interop.sdtm import export_sdtm, import_sdtm
from casekit.interop.sdtm_read import SdtmInputError, read_dataset, read_folder
from conftest import DATA, TESTS_DIR

VARIANTS = TESTS_DIR / "fixtures" / "sdtm_variants" / "csv"
DSJ = TESTS_DIR / "fixtures" / "datasetjson"
NUMERIC = ("TUSEQ", "TRSEQ", "RSSEQ", "VISITNUM", "TRSTRESN", "AGE", "DMDY")
QUIET = {"echo": lambda line: None}


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _as_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """The fixture's text as a SAS or JSON writer holds it: numeric variables as floats,
    R's NA as missing."""
    frame = frame.replace("NA", "")
    for name in frame.columns:
        if name in NUMERIC:
            frame[name] = pd.to_numeric(frame[name].replace("", None)).astype(float)
    return frame


def _write_xpt(frame: pd.DataFrame, name: str, path: Path, version: int = 5) -> None:
    pyreadstat.write_xport(_as_numbers(frame), str(path), table_name=name,
                           file_format_version=version)


def _json_value(value):
    if isinstance(value, float):
        return None if np.isnan(value) else (int(value) if value == int(value) else value)
    return value if value != "" else None


def _write_dataset_json(frame: pd.DataFrame, name: str, path: Path, ndjson: bool) -> None:
    """Dataset-JSON 1.1 as the standard's examples are written (independently of casekit's
    writer): metadata with columns, then the rows (NDJSON: one per line)."""
    data = _as_numbers(frame)
    columns = [{"itemOID": f"IT.{name}.{c}", "name": c, "label": c,
                "dataType": "double" if c in NUMERIC else "string"} for c in data.columns]
    rows = [[_json_value(v) for v in row] for row in data.itertuples(index=False, name=None)]
    meta = {"datasetJSONCreationDateTime": "2025-01-01T00:00:00", "datasetJSONVersion": "1.1.0",
            "itemGroupOID": f"IG.{name}", "records": len(rows), "name": name,
            "label": name, "columns": columns}
    if ndjson:
        path.write_text("\n".join(json.dumps(x) for x in [meta, *rows]) + "\n", encoding="utf-8")
    else:
        path.write_text(json.dumps({**meta, "rows": rows}), encoding="utf-8")


def _variant_study(tmp_path: Path, form: str) -> Path:
    """The 8-subject study in one form: the CSV fixture itself, XPT v5, or Dataset-JSON."""
    if form == "csv":
        return VARIANTS
    folder = tmp_path / form
    folder.mkdir()
    for path in sorted(VARIANTS.glob("*.csv")):
        frame = _csv(path)
        name = frame["DOMAIN"].iloc[0]
        if form == "xpt":  # upper-case names, as SAS writes them
            _write_xpt(frame, name, folder / f"{path.stem.upper()}.XPT")
        else:  # two as JSON, two as NDJSON
            ndjson = name in ("TR", "DM")
            _write_dataset_json(frame, name, folder / f"{path.stem}.{'ndjson' if ndjson else 'json'}",
                                ndjson)
    return folder


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.slow
def test_one_study_as_csv_xpt_and_dataset_json_gives_identical_valid_cases(tmp_path):
    outs = {}
    for form in ("csv", "xpt", "json"):
        summary = import_sdtm(_variant_study(tmp_path, form), tmp_path / f"cases-{form}", **QUIET)
        assert len(summary.imported) == 8, form
        outs[form] = tmp_path / f"cases-{form}"
    files = _tree(outs["csv"])
    assert "01-701-1015/lesions.csv" in files
    for form in ("xpt", "json"):
        assert _tree(outs[form]) == files
        for name in files:
            assert filecmp.cmp(outs["csv"] / name, outs[form] / name, shallow=False), (form, name)
    for folder in sorted(outs["csv"].iterdir()):
        if folder.is_dir() and not folder.name.startswith("."):
            assert validate_case(folder) == [], folder
    case = load_case(outs["csv"] / "01-701-1015")
    # Tr_Onco_Recist.csv line 18: TRSEQ 17, INVESTIGATOR, T01 LDIAM 21 mm at SCREENING
    # (2014-01-02 = RFSTDTC): 2.1 cm on day 0; line 19: the lymph node T02's LPERP 32 mm.
    les = case.lesions.set_index(["event_id", "lesion_id", "measure"])
    assert les.loc[("screening", "T01", "longest"), "size_cm"] == 2.1
    assert les.loc[("screening", "T01", "longest"), "source"] == "TR TRSEQ=17 LDIAM"
    assert les.loc[("screening", "T02", "short_axis"), "size_cm"] == 3.2
    assert case.day_of("screening") == 0
    # No RSCAT: RECIST 1.1, said to be assumed, with the reason.
    facts = case.facts.set_index("key")
    assert facts.loc["criteria", "value"] == "RECIST1.1"
    assert facts.loc["criteria", "status"] == "assumed"
    assert "RSCAT absent" in facts.loc["criteria", "source"]
    assert (case.responses["criteria"] == "RECIST1.1").all() and len(case.responses) == 3
    # 'NA' is missing, never a value: no fact or source holds it.
    for name in ("facts.csv", "lesions.csv", "timeline.csv"):
        assert ",NA," not in (outs["csv"] / "01-701-1015" / name).read_text()


def test_official_dataset_json_examples_read_alike():
    """CDISC's own DM example as JSON, NDJSON and XPT: one dataset, the same records."""
    forms = [read_dataset(DSJ / name) for name in ("dm.json", "dm.ndjson", "dm.xpt")]
    assert {d.domain for d in forms} == {"DM"}
    first = forms[0].frame
    assert len(first) == 18 and first.loc[0, "USUBJID"] == "CDISC001"
    assert first.loc[0, "AGE"] == "84" and first.loc[0, "RFSTDTC"] == "2012-11-30"
    assert pd.isna(first.loc[0, "DTHDTC"])  # "" in the file: missing
    for other in forms[1:]:
        pd.testing.assert_frame_equal(other.frame, first, check_dtype=False)


def test_domain_is_found_by_content_not_file_name(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    tu = _csv(VARIANTS / "tu_onco_recist.csv")
    tu.to_csv(folder / "lesions_export_final.csv", index=False)  # says nothing about TU
    _write_xpt(_csv(VARIANTS / "DM_onco_recist.csv"), "DM", folder / "x1.xpt", version=8)
    study = read_folder(folder, ["DM", "TU", "TR"])
    assert sorted(study.frames) == ["DM", "TU"]
    assert len(study.frames["TU"]) == 75 and len(study.frames["DM"]) == 8


def test_same_dataset_twice_is_an_error_naming_both(tmp_path, capsys):
    folder = tmp_path / "s"
    folder.mkdir()
    for path in VARIANTS.glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    tr = _csv(VARIANTS / "Tr_Onco_Recist.csv")
    tr.to_csv(folder / "Tr_Onco_Recist.csv.gz", index=False)
    assert main(["import-sdtm", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Tr_Onco_Recist.csv " in err and "Tr_Onco_Recist.csv.gz" in err
    assert "Traceback" not in err and not (tmp_path / "o").exists()
    # The same records under another name and format: also refused.
    (folder / "Tr_Onco_Recist.csv.gz").unlink()
    _write_dataset_json(tr, "TR", folder / "tr.json", ndjson=False)
    assert main(["import-sdtm", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "the same TR records twice" in err and "tr.json" in err


@pytest.mark.slow
def test_several_studies_in_one_folder(tmp_path):
    """Two studies' files side by side: read together, subjects keep their STUDYID."""
    folder = tmp_path / "s"
    folder.mkdir()
    for path in VARIANTS.glob("*.csv"):
        frame = _csv(path)
        frame.to_csv(folder / path.name, index=False)
        other = frame.assign(STUDYID="STUDY2", USUBJID="S2-" + frame["USUBJID"])
        other.to_csv(folder / f"study2_{path.name}", index=False)
    summary = import_sdtm(folder, tmp_path / "out", **QUIET)
    assert len(summary.imported) == 16
    case = load_case(tmp_path / "out" / "S2-01-701-1015")
    assert case.fact("studyid") == "STUDY2"
    assert case.title == "SDTM subject S2-01-701-1015 (study STUDY2)"


@pytest.mark.slow
def test_results_in_cm_or_only_in_trorres(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    for path in VARIANTS.glob("*.csv"):
        frame = _csv(path)
        if frame["DOMAIN"].iloc[0] == "TR":
            seq17 = (frame["USUBJID"] == "01-701-1015") & (frame["TRSEQ"] == "17")
            seq18 = (frame["USUBJID"] == "01-701-1015") & (frame["TRSEQ"] == "18")
            frame.loc[seq17, ["TRSTRESN", "TRSTRESU"]] = ["2.1", "cm"]  # 21 mm in cm
            frame.loc[seq18, ["TRSTRESN", "TRSTRESC", "TRSTRESU"]] = ["NA", "NA", "NA"]
        frame.to_csv(folder / path.name, index=False)
    import_sdtm(folder, tmp_path / "out", **QUIET)
    les = load_case(tmp_path / "out" / "01-701-1015").lesions.set_index(
        ["event_id", "lesion_id", "measure"])
    assert les.loc[("screening", "T01", "longest"), "size_cm"] == 2.1
    assert les.loc[("screening", "T02", "short_axis"), "size_cm"] == 3.2  # TRORRES 32 mm


# ------------------------------------------------------------------ writers


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    for fmt in ("csv", "xpt", "json"):
        export_sdtm(DATA / "jlc2022", out / fmt, fmt=fmt)
    return out


@pytest.mark.slow
def test_xpt_export_reads_back_and_reimports_to_the_same_sizes(exports, tmp_path):
    tr = pd.read_sas(exports / "xpt" / "tr.xpt", format="xport", encoding="utf-8")
    # data/jlc2022: the primary's 14 cm at baseline is LDIAM 140 mm, a number in XPT.
    primary = tr[(tr["TRLNKID"] == "primary") & (tr["TRTESTCD"] == "LDIAM")]
    assert primary["TRSTRESN"].iloc[0] == 140.0 and primary["TRDY"].iloc[0] == -14.0
    _, meta = pyreadstat.read_xport(str(exports / "xpt" / "tr.xpt"), metadataonly=True)
    assert meta.table_name == "TR"
    assert all(len(n) <= 8 for n in meta.column_names)
    assert all(len(label) <= 40 for label in meta.column_labels)
    assert meta.column_names_to_labels["TRLNKID"] == "Link ID"
    summary = import_sdtm(exports / "xpt", tmp_path / "cases", evaluator=None, **QUIET)
    back, original = load_case(summary.imported[0]), load_case(DATA / "jlc2022")
    key = lambda c: sorted(zip(c.lesions["event_id"], c.lesions["lesion_id"],  # noqa: E731
                               c.lesions["measure"], c.lesions["size_cm"].fillna(-1).round(6)))
    assert key(back) == key(original)


@pytest.mark.slow
def test_exports_are_deterministic(exports, tmp_path):
    for fmt in ("xpt", "json"):
        export_sdtm(DATA / "jlc2022", tmp_path / fmt, fmt=fmt)
        for path in sorted(p for p in (exports / fmt).iterdir() if p.is_file()):
            assert path.read_bytes() == (tmp_path / fmt / path.name).read_bytes(), path.name


@pytest.mark.slow
def test_define_xml_validates_against_define_xml_2_1_schema(exports):
    from defineutils.validate.validate import DefineSchemaValidator

    validator = DefineSchemaValidator(exports / "csv" / "define.xml")  # compiles the schema
    for fmt in ("csv", "xpt", "json"):
        validator.xsd.validate(str(exports / fmt / "define.xml"))  # raises when invalid
        assert b"<html" in (exports / fmt / "define.html").read_bytes()[:2000].lower()
    xml = (exports / "xpt" / "define.xml").read_text(encoding="utf-8")
    assert 'href="tr.xpt"' in xml and 'def:DefineVersion="2.1.0"' in xml


@pytest.mark.slow
def test_dataset_json_export_validates_against_the_official_schema(exports):
    schema = json.loads((DSJ / "dataset.schema.json").read_text(encoding="utf-8"))
    for path in sorted((exports / "json").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(document, schema)
        assert document["records"] == len(document["rows"])
    tr = json.loads((exports / "json" / "tr.json").read_text(encoding="utf-8"))
    names = [c["name"] for c in tr["columns"]]
    row = next(r for r in tr["rows"] if r[names.index("TRLNKID")] == "primary"
               and r[names.index("TRTESTCD")] == "LDIAM")
    assert row[names.index("TRSTRESN")] == 140  # a number, not text


@pytest.mark.slow
def test_csv_export_keeps_define_csv_and_adds_core_sidecars(exports):
    sets = _csv(exports / "csv" / "_datasets.csv")
    assert {"Filename", "Label"} <= set(sets.columns) and "tr" in set(sets["Filename"])
    variables = _csv(exports / "csv" / "_variables.csv")
    assert list(variables.columns) == ["dataset", "variable", "label", "type", "length"]
    trseq = variables[(variables["dataset"] == "tr") & (variables["variable"] == "TRSEQ")]
    assert trseq["type"].tolist() == ["Num"]
    assert (exports / "csv" / "define.csv").is_file()


def test_export_refuses_an_unknown_format(tmp_path, capsys):
    assert main(["export-sdtm", "--case", str(DATA / "jlc2022"), "--out", str(tmp_path / "o"),
                 "--format", "sas7bdat"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_reader_errors_name_the_file(tmp_path):
    bad = tmp_path / "tu.json"
    bad.write_text('{"columns": [{"name": "USUBJID"}], "rows": [["a", "b"]]}')
    with pytest.raises(SdtmInputError, match=r"tu.json: row 1: expected a list of 1"):
        read_dataset(bad)
    bad.write_text('{"columns": ')
    with pytest.raises(SdtmInputError, match=r"tu.json: line 1: not valid JSON"):
        read_dataset(bad)
    xpt = tmp_path / "tu.xpt"
    xpt.write_bytes(b"not an xport file" * 10)
    with pytest.raises(SdtmInputError, match=r"tu.xpt: cannot be read as SAS XPORT"):
        read_dataset(xpt)


def test_json_value_that_is_an_object_names_record_and_variable(tmp_path):
    bad = tmp_path / "tu.json"
    bad.write_text('{"name": "TU", "columns": [{"name": "USUBJID"}, {"name": "TULOC"}], '
                   '"rows": [["a", "LIVER"], ["b", {"x": 1}]]}')
    with pytest.raises(SdtmInputError, match=r"tu.json: record 2: TULOC is a JSON object"):
        read_dataset(bad)


def test_xpt_v5_limits_are_errors_naming_the_variable():
    from casekit.interop.sdtm_write import SdtmWriteError, creation_time, xpt_bytes

    when = creation_time([])
    long_text = pd.DataFrame({"STUDYID": ["S"], "DOMAIN": ["TU"], "TULOC": ["x" * 201]})
    with pytest.raises(SdtmWriteError, match=r"TU.TULOC: a value is 201 bytes long"):
        xpt_bytes("TU", long_text, when)
    long_name = pd.DataFrame({"STUDYID": ["S"], "TULOCATION": ["LIVER"]})
    with pytest.raises(SdtmWriteError, match=r"TU.TULOCATION: an XPORT v5 name has at most 8"):
        xpt_bytes("TU", long_name, when)


@pytest.mark.slow
def test_unknown_lesion_kind_in_supptu_is_logged(tmp_path, capsys):
    folder = tmp_path / "s"
    folder.mkdir()
    for path in VARIANTS.glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    pd.DataFrame({"STUDYID": ["CDISCPILOT01"], "RDOMAIN": ["TU"], "USUBJID": ["01-701-1015"],
                  "IDVAR": ["TUSEQ"], "IDVARVAL": ["9"], "QNAM": ["TUKIND"],
                  "QVAL": ["=cmd|' /C calc'!A0"]}).to_csv(folder / "supptu.csv", index=False)
    assert main(["import-sdtm", str(folder), "--out", str(tmp_path / "o")]) == 0
    log = _csv(tmp_path / "o" / "import_log.csv")
    assert log["what"].str.contains("is not a lesion kind", regex=False).any()
    assert validate_case(tmp_path / "o" / "01-701-1015") == []


def test_two_files_holding_the_same_records_differently_are_an_error(tmp_path, capsys):
    """tu.csv beside a reworked copy of itself (one location respelled): not two parts."""
    folder = tmp_path / "s"
    folder.mkdir()
    for path in VARIANTS.glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    tu = _csv(VARIANTS / "tu_onco_recist.csv")
    tu.loc[0, "TULOC"] = "ADRENAL"
    tu.to_csv(folder / "tu_v2.csv", index=False)
    assert main(["import-sdtm", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "tu_onco_recist.csv and" in err and "tu_v2.csv" in err
    assert "USUBJID=01-701-1015, TUSEQ=1" in err
