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
#: a JSON document already went to stdout in this command (an error after it adds none: one document)
JSON_SENT = False


def stdout_tty() -> bool:
    return sys.stdout.isatty()


def stderr_tty() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def plain_style() -> bool:
    """``NO_COLOR`` (any value, https://no-color.org) or ``TERM=dumb``: no colour, no bold, no styles."""
    return os.environ.get("NO_COLOR") is not None or os.environ.get("TERM") == "dumb"


def _console(stderr: bool) -> Any:
    from rich.console import Console

    # color_system=None: rich writes no escape codes at all (no_color alone still writes bold)
    kwargs: dict[str, Any] = {"color_system": None} if plain_style() else {}
    return Console(stderr=stderr, emoji=False, highlight=False, safe_box=True, legacy_windows=False, **kwargs)


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
    global JSON_SENT
    JSON_SENT = True
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def emit_json_rows(rows: Iterable[Any]) -> None:
    """A JSON array, as :func:`emit_json` prints a list, from rows that arrive one at a time
    (spooled to a temp file first: nothing reaches stdout if producing a later row fails)."""
    import tempfile

    global JSON_SENT

    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        spool.write("[")
        first = True
        for row in rows:
            text = json.dumps(row, indent=2, ensure_ascii=False, default=str).replace("\n", "\n  ")
            spool.write(("\n  " if first else ",\n  ") + text)
            first = False
        spool.write("]\n" if first else "\n]\n")
        spool.seek(0)
        JSON_SENT = True
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
    """A warning on stderr. ``--quiet`` silences it too: quiet means data (and errors) only."""
    if QUIET:
        return
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


#: exit code -> the ``kind`` of a JSON error object (docs/json.md, "Errors")
ERROR_KINDS = {1: "error", 2: "usage", 3: "not_found", 4: "integrity", 5: "conflict", 6: "remote",
               130: "interrupted"}


def wants_json(argv: Sequence[str]) -> bool:
    """``--json`` or ``--format json`` on the command line (before a ``--``)."""
    args = list(argv[:argv.index("--")] if "--" in argv else argv)
    if "--json" in args or "--format=json" in args:
        return True
    from itertools import pairwise

    return any(a in ("--format", "-f") and b == "json" for a, b in pairwise(args))


def error(message: str, hint: str | None = None, *, code: int = 1, as_json: bool = False) -> None:
    """An error: one line (and a hint) on stderr, always; with ``--json`` also a JSON error
    object on stdout, so a program reading stdout learns what went wrong, unless the command
    already printed its JSON document (``debug fsck`` reports its findings, then fails)."""
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    sys.stderr.flush()
    if as_json and not JSON_SENT:  # a report already printed (fsck's findings) stays the one document
        emit_json({"error": {"message": message, "hint": hint, "code": code,
                             "kind": ERROR_KINDS.get(code, "error")}})


def human_size(n: int | float | None) -> str:
    """A size in the one unit family (IEC: KiB, MiB, GiB), as everywhere people read sizes."""
    from artcli.humanize import size

    return size(n)


def size_cell(n: int | None) -> str | int | None:
    """A size in a table: people's units at a terminal, the exact bytes in a pipe."""
    return human_size(n) if stdout_tty() else n


def when(value: str | None) -> str:
    """A time: relative or local (``3 h ago``, ``2025-03-14``) for a person at a terminal; the
    exact ISO 8601 text in a pipe (and JSON never comes here)."""
    if value is None:
        return "-"
    if not stdout_tty():
        return value
    from artcli.humanize import ago

    return ago(value)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, list | tuple):
        return ",".join(str(x) for x in v)
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return str(v)


#: a column that may wrap keeps at least this many characters (or its header's, or its widest value's
#: when that is less): below that a value is more wrap than text
MIN_WRAPPED = 8


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None,
          keep: Sequence[str] | None = None) -> None:
    """A table: rich on a TTY, tab-separated lines (no header) otherwise, on stdout.

    On a terminal the table fits its width and nothing is cut: the ``keep`` columns (default:
    the first), which identify a row (a reference, a run id, a path), are never wrapped; the
    others wrap when space runs out. When even that does not fit, each row is printed as a
    small block of ``column: value`` lines instead.
    """
    if not stdout_tty():
        for r in rows:
            data("\t".join(_cell(c) for c in r))
        return
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    plain = plain_style()
    kept = set(keep if keep is not None else columns[:1])
    cells = [[_cell(c) for c in r] for r in rows]
    natural = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(columns)]
    least = [n if h in kept else min(n, max(len(h), MIN_WRAPPED)) for h, n in zip(columns, natural, strict=True)]
    console = _console(stderr=False)
    if sum(least) + 3 * len(columns) + 1 > console.width:
        _records(columns, cells, kept, title)
        return
    t = Table(title=escape(title) if title else None, box=box.ASCII if plain else box.SIMPLE_HEAD,
              header_style="" if plain else "bold", title_style="" if plain else None)
    for c, low in zip(columns, least, strict=True):
        t.add_column(c, no_wrap=c in kept, overflow="fold", min_width=low)
    for r in cells:
        t.add_row(*(escape(c) for c in r))  # names and values are text, never markup
    console.print(t)


def _records(columns: Sequence[str], cells: list[list[str]], kept: set[str], title: str | None) -> None:
    """A table too wide for the terminal, as blocks: the row's first identifying value alone on
    a line, then one ``column: value`` line per other column (long values wrap, never cut)."""
    if title:
        data(title)
    first = next((i for i, c in enumerate(columns) if c in kept), 0)
    width = max((len(c) for c in columns), default=0)
    for n, r in enumerate(cells):
        if n:
            data("")
        data(r[first])
        for i, c in enumerate(columns):
            if i != first:
                data(f"  {(c or '-') + ':':<{width + 1}} {r[i]}")


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
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            # IEC sizes and speeds: the bar says MiB like every other size artcli prints; a phase
            # that counts objects or entries says so instead of calling them bytes
            amount, speed = _amount_columns()
            self._progress = Progress(TextColumn("{task.description:<12}"), BarColumn(), amount, speed,
                                      TimeRemainingColumn(), console=_console(stderr=True), transient=True)
            self._progress.start()
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(name, total=total or 0, unit=unit)

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


def _amount_columns() -> tuple[Any, Any]:
    """Progress columns for how much is done and how fast, in IEC units for bytes (rich's own
    columns are decimal) and as plain counts for other units (``1,204/5,000 objects``)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    from artcli.humanize import progress, rate, size

    def is_bytes(task: Any) -> bool:
        return task.fields.get("unit", "B") == "B"

    class AmountColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            done, total = int(task.completed), int(task.total) if task.total else None
            if not is_bytes(task):
                unit = task.fields.get("unit", "")
                text = f"{done:,}/{total:,} {unit}" if total else f"{done:,} {unit}"
            elif total:
                text = progress(done, total)
            else:
                text = size(done)
            return Text(text, style="progress.download")

    class SpeedColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            if not is_bytes(task):
                return Text("")
            return Text("?" if speed is None else rate(speed), style="progress.data.speed")

    return AmountColumn(), SpeedColumn()
