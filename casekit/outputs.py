"""Writing outputs: atomically and byte-for-byte reproducibly.

Every file casekit writes goes to a temporary name in the same folder and is moved into
place with :func:`os.replace`, so a run killed midway never leaves a truncated file that
looks finished. Tables are written with fixed formatting so that two runs give identical
bytes.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pandas as pd

_UMASK = os.umask(0)
os.umask(_UMASK)  # read the process umask once (it can only be read by setting it)


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Atomically write ``data`` to ``path``."""
    return write_atomic(path, lambda handle: handle.write(data))


# OWASP "CSV Injection": a spreadsheet evaluates a cell that starts with one of these as a
# formula (=HYPERLINK(...), +cmd|...). A plain number such as -5 is not a formula, nor is a
# bare comparison sign such as the claims table's "=" (nothing follows it to run).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_INERT = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?|[=<>]=?")


def neutralise_formula(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if (isinstance(value, str) and value.startswith(_FORMULA_START)
            and not _INERT.fullmatch(value)):
        return "'" + value
    return value


def safe_cell(value: object) -> object:
    """A text cell as written: formula neutralised, and a bare CR made a line feed (the
    csv module quotes a field holding '\\n' but not one holding only '\\r', which would
    then split the row)."""
    value = neutralise_formula(value)
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def _without_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and headers cannot act as formulas; numeric
    columns are left alone (a float -5.0 stays a number)."""
    text = [c for c in frame.columns
            if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])]
    frame = frame.copy()
    for column in text:
        frame[column] = frame[column].map(safe_cell)
    frame.columns = [neutralise_formula(c) for c in frame.columns]
    return frame


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Atomically write ``frame`` as UTF-8 CSV with '\\n' line ends and no index.

    Floats are written with ``repr`` precision by pandas, which is deterministic; callers
    round to the precision they mean before writing. Text cells that a spreadsheet would
    evaluate as a formula get a leading ``'`` (see :func:`neutralise_formula`).
    """
    return write_bytes(path, table_bytes(frame))


def table_bytes(frame: pd.DataFrame) -> bytes:
    """The bytes :func:`write_table` writes for ``frame``."""
    return _without_formulas(frame).to_csv(index=False, lineterminator="\n").encode("utf-8")


INTERACTIVE_DIR = Path("..") / "build" / "interactive"


def output_dirs(out_dir: str | Path | None, case_dir: str | Path) -> tuple[Path, Path]:
    """The ``figures/`` and ``tables/`` folders of a run (created).

    ``out_dir`` None (a notebook opened in JupyterLab, or run alone without ``-p out_dir``)
    means ``../build/interactive/<case folder name>``: relative to ``notebooks/``, the
    kernel's working directory, that is ``build/interactive/<case>`` in the repository.
    ``casekit run`` always passes its own ``out_dir`` (``make run``: ``build/jlc2022``), so
    an interactive session never overwrites the tables and figures the last run's report
    was built from, and running one notebook on another case never writes over the
    default case's outputs.
    """
    out = Path(out_dir) if out_dir is not None else INTERACTIVE_DIR / Path(case_dir).name
    figures, tables = out / "figures", out / "tables"
    figures.mkdir(parents=True, exist_ok=True)
    tables.mkdir(parents=True, exist_ok=True)
    return figures, tables
