"""Fold registry and collection event logs, and resolve registry references.

A registry is a shelf of collections; a collection is a log of links to artifact versions,
numbered on its own (v0, v1, ... in link order) with its own aliases. Like state.py for
artifacts, this module is the one interpretation of those logs: unknown event types are
ignored, malformed events are skipped with a warning naming the object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artcli import layout
from artcli.errors import IntegrityError, NotFoundError
from artcli.eventlog import EventLog, Events
from artcli.model import Ref
from artcli.state import fold_into

if TYPE_CHECKING:
    from artcli.repo import Repo
    from artcli.state import ArtifactState, VersionState

#: registries that exist on every remote without any object: name -> accepted artifact types
CORE_REGISTRIES: dict[str, list[str]] = {"models": ["model"], "datasets": ["dataset"]}
CORE_DESCRIPTIONS = {"models": "Core registry of models.", "datasets": "Core registry of datasets."}


@dataclass
class RegistryState:
    name: str
    accept_types: list[str] | None = None  # None: any type
    description: str | None = None
    core: bool = False
    created: str | None = None
    actor: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.core or self.created is not None

    def accepts(self, artifact_type: str | None) -> bool:
        return self.accept_types is None or artifact_type in self.accept_types

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ref": display_ref(self.name), "accept_types": self.accept_types,
                "description": self.description, "core": self.core, "created": self.created}


def display_ref(registry: str, collection: str | None = None) -> str:
    """``registry/<registry>[/<collection>]`` as users type it."""
    return f"registry/{registry}" + (f"/{collection}" if collection else "")


@dataclass
class Link:
    """One collection version: a pointer to one artifact version."""

    version: int
    project: str
    name: str
    source_version: int
    digest: str
    manifest: str
    artifact_type: str | None
    created: str
    seq: int
    run: str | None = None
    unlinked: str | None = None

    @property
    def live(self) -> bool:
        return self.unlinked is None

    @property
    def source_ref(self) -> str:
        return f"{self.project}/{self.name}:v{self.source_version}"

    def source_json(self) -> dict[str, Any]:
        return {"ref": self.source_ref, "project": self.project, "name": self.name,
                "version": f"v{self.source_version}", "digest": self.digest, "manifest": self.manifest,
                "type": self.artifact_type}


@dataclass
class CollectionState:
    registry: str
    name: str
    links: dict[int, Link] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)  # custom aliases only
    latest: int | None = None
    alias_history: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = -1
    warnings: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return display_ref(self.registry, self.name)

    def live_links(self) -> list[Link]:
        return [lk for _, lk in sorted(self.links.items()) if lk.live]

    def latest_live(self) -> Link | None:
        if self.latest is not None and self.links[self.latest].live:
            return self.links[self.latest]
        live = self.live_links()
        return live[-1] if live else None

    def by_source(self, project: str, name: str, version: int) -> Link | None:
        for lk in self.live_links():
            if (lk.project, lk.name, lk.source_version) == (project, name, version):
                return lk
        return None

    def next_version(self) -> int:
        return max(self.links, default=-1) + 1

    def aliases_of(self, version: int) -> list[str]:
        out = sorted(a for a, v in self.aliases.items() if v == version)
        latest = self.latest_live()
        if latest is not None and latest.version == version:
            out.insert(0, "latest")
        return out


def _history(st: CollectionState, alias: str, previous: int | None, to: int | None, ev: dict[str, Any]) -> None:
    st.alias_history.append({"alias": alias, "from": previous, "to": to, "time": ev.get("time"),
                             "seq": ev.get("seq"), "actor": ev.get("actor")})


def _set_alias(st: CollectionState, alias: str, version: int, ev: dict[str, Any]) -> None:
    previous = st.aliases.get(alias)
    if previous != version:
        st.aliases[alias] = version
        _history(st, alias, previous, version, ev)


def _remove_alias(st: CollectionState, alias: str, ev: dict[str, Any]) -> None:
    previous = st.aliases.pop(alias, None)
    if previous is not None:
        _history(st, alias, previous, None, ev)


def apply_collection(st: CollectionState, ev: dict[str, Any]) -> None:
    """Apply one collection event (raises KeyError/TypeError/ValueError on malformed ones)."""
    kind = ev["type"]
    if kind == "linked":
        n = int(ev["version"])
        if n in st.links:
            raise ValueError(f"collection version v{n} linked twice")
        src = ev["source"]
        st.links[n] = Link(n, str(src["project"]), str(src["name"]), int(src["version"]), str(src["digest"]),
                           str(src["manifest"]), src.get("artifact_type"), str(ev["time"]), int(ev["seq"]),
                           (ev.get("actor") or {}).get("run"))
        st.latest = n
        for alias in ev.get("aliases") or []:
            _set_alias(st, str(alias), n, ev)
    elif kind == "unlinked":
        lk = st.links[int(ev["version"])]
        lk.unlinked = str(ev["time"])
        for alias in [a for a, v in st.aliases.items() if v == lk.version]:
            _remove_alias(st, alias, ev)
    elif kind == "alias_set":
        n = int(ev["version"])
        if n not in st.links or not st.links[n].live:
            raise ValueError(f"alias on unknown or unlinked collection version v{n}")
        _set_alias(st, str(ev["alias"]), n, ev)
    elif kind == "alias_removed":
        _remove_alias(st, str(ev["alias"]), ev)
    # unknown types: written by a newer artcli; ignored on purpose


def fold_collection(registry: str, name: str, events: Events) -> CollectionState:
    return fold_into(CollectionState(registry, name), events, apply_collection)


def fold_registry(name: str, events: Events) -> RegistryState:
    """A registry's settings: core registries are fixed; a custom one is its first ``registry_created``."""
    if name in CORE_REGISTRIES:
        return RegistryState(name, list(CORE_REGISTRIES[name]), CORE_DESCRIPTIONS[name], core=True)
    st = RegistryState(name)
    for key, ev in events:
        if ev is None:
            st.warnings.append(f"skipped corrupt event {key}")
            continue
        if ev.get("type") != "registry_created" or st.created is not None:
            continue
        types = ev.get("accept_types")
        if types is not None and not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
            st.warnings.append(f"skipped invalid event {key}: accept_types is not a list of names")
            continue
        st.accept_types = None if types is None else list(types)
        st.description = ev.get("description")
        st.created = ev.get("time")
        st.actor = ev.get("actor")
    return st


