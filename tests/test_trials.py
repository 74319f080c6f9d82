"""The trial table of a case: validation, selection, and the words read from it."""

from pathlib import Path

import pandera.pandas as pa
import pytest

from casekit.case import trials

DATA = Path(__file__).parent.parent / "data"
SEED_TRIALS = DATA / "jlc2022" / "trials.csv"


def test_reference_table_loads_and_selects_hazard_ratios():
    table = trials.load_trials(SEED_TRIALS)
    hrs = trials.hazard_ratios(table)
    assert list(zip(hrs["trial"], hrs["endpoint"])) == [
        ("IMbrave150", "OS"), ("IMbrave150", "PFS"), ("SARAH", "OS"),
        ("SIRveNIB", "OS"), ("SORAMIC", "OS")]
    # only IMbrave150 OS/PFS and SARAH OS are stated in the case report itself
    assert len(trials.hazard_ratios(table, include_assumed=False)) == 3
    imbrave_os = hrs.iloc[0]
    assert (imbrave_os.estimate, imbrave_os.ci_low, imbrave_os.ci_high) == (0.58, 0.42, 0.79)


def test_estimate_outside_its_interval_is_rejected(tmp_path):
    bad = tmp_path / "trials.csv"
    bad.write_text(SEED_TRIALS.read_text(encoding="utf-8").replace(",0.58,0.42,0.79,", ",0.98,0.42,0.79,"),
                   encoding="utf-8")
    with pytest.raises(pa.errors.SchemaErrors, match="within its confidence interval"):
        trials.load_trials(bad)


def test_trials_belong_to_the_case():
    assert not (DATA / "reference").exists()  # moved into the seed case, not duplicated
    assert trials.case_trials(DATA / "jlc2022") is not None
    for other in ("demo-synthetic", "demo-melanoma"):
        assert trials.case_trials(DATA / other) is None


def test_context_summary_is_read_from_the_table():
    table = trials.load_trials(SEED_TRIALS)
    text = trials.context_summary(table, microspheres_given="glass")
    # 4 trials in the file; rows with status reported: IMbrave150 x3, SARAH x3 = 6 of 8
    assert "cites 4 trial(s)" in text
    assert "6 of the 8 figures" in text
    assert "SARAH, SIRveNIB and SORAMIC used **resin** microspheres" in text
    assert "received **glass**" in text
    # without the patient's microspheres no comparison is claimed
    assert "microspheres" not in trials.context_summary(table).split("figures")[-1]
