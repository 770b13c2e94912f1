"""``copy``: replicate a version to another remote ("promote from the team bucket to production").

The copy is byte-identical: the same loose blobs, the same packs (whole, with their indexes)
and the same manifest object, so the destination version has the source's content digest
*and* manifest digest. Only objects the destination lacks are fetched (one existence check per
pack and per loose blob, never a listing of the remote), each verified against its digest
before it is written, each complete before anything names it, under the destination's writer
lease (docs/format.md §7.1). The version is committed last, so an interrupted copy leaves only
objects and re-running it sends only what is still missing; copying a version the destination
already holds (same content digest) writes no object and moves only the aliases asked for.

The destination version records where it came from (``origin``: the source remote's URL,
project, name, version, content digest, creation time and run) and keeps the source's
description and current metadata; the source's inputs become ``remote_inputs`` (versions on
the source remote), so lineage can name them (docs/format.md §5.1, "Copies").
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artcli import layout
from artcli.aliasmoves import artifact_folder, move_aliases
from artcli.errors import ConflictError, IntegrityError, NotFoundError, UsageError
from artcli.eventlog import Events
from artcli.hashing import digest_file
from artcli.humanize import plural, size
from artcli.leases import LazyWriteSession
from artcli.model import Ref, check_alias, check_name
from artcli.progress import NoProgress, ProgressReporter
from artcli.redact import redact_url
from artcli.repo import Repo
from artcli.results import Result
from artcli.state.artifact import ArtifactState, VersionState

COPY_WORKERS = 8


@dataclass
class CopyResult(Result):
    source: str  # project/name:vN on the source remote
    ref: str  # project/name:vN on the destination
    remote: str  # the destination remote's URL
    digest: str
    manifest: str
    created: bool  # False: the destination already held this content
    copied_objects: int = 0
    copied_bytes: int = 0
    aliases: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "ref": self.ref, "remote": self.remote, "digest": self.digest,
                "manifest": self.manifest, "created": self.created, "copied_objects": self.copied_objects,
                "copied_bytes": self.copied_bytes, "aliases": self.aliases}


def origin_of(repo: Repo, st: ArtifactState, vs: VersionState) -> dict[str, Any]:
    """What a copy records about its source (``version_created.origin``)."""
    return {"remote": redact_url(repo.settings.remote_url), "project": st.project, "name": st.name,
            "version": vs.version, "digest": vs.digest, "created": vs.created, "run": vs.run}


def copy_version(repo: Repo, ref: Ref, dest: Repo, *, project: str | None = None, name: str | None = None,
                 aliases: list[str] | None = None, keep_aliases: bool = False,
                 reporter: ProgressReporter | None = None) -> CopyResult:
    """Copy the version ``ref`` names from ``repo``'s remote to ``dest``'s (into ``project`` or
    the source's project, as ``name`` or the source's name), with ``aliases`` (and, with
    ``keep_aliases``, the custom aliases it has on the source)."""
    rep = reporter or NoProgress()
    st, vs = repo.resolve(ref)  # a registry reference stands for the version it links
    target = check_name(name or st.name)
    wanted = [check_alias(a) for a in dict.fromkeys(aliases or [])]
    if keep_aliases:
        wanted += [a for a in sorted(x for x, v in st.aliases.items() if v == vs.version) if a not in wanted]
    src_ref = f"{st.project}/{st.name}:v{vs.version}"
    project = check_name(project or st.project, "project")
    if dest.settings.remote_url == repo.settings.remote_url and project == st.project and target == st.name:
        raise UsageError(f"{src_ref} is already there: copy to another remote, project (--project) or name (--name)")
    man = repo.version_manifest(st, vs)  # verified against its event before anything is sent
    dest.may_create = True
    log = dest.artifact_log(project, target)
    cur = dest.fold_artifact(project, target, log.read())
    if cur.type is not None and st.type is not None and cur.type != st.type:
        raise ConflictError(f"{project}/{target} on {dest.store.url} has type {cur.type!r}, not {st.type!r}")
    result = CopyResult(src_ref, "", dest.store.url, vs.digest, vs.manifest or "", False, warnings=list(st.warnings))
    existing = cur.by_digest(vs.digest)
    if existing is None:
        session = LazyWriteSession(dest, rep)
        try:
            lease = session.get()
            _send_objects(repo, dest, man.entries, vs.manifest or "", result, rep)
            n = _commit(dest, log, project, target, st, vs, wanted, origin_of(repo, st, vs), lease, result)
        finally:
            session.close()
        if n is not None:
            result.ref, result.created = f"{project}/{target}:v{n}", True
            result.aliases = dest.artifact_state(project, target).aliases_of(n)
            rep.done(f"copied {src_ref} to {result.ref} on {dest.store.url}: "
                     f"{plural(result.copied_objects, 'object')}, {size(result.copied_bytes)} sent")
            return result
        existing = dest.artifact_state(project, target).by_digest(vs.digest)
        if existing is None:  # it was deleted again meanwhile: nothing sensible to report
            raise ConflictError(f"{project}/{target} on {dest.store.url} changed while copying; run it again")
    result.ref = f"{project}/{target}:v{existing.version}"
    move_aliases(log, artifact_folder(dest, project, target), f"{project}/{target}", existing.version, wanted)
    result.aliases = dest.artifact_state(project, target).aliases_of(existing.version)
    rep.done(f"unchanged: {result.ref} on {dest.store.url} already holds this content")
    return result


def _send_objects(src: Repo, dest: Repo, entries: list[Any], mdigest: str, result: CopyResult,
                  rep: ProgressReporter) -> None:
    """Every pack (and index), loose blob and the manifest the destination lacks, verified."""
    packs = sorted({e.pack for e in entries if e.pack})
    blobs = sorted({e.digest for e in entries if not e.pack and e.ref is None and e.digest})
    wanted = [(layout.pack_key(p), p) for p in packs] + [(layout.blob_key(b), b) for b in blobs]
    with ThreadPoolExecutor(COPY_WORKERS) as pool:
        have = list(pool.map(lambda kd: dest.store.exists(kd[0]), wanted))
        missing = [kd for kd, there in zip(wanted, have, strict=True) if not there]
        rep.phase("copying", None, unit="objects")
        for size in pool.map(lambda kd: _copy_one(src, dest, *kd), missing):
            result.copied_objects += 1
            result.copied_bytes += size
            rep.advance(1)
        # an index goes after its pack (a pack without one is incomplete, §4); missing at the
        # source, the pack is still readable and the copy is as complete as the source
        idx = [layout.pack_index_key(p) for p in packs]
        idx_have = list(pool.map(dest.store.exists, idx))
        for key, there in zip(idx, idx_have, strict=True):
            if not there:
                try:
                    body = src.store.get(key)
                except NotFoundError:
                    result.warnings.append(f"{key} is missing on {src.store.url}: the copy's pack has no index either")
                    continue
                dest.store.put(key, body)
                result.copied_objects += 1
                result.copied_bytes += len(body)
    mkey = layout.manifest_key(mdigest)
    if not dest.store.exists(mkey):
        body = src.store.get(mkey)  # its bytes were verified by version_manifest (same digest)
        dest.store.put(mkey, body)
        result.copied_objects += 1
        result.copied_bytes += len(body)


def _copy_one(src: Repo, dest: Repo, key: str, digest: str) -> int:
    """One object through a temp file: fetched, checked against its digest, then written."""
    tmp = Path(dest.cache.temp_path("copy"))
    try:
        src.store.get_files([(key, str(tmp))])
        got = digest_file(tmp)
        if got != digest:
            raise IntegrityError(f"{key} on {src.store.url} does not match its digest (got {got[:16]}…); not copied",
                                 kind="data-corrupt")
        size = tmp.stat().st_size
        dest.store.put_files([(str(tmp), key)])
        return size
    finally:
        tmp.unlink(missing_ok=True)


def _commit(dest: Repo, log: Any, project: str, target: str, st: ArtifactState, vs: VersionState,
            aliases: list[str], origin: dict[str, Any], lease: Any, result: CopyResult) -> int | None:
    """Append the destination's ``version_created``; None when identical content arrived meanwhile."""
    remote = origin["remote"]
    remote_inputs = [{"remote": remote, "ref": text} for text in vs.inputs]
    remote_inputs += [dict(r) for r in vs.remote_inputs]
    metadata = {k: dict(v) for k, v in vs.metadata.items()}
    out: dict[str, int] = {}

    def build(events: Events) -> dict[str, Any] | None:
        lease.check()
        cur = dest.fold_artifact(project, target, events)
        if cur.by_digest(vs.digest) is not None:
            return None
        n = cur.next_version()
        out["n"] = n
        ev: dict[str, Any] = {"type": "version_created", "version": n, "digest": vs.digest, "manifest": vs.manifest,
                              "size": vs.size, "files": vs.files, "artifact_type": cur.type or st.type or "dataset",
                              "description": vs.description, "aliases": aliases, "metadata": metadata,
                              "origin": origin}
        if remote_inputs:
            ev["remote_inputs"] = remote_inputs
        if vs.expires is not None:
            ev["expires"] = vs.expires
        return ev

    ev = log.append(build)
    return None if ev is None else out["n"]
