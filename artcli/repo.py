"""A Repo ties together the settings, the remote Store, the local cache and the event logs.

Commands build one Repo and pass it to ops; nothing else opens stores. Every log read goes
through here, folded by ``artcli/state/`` (artifacts, registries, runs, settings)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artcli import layout, manifest, marker, renames
from artcli.cache import Cache
from artcli.catalogue import CatalogueNotes
from artcli.config import Settings, cache_dir, resolve
from artcli.dryrun import Preview, event_log
from artcli.errors import IntegrityError, NotFoundError, RemoteError
from artcli.eventlog import EventLog, Events
from artcli.model import DIGEST_RE, Manifest, Ref
from artcli.runinfo import check_run_id, current_run_id
from artcli.state.artifact import ArtifactState, VersionState, fold, resolve_in
from artcli.state.collection import (
    CORE_REGISTRIES,
    CollectionState,
    RegistryState,
    fold_collection,
    fold_registry,
    link_in,
)
from artcli.state.folds import ArtifactFold
from artcli.state.run import RunState, fold_run
from artcli.state.settings import fold_default_ttl

if TYPE_CHECKING:
    from artcli.localdb import LocalDB
    from artcli.store.base import Store


class Repo:
    def __init__(self, settings: Settings, run_id: str | None = None) -> None:
        self.settings = settings
        self.project = settings.project
        self.run_id = run_id
        self.cache = Cache(cache_dir())
        self.check_marker = True
        #: set by ops that may be the first write to a remote (log, add-ref, registry create,
        #: run start, default TTL): only they may use a local remote whose directory is missing
        self.may_create = False
        self._marker: marker.Marker | None = None
        self._links: set[tuple[str, str, int]] | None = None
        self._fresh_db: LocalDB | None = None
        self._lock = threading.RLock()
        self.preview: Preview | None = None  # a dry run in progress: the events it would write

    @classmethod
    def open(cls, remote: str | None = None, project: str | None = None, run: str | None = None) -> Repo:
        return cls(resolve(remote, project), current_run_id(run))

    @property
    def store(self) -> Store:
        """The remote, opened on first use after its format marker passed the one check every
        command makes (docs/format.md §2.1; ``check_marker=False`` only for debug tools that
        must look at a damaged remote)."""
        store = self.__dict__.get("_store")
        if store is not None:
            return store
        with self._lock:  # log's threads ask at once: one opens (and reads the marker), the rest wait
            if "_store" not in self.__dict__:
                from artcli.store import open_store

                opened = open_store(self.settings.remote_url, self.settings.options)
                self._refuse_absent(opened)
                if self.check_marker:
                    try:
                        self._marker = marker.require(opened)
                    except BaseException:
                        opened.close()
                        raise
                # local caches are keyed by this (docs/format.md §2.1). No marker yet (an empty
                # remote, or a debug tool): a key used by this process alone, so nothing cached
                # for another store that had this URL is ever read, and nothing is kept for later
                ident = self._marker.identity if self._marker is not None else None
                opened.identity = ident or f"unmarked:{uuid.uuid4().hex}"
                self.__dict__["_store"] = opened
            return self.__dict__["_store"]

    def _refuse_absent(self, store: Store) -> None:
        """A read of a local remote whose directory does not exist is a mistyped path, not an
        empty store: stop with exit 3 rather than listing nothing (or creating it). The
        embedded default store is exempt: it is made on first use."""
        if not getattr(store, "absent", False) or self.may_create:
            return
        from artcli.config import default_store_url

        if self.settings.remote_url == default_store_url():
            return
        store.close()
        raise NotFoundError(f"no artcli store at {store.url}",
                            hint="check the path; the first write (log, add-ref, registry create, run start) "
                                 "creates a store")

    def close(self) -> None:
        if "_store" in self.__dict__:
            self.__dict__.pop("_store").close()
        self.cache.close()
        if self._fresh_db is not None:
            self._fresh_db.close()

    # -- format marker -------------------------------------------------------------------
    def check_format(self, for_write: bool = False) -> None:
        """Before a write: stamp an empty remote with the marker (reads were checked when the
        store opened). Refuses a store that cannot create objects exclusively."""
        store = self.store
        if not for_write or self.preview is not None:  # a dry run stamps nothing
            return
        with self._lock:
            if self._marker is None or self._marker.state != marker.EMPTY:
                return
            if not store.atomic_create:
                raise RemoteError(f"{store.url} cannot create objects exclusively; "
                                  "concurrent writers would be unsafe")
            if not store.put_if_absent(marker.KEY, marker.body()):  # another writer stamped it first
                self._marker = marker.require(store)
            else:
                self._marker = marker.Marker(marker.OK, format=layout.FORMAT)

    # -- artifacts -----------------------------------------------------------------------
    def artifact_log(self, project: str, name: str) -> EventLog:
        """An artifact's log; writes that change what ``ls`` shows are noted in the catalogue."""
        notes = CatalogueNotes(self.store, self.db, project, name, self.run_id,
                               self.artifact_fold(project, name, history=False))
        return event_log(self, layout.artifact_prefix(project, name), self.run_id, notes)

    def fold_artifact(self, project: str, name: str, events: Events) -> ArtifactState:
        """Fold an artifact's events, knowing which of its versions live links keep from
        expiring (looked up only if a TTL has passed): what every reader and writer folds."""
        st = fold(project, name, events)
        st.linked = self._linked_of(project, name)
        return st

    def _linked_of(self, project: str, name: str) -> Callable[[], set[int]]:
        return lambda: {v for p, n, v in self.linked_versions() if (p, n) == (project, name)}

    def artifact_fold(self, project: str, name: str, *, history: bool = True) -> ArtifactFold:
        """How :meth:`EventLog.folded` folds (and caches) this artifact's log, links known."""
        return ArtifactFold(project, name, history, self._linked_of(project, name))

    def artifact_state(self, project: str, name: str, *, must_exist: bool = True,
                       history: bool = True, follow: bool = True) -> ArtifactState:
        """An artifact's folded log (``history=False``: a summary without histories); one renamed
        away is followed to its new name (``follow``), with a warning."""
        st = self.artifact_log(project, name).folded(self.artifact_fold(project, name, history=history))
        if follow and st.renamed_to is not None:
            st = renames.follow(self, st, history)
        if must_exist and not st.versions and st.warnings:  # a log exists, but nothing in it is readable
            raise IntegrityError(f"artifact {project}/{name} on {self.store.url} has no valid version: {st.warnings[0]}",
                                 hint="inspect it with: artcli debug events " + name)
        if must_exist and not st.versions:
            raise NotFoundError(f"artifact {project}/{name} not found on {self.store.url}",
                                hint=self._suggest(project, name))
        return st

    def _suggest(self, project: str, name: str) -> str | None:
        from artcli.model import did_you_mean

        names = self.artifact_names(project)
        listing = f"list them with: artcli ls -p {project}" if project != "default" else "list them with: artcli ls"
        return did_you_mean(name, names, listing if names else None)

    def artifact_names(self, project: str) -> list[str]:
        """Every artifact of ``project``: one LIST with a delimiter per 1,000 names."""
        return sorted(self.store.list_dirs(layout.artifacts_root(project)))

    def all_artifacts(self) -> list[tuple[str, str]]:
        """(project, name) of every artifact with a log, in every project: one LIST of ``projects/``."""
        found = (layout.artifact_of_key(info.key) for info in self.store.list(layout.PROJECTS_ROOT))
        return sorted({a for a in found if a is not None})

    def resolve(self, ref: Ref, *, history: bool = True) -> tuple[ArtifactState, VersionState]:
        """The live version a reference names, with a message that says why when it cannot.

        A registry reference resolves to the artifact version its collection links to, so
        every command that resolves references (download, show, files, metadata, ...) works
        on it unchanged.
        """
        if ref.registry is not None:
            return self._resolve_link(ref, history)
        st = self.artifact_state(ref.project, ref.name, history=history)
        return st, resolve_in(st, ref)

    def _resolve_link(self, ref: Ref, history: bool) -> tuple[ArtifactState, VersionState]:
        assert ref.registry is not None
        coll = self.collection_state(ref.registry, ref.name)
        lk = link_in(coll, ref)
        where = f"{coll.ref}:v{lk.version}"
        try:
            st = self.artifact_state(lk.project, lk.name, history=history)
            vs = resolve_in(st, Ref(lk.project, lk.name, lk.source_version))
        except NotFoundError as exc:
            raise NotFoundError(f"{where} links {lk.source_ref}: {exc}",
                                hint=f"unlink it: artcli unlink {where}") from None
        for what, recorded, actual in (("content digest", lk.digest, vs.digest),
                                       ("manifest digest", lk.manifest, vs.manifest)):
            if recorded != actual:  # versions are immutable: only a damaged log gets here
                raise IntegrityError(f"{where} links {lk.source_ref} with {what} {recorded[:12]}…, "
                                     f"but that version has {str(actual)[:12]}…", kind="link-mismatch")
        return st, vs

    # -- registries and collections ------------------------------------------------------
    def registry_log(self, registry: str) -> EventLog:
        return event_log(self, layout.registry_prefix(registry), self.run_id)

    def collection_log(self, registry: str, collection: str) -> EventLog:
        return event_log(self, layout.collection_prefix(registry, collection), self.run_id)

    def registry_state(self, registry: str, *, must_exist: bool = True) -> RegistryState:
        st = fold_registry(registry, [] if registry in CORE_REGISTRIES else self.registry_log(registry).read())
        if must_exist and not st.exists:
            from artcli.model import did_you_mean

            raise NotFoundError(f"registry {registry!r} not found on {self.store.url}",
                                hint=did_you_mean(registry, self.registry_names())
                                or f"create it: artcli registry create {registry} --accept-type <type>")
        return st

    def collection_state(self, registry: str, collection: str, *, must_exist: bool = True) -> CollectionState:
        """A collection's folded log. With ``must_exist``, its registry must exist too: a
        collection under a registry nobody created is ignored by readers (docs/format.md §5.3)."""
        st = fold_collection(registry, collection, self.collection_log(registry, collection).read())
        if must_exist:
            self.registry_state(registry)
        if must_exist and not st.links:
            from artcli.model import closest

            near = closest(collection, [c for _, c in self.collection_names(registry)])
            raise NotFoundError(f"collection {st.ref} not found on {self.store.url}",
                                hint="did you mean " + " or ".join(f"'registry/{registry}/{c}'" for c in near) + "?"
                                if near else f"link a version into it: artcli link <ref> {st.ref}")
        return st

    def registry_names(self) -> list[str]:
        """Core registries plus every registry with a settings log or a collection on the remote."""
        return sorted(set(CORE_REGISTRIES) | {r for r, _ in self._scan_registries()})

    def collection_names(self, registry: str | None = None) -> list[tuple[str, str]]:
        """(registry, collection) for every collection with a log, optionally of one registry."""
        return sorted({(r, c) for r, c in self._scan_registries(registry) if c is not None})

    def collections(self) -> list[CollectionState]:
        """Every collection of every registry that exists, folded (one LIST of ``registries/``,
        one read per custom registry and per collection log); collections under a registry that
        does not exist are left out (docs/format.md §5.3)."""
        exists: dict[str, bool] = {}
        out = []
        for r, c in self.collection_names():
            if r not in exists:
                exists[r] = self.registry_state(r, must_exist=False).exists
            if exists[r]:
                out.append(self.collection_state(r, c, must_exist=False))
        return out

    def linked_versions(self) -> set[tuple[str, str, int]]:
        """(project, name, version) of every artifact version a live link names; kept for the
        rest of the command (:meth:`forget_links` after writing a link)."""
        with self._lock:
            if self._links is None:
                self._links = {lk.source for cs in self.collections() for lk in cs.live_links()}
            return self._links

    def forget_links(self) -> None:
        self._links = None

    def _scan_registries(self, registry: str | None = None) -> set[tuple[str, str | None]]:
        """One LIST of ``registries/`` (or one registry): which logs exist."""
        root = layout.registry_prefix(registry) if registry else layout.REGISTRIES_ROOT
        found = (layout.registry_log_of_key(info.key) for info in self.store.list(root))
        return {f for f in found if f is not None}

    # -- runs and settings ---------------------------------------------------------------
    def run_log(self, run_id: str) -> EventLog:
        """A run's log; its events name that run as their actor."""
        return event_log(self, layout.run_prefix(check_run_id(run_id)), run_id)

    def run_state(self, run_id: str, *, must_exist: bool = True) -> RunState:
        st = fold_run(run_id, self.run_log(run_id).read())
        if must_exist and not st.exists:
            raise NotFoundError(f"run {run_id!r} not found on {self.store.url}",
                                hint="a run appears once it starts (artcli run start) or records a version")
        return st

    def settings_log(self, project: str) -> EventLog:
        return event_log(self, layout.settings_prefix(project), self.run_id)

    def default_ttl(self, project: str) -> int | None:
        """The project's default TTL in seconds (None: versions do not expire by default)."""
        return fold_default_ttl(self.settings_log(project).read())

    # -- manifests -----------------------------------------------------------------------
    def version_manifest(self, st: ArtifactState, vs: VersionState) -> Manifest:
        """The files of a version, checked against its event (format.md §5.8) before use."""
        if not vs.manifest:
            raise IntegrityError(f"{st.project}/{st.name}:v{vs.version} has no manifest in its log")
        with self.judging_event(st, vs):  # a manifest refused by its event's bounds drops the event too
            man = self.load_manifest(vs.manifest, vs.files)
            check_against_event(f"{st.project}/{st.name}:v{vs.version}", vs, man)
        return man

    def check_event(self, st: ArtifactState, vs: VersionState, man: Any, where: str | None = None) -> None:
        with self.judging_event(st, vs):  # check_against_event; a bad event leaves the cache
            check_against_event(where or f"{st.project}/{st.name}:v{vs.version}", vs, man)

    @contextmanager
    def judging_event(self, st: ArtifactState, vs: VersionState) -> Iterator[None]:
        """An integrity error inside drops the version's event (and later ones) from the cache."""
        try:
            yield
        except IntegrityError:
            self.artifact_log(st.project, st.name).forget_from(vs.seq)
            raise

    @property
    def db(self):  # the local index; an in-memory one after read_fresh()
        return self._fresh_db if self._fresh_db is not None else self.cache.db

    def read_fresh(self) -> None:
        """Read every log afresh from the remote into a throwaway in-memory index from now on
        (gc: liveness never from events cached here, maybe of another store at this URL)."""
        from artcli.localdb import LocalDB

        with self._lock:
            if self._fresh_db is None:
                self._fresh_db = LocalDB(Path(":memory:"))

    def manifest_file(self, digest: str, files: int | None = None) -> manifest.Streamed:
        """A manifest read from the local cache one entry at a time (fetched and decompressed
        into it streaming when missing): memory does not grow with its entries. ``files``: the
        entry count its event claims, which bounds decompression and parsing (docs/format.md
        §3.3) — a planted gzip bomb is refused after a few KiB, not after inflating gigabytes."""
        if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
            raise IntegrityError(f"invalid manifest digest {str(digest)[:80]!r} in an event on {self.store.url}")
        path = self.cache.manifest_path(digest)
        if path.exists():
            try:
                return manifest.Streamed(path, digest, files)
            except IntegrityError:  # a damaged cache file: fetched again
                path.unlink(missing_ok=True)
        key = layout.manifest_key(digest)
        gz, raw = self.cache.temp_path("manifest.gz"), self.cache.temp_path("manifest")
        try:
            try:
                self.store.get_files([(key, str(gz))])
            except NotFoundError:
                raise IntegrityError(f"manifest {key} is missing from {self.store.url}",
                                     kind="manifest-missing") from None
            manifest.decompress_file(gz, raw, key, manifest.size_limit(files))
            streamed = manifest.Streamed(raw, digest, files)  # verified before it joins the cache
            if self.cache.writable:
                os.replace(raw, path)
                streamed.path = str(path)
            else:  # no cache to keep it in: read from the temp file, removed when the cache closes
                keep, raw = raw, None
                streamed.path = str(keep)
            return streamed
        finally:
            gz.unlink(missing_ok=True)
            if raw is not None:
                raw.unlink(missing_ok=True)

    def load_manifest(self, digest: str, files: int | None = None) -> Manifest:
        """A manifest, from the cache or the remote. ``files``: the entry count its event claims,
        which bounds decompression and parsing (docs/format.md §3.3)."""
        if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
            # it came from an event: never let it name a cache path or key outside manifests/
            raise IntegrityError(f"invalid manifest digest {str(digest)[:80]!r} in an event on {self.store.url}")
        data = self.cache.get_manifest(digest)
        if data is None:
            key = layout.manifest_key(digest)
            try:
                raw = self.store.get(key)
            except NotFoundError:
                raise IntegrityError(f"manifest {key} is missing from {self.store.url}",
                                     kind="manifest-missing") from None
            data = manifest.decompress(raw, key, manifest.size_limit(files))
            result = manifest.decode(data, digest, files)
            self.cache.put_manifest(digest, data)
            return result
        return manifest.decode(data, digest, files)


def check_against_event(where: str, vs: VersionState, man: Manifest | manifest.Streamed) -> None:
    """§5.8: the manifest must hold what the version's event claims."""
    for what, claimed, actual in (("content digest", vs.digest, man.content_digest),
                                  ("size", vs.size, man.size), ("file count", vs.files, man.count)):
        if claimed != actual:
            raise IntegrityError(f"{where}: its event claims {what} {claimed}, but its manifest {vs.manifest} "
                                 f"holds {actual}", kind="event-manifest-mismatch")
