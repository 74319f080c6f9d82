"""Derive once (issue 17): one patient, one answer in its own run and in any series.

The case run's notebooks write ``derive_case(case).table(name)`` with ``write_table``; the
series writes the same tables with a ``subject`` column in front. Filtered to one subject
and without that column, a series table must be the case's file byte for byte.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from casekit import series
from casekit.case import load_case
from casekit.derive import OPTIONS, check_parameters, derive_case, resolve_options
from casekit.interop.sdtm import import_sdtm
from casekit.outputs import write_table
from conftest import DATA

COMPARED = ("response", "bor", "endpoints", "markers")


def _case_files(case_dir: Path, out: Path) -> dict[str, bytes]:
    derived = derive_case(load_case(case_dir))
    return {name: write_table(derived.table(name), out / f"{name}.csv").read_bytes()
            for name in COMPARED}


def _series_rows(tables_dir: Path, name: str, subject: str) -> bytes:
    frame = pd.read_csv(tables_dir / f"{name}.csv", dtype=str, keep_default_na=False)
    text = (tables_dir / f"{name}.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    keep = [text[0]] + [line for line, s in zip(text[1:], frame["subject"]) if s == subject]
    # drop the first column ("subject,"): it is a plain identifier, never quoted here
    return "".join(line.split(",", 1)[1] for line in keep).encode("utf-8")


@pytest.fixture(scope="module")
def sdtm_subject(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdtm") / "cases"
    summary = import_sdtm(DATA / "external" / "pharmaversesdtm", out,
                          subjects=["01-701-1015"], echo=lambda line: None)
    return summary.imported[0]


def test_a_case_gives_the_same_tables_alone_and_in_a_series(tmp_path, sdtm_subject):
    cases = [DATA / "jlc2022", DATA / "demo-synthetic", DATA / "demo-melanoma", sdtm_subject]
    tables = series.load(cases=[str(c) for c in cases])
    tables.write(tmp_path / "series")
    for case_dir in cases:
        alone = _case_files(case_dir, tmp_path / "alone" / case_dir.name)
        for name in COMPARED:
            table = "subjects" if name == "subject" else name
            assert _series_rows(tmp_path / "series", table, case_dir.name) == alone[name], \
                f"{case_dir.name}: {name}.csv differs between the case run and the series"


def test_seed_is_pd_under_mrecist_in_the_series_as_in_its_report(tmp_path):
    # The defect issue 17 found: the series ignored the case's porta_hepatis_nodes fact and
    # called ct_c6 PR under mRECIST; the report (and the authors) say PD.
    tables = series.load(cases=[str(DATA / "jlc2022")])
    response = tables["response"].set_index(["criteria", "event_id"])
    assert response.loc[("mRECIST", "ct_c6"), ["overall_response", "reported_response"]].tolist() \
        == ["PD", "PD"]
    pfs = tables["endpoints"].query("criteria == 'mRECIST' and endpoint == 'PFS'").iloc[0]
    assert (bool(pfs["event"]), int(pfs["end_day"])) == (True, 125)


def test_series_keeps_every_marker_and_viral_loads_apart():
    tables = series.load(cases=[str(DATA / "demo-melanoma"), str(DATA / "jlc2022")])
    kinds = tables["markers"].groupby("test")["kind"].first().to_dict()
    # melanoma's LDH and its unknown S100B are kept; HBV-DNA is a viral load, not a marker
    assert kinds == {"AFP": "tumour marker", "HBV-DNA": "viral load", "LDH": "tumour marker",
                     "PIVKA-II": "tumour marker", "S100B": "tumour marker"}


def test_options_are_resolved_in_one_place():
    case = load_case(DATA / "jlc2022")
    options = resolve_options(case, {"conventions": "admiralonco", "censoring": "last_adequate"})
    # the preset, overridden by the explicit option; the case's own facts decide the rest
    assert (options.calls, options.censoring, options.non_target_only_unconfirmed_cr) == \
        ("recorded", "last_adequate", "SD")
    assert options.criteria == ("RECIST1.1", "mRECIST", "iRECIST")
    assert options.porta_hepatis  # the seed marks its common hepatic artery node
    with pytest.raises(ValueError, match="unknown analysis option"):
        check_parameters({"confirm_dayz": 28})
    with pytest.raises(ValueError, match="censoring must be one of"):
        check_parameters({"censoring": "whenever"})
    assert set(OPTIONS) >= {"count_suspected", "confirm_days", "min_sd_days"}


def test_best_change_stops_at_the_first_progression():
    # demo-synthetic: PR -35 % (ct1), SD -27 % (ct2), PD -16 % (ct3, from the nadir) -> best
    # -35 % at ct1; a later shrinkage after PD would not count (E2009 §4.4.3).
    derived = derive_case(load_case(DATA / "demo-synthetic"))
    row = derived.best_change.set_index("criteria").loc["RECIST1.1"]
    assert (row["best_change_pct"], row["event_id"], row["progression_event_id"],
            row["progression_basis"], row["pd_despite_shrinkage"]) == \
        (-35.0, "ct1", "ct3", "targets", False)
    # the seed under mRECIST: targets -51.4 % at ct_c6, progression by a new lesion there
    seed = derive_case(load_case(DATA / "jlc2022")).best_change.set_index("criteria")
    assert (seed.loc["mRECIST", "best_change_pct"], seed.loc["mRECIST", "progression_basis"],
            seed.loc["mRECIST", "pd_despite_shrinkage"]) == (-51.4, "new lesions", True)


def test_best_change_ignores_shrinkage_after_progression():
    # 01-701-1015-like course: PD at week 6 (+25 %, targets), -100 % at week 12. The old
    # series drew -100 %; up to and including the first PD the best change is -10 % (week 3).
    from casekit.derive import best_change

    frame = pd.DataFrame({
        "event_id": ["base", "w3", "w6", "w12"], "criteria": "RECIST1.1", "day": [0, 21, 42, 84],
        "change_from_baseline_pct": [float("nan"), -10.0, 25.0, -100.0],
        "target_response": ["", "SD", "PD", "CR"], "non_target_response": "",
        "new_lesions": ["", "no", "no", "no"], "overall_response": ["", "SD", "PD", "CR"]})
    row = best_change(frame).iloc[0]
    assert (row["best_change_pct"], row["event_id"], row["progression_basis"]) == \
        (-10.0, "w3", "targets")


def test_sensitivity_scenarios_follow_the_criteria_that_apply():
    from casekit.derive import sensitivity

    melanoma = load_case(DATA / "demo-melanoma")  # RECIST 1.1 and iRECIST, no mRECIST
    table = sensitivity(melanoma, resolve_options(melanoma))
    assert "mRECIST" not in set(table["criteria"])
    assert not table["scenario"].str.contains("porta hepatis|other criteria").any()
    seed = load_case(DATA / "jlc2022")  # all three: every scenario, 10 per reported call
    assert len(sensitivity(seed, resolve_options(seed))) == 10 * len(seed.responses)
