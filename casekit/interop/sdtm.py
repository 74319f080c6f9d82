"""CDISC SDTM in and out: import DM/TU/TR/RS (+LB, EX) into case folders, export a case.

Import groups every domain once by subject (never rescanning a domain per subject) and
writes one case folder per subject, every row ``derived`` with the SDTM record it came from
(``TR TRSEQ=17``). The mapping is the data of :mod:`casekit.interop.mapping` and is
documented in ``data/README.md`` ("SDTM mapping"). Rules where SDTM data are messy:

- **Day 0** is DM ``RFSTDTC``; an event's day is its date minus RFSTDTC (SDTM's study day
  ``--DY`` has no day 0: day = --DY - 1 from day 1 on). Without a usable date the record's
  ``--DY`` is used.
- **Partial dates** (``2014-01``): completed from a complete date of the same subject,
  visit and evaluator in the same month when there is one (the visit's date), otherwise
  imputed to the first day of the month (year only: 1 January) — admiral's
  ``date_imputation = "first"``. Imputed rows are marked in their ``source``, and an
  event whose date was imputed is ``assumed`` in ``timeline.csv``.
- **One visit number on two dates** becomes two events (``<visit>day_<d>``), reported.
- **Not done** (``TRSTAT`` NOT DONE or no result): a target lesion gets a row without a
  measurement (not evaluable, never zero); a non-target lesion gets no row, which the
  response engine reads as not assessed (NE). Reported per subject.
- **Duplicate records** (same subject, event, lesion and test) are reported: identical ones
  are kept once; conflicting ones are all dropped, so the lesion is not evaluable there.
- **No baseline** (no TR records at the earliest visit of the subject, or no target or
  non-target lesion identified in TU): the subject is skipped with the reason.
- A missing domain or variable, or a file that cannot be read, raises :class:`SdtmInputError`
  naming the file and the variable (the command line exits 2). Files are read in any format
  and by content by :mod:`casekit.interop.sdtm_read`.
- **Every other problem is logged with its fate** (:func:`checked_records`, ``_tr_sizes``,
  ``_lab_fits``): a record that cannot be traced, a date that is no calendar date, a size or
  lab value outside ``validate``'s limits, a day beyond ``schema.MAX_OFFSET_DAYS``. What a
  case folder gets always validates, and every cell is neutralised as
  :func:`casekit.outputs.safe_cell` does for all outputs (formulas, bare carriage returns).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd

from casekit.case import schema, units
from casekit.interop import mapping as mp
from casekit.interop.sdtm_read import SdtmInputError, read_folder
from casekit.outputs import safe_cell
from casekit.owned import OwnedFolder

REQUIRED_DOMAINS = ("DM", "TU", "TR")
#: Variables a domain must have (others are optional).
REQUIRED_VARIABLES = {
    "DM": ("USUBJID", "RFSTDTC"),
    "TU": ("USUBJID", "TUSEQ", "TULNKID", "TUORRES"),
    "TR": ("USUBJID", "TRSEQ", "TRLNKID", "TRTESTCD", "TRORRES", "TRSTRESN", "VISITNUM",
           "VISIT", "TRDTC"),
    "RS": ("USUBJID", "RSSEQ", "RSTESTCD", "RSORRES", "VISITNUM", "VISIT", "RSDTC"),
    "LB": ("USUBJID", "LBSEQ", "LBTESTCD", "LBORRES", "LBORRESU", "VISITNUM", "VISIT", "LBDTC"),
    "EX": ("USUBJID", "EXSEQ", "EXTRT", "EXSTDTC"),
    "SUPPTU": ("USUBJID", "IDVARVAL", "QNAM", "QVAL"),
    "DS": ("USUBJID", "DSDECOD", "DSSTDTC"),
}
ROOT_EVENT = "rfstdtc"
_KNOWN_STUDIES = {
    "CDISCPILOT01": "pharmaversesdtm subject {usubjid} (CDISC pilot test data, not a real patient)",
}
_DERIVED = "derived"


@dataclass
class ImportSummary:
    """What :func:`import_sdtm` did: case folders written, subjects skipped (subject ->
    reason), rows written per case file and records read per domain (``rows``), and every
    reported irregularity (``notes``: subject, domain, what)."""

    imported: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    notes: list[tuple[str, str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"imported {len(self.imported)} subject(s); skipped {len(self.skipped)}"]
        out += [f"  skipped {subject}: {reason}" for subject, reason in self.skipped.items()]
        out.append("rows: " + ", ".join(f"{k} {v}" for k, v in self.rows.items()))
        kinds: dict[str, int] = {}
        for _, domain, what in self.notes:
            key = f"{domain}: {what.split(':')[0]}"
            kinds[key] = kinds.get(key, 0) + 1
        out += [f"  reported, {k}: {n}" for k, n in sorted(kinds.items())]
        return out


# ------------------------------------------------------------------ reading


#: The domains import reads (others in the folder are left alone).
DOMAINS = ("DM", "TU", "TR", "RS", "LB", "EX", "SUPPTU", "DS")


def read_sdtm(folder: str | Path, domains=DOMAINS, notes: list | None = None
              ) -> dict[str, pd.DataFrame]:
    """The domains found in ``folder``, in any format :mod:`casekit.interop.sdtm_read`
    reads (files of one domain concatenated); required ones, and their required
    variables, must exist. What the reader noticed is appended to ``notes`` as
    ``(domain, what)``."""
    study = read_folder(folder, domains, REQUIRED_VARIABLES)
    if notes is not None:
        notes += study.notes
    for domain in REQUIRED_DOMAINS:
        if domain not in study.frames:
            raise SdtmInputError(
                f"{folder}: domain {domain} is missing: no file whose dataset name or "
                f"DOMAIN is {domain} (read: .csv, .csv.gz, .xpt, .json, .ndjson)")
            continue
    return study.frames


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column as text ('' when missing or absent)."""
    if name in frame.columns:
        return frame[name].fillna("").astype(str)
    return pd.Series("", index=frame.index, dtype=object)


def _evaluator(frame: pd.DataFrame, prefix: str) -> pd.Series:
    """The evaluator of each record: --EVALID when given, else --EVAL."""
    evalid, evaluator = _col(frame, f"{prefix}EVALID"), _col(frame, f"{prefix}EVAL")
    return evalid.where(evalid != "", evaluator)


def _for_evaluator(frame: pd.DataFrame, prefix: str, evaluator: str | None) -> pd.DataFrame:
    if evaluator is None or f"{prefix}EVAL" not in frame.columns:
        return frame
    who = _evaluator(frame, prefix).str.upper()
    return frame[who == evaluator.upper()]


def _number_text(value: float) -> str:
    """A decimal without binary noise or trailing zeros (12.100000000000001 -> 12.1)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def safe_name(text: str) -> str:
    """A file-system-safe folder name (letters, digits, '.', '_', '-')."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")
    return name or "subject"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_") or "visit"


# ------------------------------------------------------------------ dates and days


#: How a partial date is completed: admiral's ``date_imputation`` "first" (casekit's
#: default) or "last" (admiralonco's ADRS template: ``derive_vars_dt(highest_imputation =
#: "D", date_imputation = "last")``).
DATE_IMPUTATIONS = ("first", "last")


def impute_date(text: str, imputation: str = "first") -> str:
    """A partial ISO 8601 date (``2014-02`` or ``2014``) completed to the first or the last
    day of its period (``2014-02-01`` / ``2014-02-28``, ``2014-01-01`` / ``2014-12-31``)."""
    if imputation == "first":
        return text + ("-01" if len(text) == 7 else "-01-01")
    if len(text) == 4:
        return text + "-12-31"
    return (pd.Timestamp(text + "-01") + pd.offsets.MonthEnd(0)).strftime("%Y-%m-%d")


def _dates_and_days(frame: pd.DataFrame, prefix: str, ref: pd.Series,
                    imputation: str = "first") -> pd.DataFrame:
    """Add ``date_`` (complete ISO date or ''), ``imputed_`` (how) and ``day_`` to records.

    ``ref`` is RFSTDTC per record. See the module docstring for the imputation rule.
    """
    dtc = _col(frame, f"{prefix}DTC").str.slice(0, 10)
    full = dtc.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
    partial = ~full & dtc.str.fullmatch(r"\d{4}(-\d{2})?")
    date = dtc.where(full, "")
    imputed = pd.Series("", index=frame.index, dtype=object)
    if partial.any():
        visit = _col(frame, "VISITNUM")
        who = _evaluator(frame, prefix)
        usubjid = frame["USUBJID"]
        known = pd.DataFrame({"u": usubjid, "v": visit, "w": who, "d": date})[full]
        firsts = known.groupby(["u", "v", "w"])["d"].min()
        for i in frame.index[partial]:
            text = dtc[i]
            same = firsts.get((usubjid[i], visit[i], who[i]))
            if same is not None and same.startswith(text):
                date[i] = same
                imputed[i] = f"{prefix}DTC={text} partial: completed from the visit's date {same}"
            else:
                date[i] = impute_date(text, imputation)
                imputed[i] = (f"{prefix}DTC={text} partial: imputed to {date[i]} "
                              f"({imputation} day of the period)")
    ref_date = ref.astype(object).fillna("").astype(str).str.slice(0, 10)  # all-NaN: float
    usable = (date != "") & ref_date.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
    day = pd.Series(np.nan, index=frame.index)
    if usable.any():
        day[usable] = (pd.to_datetime(date[usable]) - pd.to_datetime(ref_date[usable])).dt.days
    dy = pd.to_numeric(_col(frame, f"{prefix}DY").replace("", None), errors="coerce")
    from_dy = day.isna() & dy.notna()
    day[from_dy] = np.where(dy[from_dy] > 0, dy[from_dy] - 1, dy[from_dy])
    out = frame.assign(date_=date, imputed_=imputed, day_=day, from_dy_=from_dy)
    return out


