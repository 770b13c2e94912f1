"""Wall-clock time, injectable: tests set ARTCLI_NOW (ISO 8601) instead of sleeping."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime


def now() -> datetime:
    fake = os.environ.get("ARTCLI_NOW")
    if fake:
        return parse_iso(fake)
    return datetime.now(UTC)


def iso(dt: datetime | None = None) -> str:
    """UTC, microseconds, 'Z' suffix: sortable as text."""
    return (dt or now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    """An ISO 8601 time as aware UTC; ValueError when it does not parse or falls outside
    years 1-9999 once converted (``0001-01-01T00:00:00+01:00``)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"time {text!r} is out of range") from None


#: the one time form a reader admits in what it reads from a remote (docs/format.md §1)
_REMOTE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})")


def parse_time(text: object) -> datetime:
    """A time read from a remote (event, lease): exactly ``YYYY-MM-DDTHH:MM:SS[.f{1,6}]`` with
    ``Z`` or ``±HH:MM``, as aware UTC; ValueError for anything else (no zone, a date alone, the
    basic form, seven fraction digits...). People's input goes through :func:`parse_iso`."""
    if not isinstance(text, str) or not _REMOTE_TIME.fullmatch(text):
        raise ValueError(f"time {str(text)[:40]!r} is not YYYY-MM-DDTHH:MM:SS[.ffffff] with Z or an offset")
    return parse_iso(text)


def normal(text: str) -> str:
    """A remote time in the form writers write (UTC, six fraction digits, Z)."""
    return iso(parse_time(text))
