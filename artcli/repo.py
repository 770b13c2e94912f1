"""A Repo ties together the settings, the remote Store, the local cache and the event logs.

Commands build one Repo and pass it to ops functions; nothing else opens stores.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from artcli import canonical, layout, manifest
from artcli.cache import Cache
from artcli.config import Settings, cache_dir, resolve
from artcli.errors import IntegrityError, NotFoundError, RemoteError
from artcli.eventlog import EventLog
from artcli.model import DIGEST_RE, Manifest, Ref
from artcli.runs import current_run_id
from artcli.state import ArtifactState, VersionState, fold

if TYPE_CHECKING:
    from artcli.store.base import Store


def marker_format(raw: bytes, url: str) -> int:
    """The format number in a remote's marker; IntegrityError (exit 4, naming the marker) for
    anything but ``{"format": <int >= 1>, "hash": "blake3", ...}``."""
    where = f"{layout.MARKER_KEY} on {url}"
    try:
        marker = canonical.loads(raw)
    except ValueError:
        raise IntegrityError(f"{where} is not valid JSON") from None
    if not isinstance(marker, dict):
        raise IntegrityError(f"{where} is not a format marker (a JSON object is expected)")
    if marker.get("hash") != layout.HASH:
        raise IntegrityError(f"{url} is not an artcli store with hash {layout.HASH} ({where} says "
                             f"{str(marker.get('hash'))[:40]!r})")
    fmt = marker.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise IntegrityError(f"{where} names no valid format (a whole number from 1 is expected)")
    return fmt


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
                raw: bytes | None = self.store.get(layout.MARKER_KEY)
            except NotFoundError:
                raw = None
            if raw is None:
                if not for_write:
                    return
                if not self.store.atomic_create:
                    raise RemoteError(f"{self.store.url} cannot create objects exclusively; "
                                      "concurrent writers would be unsafe")
                mine = canonical.dumps({"format": layout.FORMAT, "hash": layout.HASH})
                if not self.store.put_if_absent(layout.MARKER_KEY, mine):  # another stamped it first
                    raw = self.store.get(layout.MARKER_KEY)
            fmt = layout.FORMAT if raw is None else marker_format(raw, self.store.url)
            if fmt > layout.FORMAT:
                raise RemoteError(f"{self.store.url} uses store format {fmt}; this artcli reads up to "
                                  f"format {layout.FORMAT}: upgrade artcli")
            self._format_checked = True

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
        "ref": f"{st.project}/{st.name}:v{vs.version}", "digest": vs.digest, "size": vs.size,
        "files": vs.files, "created": vs.created, "aliases": st.aliases_of(vs.version),
        "description": vs.description, "run": vs.run, "expires": vs.expires,
        "metadata": {k: v.get("value") for k, v in vs.metadata.items()},
    }
