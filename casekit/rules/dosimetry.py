"""Y-90 glass-microsphere (TheraSphere) dosimetry: single-compartment MIRD model.

References: Salem R, Thurston KG. Radioembolization with 90yttrium
microspheres: a state-of-the-art brachytherapy treatment for primary and
secondary liver malignancies. Part 1: technical and methodologic
considerations. J Vasc Interv Radiol 2006;17:1251-1278; and the TheraSphere
package insert (instructions for use):

    D_liver (Gy) = 50 x A (GBq) x (1 - LSF) / M_perfused (kg)
    D_lung  (Gy) = 50 x A (GBq) x LSF / M_lung (kg),  M_lung = 1 kg by convention

50 Gy.kg/GBq is the energy deposited by complete decay of 1 GBq of Y-90
absorbed in 1 kg of tissue. Lung dose limit: 30 Gy per treatment, 50 Gy
cumulative. The residual activity left in the vial/catheter is not modelled
(taken as 0).

LSF (lung shunt fraction) is a *fraction* in [0, 1): 2.38 % -> 0.0238.
"""

from __future__ import annotations

import math
from typing import Iterable

import pandas as pd

GY_KG_PER_GBQ = 50.0
LUNG_MASS_KG = 1.0
LUNG_LIMIT_SINGLE_GY = 30.0
LUNG_LIMIT_CUMULATIVE_GY = 50.0


def _lsf(lsf_fraction: float) -> float:
    value = float(lsf_fraction)
    if not math.isfinite(value) or not 0.0 <= value < 1.0:
        raise ValueError(
            f"lsf_fraction must be a fraction in [0, 1) (e.g. 0.0238 for 2.38 %), got {lsf_fraction!r}"
        )
    return value


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def _non_negative(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def lung_dose_gy(activity_gbq: float, lsf_fraction: float, lung_mass_kg: float = LUNG_MASS_KG) -> float:
    """Lung absorbed dose: 50 x A x LSF / M_lung (Gy).

    Salem & Thurston, J Vasc Interv Radiol 2006;17:1251-1278; TheraSphere
    package insert (lung mass 1 kg by convention). Example: 5 GBq at
    LSF 0.0238: 50 x 5 x 0.0238 / 1 = 5.95 Gy.
    """
    a = _non_negative("activity_gbq", activity_gbq)
    lsf = _lsf(lsf_fraction)
    m = _positive("lung_mass_kg", lung_mass_kg)
    return GY_KG_PER_GBQ * a * lsf / m


def liver_dose_gy(activity_gbq: float, perfused_mass_kg: float, lsf_fraction: float) -> float:
    """Mean dose to the perfused liver: 50 x A x (1 - LSF) / M (Gy).

    Salem & Thurston, J Vasc Interv Radiol 2006;17:1251-1278; TheraSphere
    package insert. Example: 3 GBq into 0.5 kg at LSF 0.0238:
    50 x 3 x 0.9762 / 0.5 = 292.86 Gy.
    """
    a = _non_negative("activity_gbq", activity_gbq)
    m = _positive("perfused_mass_kg", perfused_mass_kg)
    lsf = _lsf(lsf_fraction)
    return GY_KG_PER_GBQ * a * (1.0 - lsf) / m


def activity_for_target_dose(dose_gy: float, perfused_mass_kg: float, lsf_fraction: float) -> float:
    """Activity (GBq) that delivers ``dose_gy`` to the perfused liver mass.

    Inverse of :func:`liver_dose_gy`: A = D x M / (50 x (1 - LSF)).
    Salem & Thurston, J Vasc Interv Radiol 2006;17:1251-1278; TheraSphere
    package insert. Example: 120 Gy to 1.0 kg at LSF 0.0238:
    120 x 1 / (50 x 0.9762) = 2.458 GBq.
    """
    d = _positive("dose_gy", dose_gy)
    m = _positive("perfused_mass_kg", perfused_mass_kg)
    lsf = _lsf(lsf_fraction)
    return d * m / (GY_KG_PER_GBQ * (1.0 - lsf))


def max_activity_for_lung_limit(
    lsf_fraction: float,
    limit_gy: float = LUNG_LIMIT_SINGLE_GY,
    lung_mass_kg: float = LUNG_MASS_KG,
) -> float:
    """Largest activity (GBq) keeping the lung dose at or below ``limit_gy``.

    A_max = limit x M_lung / (50 x LSF); limit 30 Gy per treatment (50 Gy
    cumulative: pass ``limit_gy=50 - dose already received``). Salem &
    Thurston 2006; TheraSphere package insert. Returns ``math.inf`` when
    LSF = 0 (no shunting, no lung constraint). Example: LSF 2.38 %:
    30 x 1 / (50 x 0.0238) = 30 / 1.19 = 25.21 GBq.
    """
    lsf = _lsf(lsf_fraction)
    limit = _positive("limit_gy", limit_gy)
    m = _positive("lung_mass_kg", lung_mass_kg)
    if lsf == 0.0:
        return math.inf
    return limit * m / (GY_KG_PER_GBQ * lsf)


def lung_dose_sweep(
    lsf_fraction: float,
    activities_gbq: Iterable[float],
    limit_gy: float = LUNG_LIMIT_SINGLE_GY,
    lung_mass_kg: float = LUNG_MASS_KG,
) -> pd.DataFrame:
    """Lung dose over a range of activities, for a what-if when A is unreported.

    Columns: ``activity_gbq, lung_dose_gy, within_limit`` (one row per
    activity, in the order given). ``within_limit`` is lung dose <= limit
    (30 Gy per treatment by default), i.e. a dose exactly at the limit is
    within it (1e-9 Gy tolerance for float noise). Formula as
    :func:`lung_dose_gy`.
    """
    lsf = _lsf(lsf_fraction)
    limit = _positive("limit_gy", limit_gy)
    activities = [_non_negative("activity_gbq", a) for a in activities_gbq]
    doses = [lung_dose_gy(a, lsf, lung_mass_kg) for a in activities]
    return pd.DataFrame(
        {
            "activity_gbq": pd.Series(activities, dtype="float64"),
            "lung_dose_gy": pd.Series(doses, dtype="float64"),
            "within_limit": pd.Series([d <= limit + 1e-9 for d in doses], dtype="bool"),
        }
    )
