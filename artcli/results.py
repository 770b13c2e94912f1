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
