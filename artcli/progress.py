"""How ops report progress without knowing about terminals: a tiny protocol plus a no-op.

Progress is not a result: warnings come back in each result's ``warnings`` list. The one
live message is :meth:`ProgressReporter.waiting`, for work blocked on someone else (a gc, a
writer), which cannot wait for the result to be said.
"""

from __future__ import annotations

from typing import Protocol


class ProgressReporter(Protocol):
    def phase(self, name: str, total: int | None = None, unit: str = "B") -> None:
        """Start a phase (hashing, uploading, downloading) of ``total`` units."""

    def advance(self, n: int = 1) -> None:
        """Report progress in the current phase."""

    def done(self, summary: str) -> None:
        """The one line printed at the end."""

    def waiting(self, message: str) -> None:
        """The work is blocked on someone else (said once per wait, while it waits)."""


class NoProgress:
    def phase(self, name: str, total: int | None = None, unit: str = "B") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def done(self, summary: str) -> None:
        pass

    def waiting(self, message: str) -> None:
        pass
