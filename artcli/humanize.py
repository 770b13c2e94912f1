"""Sizes, counts and times as people read them (the terminal's words; JSON and pipes keep exact values).

One unit family everywhere: IEC (``KiB``, ``MiB``, ``GiB``, powers of 1024), in tables, summaries
and progress bars alike. Counts agree with their noun (``1 file``, ``2 files``). Times are
relative when near (``3 h ago``, ``in 29 days``), else a local date; lengths of time are one or
two words (``29 days``), not the duration grammar (``4w1d23h59m59s``) options take.
"""

from __future__ import annotations

from datetime import datetime

from artcli import clock

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def size(n: int | float | None) -> str:
    """``0 B``, ``512 B``, ``1.4 KiB``, ``32.0 MiB``, ``1.4 GiB``; ``-`` for unknown."""
    if n is None:
        return "-"
    value = float(n)
    for unit in UNITS:
        if abs(value) < 1024 or unit == UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def progress(done: int, total: int) -> str:
    """``12.3/32.0 MiB``: an amount done out of a total, both in the total's unit."""
    if total < 1024:
        return f"{done}/{total} B"
    exp = 0
    while total >= 1024 ** (exp + 1) and exp < len(UNITS) - 1:
        exp += 1
    return f"{done / 1024 ** exp:.1f}/{total / 1024 ** exp:.1f} {UNITS[exp]}"


def rate(bytes_per_second: float | None) -> str:
    """A transfer speed in the same units: ``12.3 MiB/s``."""
    return "-" if bytes_per_second is None else f"{size(bytes_per_second)}/s"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 file``, ``0 files``, ``2 versions``, ``1,024 entries`` (``nouns``: an irregular plural)."""
    word = noun if count == 1 else (nouns or noun + "s")
    return f"{count:,} {word}"


def files_and_size(count: int, nbytes: int) -> str:
    """``3 files, 1.4 MiB``: the usual summary of what a command moved."""
    return f"{plural(count, 'file')}, {size(nbytes)}"


_SPANS = ((86400, "day", "days"), (3600, "h", "h"), (60, "min", "min"), (1, "s", "s"))


def span(seconds: int | float) -> str:
    """A length of time in its largest whole unit: ``29 days``, ``1 day``, ``5 h``, ``12 min``, ``40 s``.
    Whole days from two days up; under that hours, minutes, seconds (rounded down)."""
    left = abs(int(seconds))
    if left >= 2 * 86400:
        days = left // 86400
        return f"{days} days"
    for unit, one, many in _SPANS[1:]:
        if left >= unit:
            n = left // unit
            return f"{n} {one if n == 1 else many}"
    return f"{left} s"


def ago(when: datetime | str | None, now: datetime | None = None) -> str:
    """A time relative to now when within 60 days (``3 h ago``, ``in 29 days``, ``just now``),
    else the local date (``2025-03-14``); ``-`` for none. A string is parsed as ISO 8601."""
    if when is None:
        return "-"
    if isinstance(when, str):
        try:
            when = clock.parse_iso(when)
        except ValueError:
            return when
    delta = ((now or clock.now()) - when).total_seconds()
    if abs(delta) < 10:
        return "just now"
    if abs(delta) >= 60 * 86400:
        return local(when, with_time=False)
    text = span(delta)
    return f"{text} ago" if delta > 0 else f"in {text}"


def local(when: datetime | str, *, with_time: bool = True) -> str:
    """The local wall-clock time (``2026-11-30 08:12``), or the date alone."""
    if isinstance(when, str):
        when = clock.parse_iso(when)
    return when.astimezone().strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
