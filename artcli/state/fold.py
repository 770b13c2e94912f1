"""The one fold loop: apply events in key order, skip what cannot be used, and say why.

The reader rules of docs/format.md §5.6–§5.7 live here: an event that is not a JSON object
with a string type (``event-corrupt``), breaks its type's field rules (``event-invalid``) or
has a ``seq`` other than its key's (``seq-mismatch``) is skipped before any fold sees it; a
fold skips an event it cannot apply by raising :class:`Skip` with the finding's kind. Every
skip is an :class:`Issue` (what ``debug fsck`` reports) and a warning naming the object (what
other commands print). Unknown event types are ignored by every fold (a newer artcli may
write them); one bad object never makes the rest of a log unreadable.

The loop also keeps what writers need to number safely (§5.7): the highest number any
numbering event claims, skipped ones included, and the key of an event whose claim cannot be
read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from artcli.errors import IntegrityError
from artcli.state import events as fields

Events = list[tuple[str, dict[str, Any] | None]]

#: what applying a malformed event raises (a field of the wrong type in a hand-edited log)
INVALID = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


@dataclass(frozen=True)
class Issue:
    """One consistency finding about one object (docs/format.md §8)."""

    kind: str
    key: str
    message: str


class Skip(ValueError):
    """Raised by a fold's apply function: skip this event, reporting ``kind``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def seq_of_key(key: str) -> int | None:
    """The sequence number an event key names (``…/events/<12 digits>.json``), else None."""
    name = key.rsplit("/", 1)[-1]
    stem = name[:-5] if name.endswith(".json") else ""
    return int(stem) if stem.isdigit() and len(stem) == 12 else None


@dataclass(kw_only=True)
class LogState:
    """What every folded log keeps: the last sequence number seen and what it skipped."""

    last_seq: int = -1
    warnings: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    claimed: int = -1  # the highest number a numbering event claims (skipped ones included)
    unclaimable: str | None = None  # an event whose claimed number cannot be read
    current: str = field(default="", repr=False)  # the key being applied (for notes)

    def skip(self, kind: str, key: str, message: str) -> None:
        self.issues.append(Issue(kind, key, message))
        self.warnings.append(f"skipped {'corrupt' if kind == 'event-corrupt' else 'invalid'} event {key}: {message}")

    def note(self, kind: str, message: str) -> None:
        """A finding about the event being applied, which is applied anyway (a version gap)."""
        self.issues.append(Issue(kind, self.current, message))

    def next_number(self, what: str, limit: int = fields.MAX_VERSION) -> int:
        """The number a writer gives the next version (or collection version): one more than any
        claimed, refusing when that is not safe (§5.7)."""
        if self.unclaimable is not None:
            raise IntegrityError(f"cannot number a new {what}: the log holds {self.unclaimable}, which cannot be "
                                 "read, and a repair could make its number taken twice",
                                 hint="restore or remove that object (artcli debug fsck lists it)", kind="event-corrupt")
        n = self.claimed + 1
        if n > limit:
            raise IntegrityError(f"cannot number a new {what}: v{self.claimed} is the highest number there is",
                                 kind="version-gap")
        return n


class Folded(Protocol):
    warnings: list[str]
    last_seq: int


S = TypeVar("S", bound=LogState)


def usable(st: LogState, events: Events, known: frozenset[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The events that pass the common rules and their type's field rules, in order; every
    other one is recorded as skipped. Numbering claims are taken before any check."""
    numbering = known & fields.NUMBERING
    for key, ev in events:
        if ev is None:
            st.unclaimable = st.unclaimable or key
            st.skip("event-corrupt", key, "not a JSON object with a string type")
            continue
        if ev.get("type") in numbering:
            number = ev.get("version")
            if isinstance(number, int) and not isinstance(number, bool):
                st.claimed = max(st.claimed, number)
            else:
                st.unclaimable = st.unclaimable or key
        try:
            fields.check(ev, known)
        except ValueError as exc:
            st.skip("event-invalid", key, str(exc))
            continue
        if ev["seq"] != seq_of_key(key):
            st.skip("seq-mismatch", key, f"its seq field says {ev['seq']}")
            continue
        st.last_seq = max(st.last_seq, ev["seq"])
        yield key, ev


def fold_into(st: S, events: Events, apply_one: Callable[[S, dict[str, Any]], None], known: frozenset[str]) -> S:
    """Fold ``(object key, parsed event or None if unparsable)`` pairs into ``st``."""
    for key, ev in usable(st, events, known):
        st.current = key
        try:
            apply_one(st, ev)
        except Skip as exc:
            st.skip(exc.kind, key, str(exc))
        except INVALID as exc:
            st.skip("event-invalid", key, str(exc))
    st.current = ""
    return st
