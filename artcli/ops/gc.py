"""``gc``: expire versions whose TTL has passed, then delete the objects nothing live reaches.

Roots are every live version of every artifact and every version a registry collection
links (linked versions never expire). Everything else under ``manifests/``, ``packs/`` and
``blobs/`` older than the grace period goes, in an order that keeps the store valid if gc is
interrupted: manifests first (so no remaining manifest names a missing object), then pack
indexes before their packs (so no index ever names a missing pack: writers dedup against
indexes), then loose blobs.

The grace period protects objects a writer uploaded moments ago; writers that dedup against
old objects are protected by the lease protocol (artcli/leases.py, docs/format.md §7).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from artcli import clock, layout
from artcli.durations import format_duration
from artcli.errors import IntegrityError
from artcli.eventlog import Events
from artcli.leases import Lease, drop_stale_leases, gc_lease, wait_for_writers
from artcli.links import clear_ttl_for_link, links_by_version
from artcli.model import DIGEST_RE
from artcli.progress import NoProgress, ProgressReporter
from artcli.results import Result
from artcli.state.artifact import ArtifactState, fold

if TYPE_CHECKING:
    from artcli.repo import Repo

DEFAULT_GRACE = 86400
DEFAULT_WAIT = 600.0
DELETE_WORKERS = 8
EXPIRED_REASON = "expired"
KINDS = ("manifest", "pack-index", "pack", "blob")  # deletion order


# -- the mark ------------------------------------------------------------------------------------
@dataclass
class GcItem:
    key: str
    kind: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "size": self.size}


@dataclass
class GcResult(Result):
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

    @property
    def deleted_bytes(self) -> int:
        return sum(i.size for i in self.deleted)

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "grace": format_duration(self.grace), "grace_seconds": self.grace,
                "now": self.now, "expired": self.expired, "ttl_cleared": self.ttl_cleared,
                "deleted": [i.to_json() for i in self.deleted], "deleted_bytes": self.deleted_bytes,
                "kept": self.kept, "live_versions": self.live_versions, "stale_leases": self.stale_leases,
                "warnings": self.warnings}


def _read(repo: Repo, project: str, name: str) -> ArtifactState:
    """An artifact's folded state; an unreadable event stops gc (what it references is unknown)."""
    events = repo.artifact_log(project, name).read()
    for key, ev in events:
        if ev is None:
            raise IntegrityError(f"gc stopped: {key} is not a readable event, so what it references is unknown",
                                 hint=f"inspect it (artcli debug events {name} -p {project}); nothing was deleted")
    return fold(project, name, events)


@dataclass
class _Reach:
    manifests: dict[str, int] = field(default_factory=dict)  # digest -> most files an event claims for it
    packs: set[str] = field(default_factory=set)
    blobs: set[str] = field(default_factory=set)
    versions: int = 0


def _mark(repo: Repo, now: datetime, links: set[tuple[str, str, int]]) -> _Reach:
    """Every manifest, pack and blob a live or linked version needs."""
    reach = _Reach()
    for project, name in repo.all_artifacts():
        st = _read(repo, project, name)  # renamed away: nothing live (its versions are the new name's)
        for v, vs in st.versions.items():
            if not (st.is_live(vs, now) or (project, name, v) in links):
                continue
            digest = vs.manifest or ""
            if not DIGEST_RE.fullmatch(digest):
                raise IntegrityError(f"gc stopped: {project}/{name}:v{v} names no valid manifest; nothing was deleted")
            reach.versions += 1
            reach.manifests[digest] = max(vs.files, reach.manifests.get(digest, 0))
    with ThreadPoolExecutor(DELETE_WORKERS) as pool:
        # each manifest bounded by the file count its events claim (a bomb stops gc early, exit 4)
        wanted = sorted(reach.manifests.items())
        for man in pool.map(lambda item: repo.load_manifest(*item), wanted):
            for e in man.entries:
                if e.ref is not None:
                    continue
                if e.pack:
                    reach.packs.add(e.pack)
                elif e.digest:
                    reach.blobs.add(e.digest)
    return reach


def _linked(repo: Repo) -> set[tuple[str, str, int]]:
    return set(links_by_version(repo))


# -- expiry --------------------------------------------------------------------------------------
def _expire(repo: Repo, now: datetime, res: GcResult) -> None:
    """Mark versions whose TTL passed as deleted (reason "expired"); clear TTLs left on linked
    versions (a linked version never expires, docs/retention.md)."""
    links = links_by_version(repo)
    for project, name in repo.all_artifacts():
        st = _read(repo, project, name)
        for v, vs in sorted(st.versions.items()):
            ref = f"{project}/{name}:v{v}"
            if vs.deleted or st.renamed_to is not None:  # renamed away: the new name's log expires them
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


def gc(repo: Repo, *, dry_run: bool = False, grace: int = DEFAULT_GRACE, wait: float = DEFAULT_WAIT,
       reporter: ProgressReporter | None = None) -> GcResult:
    """Expire versions past their TTL, then delete unreachable objects older than ``grace`` seconds.

    ``dry_run`` writes and deletes nothing and reports exactly what a real run would do at
    this moment (same clock, same remote).
    """
    rep = reporter or NoProgress()
    repo.read_fresh()  # liveness from the remote's logs as listed now, never from events cached here
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
    lock = gc_lease(repo)
    try:
        wait_for_writers(repo, wait, lock, rep)
        reach = _mark(repo, now, _linked(repo))  # after the writers: every committed version is seen
        res.live_versions = reach.versions
        items = _candidates(repo, reach, cutoff, res)
        _sweep(repo, items, lock)
        res.deleted = items
    finally:
        lock.end()
    res.stale_leases = drop_stale_leases(repo)
    return res
