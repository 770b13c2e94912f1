"""``log``: turn local files into a new version (or find the identical one that exists)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from artcli import layout, manifest
from artcli.errors import ConflictError, UsageError
from artcli.eventlog import EventLog, Events
from artcli.hashing import digest_bytes
from artcli.inputs import InputFile, hash_files, scan
from artcli.leases import LazyWriteSession
from artcli.manifest_stream import EntrySpill, digest_lines, write_manifest
from artcli.model import Entry, Manifest, check_alias, check_name
from artcli.ops.eager import EagerUploads, put_checked
from artcli.ops.runs import records_output
from artcli.ops.ttl import default_expires
from artcli.packs import PACK_THRESHOLD, PackBuilder
from artcli.progress import NoProgress, ProgressReporter
from artcli.remoteindex import find_loose, find_packed, live_packs
from artcli.repo import Repo
from artcli.state.artifact import fold

UPLOAD_WORKERS = 4
PACKS_IN_FLIGHT = 2  # sealed packs waiting or uploading: bounds memory to ~3 x PACK_TARGET
#: more entries than this (or references from add-ref / log --ref, in any number): the manifest
#: is merged, checked and written streaming from disk (artcli/manifest_stream.py), not in memory
STREAM_MIN_ENTRIES = 100_000


@dataclass
class LogResult:
    project: str
    name: str
    version: int
    digest: str
    created: bool
    files: int
    size: int
    type: str | None
    aliases: list[str] = field(default_factory=list)
    uploaded_files: int = 0
    uploaded_bytes: int = 0

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.name}:v{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "project": self.project, "name": self.name, "version": f"v{self.version}",
                "digest": self.digest, "created": self.created, "files": self.files, "size": self.size,
                "type": self.type, "aliases": self.aliases, "uploaded_files": self.uploaded_files,
                "uploaded_bytes": self.uploaded_bytes}


@records_output  # lineage: the version's run records it as an output (docs/lineage.md)
def log_artifact(
    repo: Repo,
    name: str,
    paths: list[str],
    *,
    artifact_type: str | None = None,
    description: str | None = None,
    aliases: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    name_as: str | None = None,
    extra_entries: list[Entry] | EntrySpill | None = None,
    event_fields: dict[str, Any] | None = None,
    reporter: ProgressReporter | None = None,
) -> LogResult:
    """Log ``paths`` (plus ready-made ``extra_entries``, e.g. references) as a version of ``name``.

    Extra entries in an :class:`EntrySpill` (add-ref, any number of them), or more than
    STREAM_MIN_ENTRIES entries in all, take the streaming path: the local files join the spill,
    the merge checks every path, and the manifest is hashed and written from it without ever
    being in memory, byte for byte what the in-memory path writes.
    """
    with ExitStack() as cleanup:  # a spill made here is closed (its runs deleted) on every outcome
        return _log_artifact(repo, name, paths, cleanup, artifact_type=artifact_type, description=description,
                             aliases=aliases, metadata=metadata, name_as=name_as, extra_entries=extra_entries,
                             event_fields=event_fields, reporter=reporter)


def _log_artifact(
    repo: Repo,
    name: str,
    paths: list[str],
    cleanup: ExitStack,
    *,
    artifact_type: str | None,
    description: str | None,
    aliases: list[str] | None,
    metadata: dict[str, Any] | None,
    name_as: str | None,
    extra_entries: list[Entry] | EntrySpill | None,
    event_fields: dict[str, Any] | None,
    reporter: ProgressReporter | None,
) -> LogResult:
    rep = reporter or NoProgress()
    check_name(name)
    if artifact_type is not None:
        check_name(artifact_type, "type")
    aliases = [check_alias(a) for a in dict.fromkeys(aliases or [])]
    project = repo.project
    reading = _read_log_meanwhile(repo, project, name)  # overlaps the scan too: its stats release the GIL
    cleanup.callback(reading.exception)  # on every outcome, no reader outlives the command
    files = scan(paths, name_as) if paths else []
    session = LazyWriteSession(repo, rep)
    cleanup.callback(session.close)
    eager = EagerUploads(repo, session, PACK_THRESHOLD)
    cleanup.callback(eager.close)  # runs first: no upload outlives the lease
    rep.phase("hashing", sum(f.size for f in files))
    hash_files(files, repo.db, rep.advance, on_hashed=eager.offer)
    log, events = reading.result()
    entries = [Entry(f.path, f.size, f.digest) for f in files]
    spill = extra_entries if isinstance(extra_entries, EntrySpill) else None
    if spill is None and len(entries) + len(extra_entries or ()) > STREAM_MIN_ENTRIES:
        spill = cleanup.enter_context(EntrySpill(repo.cache.tmp))
        spill.extend(extra_entries or ())
    if spill is not None:  # streaming: the files join the spill; its merge checks every path
        spill.extend(entries)
        entries = []
        if not spill.count:
            raise UsageError("nothing to log")
        count, total = spill.count, spill.size
        rep.phase("checking the manifest", None, unit="entries")
        cdigest = digest_lines(spill.lines())  # no pack locations in it: the content digest
    else:
        if extra_entries:
            seen = {e.path for e in entries}
            for e in extra_entries:
                if e.path in seen:
                    raise UsageError(f"two inputs map to the same path {e.path!r} in the version")
                seen.add(e.path)
            entries = sorted(entries + list(extra_entries), key=lambda e: e.path)
        if not entries:
            raise UsageError("nothing to log")
        count, total = len(entries), sum(e.size for e in entries)
        cdigest = manifest.content_digest(entries)
    repo.check_format(for_write=True)

    st = fold(project, name, events)
    _check_type(st.type, artifact_type, project, name)
    existing = st.by_digest(cdigest)
    if existing is not None:
        eager.close()
        session.close()
        return _reuse(repo, name, existing.version, cdigest, aliases, metadata, rep)

    fields = dict(event_fields or {})
    if "expires" not in fields and (default := default_expires(repo, project)):  # no --ttl: the project default
        fields["expires"] = default
    lease = session.get()  # gc protocol (docs/format.md §7): dedup safely against old objects
    up_files, up_bytes, stored = _upload(repo, files, rep, eager)
    if spill is not None:
        mdigest = _store_streamed(repo, spill, files, stored, rep)
    else:
        mdigest = _store_manifest(repo, entries, files, stored)

    outcome: dict[str, Any] = {}

    def build(events: Events) -> dict[str, Any] | None:
        lease.check()  # right before each commit attempt: never on a lapsed lease (a gc may be deleting)
        cur = fold(project, name, events)
        _check_type(cur.type, artifact_type, project, name)
        again = cur.by_digest(cdigest)
        if again is not None:  # someone logged the same content while we uploaded
            outcome["reuse"] = again.version
            return None
        n = cur.next_version()
        outcome["version"] = n
        ev: dict[str, Any] = {
            "type": "version_created", "version": n, "digest": cdigest, "manifest": mdigest,
            "size": total, "files": count, "artifact_type": artifact_type or cur.type or "dataset",
            "description": description, "aliases": aliases, "metadata": metadata or {},
        }
        ev.update(fields)
        return ev

    ev = log.append(build)
    session.close()  # the lease ends once the version is committed
    if ev is None:
        return _reuse(repo, name, outcome["reuse"], cdigest, aliases, metadata, rep)
    rep.done(f"logged {project}/{name}:v{ev['version']}: {count} files, {total} bytes "
             f"({up_files} files / {up_bytes} bytes uploaded)")
    return LogResult(project, name, ev["version"], cdigest, True, count, total,
                     ev["artifact_type"], ["latest", *aliases], up_files, up_bytes)


def _read_log_meanwhile(repo: Repo, project: str, name: str) -> Future[tuple[EventLog, Events]]:
    """Open the remote and read the artifact's event log on a thread while the files hash.

    For S3/GCS, importing s3fs/gcsfs and building a client alone takes ~0.2 s; hashing runs in
    BLAKE3's threads without the GIL, so the two overlap. The format marker is checked here too
    (read only: an empty remote is stamped later, and only if something is written). The
    events may be stale by the time they are folded; commits re-fold the current log anyway.
    """
    done: Future[tuple[EventLog, Events]] = Future()

    def work() -> None:
        try:
            log = repo.artifact_log(project, name)  # opens the store
            repo.check_format()
            done.set_result((log, log.read()))
        except BaseException as exc:  # raised where the result is used
            done.set_exception(exc)

    threading.Thread(target=work, name="artcli-read-log", daemon=True).start()
    return done


def _store_manifest(repo: Repo, entries: list[Entry], files: list[InputFile],
                    stored: dict[str, tuple[str | None, int]]) -> str:
    """Write the manifest of ``entries`` (files where ``_upload`` stored them) in memory; its digest."""
    by_path = {f.path: f for f in files}
    located = []
    for e in entries:
        if e.path in by_path and e.digest in stored:
            pack, off = stored[e.digest]
            located.append(Entry(e.path, e.size, e.digest, pack, off) if pack else e)
        else:
            located.append(e)
    mdigest, mbytes = manifest.encode(Manifest(located))
    mkey = layout.manifest_key(mdigest)
    if not repo.store.exists(mkey):
        repo.store.put(mkey, manifest.compress(mbytes))
    repo.cache.put_manifest(mdigest, mbytes)
    return mdigest


def _store_streamed(repo: Repo, spill: EntrySpill, files: list[InputFile],
                    stored: dict[str, tuple[str | None, int]], rep: ProgressReporter) -> str:
    """Write the manifest of a spill (files where ``_upload`` stored them) streaming: into temp
    files in the cache's tmp dir, the gzip uploaded from its file, the canonical bytes moved
    into the local manifest cache; both temp files are gone on every outcome. Its digest."""
    located: dict[bytes, bytes] = {}  # packed files: their line with pack and offset
    for f in files:
        pack, off = stored.get(f.digest, (None, 0))
        if pack:
            located[f.path.encode()] = manifest.entry_line(Entry(f.path, f.size, f.digest, pack, off))
    gz = repo.cache.temp_path("manifest.gz")
    raw = repo.cache.temp_path("manifest")
    try:
        rep.phase("writing the manifest", None, unit="entries")
        mdigest, _size = write_manifest(spill.lines(located), gz, raw)
        mkey = layout.manifest_key(mdigest)
        if not repo.store.exists(mkey):
            repo.store.put_files([(str(gz), mkey)])
        os.replace(raw, repo.cache.manifest_path(mdigest))
    finally:
        gz.unlink(missing_ok=True)
        raw.unlink(missing_ok=True)
    return mdigest


def _check_type(current: str | None, wanted: str | None, project: str, name: str) -> None:
    if wanted is not None and current is not None and wanted != current:
        raise ConflictError(f"{project}/{name} has type {current!r}, not {wanted!r}")


def _reuse(repo: Repo, name: str, version: int, cdigest: str, aliases: list[str],
           metadata: dict[str, Any] | None, rep: ProgressReporter) -> LogResult:
    """Identical content exists: move ``latest`` and the requested aliases to it, write nothing
    when they are already there (so an unchanged re-log does no write at all)."""
    project = repo.project
    log = repo.artifact_log(project, name)

    def build(events: Events) -> dict[str, Any] | None:
        cur = fold(project, name, events)
        need = [a for a in aliases if cur.aliases.get(a) != version]
        if cur.latest == version and not need and not metadata:
            return None
        return {"type": "version_reused", "version": version, "aliases": need, "metadata": metadata or {}}

    log.append(build)
    st = repo.artifact_state(project, name)
    vs = st.versions[version]
    rep.done(f"unchanged: {project}/{name}:v{version} already holds this content")
    return LogResult(project, name, version, cdigest, False, vs.files, vs.size, st.type,
                     st.aliases_of(version), 0, 0)


def _upload(repo: Repo, files: list[InputFile], rep: ProgressReporter,
            eager: EagerUploads) -> tuple[int, int, dict[str, tuple[str | None, int]]]:
    """Store every file the remote lacks: small ones packed, large ones loose. Runs inside the
    writer lease; large files ``eager`` took while hashing are settled here.

    Returns (files uploaded, bytes uploaded, digest -> (pack or None, offset)) for every
    file of the version. Every object is complete before the manifest that names it.
    """
    uniq: dict[str, InputFile] = {}
    for f in files:
        uniq.setdefault(f.digest, f)
    small = [d for d, f in uniq.items() if f.size < PACK_THRESHOLD]
    large = [d for d, f in uniq.items() if f.size >= PACK_THRESHOLD]
    where: dict[str, tuple[str | None, int]] = {}
    if small:
        packs = live_packs(repo)
        for d, (p, o) in find_packed(repo, small, packs).items():
            where[d] = (p, o)
    offered = eager.offered
    known = [d for d in large if d not in offered]  # digests from the stat cache
    for d in find_loose(repo, known) if known else ():
        where[d] = (None, 0)
    need_small = [uniq[d] for d in small if d not in where]
    need_known = [uniq[d] for d in known if d not in where]
    eager_done = eager.report_to(rep.advance)
    eager_left = sum(uniq[d].size for d in offered) - eager_done
    rep.phase("uploading", sum(f.size for f in need_small) + sum(f.size for f in need_known) + eager_left)

    with ThreadPoolExecutor(UPLOAD_WORKERS) as pool:
        futures = []
        if need_known:
            futures.append(pool.submit(_put_large, repo, need_known, rep))
        settling = pool.submit(_settle_eager, repo, eager, uniq, rep)
        futures.append(settling)
        builder = PackBuilder()

        def ship(b: PackBuilder) -> None:
            pdigest, data, index = b.seal()
            repo.store.put(layout.pack_key(pdigest), data)
            repo.store.put(layout.pack_index_key(pdigest), index)
            repo.db.add_pack(repo.store.url, pdigest, b.members)
            for d, off, _ in b.members:
                where[d] = (pdigest, off)
            rep.advance(len(data))

        for f in need_small:
            with open(f.abspath, "rb") as fh:
                data = fh.read()
            if digest_bytes(data) != f.digest:
                raise UsageError(f"{f.abspath} changed while it was being logged; try again")
            builder.add(f.digest, data)
            if builder.full:
                futures.append(pool.submit(ship, builder))
                builder = PackBuilder()
                _drain(futures, keep=PACKS_IN_FLIGHT)
        if builder.members:
            futures.append(pool.submit(ship, builder))
        for fut in futures:
            fut.result()
    for d in large:
        where[d] = (None, 0)
    again = settling.result()
    up = need_small + need_known + again + [uniq[d] for d in eager.uploaded]
    return len(up), sum(f.size for f in up), where


def _settle_eager(repo: Repo, eager: EagerUploads, uniq: dict[str, InputFile], rep: ProgressReporter) -> list[InputFile]:
    """Wait for the eager uploads, then confirm with a listing made inside the lease the blobs
    their probes found (one may have been garbage a gc was deleting); upload any that is gone.
    Returns those."""
    eager.finish()
    hinted = sorted(eager.seen)
    there = find_loose(repo, hinted) if hinted else set()
    for d in there:
        rep.advance(uniq[d].size)
    gone = [uniq[d] for d in hinted if d not in there]
    if gone:
        _put_large(repo, gone, rep)
    return gone


def _drain(futures: list, keep: int) -> None:
    """Bound memory: wait until at most ``keep`` packs are in flight."""
    while sum(1 for f in futures if not f.done()) > keep:
        next(f for f in futures if not f.done()).result()


def _put_large(repo: Repo, files: list[InputFile], rep: ProgressReporter) -> None:
    put_checked(repo, files)
    for f in files:
        rep.advance(f.size)
