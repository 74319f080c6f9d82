"""What every notebook kernel of a run starts with, and the signal guard of bookkeeping.

Kept apart from :mod:`casekit.run.runner` so that the output folder (:mod:`casekit.run.
outfolder`) can key and commit runs without importing the runner that imports it.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The environment every kernel starts with (on top of the caller's): fixed hash seed,
# time zone and source date, so that outputs are byte-identical from run to run.
KERNEL_ENV = {"PYTHONHASHSEED": "0", "TZ": "UTC", "SOURCE_DATE_EPOCH": "0",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


@contextmanager
def kernel_environment() -> Iterator[None]:
    """Set :data:`KERNEL_ENV` for kernels started inside the block; restore afterwards."""
    saved = {k: os.environ.get(k) for k in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back for a few milliseconds of bookkeeping that must not be cut
    in half (moving outputs into place, writing the manifest)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
