"""SDTM datasets as they are delivered: CSV (``.csv``, ``.csv.gz``), SAS XPORT (``.xpt``,
versions 5 and 8) and CDISC Dataset-JSON 1.1 (``.json``, ``.ndjson``), read into one table of
text per domain.

- **Which domain** a file holds is decided by its content, not its name: the dataset name
  recorded in the file (XPT member name, Dataset-JSON ``name``; SDTMIG v3.4 §2.2: the dataset
  name is the domain code, ``SUPP`` + the parent's code for supplemental qualifiers), else
  its ``DOMAIN`` column (``RDOMAIN`` for SUPP--), else the file name up to its first ``_``
  or ``.`` (``tu_onco_recist.csv`` -> TU). So ``TU.XPT``, ``tu_onco_recist.csv`` and
  ``tu.json`` are all TU.
- **Two files of one domain** are read together (a domain may be split over several files,
  SDTMIG v3.4 §4.1.7, as pharmaversesdtm splits RS by criteria) unless they are the same
  dataset twice: the same name in two formats (``tr.csv`` and ``tr.csv.gz``) or files whose
  records are identical; that is an error naming both, never a silent doubling.
- **Every cell is text**; empty cells, the text ``NA`` of an R-exported CSV (``write.csv``
  writes R's missing value so) and numeric missing values of XPT/JSON are missing. Numbers
  stored as numbers (XPT, JSON) are written as the shortest decimal that reads back the
  same (``3.0`` -> ``3``), so one study gives the same text in every format.
- **Encodings:** CSV and Dataset-JSON are UTF-8 (a byte order mark is dropped); a CSV that is
  not valid UTF-8 is read as Latin-1 (ISO-8859-1) and the import log says so. SAS XPORT
  records no encoding (SAS TS-140): it is read as UTF-8 (ASCII, the FDA's requirement, is a
  subset), else as Latin-1, likewise reported.
- **Column names** are compared in upper case (SDTM names are upper case); two columns with
  one name are an error naming the file and the column, never a silent choice of one.

A file that cannot be read raises :class:`SdtmInputError` naming it (and the line or record
and the variable where known).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd


class SdtmInputError(ValueError):
    """SDTM input casekit cannot read: the message names the file and the variable."""


#: File name endings read, in the order a format is tried (compared in lower case).
FORMATS = {".csv": "csv", ".csv.gz": "csv", ".xpt": "xpt", ".json": "json",
           ".ndjson": "ndjson"}
#: What a missing value looks like in a CSV file: empty, or R's ``NA``.
CSV_MISSING = ("", "NA")
#: The dtype of a column of text (pandas 3: ``str``, missing as NaN).
TEXT = pd.StringDtype(na_value=float("nan"))


@dataclass
class Dataset:
    """One file: its domain, records (text, missing as NA) and how it was read."""

    path: Path
    domain: str
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


@dataclass
class Study:
    """The domains of an SDTM folder (files of one domain concatenated, ``file_`` naming
    each record's file) and what was noticed while reading (``notes``: domain, what)."""

    frames: dict[str, pd.DataFrame]
    files: dict[str, list[Path]]
    notes: list[tuple[str, str]] = field(default_factory=list)


def file_format(path: Path) -> str | None:
    """``csv``, ``xpt``, ``json`` or ``ndjson`` by the name's ending, else None."""
    name = path.name.lower()
    for ending, kind in FORMATS.items():
        if name.endswith(ending) and len(name) > len(ending):
            return kind
    return None


def _stem(path: Path) -> str:
    """The name without the format's ending, in lower case (``TR.csv.gz`` -> ``tr``)."""
    name = path.name.lower()
    for ending in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ending):
            return name[: -len(ending)]
    return name


