"""Load and validate a case folder.

A case is a folder of UTF-8 CSV files (see ``data/README.md``). :func:`validate_case`
returns every problem at once as ``file:line:column: message``; :func:`load_case` returns a
:class:`Case` of pandas DataFrames with event days resolved and lab units made canonical,
or raises :class:`CaseError` carrying the same problems. :func:`check_case` also returns
warnings (things validation could not check). Nothing here writes to the case folder.

Large inputs: tables are parsed by pandas' C reader and checked with vectorised rules, so a
million lab rows validate in seconds; progress lines go to a ``progress`` callback when the
case files are large. Within a ``casekit run`` the runner sets :data:`CACHE_ENV` to a
private folder of its own (see :func:`with_case_cache`): the case validated there is stored
once, keyed by the SHA-256 of the case files, and every notebook's :func:`load_case` reuses
it instead of validating again. Without the variable (interactive use) nothing is cached.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import difflib
import functools
import hashlib
import io
import os
import pickle
import re
import shutil
import stat
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from casekit import render
from casekit.case import schema, units
from casekit.case.timeline import AnchorError, cycle_path, resolve_days
from casekit.scratch import make_scratch


#: Environment variable naming the folder where validated cases are cached for a run.
CACHE_ENV = "CASEKIT_CASE_CACHE"
#: Set to ``1`` by ``--follow-symlinks`` (validate, run, series): case folders may then be,
#: or hold, symbolic links. An environment variable so that the run's kernels and the
#: series' Dask workers, which load the case again, follow the same choice.
FOLLOW_ENV = "CASEKIT_FOLLOW_SYMLINKS"
#: Case files this large (all together) get progress lines while they are validated.
PROGRESS_BYTES = 20_000_000
WARNING = "warning"

# The csv module stops at a field of more than 131,072 characters (_csv.Error: a traceback
# out of validate); pandas reads such a cell, and a case may hold one (a pasted abstract).
# The limit is per process (no reader takes its own), so it is lifted here, once, for every
# csv reader of casekit (case files, and the run's tables that report.html reads back).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a case, located as an editor would: 1-based line and column.

    ``severity`` is ``"error"`` (the case is invalid) or ``"warning"`` (valid, but something
    could not be checked)."""

    file: str
    line: int
    column: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        # One line whatever the message quotes from the case: a line break in a cell would
        # forge a problem line of its own, an escape sequence act on the terminal.
        prefix = "warning: " if self.severity == WARNING else ""
        return render.line(f"{self.file}:{self.line}:{self.column}: {prefix}{self.message}")


@dataclass(frozen=True)
class Findings:
    """What validation found: ``errors`` make a case invalid, ``warnings`` do not."""

    errors: list[Problem]
    warnings: list[Problem]


