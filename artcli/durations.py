"""Durations (``30d``, ``12h``, ``1d12h``) and expiry values (a duration, a date, ``never``).

One grammar for every option that takes a length of time (``ttl``, ``gc --grace``, ``cache
prune --older-than``): whole numbers with a unit, largest unit first, each unit at most once.
Strict on purpose: ``1.5d`` or ``3 days`` are refused rather than guessed at.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from artcli import clock
from artcli.errors import UsageError

UNITS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_RE = re.compile(r"(?:(\d{1,9})w)?(?:(\d{1,9})d)?(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9})s)?")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ].*)?")
NEVER = "never"
HINT = "use a duration like 30d, 12h, 2w, 90m, 1d12h"


def parse_duration(text: str) -> int:
    """Seconds in ``text`` (``2w``, ``1d12h``, ``0s``); UsageError when it does not parse."""
    m = _DURATION_RE.fullmatch(text or "")
    if not text or m is None or not any(m.groups()):
        raise UsageError(f"invalid duration {text!r}", hint=HINT)
    return sum(int(g) * mult for g, mult in zip(m.groups(), UNITS.values(), strict=True) if g)


def format_duration(seconds: int | float) -> str:
    """The canonical text of a duration (``1d12h``), the inverse of :func:`parse_duration`;
    fractions of a second are dropped, and anything under a second is ``0s``."""
    left = max(0, int(seconds))
    parts = []
    for unit, mult in UNITS.items():
        if left >= mult:
            parts.append(f"{left // mult}{unit}")
            left %= mult
    return "".join(parts) or "0s"


def parse_expiry(text: str, now: datetime | None = None) -> datetime | None:
    """When a TTL value expires: ``now + duration``, a date/time (UTC unless it says otherwise),
    or None for ``never``. A time that is not in the future is a usage error."""
    now = now or clock.now()
    if text == NEVER:
        return None
    if _DATE_RE.fullmatch(text or ""):
        try:
            when = clock.parse_iso(text)
        except ValueError:
            raise UsageError(f"invalid date {text!r}", hint="use an ISO date like 2030-01-31 or "
                             "2030-01-31T12:00:00Z") from None
    else:
        try:
            seconds = parse_duration(text)
        except UsageError:
            raise UsageError(f"invalid TTL {text!r}", hint=f"{HINT}; an ISO date; or 'never'") from None
        try:
            when = now + timedelta(seconds=seconds)
        except OverflowError:
            raise UsageError(f"TTL {text!r} is too far in the future", hint="use 'never' for no expiry") from None
    if when <= now:
        raise UsageError(f"TTL {text!r} is not in the future (it would expire at {clock.iso(when)})",
                         hint="give a positive duration or a later date; 'never' clears a TTL")
    return when.astimezone(UTC)


def remaining(expires: str | None, now: datetime | None = None) -> int | None:
    """Whole seconds until ``expires`` (negative once past), None for no expiry."""
    if expires is None:
        return None
    return int((clock.parse_iso(expires) - (now or clock.now())).total_seconds())
