"""Append-only event logs on a remote, with exclusive create as the only lock.

A writer folds the log, builds its event against that state, and creates the next sequence
number with ``put_if_absent``. Losing the race means another event landed first: re-read,
rebuild (the builder may now decide nothing needs writing), retry. Reads are incremental:
the local cache keeps every event seen, so a warm read is one LIST with ``start_after``.
"""

from __future__ import annotations

import getpass
import itertools
import random
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from artcli import canonical, checkpoints, clock, layout
from artcli.errors import ArtcliError, ConflictError, IntegrityError

if TYPE_CHECKING:
    from artcli.localdb import LocalDB
    from artcli.store.base import ObjectInfo, Store

MAX_ATTEMPTS = 500
#: events fetched (and cached) per batch on a cold read
FETCH_CHUNK = 1000
#: a warm reader this many events behind looks for checkpoints before fetching events one by one
LONG_TAIL = 64
#: a folded state is cached again once this many new events were folded onto it
SNAPSHOT_MIN = 16
#: cached events that failed validation fetched again per read, at most
RECHECK = 64
#: checkpoints a reader writes at most in one go
MAX_READER_WRITES = 2 * checkpoints.FANOUT
#: an event object larger than this is not read whole: only its first bytes are fetched, which
#: do not parse, so it is skipped like any unreadable event (docs/format.md §3.3, §5.7)
MAX_EVENT_BYTES = 16 << 20
Events = list[tuple[str, dict[str, Any] | None]]
S = TypeVar("S")


def actor(run_id: str | None) -> dict[str, Any]:
    """Who wrote an event: user, host and run (never environment variables or secrets)."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return {"user": user, "host": socket.gethostname(), "run": run_id}


def encode(body: dict[str, Any], seq: int, run_id: str | None, when: str | None = None) -> tuple[dict[str, Any], bytes]:
    """An event as written at ``seq``: ``body`` plus seq, time and actor, in canonical bytes."""
    ev = {**body, "seq": seq, "time": when or clock.iso(), "actor": actor(run_id)}
    return ev, canonical.dumps(ev)


def _seq_of(key: str) -> int | None:
    name = key.rsplit("/", 1)[-1]
    stem = name[:-5] if name.endswith(".json") else ""
    return int(stem) if stem.isdigit() and len(stem) == 12 else None


def _fetch_len(size: int) -> int:
    """How much of an event object of ``size`` bytes is fetched: an object over the limit is
    not an event, and only enough of it to tell is read."""
    return min(size, MAX_EVENT_BYTES + 1)


def _cacheable(seq: int, body: bytes) -> bool:
    """Whether a cached event is sound: a JSON object with a string ``type`` whose ``seq`` is its
    key's number. Anything else is read again next time (the remote may be repaired)."""
    return _sound(seq, _parse(body))


def _sound(seq: int, ev: dict[str, Any] | None) -> bool:
    return ev is not None and ev.get("seq") == seq and not isinstance(ev.get("seq"), bool)


def _parse(body: bytes) -> dict[str, Any] | None:
    if len(body) > MAX_EVENT_BYTES:
        return None
    try:
        ev = canonical.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return ev if isinstance(ev, dict) and isinstance(ev.get("type"), str) else None


class Fold(Protocol[S]):
    """How to fold one kind of log, and how to keep the result in the local cache.

    ``kind`` names the fold and its encoding (a new artcli that folds differently uses a new
    kind, so it never reads a state an older one cached)."""

    kind: str

    def new(self) -> S: ...

    def fold(self, state: S, events: Iterable[tuple[str, dict[str, Any] | None]]) -> None: ...

    def dump(self, state: S) -> bytes: ...

    def load(self, data: bytes) -> S: ...


