"""Load and validate a case folder.

A case is a folder of UTF-8 CSV files (see ``data/README.md``). :func:`validate_case`
returns every problem at once as ``file:line:column: message``; :func:`load_case` returns a
:class:`Case` of pandas DataFrames with event days resolved and lab units made canonical,
or raises :class:`CaseError` carrying the same problems. Nothing here writes to the folder.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from casekit.case import schema, units
from casekit.case.timeline import AnchorError, cycle_path, resolve_days


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a case, located as an editor would: 1-based line and column."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class CaseError(ValueError):
    """A case folder that does not follow the format; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class _Table:
    """A file read as text, with the physical line of each row for messages."""

    path: str
    frame: pd.DataFrame
    lines: list[int]
    header: list[str]

    def where(self, row: int | None, column: str | None) -> tuple[int, int]:
        line = 1 if row is None else self.lines[row]
        col = self.header.index(column) + 1 if column in self.header else 1
        return line, col


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
        hit = self.facts.loc[self.facts["key"] == key, "value"]
        return hit.iloc[0] if len(hit) and hit.iloc[0] != "" else default

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


# ---------------------------------------------------------------- reading


def _read(folder: Path, name: str, label: str, problems: list[Problem]) -> _Table | None:
    """Read one CSV as text, reporting encoding, emptiness and ragged rows."""
    path = folder / name
    shown = f"{label}/{name}"
    raw = path.read_bytes()
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
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader)]
    rows, lines = [], []
    start = reader.line_num + 1
    for record in reader:
        if not any(cell.strip() for cell in record):
            start = reader.line_num + 1
            continue  # blank line
        if len(record) != len(header):
            problems.append(Problem(shown, start, min(len(record), len(header)) + 1,
                                    f"row has {len(record)} fields but the header has "
                                    f"{len(header)}; quote values that contain commas"))
        else:
            rows.append([cell.strip() for cell in record])
            lines.append(start)
        start = reader.line_num + 1
    duplicated = sorted({h for h in header if header.count(h) > 1})
    for name_ in duplicated:
        problems.append(Problem(shown, 1, header.index(name_) + 1,
                                f"column '{name_}' appears twice in the header"))
    if duplicated:
        return None
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    return _Table(shown, frame, lines, header)


def _schema_problems(table: _Table, name: str) -> list[Problem]:
    """Run the pandera schema of ``name`` lazily and turn each failure into a Problem."""
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


def _unknown_events(table: _Table, events: set[str], column: str = "event_id") -> list[Problem]:
    found = []
    for i, event in table.frame[column].items():
        if event and event not in events:
            found.append(Problem(table.path, *table.where(i, column),
                                 f"{column} '{event}' is not an event in timeline.csv"))
    return found


def _timeline_problems(table: _Table) -> tuple[list[Problem], dict[str, int]]:
    frame = table.frame
    if frame.empty:
        return [Problem(table.path, 1, 1, "no events; expected at least a root event "
                        "(empty anchor)")], {}
    problems = _duplicates(table, ["event_id"], "event_id")
    if problems or not frame["offset_days"].str.fullmatch(r"-?[0-9]+").all():
        return problems, {}
    try:
        return [], resolve_days(frame)
    except AnchorError as exc:
        for event in exc.event_ids:
            i = frame.index[frame["event_id"] == event][0]
            if exc.missing:
                msg = (f"anchor '{frame.at[i, 'anchor']}' is not an event in timeline.csv; "
                       "expected the id of another event, or empty for the root")
            else:
                path = cycle_path(frame, event)
                what = "anchors form a cycle" if path[-1] == event else "anchor chain runs into a cycle"
                msg = (f"{what} ({' -> '.join(path)}); every chain of anchors must end at a "
                       "root event")
            problems.append(Problem(table.path, *table.where(i, "anchor"), msg))
        return problems, {}


def _lab_problems(table: _Table) -> list[Problem]:
    found = _duplicates(table, ["event_id", "test"], "event/test")
    for i, row in table.frame.iterrows():
        accepted = units.accepted_units(row["test"])
        if accepted and units.normalise_unit(row["unit"]) not in accepted:
            found.append(Problem(table.path, *table.where(i, "unit"),
                                 f"unit '{row['unit']}' is not known for {row['test']}; "
                                 f"expected one of: {', '.join(accepted)}"))
    return found


