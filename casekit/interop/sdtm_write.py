"""SDTM datasets written as delivered: CSV, SAS XPORT v5 and CDISC Dataset-JSON 1.1, each with a
Define-XML 2.1 ``define.xml`` (and its ``define.html`` view), and CDISC CORE's CSV sidecars.

- **SAS XPORT version 5** (SAS TS-140, the FDA's submission format; FDA Study Data Technical
  Conformance Guide §3.3.1): names of at most 8 characters, labels of at most 40, text
  values of at most 200 bytes (a longer one is an error naming the variable). XPORT records
  no encoding: casekit writes UTF-8 (ASCII text, the FDA's requirement, is unchanged).
  Numbers are SAS doubles; ``--SEQ``, ``--STRESN``, ``--DY``, ``VISITNUM`` and ``AGE`` are
  numeric (SDTMIG v3.4 variable tables), every other variable text.
- **Dataset-JSON 1.1** (CDISC, 2024; the ``.json`` form): metadata, ``columns`` with itemOID,
  name, label, dataType (and length for text) and ``rows``; missing values are ``null``.
- **Define-XML 2.1** (CDISC, 2019), built with odmlib: one ItemGroupDef per dataset (its
  class, structure, keys and the file it lives in), one ItemDef per variable (data type,
  length, label, origin), ItemRefs in column order with their key sequence.
- **CORE sidecars** beside a CSV export (CDISC Open Rules Engine reads CSV data with
  ``_datasets.csv``: Filename, Label; ``_variables.csv``: dataset, variable, label, type
  Char/Num, length).

Every file is deterministic: the creation time written into XPT headers, Dataset-JSON and
define.xml is ``SOURCE_DATE_EPOCH`` when set (reproducible-builds.org), else the newest
modification time of the input files.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from casekit.interop import mapping as mp
from casekit.outputs import table_bytes

FORMATS = ("csv", "xpt", "json")
#: Dataset -> (label, SDTM class, structure, key variables) (SDTMIG v3.4 §6).
DATASETS = {
    "DM": ("Demographics", "SPECIAL PURPOSE", "One record per subject", ("STUDYID", "USUBJID")),
    "TU": ("Tumor/Lesion Identification", "FINDINGS",
           "One record per identified tumor per subject per assessor",
           ("STUDYID", "USUBJID", "TUEVAL", "TULNKID")),
    "SUPPTU": ("Supplemental Qualifiers for TU", "RELATIONSHIP",
               "One record per supplemental qualifier per related parent domain record",
               ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")),
    "TR": ("Tumor/Lesion Results", "FINDINGS",
           "One record per tumor measurement/assessment per visit per subject per assessor",
           ("STUDYID", "USUBJID", "TREVAL", "VISITNUM", "TRLNKID", "TRTESTCD")),
    "RS": ("Disease Response and Clin Classification", "FINDINGS",
           "One record per response assessment per visit per subject per assessor",
           ("STUDYID", "USUBJID", "RSEVAL", "VISITNUM", "RSCAT", "RSTESTCD")),
    "LB": ("Laboratory Test Results", "FINDINGS",
           "One record per lab test per time point per visit per subject",
           ("STUDYID", "USUBJID", "LBTESTCD", "VISITNUM")),
    "EX": ("Exposure", "INTERVENTIONS",
           "One record per protocol-specified study treatment, constant-dosing interval, "
           "per subject", ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC")),
}
#: Variable labels (SDTMIG v3.4), by name; ``--`` stands for the domain prefix.
LABELS = {
    "STUDYID": "Study Identifier", "DOMAIN": "Domain Abbreviation", "RDOMAIN":
    "Related Domain Abbreviation", "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier for the Study", "RFSTDTC":
    "Subject Reference Start Date/Time", "AGE": "Age", "AGEU": "Age Units", "SEX": "Sex",
    "IDVAR": "Identifying Variable", "IDVARVAL": "Identifying Variable Value",
    "QNAM": "Qualifier Variable Name", "QLABEL": "Qualifier Variable Label",
    "QVAL": "Data Value", "QORIG": "Origin", "VISITNUM": "Visit Number", "VISIT": "Visit Name",
    "--SEQ": "Sequence Number", "--GRPID": "Group ID", "--LNKID": "Link ID",
    "--ORRES": "Result or Finding in Original Units", "--ORRESU": "Original Units",
    "--STRESC": "Character Result/Finding in Std Format",
    "--STRESN": "Numeric Result/Finding in Standard Units", "--STRESU": "Standard Units",
    "--STAT": "Completion Status", "--REASND": "Reason Not Performed", "--EVAL": "Evaluator",
    "--EVALID": "Evaluator Identifier", "--CAT": "Category for Response Assessment",
    "TUTESTCD": "Tumor/Lesion ID Short Name", "TUTEST": "Tumor/Lesion ID Test Name",
    "TUORRES": "Tumor/Lesion ID Result", "TUSTRESC": "Tumor/Lesion ID Result Std. Format",
    "TULOC": "Location of the Tumor/Lesion", "TUDTC": "Date/Time of Tumor/Lesion Identification",
    "TUDY": "Study Day of Tumor/Lesion Identification",
    "TRTESTCD": "Tumor/Lesion Assessment Short Name", "TRTEST": "Tumor/Lesion Assessment Test Name",
    "TRDTC": "Date/Time of Tumor/Lesion Measurement", "TRDY": "Study Day of Tumor/Lesion Meas",
    "RSTESTCD": "Assessment Short Name", "RSTEST": "Assessment Name",
    "RSDTC": "Date/Time of Assessment", "RSDY": "Study Day of Assessment",
    "LBTESTCD": "Lab Test or Examination Short Name", "LBTEST": "Lab Test or Examination Name",
    "LBDTC": "Date/Time of Specimen Collection", "LBDY": "Study Day of Specimen Collection",
    "EXTRT": "Name of Treatment", "EXSTDTC": "Start Date/Time of Treatment",
    "EXSTDY": "Study Day of Start of Treatment",
}
NUMERIC = re.compile(r"^(..SEQ|..STRESN|..DY|..STDY|VISITNUM|AGE)$")
XPT_TEXT_BYTES = 200


class SdtmWriteError(ValueError):
    """A dataset that cannot be written in the format asked for; the message names the
    dataset and the variable."""


def label(domain: str, name: str) -> str:
    """The SDTMIG label of a variable (its name when casekit knows none)."""
    if name in LABELS:
        return LABELS[name]
    generic = "--" + name[2:] if name[:2] == domain[-2:] else None
    return LABELS.get(generic, name)


def is_numeric(name: str) -> bool:
    return NUMERIC.match(name) is not None


@dataclass
class Variable:
    name: str
    label: str
    numeric: bool
    length: int | None  # text: the longest value in bytes (at least 1)


def variables(domain: str, frame: pd.DataFrame) -> list[Variable]:
    out = []
    for name in frame.columns:
        numeric = is_numeric(name)
        length = None
        if not numeric:
            texts = frame[name].map(_text)
            length = max([len(t.encode("utf-8")) for t in texts] + [1])
        out.append(Variable(name, label(domain, name), numeric, length))
    return out


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def _number(value) -> float | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def typed(domain: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The dataset with numeric variables as floats (NaN missing), text as str ('')."""
    out = {}
    for name in frame.columns:
        if is_numeric(name):
            try:
                out[name] = pd.Series([_number(v) for v in frame[name]], dtype="float64",
                                      index=frame.index)
            except (TypeError, ValueError):
                raise SdtmWriteError(f"{domain}.{name}: a value is not a number") from None
        else:
            out[name] = frame[name].map(_text).astype(object)
    return pd.DataFrame(out, index=frame.index, columns=list(frame.columns))


