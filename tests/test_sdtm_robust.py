"""Never a traceback, never a silent loss (issue 18 item 4): each corruption of an SDTM study
ends in exit 2 naming the file, or in exit 0 with the record named in import_log.csv and
case folders that validate."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from casekit.case import load_case, validate_case
from casekit.cli import main
from conftest import DATA

SDTM = DATA / "external" / "pharmaversesdtm"
SUBJECTS = ("01-701-1015", "01-701-1023")


def _study(tmp_path: Path, edit=None, names=None) -> Path:
    """Two pharmaversesdtm subjects as plain CSV; ``edit(domain, frame)`` returns the frame
    to write (or None to leave the domain out)."""
    folder = tmp_path / "sdtm"
    folder.mkdir()
    for stem, domain in (("dm", "DM"), ("tu_onco", "TU"), ("tr_onco", "TR"), ("rs_onco", "RS")):
        frame = pd.read_csv(SDTM / f"{stem}.csv.gz", dtype=str, keep_default_na=False)
        frame = frame[frame["USUBJID"].isin(SUBJECTS)].reset_index(drop=True)
        if edit is not None:
            frame = edit(domain, frame)
        if frame is not None:  # every field quoted, as R's write.csv quotes text
            frame.to_csv(folder / (names or {}).get(domain, f"{stem}.csv"), index=False,
                         quoting=csv.QUOTE_ALL)
    return folder


def _run(tmp_path: Path, folder: Path, capsys) -> tuple[int, str, pd.DataFrame]:
    out = tmp_path / "out"
    code = main(["import-sdtm", str(folder), "--out", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    log = (pd.read_csv(out / "import_log.csv", dtype=str, keep_default_na=False)
           if (out / "import_log.csv").is_file() else pd.DataFrame(columns=["subject", "domain", "what"]))
    if code == 0:
        for case in sorted(p for p in out.iterdir() if p.is_dir() and p.name != ".casekit"):
            assert validate_case(case) == [], case
    return code, err, log


def _at(frame, subject, column, value, seq_col=None, seq=None):
    rows = frame["USUBJID"] == subject
    if seq_col:
        rows &= frame[seq_col] == seq
    frame.loc[rows, column] = value
    return frame


def _logged(log: pd.DataFrame, subject: str, *words: str) -> bool:
    mine = log[log["subject"] == subject]["what"]
    return any(all(w in line for w in words) for line in mine)


@pytest.mark.slow
def test_non_calendar_dates_are_logged_and_treated_as_missing(tmp_path, capsys):
    def edit(domain, frame):
        if domain == "TR":  # 01-701-1023's TRSEQ 30 is a week-6 record
            return _at(frame, "01-701-1023", "TRDTC", "2014-13-45", "TRSEQ", "30")
        if domain == "DM":
            return _at(frame, "01-701-1015", "RFSTDTC", "2014-02-30")
        return frame

    code, _, log = _run(tmp_path, _study(tmp_path, edit), capsys)
    assert code == 0
    assert _logged(log, "01-701-1023", "TRSEQ=30", "2014-13-45", "not a calendar date")
    assert _logged(log, "01-701-1015", "RFSTDTC", "2014-02-30", "not a calendar date")
    # Without a usable RFSTDTC the days come from --DY (TRDY 1 = day 0).
    case = load_case(tmp_path / "out" / "01-701-1015")
    assert case.fact("reference_start_date") is None and case.day_of("baseline") == 0


def test_age_that_is_no_number_is_logged_and_left_out(tmp_path, capsys):
    code, _, log = _run(tmp_path, _study(tmp_path, lambda d, f: _at(
        f, "01-701-1015", "AGE", "sixty") if d == "DM" else f), capsys)
    assert code == 0 and _logged(log, "01-701-1015", "AGE='sixty'", "left out")
    assert load_case(tmp_path / "out" / "01-701-1015").fact("age_years") is None


@pytest.mark.slow
def test_blank_seq_or_usubjid_is_logged_not_a_traceback(tmp_path, capsys):
    def edit(domain, frame):
        if domain == "TR":
            frame.loc[3, "TRSEQ"] = ""
            frame.loc[5, "USUBJID"] = ""
        return frame

    code, _, log = _run(tmp_path, _study(tmp_path, edit), capsys)
    assert code == 0
    # rows 3 and 5 of the frame are lines 5 and 7 of tr_onco.csv (header on line 1)
    assert _logged(log, "01-701-1015", "no TRSEQ", "tr_onco.csv line 5")
    assert _logged(log, "*", "no USUBJID", "tr_onco.csv line 7")


@pytest.mark.slow
def test_second_dm_record_is_logged(tmp_path, capsys):
    def edit(domain, frame):
        if domain == "DM":
            extra = frame[frame["USUBJID"] == "01-701-1015"].assign(AGE="70")
            return pd.concat([frame, extra], ignore_index=True)
        return frame

    code, _, log = _run(tmp_path, _study(tmp_path, edit), capsys)
    assert code == 0 and _logged(log, "01-701-1015", "2 DM records", "the first is used")
    assert load_case(tmp_path / "out" / "01-701-1015").fact("age_years") == "63"


def test_duplicated_column_name_is_an_error_naming_file_and_column(tmp_path, capsys):
    folder = _study(tmp_path)
    text = (folder / "tr_onco.csv").read_text().splitlines()
    text[0] = text[0].replace('"TRSTRESC"', '"TRSTRESN"')  # two TRSTRESN columns
    (folder / "tr_onco.csv").write_text("\n".join(text) + "\n")
    code, err, _ = _run(tmp_path, folder, capsys)
    assert code == 2 and "tr_onco.csv" in err and "TRSTRESN is given twice" in err


@pytest.mark.slow
def test_text_result_is_logged_and_diameter_stands_in(tmp_path, capsys):
    # 01-701-1015 TRSEQ 2: T01 LDIAM 10 mm at baseline; TRSEQ 1 its DIAMETER 10 mm.
    code, _, log = _run(tmp_path, _study(tmp_path, lambda d, f: _at(
        f, "01-701-1015", "TRSTRESN", "ten", "TRSEQ", "2") if d == "TR" else f), capsys)
    assert code == 0 and _logged(log, "01-701-1015", "unusable result", "TRSEQ=2", "'ten'")
    les = load_case(tmp_path / "out" / "01-701-1015").lesions
    row = les[(les["event_id"] == "baseline") & (les["lesion_id"] == "T01")]
    assert row["size_cm"].tolist() == [1.0] and row["source"].str.startswith("TR TRSEQ=1 DIAMETER").all()


@pytest.mark.slow
@pytest.mark.parametrize("value", ["-5", "1e308", "inf", "999"])
def test_sizes_outside_validate_limits_are_logged_not_written(tmp_path, capsys, value):
    def edit(domain, frame):
        if domain == "TR":  # TRSEQ 1 and 2: T01's DIAMETER and LDIAM at baseline
            for seq in ("1", "2"):
                frame = _at(frame, "01-701-1015", "TRSTRESN", value, "TRSEQ", seq)
        return frame

    code, _, log = _run(tmp_path, _study(tmp_path, edit), capsys)
    assert code == 0 and _logged(log, "01-701-1015", "unusable result", "TRSEQ=2")
    les = load_case(tmp_path / "out" / "01-701-1015").lesions
    row = les[(les["event_id"] == "baseline") & (les["lesion_id"] == "T01")]
    assert row["size_cm"].isna().all() and row["source"].str.contains("not evaluable").all()


@pytest.mark.slow
def test_reference_date_far_in_the_past_is_logged(tmp_path, capsys):
    code, _, log = _run(tmp_path, _study(tmp_path, lambda d, f: _at(
        f, "01-701-1015", "RFSTDTC", "1000-01-01") if d == "DM" else f), capsys)
    assert code == 0 and _logged(log, "01-701-1015", "day out of range")
    assert not (tmp_path / "out" / "01-701-1015").exists()


def test_two_files_of_one_dataset_are_an_error(tmp_path, capsys):
    folder = _study(tmp_path)
    frame = pd.read_csv(folder / "tr_onco.csv", dtype=str, keep_default_na=False)
    frame.to_csv(folder / "tr_onco.csv.gz", index=False)
    code, err, _ = _run(tmp_path, folder, capsys)
    assert code == 2 and "tr_onco.csv and" in err and "tr_onco.csv.gz" in err


@pytest.mark.slow
def test_control_characters_and_formulas_are_neutralised(tmp_path, capsys):
    def edit(domain, frame):
        if domain == "TU":
            frame = _at(frame, "01-701-1015", "TULOC", "LIVER\rSEGMENT 4", "TULNKID", "T01")
            frame = _at(frame, "01-701-1015", "TULOC", '=HYPERLINK("http://x")', "TULNKID", "T02")
        return frame

    code, _, _ = _run(tmp_path, _study(tmp_path, edit), capsys)
    assert code == 0
    les = load_case(tmp_path / "out" / "01-701-1015").lesions
    sites = set(les.loc[les["lesion_id"] == "T01", "site"])
    assert sites == {"LIVER\nSEGMENT 4"}  # one row per record, the CR as a quoted line feed
    assert set(les.loc[les["lesion_id"] == "T02", "site"]) == {"'=HYPERLINK(\"http://x\")"}


@pytest.mark.slow
def test_r_style_na_and_no_rs_and_odd_names_import(tmp_path, capsys):
    def edit(domain, frame):
        if domain == "RS":
            return None  # RS is optional
        return frame.replace("", "NA")

    names = {"DM": "DM_2subjects.csv", "TU": "TU.CSV", "TR": "tr_onco_recist.csv"}
    code, _, log = _run(tmp_path, _study(tmp_path, edit, names), capsys)
    assert code == 0
    case = load_case(tmp_path / "out" / "01-701-1015")
    assert case.responses.empty and case.fact("criteria") == "RECIST1.1"
    assert not case.lesions["source"].str.contains("NA").any()


def test_missing_variable_in_series_sdtm_is_bad_input(tmp_path, capsys):
    folder = _study(tmp_path, lambda d, f: f.drop(columns="TRLNKID") if d == "TR" else f)
    code = main(["series", "--sdtm", str(folder), "--out", str(tmp_path / "series")])
    err = capsys.readouterr().err
    assert code == 2 and "tr_onco.csv" in err and "TRLNKID" in err and "Traceback" not in err


@pytest.mark.slow
def test_concordance_with_bad_date_names_the_record(tmp_path, capsys):
    folder = _study(tmp_path, lambda d, f: _at(
        f, "01-701-1023", "TRDTC", "2014-13-45", "TRSEQ", "30") if d == "TR" else f)
    code = main(["concordance", "--sdtm", str(folder), "--evaluator", "INVESTIGATOR",
                 "--out", str(tmp_path / "conc")])
    assert code == 0 and "Traceback" not in capsys.readouterr().err
    log = pd.read_csv(tmp_path / "conc" / "cases" / "INVESTIGATOR" / "import_log.csv", dtype=str)
    assert log["what"].str.contains("TRSEQ=30 TRDTC='2014-13-45'", regex=False).any()


@pytest.mark.slow
def test_latin1_csv_and_byte_order_mark_are_read(tmp_path, capsys):
    folder = _study(tmp_path, lambda d, f: _at(f, "01-701-1015", "TULOC", "FOIE SEGMENT é",
                                                "TULNKID", "T01") if d == "TU" else f)
    tu = folder / "tu_onco.csv"
    tu.write_bytes(tu.read_text(encoding="utf-8").encode("latin-1"))
    dm = folder / "dm.csv"
    dm.write_bytes(b"\xef\xbb\xbf" + dm.read_bytes())  # a byte order mark before STUDYID
    code, _, log = _run(tmp_path, folder, capsys)
    assert code == 0 and _logged(log, "*", "tu_onco.csv", "Latin-1")
    les = load_case(tmp_path / "out" / "01-701-1015").lesions
    assert set(les.loc[les["lesion_id"] == "T01", "site"]) == {"FOIE SEGMENT é"}


@pytest.mark.slow
def test_lab_values_validate_would_refuse_are_logged(tmp_path, capsys):
    """data/jlc2022 exported, one AFP unit mistyped and one value beyond its limit."""
    from casekit.interop.sdtm import export_sdtm

    export_sdtm(DATA / "jlc2022", tmp_path / "sdtm", fmt="csv")
    lb = pd.read_csv(tmp_path / "sdtm" / "lb.csv", dtype=str, keep_default_na=False)
    afp = lb.index[lb["LBTESTCD"] == "AFP"]
    lb.loc[afp[0], "LBORRESU"] = "furlongs"
    lb.loc[afp[1], "LBORRES"] = "1e12"  # ng/mL, above the 1e8 sanity limit
    folder = tmp_path / "in"
    folder.mkdir()
    for path in (tmp_path / "sdtm").glob("*.csv"):
        if path.name[0] != "_" and path.stem != "define":
            (folder / path.name).write_bytes(path.read_bytes())
    lb.to_csv(folder / "lb.csv", index=False)
    out = tmp_path / "out"
    assert main(["import-sdtm", str(folder), "--out", str(out), "--evaluator", "INVESTIGATOR"]) == 0
    log = pd.read_csv(out / "import_log.csv", dtype=str, keep_default_na=False)
    assert _logged(log, "jlc2022", "unit 'furlongs' not known for AFP", f"LBSEQ={lb.loc[afp[0], 'LBSEQ']}")
    assert _logged(log, "jlc2022", "above the sanity limit", f"LBSEQ={lb.loc[afp[1], 'LBSEQ']}")
    assert validate_case(out / "jlc2022") == []


@pytest.mark.slow
def test_two_treatments_at_one_visit_are_two_events(tmp_path, capsys):
    def edit(domain, frame):
        return frame

    folder = _study(tmp_path, edit)
    pd.DataFrame({"STUDYID": "CDISCPILOT01", "DOMAIN": "EX", "USUBJID": "01-701-1015",
                  "EXSEQ": ["1", "2", "3"], "EXTRT": ["DRUG A", "DRUG B", "DRUG A"],
                  "VISITNUM": ["3.0", "3.0", "4.0"], "VISIT": ["BASELINE", "BASELINE", "WEEK 2"],
                  "EXSTDTC": ["2014-01-02", "2014-01-02", "2014-01-16"]}).to_csv(
        folder / "ex.csv", index=False, quoting=csv.QUOTE_ALL)
    code, _, _ = _run(tmp_path, folder, capsys)  # validates every case folder
    assert code == 0
    timeline = load_case(tmp_path / "out" / "01-701-1015").timeline
    assert {"baseline", "baseline_2", "baseline_3", "week_2"} <= set(timeline["event_id"])


@pytest.mark.slow
def test_an_evaluator_without_records_is_logged(tmp_path, capsys):
    folder = _study(tmp_path)
    out = tmp_path / "out"
    assert main(["import-sdtm", str(folder), "--out", str(out), "--evaluator", "NOBODY"]) == 0
    log = pd.read_csv(out / "import_log.csv", dtype=str, keep_default_na=False)
    assert _logged(log, "*", "evaluator NOBODY", "nothing imported")