class EventLog:
    def __init__(self, store: Store, db: LocalDB, prefix: str, run_id: str | None = None,
                 notes: Any = None) -> None:  # an artcli.notelog.Notes (not imported: no cycle)
        self.store = store
        self.db = db
        self.prefix = prefix
        self.run_id = run_id
        self.notes = notes
        # the cache is keyed by the store's identity (endpoint, URL, the id in its marker), not
        # its URL alone: a URL can name another store over time (a folder deleted and made again)
        self._log_id = f"{store.cache_id}|{prefix}"
        #: checkpoints seen by the last listing (None: not listed in this process)
        self._segments: list[checkpoints.Segment] | None = None
        #: read to its end here: an append's first attempt needs no LIST (exclusive create decides)
        self._synced = False
        #: the seq the last append through this object wrote (None: it wrote nothing)
        self.committed: int | None = None

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> Events:
        """Every event in sequence order, as (key, parsed-or-None)."""
        return self._read()[0]

    def _read(self, sync: bool = True) -> tuple[Events, int]:
        """The events, and the highest seq among them (-1: none)."""
        if sync:
            self.sync()
        rows = self.db.events(self._log_id)
        return list(self._parsed(rows)), rows[-1][0] if rows else -1

    def folded_at(self, fold: Fold[S], *, sync: bool = True) -> tuple[S, int]:
        return self._folded(fold, sync)  # and the last seq folded into it (-1: none); sync=False: cache only

    def folded(self, fold: Fold[S]) -> S:
        """The log folded by ``fold``: the state cached locally plus the events after it.

        A warm read is one LIST and folds only the events it had not folded before; the state
        is cached again when that was more than a few events.
        """
        return self._folded(fold)[0]

    def _folded(self, fold: Fold[S], sync: bool = True) -> tuple[S, int]:
        """The folded state, and the highest seq folded into it (-1: none)."""
        if sync:
            self.sync()
        snap = self.db.snapshot(self._log_id, fold.kind)
        state, after = (fold.new(), -1) if snap is None else (fold.load(snap[1]), snap[0])
        rows = self.db.events(self._log_id, after=after)
        fold.fold(state, self._parsed(rows))
        if len(rows) >= SNAPSHOT_MIN:
            self.db.put_snapshot(self._log_id, fold.kind, rows[-1][0], fold.dump(state))
        return state, rows[-1][0] if rows else after

    def _parsed(self, rows: list[tuple[int, bytes]]) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """Events parsed one at a time, as the fold takes them (no list of them all); those that
        fail validation become *suspects* here, as the first fold parses them (not when cached)."""
        bad = []
        for seq, body in rows:
            ev = _parse(body)
            if not _sound(seq, ev):
                bad.append(seq)
            yield layout.event_key(self.prefix, seq), ev
        if bad:
            self.db.add_suspects(self._log_id, bad)

    def sync(self) -> None:
        """Bring the local copy of the log up to the remote's: checkpoints for a long stretch,
        then one LIST with ``start_after`` and a GET per event after the last one held."""
        self._recheck_suspects()  # those cached by earlier reads
        last, listing = self._check_cached_end()
        tail = list(itertools.islice(listing, LONG_TAIL + 1))
        if len(tail) > LONG_TAIL:  # far behind (or cold on a long log): checkpoints first
            reached = self._from_checkpoints(last)
            if reached > last:
                last = reached
                tail = list(self._list_after(last))
            else:
                tail += list(listing)
        fetched = 0
        for i in range(0, len(tail), FETCH_CHUNK):
            # cached chunk by chunk, in order: an interrupted cold read resumes where it stopped
            chunk = tail[i : i + FETCH_CHUNK]
            bodies = self.store.get_ranges([(info.key, 0, _fetch_len(info.size)) for _, info in chunk])
            self._cache([(s, b) for (s, _), b in zip(chunk, bodies, strict=True)])
            fetched += len(chunk)
        if fetched >= checkpoints.BLOCK:  # a reader that folded this many events leaves checkpoints behind
            self._checkpoint_prefix()
        self._synced = True

    def _check_cached_end(self) -> tuple[int, Iterator[tuple[int, ObjectInfo]]]:
        """The last event this cache holds, and the listing of the events after it, having
        checked that the remote still holds that event with the same size (the listing starts
        one event earlier, so this costs no request). If not, the store changed under the cache
        (re-created, restored from a backup): its copy of the log is dropped and read again."""
        last = self.db.last_event(self._log_id)
        if last is None:
            return -1, self._list_after(-1)
        listing = self._list_after(last - 1)
        first = next(listing, None)
        held = self.db.events(self._log_id, after=last - 1, before=last + 1)
        if first is not None and first[0] == last and held and _fetch_len(first[1].size) == len(held[0][1]):
            return last, listing
        self.db.forget_events(self._log_id)
        return -1, self._list_after(-1)

    def _cache(self, rows: list[tuple[int, bytes]]) -> None:
        """Keep events in the local cache; suspects (:meth:`_parsed`) are fetched again at the
        next reads until the remote holds a sound event there (a truncated event repaired later
        must not keep failing from the cache)."""
        self.db.add_events(self._log_id, rows)

    def _recheck_suspects(self) -> None:
        """Fetch again the cached events that failed validation (at most RECHECK per read);
        a repaired one replaces the cached bytes (and drops the folds cached from them)."""
        suspects = self.db.suspects(self._log_id)[:RECHECK]
        if not suspects:
            return
        fixed = []
        for seq in suspects:
            key = layout.event_key(self.prefix, seq)
            try:
                body = self.store.get_ranges([(key, 0, _fetch_len(self.store.info(key).size))])[0]
            except ArtcliError:  # gone or unreachable: keep what is cached, try next time
                continue
            if _cacheable(seq, body):
                fixed.append((seq, body))
        if fixed:
            self.db.replace_events(self._log_id, fixed)

    def forget_from(self, seq: int) -> None:
        """Drop the cached events from ``seq`` on (one proved wrong: read them again next time)."""
        self.db.forget_events(self._log_id, seq)

    def _list_after(self, last: int) -> Iterator[tuple[int, ObjectInfo]]:
        start_after = layout.event_key(self.prefix, last) if last >= 0 else None
        for info in self.store.list(layout.events_prefix(self.prefix), start_after):
            if (s := _seq_of(info.key)) is not None:
                yield s, info

    def exists(self) -> bool:
        return self.db.last_event(self._log_id) is not None or any(
            True for _ in self.store.list(layout.events_prefix(self.prefix)))

    # -- checkpoints (docs/format.md §5.8) -------------------------------------------------
    def _list_segments(self) -> list[checkpoints.Segment]:
        if self._segments is None:
            found = (checkpoints.parse_key(self.prefix, i.key, i.size)
                     for i in self.store.list(checkpoints.prefix(self.prefix)))
            self._segments = sorted(s for s in found if s is not None)
        return self._segments

    def _from_checkpoints(self, last: int) -> int:
        """Fetch, verify and cache the checkpoints that reach furthest past event ``last``;
        returns the last event now held (``last`` when none helps). A checkpoint that fails
        its checks is passed over: they are only ever a shortcut."""
        bad: set[checkpoints.Segment] = set()
        while True:
            chosen = checkpoints.plan([s for s in self._list_segments() if s not in bad], last + 1)
            if not chosen:
                return last
            try:
                blobs: list[bytes | None] = list(self.store.get_ranges([(s.key, 0, s.nbytes) for s in chosen]))
            except ArtcliError:
                blobs = [self._get_or_none(s.key) for s in chosen]
            for seg, blob in zip(chosen, blobs, strict=True):
                try:
                    if blob is None:
                        raise IntegrityError(f"checkpoint {seg.key} vanished")
                    rows = checkpoints.decode(self.prefix, seg, blob)
                except IntegrityError:
                    bad.add(seg)
                    break
                self._cache([(s, b) for s, b in rows if s > last])
                last = seg.end - 1
            else:
                return last

    def _get_or_none(self, key: str) -> bytes | None:
        try:
            return self.store.get(key)
        except ArtcliError:
            return None

    def _checkpoint_prefix(self) -> None:
        """Write the fewest checkpoints that cover the log's start, where missing (a reader
        after folding many events one by one; at most ``MAX_READER_WRITES`` objects)."""
        held = self.db.last_event(self._log_id)
        if held is None:
            return
        try:
            wanted = checkpoints.greedy_ranges(0, held + 1)
            todo = checkpoints.missing(wanted, self._list_segments())[:MAX_READER_WRITES]
        except ArtcliError:
            return
        for start, end in todo:
            self._write_checkpoint(start, end)

    def _write_checkpoint(self, start: int, end: int) -> None:
        """Best effort: a checkpoint that cannot be written (read-only credentials, a store
        without exclusive create, a gap in the cached events) is simply not there."""
        rows = self.db.events(self._log_id, after=start - 1, before=end)
        if len(rows) != end - start:
            return
        digest, blob = checkpoints.encode(self.prefix, start, end, rows)
        k = checkpoints.key(self.prefix, start, end, digest)
        try:
            self.store.put_if_absent(k, blob)
        except ArtcliError:
            return
        if self._segments is not None:  # with its size: a reader fetches a checkpoint as a range of it
            self._segments = sorted({*self._segments, checkpoints.Segment(start, end, digest, k, len(blob))})

    def check_checkpoints(self) -> list[tuple[str, str, str]]:
        """What is wrong with this log's checkpoints (``debug fsck``), as (kind, key, message):
        each one must decode and hold exactly the bytes of the event objects, which are fetched
        one by one to compare."""
        problems = []
        for info in self.store.list(checkpoints.prefix(self.prefix)):
            seg = checkpoints.parse_key(self.prefix, info.key, info.size)
            if seg is None:
                continue
            try:
                rows = checkpoints.decode(self.prefix, seg, self.store.get(seg.key))
            except ArtcliError as exc:
                problems.append(("checkpoint-corrupt", seg.key, f"{exc} (readers pass over it; delete it)"))
                continue
            listed: dict[int, ObjectInfo] = {}
            for s, i in self._list_after(seg.start - 1):
                if s >= seg.end:
                    break
                listed[s] = i
            held = self.store.get_ranges([(i.key, 0, i.size) for i in listed.values()])
            actual = dict(zip(listed, held, strict=True))
            bad = [s for s, body in rows if actual.get(s) != body]
            if bad:
                problems.append(("checkpoint-mismatch", seg.key,
                                 f"differs from the event objects at seq {bad[0]}"
                                 f"{f' and {len(bad) - 1} more' if len(bad) > 1 else ''}: the remote is damaged"))
        return problems

    # -- writing ---------------------------------------------------------------------------
    def append(self, build: Callable[[Events], dict[str, Any] | None]) -> dict[str, Any] | None:
        """Append the event ``build`` returns for the current log (None: nothing to write)."""

        def decide(sync: bool) -> tuple[dict[str, Any] | None, int]:
            events, last = self._read(sync)
            return build(events), last

        return self._append(decide)

    def append_folded(self, fold: Fold[S], build: Callable[[S], dict[str, Any] | None]) -> dict[str, Any] | None:
        """:meth:`append`, with ``build`` given the folded state rather than every event: a
        writer on a long log folds only what it had not folded before."""

        def decide(sync: bool) -> tuple[dict[str, Any] | None, int]:
            state, last = self._folded(fold, sync)
            return build(state), last

        return self._append(decide)

    def _append(self, decide: Callable[[bool], tuple[dict[str, Any] | None, int]]) -> dict[str, Any] | None:
        noted = False
        self.committed = None
        try:
            for attempt in range(MAX_ATTEMPTS):
                # the next seq follows the last event the decision saw, never one cached since (by
                # another process); no LIST for a first try after a sync: a lost race lists again
                body, last = decide(attempt > 0 or not self._synced)
                if body is None:
                    return None
                if self.notes is not None and not noted and self.notes.wants(body):
                    self.notes.before()
                    noted = True
                seq = last + 1
                key = layout.new_event_key(self.prefix, seq)
                ev, data = encode(body, seq, self.run_id)
                if self.store.put_if_absent(key, data):
                    self.db.add_events(self._log_id, [(seq, data)])
                    self.committed = seq
                    for start, end in checkpoints.completed_by(seq):
                        self._write_checkpoint(start, end)
                    return ev
                time.sleep(min(0.5, 0.005 * (1.5 ** min(attempt, 12))) * random.random())
            raise ConflictError(f"could not append to {self.prefix} after {MAX_ATTEMPTS} attempts "
                                "(too many concurrent writers)")
        finally:
            if noted:
                assert self.notes is not None
                self.notes.after(self)
