"""ADaM out: ADRS, ADTTE and ADTR from the per-case derivation (``casekit export-adam``).

The datasets are a reshaping of :func:`casekit.derive.derive_case`'s tables, never a
second derivation: OVR is the derived time-point response, BOR/CBOR the derived best
overall response, PFS/OS/RSD the derived endpoints, ADTR the derived target sums. Their
shape follows CDISC ADaM (ADaMIG 1.3 BDS; ADaM Basic Data Structure for Time-to-Event
Analyses 1.0) as pharmaverse admiralonco's templates write it (``inst/templates/
ad_adrs.R``, ``ad_adtte.R``, ``ad_adtr.R``):

- ``adrs.csv``: per subject and criteria (``PARCAT3``), PARAMCD ``OVR`` (one record per
  assessment, ``AVISIT``, ``ADT``, ``AVALC``, ``ANL01FL`` = Y, ``ANL02FL`` = Y up to and
  including the first PD), ``BOR`` and ``CBOR`` (``MISSING`` without a post-baseline
  assessment, admiralonco's ``no_data_missing``), ``RSP`` and ``CB`` (Y/N), ``PD`` (Y/N,
  dated at the first PD), ``DEATH`` (Y/N), ``LSTA`` (the last assessment). ``AVAL`` of a
  response is admiralonco's ``aval_resp``: CR 1, PR 2, SD 3, NON-CR/NON-PD 4, PD 5, NE 6,
  MISSING 7; of Y/N 1/0.
- ``adtte.csv``: ``PFS``, ``OS`` and ``RSD`` (duration of response), with ``STARTDT``,
  ``ADT``, ``AVAL = ADT - STARTDT + 1`` (admiral's ``derive_vars_duration``), ``CNSR``
  (0 event, 1 censored), ``EVNTDESC``, ``CNSDTDSC``, ``SRCDOM``/``SRCVAR``/``SRCSEQ``. PFS
  and RSD of criteria other than RECIST 1.1 carry the criteria in ``PARCAT1`` and a
  PARAMCD suffix (``PFSM``/``RSDM`` mRECIST, ``PFSI``/``RSDI`` iRECIST).
- ``adtr.csv``: the target sum (``SDIAM``, mm) per assessment with ``BASE``, ``CHG``,
  ``PCHG``, ``NADIR`` (smallest earlier sum, baseline included) and ``PCHGNAD``.
- ``variables.csv``: every variable of the three datasets with its label.

Dates: a case's day 0 is its fact ``reference_start_date`` (``import-sdtm`` writes DM
RFSTDTC); without it the ``*DT`` variables are empty and ``ADY`` / ``AVAL`` still hold.
``ADY`` follows the SDTM study-day convention (no day 0: day 0 is study day 1).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from casekit.derive import Derived, derive_case, resolve_options
from casekit.interop.mapping import RSCAT_FROM_CRITERIA

#: CDISC submission values of the response categories (SDTM RS / ADaM AVALC).
AVALC = {"CR": "CR", "PR": "PR", "SD": "SD", "non-CR/non-PD": "NON-CR/NON-PD", "PD": "PD",
         "NE": "NE", "iCR": "iCR", "iPR": "iPR", "iSD": "iSD", "iUPD": "iUPD", "iCPD": "iCPD",
         "non-iCR/non-iUPD": "NON-iCR/NON-iUPD", "MISSING": "MISSING"}
#: admiralonco ``aval_resp()``.
AVAL_RESP = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6, "MISSING": 7,
             "iCR": 1, "iPR": 2, "iSD": 3, "NON-iCR/NON-iUPD": 4, "iUPD": 5, "iCPD": 5}
_SUFFIX = {"RECIST1.1": "", "mRECIST": "M", "iRECIST": "I"}
_RESPONSES = {"CR", "PR", "iCR", "iPR"}
_BENEFIT = {"CR", "PR", "SD", "non-CR/non-PD", "iCR", "iPR", "iSD", "non-iCR/non-iUPD"}
_PROGRESSION = {"PD", "iCPD"}

ADRS_COLUMNS = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "PARCAT1", "PARCAT2", "PARCAT3",
                "AVISIT", "ADT", "ADY", "AVALC", "AVAL", "ANL01FL", "ANL02FL", "ASEQ"]
ADTTE_COLUMNS = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "PARCAT1", "STARTDT", "ADT",
                 "ADY", "AVAL", "CNSR", "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ",
                 "ASEQ"]
ADTR_COLUMNS = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "PARCAT3", "AVISIT", "ADT", "ADY",
                "AVAL", "BASE", "CHG", "PCHG", "NADIR", "PCHGNAD", "ABLFL", "ANL01FL", "ASEQ"]
VARIABLES = {
    "STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier",
    "PARAMCD": "Parameter Code", "PARAM": "Parameter", "PARCAT1": "Parameter Category 1",
    "PARCAT2": "Parameter Category 2", "PARCAT3": "Parameter Category 3",
    "AVISIT": "Analysis Visit", "ADT": "Analysis Date", "ADY": "Analysis Relative Day",
    "AVALC": "Analysis Value (C)", "AVAL": "Analysis Value", "ANL01FL": "Analysis Flag 01",
    "ANL02FL": "Analysis Flag 02 (up to and including the first PD)",
    "ASEQ": "Analysis Sequence Number", "STARTDT": "Time-to-Event Origin Date",
    "CNSR": "Censor (0 event, 1 censored)", "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description", "SRCDOM": "Source Data", "SRCVAR": "Source Variable",
    "SRCSEQ": "Source Sequence Number", "BASE": "Baseline Value", "CHG": "Change from Baseline",
    "PCHG": "Percent Change from Baseline", "NADIR": "Smallest Earlier Value (Nadir)",
    "PCHGNAD": "Percent Change from Nadir", "ABLFL": "Baseline Record Flag",
}
TABLES = {"adrs": ADRS_COLUMNS, "adtte": ADTTE_COLUMNS, "adtr": ADTR_COLUMNS}


class _Dates:
    """Case days as ISO dates from the case's reference start date ('' without one)."""

    def __init__(self, reference: str | None):
        self.origin = pd.Timestamp(reference) if reference else None

    def __call__(self, day) -> str:
        if self.origin is None or day is None or pd.isna(day):
            return ""
        return (self.origin + pd.Timedelta(days=int(day))).strftime("%Y-%m-%d")


