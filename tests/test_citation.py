"""Licence and citation: LICENSE, data/LICENSES.md, CITATION.cff (validated by cffconvert)
and ``casekit cite``.

Expected texts are read off the files by hand: data/jlc2022/facts.csv rows ``title``,
``citation``, ``doi``, ``licence`` and the article's header (J Liver Cancer 2022;22(1):69-74,
Park MK, Yu SJ; /work/shared/source/README.md).
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from hostile_text import read_rows, write_rows

import casekit
from casekit import cli
from casekit.run.cite import CiteError, cite, read_software

REPO = Path(__file__).resolve().parents[1]
CFF = REPO / "CITATION.cff"
DATA = REPO / "data"
# Installed by `make setup` in its own venv (cffconvert pins jsonschema<4; jupyter needs 4).
CFFCONVERT = REPO / ".venv" / "cffconvert" / "bin" / "cffconvert"

TITLE = ("Concurrent transarterial radioembolization and combination atezolizumab/"
         "bevacizumab treatment of infiltrative hepatocellular carcinoma with portal vein "
         "tumor thrombosis: a case report")


def cffconvert_validate(path: Path) -> subprocess.CompletedProcess:
    assert CFFCONVERT.exists(), f"{CFFCONVERT} is missing: run `make setup`"
    return subprocess.run([str(CFFCONVERT), "--validate", "-i", str(path)],
                          capture_output=True, text=True, timeout=60)


# ---------------------------------------------------------------- CITATION.cff


def test_citation_cff_is_valid_per_cffconvert():
    result = cffconvert_validate(CFF)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid according to schema version 1.2.0" in result.stdout


@pytest.mark.parametrize("breakage", [
    # a DOI that is not one (the schema's pattern wants "10.NNNN/...")
    ("    doi: 10.17998/jlc.2022.03.09", "    doi: not-a-doi"),
    # authors are required at the top level
    ("authors:\n  - name: \"The casekit authors\"\n", ""),
    # a version of the format that does not exist
    ("cff-version: 1.2.0", "cff-version: 9.9.9"),
], ids=["bad-doi", "no-authors", "unknown-cff-version"])
def test_cffconvert_rejects_a_broken_copy(tmp_path, breakage):
    old, new = breakage
    text = CFF.read_text(encoding="utf-8")
    assert old in text, "the breakage must apply to the real file"
    broken = tmp_path / "CITATION.cff"
    broken.write_text(text.replace(old, new), encoding="utf-8")
    assert cffconvert_validate(broken).returncode != 0


def test_citation_version_is_the_package_version():
    cff = yaml.safe_load(CFF.read_text(encoding="utf-8"))
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert str(cff["version"]) == casekit.__version__ == pyproject["project"]["version"]


def test_citation_reference_is_the_seed_case_article():
    """The reference under `references:` is the article data/jlc2022 says it comes from."""
    ref = yaml.safe_load(CFF.read_text(encoding="utf-8"))["references"][0]
    source = cli_facts(DATA / "jlc2022")
    assert ref["doi"] == source["doi"] == "10.17998/jlc.2022.03.09"
    assert " ".join(ref["title"].split()) == source["title"] == TITLE
    # facts 'citation' = "Park MK, Yu SJ. J Liver Cancer 2022;22(1):69-74"
    authors = ", ".join(f"{a['family-names']} {a['given-names'].replace('.', '').replace(' ', '')}"
                        for a in ref["authors"])
    expected = f"{authors}. {ref['journal']} {ref['year']};{ref['volume']}({ref['issue']}):" \
               f"{ref['start']}-{ref['end']}"
    assert expected == source["citation"] == "Park MK, Yu SJ. J Liver Cancer 2022;22(1):69-74"
    # facts 'licence' "CC BY-NC 4.0" is SPDX "CC-BY-NC-4.0"
    assert ref["license"] == source["licence"].replace(" ", "-") == "CC-BY-NC-4.0"


def cli_facts(case_dir: Path) -> dict[str, str]:
    from casekit.case import load_case

    return load_case(case_dir).facts_dict


# ---------------------------------------------------------------- licences


def test_code_licence_is_mit_everywhere():
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")
    assert "Copyright (c) 2026 the casekit authors" in (REPO / "LICENSE").read_text()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == {"text": "MIT"}
    assert yaml.safe_load(CFF.read_text(encoding="utf-8"))["license"] == "MIT"


def test_every_data_folder_states_its_licence():
    text = (DATA / "LICENSES.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip().strip("`") for line in text.splitlines()
            if line.startswith("| `")}
    folders = {p.name + "/" for p in DATA.iterdir() if p.is_dir()}
    assert folders - {"external/"} <= rows, f"not in data/LICENSES.md: {folders - rows}"
    assert "external/<name>/" in rows
    # the seed case's row says the licence its facts state
    seed = next(line for line in text.splitlines() if line.startswith("| `jlc2022/`"))
    assert cli_facts(DATA / "jlc2022")["licence"] in seed


def test_vendored_data_carry_their_own_licence_file():
    external = DATA / "external"
    vendored = [p for p in external.iterdir() if p.is_dir()] if external.is_dir() else []
    for folder in vendored:
        assert any(folder.glob("LICENSE*")), f"{folder} has no LICENSE file"


# ---------------------------------------------------------------- casekit cite


def fields(bibtex: str) -> list[str]:
    return [line.rstrip(",") for line in bibtex.splitlines()]


def test_cite_text_for_the_seed_case(capsys):
    assert cli.main(["cite", "--case", str(DATA / "jlc2022")]) == 0
    out = capsys.readouterr().out
    assert ("  The casekit authors. casekit: a published oncology case report as tidy data, "
            "with every figure and claim recomputed. Version 0.1.0. Licence: MIT.\n") in out
    assert "Source article of the case data/jlc2022 (from its facts.csv):\n" in out
    assert f"  Title:    {TITLE}\n" in out
    assert "  Citation: Park MK, Yu SJ. J Liver Cancer 2022;22(1):69-74\n" in out
    assert "  DOI:      https://doi.org/10.17998/jlc.2022.03.09\n" in out
    assert "  Licence:  CC BY-NC 4.0\n" in out
    assert "does not say" not in out


def test_cite_defaults_to_the_seed_case(capsys):
    assert cli.main(["cite"]) == 0
    assert "Park MK, Yu SJ" in capsys.readouterr().out


def test_cite_bibtex_for_the_seed_case_uses_the_structured_reference():
    out = cite(DATA / "jlc2022", "bibtex")
    assert "@misc{casekit,\n" in out and "  note = {Version 0.1.0}" in out
    assert "@article{Park2022,\n" in out
    for field in ("  author = {Park, M. K. and Yu, S. J.}", "  journal = {J Liver Cancer}",
                  "  year = {2022}", "  volume = {22}", "  number = {1}",
                  "  pages = {69--74}", "  doi = {10.17998/jlc.2022.03.09}",
                  f"  title = {{{{{TITLE}}}}}"):
        assert field in fields(out), field
    assert out.startswith("% The case data are under CC BY-NC 4.0")


def test_cite_a_case_without_article_facts_says_what_is_missing(capsys):
    assert cli.main(["cite", "--case", str(DATA / "demo-synthetic")]) == 0
    out = capsys.readouterr().out
    assert "does not say citation, doi, licence of the article it comes from" in out
    assert "Citation:" not in out and "DOI:" not in out
    assert "Version 0.1.0" in out  # the software is still cited


def test_cite_bibtex_without_a_matching_reference_uses_the_facts(tmp_path):
    case = tmp_path / "other-case"
    shutil.copytree(DATA / "demo-synthetic", case)
    with (case / "facts.csv").open("a", encoding="utf-8") as facts:
        facts.write("citation,Doe J. Made-up J 2020;1:1-2,,assumed,test row\n"
                    "doi,10.1234/made.up_1,,assumed,test row\n")
    out = cite(case, "bibtex")
    assert "@misc{othercase,\n" in out
    assert "  note = {Doe J. Made-up J 2020;1:1-2}" in fields(out)
    assert "  doi = {10.1234/made.up_1}" in fields(out)  # DOIs are not escaped
    assert "does not say licence of the article" in out.splitlines()[0]


def test_cite_invalid_case_is_bad_input(tmp_path, capsys):
    assert cli.main(["cite", "--case", str(tmp_path / "absent")]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "does not exist" in err and "Traceback" not in err


def test_cite_unknown_format_is_bad_input(capsys):
    assert cli.main(["cite", "--format", "ris"]) == cli.EXIT_BAD_INPUT
    assert "invalid choice: 'ris'" in capsys.readouterr().err
    with pytest.raises(CiteError, match="unknown format 'ris'"):
        cite(DATA / "jlc2022", "ris")


def test_unreadable_citation_file_is_located(tmp_path):
    broken = tmp_path / "CITATION.cff"
    broken.write_text("cff-version: 1.2.0\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(CiteError, match=r"CITATION.cff:3:1: not valid YAML"):
        read_software(broken)
    with pytest.raises(CiteError, match="No such file"):
        read_software(tmp_path / "absent.cff")


def test_cite_keeps_hostile_facts_inside_their_line_and_field(tmp_path, capsys):
    """Case text went out as it was: a line break in the licence ended the '%' note and
    opened a BibTeX entry of its own, an unbalanced brace closed its field (BibTeX counts
    braces whatever precedes them), an escape sequence reached the terminal."""
    case = shutil.copytree(DATA / "demo-synthetic", tmp_path / "case")
    fields_, rows = read_rows(case / "facts.csv")
    rows[0]["value"] = "A} title\x1b[2J\u202e"  # the title
    rows += [{"key": "licence", "value": "CC BY\n@misc{evil, title={x}}", "unit": "",
              "status": "assumed", "source": "test row"},
             {"key": "doi", "value": "10.1/x}y", "unit": "", "status": "assumed",
              "source": "test row"}]
    write_rows(case / "facts.csv", fields_, rows)
    assert cli.main(["cite", "--case", str(case)]) == 0
    text = capsys.readouterr().out
    assert "  Licence:  CC BY\\n@misc{evil, title={x}}\n" in text
    assert "\x1b" not in text and "\u202e" not in text and "A} title\\x1b[2J\\u202e" in text
    bibtex = cite(case, "bibtex")
    assert [line for line in bibtex.splitlines() if line.startswith("@")] == [
        "@misc{casekit,", "@misc{case,"]
    assert bibtex.splitlines()[0] == ("% The case data are under CC BY\\n@misc{evil, title={x}}, "
                                      "the article's licence.")
    assert "  title = {{A\\textbraceright{} title\\textbackslash{}x1b[2J\\textbackslash{}u202e}}" \
        in fields(bibtex)
    assert "  doi = {10.1/x%7Dy}" in fields(bibtex)
