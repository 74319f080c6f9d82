"""The claims check: quantities, comparisons, and that a changed value makes it fail."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from casekit.rules import claims
from casekit.case import CaseError, load_case

MINIMAL = Path(__file__).parent / "fixtures" / "minimal"
SEED = Path(__file__).parent.parent / "data" / "jlc2022"
HEADER = "claim_id,statement,quantity,event_id,comparator,expected,tolerance,known_difference,source\n"


def case_with_claims(tmp_path: Path, rows: str):
    case = tmp_path / "case"
    shutil.copytree(MINIMAL, case)
    (case / "claims.csv").write_text(HEADER + rows, encoding="utf-8")
    return load_case(case)


def test_parse_quantity():
    q = claims.parse_quantity("marker_change_pct(AFP, ref=referral)")
    assert (q.name, q.args, q.options) == ("marker_change_pct", ("AFP",), {"ref": "referral"})
    assert claims.parse_quantity("child_pugh").args == ()


def test_minimal_case_claims_by_hand(tmp_path):
    # Fixture: target t1 5.0 cm at day -3, 3.0 cm at day 42: (3 - 5) / 5 = -40 % -> PR (RECIST 1.1)
    case = case_with_claims(tmp_path, "\n".join([
        "A,t,target_change_from_baseline_pct(RECIST1.1),scan2,eq,-40,0.05,,x",
        "B,t,overall_response(RECIST1.1),scan2,eq,PR,,,x",
        "C,t,lab(AFP),scan1,eq,100,,,x",
        "D,t,\"days_between(scan1, scan2)\",,eq,45,,,x",
        "E,t,lesion_size(t1),scan2,lt,3,,,x",          # 3.0 is not < 3: does not reproduce
        "F,t,lab(AFP),scan2,eq,1,,,x",                 # no AFP at scan2: not computable
        "G,t,overall_response(RECIST1.1),scan2,eq,CR,,radiologist read it differently,x",
    ]) + "\n")
    table = claims.check_claims(case).set_index("claim_id")
    assert table.loc[["A", "B", "C", "D"], "outcome"].eq("reproduced").all()
    assert table.loc["A", "computed"] == "-40"
    assert table.loc["E", "outcome"] == "does not reproduce"
    assert table.loc["F", "outcome"] == "not computable" and "no AFP at scan2" in table.loc["F", "note"]
    assert table.loc["G", "outcome"] == "known difference"
    with pytest.raises(claims.ClaimsNotReproduced) as err:
        claims.require_reproduced(table.reset_index())
    assert "E (t)" in str(err.value) and "F (t)" in str(err.value) and "G (t)" not in str(err.value)


def test_unknown_quantity_is_refused_by_validate_and_not_computable(tmp_path):
    with pytest.raises(CaseError, match="'tumour_volume\\(t1\\)' is not a quantity casekit"):
        case_with_claims(tmp_path, "A,t,tumour_volume(t1),scan2,eq,1,,,x\n")
    with pytest.raises(claims.NotComputable, match="unknown quantity 'tumour_volume'"):
        claims.compute_quantity(load_case(SEED), "tumour_volume(t1)", "ct_c6")


def test_seed_claims_reproduce():
    table = claims.check_claims(load_case(SEED))
    claims.require_reproduced(table)
    outcome = table.set_index("claim_id")["outcome"]
    assert outcome["C24"] == "known difference"  # paper's IV vs the tables' IVA
    assert (outcome.drop("C24") == "reproduced").all()


def test_changed_reported_value_fails_the_check(tmp_path):
    case = tmp_path / "seed"
    shutil.copytree(SEED, case)
    labs = case / "labs.csv"
    labs.write_text(labs.read_text(encoding="utf-8").replace("ct_c3,AFP,326.4", "ct_c3,AFP,362.4"),
                    encoding="utf-8")
    table = claims.check_claims(load_case(case)).set_index("claim_id")
    assert table.loc["C08", "outcome"] == "does not reproduce"
    with pytest.raises(claims.ClaimsNotReproduced, match="C08"):
        claims.require_reproduced(table.reset_index())


def test_validate_knows_every_quantity_the_claims_compute():
    """validate refuses a quantity name by casekit.case.schema.CLAIM_QUANTITIES; the rules
    compute claims.QUANTITIES: the two lists name the same quantities."""
    from casekit.case import schema
    from casekit.rules import claims

    assert sorted(schema.CLAIM_QUANTITIES) == sorted(claims.QUANTITIES)
