"""Append-only event logs on a remote, with exclusive create as the only lock.

A writer folds the log, builds its event against that state, and creates the next sequence
number with ``put_if_absent``. Losing the race means another event landed first: re-read,
rebuild (the builder may now decide nothing needs writing), retry. Reads are incremental:
the local cache keeps every event seen, so a warm read is one LIST with ``start_after``.
"""

from __future__ import annotations

import getpass
import random
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from artcli import canonical, clock, layout
from artcli.errors import ConflictError, IntegrityError

if TYPE_CHECKING:
    from artcli.localdb import LocalDB
    from artcli.store.base import Store

MAX_ATTEMPTS = 500
#: events fetched (and cached) per batch on a cold read
FETCH_CHUNK = 1000
MAX_SEQ = 10**12 - 1  # the 12-digit keys
Events = list[tuple[str, dict[str, Any] | None]]


def actor(run_id: str | None) -> dict[str, Any]:
    """Who wrote an event: user, host and run (never environment variables or secrets)."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return {"user": user, "host": socket.gethostname(), "run": run_id}


def _seq_of(key: str) -> int | None:
    name = key.rsplit("/", 1)[-1]
    stem = name[:-5] if name.endswith(".json") else ""
    return int(stem) if stem.isdigit() and len(stem) == 12 else None


def _parse(body: bytes) -> dict[str, Any] | None:
    try:
        ev = canonical.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return ev if isinstance(ev, dict) and isinstance(ev.get("type"), str) else None


#: a dry run's events: (log prefix, event) in the order they would have been written
Preview = list[tuple[str, dict[str, Any]]]


class EventLog:
    """One log. With ``preview`` (a dry run), :meth:`append` writes nothing: it adds the event
    it would write to ``preview``, and :meth:`read` returns the log as if it had been written,
    so later steps of the same command build on it."""

    def __init__(self, store: Store, db: LocalDB, prefix: str, run_id: str | None = None,
                 preview: Preview | None = None) -> None:
        self.store = store
        self.db = db
        self.prefix = prefix
        self.run_id = run_id
        self.preview = preview
        self._log_id = f"{store.url}|{prefix}"

    def read(self) -> Events:
        """Every event in sequence order, as (key, parsed-or-None)."""
        cached = self.db.events(self._log_id)
        last = cached[-1][0] if cached else None
        start_after = layout.event_key(self.prefix, last) if last is not None else None
        new = [(info, s) for info in self.store.list(layout.events_prefix(self.prefix), start_after)
               if (s := _seq_of(info.key)) is not None]
        for i in range(0, len(new), FETCH_CHUNK):
            # cached chunk by chunk, in order: an interrupted cold read resumes where it stopped
            chunk = new[i : i + FETCH_CHUNK]
            bodies = self.store.get_ranges([(info.key, 0, info.size) for info, _ in chunk])
            rows = [(s, b) for (_, s), b in zip(chunk, bodies, strict=True)]
            self.db.add_events(self._log_id, rows)
            cached.extend(rows)
        out: Events = [(layout.event_key(self.prefix, s), _parse(b)) for s, b in cached]
        if self.preview:
            out += [(layout.event_key(self.prefix, ev["seq"]), ev) for p, ev in self.preview if p == self.prefix]
        return out

    def exists(self) -> bool:
        return bool(self.db.events(self._log_id)) or any(
            True for _ in self.store.list(layout.events_prefix(self.prefix)))

    def append(self, build: Callable[[Events], dict[str, Any] | None]) -> dict[str, Any] | None:
        """Append the event ``build`` returns for the current log (None: nothing to write)."""
        for attempt in range(MAX_ATTEMPTS):
            events = self.read()
            body = build(events)
            if body is None:
                return None
            seq = max((s for k, _ in events if (s := _seq_of(k)) is not None), default=-1) + 1
            if seq > MAX_SEQ:  # never write a key readers reject (docs/format.md §5)
                raise IntegrityError(f"cannot append to {self.prefix}: {layout.event_key(self.prefix, seq - 1)} holds "
                                     "the highest sequence number there is", kind="seq-gap")
            ev = {**body, "seq": seq, "time": clock.iso(), "actor": actor(self.run_id)}
            if self.preview is not None:
                self.preview.append((self.prefix, ev))
                return ev
            data = canonical.dumps(ev)
            if self.store.put_if_absent(layout.event_key(self.prefix, seq), data):
                self.db.add_events(self._log_id, [(seq, data)])
                return ev
            time.sleep(min(0.5, 0.005 * (1.5 ** min(attempt, 12))) * random.random())
        raise ConflictError(f"could not append to {self.prefix} after {MAX_ATTEMPTS} attempts "
                            "(too many concurrent writers)")
