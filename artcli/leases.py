"""Writer and gc leases (docs/format.md §7): how ``log`` and ``gc`` keep out of each other's way.

The grace period of gc protects objects a writer uploaded moments ago. It does not protect a
writer that found an *old* unreferenced object and is about to reference it (dedup): for
that, writers and gc follow this protocol.

* A writer, before it lists the remote for dedup, creates ``gc/writers/<id>.json`` and then
  lists ``gc/running/``. If a live gc lease is there, it deletes its own lease, waits, and
  tries again with a new id. It keeps its lease fresh while it works, checks that the lease
  never lapsed just before it commits (``version_created``), and deletes it afterwards.
* gc creates ``gc/running/<id>.json``, then lists ``gc/writers/`` and waits until every live
  writer lease of that listing is gone; only then does it read the logs (mark) and delete.

Both sides create their lease before they list the other's, and LIST is strongly consistent
on every supported backend, so at least one sees the other: a writer either finished
committing before gc read the logs (its version is a root), or it sees gc and waits before
touching the remote. A lease is live while its ``heartbeat`` (real wall-clock time, never
ARTCLI_NOW) is less than ``lease`` seconds old; each holder stops work when its own last
heartbeat is older than half that, so a crashed or paused holder never blocks anyone for
long and never acts on a lapsed lease.

A lease that lapsed stays lapsed (:attr:`Lease.gap`): a process stopped (SIGSTOP, a laptop
asleep, a preempted CI runner) resumes with its heartbeat thread and its main thread at once,
and a fresh heartbeat written on resume must not hide that others saw the lease dead
meanwhile (a gc may have deleted what the holder relies on). Time is measured on a clock that
counts suspend (CLOCK_BOOTTIME) and on the wall clock, whichever says more time passed.

Waiting for the other side is reported through the caller's progress reporter (``waiting``);
nothing here prints or logs for people.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from artcli import canonical, clock, layout
from artcli.durations import format_duration
from artcli.errors import ArtcliError, ConflictError, NotFoundError, RemoteError
from artcli.eventlog import actor
from artcli.humanize import plural
from artcli.progress import NoProgress, ProgressReporter

if TYPE_CHECKING:
    from artcli.repo import Repo
    from artcli.store.base import Store

logger = logging.getLogger(__name__)  # debug only: heartbeat failures surface as errors in check()

LEASE_SECONDS = 120.0
LEASE_MAX = 3600.0  # the longest lease anyone else's lease object is believed
FUTURE_MAX = LEASE_SECONDS / 2  # clocks agree within this (format §7.1); a heartbeat further ahead is not live
HEARTBEAT_SECONDS = 15.0
WRITER_MAX_WAIT = 3600.0


def _wall() -> datetime:
    """Real time: leases are about processes being alive, so ARTCLI_NOW never applies."""
    return datetime.now(UTC)


def _ticks() -> tuple[float, float]:
    """Now on two clocks: one that keeps counting while the machine sleeps (Linux's
    CLOCK_BOOTTIME; elsewhere the monotonic clock) and the wall clock."""
    boot = time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic()
    return boot, time.time()


def _elapsed(since: tuple[float, float], now: tuple[float, float]) -> float:
    """Seconds from ``since`` to ``now``: the larger reading of the two clocks (a wall clock set
    back cannot hide a pause, one set forward only ends a lease early)."""
    return max(now[0] - since[0], now[1] - since[1])


class Lease:
    """One lease object (``gc/<role>/<id>.json``) kept fresh by a heartbeat thread while work goes on."""

    def __init__(self, store: Store, prefix: str, kind: str, run_id: str | None = None,
                 lease: float | None = None, heartbeat: float | None = None) -> None:
        self.store = store
        self.id = uuid.uuid4().hex
        self.key = layout.lease_key(prefix, self.id)
        self.kind = kind
        self.lease = LEASE_SECONDS if lease is None else lease
        self.interval = HEARTBEAT_SECONDS if heartbeat is None else heartbeat
        self.started = clock.iso(_wall())
        self._actor = actor(run_id)
        self._last_ok: tuple[float, float] | None = None  # _ticks() when the last good heartbeat was stamped
        #: the longest time others may have seen this lease dead (0: never); it never shrinks
        self.gap = 0.0
        self._glock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _put(self) -> None:
        t0 = _ticks()
        body = {"kind": self.kind, "id": self.id, "started": self.started, "heartbeat": clock.iso(_wall()),
                "lease": self.lease, "actor": self._actor}
        self.store.put(self.key, canonical.dumps(body))
        with self._glock:
            if self._last_ok is not None:  # from the last heartbeat to this one being visible
                self._note_gap(_elapsed(self._last_ok, _ticks()))
            self._last_ok = t0

    def _note_gap(self, age: float) -> None:
        if age > self.lease / 2:
            self.gap = max(self.gap, age)

    def start(self) -> Lease:
        self._put()
        self._thread = threading.Thread(target=self._beat, name=f"artcli-{self.kind}-lease", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._put()
            except ArtcliError as exc:  # check() turns a lapsed lease into an error at the next step
                logger.debug("lease heartbeat failed: %s", exc)

    @property
    def lapsed(self) -> bool:
        """Whether others may have seen this lease dead at any moment since it started: a
        heartbeat more than half the lease late, now or at any time before (for skew)."""
        return self._lapsed()

    def _lapsed(self) -> bool:  # undecorated, so that mutation testing reaches it (mutmut skips decorated ones)
        with self._glock:
            if self._last_ok is not None:
                self._note_gap(_elapsed(self._last_ok, _ticks()))
            return self.gap > 0

    def check(self) -> None:
        """Raise unless the lease has been live for others without a gap since it started."""
        if self.lapsed:
            raise RemoteError(f"the {self.kind} lease {self.key} lapsed ({self.gap:.0f}s without a heartbeat: "
                              "the process was paused, or the remote unreachable); stopped before doing "
                              "anything unsafe", hint="check the connection and run it again")

    def end(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.store.delete(self.key)
        except ArtcliError as exc:  # it goes stale on its own
            logger.debug("could not delete lease %s: %s", self.key, exc)


def lease_live(body: bytes, mtime: float | None) -> bool:
    """A heartbeat younger than its lease (at most an hour) and at most a minute ahead of our
    clock: a hostile or broken lease object blocks gc or writers for an hour and a minute of
    real time at most (a heartbeat an hour ahead was believed for two)."""
    try:
        obj = canonical.loads(body)
        beat = clock.parse_iso(str(obj["heartbeat"]))
        lease = float(obj.get("lease") or LEASE_SECONDS)
        if not math.isfinite(lease):
            raise ValueError("lease")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):  # live only while young
        return mtime is None or time.time() - mtime < LEASE_SECONDS
    age = (_wall() - beat).total_seconds()
    return -FUTURE_MAX <= age < min(max(lease, 1.0), LEASE_MAX)


def live_leases(store: Store, prefix: str) -> dict[str, bool]:
    """key -> live? for every lease object under ``prefix`` (one LIST, one GET per lease)."""
    out: dict[str, bool] = {}
    for info in store.list(prefix):
        try:
            body = store.get(info.key)
        except NotFoundError:  # deleted between LIST and GET: its holder finished
            continue
        out[info.key] = lease_live(body, info.mtime)
    return out


# -- the writer side -----------------------------------------------------------------------------
@contextmanager
def write_session(repo: Repo, reporter: ProgressReporter | None = None) -> Iterator[Lease]:
    """Hold a writer lease for the dedup-and-commit part of ``log``; waits while a gc runs.

    Costs one PUT, one LIST and one DELETE per command (plus a heartbeat every 15 s),
    whatever the number of files. Call ``.check()`` on the lease right before committing.
    """
    lease = _writer_lease(repo, reporter)
    try:
        yield lease
    finally:
        lease.end()


def _writer_lease(repo: Repo, reporter: ProgressReporter | None) -> Lease:
    """A started writer lease, taken when no live gc lease is listed after it was created."""
    rep = reporter or NoProgress()
    store = repo.store
    since = time.monotonic()
    told = False
    pause = 0.05
    while True:
        lease = Lease(store, layout.WRITER_LEASES_PREFIX, "writer", repo.run_id).start()
        try:
            running = [k for k, live in live_leases(store, layout.GC_LEASES_PREFIX).items() if live]
        except BaseException:
            lease.end()
            raise
        if not running:
            break
        lease.end()  # a fresh id next time, so gc never waits for a writer that is waiting for it
        if not told:
            rep.waiting(f"waiting for a garbage collection to finish ({running[0]})")
            told = True
        waited = time.monotonic() - since
        if waited > WRITER_MAX_WAIT:
            raise ConflictError(f"a garbage collection ({running[0]}) has kept this write waiting for "
                                f"{format_duration(waited)}", hint="run it again when gc has finished")
        time.sleep(pause)
        pause = min(2.0, pause * 2)
    return lease


class LazyWriteSession:
    """The writer lease of one ``log``, taken on first need and held until :meth:`close`."""

    def __init__(self, repo: Repo, reporter: ProgressReporter | None = None) -> None:
        self._repo = repo
        self._reporter = reporter
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self._lease: Lease | None = None

    def get(self) -> Lease:
        with self._lock:
            if self._lease is None:
                self._repo.check_format(for_write=True)  # never write to a remote of a newer format
                self._lease = self._stack.enter_context(write_session(self._repo, self._reporter))
            return self._lease

    def renew(self) -> Lease:
        """End a lapsed lease and take a new one (waiting, like the first, while a gc runs).
        What the holder found or uploaded before must be looked at again under the new one."""
        with self._lock:
            self._lease = None
            self._stack.close()
            self._stack = ExitStack()
        return self.get()

    def close(self) -> None:
        with self._lock:
            self._lease = None
            self._stack.close()


# -- the gc side ---------------------------------------------------------------------------------
def gc_lease(repo: Repo) -> Lease:
    """Start a gc lease (end it with ``.end()``)."""
    return Lease(repo.store, layout.GC_LEASES_PREFIX, "gc", repo.run_id).start()


def wait_for_writers(repo: Repo, wait: float, lock: Lease, reporter: ProgressReporter | None = None) -> None:
    """Wait until every writer lease that existed when our gc lease was visible has ended."""
    rep = reporter or NoProgress()
    pending = {k for k, live in live_leases(repo.store, layout.WRITER_LEASES_PREFIX).items() if live}
    deadline = time.monotonic() + wait
    pause = 0.05
    told = False
    while pending:
        lock.check()
        pending &= {k for k, live in live_leases(repo.store, layout.WRITER_LEASES_PREFIX).items() if live}
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise ConflictError(f"{plural(len(pending), 'write')} still in progress after {format_duration(wait)}; "
                                "nothing was deleted", hint="run gc again later, or give it more time with --wait")
        if not told:
            rep.waiting(f"waiting for {plural(len(pending), 'write')} in progress to finish")
            told = True
        time.sleep(pause)
        pause = min(1.0, pause * 2)


def drop_stale_leases(repo: Repo) -> int:
    """Delete every lease object (writer or gc) that is no longer live; how many went."""
    n = 0
    for prefix in (layout.WRITER_LEASES_PREFIX, layout.GC_LEASES_PREFIX):
        for key, live in live_leases(repo.store, prefix).items():
            if not live:
                repo.store.delete(key)
                n += 1
    return n