def _within_range(frame: pd.DataFrame, domain: str, notes) -> pd.DataFrame:
    """Records whose day lies beyond validate's ``schema.MAX_OFFSET_DAYS`` from RFSTDTC
    (a date typed as 1000-01-01) are reported and not placed (``day_`` NaN)."""
    far = frame["day_"].abs() > schema.MAX_OFFSET_DAYS
    for subject, n in frame[far].groupby("USUBJID").size().items():
        notes.add(subject, domain, f"day out of range: {n} record(s) more than "
                  f"{schema.MAX_OFFSET_DAYS} days from RFSTDTC (a mistyped date?); not "
                  "imported")
    return frame.assign(day_=frame["day_"].where(~far))


# ------------------------------------------------------------------ checking records

#: The --SEQ variable of each domain (SUPPTU records are identified by IDVARVAL).
_SEQ = {"DM": None, "TU": "TUSEQ", "TR": "TRSEQ", "RS": "RSSEQ", "LB": "LBSEQ", "EX": "EXSEQ",
        "SUPPTU": None}
#: Variables without which a record means nothing to the import (not imported, reported).
_KEYS = {"TU": ("TULNKID",), "LB": ("LBTESTCD",), "EX": ("EXTRT",)}
#: Link ids that become lesion ids.
_LINKS = {"TU": ("TULNKID",), "TR": ("TRLNKID",)}
#: The date variables of each domain checked to be calendar dates.
_DATES = {"DM": ("RFSTDTC",), "TU": ("TUDTC",), "TR": ("TRDTC",), "RS": ("RSDTC",),
          "LB": ("LBDTC",), "EX": ("EXSTDTC",)}


def _where(frame: pd.DataFrame, i) -> str:
    """A record's place: ``tr.csv line 7`` (CSV, NDJSON) or ``TU.xpt record 6``."""
    name = frame.at[i, "file_"] if "file_" in frame.columns else "?"
    return f"{name} {'line' if name.lower().endswith(('.csv', '.gz', '.ndjson')) else 'record'} " \
        f"{frame.at[i, 'line_'] if 'line_' in frame.columns else '?'}"


def _by_value(series: pd.Series, test: Callable[[str], bool]) -> pd.Series:
    """``test`` of each cell's text, computed once per distinct value (a TR domain of 56,000
    records holds a few hundred distinct dates)."""
    values = series.fillna("").astype(object)
    hits = {v: bool(test(str(v))) for v in pd.unique(values.to_numpy())}
    return values.map(hits).astype(bool)


def _bad_date(text: str) -> bool:
    """Text that is no ISO 8601 date (SDTMIG v3.4 §4.4.2: complete or partial, time
    optional) or names no calendar day or month (2014-13-45, 2014-02-30, 2014-00)."""
    if text == "":
        return False
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2}(T[0-9:.+\-Z]*)?)?)?", text):
        return True
    date = text[:10]
    if len(date) == 10:
        try:
            datetime.date.fromisoformat(date)
        except ValueError:
            return True
        return False
    return len(date) == 7 and not 1 <= int(date[5:]) <= 12


def checked_records(data: dict[str, pd.DataFrame], notes) -> dict[str, pd.DataFrame]:
    """The domains with every record casekit cannot use reported (``notes.add``) and set
    aside, so that none ends in a traceback or in a value a case folder must not hold:

    - no USUBJID, or no --SEQ (the record could not be traced): not imported;
    - a --DTC that names no calendar day (2014-13-45): treated as missing (the record's
      --DY places it, if given);
    - DM: a second record of a subject (identical: kept once; different: the first is
      used), an AGE that is not a number from 0 to ``schema.FACT_LIMITS['age_years']``
      (left out).
    """
    out = {}
    for domain, frame in data.items():
        frame = frame.copy()
        needed = [v for v in ("USUBJID", _SEQ.get(domain), *_KEYS.get(domain, ()))
                  if v and v in frame.columns]
        for var in needed:
            blank = _by_value(frame[var], lambda v: not v.strip())
            for i in frame.index[blank]:
                notes.add(str(frame.at[i, "USUBJID"]) if var != "USUBJID" else "*", domain,
                          f"no {var}: {_where(frame, i)} cannot be traced; not imported")
            frame = frame[~blank]
        for var in _DATES.get(domain, ()):
            if var in frame.columns:
                bad = _by_value(frame[var], _bad_date)
                seq = _SEQ.get(domain)
                for i in frame.index[bad]:
                    who = f"{seq}={frame.at[i, seq]}" if seq else _where(frame, i)
                    notes.add(frame.at[i, "USUBJID"], domain,
                              f"not a calendar date: {who} {var}={frame.at[i, var]!r} (ISO "
                              "8601 expected); treated as missing")
                frame.loc[bad, var] = None
        for var in _LINKS.get(domain, ()):
            if var in frame.columns:  # lesion ids must be identifiers (lesions.csv)
                link = frame[var].fillna("").astype(str)
                odd = _by_value(frame[var], lambda v: v != "" and re.fullmatch(
                    r"[A-Za-z0-9_.\-]+", v) is None)
                for (subject, value), _ in frame[odd].groupby(["USUBJID", var]):
                    notes.add(subject, domain, f"{var}={value!r} is not an identifier; "
                              f"imported as lesion {safe_name(value)!r}")
                frame.loc[odd, var] = link[odd].map(safe_name)
        if domain == "DM":
            frame = _checked_dm(frame, notes)
        out[domain] = frame
    return out


def _checked_dm(dm: pd.DataFrame, notes) -> pd.DataFrame:
    if "AGE" in dm.columns:
        age = dm["AGE"].fillna("").astype(str).str.strip()
        number = pd.to_numeric(age.where(age.str.fullmatch(_PLAIN_NUMBER), None),
                               errors="coerce").astype("float64")
        bad = (age != "") & ~(number <= schema.FACT_LIMITS["age_years"])
        for i in dm.index[bad]:
            notes.add(dm.at[i, "USUBJID"], "DM", f"AGE={dm.at[i, 'AGE']!r} is not an age in "
                      f"years (0-{schema.FACT_LIMITS['age_years']:g}); left out")
        # blank (spaces, a vertical tab) or bad: missing; else the number as written, trimmed
        dm["AGE"] = age.where((age != "") & ~bad, None)
    again = dm.duplicated("USUBJID", keep="first")
    if again.any():
        fields = [c for c in dm.columns if not c.endswith("_")]
        for subject, group in dm[dm["USUBJID"].isin(dm.loc[again, "USUBJID"])].groupby(
                "USUBJID", sort=False):
            same = len(group[fields].drop_duplicates()) == 1
            places = ", ".join(_where(group, i) for i in group.index)
            notes.add(subject, "DM", f"{len(group)} DM records ({places}): " + (
                "identical; kept once" if same else "they differ; the first is used"))
    return dm[~again]


# ------------------------------------------------------------------ import


@dataclass
class _Notes:
    summary: ImportSummary

    def add(self, subject: str, domain: str, what: str) -> None:
        self.summary.notes.append((subject, domain, what))


def _events(records: list[pd.DataFrame]) -> pd.DataFrame:
    """One event per subject, visit number and day, with a unique event_id per subject."""
    frames = []
    for frame in records:
        if frame.empty:
            continue
        frames.append(frame[["USUBJID", "VISITNUM", "VISIT", "day_", "date_", "imputed_",
                             "from_dy_", "domain_"]])
    if not frames:  # no record placed at all (no evaluator's records, no dates)
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in (
            "USUBJID", "VISITNUM", "VISIT", "date", "imputed", "from_dy", "domains",
            "event_id")})
        return empty.assign(day_=pd.Series(dtype=float))
    allrec = pd.concat(frames, ignore_index=True)
    allrec = allrec[allrec["day_"].notna()]
    allrec["VISITNUM"] = allrec["VISITNUM"].fillna("")
    allrec["VISIT"] = allrec["VISIT"].fillna("")
    grouped = allrec.groupby(["USUBJID", "VISITNUM", "day_"], sort=False)
    events = grouped.agg(VISIT=("VISIT", "first"), date=("date_", lambda s: min(
        [d for d in s if d] or [""])),
        imputed=("imputed_", lambda s: bool((s != "").all())),
        from_dy=("from_dy_", "all"), domains=("domain_", lambda s: ",".join(sorted(set(s)))),
        ).reset_index()
    events["day_"] = events["day_"].astype(int)
    events["event_id"] = [_slug(v) if v else f"visit_{n}" for v, n in
                          zip(events["VISIT"], events["VISITNUM"])]
    # A visit number on two days, or two visits with one slug: make the ids unique by day.
    clash = events.duplicated(["USUBJID", "event_id"], keep=False)
    events.loc[clash, "event_id"] = events.loc[clash, "event_id"] + "_day" + \
        events.loc[clash, "day_"].astype(str)
    # Still one id on one day (two visit numbers, or one missing, with one visit name):
    # numbered in order, so that every event id of a subject is unique.
    again = events.duplicated(["USUBJID", "event_id"], keep="first")
    if again.any():
        n = events[again].groupby(["USUBJID", "event_id"]).cumcount() + 2
        events.loc[again, "event_id"] = events.loc[again, "event_id"] + "_" + n.astype(str)
    events.loc[events["event_id"] == ROOT_EVENT, "event_id"] = ROOT_EVENT + "_visit"
    return events


