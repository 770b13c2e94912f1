"""Progress for Python callers: one callback, called with a :class:`Progress` snapshot.

Off by default (no callback: the ops get :class:`artcli.progress.NoProgress`). The callback
may be called from artcli's worker threads (hashing, uploads, downloads), never two at once
for one operation: the adapter holds a lock while it calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from artcli.progress import NoProgress, ProgressReporter

ProgressKind = Literal["phase", "advance", "done", "waiting"]


@dataclass(frozen=True)
class Progress:
    """What an operation is doing: ``phase`` (hashing, uploading, downloading, ...), how far it
    is (``completed`` of ``total`` ``unit``; ``total`` None when unknown) and, for ``done`` and
    ``waiting``, a one-line ``message``."""

    kind: ProgressKind
    phase: str | None
    completed: int
    total: int | None
    unit: str
    message: str | None = None


ProgressCallback = Callable[[Progress], None]


class CallbackProgress:
    """A :class:`~artcli.progress.ProgressReporter` that forwards to a user callback."""

    def __init__(self, callback: ProgressCallback) -> None:
        self._cb = callback
        self._lock = threading.Lock()
        self._phase: str | None = None
        self._total: int | None = None
        self._unit = "B"
        self._done = 0

    def _emit(self, kind: ProgressKind, message: str | None = None) -> None:
        self._cb(Progress(kind, self._phase, self._done, self._total, self._unit, message))

    def phase(self, name: str, total: int | None = None, unit: str = "B") -> None:
        with self._lock:
            self._phase, self._total, self._unit, self._done = name, total, unit, 0
            self._emit("phase")

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._done += n
            self._emit("advance")

    def done(self, summary: str) -> None:
        with self._lock:
            self._emit("done", summary)

    def waiting(self, message: str) -> None:
        with self._lock:
            self._emit("waiting", message)


def reporter(callback: ProgressCallback | None) -> ProgressReporter:
    """A fresh reporter per operation (phases and counts are per call)."""
    return NoProgress() if callback is None else CallbackProgress(callback)