def study_day(day) -> object:
    """SDTM/ADaM relative day of a case day (day 0 -> 1; no day 0)."""
    if day is None or pd.isna(day):
        return pd.NA
    return int(day) + 1 if int(day) >= 0 else int(day)


def _ids(case) -> tuple[str, str]:
    return case.fact("studyid", ""), case.fact("usubjid", case.path.name)


def _adrs(case, derived: Derived, date: _Dates, evaluator: str) -> list[dict]:
    studyid, usubjid = _ids(case)
    labels = dict(zip(case.timeline["event_id"], case.timeline["label"]))
    days = dict(zip(case.timeline["event_id"], case.timeline["day"]))
    death = case.vital_event("death")
    rows: list[dict] = []

    def add(paramcd, param, criteria, avalc, day=None, visit="", anl02="", aval=None):
        rows.append(dict(STUDYID=studyid, USUBJID=usubjid, PARAMCD=paramcd,
                         PARAM=f"{param} by {evaluator}" if paramcd != "DEATH" else param,
                         PARCAT1="Reference Event" if paramcd == "DEATH" else "Tumor Response",
                         PARCAT2="" if paramcd == "DEATH" else evaluator,
                         PARCAT3="" if paramcd == "DEATH" else RSCAT_FROM_CRITERIA.get(criteria, criteria),
                         AVISIT=visit, ADT=date(day), ADY=study_day(day), AVALC=avalc,
                         AVAL=AVAL_RESP.get(avalc, {"Y": 1, "N": 0}.get(avalc)) if aval is None else aval,
                         ANL01FL="Y", ANL02FL=anl02))

    for criteria in derived.options.criteria:
        frame = derived.response[derived.response["criteria"] == criteria]
        follow = frame[frame["overall_response"].astype(str) != ""].sort_values("day", kind="stable")
        before_pd = True
        first_pd = None
        for r in follow.itertuples(index=False):
            add("OVR", "Overall Response", criteria, AVALC.get(r.overall_response, r.overall_response),
                r.day, labels.get(r.event_id, r.event_id), anl02="Y" if before_pd else "")
            if r.overall_response in _PROGRESSION and before_pd:
                before_pd, first_pd = False, r
        bor = derived.bor[derived.bor["criteria"] == criteria]
        for confirmed, code, name in ((False, "BOR", "Best Overall Response"),
                                      (True, "CBOR", "Best Confirmed Overall Response")):
            row = bor[bor["confirmed"] == confirmed].iloc[0]
            missing = follow.empty
            add(code, name, criteria, "MISSING" if missing else AVALC.get(row["bor"], row["bor"]),
                None if missing else days.get(row["event_id"]))
        counted = follow if first_pd is None else follow[follow["day"] <= first_pd.day]
        response = counted[counted["overall_response"].isin(_RESPONSES)]
        add("RSP", "Response (confirmation not required)", criteria,
            "Y" if len(response) else "N", response["day"].iloc[0] if len(response) else None)
        unconfirmed = bor[~bor["confirmed"]].iloc[0]["bor"]
        benefit = not follow.empty and unconfirmed in _BENEFIT
        add("CB", "Clinical Benefit (confirmation for response not required)", criteria,
            "Y" if benefit else "N")
        add("PD", "Disease Progression", criteria, "N" if first_pd is None else "Y",
            None if first_pd is None else first_pd.day)
        add("LSTA", "Last Disease Assessment", criteria, "" if follow.empty else
            AVALC.get(follow["overall_response"].iloc[-1], follow["overall_response"].iloc[-1]),
            None if follow.empty else follow["day"].iloc[-1],
            "" if follow.empty else labels.get(follow["event_id"].iloc[-1], ""))
    add("DEATH", "Death", "", "Y" if death else "N", death[1] if death else None)
    return rows