def number_text(value: float) -> str:
    """A stored number as text: an integer without ``.0``, else the shortest decimal that
    reads back the same (``repr``)."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _cell_text(value) -> object:
    """A JSON / XPT cell as text, or None when missing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int,)):
        return str(value)
    if isinstance(value, float):
        return None if math.isnan(value) else number_text(value)
    if value is pd.NaT:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def _texts(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text (missing as NA; numbers by :func:`number_text`), of the dtype
    ``pandas.read_csv(dtype=str)`` gives, so that every format reads alike. Each distinct
    value is converted once (a column of 56,000 records holds few distinct values)."""
    out = {}
    for name in frame.columns:
        try:
            codes, uniques = pd.factorize(frame[name].to_numpy(dtype=object),
                                          use_na_sentinel=True)
        except TypeError:  # a JSON object or array (unhashable): not a value
            i = next(i for i, v in enumerate(frame[name]) if isinstance(v, (dict, list)))
            raise SdtmInputError(f"record {i + 1}: {name} is a JSON "
                                 f"{'object' if isinstance(frame[name].iloc[i], dict) else 'array'}"
                                 ", not a number or text") from None
        texts = [_cell_text(u) for u in uniques] + [None]  # code -1 (missing): the last
        texts = np.array([None if t == "" else t for t in texts], dtype=object)
        out[name] = pd.Series(texts[codes], index=frame.index, dtype=object).astype(TEXT)
    return pd.DataFrame(out, index=frame.index, columns=list(frame.columns))


def _names(path: Path, columns, where: str = "header") -> list[str]:
    """Column names in upper case; a name given twice is an error."""
    names = [str(c).strip().lstrip("\ufeff").upper() for c in columns]
    seen: set[str] = set()
    for name in names:
        if not name:
            raise SdtmInputError(f"{path}: {where}: a column has no name")
        if name in seen:
            raise SdtmInputError(f"{path}: {where}: column {name} is given twice; which one "
                                 "holds the data is not known, so nothing is imported")
        seen.add(name)
    return names


# ------------------------------------------------------------------ CSV


def _open_text(path: Path, encoding: str):
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            with _open_text(path, encoding) as handle:
                header = next(csv.reader(handle), None)
            if header is None:
                raise SdtmInputError(f"{path}: is empty (no header line)")
            names = _names(path, header, "line 1")
            with _open_text(path, encoding) as handle:
                frame = pd.read_csv(handle, dtype=str, keep_default_na=False,
                                    na_values=list(CSV_MISSING), header=0, names=names)
            if encoding != "utf-8-sig":
                notes.append(f"{path.name}: not valid UTF-8; read as Latin-1 (ISO-8859-1)")
            return frame, notes
        except UnicodeDecodeError:
            continue
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile, csv.Error,
                pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise SdtmInputError(f"{path}: cannot be read as CSV: {exc}") from None
    raise AssertionError("Latin-1 decodes every byte")  # pragma: no cover


# ------------------------------------------------------------------ SAS XPORT


def _pyreadstat():
    try:
        import pyreadstat
    except ImportError:  # pragma: no cover - a pinned requirement
        raise SdtmInputError("reading SAS XPORT needs pyreadstat (pip install pyreadstat)") \
            from None
    return pyreadstat


def _read_xpt(path: Path, metadata_only: bool = False):
    pyreadstat = _pyreadstat()
    notes: list[str] = []
    last = None
    for encoding in ("utf-8", "latin1"):
        try:
            frame, meta = pyreadstat.read_xport(str(path), encoding=encoding,
                                                metadataonly=metadata_only)
        except (pyreadstat.ReadstatError, OSError, UnicodeDecodeError, ValueError) as exc:
            last = exc
            continue
        if encoding != "utf-8":
            notes.append(f"{path.name}: text not valid UTF-8; read as Latin-1 (ISO-8859-1)")
        frame.columns = _names(path, frame.columns, "variables")
        return frame, meta, notes
    raise SdtmInputError(f"{path}: cannot be read as SAS XPORT: {last}")


# ------------------------------------------------------------------ Dataset-JSON


def _json_columns(path: Path, meta) -> list[str]:
    if not isinstance(meta, dict) or not isinstance(meta.get("columns"), list):
        raise SdtmInputError(f"{path}: not Dataset-JSON: no 'columns' list")
    for i, column in enumerate(meta["columns"], start=1):
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            raise SdtmInputError(f"{path}: columns[{i}] has no name")
    return _names(path, [c["name"] for c in meta["columns"]], "columns")


def _json_rows(path: Path, rows, width: int, first: int, unit: str) -> list[list]:
    if not isinstance(rows, list):
        raise SdtmInputError(f"{path}: not Dataset-JSON: 'rows' is not a list")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise SdtmInputError(f"{path}: {unit} {first + i}: expected a list of {width} "
                                 "values (one per column)")
    return rows


def _load_json(path: Path, text: str, line: int | None = None):
    try:
        return json.loads(text)
    except ValueError as exc:
        where = f"line {line}" if line is not None else f"line {getattr(exc, 'lineno', '?')}"
        raise SdtmInputError(f"{path}: {where}: not valid JSON: "
                             f"{getattr(exc, 'msg', exc)}") from None


def _read_json(path: Path, ndjson: bool) -> tuple[pd.DataFrame, dict]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SdtmInputError(f"{path}: not UTF-8 (Dataset-JSON is UTF-8): byte "
                             f"{exc.start}") from None
    except OSError as exc:
        raise SdtmInputError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if ndjson:  # Dataset-JSON 1.1 NDJSON: line 1 the metadata, then one row per line
        lines = text.splitlines()
        if not lines:
            raise SdtmInputError(f"{path}: is empty")
        meta = _load_json(path, lines[0], 1)
        names = _json_columns(path, meta)
        rows = [_load_json(path, line, n) for n, line in enumerate(lines[1:], start=2)
                if line.strip()]
        rows = _json_rows(path, rows, len(names), 2, "line")
    else:
        meta = _load_json(path, text)
        names = _json_columns(path, meta)
        rows = _json_rows(path, meta.get("rows", []), len(names), 1, "row")
    records = meta.get("records")
    if isinstance(records, int) and records != len(rows):
        raise SdtmInputError(f"{path}: 'records' says {records} but the file holds "
                             f"{len(rows)} rows (truncated?)")
    frame = pd.DataFrame(rows, columns=range(len(names)), dtype=object).set_axis(names, axis=1)
    return frame, meta


# ------------------------------------------------------------------ one file


def _domain_of(path: Path, frame: pd.DataFrame, recorded: str | None) -> str:
    """The domain a file holds (see the module docstring)."""
    if recorded:
        return recorded.strip().upper()
    for column, prefix in (("DOMAIN", ""), ("RDOMAIN", "SUPP")):
        if column in frame.columns:
            values = {str(v).strip().upper() for v in frame[column].dropna().unique()}
            values = [v for v in values if v]
            if len(values) > 1:
                raise SdtmInputError(f"{path}: variable {column} holds several domains "
                                     f"({', '.join(sorted(values)[:4])}); one file is one "
                                     "dataset")
            if values:
                return prefix + values[0]
    return re.split(r"[_.\s-]", _stem(path), maxsplit=1)[0].upper()


def read_dataset(path: str | Path) -> Dataset:
    """One SDTM file as a :class:`Dataset` (its domain: see the module docstring)."""
    path = Path(path)
    kind = file_format(path)
    notes: list[str] = []
    recorded = None
    if kind == "csv":
        frame, notes = _read_csv(path)
    elif kind == "xpt":
        frame, meta, notes = _read_xpt(path)
        recorded = meta.table_name or None
    elif kind in ("json", "ndjson"):
        frame, meta = _read_json(path, kind == "ndjson")
        recorded = meta.get("name") if isinstance(meta.get("name"), str) else None
    else:
        raise SdtmInputError(f"{path}: not an SDTM file casekit reads (CSV, CSV.GZ, XPT, "
                             "JSON or NDJSON)")
    if kind != "csv":
        try:
            frame = _texts(frame)
        except SdtmInputError as exc:
            raise SdtmInputError(f"{path}: {exc}") from None
    return Dataset(path, _domain_of(path, frame, recorded), frame, notes)


def _peek_domain(path: Path, read: dict[Path, Dataset]) -> str:
    """The domain of a file without reading all of it where the format allows (a file
    that had to be read whole is kept in ``read``)."""
    kind = file_format(path)
    if kind == "xpt":
        frame, meta, _ = _read_xpt(path, metadata_only=True)
        if meta.table_name:
            return meta.table_name.strip().upper()
    if kind == "ndjson":
        try:
            with open(path, encoding="utf-8-sig") as handle:
                meta = json.loads(handle.readline())
            if isinstance(meta, dict) and isinstance(meta.get("name"), str):
                return meta["name"].strip().upper()
        except (OSError, ValueError):
            pass  # read in full below, which reports the problem
    if kind == "csv":
        frame, _ = _read_csv_head(path)
        return _domain_of(path, frame, None)
    dataset = read_dataset(path)  # a JSON document is parsed whole: keep it
    read[path] = dataset
    return dataset.domain


def _read_csv_head(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The header and first records of a CSV (enough to see its DOMAIN)."""
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            with _open_text(path, encoding) as handle:
                head = "".join(line for _, line in zip(range(20), handle))
            reader = list(csv.reader(io.StringIO(head)))
        except UnicodeDecodeError:
            continue
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile, csv.Error) as exc:
            raise SdtmInputError(f"{path}: cannot be read as CSV: {exc}") from None
        if not reader:
            raise SdtmInputError(f"{path}: is empty (no header line)")
        names = _names(path, reader[0], "line 1")
        rows = [r + [""] * (len(names) - len(r)) for r in reader[1:-1] if r]
        frame = pd.DataFrame([r[: len(names)] for r in rows], columns=names, dtype=object)
        return frame.replace(list(CSV_MISSING), None), []
    raise AssertionError("Latin-1 decodes every byte")  # pragma: no cover