# ------------------------------------------------------------------ the time written


def creation_time(inputs) -> datetime:
    """SOURCE_DATE_EPOCH when set, else the newest modification time of ``inputs`` (UTC,
    whole seconds): the same input gives the same bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        stamp = int(epoch)
    else:
        times = [Path(p).stat().st_mtime for p in inputs if Path(p).exists()]
        stamp = int(max(times)) if times else 0
    return datetime.fromtimestamp(stamp, tz=timezone.utc)


# ------------------------------------------------------------------ XPT


_XPT_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")


def xpt_bytes(domain: str, frame: pd.DataFrame, when: datetime) -> bytes:
    """The dataset as SAS XPORT version 5 (see the module docstring)."""
    import pyreadstat

    if len(domain) > 8:
        raise SdtmWriteError(f"{domain}: an XPORT v5 dataset name has at most 8 characters")
    meta = variables(domain, frame)
    for v in meta:
        if len(v.name) > 8:
            raise SdtmWriteError(f"{domain}.{v.name}: an XPORT v5 name has at most 8 characters")
        if len(v.label) > 40:
            raise SdtmWriteError(f"{domain}.{v.name}: label '{v.label}' is longer than 40 "
                                 "characters (XPORT v5)")
        if v.length and v.length > XPT_TEXT_BYTES:
            raise SdtmWriteError(f"{domain}.{v.name}: a value is {v.length} bytes long; "
                                 f"XPORT v5 holds at most {XPT_TEXT_BYTES} (use --format json)")
    data = typed(domain, frame)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{domain.lower()}.xpt"
        pyreadstat.write_xport(data, str(path), file_label=DATASETS.get(domain, (domain,))[0][:40],
                               column_labels=[v.label for v in meta], table_name=domain,
                               file_format_version=5)
        raw = path.read_bytes()
    # The header records carry the time of writing (ddMMMyy:hh:mm:ss): the input's instead.
    end = raw.find(b"HEADER RECORD*******OBS")
    stamp = when.strftime("%d%b%y:%H:%M:%S").upper().encode("ascii")
    return _XPT_STAMP.sub(stamp, raw[:end]) + raw[end:]


# ------------------------------------------------------------------ Dataset-JSON


def _data_type(v: Variable, frame: pd.DataFrame) -> str:
    if not v.numeric:
        return "string"
    values = pd.to_numeric(frame[v.name], errors="coerce").dropna()
    return "integer" if (values == values.round()).all() else "double"


def json_bytes(domain: str, frame: pd.DataFrame, when: datetime, study: str,
               file_name: str) -> bytes:
    """The dataset as Dataset-JSON 1.1 (see the module docstring)."""
    meta = variables(domain, frame)
    data = typed(domain, frame)
    kinds = {v.name: _data_type(v, data) for v in meta}
    columns = []
    keys = DATASETS.get(domain, ("", "", "", ()))[3]
    for v in meta:
        column = {"itemOID": f"IT.{domain}.{v.name}", "name": v.name, "label": v.label,
                  "dataType": kinds[v.name]}
        if not v.numeric:
            column["length"] = v.length
        if v.name in keys:
            column["keySequence"] = keys.index(v.name) + 1
        columns.append(column)

    def cell(name, value):
        if kinds[name] == "string":
            return value if value != "" else None
        if math.isnan(value):
            return None
        return int(value) if kinds[name] == "integer" else value

    rows = [[cell(n, v) for n, v in zip(data.columns, row)]
            for row in data.itertuples(index=False, name=None)]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S")
    document = {
        "datasetJSONCreationDateTime": stamp, "datasetJSONVersion": "1.1.0",
        "fileOID": f"casekit/{study}/{file_name}", "dbLastModifiedDateTime": stamp,
        "originator": "casekit", "sourceSystem": {"name": "casekit", "version": _version()},
        "studyOID": study, "metaDataVersionOID": "MDV.CASEKIT.SDTMIG.3.4",
        "metaDataRef": "define.xml", "itemGroupOID": f"IG.{domain}", "records": len(rows),
        "name": domain, "label": DATASETS.get(domain, (domain,))[0], "columns": columns,
        "rows": rows,
    }
    return (json.dumps(document, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("casekit")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"


# ------------------------------------------------------------------ define.xml


def define_xml(datasets: dict[str, pd.DataFrame], files: dict[str, str], when: datetime,
               study: str) -> bytes:
    """Define-XML 2.1 for ``datasets`` (domain -> records), each in ``files[domain]``."""
    import odmlib.define_2_1.model as DEFINE

    stamp = when.strftime("%Y-%m-%dT%H:%M:%S")
    mdv = DEFINE.MetaDataVersion(
        OID="MDV.CASEKIT.SDTMIG.3.4", Name="casekit SDTM export",
        Description="SDTM datasets written by casekit export-sdtm from a case folder",
        DefineVersion="2.1.0")
    mdv.Standards = DEFINE.Standards(Standard=[DEFINE.Standard(
        OID="STD.SDTMIG.3.4", Name="SDTMIG", Type="IG", Version="3.4", Status="Final")])
    seen_items: set[str] = set()
    for domain, frame in datasets.items():
        label_, klass, structure, keys = DATASETS.get(
            domain, (domain, "FINDINGS", "One record per record", ()))
        group = DEFINE.ItemGroupDef(
            OID=f"IG.{domain}", Name=domain, Repeating="No" if domain == "DM" else "Yes",
            IsReferenceData="No", SASDatasetName=domain,
            Domain=domain if not domain.startswith("SUPP") else None,
            Purpose="Tabulation", Structure=structure, ArchiveLocationID=f"LF.{domain}",
            StandardOID="STD.SDTMIG.3.4")
        group.Description = DEFINE.Description()
        group.Description.TranslatedText.append(DEFINE.TranslatedText(_content=label_,
                                                                      lang="en"))
        for order, v in enumerate(variables(domain, frame), start=1):
            oid = f"IT.{domain}.{v.name}"
            ref = DEFINE.ItemRef(ItemOID=oid, Mandatory="Yes" if v.name in keys else "No",
                                 OrderNumber=order)
            if v.name in keys:
                ref.KeySequence = keys.index(v.name) + 1
            group.ItemRef.append(ref)
            if oid in seen_items:
                continue
            seen_items.add(oid)
            kind = ("integer" if _data_type(v, typed(domain, frame[[v.name]])) == "integer"
                    else "float") if v.numeric else (
                "date" if v.name.endswith("DTC") else "text")
            item = DEFINE.ItemDef(OID=oid, Name=v.name, DataType=kind, SASFieldName=v.name,
                                  Length=v.length if kind == "text" else
                                  (8 if v.numeric else None))
            if kind == "float":
                item.SignificantDigits = 6
            item.Description = DEFINE.Description()
            item.Description.TranslatedText.append(DEFINE.TranslatedText(_content=v.label,
                                                                         lang="en"))
            item.Origin.append(DEFINE.Origin(Type="Derived" if v.name not in (
                "STUDYID", "DOMAIN", "RDOMAIN") else "Assigned", Source="Sponsor"))
            mdv.ItemDef.append(item)
        group.Class = DEFINE.Class(Name=klass)
        group.leaf = DEFINE.leaf(ID=f"LF.{domain}", href=files[domain],
                                 title=DEFINE.title(_content=files[domain]))
        mdv.ItemGroupDef.append(group)
    mdv.ItemDef.sort(key=lambda i: i.OID)
    odm = DEFINE.ODM(FileOID=f"casekit.{study}.define", AsOfDateTime=stamp,
                     CreationDateTime=stamp, ODMVersion="1.3.2", FileType="Snapshot",
                     Originator="casekit", SourceSystem="casekit",
                     SourceSystemVersion=_version(), Context="Other")
    odm.Study = DEFINE.Study(OID=f"STUDY.{study}")
    odm.Study.GlobalVariables = DEFINE.GlobalVariables()
    odm.Study.GlobalVariables.StudyName = DEFINE.StudyName(_content=study)
    odm.Study.GlobalVariables.StudyDescription = DEFINE.StudyDescription(
        _content=f"{study}: SDTM export of a casekit case folder")
    odm.Study.GlobalVariables.ProtocolName = DEFINE.ProtocolName(_content=study)
    odm.Study.MetaDataVersion = mdv
    text = odm.to_xml_string(xml_declaration=True)
    return text.encode("utf-8") if not text.endswith("\n") else text.encode("utf-8")


def define_html(define: bytes) -> bytes | None:
    """The define.xml rendered with CDISC's Define-XML 2.1 stylesheet (shipped by
    defineutils; lxml's XSLT, offline), or None when that is not installed."""
    try:
        from defineutils.definehtml import definehtml
        from lxml import etree
    except ImportError:
        return None
    xslt = etree.XSLT(etree.parse(str(Path(definehtml.__file__).parent / "define2-1.xsl")))
    html = xslt(etree.fromstring(define))
    return etree.tostring(html, method="html", pretty_print=True)


