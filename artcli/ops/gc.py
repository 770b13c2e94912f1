"""``gc``: expire versions whose TTL has passed, then delete the objects nothing live reaches.

Roots are every live version of every artifact and every version a registry collection
links (linked versions never expire). Everything else under ``manifests/``, ``packs/`` and
``blobs/`` older than the grace period goes, in an order that keeps the store valid if gc is
interrupted: manifests first (so no remaining manifest names a missing object), then pack
indexes before their packs (so no index ever names a missing pack: writers dedup against
indexes), then loose blobs.

The grace period protects objects a writer uploaded moments ago. It does not protect a
writer that found an *old* unreferenced object and is about to reference it (dedup): for
that, writers and gc follow the lease protocol below (docs/format.md §7).

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
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from artcli import canonical, clock, layout
from artcli.durations import format_duration
from artcli.errors import ArtcliError, ConflictError, IntegrityError, NotFoundError, RemoteError, UsageError
from artcli.eventlog import Events, actor
from artcli.model import DIGEST_RE, Ref
from artcli.state import ArtifactState, fold

if TYPE_CHECKING:
    from artcli.repo import Repo
    from artcli.store.base import Store

logger = logging.getLogger(__name__)

WRITERS_PREFIX = "gc/writers/"
RUNNING_PREFIX = "gc/running/"
LEASE_SECONDS = 120.0
LEASE_MAX = 3600.0  # the longest lease anyone else's lease object is believed
FUTURE_MAX = LEASE_SECONDS / 2  # clocks agree within this (format §7.1); a heartbeat further ahead is not live
HEARTBEAT_SECONDS = 15.0
DEFAULT_GRACE = 86400
DEFAULT_WAIT = 600.0
WRITER_MAX_WAIT = 3600.0
DELETE_WORKERS = 8
EXPIRED_REASON = "expired"
KINDS = ("manifest", "pack-index", "pack", "blob")  # deletion order


# -- leases --------------------------------------------------------------------------------------
def _wall() -> datetime:
    """Real time: leases are about processes being alive, so ARTCLI_NOW never applies."""
    return datetime.now(UTC)


class Lease:
    """One ``gc/<role>/<id>.json`` object kept fresh by a heartbeat thread while work goes on."""

    def __init__(self, store: Store, prefix: str, kind: str, run_id: str | None = None,
                 lease: float = LEASE_SECONDS, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self.store = store
        self.id = uuid.uuid4().hex
        self.key = f"{prefix}{self.id}.json"
        self.kind = kind
        self.lease = lease
        self.interval = heartbeat
        self.started = clock.iso(_wall())
        self._actor = actor(run_id)
        self._last_ok = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _put(self) -> None:
        t0 = time.monotonic()
        body = {"kind": self.kind, "id": self.id, "started": self.started, "heartbeat": clock.iso(_wall()),
                "lease": self.lease, "actor": self._actor}
        self.store.put(self.key, canonical.dumps(body))
        self._last_ok = t0

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

    def check(self) -> None:
        """Raise unless the lease is certainly still live for others (half the lease, for skew)."""
        age = time.monotonic() - self._last_ok
        if age > self.lease / 2:
            raise RemoteError(f"the {self.kind} lease {self.key} lapsed ({age:.0f}s without a heartbeat); "
                              "stopped before doing anything unsafe", hint="check the connection and run it again")

    def end(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.store.delete(self.key)
        except ArtcliError as exc:  # it goes stale on its own
            logger.debug("could not delete lease %s: %s", self.key, exc)


def _lease_live(body: bytes, mtime: float | None) -> bool:
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
        out[info.key] = _lease_live(body, info.mtime)
    return out


@contextmanager
def write_session(repo: Repo) -> Iterator[Lease]:
    """Hold a writer lease for the dedup-and-commit part of ``log``; waits while a gc runs.

    Costs one PUT, one LIST and one DELETE per command (plus a heartbeat every 15 s),
    whatever the number of files. Call ``.check()`` on the lease right before committing.
    """
    store = repo.store
    since = time.monotonic()
    told = False
    pause = 0.05
    while True:
        lease = Lease(store, WRITERS_PREFIX, "writer", repo.run_id).start()
        try:
            running = [k for k, live in live_leases(store, RUNNING_PREFIX).items() if live]
        except BaseException:
            lease.end()
            raise
        if not running:
            break
        lease.end()  # a fresh id next time, so gc never waits for a writer that is waiting for it
        if not told:
            logger.warning("waiting for a garbage collection to finish (%s)", running[0])
            told = True
        waited = time.monotonic() - since
        if waited > WRITER_MAX_WAIT:
            raise ConflictError(f"a garbage collection ({running[0]}) has kept this write waiting for "
                                f"{format_duration(waited)}", hint="run it again when gc has finished")
        time.sleep(pause)
        pause = min(2.0, pause * 2)
    try:
        yield lease
    finally:
        lease.end()


# -- the mark ------------------------------------------------------------------------------------
@dataclass
class GcItem:
    key: str
    kind: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "size": self.size}


@dataclass
class GcResult:
    dry_run: bool
    grace: int
    now: str
    expired: list[dict[str, Any]] = field(default_factory=list)
    ttl_cleared: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[GcItem] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=lambda: {"manifests": 0, "packs": 0, "blobs": 0,
                                                           "young": 0, "young_bytes": 0})
    live_versions: int = 0
    stale_leases: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def deleted_bytes(self) -> int:
        return sum(i.size for i in self.deleted)

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "grace": format_duration(self.grace), "grace_seconds": self.grace,
                "now": self.now, "expired": self.expired, "ttl_cleared": self.ttl_cleared,
                "deleted": [i.to_json() for i in self.deleted], "deleted_bytes": self.deleted_bytes,
                "kept": self.kept, "live_versions": self.live_versions, "stale_leases": self.stale_leases,
                "warnings": self.warnings}


def artifacts(repo: Repo) -> list[tuple[str, str]]:
    """(project, name) of every artifact with a log, in every project: one LIST of ``projects/``."""
    found: set[tuple[str, str]] = set()
    for info in repo.store.list("projects/"):
        parts = info.key.split("/")  # projects/<p>/artifacts/<n>/events/<seq>.json
        if len(parts) == 6 and parts[2] == "artifacts" and parts[4] == "events":
            found.add((parts[1], parts[3]))
    return sorted(found)


def _read(repo: Repo, project: str, name: str) -> tuple[ArtifactState, dict[int, str], Events]:
    events = repo.artifact_log(project, name).read()
    manifests: dict[int, str] = {}
    for key, ev in events:
        if ev is None:
            raise IntegrityError(f"gc stopped: {key} is not a readable event, so what it references is unknown",
                                 hint=f"inspect it (artcli debug events {name} -p {project}); nothing was deleted")
        if ev.get("type") == "version_created" and isinstance(ev.get("version"), int):
            manifests.setdefault(ev["version"], str(ev.get("manifest")))  # the first one counts, as in fold
    return fold(project, name, events), manifests, events


@dataclass
class _Reach:
    manifests: set[str] = field(default_factory=set)
    packs: set[str] = field(default_factory=set)
    blobs: set[str] = field(default_factory=set)
    versions: int = 0


def _mark(repo: Repo, now: datetime, links: set[tuple[str, str, int]]) -> _Reach:
    """Every manifest, pack and blob a live or linked version needs."""
    reach = _Reach()
    for project, name in artifacts(repo):
        st, manifests, _ = _read(repo, project, name)
        for v, vs in st.versions.items():
            if not (vs.live(now) or (project, name, v) in links):
                continue
            digest = manifests.get(v, "")
            if not DIGEST_RE.fullmatch(digest):
                raise IntegrityError(f"gc stopped: {project}/{name}:v{v} names no valid manifest; nothing was deleted")
            reach.versions += 1
            reach.manifests.add(digest)
    with ThreadPoolExecutor(DELETE_WORKERS) as pool:
        for man in pool.map(repo.load_manifest, sorted(reach.manifests)):
            for e in man.entries:
                if e.ref is not None:
                    continue
                if e.pack:
                    reach.packs.add(e.pack)
                elif e.digest:
                    reach.blobs.add(e.digest)
    return reach


def _linked(repo: Repo) -> set[tuple[str, str, int]]:
    from artcli.ops.ttl import links_by_version

    return set(links_by_version(repo))


# -- expiry --------------------------------------------------------------------------------------
def _expire(repo: Repo, now: datetime, res: GcResult) -> None:
    """Mark versions whose TTL passed as deleted (reason "expired"); clear TTLs left on linked
    versions (a linked version never expires, docs/retention.md)."""
    from artcli.ops.ttl import clear_ttl_for_link, links_by_version

    links = links_by_version(repo)
    for project, name in artifacts(repo):
        st, _, _ = _read(repo, project, name)
        for v, vs in sorted(st.versions.items()):
            ref = f"{project}/{name}:v{v}"
            if vs.deleted:
                continue
            if (project, name, v) in links:
                if vs.expires is not None:
                    res.ttl_cleared.append({"ref": ref, "expires": vs.expires, "linked": links[(project, name, v)]})
                    if not res.dry_run:
                        clear_ttl_for_link(repo, project, name, v)
                continue
            if vs.expired(now) and (res.dry_run or _mark_deleted(repo, project, name, v, now)):
                res.expired.append({"ref": ref, "expires": vs.expires})


def _mark_deleted(repo: Repo, project: str, name: str, version: int, now: datetime) -> bool:
    def build(events: Events) -> dict[str, Any] | None:
        vs = fold(project, name, events).versions.get(version)
        if vs is None or vs.deleted or not vs.expired(now):  # deleted meanwhile, or its TTL moved
            return None
        return {"type": "version_deleted", "version": version, "reason": EXPIRED_REASON}

    return repo.artifact_log(project, name).append(build) is not None


# -- the sweep -----------------------------------------------------------------------------------
def _candidates(repo: Repo, reach: _Reach, cutoff: float, res: GcResult) -> list[GcItem]:
    """Unreachable objects older than ``cutoff`` (epoch seconds), in deletion order."""
    store = repo.store
    out: dict[str, list[GcItem]] = {k: [] for k in KINDS}

    def old(mtime: float | None) -> bool:
        return mtime is not None and mtime <= cutoff

    def young(size: int) -> None:
        res.kept["young"] += 1
        res.kept["young_bytes"] += size

    for info in store.list(layout.MANIFESTS_PREFIX):
        d = layout.digest_from_key(info.key)
        if not info.key.endswith(".jsonl.gz") or not DIGEST_RE.fullmatch(d) or info.key != layout.manifest_key(d):
            continue
        if d in reach.manifests:
            res.kept["manifests"] += 1
        elif old(info.mtime):
            out["manifest"].append(GcItem(info.key, "manifest", info.size))
        else:
            young(info.size)
    packs: dict[str, Any] = {}
    indexes: dict[str, Any] = {}
    for info in store.list(layout.PACKS_PREFIX):
        d = layout.digest_from_key(info.key)
        if not DIGEST_RE.fullmatch(d):
            continue
        if info.key == layout.pack_index_key(d):
            indexes[d] = info
        elif info.key == layout.pack_key(d):
            packs[d] = info
    for d in sorted(set(packs) | set(indexes)):
        pack, idx = packs.get(d), indexes.get(d)
        if d in reach.packs:
            res.kept["packs"] += 1
            continue
        if all(x is None or old(x.mtime) for x in (pack, idx)):  # an index goes with its pack
            if idx is not None:
                out["pack-index"].append(GcItem(idx.key, "pack-index", idx.size))
            if pack is not None:
                out["pack"].append(GcItem(pack.key, "pack", pack.size))
        else:
            young(sum(x.size for x in (pack, idx) if x is not None))
    for info in store.list(layout.BLOBS_PREFIX):
        d = layout.digest_from_key(info.key)
        if not DIGEST_RE.fullmatch(d) or info.key != layout.blob_key(d):
            continue
        if d in reach.blobs:
            res.kept["blobs"] += 1
        elif old(info.mtime):
            out["blob"].append(GcItem(info.key, "blob", info.size))
        else:
            young(info.size)
    return [item for kind in KINDS for item in out[kind]]


def _sweep(repo: Repo, items: list[GcItem], lock: Lease) -> None:
    """Delete kind by kind (manifests, indexes, packs, blobs), each kind finished before the next."""
    def one(item: GcItem) -> None:
        lock.check()
        repo.store.delete(item.key)

    with ThreadPoolExecutor(DELETE_WORKERS) as pool:
        for kind in KINDS:
            list(pool.map(one, [i for i in items if i.kind == kind]))


def _wait_for_writers(repo: Repo, wait: float, lock: Lease) -> None:
    """Wait until every writer lease that existed when our gc lease was visible has ended."""
    pending = {k for k, live in live_leases(repo.store, WRITERS_PREFIX).items() if live}
    deadline = time.monotonic() + wait
    pause = 0.05
    told = False
    while pending:
        lock.check()
        pending &= {k for k, live in live_leases(repo.store, WRITERS_PREFIX).items() if live}
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise ConflictError(f"{len(pending)} write(s) still in progress after {format_duration(wait)}; "
                                "nothing was deleted", hint="run gc again later, or give it more time with --wait")
        if not told:
            logger.warning("waiting for %d write(s) in progress to finish", len(pending))
            told = True
        time.sleep(pause)
        pause = min(1.0, pause * 2)


def _drop_stale_leases(repo: Repo) -> int:
    n = 0
    for prefix in (WRITERS_PREFIX, RUNNING_PREFIX):
        for key, live in live_leases(repo.store, prefix).items():
            if not live:
                repo.store.delete(key)
                n += 1
    return n


def gc(repo: Repo, *, dry_run: bool = False, grace: int = DEFAULT_GRACE, wait: float = DEFAULT_WAIT) -> GcResult:
    """Expire versions past their TTL, then delete unreachable objects older than ``grace`` seconds.

    ``dry_run`` writes and deletes nothing and reports exactly what a real run would do at
    this moment (same clock, same remote).
    """
    repo.check_format(for_write=not dry_run)
    now = clock.now()
    res = GcResult(dry_run, grace, clock.iso(now))
    _expire(repo, now, res)
    cutoff = now.timestamp() - grace  # epoch seconds, like the stores' mtimes
    if dry_run:
        reach = _mark(repo, now, _linked(repo))
        res.deleted = _candidates(repo, reach, cutoff, res)
        res.live_versions = reach.versions
        return res
    lock = Lease(repo.store, RUNNING_PREFIX, "gc", repo.run_id).start()
    try:
        _wait_for_writers(repo, wait, lock)
        reach = _mark(repo, now, _linked(repo))  # after the writers: every committed version is seen
        res.live_versions = reach.versions
        items = _candidates(repo, reach, cutoff, res)
        _sweep(repo, items, lock)
        res.deleted = items
    finally:
        lock.end()
    res.stale_leases = _drop_stale_leases(repo)
    return res


# -- delete --------------------------------------------------------------------------------------
DELETED_REASON = "deleted"


@dataclass
class DeleteResult:
    ref: str
    deleted: bool  # False: it was deleted by someone else meanwhile
    removed_aliases: list[str]
    unlinked: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "deleted": self.deleted, "removed_aliases": self.removed_aliases,
                "unlinked": self.unlinked}


def delete_version(repo: Repo, ref: Ref, *, force: bool = False) -> DeleteResult:
    """Delete one version: it stops resolving at once and gc frees its bytes later.

    A version that holds a custom alias or a registry link is kept unless ``force``; with
    ``force`` its links are removed first (so an interruption never leaves a link to a
    deleted version) and its aliases go with the ``version_deleted`` event.
    """
    from artcli.model import parse_ref
    from artcli.ops.registry import unlink
    from artcli.ops.ttl import links_by_version

    if ref.registry is not None:
        raise UsageError(f"{ref} is a registry reference: delete removes artifact versions",
                         hint=f"to take it out of the registry: artcli unlink {ref}")
    st, vs = repo.resolve(ref)
    project, name, n = st.project, st.name, vs.version
    where = f"{project}/{name}:v{n}"
    aliases = sorted(a for a, v in st.aliases.items() if v == n)
    links = links_by_version(repo).get((project, name, n), [])
    if not force and (aliases or links):
        held = ([f"alias(es) {', '.join(aliases)}"] if aliases else []) + ([f"link(s) {', '.join(links)}"] if links else [])
        raise ConflictError(f"{where} holds {' and '.join(held)}; not deleted",
                            hint="move the aliases / unlink it first, or pass --force to delete it anyway")
    repo.check_format(for_write=True)
    for text in links:
        unlink(repo, parse_ref(text, project))
    removed: list[str] = []

    def build(events: Events) -> dict[str, Any] | None:
        cur = fold(project, name, events)
        cvs = cur.versions.get(n)
        if cvs is None or cvs.deleted:
            return None
        held = sorted(a for a, v in cur.aliases.items() if v == n)
        if held and not force:  # an alias arrived since we looked
            raise ConflictError(f"{where} now holds alias(es) {', '.join(held)}; not deleted",
                                hint="pass --force to delete it anyway")
        removed[:] = held
        return {"type": "version_deleted", "version": n, "reason": DELETED_REASON}

    ev = repo.artifact_log(project, name).append(build)
    return DeleteResult(where, ev is not None, removed, links)
