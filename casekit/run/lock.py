"""One ``casekit run`` per output folder at a time.

The lock is ``flock`` on ``OUT/.casekit/lock``: the kernel releases it when the holding
process ends, however it ends (even SIGKILL), so a lock can never be left stale. The file
also records who holds it (PID, start time, case) so that a second run can say whom it is
waiting for; a record left by a dead run is only information, and is overwritten.

A second run does not wait: it exits at once (exit 2) naming the holder, because waiting
silently behind a seven-notebook run looks like a hang, and the user usually meant another
``--out``.
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
        super().__init__(f"{out} is being written by casekit run (PID {pid}, started "
                         f"{started}); wait for it or choose another --out")


class OutLock:
    """``with OutLock(path) as lock:`` -- exclusive, non-blocking; ``lock.previous`` is the
    record a dead holder left behind (None when the last run released it cleanly)."""

    def __init__(self, path: Path, info: dict | None = None) -> None:
        self.path = Path(path)
        self.info = dict(info or {})
        self.previous: dict | None = None
        self._fd: int | None = None

    def acquire(self) -> OutLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_record(fd)
            os.close(fd)
            raise OutFolderBusy(self.path.parent.parent, holder) from None
        except BaseException:
            os.close(fd)
            raise
        self.previous = _read_record(fd) or None
        record = {"pid": os.getpid(),
                  "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime()),
                  **self.info}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode("utf-8"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # released cleanly: no record of a holder remains
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> OutLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_record(fd: int) -> dict:
    try:
        data = os.pread(fd, 4096, 0)
        record = json.loads(data.decode("utf-8")) if data.strip() else {}
        return record if isinstance(record, dict) else {}
    except (OSError, ValueError):
        return {}
