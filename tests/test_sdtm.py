"""SDTM import, export and round trips (casekit.interop.sdtm) on the vendored
pharmaversesdtm test data and on the case folders of data/."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from casekit.case import load_case, validate_case
from casekit.interop.sdtm import SdtmInputError, export_case, export_sdtm, import_sdtm
from casekit.cli import main
from conftest import DATA

SDTM = DATA / "external" / "pharmaversesdtm"
# 1015: partial baseline TRDTC; 1143: VISITNUM 9.2 on two dates + an OVRLRESP 'CHECK';
# 1065: no iRECIST records; 1143 also has a target not measured (SUBJNO 1143 % 9 == 0).
SUBJECTS = ["01-701-1015", "01-711-1143", "01-701-1023", "01-704-1065"]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    out = tmp_path_factory.mktemp("cases")
    summary = import_sdtm(SDTM, out, evaluator="INVESTIGATOR", subjects=SUBJECTS,
                          echo=lambda line: None)
    return out, summary


def test_every_imported_subject_is_a_valid_case(imported):
    out, summary = imported
    assert [p.name for p in summary.imported] == SUBJECTS
    for folder in summary.imported:
        assert validate_case(folder) == []


def test_subject_1015_values_traced_to_records(imported):
    out, _ = imported
    case = load_case(out / "01-701-1015")
    assert case.title == "pharmaversesdtm subject 01-701-1015 (CDISC pilot test data, not a real patient)"
    assert case.fact("age_years") == "63" and case.fact("sex") == "female"  # DM AGE=63.0, SEX=F
    assert case.fact("criteria") == "RECIST1.1;iRECIST"  # the subject has iRECIST RS records
    les = case.lesions.set_index(["event_id", "lesion_id", "measure"])
    # TR TRSEQ=6: LPERP 16 mm of the LYMPH NODE target T02 = its short axis, 1.6 cm.
    node = les.loc[("baseline", "T02", "short_axis")]
    assert node["size_cm"] == 1.6 and node["kind"] == "lymph_node"
    assert node["source"].startswith("TR TRSEQ=6 LPERP")
    # Its baseline TRDTC is '2014-01': completed from the same visit's 2014-01-02 = RFSTDTC.
    assert "partial" in node["source"] and case.day_of("baseline") == 0
    assert (case.lesions["status"] == "derived").all()
    assert case.lesions["source"].str.match(r"TR TRSEQ=\d+").all()
    # Non-nodal LPERP is not a RECIST measure: non-nodal targets have only 'longest'.
    assert set(case.lesions.loc[case.lesions["kind"] == "tumour", "measure"]) <= {"longest", ""}
    resp = case.responses[case.responses["criteria"] == "RECIST1.1"].set_index("event_id")
    assert resp.loc["week_6", "source"].startswith("RS RSSEQ=")


def test_mess_is_reported_not_hidden(imported):
    out, summary = imported
    log = pd.read_csv(out / "import_log.csv", dtype=str)
    mine = log[log["subject"] == "01-711-1143"]["what"]
    # VISITNUM 9.2 on 2013-06-22 and 2013-09-22 (RFSTDTC 2013-04-03): days 80 and 172.
    assert mine.str.contains("unscheduled_9.2_day80").any()
    assert mine.str.contains("unscheduled_9.2_day172").any()
    assert mine.str.contains("OVRLRESP='CHECK'").any()
    case = load_case(out / "01-711-1143")
    assert {"unscheduled_9.2_day80", "unscheduled_9.2_day172"} <= set(case.timeline["event_id"])
    # A target not done is a row without a measurement, never 0.
    nd = case.lesions[case.lesions["source"].str.contains("NOT DONE")]
    assert len(nd) == 1 and nd["size_cm"].isna().all() and (nd["role"] == "target").all()


def _mini_sdtm(tmp_path, drop_baseline_for=None, drop_column=None):
    folder = tmp_path / "sdtm"
    folder.mkdir()
    keep = {"01-701-1015", "01-701-1023"}
    for name in ("dm", "tu_onco", "tr_onco"):
        frame = pd.read_csv(SDTM / f"{name}.csv.gz", dtype=str, keep_default_na=False)
        frame = frame[frame["USUBJID"].isin(keep)]
        if drop_baseline_for and name == "tr_onco":
            frame = frame[~((frame["USUBJID"] == drop_baseline_for) & (frame["VISITNUM"] == "3.0"))]
        if drop_column and drop_column in frame.columns:
            frame = frame.drop(columns=drop_column)
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def test_subject_without_baseline_is_skipped_with_reason(tmp_path):
    folder = _mini_sdtm(tmp_path, drop_baseline_for="01-701-1015")
    summary = import_sdtm(folder, tmp_path / "out", echo=lambda line: None,
                          subjects=["01-701-1015", "01-701-1023", "99-999-9999"])
    assert [p.name for p in summary.imported] == ["01-701-1023"]
    assert summary.skipped["01-701-1015"].startswith("no baseline")
    assert summary.skipped["99-999-9999"].startswith("not in DM")


def test_missing_variable_exits_2_naming_file_and_variable(tmp_path, capsys):
    folder = _mini_sdtm(tmp_path, drop_column="TRLNKID")
    assert main(["import-sdtm", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "tr_onco.csv" in err and "TRLNKID" in err and "Traceback" not in err


def test_missing_domain_and_corrupt_file_exit_2(tmp_path, capsys):
    folder = _mini_sdtm(tmp_path)
    (folder / "tu_onco.csv").unlink()
    assert main(["import-sdtm", str(folder), "--out", str(tmp_path / "o")]) == 2
    assert "domain TU is missing" in capsys.readouterr().err
    (folder / "tu.csv.gz").write_bytes(b"not gzip")
    assert main(["import-sdtm", str(folder), "--out", str(tmp_path / "o")]) == 2
    assert "tu.csv.gz" in capsys.readouterr().err
    with pytest.raises(SdtmInputError):
        import_sdtm(tmp_path / "nowhere", tmp_path / "o")


# ------------------------------------------------------------------ round trips

def _lesion_rows(case):
    cols = ["event_id", "lesion_id", "site", "kind", "role", "measure", "size_cm", "assessment"]
    frame = case.lesions[cols].copy()
    frame["size_cm"] = frame["size_cm"].round(6)
    return sorted(map(tuple, frame.fillna(-1).astype(str).to_numpy()))


def _days(case, events):
    return {e: case.day_of(e) for e in events}


@pytest.mark.parametrize("name", ["jlc2022", "demo-synthetic"])
def test_import_of_export_reproduces_a_case(tmp_path, name):
    original = load_case(DATA / name)
    export_sdtm(DATA / name, tmp_path / "sdtm")
    summary = import_sdtm(tmp_path / "sdtm", tmp_path / "cases", evaluator=None,
                          echo=lambda line: None)
    assert validate_case(summary.imported[0]) == []
    back = load_case(summary.imported[0])
    assert _lesion_rows(back) == _lesion_rows(original)
    labs = lambda c: sorted(zip(c.labs["event_id"], c.labs["test"], c.labs["value"].round(9),  # noqa: E731
                                c.labs["unit"]))
    assert labs(back) == labs(original)
    used = set(original.lesions["event_id"]) | set(original.labs["event_id"]) | \
        set(original.responses["event_id"]) | \
        set(original.timeline.loc[original.timeline["category"] == "systemic", "event_id"])
    assert _days(back, used) == _days(original, used)
    key = lambda c: sorted(zip(c.responses["event_id"], c.responses["criteria"],  # noqa: E731
                               c.responses["category"]))
    assert key(back) == key(original)


@pytest.mark.slow  # a round trip of many subjects: make test-slow / CI
def test_import_of_export_reproduces_imported_subjects(imported, tmp_path):
    out, summary = imported
    for folder in summary.imported:
        original = load_case(folder)
        export_sdtm(folder, tmp_path / folder.name / "sdtm")
        again = import_sdtm(tmp_path / folder.name / "sdtm", tmp_path / folder.name / "cases",
                            evaluator="INVESTIGATOR", echo=lambda line: None)
        back = load_case(again.imported[0])
        assert _lesion_rows(back) == _lesion_rows(original), folder.name
        assert _days(back, set(original.lesions["event_id"])) == \
            _days(original, set(original.lesions["event_id"]))
        assert sorted(map(tuple, back.responses.to_numpy())) == \
            sorted(map(tuple, original.responses.to_numpy()))


def _read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _originals():
    tr, tu = _read(SDTM / "tr_onco.csv.gz"), _read(SDTM / "tu_onco.csv.gz")
    rs = pd.concat([_read(SDTM / "rs_onco.csv.gz"), _read(SDTM / "rs_onco_irecist.csv.gz")])
    inv = lambda f, p: f[(f[f"{p}EVAL"] == "INVESTIGATOR") & (f[f"{p}EVALID"] == "")]  # noqa: E731
    return {"tr": inv(tr, "TR"), "tu": inv(tu, "TU"), "rs": inv(rs, "RS")}


def _tr_key(frame):
    value = pd.to_numeric(frame["TRSTRESN"].replace("", None), errors="coerce").round(6)
    text = np.where(value.isna(), frame["TRSTRESC"], value.astype(str))
    return pd.DataFrame({"USUBJID": frame["USUBJID"].to_numpy(),
                         "TRLNKID": frame["TRLNKID"].to_numpy(),
                         "TRTESTCD": frame["TRTESTCD"].to_numpy(),
                         "VISITNUM": frame["VISITNUM"].astype(float).to_numpy(),
                         "month": frame["TRDTC"].str.slice(0, 7).to_numpy(), "value": text,
                         "TRSTAT": frame["TRSTAT"].to_numpy(), "TRGRPID": frame["TRGRPID"].to_numpy(),
                         "TRDTC": frame["TRDTC"].to_numpy()})


def assert_consumed_records_reproduced(exported: dict, originals: dict, subjects) -> None:
    """export(import(sdtm)) gives back the TU, TR and RS records the import consumed."""
    tu = originals["tu"][originals["tu"]["USUBJID"].isin(subjects)]
    key = lambda f: sorted(zip(f["USUBJID"], f["TULNKID"], f["TUORRES"], f["TULOC"],  # noqa: E731
                               f["VISITNUM"].astype(float)))
    assert key(exported["tu"]) == key(tu)
    # Consumed TR tests: LDIAM, TUMSTATE, and LPERP of lymph nodes (their short axis).
    tr = originals["tr"][originals["tr"]["USUBJID"].isin(subjects)]
    nodes = set(zip(tu.loc[tu["TULOC"] == "LYMPH NODE", "USUBJID"],
                    tu.loc[tu["TULOC"] == "LYMPH NODE", "TULNKID"]))
    is_node = pd.Series([k in nodes for k in zip(tr["USUBJID"], tr["TRLNKID"])], index=tr.index)
    tr = tr[tr["TRTESTCD"].isin(["LDIAM", "TUMSTATE"]) | ((tr["TRTESTCD"] == "LPERP") & is_node)]
    mine = exported["tr"][exported["tr"]["TRTESTCD"].isin(["LDIAM", "LPERP", "TUMSTATE"])]
    a, b = _tr_key(tr), _tr_key(mine)
    cols = ["USUBJID", "TRLNKID", "TRTESTCD", "VISITNUM", "month", "value", "TRSTAT", "TRGRPID"]
    left = a[cols].sort_values(cols).drop_duplicates().reset_index(drop=True)
    assert left.equals(b[cols].sort_values(cols).reset_index(drop=True))
    # Dates: complete ones come back as they were; a partial one (2014-01) comes back completed.
    merged = a.merge(b, on=cols, suffixes=("", "_out")).drop_duplicates()
    assert all(o.startswith(i) for i, o in zip(merged["TRDTC"], merged["TRDTC_out"]))
    # RS: every recorded record (OVRLRESP and its components), RSSEQ kept, by the standard result.
    rs = originals["rs"][originals["rs"]["USUBJID"].isin(subjects)]
    rs = rs[rs["RSSTRESC"] != "CHECK"]
    got = exported["rs"][exported["rs"]["RSEVAL"] == "INVESTIGATOR"]
    rkey = lambda f: sorted(zip(f["USUBJID"], f["RSSEQ"].astype(int), f["RSTESTCD"],  # noqa: E731
                                f["RSSTRESC"], f["VISITNUM"].astype(float), f["RSCAT"]))
    # 01-711-1143's CHECK visit: its overall call is no category, so its components
    # (RSSEQ 20, 22, 24) have no response row to ride on; the import log says so.
    lost = {("01-711-1143", 20), ("01-711-1143", 22), ("01-711-1143", 24)}
    assert rkey(got) == [k for k in rkey(rs) if (k[0], k[1]) not in lost]


def _export_all(folders):
    """Every folder exported, each domain concatenated over the subjects."""
    parts = [export_case(folder) for folder in folders]
    return {name: pd.concat([p[name] for p in parts if not p[name].empty], ignore_index=True)
            .astype(str).replace("nan", "")
            for name in ("dm", "tu", "tr", "rs")}


def _lesion_text(folder):
    """lesions.csv as written, provenance aside, in a fixed row order."""
    frame = pd.read_csv(folder / "lesions.csv", dtype=str, keep_default_na=False)
    return sorted(map(tuple, frame.drop(columns=["status", "source"]).to_numpy()))


def test_export_of_import_reproduces_consumed_records(imported):
    out, summary = imported
    assert_consumed_records_reproduced(_export_all(summary.imported), _originals(), SUBJECTS)


def test_export_writes_sdtm_names_and_computed_calls(tmp_path, capsys):
    assert main(["export-sdtm", "--case", str(DATA / "jlc2022"), "--out", str(tmp_path)]) == 0
    rs = _read(tmp_path / "rs.csv")
    assert {"RECORDED", "COMPUTED"} == {"COMPUTED" if e == "COMPUTER ALGORITHM" else "RECORDED"
                                        for e in rs["RSEVAL"]}
    recorded = rs[rs["RSEVAL"] != "COMPUTER ALGORITHM"]
    assert sorted(zip(recorded["RSCAT"], recorded["RSORRES"])) == [("mRECIST", "PD"), ("mRECIST", "PR")]
    tr = _read(tmp_path / "tr.csv")
    # The primary's 14 cm at baseline is LDIAM 140 mm; SDTM day 1 = case day 0, so the
    # baseline MRI on day -14 is TRDY -14.
    primary = tr[(tr["TRLNKID"] == "primary") & (tr["TRTESTCD"] == "LDIAM")]
    assert primary["TRSTRESN"].tolist()[0] == "140" and primary["TRDY"].tolist()[0] == "-14"
    assert (tmp_path / "define.csv").is_file() and (tmp_path / "supptu.csv").is_file()
    assert main(["export-sdtm", "--case", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2


@pytest.mark.slow
def test_full_import_all_subjects_valid_timed_and_round_trip(tmp_path):
    start = time.perf_counter()
    summary = import_sdtm(SDTM, tmp_path / "cases", echo=lambda line: None)
    seconds = time.perf_counter() - start
    assert len(summary.imported) == 254 and summary.skipped == {}
    print(f"imported {len(summary.imported)} subjects in {seconds:.1f} s "
          f"({len(summary.imported) / seconds:.0f} subjects/s)")
    for folder in summary.imported:
        assert validate_case(folder) == [], folder
    # export(import(sdtm)) for every subject, then import(export(...)) of all of them at once.
    exported = _export_all(summary.imported)
    assert_consumed_records_reproduced(exported, _originals(), [p.name for p in summary.imported])
    (tmp_path / "sdtm").mkdir()
    for name, frame in exported.items():
        frame.to_csv(tmp_path / "sdtm" / f"{name}.csv", index=False)
    again = import_sdtm(tmp_path / "sdtm", tmp_path / "again", echo=lambda line: None)
    assert [p.name for p in again.imported] == [p.name for p in summary.imported]
    for before, after in zip(summary.imported, again.imported):
        assert _lesion_text(after) == _lesion_text(before), before.name
