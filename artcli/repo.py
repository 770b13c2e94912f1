"""A Repo ties together the settings, the remote Store, the local cache and the event logs.

Commands build one Repo and pass it to ops functions; nothing else opens stores.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from artcli import layout, manifest, marker
from artcli.cache import Cache
from artcli.config import Settings, cache_dir, resolve
from artcli.errors import IntegrityError, NotFoundError, RemoteError
from artcli.eventlog import EventLog
from artcli.model import DIGEST_RE, Manifest, Ref
from artcli.runs import current_run_id
from artcli.state import ArtifactState, VersionState, fold

if TYPE_CHECKING:
    from artcli.store.base import Store


class Repo:
    def __init__(self, settings: Settings, run_id: str | None = None) -> None:
        self.settings = settings
        self.project = settings.project
        self.run_id = run_id
        self.cache = Cache(cache_dir())
        self.check_marker = True
        self._marker: marker.Marker | None = None
        self._lock = threading.RLock()

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
                if self.check_marker:
                    try:
                        self._marker = marker.require(opened)
                    except BaseException:
                        opened.close()
                        raise
                self.__dict__["_store"] = opened
            return self.__dict__["_store"]

    @property
    def db(self):
        return self.cache.db

    def close(self) -> None:
        if "_store" in self.__dict__:
            self.__dict__.pop("_store").close()
        self.cache.close()

    # -- format marker -------------------------------------------------------------------
    def check_format(self, for_write: bool = False) -> None:
        """Before a write: stamp an empty remote with the marker (reads were checked when the
        store opened). Refuses a store that cannot create objects exclusively."""
        store = self.store
        if not for_write:
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
        return EventLog(self.store, self.db, layout.artifact_prefix(project, name), self.run_id)

    def artifact_state(self, project: str, name: str, *, must_exist: bool = True) -> ArtifactState:
        st = fold(project, name, self.artifact_log(project, name).read())
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
        root = layout.artifacts_root(project)
        names = set()
        for info in self.store.list(root):
            rest = info.key[len(root):]
            if "/events/" in rest:
                names.add(rest.split("/", 1)[0])
        return sorted(names)

    def resolve(self, ref: Ref) -> tuple[ArtifactState, VersionState]:
        """The live version a reference names, with a message that says why when it cannot.

        A registry reference resolves to the artifact version its collection links to.
        """
        if ref.registry is not None:
            from artcli.registry import resolve_registry_ref

            return resolve_registry_ref(self, ref)
        st = self.artifact_state(ref.project, ref.name)
        return st, resolve_in(st, ref)

    def version_manifest(self, st: ArtifactState, vs: VersionState) -> Manifest:
        """The files of a version, checked against what its event says (docs/format.md §5.8:
        content digest, size, file count) before anyone uses them."""
        if not vs.manifest:
            raise IntegrityError(f"{st.project}/{st.name}:v{vs.version} has no manifest in its log")
        man = self.load_manifest(vs.manifest)
        check_against_event(f"{st.project}/{st.name}:v{vs.version}", vs, man)
        return man

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
                raise IntegrityError(f"manifest {key} is missing from {self.store.url}",
                                     kind="manifest-missing") from None
            data = manifest.decompress(raw, key)
            result = manifest.decode(data, digest)
            self.cache.put_manifest(digest, data)
            return result
        return manifest.decode(data, digest)


def check_against_event(where: str, vs: VersionState, man: Manifest) -> None:
    """§5.8: the manifest must hold what the version's event claims."""
    for what, claimed, actual in (("content digest", vs.digest, man.content_digest),
                                  ("size", vs.size, man.size), ("file count", vs.files, len(man.entries))):
        if claimed != actual:
            raise IntegrityError(f"{where}: its event claims {what} {claimed}, but its manifest {vs.manifest} "
                                 f"holds {actual}", kind="event-manifest-mismatch")


def resolve_in(st: ArtifactState, ref: Ref) -> VersionState:
    where = f"{st.project}/{st.name}"
    if ref.version is not None:
        vs = st.versions.get(ref.version)
        if vs is None:
            have = ", ".join(f"v{v.version}" for v in st.live_versions()[-5:]) or "none live"
            raise NotFoundError(f"{where} has no version v{ref.version}", hint=f"versions: {have}")
        _check_live(where, vs)
        return vs
    if ref.alias in (None, "latest"):
        vs2 = st.latest_live()
        if vs2 is None:
            last = max(st.versions.values(), key=lambda v: v.version)
            why = f"deleted at {last.deleted}" if last.deleted else f"expired at {last.expires}"
            raise NotFoundError(f"{where} has no live version (all deleted or expired; "
                                f"the newest, v{last.version}, was {why})")
        return vs2
    assert ref.alias is not None
    n = st.aliases.get(ref.alias)
    if n is None:
        known = ", ".join(sorted(st.aliases)) or "none"
        raise NotFoundError(f"unknown alias {ref.alias!r}; aliases of {st.name}: {known}")
    vs3 = st.versions[n]
    _check_live(where, vs3)
    return vs3


def _check_live(where: str, vs: VersionState) -> None:
    if vs.deleted:
        raise NotFoundError(f"{where}:v{vs.version} was deleted at {vs.deleted}")
    if vs.expired():
        raise NotFoundError(f"{where}:v{vs.version} expired at {vs.expires}")


def version_summary(st: ArtifactState, vs: VersionState) -> dict[str, Any]:
    """The JSON shape of one version, shared by show/ls/log."""
    return {
        "project": st.project, "name": st.name, "type": st.type, "version": f"v{vs.version}",
        "ref": f"{st.project}/{st.name}:v{vs.version}", "digest": vs.digest, "manifest": vs.manifest,
        "size": vs.size,
        "files": vs.files, "created": vs.created, "aliases": st.aliases_of(vs.version),
        "description": vs.description, "run": vs.run, "expires": vs.expires,
        "metadata": {k: v.get("value") for k, v in vs.metadata.items()},
    }