_EVENT = {"progression": ("Disease Progression", "ADRS", "ADT"),
          "death": ("Death", "ADRS", "ADT")}


def _adtte(case, derived: Derived, date: _Dates, conventions: str) -> list[dict]:
    studyid, usubjid = _ids(case)
    start_desc = "Randomization" if conventions == "admiralonco" else "Treatment Start"
    censor = {"last adequate assessment": ("Last Adequate Tumor Assessment", "ADRS", "ADT"),
              "last assessment": ("Last Tumor Assessment", "ADRS", "ADT"),
              "last known alive": ("Alive", "ADSL", "LSTALVDT"),
              "start": (start_desc, "ADSL", "RANDDT" if conventions == "admiralonco" else "TRTSDT")}
    rows = []
    for r in derived.endpoints.itertuples(index=False):
        if r.endpoint not in ("PFS", "OS", "DOR"):
            continue
        base = {"PFS": ("PFS", "Progression Free Survival"), "OS": ("OS", "Overall Survival"),
                "DOR": ("RSD", "Duration of Response")}[r.endpoint]
        code = base[0] + _SUFFIX.get(r.criteria, "")
        desc, dom, var = (_EVENT if r.event else censor).get(r.end_reason, (r.end_reason, "", ""))
        rows.append(dict(STUDYID=studyid, USUBJID=usubjid, PARAMCD=code,
                         PARAM=base[1] + (f" ({r.criteria})" if r.criteria else ""),
                         PARCAT1=RSCAT_FROM_CRITERIA.get(r.criteria, r.criteria),
                         STARTDT=date(r.start_day), ADT=date(r.end_day), ADY=study_day(r.end_day),
                         AVAL=int(r.end_day - r.start_day + 1), CNSR=0 if r.event else 1,
                         EVNTDESC=desc, CNSDTDSC="" if r.event else desc, SRCDOM=dom, SRCVAR=var,
                         SRCSEQ=""))
    return rows


def _adtr(case, derived: Derived, date: _Dates) -> list[dict]:
    studyid, usubjid = _ids(case)
    labels = dict(zip(case.timeline["event_id"], case.timeline["label"]))
    rows = []
    for criteria in derived.options.criteria:
        frame = derived.response[(derived.response["criteria"] == criteria)
                                 & derived.response["target_sum_cm"].notna()].sort_values(
            "day", kind="stable")
        if frame.empty:
            continue
        base = round(float(frame["target_sum_cm"].iloc[0]) * 10, 1)
        nadir = None
        for i, r in enumerate(frame.itertuples(index=False)):
            value = round(float(r.target_sum_cm) * 10, 1)
            rows.append(dict(STUDYID=studyid, USUBJID=usubjid, PARAMCD="SDIAM",
                             PARAM="Sum of Diameters of Target Lesions (mm)",
                             PARCAT3=RSCAT_FROM_CRITERIA.get(criteria, criteria),
                             AVISIT=labels.get(r.event_id, r.event_id), ADT=date(r.day),
                             ADY=study_day(r.day), AVAL=value, BASE=base,
                             CHG=round(value - base, 1) if i else pd.NA,
                             PCHG=r.change_from_baseline_pct if i else pd.NA,
                             NADIR=nadir if i else pd.NA,
                             PCHGNAD=r.change_from_nadir_pct if i else pd.NA,
                             ABLFL="Y" if i == 0 else "", ANL01FL="Y"))
            nadir = value if nadir is None else min(nadir, value)
    return rows


