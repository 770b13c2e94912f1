"""The one shape of what ops return: a result object whose ``warnings`` are lines for people.

Ops never print or log. What a person should know that is not an error (a skipped event, a
location-only reference, a use not recorded, a setting kept) goes into ``warnings``; the face
prints each as ``warning: ...`` on stderr. Whether the warnings are also part of a command's
JSON is the command's schema's business (``to_json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    warnings: list[str] = field(default_factory=list, kw_only=True)


@dataclass
class Report(Result):
    """A read op's JSON-shaped answer plus its warnings (``show``, ``metadata ls``, ``registry show``)."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.data


@dataclass
class Previewable(Result):
    """A result of an op that can dry-run (``artcli.repo.dry_runnable``): ``would_write`` is
    set in a dry run, to the events it would have written ({log, event})."""

    would_write: list[dict[str, Any]] | None = field(default=None, kw_only=True)

    def with_preview(self, out: dict[str, Any]) -> dict[str, Any]:
        """``out`` (a ``to_json``) plus ``dry_run`` and ``would_write`` in a dry run."""
        if self.would_write is not None:
            out.update(dry_run=True, would_write=self.would_write)
        return out
