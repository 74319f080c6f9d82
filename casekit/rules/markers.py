"""Serum tumour markers and viral load over time: change, nadir, kinetics, response.

Input is the validated labs frame (one row per measurement) with the columns
``event_id, day, test, value, unit, status, source``; values are already in
canonical units (AFP ng/mL, PIVKA-II mAU/mL, HBV-DNA IU/mL).

Choices made here (they matter for the numbers):

* Reference value. By default the reference of each test is its *first* value
  (lowest ``day``). A ``reference_event`` applies to every test that has a value
  at that event. In :func:`marker_table` a test with no value at the reference
  event gets an empty (NaN) change column -- never a silent fall-back to another
  reference -- and a ``UserWarning`` names the test. :func:`marker_response` is
  for one test, so there a missing reference value is a ``ValueError``.
* Change from reference is defined from the reference onwards: events *before*
  the reference day get NaN (a "decline" before the reference is meaningless).
* Nadir = the lowest value of that test up to and including the event (so the
  fold from nadir is 1.00 at every new low).
* Non-positive values (e.g. an undetectable load coded as 0) give NaN for the
  ratios and logarithms that need a positive number.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("event_id", "day", "test", "value", "unit")

MARKER_TABLE_COLUMNS = [
    "event_id",
    "test",
    "day",
    "value",
    "unit",
    "change_from_reference_pct",
    "fold_from_nadir",
]

KINETICS_COLUMNS = [
    "test",
    "from_event",
    "to_event",
    "from_day",
    "to_day",
    "days_apart",
    "from_value",
    "to_value",
    "fold_change",
    "log10_change",
    "direction",
    "doubling_time_days",
    "half_life_days",
]

# Float noise guard for "decline >= X %" at an exact cut-off.
_EPS = 1e-9


def _check_labs(labs: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in labs.columns]
    if missing:
        raise ValueError(f"labs is missing required column(s): {', '.join(missing)}")


def _series_for(labs: pd.DataFrame, test: str) -> pd.DataFrame:
    """Rows of one test with a numeric value, sorted by day (stable)."""
    rows = labs.loc[labs["test"] == test, list(REQUIRED_COLUMNS)].copy()
    rows["value"] = pd.to_numeric(rows["value"], errors="coerce")
    rows = rows.dropna(subset=["value"])
    return rows.sort_values("day", kind="mergesort").reset_index(drop=True)


def _reference_row(rows: pd.DataFrame, reference_event: str | None):
    """(day, value, event_id) of the reference, or None if the test has no value there."""
    if rows.empty:
        return None
    if reference_event is None:
        first = rows.iloc[0]
        return first["day"], float(first["value"]), first["event_id"]
    hit = rows.loc[rows["event_id"] == reference_event]
    if hit.empty:
        return None
    first = hit.iloc[0]
    return first["day"], float(first["value"]), first["event_id"]


def _pct_change(value: float, ref: float) -> float:
    if ref == 0 or not np.isfinite(ref):
        return math.nan
    return (value - ref) / ref * 100.0


def _log10_ratio(value: float, ref: float) -> float:
    if value <= 0 or ref <= 0:
        return math.nan
    return math.log10(value / ref)


def percent_change(value: float, reference: float) -> float:
    """Percent change of ``value`` relative to ``reference``.

    Formula: (value - reference) / reference x 100. A decline gives a negative
    number (AFP 654.0 -> 326.4 ng/mL: (326.4 - 654.0) / 654.0 x 100 = -50.09 %).
    Returns NaN when the reference is 0.
    """
    return _pct_change(float(value), float(reference))


def log10_change(value: float, reference: float) -> float:
    """Change on the log10 scale: log10(value / reference).

    This is the unit in which HBV DNA (IU/mL) responses to antiviral therapy are
    expressed (EASL 2017 Clinical Practice Guidelines on the management of
    hepatitis B virus infection, J Hepatol 2017;67:370-398: virological
    response is judged in log10 IU/mL). Example: 236,000 -> 30,300 IU/mL gives
    log10(30300 / 236000) = -0.891. NaN when either value is <= 0.
    """
    return _log10_ratio(float(value), float(reference))


def doubling_time_days(days_apart: float, from_value: float, to_value: float) -> float:
    """Log-linear (exponential) doubling time or half-life between two values.

    Formula: T = t x ln 2 / |ln(v2 / v1)|, assuming first-order (exponential)
    growth or decay between the two measurements -- the convention used for the
    PSA doubling time (DT = ln 2 / slope of ln PSA against time; Pound CR et al.,
    JAMA 1999;281:1591-1597) and applied in the same way to AFP and PIVKA-II.
    Returns the magnitude in days; whether it is a doubling time (rise) or a
    half-life (fall) is the sign of v2 - v1. NaN when t <= 0, either value
    <= 0, or the values are equal (infinite doubling time).
    """
    if days_apart <= 0 or from_value <= 0 or to_value <= 0 or from_value == to_value:
        return math.nan
    return days_apart * math.log(2) / abs(math.log(to_value / from_value))


def marker_table(
    labs: pd.DataFrame,
    tests: tuple[str, ...] = ("AFP", "PIVKA-II", "HBV-DNA"),
    reference_event: str | None = None,
) -> pd.DataFrame:
    """Marker values with change from a reference and fold over the running nadir.

    Columns (exactly): ``event_id, test, day, value, unit,
    change_from_reference_pct, fold_from_nadir``; one row per measurement of
    each requested test, sorted by test (alphabetically) then day.

    * change_from_reference_pct = (value - reference) / reference x 100,
      rounded to 1 decimal. Reference = first value of the test, or its value at
      ``reference_event``. NaN before the reference day and for a test with no
      value at ``reference_event`` (a ``UserWarning`` names such tests;
      no fall-back to another reference).
    * fold_from_nadir = value / min(values up to and including this event),
      rounded to 2 decimals. E.g. AFP 654.0, 588.0, 326.4, 1335.2 -> nadir
      after cycle 6 is 326.4, fold = 1335.2 / 326.4 = 4.09.

    Percent change from baseline and "fold increase from nadir" are the usual
    descriptive measures of serum-marker course in HCC (e.g. Riaz A et al.,
    J Clin Oncol 2009;27:5734-5742, AFP change from baseline after
    locoregional therapy).

    Raises ValueError if required columns are missing or ``reference_event``
    does not occur in ``labs`` at all (probably a typo).
    """
    _check_labs(labs)
    if reference_event is not None and reference_event not in set(labs["event_id"]):
        raise ValueError(f"reference_event {reference_event!r} does not occur in labs")

    frames = []
    without_reference = []
    for test in sorted(set(tests)):
        rows = _series_for(labs, test)
        if rows.empty:
            continue
        ref = _reference_row(rows, reference_event)
        if ref is None:
            without_reference.append(test)
            pct = [math.nan] * len(rows)
        else:
            ref_day, ref_value, _ = ref
            pct = [
                round(_pct_change(v, ref_value), 1) if d >= ref_day else math.nan
                for d, v in zip(rows["day"], rows["value"])
            ]
        nadir = rows["value"].cummin()
        fold = [
            round(v / n, 2) if n > 0 else math.nan for v, n in zip(rows["value"], nadir)
        ]
        out = rows[["event_id", "test", "day", "value", "unit"]].copy()
        out["change_from_reference_pct"] = pd.Series(pct, dtype="float64").to_numpy()
        out["fold_from_nadir"] = pd.Series(fold, dtype="float64").to_numpy()
        frames.append(out)

    if without_reference:
        warnings.warn(
            f"no value at reference_event {reference_event!r} for "
            f"{', '.join(without_reference)}; change_from_reference_pct left empty",
            UserWarning,
            stacklevel=2,
        )
    if not frames:
        return pd.DataFrame(
            {
                "event_id": pd.Series(dtype="object"),
                "test": pd.Series(dtype="object"),
                "day": pd.Series(dtype="int64"),
                "value": pd.Series(dtype="float64"),
                "unit": pd.Series(dtype="object"),
                "change_from_reference_pct": pd.Series(dtype="float64"),
                "fold_from_nadir": pd.Series(dtype="float64"),
            }
        )
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["test", "day"], kind="mergesort").reset_index(drop=True)
    return table[MARKER_TABLE_COLUMNS]


def kinetics(labs: pd.DataFrame, test: str) -> pd.DataFrame:
    """Interval kinetics of one test between consecutive measurements.

    One row per consecutive pair (sorted by day), columns: ``test, from_event,
    to_event, from_day, to_day, days_apart, from_value, to_value, fold_change,
    log10_change, direction, doubling_time_days, half_life_days``.

    * fold_change = v2 / v1 (3 decimals).
    * log10_change = log10(v2 / v1) (3 decimals) -- the scale used for HBV DNA
      (EASL 2017 HBV guideline, J Hepatol 2017;67:370-398).
    * direction = "rise", "fall" or "flat".
    * doubling_time_days (rise) / half_life_days (fall) =
      t x ln 2 / |ln(v2 / v1)| (1 decimal), the log-linear convention of the
      PSA doubling time (Pound CR et al., JAMA 1999;281:1591-1597); see
      :func:`doubling_time_days`. The other column of the pair is NaN; both
      are NaN when t = 0 or a value is <= 0.

    Example: AFP 588.0 (day 21) -> 326.4 (day 63): t = 42 d,
    ln(326.4/588) = -0.5886, half-life = 42 x 0.6931 / 0.5886 = 49.5 d.
    """
    _check_labs(labs)
    rows = _series_for(labs, test)
    records = []
    for i in range(1, len(rows)):
        a, b = rows.iloc[i - 1], rows.iloc[i]
        v1, v2 = float(a["value"]), float(b["value"])
        t = float(b["day"] - a["day"])
        if v2 > v1:
            direction = "rise"
        elif v2 < v1:
            direction = "fall"
        else:
            direction = "flat"
        dt = doubling_time_days(t, v1, v2)
        dt = round(dt, 1) if not math.isnan(dt) else math.nan
        fold = round(v2 / v1, 3) if v1 > 0 else math.nan
        lg = _log10_ratio(v2, v1)
        records.append(
            {
                "test": test,
                "from_event": a["event_id"],
                "to_event": b["event_id"],
                "from_day": a["day"],
                "to_day": b["day"],
                "days_apart": int(b["day"] - a["day"]),
                "from_value": v1,
                "to_value": v2,
                "fold_change": fold,
                "log10_change": round(lg, 3) if not math.isnan(lg) else math.nan,
                "direction": direction,
                "doubling_time_days": dt if direction == "rise" else math.nan,
                "half_life_days": dt if direction == "fall" else math.nan,
            }
        )
    out = pd.DataFrame.from_records(records, columns=KINETICS_COLUMNS)
    for col in ("from_value", "to_value", "fold_change", "log10_change",
                "doubling_time_days", "half_life_days"):
        out[col] = out[col].astype("float64")
    return out


def marker_response(
    labs: pd.DataFrame,
    test: str,
    reference_event: str | None = None,
    thresholds: tuple[float, ...] = (20, 50, 75),
) -> pd.DataFrame:
    """Flag "decline >= X %" from the reference, for each event of one test.

    Columns: ``event_id, test, day, value, unit, reference_event,
    change_from_reference_pct`` (1 decimal), ``log10_change_from_reference``
    (3 decimals; the natural scale for HBV DNA, EASL 2017 HBV guideline,
    J Hepatol 2017;67:370-398), then one nullable-boolean column
    ``decline_ge_<X>pct`` per threshold. Flags are NA before the reference day.

    decline % = (reference - value) / reference x 100, compared *unrounded*
    against X (with a 1e-9 tolerance for float noise), so a decline of exactly
    X % is flagged.

    Thresholds used in the HCC literature to define an AFP response (the
    defaults):

    * 20 %: Lee S et al., J Hepatocell Carcinoma 2015;2:39-47 (AFP response =
      >20 % decrease from baseline at 6-8 weeks of sorafenib);
    * 50 %: Riaz A et al., J Clin Oncol 2009;27:5734-5742 (>50 % decrease
      from baseline after chemoembolization or radioembolization);
    * 75 %: Zhu AX et al., Clin Cancer Res 2022;28:3537-3545 (>=75 % decrease
      from baseline at 6 weeks of atezolizumab + bevacizumab, from GO30140 and
      IMbrave150).

    The first two papers wrote a strict ">"; this function uses ">=" throughout
    (only a decline of exactly 20 % or 50 % would be classified differently).

    Example: AFP 588.0 (referral) -> 326.4: decline = 44.49 % -> >=20 yes,
    >=50 no; from the pre-treatment 654.0: 50.09 % -> >=50 yes.

    Raises ValueError when the test has no value at ``reference_event``.
    """
    _check_labs(labs)
    rows = _series_for(labs, test)
    thresholds = tuple(thresholds)
    flag_cols = [f"decline_ge_{_fmt_threshold(x)}pct" for x in thresholds]
    base_cols = [
        "event_id", "test", "day", "value", "unit", "reference_event",
        "change_from_reference_pct", "log10_change_from_reference",
    ]
    if rows.empty:
        empty = pd.DataFrame(columns=base_cols + flag_cols)
        for c in flag_cols:
            empty[c] = empty[c].astype("boolean")
        return empty
    ref = _reference_row(rows, reference_event)
    if ref is None:
        raise ValueError(
            f"{test} has no value at reference_event {reference_event!r}"
        )
    ref_day, ref_value, ref_event = ref

    out = rows[["event_id", "test", "day", "value", "unit"]].copy()
    out["reference_event"] = ref_event
    pct, logs = [], []
    flags: dict[str, list] = {c: [] for c in flag_cols}
    for d, v in zip(rows["day"], rows["value"]):
        if d < ref_day:
            pct.append(math.nan)
            logs.append(math.nan)
            for c in flag_cols:
                flags[c].append(pd.NA)
            continue
        change = _pct_change(v, ref_value)
        lg = _log10_ratio(v, ref_value)
        pct.append(round(change, 1) if not math.isnan(change) else math.nan)
        logs.append(round(lg, 3) if not math.isnan(lg) else math.nan)
        for x, c in zip(thresholds, flag_cols):
            if math.isnan(change):
                flags[c].append(pd.NA)
            else:
                flags[c].append(bool(-change >= x - _EPS))
    out["change_from_reference_pct"] = pd.Series(pct, dtype="float64").to_numpy()
    out["log10_change_from_reference"] = pd.Series(logs, dtype="float64").to_numpy()
    for c in flag_cols:
        out[c] = pd.array(flags[c], dtype="boolean")
    return out.reset_index(drop=True)


def _fmt_threshold(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x).replace(".", "_")


REFERENCE_SENSITIVITY_COLUMNS = ["test", "event_id", "day", "threshold_pct", "reference_event",
                                 "change_from_reference_pct", "declined", "verdict_differs"]


def reference_sensitivity(
    labs: pd.DataFrame,
    tests: tuple[str, ...],
    references: tuple[str | None, ...],
    thresholds: tuple[float, ...] = (20, 50, 75),
) -> pd.DataFrame:
    """Does a marker-response verdict depend on the reference value chosen?

    For each test, event and threshold, the decline flag of :func:`marker_response` under
    each reference in ``references`` (``None`` = the test's first value); a reference the
    test has no value at is left out rather than replaced. ``verdict_differs`` is True where
    the references that apply to that event disagree (e.g. AFP 326.4 after cycle 3 is a
    >= 50 % decline from the pre-treatment 654.0 but not from the referral 588.0).
    Only events after every applicable reference are compared.
    """
    rows = []
    for test in tests:
        series = _series_for(labs, test)
        usable = [r for r in dict.fromkeys(references)
                  if r is None or r in set(series["event_id"])]
        if series.empty or not usable:
            continue
        flagged = [marker_response(labs, test, reference_event=r, thresholds=thresholds)
                   for r in usable]
        for x in thresholds:
            column = f"decline_ge_{_fmt_threshold(x)}pct"
            for i, event_id in enumerate(flagged[0]["event_id"]):
                calls = [(f.at[i, "reference_event"], f.at[i, "change_from_reference_pct"],
                          f.at[i, column]) for f in flagged]
                if event_id in usable or any(pd.isna(flag) for _, _, flag in calls):
                    continue  # a reference itself, or before one: nothing to compare
                differs = len({bool(flag) for _, _, flag in calls}) > 1
                for ref_event, change, flag in calls:
                    rows.append(dict(test=test, event_id=event_id,
                                     day=int(flagged[0].at[i, "day"]), threshold_pct=x,
                                     reference_event=ref_event, change_from_reference_pct=change,
                                     declined=bool(flag), verdict_differs=differs))
    return pd.DataFrame(rows, columns=REFERENCE_SENSITIVITY_COLUMNS)
