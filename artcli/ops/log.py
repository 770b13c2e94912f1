"""``log`` and ``add-ref``: turn local files and/or source references into a new version (or
find the identical one that exists)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from typing import Any

from artcli import clock, remoterefs
from artcli.components import Component, check_still_live
from artcli.components import resolve as resolve_components
from artcli.durations import parse_expiry
from artcli.errors import ArtcliError, ConflictError, UsageError
from artcli.eventlog import EventLog
from artcli.fileplan import FilePlan
from artcli.humanize import files_and_size
from artcli.inputs import hash_stream, require_paths
from artcli.leases import LazyWriteSession
from artcli.logplan import Gathered, assemble, base_entries, check_base_stored, gather
from artcli.manifest_stream import EntrySpill
from artcli.mdvalues import check_description
from artcli.model import Entry, Ref, check_alias, check_name
from artcli.packs import PACK_THRESHOLD
from artcli.pathmatch import PathFilter
from artcli.progress import NoProgress, ProgressReporter
from artcli.references import spill_references
from artcli.repo import Repo
from artcli.results import AddRefResult, LogResult
from artcli.runrecords import pinned_inputs, records_output
from artcli.sources import DEFAULT_MAX_OBJECTS, parse_location
from artcli.state.artifact import ArtifactState
from artcli.upload import EagerUploads, commit_lease, count_missing, store_manifest, store_streamed, upload_files

#: more entries than this (or references from add-ref / log --ref, in any number): the manifest
#: is merged, checked and written streaming from disk (artcli/manifest_stream.py), not in memory
STREAM_MIN_ENTRIES = 100_000


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
    inputs: list[str] | None = None,
    ttl: str | None = None,
    event_fields: dict[str, Any] | None = None,
    components: list[str] | None = None,
    reporter: ProgressReporter | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    follow_symlinks: bool = False,
    use_ignore: bool = True,
    base: Ref | None = None,
    remove: list[str] | None = None,
    dry_run: bool = False,
) -> LogResult:
    """Log ``paths`` (plus ready-made ``extra_entries``, e.g. references) as a version of ``name``.

    ``components``: ``[FOLDER=]REF`` versions the new one holds under folders without copying
    their bytes (``--component``, artcli/components.py); they are pinned now and join ``inputs``.

    ``inputs``: versions it was made from (``--input``), pinned to their vN now; ``ttl``: when it
    expires (``--ttl``: a duration, a date or ``never``; default: the project's default TTL).

    Extra entries in an :class:`EntrySpill` (add-ref, any number of them), or more than
    STREAM_MIN_ENTRIES entries in all, take the streaming path: the local files join the spill,
    the merge checks every path, and the manifest is hashed and written from it without ever
    being in memory, byte for byte what the in-memory path writes.

    Folders: ``include``/``exclude``, ``use_ignore``, ``follow_symlinks`` (artcli/logplan.py).
    ``base`` (``--from``): that version's files minus ``remove`` patterns, ``paths`` added or
    replacing; the base's bytes are never read. ``dry_run``: write nothing, say what would be.
    """
    require_paths(paths)  # a typo is reported before the remote is contacted
    check_description(description)
    fields = _event_fields(repo, inputs, ttl, event_fields)
    comps, placed = resolve_components(repo, components) if components else ([], [])
    if comps:
        fields = dict(fields or {})
        fields["components"] = [c.to_json() for c in comps]
        fields["inputs"] = list(dict.fromkeys([*fields.get("inputs", []), *(c.ref for c in comps)]))
    options = dict(artifact_type=artifact_type, description=description, aliases=aliases, metadata=metadata,
                   name_as=name_as, extra_entries=extra_entries, reporter=reporter, placed=placed,
                   pfilter=PathFilter.of(include, exclude), follow_symlinks=follow_symlinks,
                   use_ignore=use_ignore, base=base, remove=remove)
    if dry_run:
        with ExitStack() as cleanup:
            return _log_artifact(repo, name, paths, cleanup, event_fields=fields, dry_run=True, **options)
    return _log_recorded(repo, name, paths, event_fields=fields, **options)


@records_output  # lineage: the version's run records it as an output, with event_fields["inputs"] (docs/lineage.md)
def _log_recorded(repo: Repo, name: str, paths: list[str], *, event_fields: dict[str, Any] | None,
                  **options: Any) -> LogResult:
    with ExitStack() as cleanup:  # a spill made here is closed (its runs deleted) on every outcome
        return _log_artifact(repo, name, paths, cleanup, event_fields=event_fields, **options)


def add_ref(
    repo: Repo,
    name: str,
    uris: list[str],
    *,
    paths: list[str] | None = None,
    checksum: bool = True,
    max_objects: int = DEFAULT_MAX_OBJECTS,
    name_as: str | None = None,
    artifact_type: str | None = None,
    description: str | None = None,
    aliases: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    inputs: list[str] | None = None,
    ttl: str | None = None,
    event_fields: dict[str, Any] | None = None,
    components: list[str] | None = None,
    reporter: ProgressReporter | None = None,
    run_size: int | None = None,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    follow_symlinks: bool = False,
    use_ignore: bool = True,
    base: Ref | None = None,
    remove: list[str] | None = None,
    dry_run: bool = False,
) -> AddRefResult:
    """Log the objects at ``uris`` by reference (plus local ``paths``, uploaded as ``log`` does)
    as a version of ``name``; identical content and pins reuse the existing version.

    The entries go to an :class:`EntrySpill` (sorted runs of ``run_size`` entries, default
    ``manifest_stream.RUN_SIZE``, in the cache's tmp dir) as they are listed, and the manifest
    is written streaming from it: memory does not grow with the number of objects
    (docs/references.md, "Memory"). ``include``/``exclude`` keep only the matching references
    (and local files); the other options are ``log``'s.
    """
    require_paths([*(paths or []), *_local_sources(uris)])  # before the remote or any source is contacted
    check_description(description)
    event_fields = _event_fields(repo, inputs, ttl, event_fields)  # a bad --input fails before any listing
    pfilter = PathFilter.of(include, exclude)
    with EntrySpill(repo.cache.tmp, run_size=run_size) as spill:
        warnings = spill_references(repo, uris, spill, checksum=checksum, max_objects=max_objects,
                                    name_as=name_as, reporter=reporter, accept=pfilter.accepts if pfilter else None)
        references = spill.count
        if not references and pfilter:
            raise UsageError(f"nothing to reference: no object matches {pfilter.describe()}")
        res = log_artifact(repo, name, paths or [], artifact_type=artifact_type, description=description,
                           aliases=aliases, metadata=metadata, name_as=name_as, extra_entries=spill,
                           event_fields=event_fields, components=components, reporter=reporter, include=include,
                           exclude=exclude, follow_symlinks=follow_symlinks, use_ignore=use_ignore, base=base,
                           remove=remove, dry_run=dry_run)
    return AddRefResult(res, references, warnings=warnings + res.warnings)


def _local_sources(uris: list[str]) -> list[str]:
    """The local paths among source URIs (a plain path or file://)."""
    return [loc.key for loc in map(parse_location, uris) if loc.scheme == "file"]


def _event_fields(repo: Repo, inputs: list[str] | None, ttl: str | None,
                  fields: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``version_created`` fields for ``--input`` (pinned now, so lineage never follows an alias
    that moved later; an unknown reference fails before anything is hashed) and ``--ttl``
    (``never``: no expiry, even with a project default; docs/retention.md)."""
    out = dict(fields or {})
    elsewhere = [t for t in inputs or [] if remoterefs.split(t) is not None]  # REMOTE:project/name:vN
    pinned = pinned_inputs(repo, [t for t in inputs or [] if t not in elsewhere])
    if pinned:
        out["inputs"] = pinned
    if elsewhere:
        pinned_elsewhere = {(r["remote"], r["ref"]): r for r in map(remoterefs.pin, dict.fromkeys(elsewhere))}
        out["remote_inputs"] = list(pinned_elsewhere.values())
    if ttl is not None:
        when = parse_expiry(ttl)
        out["expires"] = None if when is None else clock.iso(when)
    return out or None


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
    placed: list[Entry],
    reporter: ProgressReporter | None,
    pfilter: PathFilter,
    follow_symlinks: bool,
    use_ignore: bool,
    base: Ref | None,
    remove: list[str] | None,
    dry_run: bool = False,
) -> LogResult:
    rep = reporter or NoProgress()
    check_name(name)
    if artifact_type is not None:
        check_name(artifact_type, "type")
    aliases = [check_alias(a) for a in dict.fromkeys(aliases or [])]
    if remove and base is None:
        raise UsageError("--remove needs --from REF: it removes files of the base version")
    repo.may_create = True  # the first write to a new local remote creates it (a dry run reads it as empty)
    project = repo.project
    reading = _read_log_meanwhile(repo, project, name)  # overlaps the scan too: its stats release the GIL
    cleanup.callback(reading.exception)  # on every outcome, no reader outlives the command
    plan = cleanup.enter_context(FilePlan(repo.cache.temp_path("fileplan")))  # the local files, on disk
    got = gather(plan, paths, name_as, pfilter=pfilter, follow_symlinks=follow_symlinks,
                 use_ignore=use_ignore, db=repo.db) if paths else Gathered()
    based = base_entries(repo, base, remove, plan) if base is not None else None
    session = LazyWriteSession(repo, rep)
    cleanup.callback(session.close)
    eager = EagerUploads(repo, session, PACK_THRESHOLD)
    cleanup.callback(eager.close)  # runs first: no upload outlives the lease
    rep.phase("hashing", plan.unhashed)  # the files the stat cache did not vouch for during the walk
    for _f in plan.record(hash_stream(plan.unhashed_files(), repo.db, rep.advance,
                                      on_hashed=None if dry_run else eager.offer)):
        pass
    log, state = reading.result()
    kept = [*(based.entries if based is not None else []), *placed]  # stored elsewhere already: base files, components
    man = assemble(plan, extra_entries, kept, cleanup, repo.cache.tmp, STREAM_MIN_ENTRIES, rep)
    entries, spill, count, total, cdigest = man.entries, man.spill, man.count, man.total, man.cdigest
    repo.check_format(for_write=not dry_run)

    st = state
    _check_renamed(st)
    _check_type(st.type, artifact_type, project, name)
    existing = st.by_digest(cdigest)
    extras = dict(base=based.ref if based else None, removed=based.removed if based else 0,
                  ignored=got.ignored, warnings=list(got.warnings))
    if dry_run:
        if existing is not None:
            res = LogResult(project, name, existing.version, cdigest, False, count, total, st.type,
                            st.aliases_of(existing.version), dry_run=True, **extras)
        else:
            up_files, up_bytes = count_missing(repo, plan)
            res = LogResult(project, name, st.next_version(), cdigest, True, count, total,
                            artifact_type or st.type or "dataset", ["latest", *aliases], up_files, up_bytes,
                            dry_run=True, **extras)
        rep.done(f"dry run: would {'create' if res.created else 'reuse'} {res.ref}: {files_and_size(count, total)} "
                 f"({files_and_size(res.uploaded_files, res.uploaded_bytes)} to upload)")
        return res
    if existing is not None:
        eager.close()
        session.close()
        res = _reuse(repo, name, existing.version, cdigest, aliases, metadata, rep, description)
        return replace(res, **extras)

    fields = dict(event_fields or {})
    if "expires" not in fields and (seconds := repo.default_ttl(project)) is not None:  # no --ttl: the project default
        fields["expires"] = clock.iso(clock.now() + timedelta(seconds=seconds))
    session.get()  # gc protocol (docs/format.md §7): dedup safely against old objects
    if based is not None:
        check_base_stored(repo, based.entries, based.ref)
    up_files, up_bytes, stored = upload_files(repo, plan, rep, eager, lambda p: _packed_in_latest(repo, st, p))
    if spill is not None:
        mdigest = store_streamed(repo, spill, plan, rep, man.located)
    else:
        mdigest = store_manifest(repo, entries, plan)
    lease = commit_lease(repo, session, mdigest, stored)  # a lease that lapsed: everything looked for again

    outcome: dict[str, Any] = {}

    def build(cur: ArtifactState) -> dict[str, Any] | None:
        lease.check()  # right before each commit attempt: never after a gap in the lease (a gc may have deleted)
        if fields.get("components"):
            check_still_live(repo, [Component(**c) for c in fields["components"]])
        _check_renamed(cur)
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

    ev = log.append_folded(repo.artifact_fold(project, name, history=False), build)
    session.close()  # the lease ends once the version is committed
    if ev is None:
        return replace(_reuse(repo, name, outcome["reuse"], cdigest, aliases, metadata, rep, description), **extras)
    rep.done(f"logged {project}/{name}:v{ev['version']}: {files_and_size(count, total)} "
             f"({files_and_size(up_files, up_bytes)} uploaded)")
    return LogResult(project, name, ev["version"], cdigest, True, count, total,
                     ev["artifact_type"], ["latest", *aliases], up_files, up_bytes, **extras)


def _read_log_meanwhile(repo: Repo, project: str, name: str) -> Future[tuple[EventLog, ArtifactState]]:
    """Open the remote and read the artifact's event log on a thread while the files hash.

    For S3/GCS, importing s3fs/gcsfs and building a client alone takes ~0.2 s; hashing runs in
    BLAKE3's threads without the GIL, so the two overlap. The format marker is checked here too
    (read only: an empty remote is stamped later, and only if something is written). The
    events may be stale by the time they are folded; commits re-fold the current log anyway.
    """
    done: Future[tuple[EventLog, ArtifactState]] = Future()

    def work() -> None:
        try:
            log = repo.artifact_log(project, name)  # opens the store
            repo.check_format()
            done.set_result((log, log.folded(repo.artifact_fold(project, name, history=False))))
            repo.store.prepare_transfers()  # the uploads' client (s3fs), while the files still hash
        except BaseException as exc:  # raised where the result is used
            done.set_exception(exc)

    threading.Thread(target=work, name="artcli-read-log", daemon=True).start()
    return done


def _check_renamed(st: Any) -> None:
    if st.renamed_to is not None:
        raise ConflictError(f"{st.project}/{st.name} was renamed to {st.renamed_to}; log to the new name")


#: the previous version's manifest is fetched for deduplication only up to this many files
HINT_MAX_FILES = 100_000


def _packed_in_latest(repo: Repo, st: ArtifactState, plan: FilePlan) -> None:
    """Put into ``plan`` where the latest version's small files are packed: what a new version
    most likely shares with it (deduplication without reading every pack index of the remote).
    The manifest is read one entry at a time; a bigger one only when it is cached."""
    vs = st.latest_live()
    if vs is None or not vs.manifest or (vs.files > HINT_MAX_FILES and not repo.cache.manifest_path(vs.manifest).exists()):
        return
    try:
        plan.add_hints(repo.manifest_file(vs.manifest, vs.files))
    except ArtcliError:  # only a hint: a damaged or missing manifest costs deduplication
        plan.clear_hints()


def _check_type(current: str | None, wanted: str | None, project: str, name: str) -> None:
    if wanted is not None and current is not None and wanted != current:
        raise ConflictError(f"{project}/{name} has type {current!r}, not {wanted!r}")


def _reuse(repo: Repo, name: str, version: int, cdigest: str, aliases: list[str],
           metadata: dict[str, Any] | None, rep: ProgressReporter, description: str | None = None) -> LogResult:
    """Identical content exists: move ``latest`` and the requested aliases to it, write nothing
    when they are already there (so an unchanged re-log does no write at all). A description
    given (``-d``) that differs from the version's becomes its description, kept in its history
    (it used to be dropped while the aliases and metadata given with it were applied)."""
    project = repo.project
    log = repo.artifact_log(project, name)

    def build(cur: ArtifactState) -> dict[str, Any] | None:
        need = [a for a in aliases if cur.aliases.get(a) != version]
        describe = description is not None and cur.versions[version].description != description
        if cur.latest == version and not need and not metadata and not describe:
            return None
        ev: dict[str, Any] = {"type": "version_reused", "version": version, "aliases": need,
                              "metadata": metadata or {}}
        if describe:
            ev["description"] = description
        return ev

    log.append_folded(repo.artifact_fold(project, name, history=False), build)
    st = repo.artifact_state(project, name, history=False)
    vs = st.versions[version]
    rep.done(f"unchanged: {project}/{name}:v{version} already holds this content")
    return LogResult(project, name, version, cdigest, False, vs.files, vs.size, st.type,
                     st.aliases_of(version), 0, 0)