# ------------------------------------------------------------------ CORE sidecars


def core_sidecars(datasets: dict[str, pd.DataFrame], files: dict[str, str]
                  ) -> dict[str, bytes]:
    """``_datasets.csv`` and ``_variables.csv`` as CDISC CORE reads them beside CSV data."""
    sets, variables_ = [], []
    for domain, frame in datasets.items():
        stem = Path(files[domain]).name.split(".")[0]
        sets.append({"Filename": stem, "Label": DATASETS.get(domain, (domain,))[0],
                     "Dataset Name": domain})
        for v in variables(domain, frame):
            variables_.append({"dataset": stem, "variable": v.name, "label": v.label,
                               "type": "Num" if v.numeric else "Char",
                               "length": 8 if v.numeric else v.length})
    return {"_datasets.csv": table_bytes(pd.DataFrame(sets)),
            "_variables.csv": table_bytes(pd.DataFrame(variables_))}


def define_table_bytes() -> bytes:
    """The define-style table of :mod:`casekit.interop.mapping` (CSV export)."""
    return table_bytes(mp.define_table())


def study_files(datasets: dict[str, pd.DataFrame], fmt: str, when: datetime, study: str,
                define_table: pd.DataFrame | None = None) -> dict[str, bytes]:
    """Every file of an export in format ``fmt`` (``csv``, ``xpt``, ``json``): the datasets
    (``dm.csv`` / ``dm.xpt`` / ``dm.json``), ``define.xml`` and ``define.html``; for CSV also
    ``define.csv`` (``define_table``) and CORE's ``_datasets.csv`` / ``_variables.csv``."""
    if fmt not in FORMATS:
        raise SdtmWriteError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    files = {domain: f"{domain.lower()}.{fmt}" for domain in datasets}
    out: dict[str, bytes] = {}
    for domain, frame in datasets.items():
        if fmt == "csv":
            out[files[domain]] = table_bytes(frame)
        elif fmt == "xpt":
            out[files[domain]] = xpt_bytes(domain, frame, when)
        else:
            out[files[domain]] = json_bytes(domain, frame, when, study, files[domain])
    out["define.xml"] = define_xml(datasets, files, when, study)
    html = define_html(out["define.xml"])
    if html is not None:
        out["define.html"] = html
    if fmt == "csv":
        if define_table is not None:
            out["define.csv"] = table_bytes(define_table)
        out.update(core_sidecars(datasets, files))
    return out
