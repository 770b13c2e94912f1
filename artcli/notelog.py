"""Logs that take notes: events whose content does not depend on the log (the project
catalogue's touches and summaries, docs/format.md §5.10), appended without reading it.

A plain append folds the log to decide its event, so it fetches every event it has not cached:
a ``log`` with an empty cache fetched the whole catalogue for a touch that names one artifact.
A note needs only the next free number, which a listing of keys gives (one LIST from the last
event believed to exist); a writer that has just written a note tries the number after it
straight away. Exclusive create stays the only way in: a lost race lists and tries again.
"""

from __future__ import annotations

import random
import time
from typing import Any, Protocol

from artcli import checkpoints, layout
from artcli.errors import ConflictError
from artcli.eventlog import MAX_ATTEMPTS, EventLog, encode

#: the local cache's record of the last note this machine wrote to a log: a hint where the next
#: note's listing starts, believed only if that listing shows the event
END_HINT = "note-end"


class Notes(Protocol):
    """Someone to tell when a log changes (the project catalogue, for an artifact's log):
    ``before`` the first attempt to write an event it ``wants``, ``after`` the append ends,
    however it ends. Both must be best effort: they never fail the append."""

    def wants(self, body: dict[str, Any]) -> bool: ...

    def before(self) -> None: ...

    def after(self, log: EventLog) -> None: ...


class NoteLog(EventLog):
    """An :class:`EventLog` that also appends notes (:meth:`append_note`)."""

    def append_note(self, body: dict[str, Any], after: int | None = None) -> int:
        """Append ``body`` at the log's end and return its seq. The end is found from keys alone
        (:meth:`find_end`: no event fetched or folded), or is ``after`` when the caller knows an
        event there (it wrote ``after`` itself) and tries the next number at once."""
        last = self.find_end() if after is None else after
        for attempt in range(MAX_ATTEMPTS):
            seq = last + 1
            key = layout.new_event_key(self.prefix, seq)
            _ev, data = encode(body, seq, self.run_id)
            if self.store.put_if_absent(key, data):
                if self.db.last_event(self._log_id) == seq - 1:  # the cache stays a prefix of the log
                    self.db.add_events(self._log_id, [(seq, data)])
                self.db.put_snapshot(self._log_id, END_HINT, seq, b"")
                blocks = checkpoints.completed_by(seq)
                if blocks:  # once per 64 events: a note that completes a block reads it to checkpoint it
                    self.sync()
                for start, end in blocks:
                    self._write_checkpoint(start, end)
                return seq
            time.sleep(min(0.5, 0.005 * (1.5 ** min(attempt, 12))) * random.random())
            last = self.find_end(seq)
        raise ConflictError(f"could not append to {self.prefix} after {MAX_ATTEMPTS} attempts "
                            "(too many concurrent writers)")

    def find_end(self, known: int = -1) -> int:
        """The log's last seq on the remote (-1: empty), from listings alone. The listing starts
        at an event believed to exist — ``known``, the end of the cache or of the last note
        written from here, else the end of the newest checkpoint — and counts only if it shows
        that event first; otherwise the whole prefix is listed. So a note never lands past a
        gap, whatever a stale hint or a stray checkpoint key says."""
        cached, hint = self.db.last_event(self._log_id), self.db.snapshot(self._log_id, END_HINT)
        start = max(known, -1 if cached is None else cached, -1 if hint is None else hint[0])
        if start < 0:
            start = max((sg.end - 1 for sg in self._list_segments()), default=-1)
        if start >= 0:
            listing = self._list_after(start - 1)
            first = next(listing, None)
            if first is not None and first[0] == start:
                for seq, _info in listing:
                    start = seq
                return start
        last = -1
        for seq, _info in self._list_after(-1):
            last = seq
        return last
