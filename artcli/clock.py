"""Wall-clock time, injectable: tests set ARTCLI_NOW (ISO 8601) instead of sleeping."""

from __future__ import annotations

import os
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
