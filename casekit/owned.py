"""Output folders and the files casekit owns in them: one rule for every command.

Every command that takes ``--out`` (``run``, ``import-sdtm``, ``export-sdtm``,
``concordance``, ``series``) first calls :func:`check_folder`, which refuses an empty
``--out``, the repository, its ``notebooks/``, ``data/`` (``data/external`` included),
``figures/`` and ``casekit/``, the command's input folders (or anything inside or holding
them) and a file; and :func:`check_no_links`, which refuses an OUT in which a sub-folder
(at any depth) is a symbolic link: a command writes into real folders of its own, never
through a link to somewhere else. ``casekit run`` keeps its richer per-notebook manifest
(:mod:`casekit.run.manifest`); the other commands use :class:`OwnedFolder`:

- OUT must be new, empty, or a folder the *same* command wrote before: its
  ``OUT/.casekit/owned.json`` names the command and every file it wrote with its sha256.
- One command at a time: OUT is locked (:mod:`casekit.lock`) from :meth:`OwnedFolder.open`
  until the command is done; a second one exits 2 at once naming the holder.
- The record is written before the command writes anything into OUT (status ``running``;
  then ``complete``, ``interrupted`` or ``failed``), so a command killed at any point (even
  SIGKILL) leaves a folder the next run recognises: it says that the last run did not
  finish and replaces its results. Files the killed run wrote in the
  places it had claimed (:meth:`OwnedFolder.claim`: checked free of the user's files
  first) count as its own.
- A re-run refuses (exit 2) when one of those files was edited since, naming it; it writes
  a file over an existing one only if that one is recorded and unchanged, and it removes
  the recorded files it did not write again (the folder shows the last run only). Files
  the user added elsewhere in OUT are left alone; one in a place the command writes to is
  refused before anything is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from casekit.lock import OutFolderBusy, OutLock
from casekit.outputs import table_bytes, write_bytes

REPO_DIR = Path(__file__).resolve().parents[1]
STATE_DIR = ".casekit"
OWNED = f"{STATE_DIR}/owned.json"
LOCK = f"{STATE_DIR}/lock"
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


def check_no_links(out: Path, out_arg: str | os.PathLike) -> None:
    """Refuse (OutFolderRefused) an OUT holding, at any depth, a symbolic link that leads
    anywhere but to a file (a folder, or nowhere yet): writing into ``OUT/tables`` must not
    write into the folder ``tables`` points at. A link to a file is the user's file (never
    written over: see :meth:`OwnedFolder.claim`)."""
    if not out.is_dir():
        return
    for root, dirs, files in os.walk(out):  # never descends into a linked folder
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(root) / name
            if path.is_symlink() and not path.is_file():
                rel = path.relative_to(out).as_posix()
                raise OutFolderRefused(
                    f"--out {out_arg}: {rel} is a symbolic link (to {os.readlink(path)}); "
                    "casekit writes only into real folders of its own, never through a "
                    "link, so remove the link or choose another --out")


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
    """An output folder of one command, locked from :meth:`open` until :meth:`close` (or
    :meth:`commit`, the last write of the commands that stage their files):
    :meth:`write_bytes` / :meth:`write_table` stage files in memory and :meth:`commit`
    writes them all (after checking that none lands on a file the command does not own),
    removes the stale ones and releases the folder. Commands whose files are written by
    others (notebooks) use :meth:`claim`, :meth:`remove_owned`, :meth:`record` and
    :meth:`close` instead (or use it as a context manager). A folder dropped without
    either (an exception in a command that stages its files) is closed, status ``failed``,
    when it is garbage-collected; the kernel releases the lock of a killed process."""

    def __init__(self, path: Path, out_arg: str | os.PathLike, command: str,
                 files: dict[str, str], lock: OutLock | None = None,
                 created: Path | None = None) -> None:
        self.path, self.out_arg, self.command = path, out_arg, command
        self.files = files  # relative path -> sha256, as on disk now
        self.claimed: set[str] = set()  # places this run writes to (checked free first)
        self.status = "running"
        self.notes: list[str] = []
        self._staged: dict[str, bytes] = {}
        # the outermost folder this command created for OUT (None: OUT existed)
        self._lock, self._created = lock, created
        self._saved = False  # whether this run has written its record yet
        self._writes = 0  # > 0 while a method writes into the folder, or in a with block

    @classmethod
    def open(cls, out_arg: str | os.PathLike, command: str,
             inputs: Iterable[tuple[str | os.PathLike, str]],
             protected: Iterable[tuple[Path, str, bool]] | None = None,
             echo: Callable[[str], None] | None = None) -> OwnedFolder:
        """Check ``--out`` (see the module docstring) and lock it. A refused folder
        (OutFolderRefused, also when another command holds it) is left as it was; the
        command is recorded in it (status ``running``) when it begins to write
        (:meth:`begin`, also done by every method that writes). ``echo`` gets the notes (a
        previous run that did not finish); they are also in :attr:`notes`."""
        inputs, protected = list(inputs), None if protected is None else list(protected)
        out = check_folder(out_arg, inputs, protected)
        data = _recorded(out, out_arg, command)
        if data is not None:  # refused before the lock is taken: the folder stays untouched
            cls(out, out_arg, command, {})._take_over(data, None)
        created = None
        if not os.path.lexists(out):
            created = out
            while not os.path.lexists(created.parent):
                created = created.parent
        lock = OutLock(out / LOCK, {"command": command})
        try:
            try:
                lock.acquire()
            except OutFolderBusy as exc:
                if not _release_stale(out, exc.holder):
                    raise
                lock.acquire()
        except OutFolderBusy as exc:
            raise OutFolderRefused(str(exc)) from None
        folder = cls(out, out_arg, command, {}, lock, created)
        _HELD[str(out)] = folder
        try:  # again, now that nobody else can change the folder
            check_folder(out_arg, inputs, protected)
            data = _recorded(out, out_arg, command)
            if data is not None:
                folder._take_over(data, lock.previous)
        except BaseException:
            folder.close()
            raise
        for note in folder.notes:
            (echo or (lambda line: None))(note)
        return folder

    def _take_over(self, data: dict, holder: dict | None) -> None:
        """Start from the record of the last run: its files still as written (one changed
        since: refused), and, if it did not finish, the files it wrote in its claimed
        places."""
        if data["status"] != "complete":
            who = (f" by PID {holder.get('pid', '?')} (started {holder.get('started', '?')})"
                   if holder else "")
            what = "was interrupted" if data["status"] == "interrupted" else "did not finish"
            self.notes.append(f"note: the 'casekit {self.command}' run into {self.out_arg}"
                              f"{who} {what}; this run replaces its results")
            files = dict(data["files"])
            for rel in data["claimed"]:  # written by that run after it checked the place
                for path in _files_under(self.path / rel):
                    files.setdefault(path.relative_to(self.path).as_posix(), sha256_file(path))
            data = {**data, "files": files}

        def changed(path: Path) -> None:
            raise OutFolderRefused(
                f"{path} was changed after 'casekit {self.command}' wrote it; it never "
                "overwrites or deletes a file it did not write, so move it out of the "
                "folder (or choose another --out)")

        self.files = intact_files(self.path, data["files"], data["pending"], changed)

    def begin(self) -> None:
        """Record the command in OUT (status ``running``) before it writes anything, so that
        whatever happens next the folder is known as its own."""
        if not self._saved:
            self._held()
            self._save()

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
        """Write the staged files, remove the recorded ones not written again and release
        the folder (:meth:`close`). Refuses (nothing written) when a staged file would
        replace one the command does not own."""
        with self._writing():
            self._check_unowned(self._staged)
            new = {rel: hashlib.sha256(data).hexdigest() for rel, data in self._staged.items()}
            stale = sorted(set(self.files) - set(new))
            if new or stale or self.files:
                self._save(pending=new)
                for rel, data in sorted(self._staged.items()):
                    write_bytes(self.path / rel, data)
                    self.files[rel] = new[rel]
                self.remove_owned(stale)
            self._staged = {}
        self.close()
        return [Path(self.out_arg) / rel for rel in new]

    # ---------------------------------------------------------- files written by others

    def claim(self, rels: Iterable[str]) -> None:
        """Refuse when a file or folder ``rels`` names holds a file the command did not
        record (our own atomic-write leftovers aside), or its folder leads outside OUT;
        then record the places as the command's, so that what it writes there is known as
        its own even if it is killed before :meth:`record`."""
        rels = sorted(rels)
        with self._writing():
            self._check_unowned(rels)
            self.claimed.update(rels)
            self._save()

    def _check_unowned(self, rels: Iterable[str]) -> None:
        self._held()
        real = Path(os.path.realpath(self.path))
        for rel in sorted(rels):
            target = self.path / rel
            parent = Path(os.path.realpath(target.parent))
            if parent != real and real not in parent.parents:
                raise OutFolderRefused(f"{target}: its folder leads outside {self.path}; "
                                       "nothing written")
            for path in _files_under(target):
                name = path.relative_to(self.path).as_posix()
                if name not in self.files:
                    raise OutFolderRefused(
                        f"{path} exists and was not written by 'casekit {self.command}'; "
                        "it never overwrites a file it did not write, so move it away or "
                        "choose another --out (nothing written)")

    def remove_owned(self, rels: Iterable[str] | None = None) -> None:
        """Delete the recorded files ``rels`` (default: all) that are still as written, and
        folders that this leaves empty."""
        with self._writing():
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
            self._save()

    def record(self, rels: Iterable[str]) -> None:
        """Record the files now at ``rels`` (files, or folders whose every file counts) as
        the command's own, and save."""
        with self._writing():
            for rel in rels:
                for path in _files_under(self.path / rel):
                    self.files[path.relative_to(self.path).as_posix()] = sha256_file(path)
            self._save()

    # ---------------------------------------------------------- the lock

    def close(self, status: str = "complete") -> None:
        """Record ``status`` (``complete``; ``interrupted``: Ctrl-C or SIGTERM; ``failed``:
        an exception) and release the folder. A folder in which nothing was written is left
        as it was found (a new one is removed again)."""
        if self._lock is None or not self._lock.held:
            return
        state = self.path / STATE_DIR
        blank = (not self.files and _entries(self.path) == [STATE_DIR]
                 and set(_entries(state)) <= {"lock", "owned.json"})
        try:
            if blank:
                (self.path / OWNED).unlink(missing_ok=True)
            elif self._saved:  # this run wrote: say how it ended
                self.status = status
                self._save()
        finally:
            self._lock.release(remove=blank)
        if blank:
            with contextlib.suppress(OSError):  # another command may have begun there
                state.rmdir()
                folder = self.path
                while self._created is not None and self._created in (folder,
                                                                      *folder.parents):
                    folder.rmdir()
                    folder = folder.parent

    def __enter__(self) -> OwnedFolder:
        self._writes += 1  # in use for the whole block
        return self

    def __exit__(self, kind, *exc: object) -> None:
        self._writes -= 1
        self.close("complete" if kind is None else "interrupted"
                   if issubclass(kind, KeyboardInterrupt) else "failed")

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close("failed")

    def _held(self) -> None:
        if self._lock is not None and not self._lock.held:
            raise RuntimeError(f"{self.path}: 'casekit {self.command}' already released it")

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Marks the folder as being written (see :func:`_release_stale`)."""
        self._held()
        self._writes += 1
        try:
            yield
        finally:
            self._writes -= 1

    def _save(self, pending: dict[str, str] | None = None) -> None:
        data = {"format": FORMAT, "command": self.command, "status": self.status,
                "files": dict(sorted(self.files.items())),
                "pending": dict(sorted((pending or {}).items())),
                "claimed": sorted(self.claimed)}
        write_bytes(self.path / OWNED, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
        self._saved = True


#: The folders this process holds, by path: see :func:`_release_stale`.
_HELD: weakref.WeakValueDictionary[str, OwnedFolder] = weakref.WeakValueDictionary()


def _release_stale(out: Path, holder: dict) -> bool:
    """Whether the lock of ``out`` was held by this very process through a folder that is
    not in use (now released): a call that raised between :meth:`OwnedFolder.open` and
    :meth:`OwnedFolder.commit`, whose folder a kept traceback (an interactive session's
    last error) keeps alive; otherwise the lock would wait for garbage collection. A folder
    being written, or used in a ``with`` block, is never taken over."""
    stale = _HELD.get(str(out))
    if holder.get("pid") != os.getpid() or stale is None or stale._writes:
        return False
    stale.close("failed")
    return True


def _entries(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir())
    except OSError:
        return []


def _files_under(target: Path) -> list[Path]:
    """The file ``target``, or every file under the folder ``target`` (none when it does
    not exist), our own atomic-write leftovers (``.name.part``) aside."""
    if os.path.lexists(target) and not target.is_dir():
        found = [target]
    else:
        found = [Path(r) / f for r, _, fs in os.walk(target) for f in fs]
    return sorted(p for p in found if not (p.name.startswith(".") and p.name.endswith(".part")))


def _recorded(out: Path, out_arg: str | os.PathLike, command: str) -> dict | None:
    """The record of the last ``command`` run into ``out`` (None: a new or empty folder);
    OutFolderRefused for a folder that is not the command's, or holds a symbolic link to a
    folder."""
    check_no_links(out, out_arg)
    entries = _entries(out)
    if entries in ([], [STATE_DIR]) and set(_entries(out / STATE_DIR)) <= {"lock"}:
        return None  # new or empty (a lock file only: its command wrote nothing)
    data = _read_owned(out)
    if data is None or data["command"] != command:
        whose = (f"'casekit {data['command']}'" if data else "'casekit run'"
                 if (out / STATE_DIR / "manifest.json").is_file() else None)
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise OutFolderRefused(
            f"--out {out_arg}: not empty and not a 'casekit {command}' output folder "
            f"({f'written by {whose}, ' if whose else ''}holds {shown}); it writes "
            "only into a new or empty folder or one it wrote before, so choose "
            "another --out")
    return data


def _read_owned(out: Path) -> dict | None:
    path = out / OWNED
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = {str(k): str(v) for k, v in data["files"].items()}
        pending = {str(k): str(v) for k, v in (data.get("pending") or {}).items()}
        claimed = [str(c) for c in data.get("claimed") or []]
        command = str(data["command"])
        status = str(data.get("status", "complete"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise OutFolderRefused(f"{path}: not a readable casekit record ({exc}); choose "
                               "another --out") from None
    bad = [n for n in [*files, *pending, *claimed] if not _safe_rel(n)]
    if bad:  # a record is data: never let it point outside OUT
        raise OutFolderRefused(f"{path}: lists '{bad[0]}', which is not a file of the output "
                               "folder; choose another --out")
    return {"command": command, "status": status, "files": files, "pending": pending,
            "claimed": claimed}
