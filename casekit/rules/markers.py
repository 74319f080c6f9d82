"""Serum tumour markers and viral load over time: change, nadir, kinetics, response.

Input is the validated labs frame (one row per measurement) with the columns
``event_id, day, test, value, unit, status, source``; values are already in
canonical units (:mod:`casekit.case.units`). Which tests are tumour markers and which are
viral loads is the vocabulary :data:`MARKERS` (data, with the reference for each).

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
from typing import NamedTuple

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


# --------------------------------------------------------------- vocabulary


class Marker(NamedTuple):
    """A serum marker casekit knows: its test code (as in labs.csv), the name shown to a
    reader, ``kind`` (``tumour`` marker or ``viral`` load, which is read on a log10 scale),
    what it follows, and where that use is published. Units: :mod:`casekit.case.units`."""

    code: str
    name: str
    kind: str
    follows: str
    reference: str


#: The marker vocabulary, in the order the collection shows markers.
MARKERS: dict[str, Marker] = {m.code: m for m in (
    Marker("AFP", "AFP", "tumour", "hepatocellular carcinoma; germ-cell tumours",
           "EASL Clinical Practice Guidelines: management of hepatocellular carcinoma, "
           "J Hepatol 2018;69:182-236"),
    Marker("PIVKA-II", "PIVKA-II (DCP)", "tumour", "hepatocellular carcinoma",
           "EASL 2018 HCC guidelines (des-gamma-carboxy prothrombin)"),
    Marker("CEA", "CEA", "tumour", "colorectal cancer",
           "Locker GY et al. ASCO 2006 tumor markers in gastrointestinal cancer, "
           "J Clin Oncol 2006;24:5313-5327"),
    Marker("CA19-9", "CA 19-9", "tumour", "pancreatic and biliary cancer",
           "Locker GY et al. J Clin Oncol 2006;24:5313-5327"),
    Marker("CA-125", "CA-125", "tumour", "ovarian cancer",
           "Rustin GJ et al. GCIG CA-125 response criteria, Int J Gynecol Cancer "
           "2011;21:419-423"),
    Marker("CA15-3", "CA 15-3", "tumour", "breast cancer",
           "Harris L et al. ASCO 2007 tumor markers in breast cancer, "
           "J Clin Oncol 2007;25:5287-5312"),
    Marker("PSA", "PSA", "tumour", "prostate cancer",
           "Scher HI et al. PCWG3, J Clin Oncol 2016;34:1402-1418"),
    Marker("CYFRA21-1", "CYFRA 21-1", "tumour", "non-small-cell lung cancer",
           "Holdenrieder S et al. Clinical applications of serum tumor markers in lung "
           "cancer, Ann Transl Med 2016;4:489 (review)"),
    Marker("NSE", "NSE", "tumour", "small-cell lung cancer; neuroendocrine tumours",
           "Holdenrieder S et al. Ann Transl Med 2016;4:489 (review)"),
    Marker("B-HCG", "\u03b2-hCG", "tumour", "germ-cell and trophoblastic tumours",
           "IGCCCG, J Clin Oncol 1997;15:594-603"),
    Marker("LDH", "LDH", "tumour", "melanoma (AJCC M category); germ-cell tumours",
           "Gershenwald JE et al. AJCC 8th edition melanoma staging, "
           "CA Cancer J Clin 2017;67:472-492"),
    Marker("HBV-DNA", "HBV DNA", "viral", "hepatitis B antiviral therapy",
           "EASL 2017 HBV guideline, J Hepatol 2017;67:370-398"),
    Marker("HCV-RNA", "HCV RNA", "viral", "hepatitis C antiviral therapy",
           "EASL recommendations on treatment of hepatitis C 2020, "
           "J Hepatol 2020;73:1170-1218"),
)}

UNKNOWN_NOTE = ("not in casekit's marker vocabulary: shown as given (unit not checked, "
                "not converted)")


def _vocabulary_code(test: str) -> str:
    from casekit.case.units import canonical_test  # the case layer owns test synonyms
    return canonical_test(test)


def marker_name(test: str) -> str:
    """The name a reader knows the test by (``CA19-9`` -> ``CA 19-9``); unknown: as given."""
    marker = MARKERS.get(_vocabulary_code(test))
    if marker is None:
        return test
    return marker.name if marker.code == test else f"{test} ({marker.name})"


def _present(labs: pd.DataFrame) -> list[str]:
    values = pd.to_numeric(labs["value"], errors="coerce")
    return list(dict.fromkeys(labs.loc[values.notna(), "test"].astype(str)))


def case_markers(labs: pd.DataFrame, kind: str = "tumour") -> list[str]:
    """The tests of ``labs`` to follow as markers of ``kind`` (``tumour`` or ``viral``).

    Known markers come in vocabulary order. With ``kind="tumour"`` a test casekit does not
    know at all (neither a marker nor another laboratory test of
    :data:`casekit.case.units.UNITS`, e.g. ``S100B``) follows, sorted: it is kept and
    shown with :data:`UNKNOWN_NOTE`, never dropped.
    """
    from casekit.case.units import is_known

    present = _present(labs)
    order = {code: i for i, code in enumerate(MARKERS)}
    known = [t for t in present if _vocabulary_code(t) in MARKERS
             and MARKERS[_vocabulary_code(t)].kind == kind]
    known.sort(key=lambda t: (order[_vocabulary_code(t)], t))
    if kind != "tumour":
        return known
    return known + sorted(t for t in present if not is_known(t))


def marker_notes(labs: pd.DataFrame) -> pd.DataFrame:
    """``test, name, kind, note`` for every marker of the case: what it follows, or why an
    unknown test is shown as given."""
    rows = []
    for kind in ("tumour", "viral"):
        for test in case_markers(labs, kind):
            marker = MARKERS.get(_vocabulary_code(test))
            note = UNKNOWN_NOTE if marker is None else f"follows {marker.follows}"
            rows.append(dict(test=test, name=marker_name(test),
                             kind=kind if marker is not None else "unknown", note=note))
    return pd.DataFrame(rows, columns=["test", "name", "kind", "note"])


# --------------------------------------------------------------- in words


def _decimals_of(values) -> int:
    """Fewest decimals (up to 2) that show every value exactly as given (654.0 and 326.4
    -> 1; 1470 and 886 -> 0), so a series keeps its reported precision."""
    for decimals in range(3):
        if all(abs(round(v, decimals) - v) < 1e-9 for v in values):
            return decimals
    return 2


def format_number(value: float, decimals: int = 0) -> str:
    """``12573`` -> ``12,573``; ``-1`` -> ``−1`` (a true minus sign)."""
    return f"{value:,.{decimals}f}".replace("-", "\u2212")


def _turning_points(days: list, values: list) -> list[int]:
    """Indices of the first value, every local extremum, and the last value (flat runs
    count with the run they continue)."""
    points = [0]
    direction = 0
    for i in range(1, len(values)):
        step = (values[i] > values[i - 1]) - (values[i] < values[i - 1])
        if step and direction and step != direction:
            points.append(i - 1)
        if step:
            direction = step
    if len(values) > 1:
        points.append(len(values) - 1)
    return points


def trajectory_sentence(labs: pd.DataFrame, test: str, day_word: str = "day",
                        most_segments: int = 4) -> str:
    """One sentence that says what a marker did, computed from its values.

    The series is cut at its turning points (local minima and maxima). Each segment is a
    fall in percent ((a - b) / a x 100, whole percent) or a rise in percent below a
    doubling and as a fold (b / a, one decimal) from a doubling on; the lowest value after
    the first is named the nadir. Values keep the precision they were given in.
    Example (seed AFP 654.0 day -1, 588.0 day 7, 326.4 day 62, 1335.2 day 125):
    (654.0 - 326.4) / 654.0 = 50.1 % and 1335.2 / 326.4 = 4.09, so "AFP fell 50 % from
    654.0 ng/mL on day −1 to a nadir of 326.4 ng/mL on day 62, then rose 4.1-fold to
    1,335.2 ng/mL on day 125." A viral load moves in log10 units (EASL 2017 HBV
    guideline): 236,000 -> 30,300 IU/mL "fell 0.89 log10". More than ``most_segments`` segments are summarised as
    first -> nadir -> last.
    """
    rows = _series_for(labs, test)
    name = marker_name(test)
    if rows.empty:
        return ""
    days = [int(d) for d in rows["day"]]
    values = [float(v) for v in rows["value"]]
    unit = str(rows["unit"].iloc[0])
    decimals = _decimals_of(values)

    def value(i: int) -> str:
        return f"{format_number(values[i], decimals)} {unit}".strip()

    def when(i: int) -> str:
        return f"{day_word} {format_number(days[i])}"

    if len(values) == 1:
        return f"{name} was {value(0)} on {when(0)} (one value)."
    nadir = min(range(len(values)), key=lambda i: (values[i], i))
    points = _turning_points(days, values)
    if len(points) - 1 > most_segments:
        points = sorted({0, nadir, len(values) - 1})
    viral = getattr(MARKERS.get(_vocabulary_code(test)), "kind", "") == "viral"
    parts = []
    for n, (a, b) in enumerate(zip(points, points[1:])):
        va, vb = values[a], values[b]
        if viral and va > 0 and vb > 0 and va != vb:  # log10 scale (EASL 2017)
            verb = f"{'fell' if vb < va else 'rose'} {abs(math.log10(vb / va)):.2f} log10"
        elif vb < va:
            verb = f"fell {format_number((va - vb) / va * 100 if va else math.nan)} %"
        elif vb > va and va > 0 and vb / va >= 2:
            verb = f"rose {vb / va:.1f}-fold"
        elif vb > va:
            verb = f"rose {format_number((vb - va) / va * 100 if va else math.nan)} %"
        else:
            verb = "stayed"
        target = f"a nadir of {value(b)}" if b == nadir and b != 0 else value(b)
        start = f" from {value(a)} on {when(a)}" if n == 0 else ""
        lead = name if n == 0 else "then"
        parts.append(f"{lead} {verb}{start} to {target} on {when(b)}")
    return ", ".join(parts) + "."