class CaseError(ValueError):
    """A case folder that does not follow the format; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class _Table:
    """A file read as text, with the physical line of each row for messages (counted only
    when a message needs one: a large file read by pandas has none to spare)."""

    path: str
    frame: pd.DataFrame
    header: list[str]
    file: Path
    _lines: list[int] | None = None
    has_example: bool = True  # False: the file does not hold the new-case marker at all

    @property
    def lines(self) -> list[int]:
        if self._lines is None:
            text = self.file.read_bytes().decode("utf-8-sig")
            self._lines = [line for line, record in csv_records(text)
                           if len(record) == len(self.header)][1:]  # [0] is the header
        return self._lines

    def where(self, row: int | None, column: str | None) -> tuple[int, int]:
        line = 1 if row is None else self.lines[row]
        col = self.header.index(column) + 1 if column in self.header else 1
        return line, col


class _Progress:
    """Progress lines for large inputs (``echo`` None: silent), with the time so far."""

    def __init__(self, echo: Callable[[str], None] | None, size: int):
        self.echo = echo if size >= PROGRESS_BYTES else None
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.echo is not None:
            self.echo(f"[{time.perf_counter() - self.start:5.1f} s] {message}")


@dataclass(frozen=True)
class Case:
    """A loaded case. Every frame keeps ``status`` and ``source`` for provenance.

    - ``facts``: key, value, unit, status, source (values as text; see :meth:`fact`)
    - ``timeline``: the file's columns plus ``day``, sorted by day
    - ``labs``: event_id, day, test, value (float, canonical unit), unit, status, source,
      value_as_reported, unit_as_reported
    - ``lesions``: the file's columns plus ``day``, ``size_cm`` as float (NaN if unmeasured)
    - ``responses``, ``claims``: as in the files (empty frames with the columns if absent)
    """

    path: Path
    facts: pd.DataFrame
    timeline: pd.DataFrame
    labs: pd.DataFrame
    lesions: pd.DataFrame
    responses: pd.DataFrame
    claims: pd.DataFrame
    source_text: str | None = field(default=None, repr=False)

    def fact(self, key: str, default: str | None = None) -> str | None:
        """The value of a fact, or ``default`` when the case does not state it (or leaves it empty)."""
        value = self._first_values.get(key, "")
        return value if value != "" else default

    @functools.cached_property
    def _first_values(self) -> dict[str, str]:
        # Looked up many times per derivation; a case's frames are not changed once loaded.
        first: dict[str, str] = {}
        for key, value in zip(self.facts["key"], self.facts["value"]):
            first.setdefault(key, value)
        return first

    def fact_number(self, key: str) -> float | None:
        """A numeric fact as float, or None when absent."""
        value = self.fact(key)
        return None if value is None else float(value)

    @property
    def facts_dict(self) -> dict[str, str]:
        """Stated facts as {key: value}, leaving out empty values."""
        stated = self.facts[self.facts["value"] != ""]
        return dict(zip(stated["key"], stated["value"]))

    @property
    def title(self) -> str:
        return self.fact("title", "")

    def day_of(self, event_id: str) -> int:
        return int(self.timeline.set_index("event_id").at[event_id, "day"])

    def vital_event(self, category: str) -> tuple[str, int] | None:
        """``(event_id, day)`` of the case's ``death`` or ``last_known_alive`` event, or
        None when the case states none (validation allows at most one of each)."""
        return self._vital_events.get(category)

    @functools.cached_property
    def _vital_events(self) -> dict[str, tuple[str, int]]:
        vital = self.timeline[self.timeline["category"].isin(schema.VITAL_CATEGORIES)]
        found: dict[str, tuple[str, int]] = {}
        for event, category, day in zip(vital["event_id"], vital["category"], vital["day"]):
            found.setdefault(str(category), (str(event), int(day)))
        return found


# ---------------------------------------------------------------- reading


def csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(physical line where the record starts, fields) for every record that is not blank."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    for record in reader:
        if any(cell.strip() for cell in record):
            yield start, record
        start = reader.line_num + 1


# Columns that hold numbers: an unquoted decimal comma there splits one value into two.
_NUMERIC_COLUMNS = {"facts.csv": ("value",), "timeline.csv": ("offset_days",),
                    "labs.csv": ("value",), "lesions.csv": ("size_cm",),
                    "claims.csv": ("expected", "tolerance"),
                    "trials.csv": ("estimate", "ci_low", "ci_high")}


def _ragged_message(name: str, header: list[str], record: list[str]) -> tuple[int, str]:
    """Column and message for a row with the wrong number of fields."""
    base = f"row has {len(record)} fields but the header has {len(header)}"
    if len(record) == len(header) + 1:
        for i, column in enumerate(header):
            if (column in _NUMERIC_COLUMNS.get(name, ())
                    and re.fullmatch(r"-?[0-9]+", record[i].strip())
                    and re.fullmatch(r"[0-9]+", record[i + 1].strip())):
                a, b = record[i].strip(), record[i + 1].strip()
                return i + 1, (f"{base}: {column} '{a},{b}' looks like a number with a decimal "
                               f"comma; write {a}.{b} (a comma separates fields)")
    return min(len(record), len(header)) + 1, base + "; quote values that contain commas"


def _read(folder: Path, name: str, label: str, problems: list[Problem],
          progress: _Progress) -> _Table | None:
    """Read one CSV as text, reporting encoding, emptiness and ragged rows."""
    path = folder / name
    shown = f"{label}/{name}"
    raw = path.read_bytes()
    progress(f"reading {name} ({len(raw) / 1e6:.0f} MB)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.append(Problem(shown, line, col, "is not UTF-8 text; save the file as UTF-8"))
        return None
    if not text.strip():
        problems.append(Problem(shown, 1, 1, "file is empty; expected a header row: "
                                + ",".join(schema.columns(name))))
        return None
    bare = _bare_carriage_return(raw, text)
    if bare is not None:
        problems.append(Problem(shown, *bare))
        return None
    header = [h.strip() for h in next(csv_records(text[:1_000_000]), (1, [""]))[1]]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    for name_ in duplicated:
        problems.append(Problem(shown, 1, header.index(name_) + 1,
                                f"column '{name_}' appears twice in the header"))
    if duplicated:
        return None
    del text  # the fast path parses the bytes; keep one copy of a large file in memory
    frame = _parse_fast(raw, header)
    has_example = schema.EXAMPLE_MARKER.encode() in raw
    if frame is not None:
        return _Table(shown, frame, header, path, has_example=has_example)
    # A ragged file: read it record by record to say where, and keep the good rows.
    rows, lines = [], []
    records = csv_records(raw.decode("utf-8-sig"))
    next(records, None)  # the header
    for start, record in records:
        if len(record) != len(header):
            column, message = _ragged_message(name, header, record)
            problems.append(Problem(shown, start, column, message))
        else:
            rows.append([cell.strip() for cell in record])
            lines.append(start)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return _Table(shown, frame, header, path, lines, has_example)


def _bare_carriage_return(raw: bytes, text: str) -> tuple[int, int, str] | None:
    """``(line, column, message)`` of the first carriage return not followed by a line feed,
    or None. pandas' reader ends a row at such a CR, the row counts here and editors do not
    (nor, inside a quoted value, do all spreadsheets), so the rows and their line numbers
    would disagree; the file is refused instead of read one way or the other. Lines are
    counted by LF, as editors and ``grep -n`` do."""
    if raw.count(b"\r") == raw.count(b"\r\n"):  # two C scans: the usual case costs little
        return None
    found = [m.start() for m in re.finditer(r"\r(?!\n)", text)]
    at = found[0]
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    more = f" ({len(found)} in this file)" if len(found) > 1 else ""
    return line, column, ("carriage return (CR) without a line feed" + more + "; casekit "
                          "reads lines ended by LF or CRLF only, also inside quoted values: "
                          "remove it, or save the file with LF line ends")


def _every_row_has(raw: bytes, fields: int) -> bool:
    """Whether every record that is not blank has ``fields`` fields. pandas pads a short
    row with empty cells without a word, so this is counted here: by commas per line when
    the file has no quotes (fast), else by the csv module."""
    if b'"' in raw:
        return all(len(record) == fields for _, record in csv_records(raw.decode("utf-8-sig")))
    commas = fields - 1
    for line in io.BytesIO(raw):
        if line.count(b",") != commas and line.strip(b", \t\r\n"):
            return False
    return True


_STRIP = np.frompyfunc(str.strip, 1, 1)


def _parse_fast(raw: bytes, header: list[str]) -> pd.DataFrame | None:
    """Every cell as stripped text, parsed by pandas' C reader; None when a row has the
    wrong number of fields (the caller then locates them)."""
    if not _every_row_has(raw, len(header)):
        return None
    try:
        with warnings.catch_warnings():
            # pandas only warns when the first row has an extra field: make it an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype=str, header=0,
                                index_col=False, keep_default_na=False, na_filter=False,
                                skip_blank_lines=True, engine="c")
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError):
        return None
    if len(frame.columns) != len(header):
        return None  # an unusual header
    # Every cell stripped in one C-level loop over the whole table (a per-column
    # ``.str.strip()`` costs far more on the many small tables of a series).
    frame = pd.DataFrame(_STRIP(frame.to_numpy(dtype=object)), columns=header, dtype=object)
    maybe_blank = frame[header[0]] == ""
    if maybe_blank.any():  # a record of empty cells, which the record reader skips too
        blank = maybe_blank & (frame == "").all(axis=1)
        frame = frame[~blank]
    return frame.reset_index(drop=True)


def _passes_schema(frame: pd.DataFrame, table_schema: pa.DataFrameSchema) -> bool:
    """Whether ``frame`` passes ``table_schema`` for certain, by calling the schema's own
    vectorised check functions directly. pandera's machinery costs about 1 ms per check
    however small the table (half of a series' analysis time); its lazy run is needed only
    to report failures, so it runs when this returns False. Anything this does not model
    (schema-level, element-wise or grouped checks, regex or optional columns, missing
    cells) returns False and leaves the verdict to pandera."""
    columns = table_schema.columns
    if (table_schema.checks or set(frame.columns) != set(columns)
            or len(frame.columns) != len(columns)):
        return False
    for column_name, column in columns.items():
        if column.regex or not column.required or column.dtype is not None:
            return False
        cells = frame[column_name]
        if cells.isna().any():
            return False
        for check in column.checks:
            if check.element_wise or check.groupby is not None or check._check_kwargs:
                return False
            verdict = check._check_fn(cells)
            ok = verdict.all() if isinstance(verdict, pd.Series) else verdict
            if not isinstance(ok, (bool, np.bool_)) or not ok:
                return False
    return True


def _schema_problems(table: _Table, name: str) -> list[Problem]:
    """Run the pandera schema of ``name`` lazily and turn each failure into a Problem."""
    if _passes_schema(table.frame, schema.SCHEMAS[name]):
        return []
    try:
        schema.SCHEMAS[name].validate(table.frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    found, missing = [], []
    expected = ",".join(schema.columns(name))
    for case in cases.itertuples(index=False):
        value = "" if case.failure_case is None else str(case.failure_case)
        if case.check == "column_in_schema":
            line, col = 1, table.header.index(value) + 1
            msg = f"unknown column '{value}'; the columns of {name} are: {expected}"
        elif case.check == "column_in_dataframe":
            missing.append(value)
            continue
        elif case.check.startswith("dtype"):
            continue  # every cell is read as text; an empty table has no dtype to check
        else:
            row = None if pd.isna(case.index) else int(case.index)
            line, col = table.where(row, case.column)
            msg = f"{case.column}: " + case.check.replace("{value}", value)
        found.append(Problem(table.path, line, col, msg))
    if missing:
        names = ", ".join(f"'{m}'" for m in sorted(missing))
        found.append(Problem(table.path, 1, len(table.header) + 1,
                             f"missing column{'s' if len(missing) > 1 else ''} {names}; "
                             f"the columns of {name} are: {expected}"))
    return found


# ------------------------------------------------------- relational checks


def _duplicates(table: _Table, keys: list[str], what: str) -> list[Problem]:
    if table.frame.empty:
        return []
    dup = table.frame.duplicated(subset=keys, keep="first")
    return [Problem(table.path, *table.where(i, keys[0]),
                    f"duplicate {what} {'/'.join(table.frame.loc[i, keys])}; "
                    f"each {what} may appear once")
            for i in table.frame.index[dup]]


def _suggestion(word: str, known) -> str:
    """'; did you mean `ct_w8`?' for the nearest known id, or ''."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _unknown_events(table: _Table, events: set[str], column: str = "event_id") -> list[Problem]:
    col = table.frame[column]
    unknown = (col != "") & ~col.isin(events)
    hint = functools.lru_cache(maxsize=None)(lambda e: _suggestion(e, events))
    return [Problem(table.path, *table.where(i, column),
                    f"{column} '{col[i]}' is not an event in timeline.csv{hint(col[i])}")
            for i in col.index[unknown]]


def _whole_days(series: pd.Series) -> pd.Series:
    whole = series.str.fullmatch(r"-?[0-9]+").fillna(False).astype(bool)
    return pd.to_numeric(series.where(whole, None), errors="coerce").astype("float64")


def _timeline_problems(table: _Table) -> tuple[list[Problem], dict[str, int]]:
    frame = table.frame
    if frame.empty:
        return [Problem(table.path, 1, 1, "no events; expected at least a root event "
                        "(empty anchor)")], {}
    problems = _duplicates(table, ["event_id"], "event_id")
    offsets = _whole_days(frame["offset_days"])
    if problems or not (offsets.abs() <= schema.MAX_OFFSET_DAYS).all():
        return problems, {}  # the schema reports each bad offset
    try:
        days = resolve_days(frame)
    except AnchorError as exc:
        events = set(frame["event_id"])
        for event in exc.event_ids:
            i = frame.index[frame["event_id"] == event][0]
            if exc.missing:
                anchor = frame.at[i, "anchor"]
                msg = (f"anchor '{anchor}' is not an event in timeline.csv; expected the id "
                       f"of another event, or empty for the root{_suggestion(anchor, events)}")
            else:
                path = cycle_path(frame, event)
                what = "anchors form a cycle" if path[-1] == event else "anchor chain runs into a cycle"
                msg = (f"{what} ({' -> '.join(path)}); every chain of anchors must end at a "
                       "root event")
            problems.append(Problem(table.path, *table.where(i, "anchor"), msg))
        return problems, {}
    for i, event in frame["event_id"].items():  # a chain of long offsets adds up
        if abs(days[event]) > schema.MAX_OFFSET_DAYS:
            problems.append(Problem(table.path, *table.where(i, "offset_days"),
                                    f"event '{event}' falls on day {days[event]}, beyond "
                                    f"{schema.MAX_OFFSET_DAYS} days (100 years) from day 0"))
    if not problems:
        problems += _vital_problems(table, days)
    return problems, ({} if problems else days)


def _vital_problems(table: _Table, days: dict[str, int]) -> list[Problem]:
    """At most one death and one last-known-alive event; nothing after the death (a scan
    or a lab on a later day is a typo in a day or in the death); known alive not after
    the death."""
    frame, problems = table.frame, []
    for category in schema.VITAL_CATEGORIES:
        rows = frame.index[frame["category"] == category]
        for i in rows[1:]:
            problems.append(Problem(table.path, *table.where(i, "category"),
                                    f"a second '{category}' event ('{frame.at[i, 'event_id']}'); "
                                    f"a case has at most one (the first is "
                                    f"'{frame.at[rows[0], 'event_id']}')"))
    deaths = frame.index[frame["category"] == "death"]
    if len(deaths):
        death_id = frame.at[deaths[0], "event_id"]
        for i, event in frame["event_id"].items():
            if days[event] > days[death_id]:
                problems.append(Problem(table.path, *table.where(i, "offset_days"),
                                        f"event '{event}' falls on day {days[event]}, after "
                                        f"the death '{death_id}' on day {days[death_id]}"))
    return problems


def _lab_problems(table: _Table) -> list[Problem]:
    """Duplicates, units by test, and values beyond the test's sanity limit (vectorised:
    a million rows is a few pandas operations, and a Python loop over the bad rows only)."""
    found = _duplicates(table, ["event_id", "test"], "event/test")
    frame = table.frame
    known = frame["test"].isin(list(units.UNITS))
    normalised = frame["unit"].map({u: units.normalise_unit(u) for u in frame["unit"].unique()})
    pair = frame["test"] + "\x1f" + normalised
    factors = {f"{test}\x1f{unit}": factor
               for test, (_, accepted) in units.UNITS.items() for unit, factor in accepted.items()}
    for i in frame.index[known & ~pair.isin(list(factors))]:
        test, unit = frame.at[i, "test"], frame.at[i, "unit"]
        found.append(Problem(table.path, *table.where(i, "unit"),
                             f"unit '{unit}' is not known for {test}; expected one of: "
                             + ", ".join(units.accepted_units(test))))
    canonical = schema.numbers(frame["value"]) * pair.map(factors).astype("float64")
    limit = frame["test"].map(schema.LAB_LIMITS).astype("float64")
    for i in frame.index[canonical > limit]:
        test = frame.at[i, "test"]
        found.append(Problem(table.path, *table.where(i, "value"),
                             f"{test} {frame.at[i, 'value']} {frame.at[i, 'unit']} is above the "
                             f"sanity limit of {schema.LAB_LIMITS[test]:g} "
                             f"{units.UNITS[test][0]} (data/README.md); check the value and "
                             "its unit"))
    return found


def _lesion_problems(table: _Table) -> list[Problem]:
    found = _duplicates(table, ["event_id", "lesion_id", "measure"], "event/lesion/measure")
    frame = table.frame
    unpaired = (frame["measure"] == "") != (frame["size_cm"] == "")
    for i in frame.index[unpaired]:
        col = "measure" if frame.at[i, "measure"] == "" else "size_cm"
        found.append(Problem(table.path, *table.where(i, col),
                             "size_cm and measure go together; give both or leave both empty"))
    unassessed = frame["role"].isin(["non_target", "new"]) & (frame["assessment"] == "")
    for i in frame.index[unassessed]:
        found.append(Problem(table.path, *table.where(i, "assessment"),
                             f"a {frame.at[i, 'role']} lesion needs an assessment; expected "
                             f"one of: {', '.join(schema.LESION_ASSESSMENTS)}"))
    return found


def _fact_problems(table: _Table) -> list[Problem]:
    frame = table.frame
    found = _duplicates(table, ["key"], "key")
    if "title" not in set(frame["key"]):
        found.append(Problem(table.path, 1, 1, "no 'title' fact; every case needs a title"))
    for i, row in frame.iterrows():
        key, value = row["key"], row["value"]
        if value == "":
            continue
        if key in schema.FACT_VOCABULARY and value not in schema.FACT_VOCABULARY[key]:
            found.append(Problem(table.path, *table.where(i, "value"),
                                 f"'{value}' is not a known value of {key}; expected one of: "
                                 + ", ".join(schema.FACT_VOCABULARY[key])))
        if key == "criteria":  # read by casekit.rules.criteria, which refuses other names
            names = [n.strip() for n in value.split(schema.FACT_CRITERIA_SEPARATOR)]
            unknown = [n for n in names if n and n not in schema.RESPONSE_CRITERIA]
            if unknown or not any(names):
                what = (", ".join(f"'{n}'" for n in unknown) + " is not a response criteria"
                        if unknown else f"'{value}' names no response criteria")
                found.append(Problem(table.path, *table.where(i, "value"),
                                     f"criteria: {what}; expected names from "
                                     + ", ".join(schema.RESPONSE_CRITERIA) + " separated by "
                                     f"'{schema.FACT_CRITERIA_SEPARATOR}'"))
        if key in schema.FACT_DATES and not _calendar_date(value):
            found.append(Problem(table.path, *table.where(i, "value"),
                                 f"{key} '{value}' is not a calendar date; expected "
                                 "YYYY-MM-DD (ISO 8601), e.g. 2021-03-15"))
        if key in schema.FACT_NUMBERS:
            if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
                hint = ("has a thousands separator; write the plain number"
                        if re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?", value)
                        else "has a decimal comma; write a decimal point"
                        if schema.DECIMAL_COMMA.fullmatch(value)
                        else "expected a plain non-negative number")
                found.append(Problem(table.path, *table.where(i, "value"),
                                     f"{key} '{value}' {hint}"))
            elif float(value) == float("inf"):
                found.append(Problem(table.path, *table.where(i, "value"),
                                     f"{key} '{value if len(value) <= 20 else value[:20] + '…'}' is too large: it overflows to "
                                     "infinity; expected a finite number"))
            elif float(value) > schema.FACT_LIMITS.get(key, float("inf")):
                found.append(Problem(table.path, *table.where(i, "value"),
                                     f"{key} '{value}' is above its sanity limit of "
                                     f"{schema.FACT_LIMITS[key]:g} (data/README.md)"))
    return found


def _calendar_date(text: str) -> bool:
    """``YYYY-MM-DD`` naming a day that exists (2021-02-30 does not)."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _claim_problems(table: _Table) -> list[Problem]:
    """Duplicates, and an ordering comparator (lt, le, gt, ge) whose expected value is not
    a number (it would only fail when notebook 07 runs)."""
    found = _duplicates(table, ["claim_id"], "claim_id")
    frame = table.frame
    ordering = frame["comparator"].isin(["lt", "le", "gt", "ge"])
    number = frame["expected"].str.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
    for i in frame.index[ordering & ~number.fillna(False).astype(bool)]:
        if schema.DECIMAL_COMMA.fullmatch(frame.at[i, "expected"]) or frame.at[i, "expected"] == "":
            continue  # the schema already says so
        found.append(Problem(table.path, *table.where(i, "expected"),
                             f"expected '{frame.at[i, 'expected']}' is not a number; comparator "
                             f"{frame.at[i, 'comparator']} compares numbers"))
    return found


def _trial_problems(table: _Table) -> list[Problem]:
    """An estimate outside its own confidence interval (ci_low <= estimate <= ci_high)."""
    found = []
    frame = table.frame
    number = r"[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"
    for i in frame.index:
        cells = {c: frame.at[i, c] for c in ("ci_low", "estimate", "ci_high")}
        if not all(re.fullmatch(number, v) for v in cells.values() if v != ""):
            continue  # the schema already says what is wrong with the cell
        low, est, high = (float(cells[c]) if cells[c] != "" else None
                          for c in ("ci_low", "estimate", "ci_high"))
        if est is None:
            continue
        if (low is not None and low > est) or (high is not None and est > high):
            found.append(Problem(table.path, *table.where(i, "estimate"),
                                 f"estimate {cells['estimate']} lies outside its confidence "
                                 f"interval {cells['ci_low'] or '?'} to {cells['ci_high'] or '?'}"))
    return found


def _example_rows(table: _Table) -> list[Problem]:
    """Rows that ``casekit new-case`` wrote as examples and nobody replaced."""
    if "source" not in table.frame or not table.has_example:
        return []
    marked = table.frame["source"].str.startswith(schema.EXAMPLE_MARKER).fillna(False)
    return [Problem(table.path, *table.where(i, "source"),
                    "this is an EXAMPLE row written by casekit new-case; replace it with the "
                    "case's data or delete it")
            for i in table.frame.index[marked.astype(bool)]]


def _normalised(text: str) -> str:
    """Fold hyphens and white space so a snippet matches across the PDF's line breaks."""
    joined = re.sub(r"-[ \t]*\n\s*", "", text)  # "intrahe-\n\npatic" -> "intrahepatic"
    return re.sub(r"\s+", " ", joined.replace("-", "")).strip()


def _reported(frame: pd.DataFrame) -> pd.Series:
    """Rows whose source must quote the paper (responses.csv has no status: all of them)."""
    return frame["status"] == "reported" if "status" in frame else pd.Series(True, frame.index)


def _snippet_problems(table: _Table, haystack: str) -> list[Problem]:
    """Every 'reported' source must be findable in the case's source.txt (normalised)."""
    found = []
    frame = table.frame
    seen: dict[str, bool] = {}  # a snippet quoted on many rows is searched for once
    for i in frame.index[_reported(frame)]:
        snippet = frame.at[i, "source"]
        if snippet and snippet not in seen:
            seen[snippet] = _normalised(snippet) in haystack
        if snippet and not seen[snippet]:
            found.append(Problem(table.path, *table.where(i, "source"),
                                 "reported source is not a verbatim snippet of source.txt; "
                                 "quote the paper's words exactly"))
    return found


# ------------------------------------------------------------- symbolic links


def following_links() -> bool:
    """Whether the user allowed symbolic links in case folders (``--follow-symlinks``)."""
    return os.environ.get(FOLLOW_ENV) == "1"


def link_problems(folder: str | Path, follow: bool | None = None) -> list[Problem]:
    """A case folder is read, not followed: one problem for the folder when it is itself a
    symbolic link, else one per link inside it (at any depth, hidden entries aside, as
    :func:`casekit.run.manifest.hash_tree` reads them), each naming where it points.
    Nothing is read through a link: a case is checked before any of its files is opened.
    ``follow`` (default: :func:`following_links`) True allows them all."""
    if following_links() if follow is None else follow:
        return []
    label = str(folder).rstrip("/") or "/"
    how = ("a case folder is read, not followed: casekit never reads a file outside it; "
           "{fix}, or pass --follow-symlinks")
    if os.path.islink(label):
        return [Problem(label, 1, 1, f"is a symbolic link (to {os.readlink(label)}); "
                        + how.format(fix="give the folder it points to"))]
    found = []
    for root, dirs, files in os.walk(label):  # never descends into a linked folder
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(dirs + [f for f in files if not f.startswith(".")]):
            path = os.path.join(root, name)
            if os.path.islink(path):
                found.append(Problem(path, 1, 1, f"is a symbolic link (to "
                                     f"{os.readlink(path)}); "
                                     + how.format(fix="copy the file into the folder")))
    return found


def refuse_links(folder: str | Path) -> None:
    """:func:`link_problems` as a :class:`CaseError` (for readers of single case files)."""
    problems = link_problems(folder)
    if problems:
        raise CaseError(problems)


# ------------------------------------------------------------- public API

_CASE_FILES = schema.REQUIRED_FILES + schema.OPTIONAL_FILES
_QUOTED = ("facts.csv", "timeline.csv", "labs.csv", "lesions.csv", "responses.csv", "trials.csv")


@dataclass
class _Checked:
    tables: dict[str, _Table]
    findings: Findings
    days: dict[str, int]
    source_text: str | None


def _check(folder: Path, echo: Callable[[str], None] | None = None,
           links_checked: bool = False) -> _Checked:
    label = str(folder).rstrip("/")
    problems: list[Problem] = []
    warnings: list[Problem] = []
    links = [] if links_checked else link_problems(folder)
    if links:  # nothing is read through a link
        return _Checked({}, Findings(links, []), {}, None)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        return _Checked({}, Findings([Problem(label, 1, 1, f"{what}; expected a case folder "
                                              "of CSV files")], []), {}, None)
    size = sum((folder / n).stat().st_size for n in _CASE_FILES if (folder / n).is_file())
    progress = _Progress(echo, size)
    tables: dict[str, _Table] = {}
    for name in _CASE_FILES:
        if not (folder / name).is_file():
            if name in schema.REQUIRED_FILES:
                problems.append(Problem(f"{label}/{name}", 1, 1, "file is missing; every case "
                                        "needs facts.csv, timeline.csv, labs.csv and lesions.csv"))
            continue
        table = _read(folder, name, label, problems, progress)
        if table is None:
            continue
        progress(f"checking {name}: {len(table.frame):,} rows")
        schema_found = _schema_problems(table, name)
        problems += schema_found
        if not any(p.line == 1 and "column" in p.message for p in schema_found):
            tables[name] = table  # only tables with the right columns get relational checks

    progress("checking the relations between the tables")
    days: dict[str, int] = {}
    if "timeline.csv" in tables:
        found, days = _timeline_problems(tables["timeline.csv"])
        problems += found
    events = set(tables["timeline.csv"].frame["event_id"]) if "timeline.csv" in tables else None
    checks = {"facts.csv": _fact_problems, "labs.csv": _lab_problems,
              "lesions.csv": _lesion_problems,
              "responses.csv": lambda t: _duplicates(t, ["event_id", "criteria"], "event/criteria"),
              "claims.csv": _claim_problems, "trials.csv": _trial_problems}
    for name, check in checks.items():
        if name in tables:
            problems += check(tables[name])
            if events is not None and name not in ("facts.csv", "trials.csv"):
                problems += _unknown_events(tables[name], events)
    for table in tables.values():
        problems += _example_rows(table)
    source_text = None
    if (folder / "source.txt").is_file():
        source_text = (folder / "source.txt").read_text(encoding="utf-8-sig")
        haystack = _normalised(source_text)
        for name in _QUOTED:
            if name in tables:
                problems += _snippet_problems(tables[name], haystack)
    else:
        unchecked = sum(int(_reported(tables[n].frame).sum()) for n in _QUOTED if n in tables)
        if unchecked:
            warnings.append(Problem(
                f"{label}/source.txt", 1, 1,
                f"{unchecked} reported row(s) cannot be checked against the paper: there is "
                "no source.txt; put the paper's text there to check every snippet",
                severity=WARNING))
    progress(f"checked: {len(set(problems))} problem(s)")
    return _Checked(tables, Findings(sorted(set(problems)), warnings), days, source_text)


def check_case(folder: str | Path, progress: Callable[[str], None] | None = None) -> Findings:
    """Errors and warnings of a case folder, each sorted by file and line.

    ``progress`` receives progress lines when the case files are large (over
    :data:`PROGRESS_BYTES`). Reads only, and nothing through a symbolic link
    (:func:`link_problems`); never writes to the folder. Inside a run (when
    :data:`CACHE_ENV` names a folder) a valid case is also stored for :func:`load_case`.
    """
    folder = Path(folder)
    checked = _check(folder, progress)
    if not checked.findings.errors:
        cache = _cache_file(folder)
        if cache is not None and not cache.exists():
            _store(cache, _build(folder, checked))
    return checked.findings


def validate_case(folder: str | Path, progress: Callable[[str], None] | None = None
                  ) -> list[Problem]:
    """Every error of a case folder, sorted by file and line; empty when the case is valid.

    Reads only; never writes to the folder. Warnings: :func:`check_case`.
    """
    return check_case(folder, progress).errors


def load_case(folder: str | Path) -> Case:
    """Load a valid case folder into a :class:`Case`, or raise :class:`CaseError`.

    Inside a run the case validated by the runner is reused (see :data:`CACHE_ENV`).
    A folder that is or holds a symbolic link is refused (:func:`link_problems`).
    """
    folder = Path(folder)
    refuse_links(folder)  # before the cache key is computed from the files' bytes
    cache = _cache_file(folder)
    if cache is not None and cache.is_file():
        with contextlib.suppress(Exception):  # an unreadable entry: validate afresh
            with cache.open("rb") as handle:
                case = pickle.load(handle)
            if isinstance(case, Case):
                return replace(case, path=folder)
    checked = _check(folder, links_checked=True)  # refuse_links above walked the folder
    if checked.findings.errors:
        raise CaseError(checked.findings.errors)
    case = _build(folder, checked)
    if cache is not None:
        _store(cache, case)
    return case


def _build(folder: Path, checked: _Checked) -> Case:
    """The :class:`Case` of a folder that passed validation."""
    tables, days = checked.tables, checked.days

    def frame(name: str) -> pd.DataFrame:
        if name in tables:
            return tables[name].frame.reset_index(drop=True)
        return pd.DataFrame({c: pd.Series(dtype=object) for c in schema.columns(name)})

    def with_day(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        df.insert(1, "day", df["event_id"].map(days).astype("int64"))
        return df.sort_values("day", kind="stable").reset_index(drop=True)

    timeline = frame("timeline.csv").copy()
    timeline["offset_days"] = timeline["offset_days"].astype("int64")
    timeline["day"] = timeline["event_id"].map(days).astype("int64")
    timeline = timeline.sort_values(["day"], kind="stable").reset_index(drop=True)

    labs = frame("labs.csv")
    labs = labs.rename(columns={"value": "value_as_reported", "unit": "unit_as_reported"})
    # Convert once per distinct (test, value, unit), not once per row.
    convert = functools.lru_cache(maxsize=None)(
        lambda t, v, u: units.to_canonical(t, float(v), u))
    converted = [convert(t, v, u) for t, v, u in
                 zip(labs["test"], labs["value_as_reported"], labs["unit_as_reported"])]
    labs["value"] = pd.Series([c[0] for c in converted], index=labs.index, dtype="float64")
    labs["unit"] = pd.Series([c[1] for c in converted], index=labs.index, dtype=object)
    labs = with_day(labs[["event_id", "test", "value", "unit", "status", "source",
                          "value_as_reported", "unit_as_reported"]])

    lesions = frame("lesions.csv")
    lesions["size_cm"] = pd.to_numeric(lesions["size_cm"].replace("", None)).astype("float64")
    lesions = with_day(lesions)

    return Case(path=folder, facts=frame("facts.csv"), timeline=timeline, labs=labs,
                lesions=lesions, responses=frame("responses.csv"), claims=frame("claims.csv"),
                source_text=checked.source_text)


# ------------------------------------------------------------------ cache


def _case_digest(folder: Path) -> str:
    """SHA-256 of every file validation reads (names and bytes) and of this code's version."""
    import casekit

    sha = hashlib.sha256(f"casekit {casekit.__version__}\n".encode())
    for name in (*_CASE_FILES, "source.txt"):
        path = folder / name
        if path.is_file():
            sha.update(f"{name}\n".encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    sha.update(block)
    return sha.hexdigest()


def _cache_file(folder: Path) -> Path | None:
    """Where the validated case is cached in this run, or None (no run, or a folder that is
    not a private one of this user: a pickle is only ever read from such a folder)."""
    where = os.environ.get(CACHE_ENV)
    if not where or not folder.is_dir() or not _private_folder(where):
        return None
    return Path(where) / f"{_case_digest(folder)}.pickle"


def _private_folder(where: str) -> bool:
    """An existing folder of this user that nobody else can write into."""
    try:
        info = os.stat(where)
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _store(cache: Path, case: Case) -> None:
    from casekit.outputs import write_bytes

    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
        write_bytes(cache, pickle.dumps(case, protocol=pickle.HIGHEST_PROTOCOL))


@contextlib.contextmanager
def case_cache() -> Iterator[Path]:
    """Cache validated cases in a private temporary folder for the block (and for kernels
    started inside it, through :data:`CACHE_ENV`); removed afterwards."""
    outer = os.environ.get(CACHE_ENV)
    if outer and _private_folder(outer):  # nested: reuse the outer run's cache
        yield Path(outer)
        return
    # mode 0700; a run killed outright leaves it to the next run's sweep (casekit.scratch)
    folder, owner = make_scratch("case-cache")
    os.environ[CACHE_ENV] = str(folder)
    try:
        yield folder
    finally:
        if outer is None:
            os.environ.pop(CACHE_ENV, None)
        else:  # a stale value from outside: put it back as it was
            os.environ[CACHE_ENV] = outer
        shutil.rmtree(folder, ignore_errors=True)
        os.close(owner)


def with_case_cache(func):
    """Decorator: run ``func`` inside :func:`case_cache` (the runner's entry points)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with case_cache():
            return func(*args, **kwargs)

    return wrapper