def _sequenced(rows: list[dict], columns: list[str], order: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    frame = frame.sort_values(["USUBJID", *order], kind="stable").reset_index(drop=True)
    frame["ASEQ"] = frame.groupby("USUBJID").cumcount() + 1
    return frame


def adam_tables(cases, conventions: str = "casekit", parameters: dict | None = None,
                on_invalid: Callable[[str, Exception], None] | None = None) -> dict[str, pd.DataFrame]:
    """ADRS, ADTTE, ADTR and the variables table for loaded ``cases`` (module docstring),
    each derived once with ``conventions`` and ``parameters`` (:data:`casekit.derive.OPTIONS`)."""
    adrs, adtte, adtr = [], [], []
    for case in cases:
        derived = derive_case(case, resolve_options(case, {**(parameters or {}),
                                                          "conventions": conventions}))
        date = _Dates(case.fact("reference_start_date"))
        evaluator = (case.fact("evaluator", "") or "Investigator").title()
        adrs += _adrs(case, derived, date, evaluator)
        adtte += _adtte(case, derived, date, conventions)
        adtr += _adtr(case, derived, date)
    out = {"adrs": _sequenced(adrs, ADRS_COLUMNS, ["PARCAT3", "PARAMCD", "ADY"]),
           "adtte": _sequenced(adtte, ADTTE_COLUMNS, ["PARAMCD"]),
           "adtr": _sequenced(adtr, ADTR_COLUMNS, ["PARCAT3", "PARAMCD", "ADY"])}
    # SRCSEQ of an event or censoring from ADRS: the ASEQ of the record it comes from (PD
    # and LSTA of the same criteria, DEATH of the subject).
    seq = {(r.USUBJID, r.PARAMCD, r.PARCAT3): r.ASEQ for r in out["adrs"].itertuples(index=False)
           if r.PARAMCD in ("PD", "DEATH", "LSTA")}
    tte = out["adtte"]
    if len(tte):
        key = {"Disease Progression": "PD", "Death": "DEATH",
               "Last Tumor Assessment": "LSTA", "Last Adequate Tumor Assessment": "LSTA"}
        tte["SRCSEQ"] = [seq.get((u, key.get(d, ""), "" if key.get(d) == "DEATH" else c), "")
                         if s == "ADRS" else ""
                         for u, d, c, s in zip(tte["USUBJID"], tte["EVNTDESC"], tte["PARCAT1"],
                                               tte["SRCDOM"])]
    out["variables"] = pd.DataFrame(
        [dict(dataset=name.upper(), variable=v, label=VARIABLES[v]) for name, cols in TABLES.items()
         for v in cols], columns=["dataset", "variable", "label"])
    return out


def export_adam(out_dir, case_dirs=(), series_dir=None, sdtm_dir=None,
                conventions: str = "casekit", echo: Callable[[str], None] = print) -> list[Path]:
    """``casekit export-adam``: write ``adrs.csv``, ``adtte.csv``, ``adtr.csv`` and
    ``variables.csv`` into ``out_dir`` for case folders, a series folder (every case folder
    in it) or an SDTM folder (imported first, into a temporary folder, with partial dates
    imputed to the last day under ``admiralonco`` conventions). Output-folder rules as the
    other commands (:mod:`casekit.owned`)."""
    from casekit.case import load_case
    from casekit.owned import OwnedFolder

    inputs = [(c, "a case folder") for c in case_dirs]
    inputs += [(series_dir, "the series folder")] if series_dir else []
    inputs += [(sdtm_dir, "the SDTM folder")] if sdtm_dir else []
    owned = OwnedFolder.open(out_dir, "export-adam", inputs)
    folders = [Path(c) for c in case_dirs]
    if series_dir:
        folders += sorted(p for p in Path(series_dir).iterdir() if (p / "timeline.csv").is_file())
    scratch = None
    try:
        if sdtm_dir:
            from casekit.interop.sdtm import import_sdtm

            scratch = Path(tempfile.mkdtemp(prefix="casekit-adam-"))
            summary = import_sdtm(sdtm_dir, scratch / "cases", echo=lambda line: None,
                                  date_imputation="last" if conventions == "admiralonco" else "first")
            folders += sorted(summary.imported)
        tables = adam_tables([load_case(f) for f in folders], conventions)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    written = [owned.write_table(tables[name], Path(out_dir) / f"{name}.csv")
               for name in ("adrs", "adtte", "adtr", "variables")]
    owned.commit()
    echo(f"wrote ADaM for {len(folders)} subject(s) ({conventions} conventions): "
         + ", ".join(f"{n}.csv {len(tables[n])} rows" for n in ("adrs", "adtte", "adtr")))
    return written
