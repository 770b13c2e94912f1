"""Putting a version's objects on the remote for ``log``: blobs the remote lacks (small files
packed, large ones loose), then the manifest; every object complete before anything names it.

Large files go up while the rest of a ``log`` still hashes (eager uploads). Keys are content addresses, so a file cannot be uploaded before it is hashed; without this, a
push does all its hashing and then all its uploading. Here each large file that had to be
hashed is offered as soon as its digest is known:

* a read (:class:`~artcli.remoteindex.LooseProbe`: one LIST for a small remote, else a HEAD)
  asks whether its blob is stored; a stored blob is only remembered, and is confirmed inside
  the writer lease later like any other (docs/format.md §7.1), so content that is already on
  the remote (a re-log from a fresh clone) causes no write at all;
* an absent blob takes the writer lease (created once, on first need, after the format marker
  is checked) and is uploaded at once.

Files the stat cache knew are never offered: they were seen before, are most likely stored,
and an unchanged re-log must stay free of remote requests.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from artcli import layout, manifest
from artcli.errors import ConflictError
from artcli.fileplan import FilePlan
from artcli.hashing import digest_bytes, digest_file
from artcli.inputs import InputFile
from artcli.leases import LazyWriteSession, Lease
from artcli.localdb import stat_key
from artcli.manifest_stream import EntrySpill, write_manifest
from artcli.model import Entry, Manifest
from artcli.packs import PACK_THRESHOLD, PackBuilder
from artcli.progress import ProgressReporter
from artcli.remoteindex import LooseProbe, PackFinder, confirm_packs, find_loose

if TYPE_CHECKING:
    from artcli.repo import Repo

UPLOAD_WORKERS = 4
PACKS_IN_FLIGHT = 2  # sealed packs waiting or uploading: bounds memory to ~3 x PACK_TARGET
#: eager uploads at once. A file under two upload chunks is read whole by s3fs/gcsfs, a bigger
#: one keeps at most 4 parts in flight, so memory stays under WORKERS x 32 MiB.
WORKERS = 4


def put_checked(repo: Repo, files: list[InputFile]) -> None:
    """Upload files as loose blobs, never under a digest not computed from their bytes: a
    digest the stat cache gave is computed again first (the cache may be wrong: a filesystem
    whose ctime did not move), and a file whose stat changed by the end of its upload has its
    blob removed and fails (the stat key has ctime, which no in-place write keeps)."""
    for f in files:
        if f.cached and digest_file(f.abspath) != f.digest:
            _stale(repo, f)
    repo.store.put_files([(f.abspath, layout.blob_key(f.digest)) for f in files])
    for f in files:
        if stat_key(os.stat(f.abspath)) != f.st:
            repo.store.delete(layout.blob_key(f.digest))
            raise ConflictError(f"{f.abspath} changed while it was being uploaded; try again")


def _stale(repo: Repo, f: InputFile) -> None:
    """A file's bytes no longer have the digest it was logged with: forget what the stat cache
    said about it (so the next try reads it) and stop before anything names that digest."""
    repo.db.stat_forget([f.abspath])
    raise ConflictError(f"{f.abspath} changed while it was being logged (its bytes no longer have the "
                        "digest it was hashed to); nothing was uploaded under that digest", hint="try again")


class EagerUploads:
    """Probe and upload large files as they are hashed (see the module docstring)."""

    def __init__(self, repo: Repo, session: LazyWriteSession, min_size: int, workers: int = WORKERS) -> None:
        self._repo = repo
        self._session = session
        self._min_size = min_size
        self._probe = LooseProbe(repo)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="artcli-eager")
        self._lock = threading.Lock()
        self._offered: set[str] = set()
        self._futures: list[Future[None]] = []
        self._stopped = threading.Event()
        #: digest -> size of blobs this object uploaded (inside the lease)
        self.uploaded: dict[str, int] = {}
        #: digests the pre-lease probe found stored: a hint, to be confirmed inside the lease
        self.seen: set[str] = set()
        self._advance: Callable[[int], None] | None = None

    @property
    def offered(self) -> frozenset[str]:
        """Digests handed to this object (final once hashing has ended)."""
        with self._lock:
            return frozenset(self._offered)

    def report_to(self, advance: Callable[[int], None]) -> int:
        """Bytes uploaded so far; uploads that finish from now on are reported to ``advance``."""
        with self._lock:
            self._advance = advance
            return sum(self.uploaded.values())

    def offer(self, f: InputFile) -> None:
        """Called by the hashing threads for every file they hashed."""
        if f.size < self._min_size or self._stopped.is_set():
            return
        with self._lock:
            if f.digest in self._offered:
                return
            self._offered.add(f.digest)
            self._futures.append(self._pool.submit(self._one, f))

    def _one(self, f: InputFile) -> None:
        if self._stopped.is_set():
            return
        try:
            if self._probe.stored(f.digest):
                with self._lock:
                    self.seen.add(f.digest)
                return
            self._session.get()
            put_checked(self._repo, [f])
            with self._lock:
                self.uploaded[f.digest] = f.size
                advance = self._advance
            if advance is not None:
                advance(f.size)
        except BaseException:
            self._stopped.set()  # the rest is not started: the command is failing anyway
            raise

    def finish(self) -> None:
        """Wait for every offered file; raise the first failure."""
        try:
            for fut in list(self._futures):
                fut.result()
        finally:
            self.close()

    def close(self) -> None:
        """Stop: files not started are dropped, running uploads are waited for."""
        self._stopped.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


#: distinct contents looked up at once (each candidate pack is confirmed once for all batches)
CLASSIFY_BATCH = 8_192


@dataclass
class Stored:
    """Where a version's local files went: the packs holding the small ones, the loose blobs
    of the large ones (what is looked for again after a lapsed lease)."""

    packs: set[str]
    loose: list[str]


def upload_files(repo: Repo, plan: FilePlan, rep: ProgressReporter, eager: EagerUploads,
                 load_hints: Callable[[FilePlan], None] | None = None) -> tuple[int, int, Stored]:
    """Store every file the remote lacks: small ones packed, large ones loose. Runs inside the
    writer lease; large files ``eager`` took while hashing are settled here. ``load_hints``
    puts into the plan where some small files may already be packed (the previous version's
    manifest); it is called only when there are small files.

    Every distinct content is placed in ``plan`` (a pack and offset, or loose), read back a
    batch at a time: memory does not grow with the number of files. Returns (files uploaded,
    bytes uploaded, where they went). Every object is complete before the manifest that names it.
    """
    offered = eager.offered
    finder: PackFinder | None = None
    known: list[InputFile] = []  # large files the stat cache knew: never offered (few: each >= 1 MiB)
    eager_total = 0
    distinct = plan.distinct()
    more = True
    while more:
        small: list[str] = []
        more = False
        for f in islice(distinct, CLASSIFY_BATCH):
            more = True
            if f.size < PACK_THRESHOLD:
                small.append(f.digest)
            elif f.digest in offered:
                eager_total += f.size
            else:
                known.append(f)
        if small:
            if finder is None:
                if load_hints is not None:
                    load_hints(plan)
                finder = PackFinder(repo, plan.hints_for)
            plan.place((d, p, o) for d, (p, o) in finder.find(small).items())
    there = find_loose(repo, [f.digest for f in known]) if known else set()
    need_known = [f for f in known if f.digest not in there]
    need_n, need_bytes = plan.unplaced_small(PACK_THRESHOLD)
    eager_done = eager.report_to(rep.advance)
    rep.phase("uploading", need_bytes + sum(f.size for f in need_known) + eager_total - eager_done)

    with ThreadPoolExecutor(UPLOAD_WORKERS) as pool:
        futures = []
        if need_known:
            futures.append(pool.submit(_put_large, repo, need_known, rep))
        settling = pool.submit(_settle_eager, repo, eager, plan, rep)
        futures.append(settling)
        builder = PackBuilder()

        def ship(b: PackBuilder) -> None:
            pdigest, data, index = b.seal()
            # known here before it is stored: a re-run after a crash finds it (with a HEAD)
            # instead of uploading again what did reach the remote
            repo.db.add_pack(repo.store.cache_id, pdigest, b.members)
            repo.store.put(layout.pack_key(pdigest), data)
            repo.store.put(layout.pack_index_key(pdigest), index)
            plan.place((d, pdigest, off) for d, off, _ in b.members)
            rep.advance(len(data))

        # the distinct small contents not placed above, in path order (a pack shipped meanwhile
        # places only contents already passed)
        for f in plan.distinct(unplaced_below=PACK_THRESHOLD):
            with open(f.abspath, "rb") as fh:
                data = fh.read()
            if digest_bytes(data) != f.digest:  # the bytes packed are the bytes hashed
                _stale(repo, f)
            builder.add(f.digest, data)
            if builder.full:
                futures.append(pool.submit(ship, builder))
                builder = PackBuilder()
                _drain(futures, keep=PACKS_IN_FLIGHT)
        if builder.members:
            futures.append(pool.submit(ship, builder))
        for fut in futures:
            fut.result()
    plan.place_loose(PACK_THRESHOLD)
    again = settling.result()
    up_n = need_n + len(need_known) + len(again) + len(eager.uploaded)
    up_bytes = need_bytes + sum(f.size for f in need_known + again) + sum(eager.uploaded.values())
    return up_n, up_bytes, Stored(plan.packs(), plan.loose())


def _settle_eager(repo: Repo, eager: EagerUploads, plan: FilePlan, rep: ProgressReporter) -> list[InputFile]:
    """Wait for the eager uploads, then confirm with a listing made inside the lease the blobs
    their probes found (one may have been garbage a gc was deleting); upload any that is gone.
    Returns those."""
    eager.finish()
    hinted = sorted(eager.seen)
    there = find_loose(repo, hinted) if hinted else set()
    for d in there:
        rep.advance(plan.first_with(d).size)
    gone = [plan.first_with(d) for d in hinted if d not in there]
    if gone:
        _put_large(repo, gone, rep)
    return gone


def commit_lease(repo: Repo, session: LazyWriteSession, mdigest: str, stored: Stored) -> Lease:
    """The writer lease to commit under: the one held since before the existence checks if it
    never lapsed; after a gap (the process was paused, the remote unreachable) a new lease, under
    which every object the version needs is looked for again (docs/format.md §7.1). A gc may
    have deleted any of them meanwhile: then nothing is committed."""
    lease = session.get()
    if not lease.lapsed:
        return lease
    gap = lease.gap
    lease = session.renew()
    gone = missing_objects(repo, mdigest, stored)
    if gone:
        more = f" and {len(gone) - 1} more" if len(gone) > 1 else ""
        raise ConflictError(f"this write was paused for {gap:.0f}s, longer than its lease; meanwhile "
                            f"{gone[0]}{more} went from {repo.store.url} (a gc ran): nothing was committed",
                            hint="run it again: it uploads what is missing")
    return lease


def missing_objects(repo: Repo, mdigest: str, stored: Stored) -> list[str]:
    """Keys of the objects a new version needs (its manifest; each pack with its index; each
    loose blob) that the remote does not hold now: a few LISTs and one HEAD."""
    loose = sorted(stored.loose)
    packs = sorted(stored.packs)
    gone = [] if repo.store.exists(layout.manifest_key(mdigest)) else [layout.manifest_key(mdigest)]
    if packs:
        there = confirm_packs(repo, set(packs))  # a HEAD each (a listing only past many)
        gone += [layout.pack_key(p) for p in packs if p not in there]
    if loose:
        there_loose = find_loose(repo, loose)
        gone += [layout.blob_key(d) for d in loose if d not in there_loose]
    return gone


def _drain(futures: list, keep: int) -> None:
    """Bound memory: wait until at most ``keep`` packs are in flight."""
    while sum(1 for f in futures if not f.done()) > keep:
        next(f for f in futures if not f.done()).result()


def _put_large(repo: Repo, files: list[InputFile], rep: ProgressReporter) -> None:
    put_checked(repo, files)
    for f in files:
        rep.advance(f.size)


def placed(entries: Iterable[Entry], plan: FilePlan) -> Iterator[Entry]:
    """``entries`` (in path order) with each local file's entry as :func:`upload_files` placed
    it (with its pack and offset when packed): the two are walked side by side."""
    local = plan.located()
    f = next(local, None)
    for e in entries:
        while f is not None and f.path < e.path:
            f = next(local, None)
        yield f if f is not None and f.path == e.path else e  # a local file wins over a base's entry


def store_manifest(repo: Repo, entries: list[Entry], plan: FilePlan) -> str:
    """Write the manifest of ``entries`` (local files where :func:`upload_files` placed them) in memory; its digest.

    One PUT, with no HEAD first, as for a pack. The key is the digest of the content, so
    writing it again over a copy already there changes nothing a reader can see (a PUT replaces
    an object whole, and both copies inflate to the same canonical bytes, even if another
    writer compressed differently). A HEAD decided nothing for correctness:
    it made no exclusive create (two writers both see 404 and both PUT), and the lease, not the
    HEAD, keeps a gc from deleting what the version needs (docs/format.md §7.1;
    :func:`commit_lease` looks again after a gap). It only spared re-uploading a manifest
    another version already has, a rare case, for a request on every log (two on S3: its 404
    also made the store check the bucket).
    """
    mdigest, mbytes = manifest.encode(Manifest(list(placed(entries, plan))))
    repo.store.put(layout.manifest_key(mdigest), manifest.compress(mbytes))
    repo.cache.put_manifest(mdigest, mbytes)
    return mdigest


def count_missing(repo: Repo, plan: FilePlan) -> tuple[int, int]:
    """(files, bytes) :func:`upload_files` would send now: the distinct contents the remote
    lacks (``log --dry-run``; reads only, no lease)."""
    finder = PackFinder(repo)
    n = size = 0
    large: dict[str, int] = {}
    distinct = plan.distinct()
    more = True
    while more:
        small: dict[str, int] = {}
        more = False
        for f in islice(distinct, CLASSIFY_BATCH):
            more = True
            if f.size < PACK_THRESHOLD:
                small[f.digest] = f.size
            else:
                large[f.digest] = f.size
        have = finder.find(list(small))
        n += sum(1 for d in small if d not in have)
        size += sum(s for d, s in small.items() if d not in have)
    have_loose = find_loose(repo, list(large)) if large else set()
    n += sum(1 for d in large if d not in have_loose)
    size += sum(s for d, s in large.items() if d not in have_loose)
    return n, size


def store_streamed(repo: Repo, spill: EntrySpill, plan: FilePlan, rep: ProgressReporter,
                   located_extra: dict[bytes, bytes] | None = None) -> str:
    """Write the manifest of a spill (local files where :func:`upload_files` placed them) streaming: into temp
    files in the cache's tmp dir, the gzip uploaded from its file, the canonical bytes moved
    into the local manifest cache; both temp files are gone on every outcome. Its digest."""
    extra = located_extra or {}  # lines carried over from a base version (log --from), with their pack

    def lines() -> Iterator[bytes]:
        """The spill's lines, each local file's with its pack and offset when it is packed:
        the plan and the spill are both in path order, so they are walked side by side."""
        local = plan.located()
        f = next(local, None)
        for path, line in spill.records():
            while f is not None and f.path.encode() < path:
                f = next(local, None)
            if f is not None and f.path.encode() == path:  # a local file wins over the base's entry
                if f.pack:
                    line = manifest.entry_line(f)
            elif path in extra:
                line = extra[path]
            yield line

    gz = repo.cache.temp_path("manifest.gz")
    raw = repo.cache.temp_path("manifest")
    try:
        rep.phase("writing the manifest", None, unit="entries")
        mdigest, _size = write_manifest(lines(), gz, raw)
        repo.store.put_files([(str(gz), layout.manifest_key(mdigest))])  # no HEAD first: see store_manifest
        repo.cache.adopt_manifest(mdigest, raw)
    finally:
        gz.unlink(missing_ok=True)
        raw.unlink(missing_ok=True)
    return mdigest
