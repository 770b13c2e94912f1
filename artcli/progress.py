"""How ops report progress without knowing about terminals: a tiny protocol plus a no-op."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def phase(self, name: str, total: int | None = None, unit: str = "B") -> None:
        """Start a phase (hashing, uploading, downloading) of ``total`` units."""

    def advance(self, n: int = 1) -> None:
        """Report progress in the current phase."""

    def done(self, summary: str) -> None:
        """The one line printed at the end."""

    def warn(self, message: str) -> None:
        """Something the user should know that is not an error."""


class NullReporter:
    def phase(self, name: str, total: int | None = None, unit: str = "B") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def done(self, summary: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass
