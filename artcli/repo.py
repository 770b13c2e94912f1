"""A Repo ties together the settings, the remote Store, the local cache and the event logs.

Commands build one Repo and pass it to ops functions; nothing else opens stores. Every read
of a log goes through here and is folded by ``artcli/state/``: artifacts, registries and
their collections, runs, project settings; references resolve here too.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from artcli import canonical, layout, manifest
from artcli.cache import Cache
from artcli.catalogue import CatalogueNotes
from artcli.config import Settings, cache_dir, resolve
from artcli.errors import IntegrityError, NotFoundError, RemoteError
from artcli.eventlog import EventLog
from artcli.model import DIGEST_RE, Manifest, Ref
from artcli.runinfo import check_run_id, current_run_id
from artcli.state.artifact import ArtifactState, VersionState, resolve_in
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
    from artcli.store.base import Store


class Repo:
    def __init__(self, settings: Settings, run_id: str | None = None) -> None:
        self.settings = settings
        self.project = settings.project
        self.run_id = run_id
        self.cache = Cache(cache_dir())
        self._format_checked = False
        self._lock = threading.Lock()

    @classmethod
    def open(cls, remote: str | None = None, project: str | None = None, run: str | None = None) -> Repo:
        return cls(resolve(remote, project), current_run_id(run))

    @cached_property
    def store(self) -> Store:
        from artcli.store import open_store

        return open_store(self.settings.remote_url, self.settings.options)

    @property
    def db(self):
        return self.cache.db

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
        self.cache.close()

    # -- format marker -------------------------------------------------------------------
    def check_format(self, for_write: bool = False) -> None:
        """Refuse remotes written by a newer format; stamp empty remotes on first write."""
        with self._lock:  # log's threads ask at once: one of them reads (and stamps), the rest wait
            if self._format_checked:
                return
            try:
                marker = canonical.loads(self.store.get(layout.MARKER_KEY))
            except NotFoundError:
                marker = None
            except ValueError:
                raise IntegrityError(f"{layout.MARKER_KEY} on {self.store.url} is not valid JSON") from None
            if marker is None:
                if for_write:
                    if not self.store.atomic_create:
                        raise RemoteError(f"{self.store.url} cannot create objects exclusively; "
                                          "concurrent writers would be unsafe")
                    self.store.put_if_absent(layout.MARKER_KEY, canonical.dumps(
                        {"format": layout.FORMAT, "hash": layout.HASH}))
                else:
                    return
            elif not isinstance(marker, dict) or marker.get("hash") != layout.HASH:
                raise IntegrityError(f"{self.store.url} is not an artcli store with hash {layout.HASH}")
            elif int(marker.get("format", 0)) > layout.FORMAT:
                raise RemoteError(f"{self.store.url} uses store format {marker.get('format')}; this artcli "
                                  f"reads up to format {layout.FORMAT}: upgrade artcli")
            self._format_checked = True

    # -- artifacts -----------------------------------------------------------------------
    def artifact_log(self, project: str, name: str) -> EventLog:
        """An artifact's log; writes that change what ``ls`` shows are noted in the catalogue."""
        notes = CatalogueNotes(self.store, self.db, project, name, self.run_id)
        return EventLog(self.store, self.db, layout.artifact_prefix(project, name), self.run_id, notes)

    def artifact_state(self, project: str, name: str, *, must_exist: bool = True,
                       history: bool = True) -> ArtifactState:
        """An artifact's folded log. ``history=False`` folds (and caches) a summary without alias,
        metadata and use histories, which is all that show, download, ls and log need."""
        st = self.artifact_log(project, name).folded(ArtifactFold(project, name, history))
        if must_exist and not st.versions and st.warnings:  # a log exists, but nothing in it is readable
            raise IntegrityError(f"artifact {project}/{name} on {self.store.url} has no valid version: {st.warnings[0]}",
                                 hint="inspect it with: artcli debug events " + name)
        if must_exist and not st.versions:
            raise NotFoundError(f"artifact {project}/{name} not found on {self.store.url}",
                                hint=self._suggest(project, name))
        return st

    def _suggest(self, project: str, name: str) -> str | None:
        names = self.artifact_names(project)
        if not names:
            return None
        import difflib

        close = difflib.get_close_matches(name, names, n=3)
        return f"did you mean: {', '.join(close)}?" if close else f"artifacts in {project}: {', '.join(names[:10])}"

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
        if vs.digest != lk.digest:  # versions are immutable: only a damaged log gets here
            raise IntegrityError(f"{where} links {lk.source_ref} with digest {lk.digest[:12]}…, "
                                 f"but that version holds {vs.digest[:12]}…")
        return st, vs

    # -- registries and collections ------------------------------------------------------
    def registry_log(self, registry: str) -> EventLog:
        return EventLog(self.store, self.db, layout.registry_prefix(registry), self.run_id)

    def collection_log(self, registry: str, collection: str) -> EventLog:
        return EventLog(self.store, self.db, layout.collection_prefix(registry, collection), self.run_id)

    def registry_state(self, registry: str, *, must_exist: bool = True) -> RegistryState:
        st = fold_registry(registry, [] if registry in CORE_REGISTRIES else self.registry_log(registry).read())
        if must_exist and not st.exists:
            raise NotFoundError(f"registry {registry!r} not found on {self.store.url}",
                                hint=f"create it: artcli registry create {registry} --accept-type <type>")
        return st

    def collection_state(self, registry: str, collection: str, *, must_exist: bool = True) -> CollectionState:
        st = fold_collection(registry, collection, self.collection_log(registry, collection).read())
        if must_exist and not st.links:
            self.registry_state(registry)  # an unknown registry is the better message
            raise NotFoundError(f"collection {st.ref} not found on {self.store.url}",
                                hint=f"link a version into it: artcli link <ref> {st.ref}")
        return st

    def registry_names(self) -> list[str]:
        """Core registries plus every registry with a settings log or a collection on the remote."""
        return sorted(set(CORE_REGISTRIES) | {r for r, _ in self._scan_registries()})

    def collection_names(self, registry: str | None = None) -> list[tuple[str, str]]:
        """(registry, collection) for every collection with a log, optionally of one registry."""
        return sorted({(r, c) for r, c in self._scan_registries(registry) if c is not None})

    def collections(self) -> list[CollectionState]:
        """Every collection of every registry, folded (one LIST of ``registries/`` + one per log)."""
        return [self.collection_state(r, c, must_exist=False) for r, c in self.collection_names()]

    def _scan_registries(self, registry: str | None = None) -> set[tuple[str, str | None]]:
        """One LIST of ``registries/`` (or one registry): which logs exist."""
        root = layout.registry_prefix(registry) if registry else layout.REGISTRIES_ROOT
        found = (layout.registry_log_of_key(info.key) for info in self.store.list(root))
        return {f for f in found if f is not None}

    # -- runs and settings ---------------------------------------------------------------
    def run_log(self, run_id: str) -> EventLog:
        """A run's log; its events name that run as their actor."""
        return EventLog(self.store, self.db, layout.run_prefix(check_run_id(run_id)), run_id)

    def run_state(self, run_id: str, *, must_exist: bool = True) -> RunState:
        st = fold_run(run_id, self.run_log(run_id).read())
        if must_exist and not st.exists:
            raise NotFoundError(f"run {run_id!r} not found on {self.store.url}",
                                hint="a run appears once it starts (artcli run start) or records a version")
        return st

    def settings_log(self, project: str) -> EventLog:
        return EventLog(self.store, self.db, layout.settings_prefix(project), self.run_id)

    def default_ttl(self, project: str) -> int | None:
        """The project's default TTL in seconds (None: versions do not expire by default)."""
        return fold_default_ttl(self.settings_log(project).read())

    # -- manifests -----------------------------------------------------------------------
    def version_manifest(self, st: ArtifactState, vs: VersionState) -> Manifest:
        """The files of a version (its manifest digest comes from the fold, no second log read)."""
        if not vs.manifest:
            raise IntegrityError(f"{st.project}/{st.name}:v{vs.version} has no manifest in its log")
        return self.load_manifest(vs.manifest)

    def load_manifest(self, digest: str) -> Manifest:
        if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
            # it came from an event: never let it name a cache path or key outside manifests/
            raise IntegrityError(f"invalid manifest digest {str(digest)[:80]!r} in an event on {self.store.url}")
        data = self.cache.get_manifest(digest)
        if data is None:
            key = layout.manifest_key(digest)
            try:
                raw = self.store.get(key)
            except NotFoundError:
                raise IntegrityError(f"manifest {key} is missing from {self.store.url}") from None
            data = manifest.decompress(raw, key)
            result = manifest.decode(data, digest)
            self.cache.put_manifest(digest, data)
            return result
        return manifest.decode(data, digest)
