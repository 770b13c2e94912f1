"""The one printer: data on stdout, people's output and progress on stderr.

On a TTY: rich tables and progress bars. Otherwise: plain tab-separated lines and one
summary line on stderr. ``NO_COLOR`` and ``TERM=dumb`` turn colour and fancy glyphs off.
rich is imported only when something is actually rendered for a person.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

QUIET = False
DEBUG = False


def stdout_tty() -> bool:
    return sys.stdout.isatty()


def stderr_tty() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def _console(stderr: bool) -> Any:
    from rich.console import Console

    plain = os.environ.get("NO_COLOR") is not None or os.environ.get("TERM") == "dumb"
    return Console(stderr=stderr, no_color=plain, emoji=False, highlight=False,
                   safe_box=True, legacy_windows=False)


def show(renderable: Any) -> None:
    """Something drawn for a person on stdout (a tree, cards from :mod:`artcli.cli.render`)."""
    _console(stderr=False).print(renderable)


def raw(payload: bytes) -> None:
    """Bytes as they are on stdout (``debug cat``)."""
    sys.stdout.flush()
    buf = getattr(sys.stdout, "buffer", None)
    if buf is not None:
        buf.write(payload)
        buf.flush()
    else:  # stdout replaced by a text stream (tests, notebooks)
        sys.stdout.write(payload.decode("utf-8", "replace"))


def write_file(path: str, text: str) -> None:
    """Data asked for in a file (``--output``) instead of on stdout; the path is printed as data."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    data(path)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def emit_json_rows(rows: Iterable[Any]) -> None:
    """A JSON array, as :func:`emit_json` prints a list, from rows that arrive one at a time
    (spooled to a temp file first: nothing reaches stdout if producing a later row fails)."""
    import tempfile

    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        spool.write("[")
        first = True
        for row in rows:
            text = json.dumps(row, indent=2, ensure_ascii=False, default=str).replace("\n", "\n  ")
            spool.write(("\n  " if first else ",\n  ") + text)
            first = False
        spool.write("]\n" if first else "\n]\n")
        spool.seek(0)
        while chunk := spool.read(1 << 20):
            sys.stdout.write(chunk)
    sys.stdout.flush()


def data(line: str) -> None:
    """One line of data on stdout (a reference, a path, a value)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def info(message: str) -> None:
    """A line for people on stderr (silenced by --quiet)."""
    if not QUIET:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


def error(message: str, hint: str | None = None) -> None:
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    sys.stderr.flush()


def human_size(n: int | float | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, list | tuple):
        return ",".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return str(v)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A table: rich on a TTY, tab-separated lines (no header) otherwise, on stdout."""
    if not stdout_tty():
        for r in rows:
            data("\t".join(_cell(c) for c in r))
        return
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    plain = os.environ.get("TERM") == "dumb" or os.environ.get("NO_COLOR") is not None
    t = Table(title=escape(title) if title else None, box=box.ASCII if plain else box.SIMPLE_HEAD, header_style="bold")
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*(escape(_cell(c)) for c in r))  # names and values are text, never markup
    _console(stderr=False).print(t)


def fields(pairs: Sequence[tuple[str, Any]]) -> None:
    """A key/value listing (``show``)."""
    width = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        data(f"{k + ':':<{width + 1}} {_cell(v)}")


class TerminalProgress:
    """The terminal's :class:`artcli.progress.ProgressReporter`: a rich bar on a TTY, one summary line otherwise."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._live = stderr_tty() and not QUIET

    def phase(self, name: str, total: int | None = None, unit: str = "B") -> None:
        if not self._live:
            return
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(TextColumn("{task.description:<12}"), BarColumn(), DownloadColumn(),
                                      TransferSpeedColumn(), TimeRemainingColumn(),
                                      console=_console(stderr=True), transient=True)
            self._progress.start()
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(name, total=total or 0)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def done(self, summary: str) -> None:
        self.close()
        info(summary)

    def waiting(self, message: str) -> None:
        """Work blocked on someone else (a gc, a writer): said at once, as a warning (above a live bar)."""
        if self._progress is not None:
            self._progress.console.print(f"warning: {message}", markup=False, highlight=False)
        else:
            warn(message)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
