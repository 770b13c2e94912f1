"""Fold registry and collection event logs.

A registry is a shelf of collections; a collection is a log of links to artifact versions,
numbered on its own (v0, v1, ... in link order) with its own aliases. Like the artifact fold,
this is the one interpretation of those logs: unknown event types are ignored, malformed
events are skipped with a warning naming the object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from artcli import clock
from artcli.errors import NotFoundError
from artcli.model import Ref
from artcli.state.alias_book import AliasBook
from artcli.state.fold import Events, LogState, Skip, fold_into, usable

#: registries that exist on every remote without any object: name -> accepted artifact types
CORE_REGISTRIES: dict[str, list[str]] = {"models": ["model"], "datasets": ["dataset"]}
CORE_DESCRIPTIONS = {"models": "Core registry of models.", "datasets": "Core registry of datasets."}


def display_ref(registry: str, collection: str | None = None) -> str:
    """``registry/<registry>[/<collection>]`` as users type it."""
    return f"registry/{registry}" + (f"/{collection}" if collection else "")


@dataclass
class RegistryState(LogState):
    name: str
    accept_types: list[str] | None = None  # None: any type
    description: str | None = None
    core: bool = False
    created: str | None = None
    actor: dict[str, Any] | None = None

    @property
    def exists(self) -> bool:
        return self.core or self.created is not None

    def accepts(self, artifact_type: str | None) -> bool:
        return self.accept_types is None or artifact_type in self.accept_types

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ref": display_ref(self.name), "accept_types": self.accept_types,
                "description": self.description, "core": self.core, "created": self.created}


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
    def source(self) -> tuple[str, str, int]:
        return (self.project, self.name, self.source_version)

    @property
    def source_ref(self) -> str:
        return f"{self.project}/{self.name}:v{self.source_version}"

    def source_json(self) -> dict[str, Any]:
        return {"ref": self.source_ref, "project": self.project, "name": self.name,
                "version": f"v{self.source_version}", "digest": self.digest, "manifest": self.manifest,
                "type": self.artifact_type}


@dataclass
class CollectionState(AliasBook[Link]):
    registry: str
    name: str
    links: dict[int, Link] = field(default_factory=dict)

    def _numbered(self) -> dict[int, Link]:
        return self.links

    def _is_live(self, item: Link, now: datetime | None) -> bool:
        return item.live

    @property
    def ref(self) -> str:
        return display_ref(self.registry, self.name)

    def live_links(self) -> list[Link]:
        return self._live()

    def latest_live(self) -> Link | None:
        return self._latest_live()

    def by_source(self, project: str, name: str, version: int) -> Link | None:
        for lk in self.live_links():
            if lk.source == (project, name, version):
                return lk
        return None

    def next_version(self) -> int:
        """The number of the next link a writer creates (refuses when that is unsafe, §5.7)."""
        return self.next_number(f"collection version of {self.ref}")


#: the event types the collection fold interprets (docs/format.md §5.3)
COLLECTION_TYPES = frozenset({"linked", "unlinked", "alias_set", "alias_removed"})


def _link(st: CollectionState, ev: dict[str, Any], *, live: bool) -> Link:
    n = ev["version"]
    lk = st.links.get(n)
    if lk is None:
        raise Skip("unknown-version", f"{ev['type']} names collection version v{n}, which the log has not linked")
    if live and not lk.live:
        raise Skip("deleted-version", f"{ev['type']} names collection version v{n}, unlinked at {lk.unlinked}")
    return lk


def apply_collection(st: CollectionState, ev: dict[str, Any]) -> None:
    """Apply one collection event whose fields passed §5.6 (raises Skip for §5.7's cases)."""
    kind = ev["type"]
    if kind == "linked":
        n = ev["version"]
        top = next(reversed(st.links), -1)  # links are added in increasing order (O(1), not O(n))
        if n in st.links:
            raise Skip("version-duplicate", f"collection version v{n} was linked by an earlier event")
        if n < top:
            raise Skip("version-out-of-order", f"collection version v{n} is linked after v{top}")
        if n > top + 1:
            st.note("version-gap", f"collection version v{n} follows v{top}")
        src = ev["source"]
        st.links[n] = Link(n, src["project"], src["name"], src["version"], src["digest"], src["manifest"],
                           src.get("artifact_type"), clock.normal(ev["time"]), ev["seq"],
                           (ev.get("actor") or {}).get("run"))
        st.set_latest(n, ev)
        for alias in ev.get("aliases") or []:
            st.set_alias(alias, n, ev)
    elif kind == "unlinked":
        lk = _link(st, ev, live=True)
        lk.unlinked = clock.normal(ev["time"])
        st.remove_aliases_of(lk.version, ev)
    elif kind == "alias_set":
        st.set_alias(ev["alias"], _link(st, ev, live=True).version, ev)
    elif kind == "alias_removed":
        st.remove_alias(ev["alias"], ev)
    # unknown types: written by a newer artcli; ignored on purpose


def fold_collection(registry: str, name: str, events: Events) -> CollectionState:
    return fold_into(CollectionState(registry, name), events, apply_collection, COLLECTION_TYPES)


def fold_registry(name: str, events: Events) -> RegistryState:
    """A registry's settings: core registries are fixed; a custom one is its first valid
    ``registry_created`` (later ones are ignored)."""
    if name in CORE_REGISTRIES:
        return RegistryState(name, list(CORE_REGISTRIES[name]), CORE_DESCRIPTIONS[name], core=True)
    st = RegistryState(name)
    for _key, ev in usable(st, events, frozenset({"registry_created"})):
        if ev["type"] != "registry_created" or st.created is not None:
            continue
        types = ev.get("accept_types")
        st.accept_types = None if types is None else list(types)
        st.description = ev.get("description")
        st.created = clock.normal(ev["time"])
        st.actor = ev.get("actor")
    return st


def link_in(st: CollectionState, ref: Ref) -> Link:
    """The live link a registry reference's tag names (vN, alias, latest or a digest prefix)."""
    if ref.digest is not None:
        return st.by_digest_prefix(st.ref, ref.digest, lambda lk: lk.digest)
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
