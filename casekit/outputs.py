"""Writing outputs: atomically and byte-for-byte reproducibly.

Every file casekit writes goes to a temporary name in the same folder and is moved into
place with :func:`os.replace`, so a run killed midway never leaves a truncated file that
looks finished. Tables are written with fixed formatting so that two runs give identical
bytes.
"""

from __future__ import annotations

import os
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


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Atomically write ``frame`` as UTF-8 CSV with '\\n' line ends and no index.

    Floats are written with ``repr`` precision by pandas, which is deterministic; callers
    round to the precision they mean before writing.
    """
    text = frame.to_csv(index=False, lineterminator="\n")
    return write_bytes(path, text.encode("utf-8"))


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
