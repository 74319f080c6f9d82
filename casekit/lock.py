"""One writing command per output folder at a time (``run``, ``series``, ``import-sdtm``,
``export-sdtm``, ``concordance`` alike).

The lock is ``flock`` on ``OUT/.casekit/lock``: the kernel releases it when the holding
process ends, however it ends (even SIGKILL), so a lock can never be left stale. The file
also records who holds it (command, PID, start time) so that a second command can say whom
it is waiting for; a record left by a dead holder is only information, and is overwritten.

A second command does not wait: it exits at once (exit 2) naming the holder, because
waiting silently behind a seven-notebook run looks like a hang, and the user usually meant
another ``--out``.

A holder may remove the lock file while it still holds the lock (a command that wrote
nothing leaves no trace); whoever locked the removed file then finds that it no longer is
the file at that path, and tries again on the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path


class OutFolderBusy(Exception):
    """Another live process holds the lock. ``holder`` is what it recorded (may be {})."""

    def __init__(self, out: Path, holder: dict) -> None:
        self.out, self.holder = out, holder
        pid = holder.get("pid", "?")
        started = holder.get("started", "?")
        what = f"casekit {holder['command']}" if holder.get("command") else "casekit"
        super().__init__(f"{out} is being written by {what} (PID {pid}, started "
                         f"{started}); wait for it or choose another --out")


class OutLock:
    """``with OutLock(path) as lock:`` -- exclusive, non-blocking; ``lock.previous`` is the
    record a dead holder left behind (None when the last holder released it cleanly)."""

    def __init__(self, path: Path, info: dict | None = None) -> None:
        self.path = Path(path)
        self.info = dict(info or {})
        self.previous: dict | None = None
        self._fd: int | None = None

    def acquire(self) -> OutLock:
        for _ in range(100):  # another holder removing the file in between: try again
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_record(fd)
                os.close(fd)
                raise OutFolderBusy(self.path.parent.parent, holder) from None
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, self.path):
                break
            os.close(fd)  # we locked a file its holder had just removed
        else:  # pragma: no cover - a hundred removals in a row
            raise OutFolderBusy(self.path.parent.parent, {})
        self.previous = _read_record(fd) or None
        record = {**self.info, "pid": os.getpid(),
                  "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        self._fd = fd
        return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self, remove: bool = False) -> None:
        """Release the lock; ``remove`` also deletes the lock file (while still holding it,
        so that nobody can lock it in between)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # released cleanly: no record of a holder remains
            if remove:
                self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> OutLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        there = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def _read_record(fd: int) -> dict:
    try:
        data = os.pread(fd, 4096, 0)
        record = json.loads(data.decode("utf-8")) if data.strip() else {}
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}
