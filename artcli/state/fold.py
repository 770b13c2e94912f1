"""The one fold loop: apply events in order, skip (with a warning naming the object) what
cannot be parsed or applied, and track the last sequence number seen.

Unknown event types are ignored by every fold (a newer artcli may write them); a malformed
event is skipped whole, so one bad file never makes the rest of a log unreadable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

Events = list[tuple[str, dict[str, Any] | None]]

#: what applying a malformed event raises (a field of the wrong type in a hand-edited log)
INVALID = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


@dataclass(kw_only=True)
class LogState:
    """What every folded log keeps: the last sequence number seen and the events it skipped."""

    last_seq: int = -1
    warnings: list[str] = field(default_factory=list)


class Folded(Protocol):
    warnings: list[str]
    last_seq: int


S = TypeVar("S", bound=Folded)


def fold_into(st: S, events: Events, apply_one: Callable[[S, dict[str, Any]], None]) -> S:
    """Fold ``(object key, parsed event or None if unparsable)`` pairs into ``st``."""
    for key, ev in events:
        if ev is None:
            st.warnings.append(f"skipped corrupt event {key}")
            continue
        try:
            apply_one(st, ev)
        except INVALID as exc:
            st.warnings.append(f"skipped invalid event {key}: {exc}")
        if isinstance(ev.get("seq"), int):
            st.last_seq = max(st.last_seq, ev["seq"])
    return st
