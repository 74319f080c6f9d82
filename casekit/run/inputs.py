"""What a notebook's results depend on, as one hash (the key of an incremental run).

A notebook executed for a case reads: its own file, every file of the case folder, the
parameters it is given, the reference tables under ``data/reference`` (its default
``reference_dir``) and any other existing file or folder a string parameter names, the
casekit package it imports, and the pinned dependencies. :func:`notebook_key` hashes all of
them; a later run reuses the notebook's outputs only when the key is unchanged. The
Python version and the kernel's fixed environment are part of it too.

jupyter-cache (the cache Jupyter Book uses) was considered and not used: it keys a
notebook by its code cells only, not by the data files, package source and pins it reads
(its own documentation lists "external assets" and invalidation on a changed Python module
as not yet implemented), it caches the notebook but not the figures and tables a notebook
writes beside it, and it would add a SQLite/SQLAlchemy store to the pinned set. The key
here is a few lines on top of the manifest the run keeps anyway.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from casekit.run.manifest import hash_tree, sha256_file

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent
REQUIREMENTS = REPO_DIR / "requirements.txt"
REFERENCE_DIR = REPO_DIR / "data" / "reference"
# Parameters whose value is a location the run itself decides, not an input.
NOT_INPUTS = ("case_dir", "out_dir")


def case_hash(case_dir: str | Path) -> str:
    """Content hash of every (non-hidden) file of the case folder, names included."""
    return hash_tree(Path(case_dir))


@functools.lru_cache(maxsize=1)
def environment_hash(kernel_env: tuple[tuple[str, str], ...] = ()) -> str:
    """The casekit source (every file of the package), requirements.txt, the Python
    version and the kernel environment."""
    digest = hashlib.sha256()
    digest.update(hash_tree(PACKAGE_DIR).encode())
    digest.update(sha256_file(REQUIREMENTS).encode() if REQUIREMENTS.is_file() else b"-")
    digest.update(sys.version.encode())
    digest.update(repr(kernel_env).encode())
    return digest.hexdigest()


def _path_hash(path: Path) -> str:
    return hash_tree(path) if path.is_dir() else sha256_file(path)


def notebook_key(notebook: Path, parameters: Mapping[str, Any], case_digest: str,
                 env_digest: str, cwd: Path) -> str:
    """The key of one notebook execution (see the module docstring).

    ``parameters`` are those injected, ``case_dir`` and ``out_dir`` included (they appear in
    the executed copy); a string parameter naming an existing path relative to ``cwd`` (the
    kernel's working directory) or absolute adds that path's content.
    """
    referenced = {}
    for name, value in sorted(parameters.items()):
        if name in NOT_INPUTS or not isinstance(value, str) or not value.strip():
            continue
        try:
            path = (cwd / value).resolve()
            if path.exists():
                referenced[name] = _path_hash(path)
        except (OSError, ValueError):
            continue
    record = {
        "notebook": sha256_file(notebook),
        "case": case_digest,
        "environment": env_digest,
        "reference": hash_tree(REFERENCE_DIR) if REFERENCE_DIR.is_dir() else None,
        "parameters": parameters,
        "referenced": referenced,
        "cwd": str(cwd),
    }
    text = json.dumps(record, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