def _lesion_problems(table: _Table) -> list[Problem]:
    found = _duplicates(table, ["event_id", "lesion_id", "measure"], "event/lesion/measure")
    for i, row in table.frame.iterrows():
        if (row["measure"] == "") != (row["size_cm"] == ""):
            col = "measure" if row["measure"] == "" else "size_cm"
            found.append(Problem(table.path, *table.where(i, col),
                                 "size_cm and measure go together; give both or leave both "
                                 "empty"))
        if row["role"] in ("non_target", "new") and row["assessment"] == "":
            found.append(Problem(table.path, *table.where(i, "assessment"),
                                 f"a {row['role']} lesion needs an assessment; expected one "
                                 f"of: {', '.join(schema.LESION_ASSESSMENTS)}"))
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
        if key in schema.FACT_NUMBERS and not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value):
            hint = ("has a thousands separator; write the plain number"
                    if re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?", value)
                    else "expected a plain non-negative number")
            found.append(Problem(table.path, *table.where(i, "value"),
                                 f"{key} '{value}' {hint}"))
    return found


def _normalised(text: str) -> str:
    """Fold hyphens and white space so a snippet matches across the PDF's line breaks."""
    joined = re.sub(r"-[ \t]*\n\s*", "", text)  # "intrahe-\n\npatic" -> "intrahepatic"
    return re.sub(r"\s+", " ", joined.replace("-", "")).strip()


def _snippet_problems(table: _Table, source_text: str) -> list[Problem]:
    """Every 'reported' source must be findable in the case's source.txt, when it has one."""
    haystack = _normalised(source_text)
    found = []
    frame = table.frame
    reported = frame["status"] == "reported" if "status" in frame else pd.Series(True, frame.index)
    for i in frame.index[reported]:
        snippet = frame.at[i, "source"]
        if snippet and _normalised(snippet) not in haystack:
            found.append(Problem(table.path, *table.where(i, "source"),
                                 "reported source is not a verbatim snippet of source.txt; "
                                 "quote the paper's words exactly"))
    return found


# ------------------------------------------------------------- public API


def _read_all(folder: Path) -> tuple[dict[str, _Table], list[Problem], dict[str, int], str | None]:
    label = str(folder).rstrip("/")
    problems: list[Problem] = []
    if not folder.is_dir():
        return {}, [Problem(label, 1, 1, "is not a folder; expected a case folder of CSV files")], {}, None
    tables: dict[str, _Table] = {}
    for name in schema.REQUIRED_FILES + schema.OPTIONAL_FILES:
        if not (folder / name).is_file():
            if name in schema.REQUIRED_FILES:
                problems.append(Problem(f"{label}/{name}", 1, 1, "file is missing; every case "
                                        "needs facts.csv, timeline.csv, labs.csv and lesions.csv"))
            continue
        table = _read(folder, name, label, problems)
        if table is None:
            continue
        schema_found = _schema_problems(table, name)
        problems += schema_found
        if not any(p.line == 1 and "column" in p.message for p in schema_found):
            tables[name] = table  # only tables with the right columns get relational checks

    days: dict[str, int] = {}
    if "timeline.csv" in tables:
        found, days = _timeline_problems(tables["timeline.csv"])
        problems += found
    events = set(tables["timeline.csv"].frame["event_id"]) if "timeline.csv" in tables else None
    checks = {"facts.csv": _fact_problems, "labs.csv": _lab_problems,
              "lesions.csv": _lesion_problems,
              "responses.csv": lambda t: _duplicates(t, ["event_id", "criteria"], "event/criteria"),
              "claims.csv": lambda t: _duplicates(t, ["claim_id"], "claim_id")}
    for name, check in checks.items():
        if name in tables:
            problems += check(tables[name])
            if events is not None and name != "facts.csv":
                problems += _unknown_events(tables[name], events)
    source_text = None
    if (folder / "source.txt").is_file():
        source_text = (folder / "source.txt").read_text(encoding="utf-8-sig")
        for name in ("facts.csv", "timeline.csv", "labs.csv", "lesions.csv", "responses.csv"):
            if name in tables:
                problems += _snippet_problems(tables[name], source_text)
    return tables, sorted(set(problems)), days, source_text


def validate_case(folder: str | Path) -> list[Problem]:
    """Every problem of a case folder, sorted by file and line; empty when the case is valid.

    Reads only; never writes to the folder.
    """
    return _read_all(Path(folder))[1]


def load_case(folder: str | Path) -> Case:
    """Load a valid case folder into a :class:`Case`, or raise :class:`CaseError`."""
    folder = Path(folder)
    tables, problems, days, source_text = _read_all(folder)
    if problems:
        raise CaseError(problems)

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
    converted = [units.to_canonical(t, float(v), u) for t, v, u in
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
                source_text=source_text)
