"""OUT/report.html: self-contained, deterministic, escaped, tolerant of missing outputs."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

import casekit
from casekit.case import CaseError, load_case
from casekit.rules.criteria import applicable_criteria
from casekit.run.report import build_report, patient_line, render_report

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "data" / "jlc2022"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
                       "hgGAWjR9awAAAABJRU5ErkJggg==")
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
       b'<rect width="4" height="4"/></svg>')
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.fixture
def out(tmp_path):
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    (out / "tables").mkdir()
    (out / "figures" / "timeline.png").write_bytes(PNG)
    (out / "figures" / "timeline.svg").write_bytes(SVG)  # PNG wins
    (out / "figures" / "spider.svg").write_bytes(SVG)
    (out / "figures" / "a_extra.png").write_bytes(PNG)  # not expected: listed after
    (out / "figures" / ".hidden.png").write_bytes(PNG)
    (out / "tables" / "response.csv").write_text(
        "event_id,criteria,category,note\nct_c3,mRECIST,PR,a note\n")
    (out / "tables" / "claims.csv").write_text(
        "claim_id,statement,expected,recomputed,status\nC01,<script>alert(1)</script>,A5,A5,"
        "pass\nC03,b,14,13.9,fail\n")
    (out / "tables" / "zz_other.csv").write_text("a,b\n1,2\n")
    return out


def test_report_content(out):
    path = build_report(SEED, out)
    assert path == out / "report.html"
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<title>Concurrent transarterial radioembolization" in html
    assert "Park MK, Yu SJ. J Liver Cancer 2022;22(1):69-74" in html
    assert "doi:10.17998/jlc.2022.03.09" in html
    assert "Patient: 43-year-old male; cancer: hepatocellular carcinoma; aetiology: HBV" in html
    # figures: embedded, PNG preferred, expected ones first, then the others sorted
    assert html.count("data:image/png;base64,") == 2
    assert html.count("data:image/svg+xml;base64,") == 1
    order = [html.index(x) for x in ("timeline.png", "spider.svg", "a_extra.png")]
    assert order == sorted(order)
    assert ".hidden" not in html
    for missing in ("markers", "viral_load", "lung_dose", "forest"):
        assert f"Figure &ldquo;{missing}&rdquo;: not produced for this case." in html
    # tables: present ones rendered, absent ones named, unknown ones after
    assert "<td>mRECIST</td>" in html
    assert 'class="st-pass"' in html and 'class="st-fail"' in html
    for missing in ("markers.csv", "scores.csv"):  # the seed has markers and liver labs
        assert f"Table &ldquo;{missing}&rdquo;: not produced for this case." in html
    assert html.index("(claims.csv)") < html.index("(zz_other.csv)")
    # assumptions from every case table, with reasons
    assumptions = html[html.index('id="assumptions"'):]
    for text in ("ascites", "tare_activity_gbq", "(left empty)", "node_cha at Baseline dynamic MRI (Primovist)",
                 "1.9 cm short_axis", "day 21 (+21 d from Cycle 1 atezolizumab/bevacizumab (other hospital))", "3-weekly cycles"):
        assert text in assumptions, text
    assert f"casekit {casekit.__version__}" in html


def test_report_is_self_contained_and_escaped(out):
    html = build_report(SEED, out).read_text(encoding="utf-8")
    assert not EXTERNAL.search(html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<link" not in html.lower()


def test_report_is_deterministic(out):
    first = build_report(SEED, out).read_bytes()
    assert build_report(SEED, out).read_bytes() == first
    assert not re.search(rb"20[0-9]{2}-[0-9]{2}-[0-9]{2}", first)  # no timestamp


def test_report_with_nothing_produced(tmp_path):
    html = build_report(SEED, tmp_path).read_text(encoding="utf-8")
    # the seed has every section: 6 figures; tables response, markers, scores, claims
    # (endpoints only when the response notebook writes them)
    assert html.count("not produced for this case") == 6 + 4
    assert "Incomplete run" not in html


def test_report_names_failed_notebooks(tmp_path):
    html = render_report(load_case(SEED), tmp_path, failed=["04_tumour_response.ipynb"])
    assert "Incomplete run" in html and "04_tumour_response.ipynb" in html


def test_patient_line_uses_what_exists():
    minimal = load_case(REPO / "tests" / "fixtures" / "minimal")
    assert patient_line(minimal) == "Patient: 60-year-old"
    html = render_report(minimal, Path("/nonexistent"))
    assert "<h1>Minimal fixture case</h1>" in html


def test_invalid_case_raises(tmp_path):
    with pytest.raises(CaseError):
        build_report(tmp_path / "no-such-case", tmp_path)


def test_claims_outcomes_are_summarised(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "claims.csv").write_text(
        "claim_id,statement,outcome\nC01,a,reproduced\nC02,\"b, c\",known difference\n"
        "C03,d,reproduced\n")
    html = build_report(SEED, tmp_path).read_text(encoding="utf-8")
    assert "<p>3 claims: 2 reproduced, 1 known difference</p>" in html
    assert 'class="st-known_difference"' in html and 'class="st-reproduced"' in html


# ------------------------------------------------------------ findings first


def _seed_tables(out: Path) -> Path:
    from casekit import derive
    from casekit.outputs import write_table
    from casekit.rules import claims

    case = load_case(SEED)
    tables = out / "tables"
    # as notebooks 03-05 write them: the case's derivation, once
    derived = derive.derive_case(case)
    for name in ("response", "bor", "endpoints", "markers"):
        write_table(derived.table(name), tables / f"{name}.csv")
    write_table(derived.scores, tables / "scores.csv")
    write_table(derive.sensitivity(case, derived.options), tables / "sensitivity.csv")
    write_table(claims.check_claims(case), tables / "claims.csv")
    return out


def _text(page: str) -> str:
    import html as html_module

    return html_module.unescape(re.sub(r"<[^>]+>", "", page))


def test_key_findings_lead_and_are_computed_from_the_tables(tmp_path):
    page = build_report(SEED, _seed_tables(tmp_path)).read_text(encoding="utf-8")
    assert page.index('id="findings"') < page.index('id="evidence"') < page.index('id="figures"')
    findings = _text(page[page.index('id="findings"'):page.index('id="evidence"')])
    # criteria: the seed is HCC (mRECIST) treated with atezolizumab (iRECIST)
    assert "Response criteria that apply: RECIST 1.1, mRECIST, iRECIST." in findings
    # ct_c3: sum 14.0 -> 9.0 cm: (9.0 - 14.0) / 14.0 = -35.7 % -> PR; the authors said PR.
    # Scans are named by their timeline label, never by a raw event id (issue 21).
    assert "ct_c3" not in findings and "ct_c6" not in findings
    assert ("Response CT after cycle 3 (day 62): RECIST 1.1 PR (target sum \u221235.7 % from baseline); mRECIST PR "
            "(target sum \u221235.7 % from baseline) \u2014 authors: PR, agrees") in findings
    # ct_c6 under mRECIST: PD from a new lesion (the node past 2 cm), as the authors said
    assert "mRECIST PD (one or more new lesions) \u2014 authors: PD, agrees" in findings
    assert "suspected new lesions not counted" in findings
    # AFP: (654.0 - 326.4) / 654.0 = 50.1 % -> 50 %; 1335.2 / 326.4 = 4.09 -> 4.1-fold
    assert ("AFP fell 50 % from 654.0 ng/mL on day \u22121 to a nadir of 326.4 ng/mL on day 62, "
            "then rose 4.1-fold to 1,335.2 ng/mL on day 125.") in findings
    assert "Child-Pugh A5" in findings and "BCLC C (paper: C)" in findings
    # claims.csv of the seed: 28 claims, one (C24) declared a known difference
    assert "27 of 28 claims reproduced, 1 known difference (C24), with its reason" in findings
    assert "node_cha at Baseline dynamic MRI (Primovist) = 1.9 cm short_axis (assumed" in findings


def test_tables_have_human_headers_consistent_numbers_and_a_cap(tmp_path):
    page = build_report(SEED, _seed_tables(tmp_path)).read_text(encoding="utf-8")
    assert "<th>Change from baseline (%)</th>" in page and "change_from_baseline_pct" not in \
        page.split('id="tables"')[1].split("<table")[1]
    assert "<th>Authors&#x27; call</th>" in page
    # HBV DNA 236000.0 -> 236,000; AFP keeps its one decimal, PIVKA-II none
    assert '<td class="num">236,000</td>' in page and "236000.0" not in page
    assert '<td class="num">588.0</td>' in page and '<td class="num">7,497</td>' in page
    assert '<td class="num">7,497.0</td>' not in page
    # claims: the computed lung shunt fraction keeps its two decimals beside the paper's 20
    assert '<td class="num">20</td><td class="num">2.38</td>' in page
    # 28 claims > 15: capped, counted, linked to the CSV beside the report; the known
    # difference C24 leads, so only reproduced claims are hidden
    assert "First 15 of 28 rows; 13 more not shown, all reproduced." in page
    assert '<a href="tables/claims.csv">tables/claims.csv</a>' in page
    # captions say what a figure shows, not only its file name
    assert "not produced" not in page.split('id="tables"')[1]


def test_empty_table_says_none_for_this_case(tmp_path):
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "claims.csv").write_text("claim_id,statement,outcome\n")
    page = build_report(SEED, tmp_path).read_text(encoding="utf-8")
    assert "None for this case." in page
    assert "<thead>" not in page.split("(claims.csv)")[1].split("<h")[0]


def test_sections_that_do_not_apply_are_left_out(tmp_path):
    page = build_report(REPO / "data" / "demo-synthetic", tmp_path).read_text(encoding="utf-8")
    # demo-synthetic: no radioembolization, no viral load, no trials.csv, no claims.csv
    for stem in ("lung_dose", "viral_load", "forest"):
        assert f"&ldquo;{stem}&rdquo;" not in page
    assert "claims.csv" not in page
    assert "not produced" in page  # but the expected ones still say they are missing


def test_key_findings_name_every_score_and_the_node_reading_the_mrecist_call_rests_on(tmp_path):
    page = build_report(SEED, _seed_tables(tmp_path)).read_text(encoding="utf-8")
    findings = _text(page[page.index('id="findings"'):page.index('id="evidence"')])
    # the seed has neither creatinine nor sodium: "not computable" once per missing input,
    # naming the scores (MELD lacks creatinine; MELD 3.0 and MELD-Na lack both)
    assert "MELD 3.0 and MELD-Na not computable: no creatinine (CREAT), sodium (SODIUM)" in findings
    assert findings.count("not computable") == 2
    assert "meld_na" not in findings and "meld_3" not in findings
    # the mRECIST PD at ct_c6 exists only because node_cha is read as a porta hepatis node
    # (an assumed fact); a reader of the findings must see that assumption
    assert "porta_hepatis_nodes = node_cha (assumed:" in findings


def test_key_findings_use_only_the_files_the_run_wrote(tmp_path):
    # A run passes the files its notebooks wrote; a response.csv lying in the folder that the
    # run did not write (another case's, a user's) must not feed the key findings.
    out = _seed_tables(tmp_path)
    case = load_case(SEED)
    page = render_report(case, out, files=["tables/markers.csv"])
    findings = _text(page[page.index('id="findings"'):page.index('id="evidence"')])
    assert "ct_c3" not in findings and "authors:" not in findings
    assert "AFP fell 50 %" in findings  # markers.csv was written by the run


# ------------------------------------------------------------ issue 21


def _claims_section(page: str) -> str:
    return page[page.index("(claims.csv)"):].split("<h", 1)[0]


def test_claims_not_reproduced_come_first_and_are_never_capped(tmp_path):
    from casekit.outputs import write_table
    from casekit.rules import claims as claim_rules

    case = load_case(SEED)
    write_table(claim_rules.check_claims(case), tmp_path / "tables" / "claims.csv")
    claims = _claims_section(render_report(case, tmp_path))
    # C24 (mUICC IV vs IVA) is the seed's only claim that differs: it is the first row
    assert claims.index("<td>C24</td>") < claims.index("<td>C01</td>")
    # 20 claims that do not reproduce, 10 reproduced: every one of the 20 stays in view
    rows = "".join(f"C{i:02d},claim {i},{'does not reproduce' if i % 3 else 'reproduced'}\n"
                   for i in range(1, 31))
    (tmp_path / "tables" / "claims.csv").write_text("claim_id,statement,outcome\n" + rows)
    claims = _claims_section(build_report(SEED, tmp_path).read_text(encoding="utf-8"))
    for i in range(1, 31):
        assert (f"<td>C{i:02d}</td>" in claims) == bool(i % 3), i
    assert "First 20 of 30 rows; 10 more not shown, all reproduced." in claims


def test_a_synthetic_case_says_once_that_its_values_are_invented(tmp_path):
    demo = REPO / "data" / "demo-melanoma"
    page = build_report(demo, _seed_tables_of(demo, tmp_path)).read_text(encoding="utf-8")
    findings = _text(page[page.index('id="findings"'):page.index('id="evidence"')])
    # every row of demo-melanoma's facts, timeline, labs and lesions is assumed with the
    # same source, "synthetic: invented for the demo case (not from any patient)"
    line = ("all values of this case are assumed, for one reason: synthetic: invented for the "
            "demo case (not from any patient)")
    assert line in findings
    assert findings.count("synthetic: invented") == 1
    assumptions = _text(page[page.index('id="assumptions"'):])
    assert "All 47 values of this case are assumed, for one reason: synthetic:" in assumptions
    assert "Reason" not in assumptions  # not repeated in each of the 47 rows
    assert "value(s)" not in page and "difference(s)" not in page


def _seed_tables_of(case_dir: Path, out: Path) -> Path:
    from casekit.outputs import write_table
    from casekit.rules import response

    case = load_case(case_dir)
    write_table(response.response_table(case.lesions, case.responses,
                                        criteria=applicable_criteria(case),
                                        **response.case_options(case)),
                out / "tables" / "response.csv")
    return out


def test_assumed_values_sharing_a_reason_are_one_line(tmp_path):
    import shutil

    case_dir = tmp_path / "case"
    shutil.copytree(REPO / "tests" / "fixtures" / "minimal", case_dir)
    lesions = (case_dir / "lesions.csv").read_text(encoding="utf-8").splitlines()
    header = lesions[0].split(",")
    status, source = header.index("status"), header.index("source")
    body = []
    for line in lesions[1:]:
        cells = line.split(",")
        cells[status], cells[source] = "assumed", "read off the figure"
        body.append(",".join(cells))
    (case_dir / "lesions.csv").write_text("\n".join([lesions[0], *body]) + "\n",
                                          encoding="utf-8")
    page = build_report(case_dir, _seed_tables_of(case_dir, tmp_path / "out")).read_text(
        encoding="utf-8")
    findings = _text(page[page.index('id="findings"'):page.index('id="evidence"')])
    n = len(body)
    assert n >= 2
    assert f"{n} values (" in findings and ") assumed: read off the figure" in findings
    assert findings.count("read off the figure") == 1


def test_care_section_from_the_run_s_care_table(tmp_path):
    from casekit.outputs import write_table
    from casekit.rules.care import care_table

    out, case = tmp_path, load_case(SEED)
    assert 'id="care"' not in render_report(case, out)
    write_table(care_table(case), out / "tables" / "care.csv")
    page = render_report(case, out)
    assert '<a href="#care">CARE checklist</a>' in page
    care = page[page.index('id="care"'):page.index('id="assumptions"')]
    assert "11 of 13 CARE items present, 0 partial, 2 missing" in care
    assert care.count('class="st-present"') == 11 and care.count('class="st-missing"') == 2
    assert "<td>facts.csv:2 (title)</td>" in care
    assert "(care.csv)" not in page  # its own section, not again among the tables
    findings = _text(page[page.index('id="findings"'):page.index('id="evidence"')])
    assert ("11 of 13 CARE items present, 0 partial, 2 missing; missing: key words, "
            "patient perspective") in findings
    # a run that did not write care.csv shows none, even if one lies in the folder
    assert 'id="care"' not in render_report(load_case(SEED), out, files=["tables/claims.csv"])


def test_endpoints_are_a_small_table_with_os_and_the_sensitivity_table_is_shown(tmp_path):
    page = build_report(SEED, _seed_tables(tmp_path)).read_text(encoding="utf-8")
    findings = page[page.index('id="findings"'):page.index('id="evidence"')]
    assert '<table class="endpoints">' in findings
    text = _text(findings)
    # mRECIST PFS: day 0 -> PD at the cycle-6 CT, day 125; OS censored at day 132 (alive)
    assert "mRECIST125 days, progression at Response CT after cycle 6" in text.replace("\n", "")
    assert "Overall survival: 132 days, censored (last known alive)" in text
    # the assumptions name the sensitivity table; the report has it (issue 21 item 1)
    assert "(sensitivity.csv)" in page and "no node read as porta hepatis" in page


def test_a_unitless_column_is_formatted_alike_across_tests():
    from casekit.run.report import format_columns

    # AFP folds 1.0, 0.9, 4.09; PIVKA-II folds 1.0, 1.0: one column, two decimals for all
    # (old code: "1.00" for AFP beside "1" for PIVKA-II). Values keep their test's precision.
    header = ["test", "value", "fold_from_nadir"]
    rows = [["AFP", "654.0", "1.0"], ["AFP", "588.0", "0.9"], ["AFP", "1335.2", "4.09"],
            ["PIVKA-II", "1470.0", "1.0"], ["PIVKA-II", "7497.0", "1.0"]]
    out = format_columns(header, rows)
    assert [r[2] for r in out] == ["1.00", "0.90", "4.09", "1.00", "1.00"]
    assert [r[1] for r in out] == ["654.0", "588.0", "1,335.2", "1,470", "7,497"]


def test_no_literal_na_in_the_response_table():
    from casekit.run.report import _response_rows

    header = ["event_id", "day", "criteria", "target_response", "non_target_response",
              "overall_response"]
    _, rows = _response_rows(header, [["ct1", "42", "RECIST1.1", "PR", "NA", "PR"]],
                             ["RECIST1.1"])
    assert rows == [["ct1", "42", "RECIST 1.1", "PR", "none at baseline", "PR"]]


def _html_built_as_text(source: str) -> list[str]:
    """Lines of ``source`` that build HTML as plain text around a value: an f-string holding
    ``<`` and an interpolation, or a string literal holding ``<`` added to something. Such
    text escapes a value only if someone remembered to; render.Html escapes by construction."""
    import ast

    def markup(node) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and "<" in node.value

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr) and any(markup(v) for v in node.values) \
                and any(isinstance(v, ast.FormattedValue) for v in node.values):
            found.append(f"line {node.lineno}: f-string")
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)) \
                and (markup(node.left) or markup(node.right)):
            found.append(f"line {node.lineno}: string literal + or %")
    return found


def test_the_report_builds_no_html_by_f_string_or_concatenation():
    source = (REPO / "casekit" / "run" / "report.py").read_text(encoding="utf-8")
    assert _html_built_as_text(source) == []
    assert "_e(" not in source  # the hand escaping that Html replaced
    # the checker finds what it looks for
    assert _html_built_as_text('x = f"<li>{label}</li>"\ny = "<b>" + z\n') == \
        ["line 1: f-string", "line 2: string literal + or %"]


def test_the_report_template_marks_nothing_safe_and_joins_nothing():
    """In the template every {{ value }} is escaped with render.html; |safe, Markup(),
    Jinja2's join or ~ (which escape with Jinja2's own escape) would bypass it."""
    template = (REPO / "casekit" / "run" / "templates" / "report.html.j2").read_text(
        encoding="utf-8")
    expressions = " ".join(re.findall(r"\{[{%](.*?)[}%]\}", template, re.S))
    assert "title" in expressions and "for part in figures" in expressions
    assert not re.search(r"\|\s*(safe|join)\b|~|Markup|autoescape", expressions)


def test_every_value_of_the_report_template_is_escaped_like_render_html(tmp_path):
    """A value the report passes to its template as plain text (the title) is escaped by
    render.html: its apostrophe as &#x27; (Jinja2's own escape writes &#39;), its direction
    override dropped."""
    case = tmp_path / "case"
    import shutil

    shutil.copytree(SEED, case)
    facts = (case / "facts.csv").read_text(encoding="utf-8")
    title = next(line for line in facts.splitlines() if line.startswith("title,"))
    source = title.split(",")[-1]
    (case / "facts.csv").write_text(facts.replace(
        title, f'title,"<i>O\'Brien\u202e</i>",,reported,{source}'), encoding="utf-8")
    text = render_report(load_case(case), tmp_path / "out")
    assert "<title>&lt;i&gt;O&#x27;Brien&lt;/i&gt;</title>" in text
    assert "<h1>&lt;i&gt;O&#x27;Brien&lt;/i&gt;</h1>" in text