def _event_key(frame: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """event_id for each record (by subject, visit number, day)."""
    keyed = frame[["USUBJID", "VISITNUM", "day_"]].copy()
    keyed["VISITNUM"] = keyed["VISITNUM"].fillna("")
    merged = keyed.merge(events[["USUBJID", "VISITNUM", "day_", "event_id"]],
                         on=["USUBJID", "VISITNUM", "day_"], how="left")
    return pd.Series(merged["event_id"].to_numpy(), index=frame.index)


def _seq_source(domain: str, seqvar: str, seqs) -> str:
    seqs = list(seqs)
    return f"{domain} {seqvar}=" + ",".join(str(s) for s in seqs)


def _tu_lesions(tu: pd.DataFrame, supptu: pd.DataFrame | None, notes: _Notes) -> pd.DataFrame:
    """One row per subject and TULNKID: role, site, kind, TUSEQ."""
    tu = tu.assign(role=_col(tu, "TUORRES").str.upper().map(mp.ROLE_FROM_TUORRES),
                   site=_col(tu, "TULOC"))
    unknown = tu["role"].isna()
    for r in tu[unknown].itertuples():
        notes.add(r.USUBJID, "TU", f"unknown TUORRES: TUSEQ={r.TUSEQ} TUORRES={r.TUORRES!r} "
                  "not imported")
    tu = tu[~unknown]
    firsts = tu.drop_duplicates(["USUBJID", "TULNKID"])
    variants = tu.drop_duplicates(["USUBJID", "TULNKID", "role", "site"])
    for (subject, link), n in variants.groupby(["USUBJID", "TULNKID"]).size().items():
        if n > 1:
            notes.add(subject, "TU", f"conflicting TU records: TULNKID={link} has {n} "
                      "different roles/sites; the first (lowest TUSEQ) is used")
    firsts = firsts.assign(kind=np.where(firsts["site"].str.upper().str.contains(
        "LYMPH NODE", regex=False), "lymph_node", "tumour"))
    if supptu is not None and not supptu.empty:
        kinds = supptu[supptu["QNAM"] == "TUKIND"]
        odd = ~kinds["QVAL"].isin(schema.LESION_KINDS)
        for r in kinds[odd].itertuples():
            notes.add(r.USUBJID, "SUPPTU", f"TUKIND {r.QVAL!r} is not a lesion kind "
                      f"({', '.join(schema.LESION_KINDS)}): TUSEQ={r.IDVARVAL} keeps its kind "
                      "from TULOC")
        kinds = kinds[~odd]
        by_seq = {(u, s): k for u, s, k in zip(kinds["USUBJID"], kinds["IDVARVAL"], kinds["QVAL"])}
        firsts["kind"] = [by_seq.get((u, s), k) for u, s, k in
                          zip(firsts["USUBJID"], firsts["TUSEQ"], firsts["kind"])]
    return firsts[["USUBJID", "TULNKID", "TUSEQ", "role", "site", "kind"]]


#: Why criteria were assumed (the import log's and the criteria fact's words).
ASSUMED_RECIST = ("RSCAT absent: criteria taken as RECIST 1.1 (casekit's default; RSCAT is "
                  "permissible in SDTMIG v3.4 and the study does not name its criteria)")
_RESULT_TESTS = {"LDIAM", "LPERP", "SAXIS", "VLDIAM", "DIAMETER", "TUMSTATE"}
#: Units of a TR diameter, as the factor to cm (TRSTRESU; CDISC CT UNIT: mm is the standard
#: unit, so a result without a unit is taken as mm and counted).
_CM_PER_UNIT = {"mm": 0.1, "cm": 1.0, "": 0.1}
_PLAIN_NUMBER = r"[0-9]+(\.[0-9]*)?|\.[0-9]+|[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+"


def _tr_sizes(tr: pd.DataFrame, notes: _Notes, counts: dict[str, int]) -> pd.DataFrame:
    """``size_cm_`` (NaN when there is none) and ``unusable_`` for every TR record.

    The result is TRSTRESN in TRSTRESU; where TRSTRESN is empty, TRORRES in TRORRESU (a
    study that fills only the collected result). A result that is not a plain number, is
    negative, not finite, in another unit, or beyond validate's limit of
    ``schema.MAX_LESION_CM`` is reported and unusable: the lesion is not evaluable there
    unless a DIAMETER record of it stands in.
    """
    diam = tr["testcd"] != "TUMSTATE"
    stresn, orres = _col(tr, "TRSTRESN").str.strip(), _col(tr, "TRORRES").str.strip()
    from_orres = diam & (stresn == "") & (orres != "")
    text = stresn.where(~from_orres, orres)
    unit = _col(tr, "TRSTRESU").where(~from_orres, _col(tr, "TRORRESU")).str.strip().str.lower()
    counts["TR result from TRORRES (TRSTRESN empty)"] = int(from_orres.sum())
    counts["TR result without a unit (taken as mm)"] = int((diam & (text != "") & (unit == "")).sum())
    plain = text.str.fullmatch(_PLAIN_NUMBER)
    number = pd.to_numeric(text.where(plain & diam, None), errors="coerce").astype("float64")
    size = number * unit.map(_CM_PER_UNIT).astype("float64")
    usable = plain & diam & np.isfinite(size) & (size <= schema.MAX_LESION_CM)
    unusable = diam & (text != "") & ~usable
    for r in tr[unusable].assign(text_=text[unusable], unit_=unit[unusable]).itertuples():
        why = ("not a plain non-negative number" if not _is_plain(r.text_) else
               f"unit {r.unit_!r} is not mm or cm" if r.unit_ not in _CM_PER_UNIT else
               f"not finite or larger than any lesion (at most {schema.MAX_LESION_CM:g} cm)")
        notes.add(r.USUBJID, "TR", f"unusable result: TRSEQ={r.TRSEQ} {r.testcd}="
                  f"{r.text_!r} {r.unit_}: {why}; not imported, not evaluable there unless a "
                  "DIAMETER record stands in")
    return tr.assign(size_cm_=size.where(usable), unusable_=unusable)


def _is_plain(text: str) -> bool:
    return re.fullmatch(_PLAIN_NUMBER, text) is not None


def _tr_rows(tr: pd.DataFrame, lesions: pd.DataFrame, notes: _Notes,
             counts: dict[str, int]) -> pd.DataFrame:
    """lesions.csv rows (plus USUBJID and day) from TR records, every rule of the module
    docstring applied once over all subjects."""
    tr = tr.merge(lesions, left_on=["USUBJID", "TRLNKID"], right_on=["USUBJID", "TULNKID"],
                  how="left")
    testcd = tr["TRTESTCD"].str.upper()
    counts["TR SUMDIAM (recomputed, not imported)"] = int((testcd == "SUMDIAM").sum())
    tr = tr[testcd != "SUMDIAM"]
    testcd = testcd[tr.index]
    unlinked = tr["role"].isna()
    for r in tr[unlinked].itertuples():
        notes.add(r.USUBJID, "TR", f"record links to no TU lesion: TRSEQ={r.TRSEQ} "
                  f"TRLNKID={r.TRLNKID} not imported")
    other = ~testcd.isin(_RESULT_TESTS) & ~unlinked
    for r in tr[other].itertuples():
        notes.add(r.USUBJID, "TR", f"test not mapped: TRSEQ={r.TRSEQ} TRTESTCD={r.TRTESTCD}")
    tr = tr[~unlinked & ~other].copy()
    testcd = testcd[tr.index]
    node = tr["kind"] == "lymph_node"
    # Which measure a test is: LPERP/SAXIS is a node's short axis; a non-nodal LPERP is not
    # a RECIST measure and is left out; DIAMETER is the RECIST diameter (short axis for a
    # node, longest otherwise) and is used only where the specific test is absent.
    measure = pd.Series("", index=tr.index, dtype=object)
    measure[testcd == "LDIAM"] = "longest"
    measure[testcd == "VLDIAM"] = "viable"
    measure[testcd.isin(["LPERP", "SAXIS"]) & node] = "short_axis"
    measure[(testcd == "DIAMETER")] = np.where(node[testcd == "DIAMETER"], "short_axis", "longest")
    perp = testcd.isin(["LPERP"]) & ~node
    counts["TR LPERP of non-nodal lesions (not a RECIST measure, not imported)"] = int(perp.sum())
    tr = tr[~perp].assign(measure=measure[~perp], testcd=testcd[~perp])
    tr = _tr_sizes(tr, notes, counts)
    is_diam = tr["testcd"] == "DIAMETER"
    specific = tr[~is_diam & (tr["measure"] != "") & ~tr["unusable_"]]
    have = set(zip(specific["USUBJID"], specific["event_id"], specific["TRLNKID"],
                   specific["measure"]))
    redundant = is_diam & pd.Series([k in have for k in zip(
        tr["USUBJID"], tr["event_id"], tr["TRLNKID"], tr["measure"])], index=tr.index)
    # A DIAMETER that disagrees with the specific test is reported (the recorded sums in RS
    # may have used it): pharmaversesdtm draws a lesion's location per visit, so a node's
    # DIAMETER is at some visits its long axis.
    value_of = {(u, e, k, m): v for u, e, k, m, v in zip(
        specific["USUBJID"], specific["event_id"], specific["TRLNKID"], specific["measure"],
        specific["size_cm_"] * 10)}
    differs: dict[tuple, str] = {}
    for r in tr[redundant].itertuples():
        key4 = (r.USUBJID, r.event_id, r.TRLNKID, r.measure)
        other_value = value_of[key4]
        mine = r.size_cm_ * 10
        if not (np.isnan(mine) and np.isnan(other_value)) and not np.isclose(mine, other_value):
            notes.add(r.USUBJID, "TR", f"DIAMETER disagrees with the {r.measure} record: "
                      f"TRSEQ={r.TRSEQ} DIAMETER={r.TRSTRESN} vs {_number_text(other_value)} "
                      f"({r.event_id} {r.TRLNKID}); the {r.measure} record is used")
            # Kept in the row's source: RS sums may have used it (see concordance).
            differs[key4] = f"; TR TRSEQ={r.TRSEQ} DIAMETER={_number_text(mine)} differs"
    counts["TR DIAMETER (redundant with LDIAM/LPERP, not imported)"] = int(redundant.sum())
    tr = tr[~redundant]

    size_cm = tr["size_cm_"]
    state = _col(tr, "TRSTRESC").where(_col(tr, "TRSTRESC") != "", _col(tr, "TRORRES")).str.upper()
    not_done = (_col(tr, "TRSTAT").str.upper() == "NOT DONE") | np.where(
        tr["testcd"] == "TUMSTATE", state == "", size_cm.isna())
    reason = _col(tr, "TRREASND").where(~tr["unusable_"], "unusable result")
    tr = tr.assign(size_cm=size_cm, state=state, not_done=not_done, reason=reason)

    # Duplicates: same subject, event, lesion and test.
    key = ["USUBJID", "event_id", "TRLNKID", "testcd"]
    dup = tr.duplicated(key, keep=False)
    drop = pd.Series(False, index=tr.index)
    if dup.any():
        for (subject, event, link, test), group in tr[dup].groupby(key, sort=False):
            seqs = ",".join(group["TRSEQ"])
            values = set(zip(group["size_cm"].fillna(-1), group["state"], group["not_done"]))
            if len(values) == 1:
                notes.add(subject, "TR", f"duplicate records: TRSEQ={seqs} ({event} {link} "
                          f"{test}) identical; kept once")
                drop[group.index[1:]] = True
            else:
                notes.add(subject, "TR", f"conflicting records: TRSEQ={seqs} ({event} {link} "
                          f"{test}) differ; none used, the lesion is not evaluable there")
                drop[group.index] = True
                tr.loc[group.index[0], ["not_done", "reason"]] = [True, "conflicting records"]
                drop[group.index[0]] = False
    tr = tr[~drop]

    columns = ["USUBJID", "event_id", "lesion_id", "measure", "size_cm", "assessment", "source"]
    measured = tr[~tr["not_done"] & (tr["measure"] != "")]
    imputed = measured["imputed_"].where(measured["imputed_"] == "", "; " + measured["imputed_"])
    extra = [differs.get(k, "") for k in zip(measured["USUBJID"], measured["event_id"],
                                             measured["TRLNKID"], measured["measure"])]
    sizes = measured["size_cm"].round(6).map(_number_text) if len(measured) else measured["size_cm"]
    rows_measured = pd.DataFrame({
        "USUBJID": measured["USUBJID"], "event_id": measured["event_id"],
        "lesion_id": measured["TRLNKID"], "measure": measured["measure"], "size_cm": sizes,
        "assessment": "", "source": "TR TRSEQ=" + measured["TRSEQ"] + " " + measured["testcd"]
        + imputed + pd.Series(extra, index=measured.index, dtype=object)})
    states = tr[~tr["not_done"] & (tr["testcd"] == "TUMSTATE")
                & ~tr["state"].isin(["NO", "NOT APPLICABLE"])]
    words = pd.Series([mp.ASSESSMENT_FROM_TUMSTATE[role].get(state) for role, state in
                       zip(states["role"], states["state"])], index=states.index, dtype=object)
    for r in states[words.isna()].itertuples():
        notes.add(r.USUBJID, "TR", f"unknown TUMSTATE: TRSEQ={r.TRSEQ} {r.state!r} not imported")
    states, words = states[words.notna()], words[words.notna()]
    rows_states = pd.DataFrame({
        "USUBJID": states["USUBJID"], "event_id": states["event_id"],
        "lesion_id": states["TRLNKID"], "measure": "", "size_cm": "", "assessment": words,
        "source": "TR TRSEQ=" + states["TRSEQ"] + " TUMSTATE=" + states["state"]})
    out = pd.concat([rows_measured, rows_states], ignore_index=True)[columns]
    # A lesion measured and assessed at one event is one row (as case files write it).
    key3 = ["USUBJID", "event_id", "lesion_id"]
    is_state = out["assessment"] != ""
    firsts = out[~is_state].drop_duplicates(key3).reset_index(names="row")[key3 + ["row"]]
    states = out[is_state].reset_index(names="state_row").merge(firsts, on=key3)
    states = states.drop_duplicates("row")
    out.loc[states["row"], "assessment"] = states["assessment"].to_numpy()
    out.loc[states["row"], "source"] = (out.loc[states["row"], "source"].to_numpy() + "; "
                                        + states["source"].to_numpy())
    out = out.drop(index=states["state_row"]).reset_index(drop=True)
    # A target with no usable measurement at an event: one row, not evaluable.
    done = set(zip(out["USUBJID"], out["event_id"], out["lesion_id"]))
    missing = tr[tr["not_done"]]
    nd_rows, nd_nontarget = [], 0
    for (subject, event, link), group in missing.groupby(["USUBJID", "event_id", "TRLNKID"],
                                                         sort=False):
        if (subject, event, link) in done:
            continue
        reason = next((x for x in group["reason"] if x), "no result")
        seqs = ",".join(group["TRSEQ"])
        if group["role"].iloc[0] == "target":
            nd_rows.append((subject, event, link, "", "", "",
                            f"TR TRSEQ={seqs} NOT DONE: {reason}; not evaluable"))
        else:
            nd_nontarget += 1
            notes.add(subject, "TR", f"not done, no row (engine reads not assessed): "
                      f"TRSEQ={seqs} {link} at {event} ({reason})")
    counts["TR target not done (row without measurement)"] = len(nd_rows)
    counts["TR non-target/new not done (no row)"] = nd_nontarget
    out = pd.concat([out, pd.DataFrame(nd_rows, columns=out.columns)], ignore_index=True)
    info = lesions.rename(columns={"TULNKID": "lesion_id"})
    out = out.merge(info[["USUBJID", "lesion_id", "site", "kind", "role"]],
                    on=["USUBJID", "lesion_id"], how="left")
    # A non-target or new lesion is assessed, not measured (RECIST 1.1 §4.3.3, §4.3.5): a
    # row of one without an assessment (TR measured it but gave no TUMSTATE) would not be a
    # valid lesions.csv row, so it is reported and left out.
    unassessed = out["role"].isin(["non_target", "new"]) & (out["assessment"].fillna("") == "")
    for r in out[unassessed].itertuples():
        notes.add(r.USUBJID, "TR", f"{r.role} lesion measured without TUMSTATE: {r.source} "
                  f"({r.event_id} {r.lesion_id}) not imported")
    out = out[~unassessed].reset_index(drop=True)
    out["status"] = _DERIVED
    return out


def _response_rows(rs: pd.DataFrame, notes: _Notes) -> pd.DataFrame:
    """responses.csv rows: recorded OVRLRESP with its components in the source."""
    rs = rs[_col(rs, "RSEVAL").str.upper() != mp.COMPUTED_RSEVAL].copy()
    rscat = _col(rs, "RSCAT")
    rs["criteria"] = rscat.map(mp.CRITERIA_FROM_RSCAT)
    # RSCAT is permissible (SDTMIG v3.4 RS): without it the criteria are RECIST 1.1, the
    # default of casekit's engine, and the subject's criteria fact says it was assumed.
    uncategorised = rscat == ""
    rs.loc[uncategorised, "criteria"] = "RECIST1.1"
    if uncategorised.any():
        notes.add("*", "RS", f"{ASSUMED_RECIST}: {int(uncategorised.sum())} record(s)")
    unknown = rs["criteria"].isna()
    for cat, n in rs[unknown].groupby(_col(rs, "RSCAT")[unknown]).size().items():
        notes.add("*", "RS", f"unknown RSCAT: {cat!r} ({n} records) not imported")
    rs = rs[~unknown & rs["event_id"].notna()]
    rs["result"] = _col(rs, "RSSTRESC").where(_col(rs, "RSSTRESC") != "", _col(rs, "RSORRES"))
    rs["testcd"] = rs["RSTESTCD"].str.upper()
    key = ["USUBJID", "event_id", "criteria"]
    comp = rs[rs["testcd"].isin(mp.RS_COMPONENTS)]
    piece = "RSSEQ=" + comp["RSSEQ"] + " " + comp["testcd"] + "=" + comp["result"]
    comp_text = piece.groupby([comp[k] for k in key], sort=False).agg(" | ".join).to_dict()
    overall = rs[rs["testcd"] == "OVRLRESP"]
    # Duplicates: identical ones are kept once, conflicting ones are all dropped (reported).
    dup = overall.duplicated(key, keep=False)
    drop = pd.Series(False, index=overall.index)
    for (subject, event, criteria), group in overall[dup].groupby(key, sort=False):
        seqs = ",".join(group["RSSEQ"])
        same = group["result"].nunique() == 1
        notes.add(subject, "RS", f"{'duplicate' if same else 'conflicting'} records: RSSEQ={seqs} "
                  f"({event} {criteria} OVRLRESP) "
                  f"{'identical; kept once' if same else 'differ; none imported'}")
        drop[group.index[1:] if same else group.index] = True
    overall = overall[~drop]
    category = overall["result"].map(mp.CATEGORY_FROM_RSORRES)
    for r in overall[category.isna()].itertuples():
        notes.add(r.USUBJID, "RS", f"not a response category: RSSEQ={r.RSSEQ} "
                  f"OVRLRESP={r.result!r} ({r.event_id}) not imported")
    overall, category = overall[category.notna()], category[category.notna()]
    components = pd.Series([comp_text.get(k, "") for k in zip(
        overall["USUBJID"], overall["event_id"], overall["criteria"])], index=overall.index,
        dtype=object)
    reason, evaluator = _col(overall, "RSREASND"), _evaluator(overall, "RS")
    source = ("RS RSSEQ=" + overall["RSSEQ"] + " OVRLRESP=" + overall["result"]
              + np.where(_col(overall, "RSCAT") == "", " | no RSCAT: RECIST 1.1 assumed", "")
              + components.where(components == "", " | " + components)
              + reason.where(reason == "", " | NOT DONE: " + reason)
              + evaluator.where(evaluator == "", " | evaluator " + evaluator))
    return pd.DataFrame({"USUBJID": overall["USUBJID"], "event_id": overall["event_id"],
                         "criteria": overall["criteria"], "category": category,
                         "source": source}).reset_index(drop=True)


def _lab_rows(lb: pd.DataFrame, notes: _Notes) -> pd.DataFrame:
    lb = lb[lb["event_id"].notna()].copy()
    lb["test"] = [mp.TEST_FROM_LBTESTCD.get(c, c) for c in lb["LBTESTCD"]]
    value = _col(lb, "LBORRES")
    keep = value.str.fullmatch(r"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
    for r in lb[~keep].itertuples():
        notes.add(r.USUBJID, "LB", f"not a plain number: LBSEQ={r.LBSEQ} LBORRES={r.LBORRES!r} "
                  "not imported")
    lb = lb[keep]
    fits = pd.Series([_lab_fits(t, v, u) for t, v, u in zip(
        lb["test"], _col(lb, "LBORRES"), _col(lb, "LBORRESU"))], index=lb.index, dtype=object)
    for r, why in zip(lb[fits != ""].itertuples(), fits[fits != ""]):
        notes.add(r.USUBJID, "LB", f"{why}: LBSEQ={r.LBSEQ} {r.test} {r.LBORRES} "
                  f"{r.LBORRESU}; not imported")
    lb = lb[fits == ""]
    dup = lb.duplicated(["USUBJID", "event_id", "test"], keep="first")
    for r in lb[dup].itertuples():
        notes.add(r.USUBJID, "LB", f"duplicate test at one event: LBSEQ={r.LBSEQ} ({r.event_id} "
                  f"{r.test}) not imported")
    lb = lb[~dup]
    return pd.DataFrame({
        "USUBJID": lb["USUBJID"], "event_id": lb["event_id"], "test": lb["test"],
        "value": _col(lb, "LBORRES"), "unit": _col(lb, "LBORRESU"), "status": _DERIVED,
        "source": [f"LB LBSEQ={s}" + (f"; {i}" if i else "")
                   for s, i in zip(lb["LBSEQ"], lb["imputed_"])]})


def _lab_fits(test: str, value: str, unit: str) -> str:
    """'' when validate accepts the lab value, else why not: a unit it does not know for
    the test, or a value beyond the test's sanity limit (``schema.LAB_LIMITS``)."""
    number = float(value)
    if not np.isfinite(number):
        return "not a finite number"
    if not units.is_known(test):
        return ""
    try:
        canonical, _ = units.to_canonical(test, number, unit)
    except KeyError:
        return f"unit {unit!r} not known for {test}"
    limit = schema.LAB_LIMITS.get(units.canonical_test(test))
    return "above the sanity limit" if limit is not None and canonical > limit else ""


def _timeline_rows(events: pd.DataFrame, ref: dict[str, str]) -> pd.DataFrame:
    """timeline.csv rows of the assessment events, each placed relative to RFSTDTC."""
    category = np.where(events["domains"].str.contains("TR|TU|RS"), "imaging",
                        np.where(events["domains"].str.contains("LB"), "lab", "systemic"))
    source = []
    for r in events.itertuples():
        origin = f"VISITNUM={r.VISITNUM} VISIT={r.VISIT}"
        if r.from_dy:
            how = "day from --DY (SDTM day 1 = day 0)"
        else:
            how = f"date {r.date} - RFSTDTC {ref.get(r.USUBJID, '')}"
        if r.imputed:
            how += "; date imputed from a partial --DTC"
        source.append(f"{r.domains} {origin}; {how}")
    out = pd.DataFrame({
        "USUBJID": events["USUBJID"], "event_id": events["event_id"],
        "label": [v if v else f"visit {n}" for v, n in zip(events["VISIT"], events["VISITNUM"])],
        "category": category, "anchor": ROOT_EVENT, "offset_days": events["day_"].astype(str),
        "status": np.where(events["imputed"], "assumed", _DERIVED), "source": source,
    })
    return out


def _ex_events(ex: pd.DataFrame) -> pd.DataFrame:
    """EX records as systemic events: one per record."""
    names = [(_slug(v) if v else _slug(t) + f"_day{int(d)}")
             for v, t, d in zip(_col(ex, "VISIT"), _col(ex, "EXTRT"), ex["day_"])]
    return pd.DataFrame({
        "USUBJID": ex["USUBJID"], "event_id": names, "label": _col(ex, "EXTRT"),
        "category": "systemic", "anchor": ROOT_EVENT, "offset_days": ex["day_"].astype(int).astype(str),
        "status": np.where(ex["imputed_"] != "", "assumed", _DERIVED),
        "source": [f"EX EXSEQ={s}" + (f"; {i}" if i else "") for s, i in
                   zip(ex["EXSEQ"], ex["imputed_"])]})


def _unique_event_ids(timeline: pd.DataFrame) -> pd.DataFrame:
    """Every event id once per subject (timeline.csv's rule): a later row whose id is
    taken (two EX records at one visit, or an EX visit named as an imaging visit) gets
    ``_2``, ``_3``, ... in order; the first keeps its id, so assessments still point to it."""
    again = timeline.duplicated(["USUBJID", "event_id"], keep="first")
    if again.any():
        n = timeline[again].groupby(["USUBJID", "event_id"]).cumcount() + 2
        timeline = timeline.copy()
        timeline.loc[again, "event_id"] = timeline.loc[again, "event_id"] + "_" + n.astype(str)
    return timeline


def _write_rows(owned: OwnedFolder, path: Path, header: list[str], rows) -> None:
    """A small CSV written as pandas' ``to_csv`` would (minimal quoting, '\\n'), staged in
    ``owned``; one table per subject is too small for a DataFrame to pay off."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    owned.write_bytes(path, text.getvalue().encode("utf-8"))


def _title(studyid: str, usubjid: str) -> str:
    template = _KNOWN_STUDIES.get(studyid, "SDTM subject {usubjid} (study {studyid})")
    return template.format(usubjid=usubjid, studyid=studyid)


def _facts(dm_row: pd.Series, evaluator: str, evaluator_id: str, criteria: list[str]
           ) -> pd.DataFrame:
    usubjid, studyid = dm_row["USUBJID"], str(dm_row.get("STUDYID", "") or "")
    rows = [("title", _title(studyid, usubjid), "", _DERIVED, f"DM USUBJID={usubjid} STUDYID={studyid}"),
            ("usubjid", usubjid, "", _DERIVED, "DM USUBJID"),
            ("studyid", studyid, "", _DERIVED, "DM STUDYID")]
    age, ageu = str(dm_row.get("AGE", "") or ""), str(dm_row.get("AGEU", "") or "")
    if age and ageu.upper() in ("YEARS", ""):
        rows.append(("age_years", _number_text(float(age)), "years", _DERIVED,
                     f"DM AGE={age} AGEU={ageu}"))
    sex = mp.SEX_FROM_DM.get(str(dm_row.get("SEX", "") or "").upper())
    if sex:
        rows.append(("sex", sex, "", _DERIVED, f"DM SEX={dm_row['SEX']}"))
    rf = str(dm_row.get("RFSTDTC", "") or "")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", rf[:10]):  # a partial date dates no day 0
        rows.append(("reference_start_date", rf[:10], "", _DERIVED,
                     "DM RFSTDTC: day 0 of the timeline"))
    rows.append(("evaluator", evaluator, "", _DERIVED, "TR TREVAL of the imported records"))
    if evaluator_id:
        rows.append(("evaluator_id", evaluator_id, "", _DERIVED,
                     "TR TREVALID of the imported records"))
    rows.append(("criteria", ";".join(criteria), "", _DERIVED,
                 "RS RSCAT of the subject's recorded responses (RECIST 1.1 always)"))
    return pd.DataFrame(rows, columns=schema.columns("facts.csv"))


def _vital_rows(dm: pd.DataFrame, ds: pd.DataFrame | None, imputation: str,
                notes: _Notes) -> dict[str, list[list[str]]]:
    """timeline.csv rows of each subject's vital status, placed relative to RFSTDTC: a
    ``death`` event from DM ``DTHDTC`` (else a DS record with ``DSDECOD`` DEATH and its
    ``DSSTDTC``), else a ``last_known_alive`` event at DM ``RFPENDTC``, the end of the
    subject's participation (SDTMIG DM: the last date of contact). Partial dates are
    completed as the other records' are."""
    ds_death = {}
    if ds is not None and not ds.empty:
        dead = ds[_col(ds, "DSDECOD").str.upper() == "DEATH"]
        ds_death = {u: (d, q) for u, d, q in zip(dead["USUBJID"], _col(dead, "DSSTDTC"),
                                                 _col(dead, "DSSEQ"))}
    rows: dict[str, list[list[str]]] = {}
    def given(value) -> str:  # a missing value (NaN, None) is empty, never "nan"
        return "" if value is None or pd.isna(value) else str(value)

    for r in dm.itertuples(index=False):
        subject, ref = r.USUBJID, given(r.RFSTDTC)[:10]
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", ref):
            continue
        dth, flag = given(getattr(r, "DTHDTC", "")), given(getattr(r, "DTHFL", ""))
        what, where = (dth, f"DM DTHDTC={dth}" + (f" DTHFL={flag}" if flag else "")) if dth else (
            (ds_death[subject][0], f"DS DSSEQ={ds_death[subject][1]} DSDECOD=DEATH "
                                   f"DSSTDTC={ds_death[subject][0]}") if subject in ds_death
            else ("", ""))
        if not what and flag.upper() == "Y":
            notes.add(subject, "DM", "death flagged (DTHFL=Y) without a date: not placed on the "
                      "timeline; OS and PFS cannot count it")
        kind, label = "death", "Death"
        if not what:
            what = given(getattr(r, "RFPENDTC", ""))
            where = f"DM RFPENDTC={what}: alive at the end of participation"
            kind, label = "last_known_alive", "End of participation: last known alive"
        text = what[:10]
        if not text:
            continue
        status = _DERIVED
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            if not re.fullmatch(r"\d{4}(-\d{2})?", text):
                notes.add(subject, "DM", f"{where}: not an ISO 8601 date; not placed")
                continue
            text, status = impute_date(text, imputation), "assumed"
            where += f"; partial: imputed to {text} ({imputation} day of the period)"
        day = (pd.Timestamp(text) - pd.Timestamp(ref)).days
        event = "dm_death" if kind == "death" else "dm_last_alive"
        rows[subject] = [[event, label, kind, ROOT_EVENT, str(day), status,
                          f"{where}; day = date - RFSTDTC {ref}"]]
    return rows


def import_sdtm(sdtm_dir, out_dir, evaluator: str = "INVESTIGATOR", subjects=None,
                echo: Callable[[str], None] = print,
                date_imputation: str = "first") -> ImportSummary:
    """Write one case folder per subject of ``sdtm_dir`` under ``out_dir``.

    ``evaluator`` selects the records of one evaluator (matched against --EVALID, else
    --EVAL, case-insensitively: ``INVESTIGATOR``, ``RADIOLOGIST 1``, ...). ``subjects``
    limits the import to those USUBJIDs. ``date_imputation`` completes partial dates to the
    first (default) or last day of their period (:data:`DATE_IMPUTATIONS`). Every treated
    DM subject (with an RFSTDTC) gets a case folder, also one without tumour data (no
    lesion rows: its best overall response is missing, its PFS censored at the start or
    ended by death), and its vital status (:func:`_vital_rows`). Raises :class:`SdtmInputError` for input it cannot
    read, and :class:`casekit.owned.OutFolderRefused` for an ``out_dir`` it must not write
    to (checked before anything is read or written; see :mod:`casekit.owned`). Rules:
    module docstring; mapping: :mod:`casekit.interop.mapping`.
    """
    if date_imputation not in DATE_IMPUTATIONS:
        raise SdtmInputError(f"date imputation must be one of {', '.join(DATE_IMPUTATIONS)}, "
                             f"not {date_imputation!r}")
    owned = OwnedFolder.open(out_dir, "import-sdtm", [(sdtm_dir, "the SDTM folder")], echo=echo)
    summary = ImportSummary()
    notes = _Notes(summary)
    read_notes: list[tuple[str, str]] = []
    data = read_sdtm(sdtm_dir, notes=read_notes)
    for domain, what in read_notes:
        notes.add("*", domain, what)
    data = checked_records(data, notes)
    dm = data["DM"].drop_duplicates("USUBJID")
    wanted = None if not subjects else list(dict.fromkeys(subjects))
    tu = _for_evaluator(data["TU"], "TU", evaluator)
    tr = _for_evaluator(data["TR"], "TR", evaluator)
    rs = _for_evaluator(data["RS"], "RS", evaluator) if "RS" in data else None
    lb, ex, supptu, ds = data.get("LB"), data.get("EX"), data.get("SUPPTU"), data.get("DS")
    if wanted is not None:
        keep = set(wanted)
        tu, tr, dm = tu[tu["USUBJID"].isin(keep)], tr[tr["USUBJID"].isin(keep)], dm[dm["USUBJID"].isin(keep)]
        rs = rs[rs["USUBJID"].isin(keep)] if rs is not None else None
        lb = lb[lb["USUBJID"].isin(keep)] if lb is not None else None
        ex = ex[ex["USUBJID"].isin(keep)] if ex is not None else None
    summary.rows = {"DM records": len(dm), "TU records": len(tu), "TR records": len(tr),
                    "RS records": 0 if rs is None else len(rs),
                    "LB records": 0 if lb is None else len(lb),
                    "EX records": 0 if ex is None else len(ex)}
    ref = dict(zip(dm["USUBJID"], dm["RFSTDTC"].fillna("")))
    in_dm = set(dm["USUBJID"])
    # Treated subjects without tumour data stay in the study's denominators - unless the
    # evaluator has no tumour records at all (then nothing of the study is theirs to import).
    treated = (set(dm.loc[dm["RFSTDTC"].fillna("") != "", "USUBJID"])
               if len(tu) or len(tr) else set())
    candidates = wanted if wanted is not None else sorted(
        set(tu["USUBJID"]) | set(tr["USUBJID"]) | treated)
    vital_by = _vital_rows(dm, ds, date_imputation, notes)
    if not candidates:
        notes.add("*", "TU", f"no TU or TR records of evaluator {evaluator}: nothing imported")
    for subject in candidates:
        if subject not in in_dm:
            summary.skipped[subject] = "not in DM: no reference start or demographics"
    tr = tr[tr["USUBJID"].isin(in_dm)]
    tu = tu[tu["USUBJID"].isin(in_dm)]

    def timed(frame, prefix, domain):
        if frame is None or frame.empty:
            return None
        frame = _dates_and_days(frame, prefix, frame["USUBJID"].map(ref), date_imputation)
        frame = _within_range(frame, domain, notes)
        unplaced = frame["day_"].isna()
        for subject, n in frame[unplaced].groupby("USUBJID").size().items():
            notes.add(subject, domain, f"no date or study day: {n} record(s) not placed on the "
                      "timeline, not imported")
        return frame[~unplaced].assign(domain_=domain)

    tr, rs_t, lb_t = timed(tr, "TR", "TR"), timed(rs, "RS", "RS"), timed(lb, "LB", "LB")
    ex_t = timed(ex, "EXST", "EX") if ex is not None and not ex.empty else None
    if ex_t is not None:
        ex_t = ex_t.assign(VISITNUM=_col(ex_t, "VISITNUM"), VISIT=_col(ex_t, "VISIT"))
    if tr is None:
        tr = data["TR"].iloc[0:0].assign(day_=pd.Series(dtype=float), date_="", imputed_="",
                                          from_dy_=False, domain_="TR")
    events = _events([f for f in (tr, rs_t, lb_t) if f is not None])
    for subject, group in events.groupby("USUBJID"):
        multi = group[group["event_id"].str.contains(r"_day-?\d+$")]
        for r in multi.itertuples():
            notes.add(subject, "TR", f"one visit on several dates: VISITNUM={r.VISITNUM} on "
                      f"day {r.day_} kept as event {r.event_id}")
    tr = tr.assign(event_id=_event_key(tr, events))
    if rs_t is not None:
        rs_t = rs_t.assign(event_id=_event_key(rs_t, events))
    if lb_t is not None:
        lb_t = lb_t.assign(event_id=_event_key(lb_t, events))

    lesion_info = _tu_lesions(tu, supptu, notes)
    counts: dict[str, int] = {}
    lesions = _tr_rows(tr, lesion_info, notes, counts)
    responses = _response_rows(rs_t, notes) if rs_t is not None else None
    labs = _lab_rows(lb_t, notes) if lb_t is not None else None
    timeline = _timeline_rows(events, ref)
    if ex_t is not None:
        timeline = _unique_event_ids(pd.concat([timeline, _ex_events(ex_t)], ignore_index=True))
    evalids = dict(zip(tr["USUBJID"], _col(tr, "TREVALID")))
    evals = dict(zip(tr["USUBJID"], _col(tr, "TREVAL")))

    # Split every table once into per-subject lists of rows in the file's column order.
    def by(frame, file):
        if frame is None or frame.empty:
            return {}
        cells = frame[schema.columns(file)].astype(object).fillna("").to_numpy()
        return {subject: cells[idx] for subject, idx in frame.groupby("USUBJID", sort=False).indices.items()}

    lesions_by, responses_by = by(lesions, "lesions.csv"), by(responses, "responses.csv")
    labs_by, timeline_by = by(labs, "labs.csv"), by(timeline, "timeline.csv")
    assumed_criteria = set() if responses is None else set(responses.loc[
        responses["source"].str.contains("no RSCAT", regex=False), "USUBJID"])
    criteria_by = ({} if responses is None else
                   responses.groupby("USUBJID")["criteria"].agg(set).to_dict())
    baseline_events = events.sort_values("day_").groupby("USUBJID")["event_id"].first()
    base_ok = set(lesions.loc[lesions["role"].isin(["target", "non_target"])
                              & (lesions["event_id"].to_numpy() == lesions["USUBJID"].map(
                                  baseline_events).to_numpy()), "USUBJID"])
    dm_rows = dm.fillna("").set_index("USUBJID", drop=False)  # missing: "", never "nan"
    # The baseline is the visit at which TU identified the target and non-target lesions.
    ident = tu[_col(tu, "TUORRES").str.upper().isin(["TARGET", "NON-TARGET"])]
    identified_at = {} if "VISITNUM" not in tu.columns else (
        ident.assign(v=pd.to_numeric(ident["VISITNUM"], errors="coerce"))
        .groupby("USUBJID")["v"].min().dropna().to_dict())
    tr_visits = (tr.assign(v=pd.to_numeric(tr["VISITNUM"], errors="coerce"))
                 .groupby("USUBJID")["v"].agg(set).to_dict())
    written_names: dict[str, str] = {}
    out_dir = Path(out_dir)
    totals = {"facts.csv": 0, "timeline.csv": 0, "lesions.csv": 0, "labs.csv": 0,
              "responses.csv": 0}
    for subject in candidates:
        if subject in summary.skipped:
            continue
        subject_lesions = lesions_by.get(subject)
        no_tumour_data = subject_lesions is None or not len(subject_lesions)
        if no_tumour_data and subject not in treated:
            summary.skipped[subject] = f"no TU/TR records for evaluator {evaluator}"
            continue
        if no_tumour_data:
            notes.add(subject, "TR", f"no TU/TR records for evaluator {evaluator}: imported "
                      "without lesions (treated: counted, with no tumour assessment)")
            subject_lesions = []
        visit = identified_at.get(subject)
        if visit is not None and visit not in tr_visits.get(subject, set()):
            summary.skipped[subject] = (f"no baseline: no TR records at VISITNUM={visit}, where "
                                        "TU identified the lesions")
            continue
        if subject not in base_ok and not no_tumour_data:
            summary.skipped[subject] = (f"no baseline: no target or non-target lesion assessed at "
                                        f"the first visit ({baseline_events.get(subject)})")
            continue
        name = safe_name(subject)
        if name in written_names and written_names[name] != subject:
            name = f"{name}_{len(written_names)}"
            notes.add(subject, "DM", f"folder name clash: written as {name}")
        written_names[name] = subject
        folder = out_dir / name
        said = criteria_by.get(subject, set())
        criteria = [c for c in schema.RESPONSE_CRITERIA if c in said | {"RECIST1.1"}]
        facts = _facts(dm_rows.loc[subject], evals.get(subject, evaluator),
                       evalids.get(subject, ""), criteria)
        if subject in assumed_criteria:
            facts.loc[facts["key"] == "criteria", ["status", "source"]] = [
                "assumed", ASSUMED_RECIST]
        rf = ref.get(subject, "")
        root = [ROOT_EVENT, "Reference start: first dose of study treatment (DM RFSTDTC)",
                "systemic", "", "0", _DERIVED,
                f"DM RFSTDTC={rf}: day 0" if rf else "SDTM study day 1 (--DY=1) is day 0"]
        tables = {
            "facts.csv": facts.to_numpy(),
            "timeline.csv": [root, *timeline_by.get(subject, []), *vital_by.get(subject, [])],
            "lesions.csv": subject_lesions,
            "labs.csv": labs_by.get(subject, []),
        }
        if subject in responses_by:
            tables["responses.csv"] = responses_by[subject]
        for file, rows in tables.items():
            _write_rows(owned, folder / file, schema.columns(file), rows)
            totals[file] += len(rows)
        summary.imported.append(folder)
    summary.rows.update({f"written {k}": v for k, v in totals.items()})
    summary.rows.update(counts)
    # A subject left out is a line of the log too, with the reason (never only on screen).
    skipped = [(subject, "*", f"subject not imported: {reason}")
               for subject, reason in summary.skipped.items()]
    if summary.notes or skipped:
        log = pd.DataFrame(summary.notes + skipped, columns=["subject", "domain", "what"])
        owned.write_table(log, out_dir / "import_log.csv")
    owned.commit()
    for line in summary.lines():
        echo(line)
    return summary


# ------------------------------------------------------------------ export

_VISITNUM = re.compile(r"\bVISITNUM=([0-9]+(?:\.[0-9]+)?)")
_RSSEQ = re.compile(r"^RS RSSEQ=([0-9]+)")
_COMPONENT = re.compile(r"RSSEQ=([0-9]+) ([A-Z]+)=([^|]*?)\s*(?:\||$)")
_NOT_DONE = re.compile(r"NOT DONE: ([^;|]+)")


def _study_day(day: int) -> int:
    """SDTM study day: day 1 is the reference start, and there is no day 0."""
    return day + 1 if day >= 0 else day


def _visits(case, ref: str) -> pd.DataFrame:
    """VISITNUM, VISIT, --DTC and --DY of every timeline event."""
    tl = case.timeline.reset_index(drop=True)
    parsed = tl["source"].str.extract(_VISITNUM)[0]
    order = pd.Series(np.arange(1, len(tl) + 1), index=tl.index).astype(str)
    visitnum = parsed.fillna(order)
    visit = [label if _slug(label) in (event, re.sub(rf"_day{day}$", "", event)) and
             (_slug(label) == event or event.endswith(f"_day{day}")) else event
             for label, event, day in zip(tl["label"], tl["event_id"], tl["day"])]
    if ref:
        dtc = (pd.to_datetime(ref) + pd.to_timedelta(tl["day"], unit="D")).dt.strftime("%Y-%m-%d")
    else:
        dtc = pd.Series("", index=tl.index)
    return pd.DataFrame({"event_id": tl["event_id"], "VISITNUM": visitnum, "VISIT": visit,
                         "DTC": dtc, "DY": [_study_day(int(d)) for d in tl["day"]],
                         "label": tl["label"], "category": tl["category"]}).set_index("event_id")


def _with_visit(rows: list[dict], visits: pd.DataFrame, prefix: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    v = visits.loc[frame.pop("event_id")].reset_index(drop=True)
    frame["VISITNUM"], frame["VISIT"] = v["VISITNUM"], v["VISIT"]
    frame[f"{prefix}DTC"], frame[f"{prefix}DY"] = v["DTC"], v["DY"]
    return frame


def export_case(case_dir) -> dict[str, pd.DataFrame]:
    """A case folder as SDTM domains (DM, TU, SUPPTU, TR, RS, LB, EX) and the define table.

    Mapping: :mod:`casekit.interop.mapping`. Recorded calls keep the case's evaluator;
    calls computed with :func:`casekit.rules.response.assess` have RSEVAL
    ``COMPUTER ALGORITHM`` / RSEVALID ``CASEKIT``. Raises ``casekit.case.CaseError`` for an
    invalid case.
    """
    from casekit.case import load_case
    from casekit.rules import response
    from casekit.rules.criteria import applicable_criteria

    case = load_case(case_dir)
    usubjid = case.fact("usubjid", Path(case_dir).name)
    studyid = case.fact("studyid", "CASEKIT")
    ref = case.fact("reference_start_date", "")
    evaluator = case.fact("evaluator", "INVESTIGATOR")
    evaluator_id = case.fact("evaluator_id", "")
    ident = {"STUDYID": studyid, "DOMAIN": "", "USUBJID": usubjid}
    visits = _visits(case, ref)
    age = case.fact("age_years", "")
    dm = pd.DataFrame([{**ident, "DOMAIN": "DM", "SUBJID": usubjid, "RFSTDTC": ref, "AGE": age,
                        "AGEU": "YEARS" if age else "",
                        "SEX": mp.DM_FROM_SEX.get(case.fact("sex", ""), "U")}])

    lesions = case.lesions.reset_index(drop=True)
    tu_rows, supp_rows, tr_rows = [], [], []
    firsts = lesions.drop_duplicates("lesion_id")
    for seq, r in enumerate(firsts.itertuples(index=False), start=1):
        tu_rows.append({**ident, "DOMAIN": "TU", "TUSEQ": seq, "TULNKID": r.lesion_id,
                        "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification",
                        "TUORRES": mp.TUORRES_FROM_ROLE[r.role],
                        "TUSTRESC": mp.TUORRES_FROM_ROLE[r.role], "TULOC": r.site,
                        "TUEVAL": evaluator, "TUEVALID": evaluator_id, "event_id": r.event_id})
        inferred = "lymph_node" if "LYMPH NODE" in r.site.upper() else "tumour"
        if r.kind != inferred:
            supp_rows.append({"STUDYID": studyid, "RDOMAIN": "TU", "USUBJID": usubjid,
                              "IDVAR": "TUSEQ", "IDVARVAL": seq, "QNAM": "TUKIND",
                              "QLABEL": "Lesion Kind", "QVAL": r.kind, "QORIG": "Assigned"})

    def tr(r, testcd, result="", number=None, not_done="", role=None):
        tr_rows.append({**ident, "DOMAIN": "TR", "TRGRPID": mp.TUORRES_FROM_ROLE[role or r.role],
                        "TRLNKID": r.lesion_id, "TRTESTCD": testcd,
                        "TRTEST": mp.TEST_NAMES[testcd], "TRORRES": result,
                        "TRORRESU": "mm" if number is not None else "",
                        "TRSTRESC": result,
                        "TRSTRESN": "" if number is None else result,
                        "TRSTRESU": "mm" if number is not None else "",
                        "TRSTAT": "NOT DONE" if not_done is not None and not_done != "" else "",
                        "TRREASND": not_done or "", "TREVAL": evaluator, "TREVALID": evaluator_id,
                        "event_id": r.event_id})

    assessed_at: dict[str, set] = {}
    for r in lesions.itertuples(index=False):
        assessed_at.setdefault(r.event_id, set()).add(r.lesion_id)
        mm = None if np.isnan(r.size_cm) else _number_text(r.size_cm * 10)
        if r.measure:
            tr(r, mp.TESTCD_FROM_MEASURE[r.measure], mm, number=True)
        if r.assessment:
            tr(r, "TUMSTATE", mp.TUMSTATE_FROM_ASSESSMENT[r.role][r.assessment])
        if not r.measure and not r.assessment:
            reason = _NOT_DONE.search(r.source)
            why = reason.group(1).strip() if reason else "NOT MEASURED"
            tr(r, "LDIAM", not_done=why)
            if r.kind == "lymph_node":  # its short axis was not measured either
                tr(r, "LPERP", not_done=why)
    # DIAMETER (the RECIST diameter of each target) and SUMDIAM per event.
    targets = lesions[lesions["role"] == "target"]
    for event_id, group in targets.groupby("event_id", sort=False):
        values = []
        for lesion_id, rows in group.groupby("lesion_id", sort=False):
            first = next(rows.itertuples(index=False))
            wanted = "short_axis" if first.kind == "lymph_node" else "longest"
            hit = rows[rows["measure"] == wanted]
            if len(hit):
                mm = _number_text(hit["size_cm"].iloc[0] * 10)
                tr(first, "DIAMETER", mm, number=True)
                values.append(hit["size_cm"].iloc[0] * 10)
            elif (rows["measure"] == "").all():
                tr(first, "DIAMETER", not_done="NOT MEASURED")
                values.append(np.nan)
        total = float(np.sum(values)) if not np.isnan(values).any() else None
        event_level = SimpleNamespace(event_id=event_id, lesion_id="", role="target")
        tr(event_level, "SUMDIAM", "" if total is None else _number_text(total),
           number=None if total is None else True, not_done="" if total is not None else "NOT MEASURED")
    # A non-target identified earlier with no row at an assessment event: not done.
    first_day = dict(zip(firsts["lesion_id"], firsts["day"]))
    event_days = lesions.drop_duplicates("event_id").set_index("event_id")["day"]
    for lesion in firsts[firsts["role"] == "non_target"].itertuples(index=False):
        for event_id, day in event_days.items():
            if day > first_day[lesion.lesion_id] and lesion.lesion_id not in assessed_at[event_id]:
                tr(lesion._replace(event_id=event_id), "TUMSTATE", not_done="NOT ASSESSED")

    rs_rows = []
    for r in case.responses.itertuples(index=False):
        seq = _RSSEQ.search(r.source)
        reason = _NOT_DONE.search(r.source)
        base = {**ident, "DOMAIN": "RS", "RSCAT": mp.RSCAT_FROM_CRITERIA[r.criteria],
                "RSEVAL": evaluator, "RSEVALID": evaluator_id, "event_id": r.event_id}
        word = mp.RSORRES_FROM_CATEGORY[r.category]
        rs_rows.append({**base, "RSSEQ": int(seq.group(1)) if seq else None, "RSTESTCD": "OVRLRESP",
                        "RSORRES": word, "RSSTAT": "NOT DONE" if reason else "",
                        "RSREASND": reason.group(1).strip() if reason else ""})
        for cseq, testcd, value in _COMPONENT.findall(r.source.split(" | ", 1)[-1]
                                                      if " | " in r.source else ""):
            rs_rows.append({**base, "RSSEQ": int(cseq), "RSTESTCD": testcd, "RSORRES": value,
                            "RSSTAT": "", "RSREASND": ""})
    for criteria in applicable_criteria(case):
        try:
            assessed = response.assess(case.lesions, criteria)
        except ValueError:
            continue  # an engine without this criteria yet (iRECIST before it lands)
        base = {**ident, "DOMAIN": "RS", "RSCAT": mp.RSCAT_FROM_CRITERIA[criteria],
                "RSEVAL": mp.COMPUTED_RSEVAL, "RSEVALID": mp.COMPUTED_RSEVALID, "RSSTAT": "",
                "RSREASND": "", "RSSEQ": None}
        for a in assessed[assessed["overall_response"].astype(str) != ""].itertuples(index=False):
            calls = [("OVRLRESP", a.overall_response), ("TRGRESP", a.target_response),
                     ("NTRGRESP", a.non_target_response),
                     ("NEWLPROG", {"yes": "UNEQUIVOCAL", "suspected": "EQUIVOCAL"}.get(
                         a.new_lesions, ""))]
            for testcd, value in calls:
                if value and value != "NA":
                    rs_rows.append({**base, "RSTESTCD": testcd, "event_id": a.event_id,
                                    "RSORRES": mp.RSORRES_FROM_CATEGORY.get(value, value)})
    rs = _with_visit(rs_rows, visits, "RS")
    if not rs.empty:
        rs["RSTEST"] = rs["RSTESTCD"].map(mp.RS_TEST_NAMES)
        rs["RSSTRESC"] = rs["RSORRES"]
        used = set(rs["RSSEQ"].dropna().astype(int))
        nxt = iter(n for n in range(1, len(rs) + len(used) + 2) if n not in used)
        rs["RSSEQ"] = [int(s) if pd.notna(s) else next(nxt) for s in rs["RSSEQ"]]
        rs = rs[["STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST", "RSCAT",
                 "RSORRES", "RSSTRESC", "RSSTAT", "RSREASND", "RSEVAL", "RSEVALID", "VISITNUM",
                 "VISIT", "RSDTC", "RSDY"]]

    lb_rows = []
    for seq, r in enumerate(case.labs.itertuples(index=False), start=1):
        code, name, _ = mp.LB_TESTS.get(r.test, (r.test, r.test, False))
        lb_rows.append({**ident, "DOMAIN": "LB", "LBSEQ": seq, "LBTESTCD": code, "LBTEST": name,
                        "LBORRES": r.value_as_reported, "LBORRESU": r.unit_as_reported,
                        "LBSTRESN": _number_text(r.value), "LBSTRESU": r.unit,
                        "event_id": r.event_id})
    ex_rows = []
    systemic = case.timeline[(case.timeline["category"] == "systemic")
                             & (case.timeline["event_id"] != ROOT_EVENT)]
    for seq, r in enumerate(systemic.itertuples(index=False), start=1):
        ex_rows.append({**ident, "DOMAIN": "EX", "EXSEQ": seq, "EXTRT": r.label,
                        "event_id": r.event_id})

    tu = _with_visit(tu_rows, visits, "TU")
    trf = _with_visit(tr_rows, visits, "TR")
    if not trf.empty:
        trf.insert(3, "TRSEQ", np.arange(1, len(trf) + 1))
    ex = _with_visit(ex_rows, visits, "EX")
    if not ex.empty:
        ex = ex.rename(columns={"EXDTC": "EXSTDTC", "EXDY": "EXSTDY"})
    return {"dm": dm, "tu": tu, "supptu": pd.DataFrame(supp_rows), "tr": trf, "rs": rs,
            "lb": _with_visit(lb_rows, visits, "LB"), "ex": ex, "define": mp.define_table()}


def export_sdtm(case_dir, out_dir, fmt: str = "csv") -> list[Path]:
    """Write :func:`export_case` in ``out_dir`` as ``<domain>.csv``, ``.xpt`` (SAS XPORT v5)
    or ``.json`` (Dataset-JSON 1.1) files (empty domains left out), with ``define.xml``
    (Define-XML 2.1) and ``define.html``; a CSV export also gets ``define.csv`` and CDISC
    CORE's ``_datasets.csv`` / ``_variables.csv`` (:mod:`casekit.interop.sdtm_write`).
    Returns the paths written. ``out_dir`` follows :mod:`casekit.owned` (a refused one
    raises OutFolderRefused before anything is written)."""
    from casekit.interop import sdtm_write

    if fmt not in sdtm_write.FORMATS:
        raise sdtm_write.SdtmWriteError(
            f"--format {fmt}: expected one of {', '.join(sdtm_write.FORMATS)}")
    owned = OwnedFolder.open(out_dir, "export-sdtm", [(case_dir, "the case folder")])
    frames = export_case(case_dir)
    define = frames.pop("define")
    datasets = {name.upper(): frame for name, frame in frames.items() if not frame.empty}
    study = str(datasets["DM"]["STUDYID"].iloc[0])
    when = sdtm_write.creation_time(sorted(Path(case_dir).glob("*.csv")))
    for name, data in sdtm_write.study_files(datasets, fmt, when, study, define).items():
        owned.write_bytes(Path(out_dir) / name, data)
    return owned.commit()
