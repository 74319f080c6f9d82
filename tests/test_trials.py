"""The trial reference table: validation and selection."""

from pathlib import Path

import pandera.pandas as pa
import pytest

from casekit.case import trials

REFERENCE = Path(__file__).parent.parent / "data" / "reference" / "trials.csv"


def test_reference_table_loads_and_selects_hazard_ratios():
    table = trials.load_trials(REFERENCE)
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
    bad.write_text(REFERENCE.read_text(encoding="utf-8").replace(",0.58,0.42,0.79,", ",0.98,0.42,0.79,"),
                   encoding="utf-8")
    with pytest.raises(pa.errors.SchemaErrors, match="within its confidence interval"):
        trials.load_trials(bad)
