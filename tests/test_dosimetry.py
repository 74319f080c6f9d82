"""Tests for casekit.rules.dosimetry (single-compartment MIRD, glass microspheres).

Formulas: D_liver = 50 A (1 - LSF) / M ; D_lung = 50 A LSF / M_lung (1 kg);
lung limit 30 Gy per treatment (Salem & Thurston, JVIR 2006; TheraSphere
package insert). Hand arithmetic in the comments. The case's LSF is 2.38 %.
"""

import math

import pytest

from casekit.rules import dosimetry

LSF = 0.0238  # 2.38 % as a fraction


def test_max_activity_for_lung_limit_seed():
    # 30 x 1 / (50 x 0.0238) = 30 / 1.19 = 25.2101 GBq
    assert dosimetry.max_activity_for_lung_limit(LSF) == pytest.approx(25.2101, abs=1e-4)
    assert round(dosimetry.max_activity_for_lung_limit(LSF), 2) == 25.21


def test_max_activity_cumulative_limit_and_lung_mass():
    # 50 Gy cumulative: 50 x 1 / 1.19 = 42.0168 GBq
    assert dosimetry.max_activity_for_lung_limit(LSF, limit_gy=50.0) == pytest.approx(
        42.0168, abs=1e-4
    )
    # lung mass 0.8 kg: 30 x 0.8 / 1.19 = 24 / 1.19 = 20.1681 GBq
    assert dosimetry.max_activity_for_lung_limit(LSF, lung_mass_kg=0.8) == pytest.approx(
        20.1681, abs=1e-4
    )
    # no shunt: no lung constraint
    assert dosimetry.max_activity_for_lung_limit(0.0) == math.inf


def test_lung_dose():
    # 5 GBq: 50 x 5 x 0.0238 / 1 = 5.95 Gy
    assert dosimetry.lung_dose_gy(5.0, LSF) == pytest.approx(5.95)
    # LSF 20 %, 3 GBq: 50 x 3 x 0.2 = 30 Gy
    assert dosimetry.lung_dose_gy(3.0, 0.20) == pytest.approx(30.0)
    # lung mass 2 kg halves it: 15 Gy
    assert dosimetry.lung_dose_gy(3.0, 0.20, lung_mass_kg=2.0) == pytest.approx(15.0)


def test_liver_dose_and_activity_for_target_dose_are_inverse():
    # 3 GBq into 0.5 kg: 50 x 3 x 0.9762 / 0.5 = 146.43 / 0.5 = 292.86 Gy
    assert dosimetry.liver_dose_gy(3.0, 0.5, LSF) == pytest.approx(292.86)
    # 120 Gy to 1 kg: 120 / (50 x 0.9762) = 120 / 48.81 = 2.45851 GBq
    assert dosimetry.activity_for_target_dose(120.0, 1.0, LSF) == pytest.approx(2.45851, abs=1e-5)
    # the case's 360 Gy mean target dose into, e.g., 0.4 kg:
    # 360 x 0.4 / 48.81 = 144 / 48.81 = 2.95022 GBq
    a = dosimetry.activity_for_target_dose(360.0, 0.4, LSF)
    assert a == pytest.approx(2.95022, abs=1e-5)
    assert dosimetry.liver_dose_gy(a, 0.4, LSF) == pytest.approx(360.0)


def test_lung_dose_sweep():
    table = dosimetry.lung_dose_sweep(LSF, [1.0, 10.0, 25.0, 26.0])
    assert list(table.columns) == ["activity_gbq", "lung_dose_gy", "within_limit"]
    # 50 x 0.0238 = 1.19 Gy per GBq -> 1.19, 11.9, 29.75, 30.94
    assert list(table["lung_dose_gy"].round(2)) == [1.19, 11.9, 29.75, 30.94]
    assert list(table["within_limit"]) == [True, True, True, False]


def test_lung_dose_sweep_exact_limit_is_within():
    # A = 30 / 1.19 gives exactly 30 Gy -> within (<= limit)
    a_max = 30.0 / (50.0 * LSF)
    just_over = a_max * 1.001  # 30.03 Gy
    table = dosimetry.lung_dose_sweep(LSF, [a_max, just_over])
    assert list(table["within_limit"]) == [True, False]


@pytest.mark.parametrize("bad", [-0.01, 1.0, 1.5, 2.38, float("nan")])
def test_lsf_validation(bad):
    # LSF must be a fraction in [0, 1); 2.38 (a percent) is rejected
    with pytest.raises(ValueError, match="lsf_fraction"):
        dosimetry.lung_dose_gy(1.0, bad)


def test_mass_activity_dose_validation():
    with pytest.raises(ValueError, match="lung_mass_kg"):
        dosimetry.lung_dose_gy(1.0, LSF, lung_mass_kg=0.0)
    with pytest.raises(ValueError, match="perfused_mass_kg"):
        dosimetry.activity_for_target_dose(120.0, -1.0, LSF)
    with pytest.raises(ValueError, match="dose_gy"):
        dosimetry.activity_for_target_dose(0.0, 1.0, LSF)
    with pytest.raises(ValueError, match="activity_gbq"):
        dosimetry.lung_dose_gy(-1.0, LSF)
    with pytest.raises(ValueError, match="limit_gy"):
        dosimetry.max_activity_for_lung_limit(LSF, limit_gy=0.0)
    with pytest.raises(ValueError, match="activity_gbq"):
        dosimetry.lung_dose_sweep(LSF, [1.0, -2.0])
