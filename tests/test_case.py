"""Loading and validating case folders: the format's rules, one bad input at a time.

Each bad case is the valid fixture ``tests/fixtures/minimal`` with one edit; the expected
line and column are counted by hand from the fixture files.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from casekit.case import CaseError, load_case, validate_case

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "minimal"
SEED = Path(__file__).parent.parent / "data" / "jlc2022"


def make_case(tmp_path: Path, edits: dict[str, tuple[str, str] | str | None]) -> Path:
    """Copy the minimal case and apply edits: file -> (old, new) | whole new text | None (delete)."""
    case = tmp_path / "case"
    shutil.copytree(MINIMAL, case)
    for name, edit in edits.items():
        path = case / name
        if edit is None:
            path.unlink()
        elif isinstance(edit, str):
            path.write_text(edit, encoding="utf-8")
        else:
            old, new = edit
            text = path.read_text(encoding="utf-8")
            assert old in text, f"fixture edit does not apply: {old!r}"
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return case


def test_minimal_fixture_is_valid():
    assert validate_case(MINIMAL) == []


def test_seed_case_is_valid():
    assert validate_case(SEED) == []


# (id, edits, file, line, column, fragment of the message)
BAD_CASES = [
    ("thousands separator", {"labs.csv": ("scan1,AFP,100,", 'scan1,AFP,"1,470",')},
     "labs.csv", 2, 3, "thousands separator"),
    ("not a number", {"labs.csv": ("scan1,AFP,100,", "scan1,AFP,n/a,")},
     "labs.csv", 2, 3, "'n/a' is not a number"),
    ("negative number", {"labs.csv": ("scan1,AFP,100,", "scan1,AFP,-5,")},
     "labs.csv", 2, 3, "'-5' is negative"),
    ("negative size", {"lesions.csv": ("longest,5.0,", "longest,-5.0,")},
     "lesions.csv", 2, 7, "is negative"),
    ("unknown unit for a known test", {"labs.csv": ("100,ng/mL", "100,mg")},
     "labs.csv", 2, 4, "unit 'mg' is not known for AFP"),
    ("unit that needs an assay-specific factor", {"labs.csv": ("100,ng/mL", "100,IU/mL")},
     "labs.csv", 2, 4, "expected one of: ng/mL, ug/L"),
    ("missing column",
     {"labs.csv": "event_id,test,value,status,source\nscan1,AFP,100,assumed,x\n"},
     "labs.csv", 1, 6, "missing column 'unit'"),
    ("unknown column",
     {"labs.csv": ("status,source\n", "status,source,comment\n")},
     "labs.csv", 1, 7, "unknown column 'comment'"),
    ("unknown vocabulary word", {"lesions.csv": ("liver,tumour,target", "liver,tumor,target")},
     "lesions.csv", 2, 4, "'tumor' is not a known word"),
    ("unknown status", {"labs.csv": ("ng/mL,assumed", "ng/mL,guessed")},
     "labs.csv", 2, 5, "'guessed' is not a known word"),
    ("duplicate event id",
     {"timeline.csv": ("scan2,Follow-up", "scan1,Follow-up")},
     "timeline.csv", 4, 1, "duplicate event_id scan1"),
    ("duplicate lab row",
     {"labs.csv": ("scan2,BILI,17.1", "scan1,AFP,17.1")},
     "labs.csv", 3, 1, "duplicate event/test scan1/AFP"),
    ("event id that does not exist", {"labs.csv": ("scan1,AFP", "scan9,AFP")},
     "labs.csv", 2, 1, "event_id 'scan9' is not an event"),
    ("anchor that does not exist", {"timeline.csv": ("imaging,start,42", "imaging,nowhere,42")},
     "timeline.csv", 4, 4, "anchor 'nowhere' is not an event"),
    ("anchor cycle", {"timeline.csv": ("systemic,,0", "systemic,scan2,0")},
     "timeline.csv", 2, 4, "anchors form a cycle (start -> scan2 -> start)"),
    ("reported row without a source", {"labs.csv": ("assumed,test fixture\nscan2", "reported,\nscan2")},
     "labs.csv", 2, 6, "source: is empty"),
    ("empty file", {"lesions.csv": ""}, "lesions.csv", 1, 1, "file is empty"),
    ("missing file", {"labs.csv": None}, "labs.csv", 1, 1, "file is missing"),
    ("ragged row", {"labs.csv": ("ng/mL,assumed,test fixture", "ng/mL,assumed,test,fixture")},
     "labs.csv", 2, 7, "row has 7 fields but the header has 6"),
    ("fractional day offset", {"timeline.csv": ("imaging,start,42", "imaging,start,4.5")},
     "timeline.csv", 4, 5, "'4.5' is not a whole number"),
    ("no title", {"facts.csv": ("title,Minimal", "name,Minimal")},
     "facts.csv", 1, 1, "no 'title' fact"),
    ("fact outside its vocabulary",
     {"facts.csv": ("age_years", "ascites,lots,,assumed,x\nage_years")},
     "facts.csv", 3, 2, "'lots' is not a known value of ascites"),
    ("numeric fact with separator",
     {"facts.csv": ("age_years,60", 'age_years,"1,060"')},
     "facts.csv", 3, 2, "age_years '1,060' has a thousands separator"),
    ("size without measure", {"lesions.csv": ("target,longest,5.0", "target,,5.0")},
     "lesions.csv", 2, 6, "size_cm and measure go together"),
    ("non-target without assessment",
     {"lesions.csv": ("target,longest,5.0,present", "non_target,longest,5.0,")},
     "lesions.csv", 2, 8, "a non_target lesion needs an assessment"),
    ("not UTF-8", {"labs.csv": ("test fixture\nscan2", "test fixtur\xe9\nscan2")},
     "labs.csv", 2, 0, "is not UTF-8"),
]


@pytest.mark.parametrize("edits,file,line,column,fragment",
                         [case[1:] for case in BAD_CASES], ids=[case[0] for case in BAD_CASES])
def test_bad_input_is_located(tmp_path, edits, file, line, column, fragment):
    if fragment == "is not UTF-8":  # write the Latin-1 byte itself, not its UTF-8 encoding
        case = make_case(tmp_path, {})
        path = case / file
        path.write_bytes(path.read_bytes().replace(b"fixture\nscan2", b"fixtur\xe9\nscan2"))
        column = len("scan1,AFP,100,ng/mL,assumed,test fixtur") + 1
    else:
        case = make_case(tmp_path, edits)
    problems = validate_case(case)
    hits = [p for p in problems if p.file.endswith(file) and fragment in p.message]
    assert hits, f"no problem mentioning {fragment!r}; got: {[str(p) for p in problems]}"
    assert (hits[0].line, hits[0].column) == (line, column), str(hits[0])


def test_all_problems_are_reported_at_once(tmp_path):
    case = make_case(tmp_path, {
        "labs.csv": ("scan1,AFP,100,ng/mL", 'scan1,AFP,"1,470",mg'),
        "lesions.csv": ("liver,tumour", "liver,tumor"),
        "timeline.csv": ("imaging,start,42", "imaging,nowhere,42"),
    })
    problems = validate_case(case)
    text = "\n".join(map(str, problems))
    for fragment in ("thousands separator", "unit 'mg'", "'tumor'", "anchor 'nowhere'"):
        assert fragment in text
    assert problems == sorted(problems)


def test_byte_order_mark_is_accepted(tmp_path):
    case = make_case(tmp_path, {})
    for path in case.glob("*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert validate_case(case) == []
    assert load_case(case).title == "Minimal fixture case"


def test_header_only_labs_is_a_valid_case(tmp_path):
    case = make_case(tmp_path, {"labs.csv": "event_id,test,value,unit,status,source\n"})
    assert validate_case(case) == []
    assert load_case(case).labs.empty


def test_snippet_must_be_found_in_source_text(tmp_path):
    case = make_case(tmp_path, {"labs.csv": ("scan1,AFP,100,ng/mL,assumed,test fixture",
                                             "scan1,AFP,100,ng/mL,reported,AFP was one hundred")})
    (case / "source.txt").write_text("AFP was one hun-\n\ndred ng/mL.", encoding="utf-8")
    assert validate_case(case) == []  # found across the PDF's hyphenated line break
    (case / "source.txt").write_text("AFP was 100 ng/mL.", encoding="utf-8")
    [problem] = validate_case(case)
    assert (problem.line, problem.column) == (2, 6)
    assert "not a verbatim snippet" in problem.message


def _digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        sha.update(path.name.encode())
        if path.is_file():
            sha.update(path.read_bytes())
    return sha.hexdigest()


def test_validation_never_modifies_the_case(tmp_path):
    case = make_case(tmp_path, {"labs.csv": ("scan1,AFP,100,", 'scan1,AFP,"1,470",')})
    before = _digest(case)
    with pytest.raises(CaseError):
        load_case(case)
    validate_case(case)
    assert _digest(case) == before


def test_load_resolves_days_and_converts_units():
    case = load_case(MINIMAL)
    assert dict(zip(case.timeline["event_id"], case.timeline["day"])) == {
        "scan1": -3, "start": 0, "scan2": 42}
    bili = case.labs.set_index("test").loc["BILI"]
    # 17.1 umol/L / 17.1 (umol/L per mg/dL) = 1.0 mg/dL
    assert (bili["value"], bili["unit"]) == (1.0, "mg/dL")
    assert (bili["value_as_reported"], bili["unit_as_reported"]) == ("17.1", "umol/L")
    assert case.lesions["size_cm"].tolist() == [5.0, 3.0]
    assert case.responses.empty and list(case.responses.columns) == [
        "event_id", "criteria", "category", "source"]


def test_seed_case_holds_the_reported_numbers():
    case = load_case(SEED)
    labs = case.labs.set_index(["event_id", "test"])["value"]
    assert labs["labs_pretreatment", "AFP"] == 654.0
    assert labs["referral", "AFP"] == 588.0 and labs["ct_c3", "AFP"] == 326.4
    assert labs["ct_c6", "AFP"] == 1335.2
    assert [labs[e, "PIVKA-II"] for e in ("labs_pretreatment", "referral", "ct_c3", "ct_c6")] == [
        1470, 7497, 886, 12573]
    assert labs["referral", "PLT"] == 417.0  # 417,000/uL = 417 x 10^9/L
    primary = case.lesions[case.lesions["lesion_id"] == "primary"]["size_cm"].tolist()
    assert primary == [14.0, 9.0, 6.8]
    days = dict(zip(case.timeline["event_id"], case.timeline["day"]))
    assert days["c2"] - days["tare"] == 5 and days["fever"] - days["tare"] == 1
    assert case.fact_number("lung_shunt_fraction_pct") == 2.38


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "casekit", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_valid_case_prints_valid():
    result = run_cli("validate", str(SEED))
    assert (result.returncode, result.stdout) == (0, "valid\n")


def test_cli_invalid_case_exits_2_with_located_messages(tmp_path):
    case = make_case(tmp_path, {"labs.csv": ("scan1,AFP,100,", 'scan1,AFP,"1,470",'),
                                "lesions.csv": None})
    result = run_cli("validate", str(case))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(re.match(r".+\.csv:\d+:\d+: .+", line) for line in lines)


def test_cli_missing_folder_exits_2(tmp_path):
    # issue 21: a path that does not exist is said so, not "is not a folder"
    result = run_cli("validate", str(tmp_path / "absent"))
    assert result.returncode == 2 and "absent:1:1: does not exist;" in result.stdout
    (tmp_path / "afile").write_text("x")
    result = run_cli("validate", str(tmp_path / "afile"))
    assert result.returncode == 2 and "afile:1:1: is not a folder;" in result.stdout
