"""What a run owns in its output folder, and whether a folder may be used at all.

``OUT/.casekit/manifest.json`` records, for the last run into OUT: the case (path, name,
content hash of its files), the parameters, the casekit version, the run's status
(``running``, ``complete``, ``partial`` = some notebook failed, ``interrupted``), per
notebook the key of its inputs and the files it produced, and every file the run wrote with
its sha256. A run deletes or overwrites only files listed there whose bytes are still the
ones recorded: anything else in OUT belongs to the user and is never touched nor embedded.

:func:`check_out_folder` refuses output folders that would put the user's files, the
repository or the case at risk (see its docstring); the runner calls it before creating
anything. Its first part, shared with every other command, is
:func:`casekit.owned.check_folder`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casekit.outputs import write_bytes
from casekit.owned import (OWNED, OutFolderRefused, check_folder, check_no_links,  # noqa: F401
                           owned_file_intact, sha256_file)
from casekit.run.errors import RunInputError

STATE_DIR = ".casekit"
MANIFEST = f"{STATE_DIR}/manifest.json"
LOCK = f"{STATE_DIR}/lock"
WORK = f"{STATE_DIR}/work"  # per-notebook staging folders, moved into place at the end
FORMAT = 1
# What older casekit versions left in an output folder (no list of files): not enough to
# know what is ours, so such a folder is refused rather than cleaned.
LEGACY_MARKER = ".casekit-run"


class OutFolderError(RunInputError):
    """The output folder must not be used (the message says why and what to do)."""


# ------------------------------------------------------------------ hashing


def tree_files(folder: Path) -> list[Path]:
    """Every regular file under ``folder`` (symlinks followed), sorted by relative path;
    hidden entries (``.git``, ``.ipynb_checkpoints``, editor swap files) and Python's
    byte-code caches skipped."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        found += [Path(root) / f for f in files
                  if not f.startswith(".") and not f.endswith(".pyc")]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def hash_tree(folder: Path, digest: Any = None) -> str:
    """Content hash of a folder: every file's relative path and bytes (see tree_files)."""
    digest = digest or hashlib.sha256()
    folder = Path(folder)
    for path in tree_files(folder):
        digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        digest.update(sha256_file(path).encode("ascii") + b"\n")
    return digest.hexdigest()


# ------------------------------------------------------------------ manifest


@dataclass
class NotebookEntry:
    """One notebook of a run: the key of its inputs, whether it ran cleanly, its files."""

    key: str
    ok: bool
    files: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    case_path: str
    case_name: str
    inputs_hash: str
    parameters: dict[str, Any]
    casekit_version: str
    status: str = "running"
    notebooks: dict[str, NotebookEntry] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    # Files being moved into place right now: a run killed midway leaves either hash.
    pending: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> bytes:
        data = {"format": FORMAT, "casekit_version": self.casekit_version,
                "status": self.status,
                "case": {"path": self.case_path, "name": self.case_name,
                         "inputs_hash": self.inputs_hash},
                "parameters": self.parameters,
                "notebooks": {name: {"key": e.key, "ok": e.ok, "files": sorted(e.files)}
                              for name, e in self.notebooks.items()},
                "files": dict(sorted(self.files.items())),
                "pending": dict(sorted(self.pending.items()))}
        return (json.dumps(data, indent=1, sort_keys=True, default=str) + "\n").encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        case = data["case"]
        return cls(case_path=str(case["path"]), case_name=str(case["name"]),
                   inputs_hash=str(case["inputs_hash"]),
                   parameters=dict(data.get("parameters") or {}),
                   casekit_version=str(data.get("casekit_version", "")),
                   status=str(data.get("status", "")),
                   notebooks={str(n): NotebookEntry(str(e["key"]), bool(e["ok"]),
                                                    [str(f) for f in e.get("files", [])])
                              for n, e in (data.get("notebooks") or {}).items()},
                   files={str(k): str(v) for k, v in (data.get("files") or {}).items()},
                   pending={str(k): str(v) for k, v in (data.get("pending") or {}).items()})

    def save(self, out: Path) -> None:
        write_bytes(Path(out) / MANIFEST, self.to_json())


def load_manifest(out: Path) -> Manifest | None:
    """The manifest of ``out`` (None when there is none); unreadable -> OutFolderError."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = Manifest.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise OutFolderError(f"{path}: not a readable casekit manifest ({exc}); "
                             "choose another --out") from None
    for name in [*manifest.files, *manifest.pending]:  # a manifest is data: never let it point outside OUT
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or rel.parts[:1] == (STATE_DIR,):
            raise OutFolderError(f"{path}: lists '{name}', which is not a file of the "
                                 "output folder; choose another --out")
    return manifest


# -------------------------------------------------------------- the folder


def check_out_folder(out_arg: str | os.PathLike, case: Path,
                     protected: Iterable[tuple[Path, str, bool]]) -> Path:
    """The resolved output folder, or OutFolderError when it must not be used.

    Refused: an empty or blank ``--out``; the case folder, anything inside it or any folder
    containing it; each ``(path, what, inside_too)`` of ``protected`` when OUT is it or
    contains it, and also when OUT is inside it if ``inside_too`` (the repository itself is
    protected without, since ``build/`` inside it is the usual place); something that is
    not a folder; a non-empty folder that no casekit run wrote; and a folder in which a
    sub-folder is a symlink (:func:`casekit.owned.check_no_links`). Symlinks are resolved
    first, so a link into the case counts as the case.
    """
    try:
        out = check_folder(out_arg, [(case, "the case folder")], protected)
    except OutFolderRefused as exc:
        raise OutFolderError(str(exc)) from None
    if out.is_dir():
        entries = sorted(p.name for p in out.iterdir())
        # another command's folder (casekit.owned) is not a run's
        ours = ((out / STATE_DIR).is_dir() and not (out / STATE_DIR).is_symlink()
                and not (out / OWNED).exists())
        if entries and not ours:
            if LEGACY_MARKER in entries:
                raise OutFolderError(
                    f"--out {out_arg}: written by an older casekit that did not record its "
                    "files, so this run cannot tell them from yours; delete the folder "
                    "(after saving anything of yours) or choose another --out")
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise OutFolderError(f"--out {out_arg}: not empty and not a casekit output "
                                 f"folder (holds {shown}); a run never writes among files "
                                 "it did not make, so choose a new or empty folder")
        try:
            check_no_links(out, out_arg)
        except OutFolderRefused as exc:
            raise OutFolderError(str(exc)) from None
    return out