# -- logs ----------------------------------------------------------------------------------------
def registry_log(repo: Repo, registry: str) -> EventLog:
    return EventLog(repo.store, repo.db, layout.registry_prefix(registry), repo.run_id)


def collection_log(repo: Repo, registry: str, collection: str) -> EventLog:
    return EventLog(repo.store, repo.db, layout.collection_prefix(registry, collection), repo.run_id)


def registry_state(repo: Repo, registry: str, *, must_exist: bool = True) -> RegistryState:
    st = fold_registry(registry, [] if registry in CORE_REGISTRIES else registry_log(repo, registry).read())
    if must_exist and not st.exists:
        raise NotFoundError(f"registry {registry!r} not found on {repo.store.url}",
                            hint=f"create it: artcli registry create {registry} --accept-type <type>")
    return st


def collection_state(repo: Repo, registry: str, collection: str, *, must_exist: bool = True) -> CollectionState:
    st = fold_collection(registry, collection, collection_log(repo, registry, collection).read())
    if must_exist and not st.links:
        registry_state(repo, registry)  # an unknown registry is the better message
        raise NotFoundError(f"collection {st.ref} not found on {repo.store.url}",
                            hint=f"link a version into it: artcli link <ref> {st.ref}")
    return st


def link_in(st: CollectionState, ref: Ref) -> Link:
    """The live link a registry reference's tag names (vN, alias or latest)."""
    if ref.version is not None:
        lk = st.links.get(ref.version)
        if lk is None:
            have = ", ".join(f"v{x.version}" for x in st.live_links()[-5:]) or "none"
            raise NotFoundError(f"{st.ref} has no version v{ref.version}", hint=f"versions: {have}")
        if not lk.live:
            raise NotFoundError(f"{st.ref}:v{lk.version} was unlinked at {lk.unlinked}")
        return lk
    if ref.alias in (None, "latest"):
        latest = st.latest_live()
        if latest is None:
            raise NotFoundError(f"{st.ref} has no linked version (all unlinked)")
        return latest
    n = st.aliases.get(ref.alias)
    if n is None:
        known = ", ".join(sorted(st.aliases)) or "none"
        raise NotFoundError(f"unknown alias {ref.alias!r}; aliases of {st.ref}: {known}")
    return st.links[n]


def resolve_registry_ref(repo: Repo, ref: Ref) -> tuple[ArtifactState, VersionState]:
    """The SOURCE artifact version a registry reference points to, so every command that
    resolves references (download, show, files, metadata, ...) works on it unchanged."""
    from artcli.repo import resolve_in

    assert ref.registry is not None
    coll = collection_state(repo, ref.registry, ref.name)
    lk = link_in(coll, ref)
    where = f"{coll.ref}:v{lk.version}"
    try:
        st = repo.artifact_state(lk.project, lk.name)
        vs = resolve_in(st, Ref(lk.project, lk.name, lk.source_version))
    except NotFoundError as exc:
        raise NotFoundError(f"{where} links {lk.source_ref}: {exc}",
                            hint=f"unlink it: artcli unlink {where}") from None
    if vs.digest != lk.digest:  # versions are immutable: only a damaged log gets here
        raise IntegrityError(f"{where} links {lk.source_ref} with digest {lk.digest[:12]}…, "
                             f"but that version holds {vs.digest[:12]}…")
    return st, vs


def registry_names(repo: Repo) -> list[str]:
    """Core registries plus every registry with a settings log or a collection on the remote."""
    return sorted(set(CORE_REGISTRIES) | {r for r, _ in _scan(repo)})


def collection_names(repo: Repo, registry: str | None = None) -> list[tuple[str, str]]:
    """(registry, collection) for every collection with a log, optionally of one registry."""
    return sorted({(r, c) for r, c in _scan(repo, registry) if c is not None})


def _scan(repo: Repo, registry: str | None = None) -> set[tuple[str, str | None]]:
    """One LIST of ``registries/`` (or one registry): which logs exist."""
    root = layout.registry_prefix(registry) if registry else "registries/"
    found: set[tuple[str, str | None]] = set()
    for info in repo.store.list(root):
        parts = info.key.split("/")  # registries/<r>/events/<seq> or registries/<r>/collections/<c>/events/<seq>
        if len(parts) == 4 and parts[2] == "events":
            found.add((parts[1], None))
        elif len(parts) == 6 and parts[2] == "collections" and parts[4] == "events":
            found.add((parts[1], parts[3]))
    return found