# ------------------------------------------------------------------ a folder


def _digest(frame: pd.DataFrame) -> str:
    """A digest of a dataset's records, whatever the order of its columns and rows."""
    cols = sorted(c for c in frame.columns if c != "file_")
    rows = pd.util.hash_pandas_object(frame[cols].fillna("\0"), index=False)
    return hashlib.sha256(bytes(sorted(rows.to_numpy().tobytes()))).hexdigest() + str(cols)


def read_folder(folder: str | Path, domains, required: dict | None = None) -> Study:
    """The ``domains`` (e.g. ``("DM", "TU", "TR")``) found among the SDTM files of ``folder``
    (other files and domains are left alone). ``required`` (domain -> variables) names the
    variables every file of a domain must have. See the module docstring for the rules."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SdtmInputError(f"{folder}: is not a folder of SDTM files")
    wanted = {d.upper() for d in domains}
    paths = sorted((p for p in folder.iterdir() if p.is_file() and file_format(p)),
                   key=lambda p: p.name)
    by_domain: dict[str, list[Path]] = {}
    read: dict[Path, Dataset] = {}
    for path in paths:
        domain = _peek_domain(path, read)
        if domain in wanted:
            by_domain.setdefault(domain, []).append(path)
    return _read_domains(by_domain, required, read)


def _no_overlap(domain: str, path: Path, frame: pd.DataFrame, seen: dict[tuple, Path]) -> None:
    """Files of one domain are parts of it only if no record of one has the identity of a
    record of another: STUDYID, USUBJID, --SEQ and --CAT (so RS split by criteria, or two
    studies side by side, are parts; one study's TU in two files twice is not)."""
    prefix = domain[-2:]
    names = [n for n in ("STUDYID", "USUBJID", f"{prefix}SEQ", f"{prefix}CAT")
             if n in frame.columns]
    if f"{prefix}SEQ" not in names or "USUBJID" not in names:
        return
    keys = list(frame[names].fillna("").itertuples(index=False, name=None))
    for key in keys:  # in record order: the first shared record is named
        if key in seen and seen[key] != path:
            shown = ", ".join(f"{n}={v}" for n, v in zip(names, key) if v)
            raise SdtmInputError(
                f"{seen[key]} and {path}: both hold the {domain} record {shown}; two files "
                "of one domain must be parts of it (other subjects, studies or --CAT), not "
                "the same records twice")
    seen.update(dict.fromkeys(keys, path))


def _read_domains(by_domain: dict[str, list[Path]], required: dict | None,
                  read: dict[Path, Dataset]) -> Study:
    study = Study({}, {})
    for domain, files in by_domain.items():
        stems: dict[str, Path] = {}
        for path in files:
            if _stem(path) in stems:
                raise SdtmInputError(
                    f"{stems[_stem(path)]} and {path}: two files of domain {domain} with "
                    "one name; keep one (reading both would count every record twice)")
            stems[_stem(path)] = path
        frames, digests = [], {}
        keys_seen: dict[tuple, Path] = {}
        for path in files:
            dataset = read.pop(path, None) or read_dataset(path)
            missing = [v for v in (required or {}).get(domain, ())
                       if v not in dataset.frame.columns]
            if missing:
                raise SdtmInputError(
                    f"{path}: variable {missing[0]} is missing (domain {domain} needs "
                    f"{', '.join(required[domain])})")
            study.notes += [(domain, n) for n in dataset.notes]
            if dataset.frame.empty:
                study.notes.append((domain, f"{path.name}: holds no records"))
            digest = _digest(dataset.frame) if len(files) > 1 else ""
            if digest in digests and not dataset.frame.empty:
                raise SdtmInputError(
                    f"{digests[digest]} and {path}: the same {domain} records twice; keep "
                    "one (reading both would count every record twice)")
            digests[digest] = path
            if len(files) > 1:
                _no_overlap(domain, path, dataset.frame, keys_seen)
            # line_: the record's line (CSV: header on line 1; NDJSON: metadata on line
            # 1) or record number (XPT, JSON), for messages.
            first = 2 if file_format(path) in ("csv", "ndjson") else 1
            frames.append(dataset.frame.assign(
                file_=path.name, line_=range(first, first + len(dataset.frame))))
        if len(frames) > 1:
            study.notes.append((domain, "read from " + " and ".join(p.name for p in files)
                                + " (one domain split over several files)"))
        study.frames[domain] = (pd.concat(frames, ignore_index=True) if len(frames) > 1
                                else frames[0])
        study.files[domain] = files
    return study
