"""Scratch folders that a killed run cannot leave behind.

A run keeps temporary files in the system's temporary folder: its case cache, papermill's
copies of the notebooks, the kernels' connection files. When the run ends in any way
Python sees (success, error, Ctrl-C, SIGTERM), or when only the runner is killed, the
folders are removed (by the runner, or by its workers' watchdog). When every process of
the run is killed at once (SIGKILL to the process group, an out-of-memory kill, a CI job
cancelled), nobody is left to remove them; so every casekit scratch folder is made by
:func:`scratch_folder`, whose creator holds an ``flock`` on the folder's ``.owner`` file for
as long as it lives, and every new one first removes (:func:`sweep`) the casekit scratch
folders of this user whose ``.owner`` lock nobody holds any more: their creator is gone,
however it ended. The kernel releases the lock of a dead process, so this needs no PID
(which another process may have reused) and never removes a live run's folder.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

#: Every casekit scratch folder's name starts with this (then what it is for).
PREFIX = "casekit-"
OWNER = ".owner"


def sweep(where: str | os.PathLike | None = None) -> list[Path]:
    """Remove the scratch folders (``casekit-*`` with an ``.owner`` file, of this user) in
    ``where`` (default: the temporary folder) whose creator is gone; returns them."""
    removed = []
    folder = Path(where or tempfile.gettempdir())
    try:
        candidates = sorted(folder.glob(PREFIX + "*"))
    except OSError:
        return removed
    for path in candidates:
        try:
            info = path.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        try:  # no .owner: not made by scratch_folder, or being made right now
            fd = os.open(path / OWNER, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its creator is alive
            os.close(fd)
            continue
        try:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            os.close(fd)
    return removed


def make_scratch(what: str) -> tuple[Path, int]:
    """A new private scratch folder ``casekit-<what>-XXXX`` in the temporary folder (after
    :func:`sweep`) and the descriptor that holds its ``.owner`` lock: the folder counts as
    in use until that descriptor is closed (or its process ends) in every process that has
    it (forked children too)."""
    sweep()
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{what}-"))  # mode 0700
    # Locked before it gets its name, so a sweep never finds an unlocked .owner of a live run.
    fd = os.open(folder / f"{OWNER}.new", os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(folder / f"{OWNER}.new", folder / OWNER)
    return folder, fd


@contextmanager
def scratch_folder(what: str) -> Iterator[Path]:
    """:func:`make_scratch` for the block; removed afterwards."""
    folder, fd = make_scratch(what)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with suppress(OSError):
            os.close(fd)
