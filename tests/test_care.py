"""The CARE checklist (Gagnier 2013; Riley 2017) scored from a case folder.

Expected verdicts are worked out by hand from the case files and the mapping in
data/README.md ("CARE checklist"), not copied from the code's output.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from casekit import cli
from casekit.case import load_case, schema
from casekit.case.scaffold import new_case
from casekit.rules.care import CARE_COLUMNS, ITEMS, care_summary, care_table

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "data" / "jlc2022"
TOPICS = ["Title", "Key words", "Abstract", "Introduction", "Patient information",
          "Clinical findings", "Timeline", "Diagnostic assessment", "Therapeutic intervention",
          "Follow-up and outcomes", "Discussion", "Patient perspective", "Informed consent"]


def verdicts(table) -> dict[str, str]:
    return dict(zip(table["topic"], table["verdict"]))


def evidence(table, topic: str) -> str:
    return table.loc[table["topic"] == topic, "evidence"].item()


def test_the_checklist_has_the_13_care_items_in_order():
    assert [i.topic for i in ITEMS] == TOPICS
    assert [i.number for i in ITEMS] == list(range(1, 14))


def test_the_seed_scores_high():
    table = care_table(load_case(SEED))
    assert list(table.columns) == CARE_COLUMNS and len(table) == 13
    # By hand from data/jlc2022: the title ends in "a case report" (facts.csv:2); source.txt
    # has an unlabelled abstract (lines 3-13, before " INTRODUCTION" on line 14), the
    # sections INTRODUCTION (14), "1. Clinical findings" (91) and DISCUSSION (268), and
    # "waived the requirement for informed consent" (87); the facts give age and sex
    # (lines 6-7) and the history (aetiology, cirrhosis, alcohol, smoking: 8-11), the
    # timeline a presentation, a diagnosis, treatments with their doses as facts, scans
    # and labs after cycle 1, the fever and the outcome. No key words in source.txt or the
    # facts, and no patient perspective: those two are missing.
    expected = {topic: "present" for topic in TOPICS}
    expected["Key words"] = expected["Patient perspective"] = "missing"
    assert verdicts(table) == expected
    assert care_summary(table) == "11 of 13 CARE items present, 0 partial, 2 missing"
    assert evidence(table, "Title") == "facts.csv:2 (title)"
    assert "source.txt:3-13" in evidence(table, "Abstract")
    assert "source.txt:14 (section 'INTRODUCTION')" in evidence(table, "Introduction")
    assert "facts.csv:6-7 (age_years, sex)" in evidence(table, "Patient information")
    assert "source.txt:91 (section '1. Clinical findings')" in evidence(table,
                                                                       "Clinical findings")
    assert "source.txt:268 (section 'DISCUSSION')" in evidence(table, "Discussion")
    assert evidence(table, "Informed consent") == "source.txt:87"
    # the ascites and encephalopathy facts (31-32) are assumed: named as such
    assert "facts.csv:31-32 (ascites, encephalopathy; assumed)" in evidence(
        table, "Clinical findings")
    missing = table[table["verdict"] == "missing"]
    assert all(missing["to_complete"] != "") and all(missing["evidence"] == "")
    assert (table.loc[table["verdict"] == "present", "to_complete"] == "").all()


def _filled_scaffold(folder: Path) -> Path:
    """A fresh scaffold whose example rows are kept but no longer marked as examples (the
    markers make it invalid, and CARE scores a loaded case)."""
    new_case(folder)
    for name in [p.name for p in folder.glob("*.csv")]:
        path = folder / name
        path.write_text(path.read_text(encoding="utf-8").replace(schema.EXAMPLE_MARKER, "x"),
                        encoding="utf-8")
    return folder


def test_a_scaffold_does_not(tmp_path):
    table = care_table(load_case(_filled_scaffold(tmp_path / "scaffold")))
    # By hand from casekit/case/scaffold.py's example rows: one assumed title without
    # "case report" (title: partial); no key words, source.txt, demographics, examination,
    # follow-up, outcome, adverse event, perspective or consent; one timeline event (day0,
    # systemic) with nothing after it (timeline: missing); its lab and lesion on the
    # treatment's day are assumed baseline results, but no diagnosis or stage (partial); a
    # systemic event but no dose (partial); the example trial is cited literature only
    # (introduction, discussion: partial).
    partial = {"Title", "Introduction", "Diagnostic assessment", "Therapeutic intervention",
               "Discussion"}
    assert verdicts(table) == {t: "partial" if t in partial else "missing" for t in TOPICS}
    assert care_summary(table) == "0 of 13 CARE items present, 5 partial, 8 missing"
    title = table.loc[table["topic"] == "Title"].iloc[0]
    assert title["evidence"] == "facts.csv:2 (title; assumed)"
    assert "now assumed, not stated by the paper" in title["to_complete"]
    assert "'case report'" in title["to_complete"]
    intro = table.loc[table["topic"] == "Introduction"].iloc[0]
    assert intro["evidence"] == "trials.csv:2 (1 row)"
    assert "only the trials it cites" in intro["to_complete"]


def _case(folder: Path, facts: str = "", timeline: str = "", source: str | None = None) -> Path:
    folder.mkdir()
    (folder / "facts.csv").write_text("key,value,unit,status,source\n" + facts,
                                      encoding="utf-8")
    (folder / "timeline.csv").write_text(
        "event_id,label,category,anchor,offset_days,status,source\n"
        + (timeline or "c1,Cycle 1,systemic,,0,reported,Title line\n"), encoding="utf-8")
    (folder / "labs.csv").write_text("event_id,test,value,unit,status,source\n",
                                     encoding="utf-8")
    (folder / "lesions.csv").write_text(
        "event_id,lesion_id,site,kind,role,measure,size_cm,assessment,status,source\n",
        encoding="utf-8")
    if source is not None:
        (folder / "source.txt").write_text(source, encoding="utf-8")
    return folder


def test_each_rule_on_a_small_case(tmp_path):
    source = ("Title line\n\nKeywords: melanoma; pembrolizumab; pseudoprogression\n"
              "An abstract line.\nAnother abstract line.\n\nBackground\nWhy.\n"
              "Patient's perspective: I felt better.\nConsent was obtained from the patient.\n")
    facts = ("title,Pseudoprogression of melanoma on pembrolizumab,,reported,Title line\n"
             "age_years,58,years,reported,Title line\n")
    folder = _case(tmp_path / "c", facts=facts, source=source)
    table = care_table(load_case(folder))
    got = verdicts(table)
    assert got["Title"] == "partial"  # no "case report" in it
    assert evidence(table, "Key words") == "source.txt:3"
    # lines 4-5 come before the first section heading ("Background", line 7)
    assert evidence(table, "Abstract").startswith("source.txt:3-5 ")
    assert got["Introduction"] == "present"
    assert got["Patient perspective"] == "present"
    assert evidence(table, "Informed consent") == "source.txt:10"
    # demographics alone: symptoms and history are missing, so partial
    assert got["Patient information"] == "partial"
    # one event, no later assessment: no timeline
    assert got["Timeline"] == "missing"


def test_a_title_saying_case_report_and_stated_keywords(tmp_path):
    facts = ("title,A durable response: a case report,,reported,x\n"
             "keywords,HCC; TARE,,reported,x\n")
    table = care_table(load_case(_case(tmp_path / "c", facts=facts)))
    assert verdicts(table)["Title"] == "present"
    assert evidence(table, "Key words") == "facts.csv:3 (keywords)"


def test_cli_prints_the_checklist(capsys):
    assert cli.main(["care", "--case", str(SEED)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith("11 of 13 CARE items present, 0 partial, 2 missing")
    assert " 1. Title: present\n    evidence: facts.csv:2 (title)\n" in out
    assert "12. Patient perspective: missing\n    to complete: " in out


def test_cli_writes_13_rows_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "build" / "care.csv"
    assert cli.main(["care", "--case", str(SEED), "--out", str(out)]) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 13 and list(rows[0]) == CARE_COLUMNS
    first = out.read_bytes()
    assert cli.main(["care", "--case", str(SEED), "--out", str(out)]) == 0  # same bytes
    out.write_text("mine\n")
    assert cli.main(["care", "--case", str(SEED), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "Traceback" not in err
    assert out.read_text() == "mine\n"
    assert first.count(b"\n") == 14
    assert cli.main(["care", "--case", str(SEED), "--out", str(tmp_path)]) == 2  # a folder
    assert "exists and is not a file" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["data/jlc2022/care.csv", "notebooks/care.csv"])
def test_cli_refuses_to_write_into_inputs(capsys, where):
    assert cli.main(["care", "--case", str(SEED), "--out", str(REPO / where)]) == 2
    assert "error: --out" in capsys.readouterr().err
    assert not (REPO / where).exists()


def test_cli_bad_case(tmp_path, capsys):
    assert cli.main(["care", "--case", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err
    new_case(tmp_path / "scaffold")  # example rows still marked: not a case yet
    assert cli.main(["care", "--case", str(tmp_path / "scaffold")]) == 2
    assert "EXAMPLE row" in capsys.readouterr().err
