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
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
