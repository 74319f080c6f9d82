"""Output folders and the files casekit owns in them: one rule for every command.

Every command that takes ``--out`` (``run``, ``import-sdtm``, ``export-sdtm``,
``concordance``, ``series``) first calls :func:`check_folder`, which refuses an empty
``--out``, the repository, its ``notebooks/``, ``data/`` (``data/external`` included),
``figures/`` and ``casekit/``, the command's input folders (or anything inside or holding
them) and a file. ``casekit run`` keeps its richer per-notebook manifest
(:mod:`casekit.run.manifest`); the other commands use :class:`OwnedFolder`:

- OUT must be new, empty, or a folder the *same* command wrote before: its
  ``OUT/.casekit/owned.json`` names the command and every file it wrote with its sha256.
- A re-run refuses (exit 2) when one of those files was edited since, naming it; it writes
  a file over an existing one only if that one is recorded and unchanged, and it removes
  the recorded files it did not write again (the folder shows the last run only). Files
  the user added elsewhere in OUT are left alone; one in a place the command writes to is
  refused before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from casekit.outputs import table_bytes, write_bytes

REPO_DIR = Path(__file__).resolve().parents[1]
STATE_DIR = ".casekit"
OWNED = f"{STATE_DIR}/owned.json"
FORMAT = 1


class OutFolderRefused(ValueError):
    """The output folder (or a file in it) must not be used; the message says why."""


def protected_folders() -> list[tuple[Path, str, bool]]:
    """``(folder, what, inside_too)``: folders an output folder must never be or hold (nor
    be inside, if ``inside_too``; the repository is not, as ``build/`` is the usual place)."""
    return [(REPO_DIR, "the repository", False),
            (REPO_DIR / "notebooks", "the repository's notebooks/ folder", True),
            (REPO_DIR / "data", "the repository's data/ folder", True),
            (REPO_DIR / "figures", "the repository's figures/ folder", True),
            (REPO_DIR / "casekit", "the casekit package", True)]


def _refuse_protected(out_arg: str | os.PathLike,
                      inputs: Iterable[tuple[str | os.PathLike, str]],
                      protected: Iterable[tuple[Path, str, bool]] | None, why: str) -> Path:
    """``out_arg`` resolved, or OutFolderRefused when it is empty, an input or a protected
    folder (inside it or holding it, by the folder's rule); ``why`` ends the message."""
    if not str(out_arg).strip():
        raise OutFolderRefused("--out is empty (an unset shell variable?); give the output "
                               "folder explicitly")
    out = Path(os.path.realpath(Path(out_arg).expanduser()))
    rules = [(Path(os.path.realpath(Path(p).expanduser())), what, True) for p, what in inputs]
    rules += [(Path(os.path.realpath(p)), what, inside_too)
              for p, what, inside_too in (protected_folders() if protected is None
                                          else protected)]
    for folder, what, inside_too in rules:
        if out == folder or out in folder.parents or (inside_too and folder in out.parents):
            raise OutFolderRefused(f"--out {out_arg} is {what} ({folder}), inside it or holds "
                                   f"it; {why}")
    return out


def check_folder(out_arg: str | os.PathLike, inputs: Iterable[tuple[str | os.PathLike, str]],
                 protected: Iterable[tuple[Path, str, bool]] | None = None) -> Path:
    """The resolved output folder, or OutFolderRefused: ``--out`` empty or blank; one of
    ``inputs`` (``(folder, what)``: the command reads it), anything inside it or holding it;
    a ``protected`` folder (default :func:`protected_folders`) by its rule; a file.
    Symlinks are resolved first, so a link into an input counts as the input."""
    out = _refuse_protected(out_arg, inputs, protected,
                            "a run writes and deletes files in its output folder, so give it "
                            "a folder of its own, e.g. build/<case>")
    if os.path.lexists(out) and not out.is_dir():
        raise OutFolderRefused(f"--out {out_arg}: exists and is not a folder")
    return out


def write_output_file(out_arg: str | os.PathLike, data: bytes,
                      inputs: Iterable[tuple[str | os.PathLike, str]],
                      protected: Iterable[tuple[Path, str, bool]] | None = None) -> Path:
    """Write ``data`` (atomically) to the one output file ``--out`` names, under the folder
    rules of :func:`check_folder` (never into an input or a protected folder). A file that
    already exists is never overwritten, as nothing records who wrote a lone file: it is
    refused unless it already holds exactly ``data`` (then nothing is written)."""
    out = _refuse_protected(out_arg, inputs, protected,
                            "casekit never writes there, so give a path elsewhere, e.g. "
                            "build/<name>")
    if os.path.lexists(out):
        if out.is_dir() or not out.is_file():
            raise OutFolderRefused(f"--out {out_arg}: exists and is not a file")
        if out.read_bytes() != data:
            raise OutFolderRefused(f"--out {out_arg}: exists; casekit never overwrites a file "
                                   "it cannot tell it wrote, so remove it or choose another "
                                   "--out (nothing written)")
        return Path(out_arg)
    write_bytes(out, data)
    return Path(out_arg)


# ------------------------------------------------------------------ hashing


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def owned_file_intact(out: Path, rel: str, *shas: str) -> bool | None:
    """True: the file is as casekit wrote it; False: changed since (or not a plain file);
    None: gone."""
    path = Path(out) / rel
    if not os.path.lexists(path):
        return None
    if path.is_symlink() or not path.is_file():
        return False
    # the file must really be inside OUT (no symlinked folder on the way)
    if Path(os.path.realpath(path)) != Path(os.path.realpath(out)) / rel:
        return False
    return sha256_file(path) in shas


def intact_files(out: Path, files: dict[str, str], pending: dict[str, str],
                 changed: Callable[[Path], None]) -> dict[str, str]:
    """The recorded files of ``out`` still as casekit wrote them, ``{rel: sha256}``.

    ``files`` were written, ``pending`` were being written when the last run stopped
    (either hash counts). A recorded file that is gone is dropped; for one changed since,
    ``changed(path)`` is called, and it raises: casekit never overwrites such a file.
    """
    intact: dict[str, str] = {}
    for rel in sorted(set(files) | set(pending)):
        shas = [s for s in (files.get(rel), pending.get(rel)) if s]
        state = owned_file_intact(out, rel, *shas)
        if state is False:
            changed(out / rel)
        if state:
            intact[rel] = sha256_file(out / rel)
    return intact


def _safe_rel(name: str) -> bool:
    rel = Path(name)
    return not (rel.is_absolute() or ".." in rel.parts or rel.parts[:1] == (STATE_DIR,))


# ------------------------------------------------------------------ the folder


class OwnedFolder:
    """An output folder of one command: :meth:`open` checks it, :meth:`write_bytes` /
    :meth:`write_table` stage files in memory and :meth:`commit` writes them all (after
    checking that none lands on a file the command does not own) and removes the stale
    ones. Commands whose files are written by others (notebooks) use :meth:`claim`,
    :meth:`remove_owned` and :meth:`record` instead."""

    def __init__(self, path: Path, out_arg: str | os.PathLike, command: str,
                 files: dict[str, str]) -> None:
        self.path, self.out_arg, self.command = path, out_arg, command
        self.files = files  # relative path -> sha256, as on disk now
        self._staged: dict[str, bytes] = {}

    @classmethod
    def open(cls, out_arg: str | os.PathLike, command: str,
             inputs: Iterable[tuple[str | os.PathLike, str]],
             protected: Iterable[tuple[Path, str, bool]] | None = None) -> OwnedFolder:
        """Check ``--out`` (see the module docstring); nothing is written."""
        out = check_folder(out_arg, inputs, protected)
        entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
        files: dict[str, str] = {}
        if entries:
            data = _read_owned(out)
            if data is None or data.get("command") != command:
                whose = (f"'casekit {data['command']}'" if data else "'casekit run'"
                         if (out / STATE_DIR / "manifest.json").is_file() else None)
                shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
                raise OutFolderRefused(
                    f"--out {out_arg}: not empty and not a 'casekit {command}' output folder "
                    f"({f'written by {whose}, ' if whose else ''}holds {shown}); it writes "
                    "only into a new or empty folder or one it wrote before, so choose "
                    "another --out")
            def changed(path: Path) -> None:
                raise OutFolderRefused(
                    f"{path} was changed after 'casekit {command}' wrote it; it never "
                    "overwrites or deletes a file it did not write, so move it out of the "
                    "folder (or choose another --out)")

            files = intact_files(out, data.get("files", {}), data.get("pending", {}), changed)
        return cls(out, out_arg, command, files)

    # ---------------------------------------------------------- staged writes

    def rel(self, path: str | os.PathLike) -> str:
        """``path`` (under OUT, as given to --out or resolved) relative to OUT."""
        path = Path(os.path.abspath(Path(path).expanduser()))
        for base in (self.path, Path(os.path.abspath(Path(self.out_arg).expanduser()))):
            if base == path or base in path.parents:
                name = path.relative_to(base).as_posix()
                if _safe_rel(name):
                    return name
        raise OutFolderRefused(f"{path}: not a file of the output folder {self.path}")

    def write_bytes(self, path: str | os.PathLike, data: bytes) -> Path:
        rel = self.rel(path)
        self._staged[rel] = bytes(data)
        return Path(self.out_arg) / rel

    def write_table(self, frame, path: str | os.PathLike) -> Path:
        """As :func:`casekit.outputs.write_table`, staged until :meth:`commit`."""
        return self.write_bytes(path, table_bytes(frame))

    def commit(self) -> list[Path]:
        """Write the staged files and remove the recorded ones not written again. Refuses
        (nothing written) when a staged file would replace one the command does not own."""
        self.claim(self._staged)
        new = {rel: hashlib.sha256(data).hexdigest() for rel, data in self._staged.items()}
        stale = sorted(set(self.files) - set(new))
        if new or stale or self.files:
            self._save(pending=new)
            for rel, data in sorted(self._staged.items()):
                write_bytes(self.path / rel, data)
                self.files[rel] = new[rel]
            self.remove_owned(stale)
            self._save()
        self._staged = {}
        return [Path(self.out_arg) / rel for rel in new]

    # ---------------------------------------------------------- files written by others

    def claim(self, rels: Iterable[str]) -> None:
        """Refuse when a file or folder ``rels`` names holds a file the command did not
        record (our own atomic-write leftovers aside), or its folder leads outside OUT."""
        real = Path(os.path.realpath(self.path))
        for rel in sorted(rels):
            target = self.path / rel
            parent = Path(os.path.realpath(target.parent))
            if parent != real and real not in parent.parents:
                raise OutFolderRefused(f"{target}: its folder leads outside {self.path}; "
                                       "nothing written")
            found = ([target] if os.path.lexists(target) and not target.is_dir() else
                     [Path(r) / f for r, _, fs in os.walk(target) for f in fs])
            for path in found:
                name = path.relative_to(self.path).as_posix()
                if name not in self.files and not (path.name.startswith(".")
                                                   and path.name.endswith(".part")):
                    raise OutFolderRefused(
                        f"{path} exists and was not written by 'casekit {self.command}'; "
                        "it never overwrites a file it did not write, so move it away or "
                        "choose another --out (nothing written)")

    def remove_owned(self, rels: Iterable[str] | None = None) -> None:
        """Delete the recorded files ``rels`` (default: all) that are still as written, and
        folders that this leaves empty."""
        for rel in sorted(self.files if rels is None else rels):
            if owned_file_intact(self.path, rel, self.files[rel]):
                (self.path / rel).unlink()
                parent = (self.path / rel).parent
                while parent != self.path:
                    try:
                        parent.rmdir()
                    except OSError:
                        break
                    parent = parent.parent
            del self.files[rel]

    def record(self, rels: Iterable[str]) -> None:
        """Record the files now at ``rels`` (files, or folders whose every file counts) as
        the command's own, and save."""
        for rel in rels:
            target = self.path / rel
            found = ([target] if target.is_file() else
                     [Path(r) / f for r, _, fs in os.walk(target) for f in fs])
            for path in found:
                if not (path.name.startswith(".") and path.name.endswith(".part")):
                    self.files[path.relative_to(self.path).as_posix()] = sha256_file(path)
        if self.files or (self.path / OWNED).exists():  # nothing written: leave no trace
            self._save()

    def _save(self, pending: dict[str, str] | None = None) -> None:
        data = {"format": FORMAT, "command": self.command,
                "files": dict(sorted(self.files.items())),
                "pending": dict(sorted((pending or {}).items()))}
        write_bytes(self.path / OWNED, (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def _read_owned(out: Path) -> dict | None:
    path = out / OWNED
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {str(k): str(v) for k, v in data["files"].items()}
        pending = {str(k): str(v) for k, v in (data.get("pending") or {}).items()}
        command = str(data["command"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise OutFolderRefused(f"{path}: not a readable casekit record ({exc}); choose "
                               "another --out") from None
    bad = [n for n in [*files, *pending] if not _safe_rel(n)]
    if bad:  # a record is data: never let it point outside OUT
        raise OutFolderRefused(f"{path}: lists '{bad[0]}', which is not a file of the output "
                               "folder; choose another --out")
    return {"command": command, "files": files, "pending": pending}
