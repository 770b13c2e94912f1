"""Registries and collections: ``registry create/ls/show``, ``link``, ``unlink``.

A link is an event in the collection's own log naming the source artifact version by
project, name, version and digests; the collection numbers its links itself. Every write
is one ``EventLog.append`` whose builder re-decides after a lost race, so concurrent
links into one collection all get distinct, consecutive collection versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artcli.aliasmoves import set_collection_aliases
from artcli.dryrun import dry_runnable
from artcli.errors import ConflictError, IntegrityError, NotFoundError, UsageError
from artcli.eventlog import Events
from artcli.links import claim_for_link, clear_ttl_for_link, unlink_version
from artcli.model import Ref, check_alias, check_name
from artcli.repo import Repo
from artcli.results import Previewable, RegistryInfo, Report, Result
from artcli.state.collection import CollectionState, Link, RegistryState, display_ref, fold_collection, fold_registry


# -- registries ----------------------------------------------------------------------------------
@dataclass
class RegistryResult(Result):
    registry: RegistryState
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {**self.registry.to_json(), "created_now": self.created}


def create_registry(repo: Repo, name: str, accept_types: list[str] | None = None,
                    description: str | None = None) -> RegistryResult:
    """Create a custom registry; re-creating one with the same accepted types is a no-op."""
    check_name(name, "registry")
    types = sorted({check_name(t, "type") for t in accept_types}) if accept_types else None
    repo.may_create = True  # the first write to a new local remote creates it
    existing = repo.registry_state(name, must_exist=False)
    if not existing.core:
        repo.check_format(for_write=True)

        def build(events: Events) -> dict[str, Any] | None:
            if fold_registry(name, events).exists:
                return None
            return {"type": "registry_created", "accept_types": types, "description": description}

        if repo.registry_log(name).append(build) is not None:
            return RegistryResult(repo.registry_state(name), True)
        existing = repo.registry_state(name)
    have = sorted(existing.accept_types) if existing.accept_types is not None else None
    if have != types:
        raise ConflictError(f"registry {name!r} already exists and accepts {_types_text(existing)}",
                            hint="registry settings are fixed once created; choose another name")
    notes = []
    if description is not None and description != existing.description:
        notes.append(f"registry {name!r} already exists; its description stays {existing.description!r}")
    return RegistryResult(existing, False, warnings=notes)


def _types_text(reg: RegistryState) -> str:
    return "any type" if reg.accept_types is None else "type " + ", ".join(reg.accept_types)


def list_registries(repo: Repo) -> list[RegistryInfo]:
    """Every registry (core ones included) with its settings and number of collections."""
    counts: dict[str, int] = {}
    for reg, _ in repo.collection_names():
        counts[reg] = counts.get(reg, 0) + 1
    out = []
    for name in repo.registry_names():
        st = repo.registry_state(name, must_exist=False)
        if st.exists:
            out.append(RegistryInfo(**st.to_json(), collections=counts.get(name, 0)))
    return out


def show_registry(repo: Repo, name: str) -> Report:
    """A registry's settings and each of its collections (live versions, latest, aliases)."""
    check_name(name, "registry")
    reg = repo.registry_state(name)
    rows = []
    for _, coll in repo.collection_names(name):
        cs = repo.collection_state(name, coll, must_exist=False)
        rows.append(collection_summary(cs))
    return Report({**reg.to_json(), "collections": rows}, warnings=list(reg.warnings))


def collection_summary(cs: CollectionState) -> dict[str, Any]:
    latest = cs.latest_live()
    return {"name": cs.name, "ref": cs.ref, "versions": len(cs.live_links()),
            "latest": f"v{latest.version}" if latest else None,
            "source": latest.source_ref if latest else None,
            "aliases": {a: f"v{v}" for a, v in sorted(cs.aliases.items())},
            "updated": max((lk.created for lk in cs.links.values()), default=None),
            "links": [{"version": f"v{lk.version}", "source": lk.source_ref, "linked": lk.created,
                       "aliases": cs.aliases_of(lk.version)} for lk in cs.live_links()]}


@dataclass
class CollectionListing(Result):
    """``ls registry/<registry>/<collection>``: the collection's live versions, each with the
    artifact version it links (its source)."""

    collection: CollectionState
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return self.rows


def list_collection(repo: Repo, ref: Ref) -> CollectionListing:
    """A collection's live versions in number order, each with its source version (``ls``)."""
    if ref.registry is None:
        raise UsageError(f"{ref} is not a registry reference (registry/<registry>/<collection>)")
    if ref.tagged:
        raise UsageError(f"ls lists a whole collection: drop the tag of {ref}",
                         hint=f"to see one version: artcli show {ref}")
    cs = repo.collection_state(ref.registry, ref.name)
    rows = [{"ref": f"{cs.ref}:v{lk.version}", "registry": cs.registry, "collection": cs.name,
             "version": f"v{lk.version}", "aliases": cs.aliases_of(lk.version), "source": lk.source_ref,
             "digest": lk.digest, "manifest": lk.manifest, "type": lk.artifact_type, "linked": lk.created}
            for lk in cs.live_links()]
    return CollectionListing(cs, rows, warnings=list(cs.warnings))


# -- link / unlink ---------------------------------------------------------------------------------
@dataclass
class LinkResult(Previewable):
    registry: str
    collection: str
    link: Link
    created: bool
    aliases: list[str] = field(default_factory=list)
    ttl_cleared: bool = False  # the source version had a TTL: a linked version never expires

    @property
    def ref(self) -> str:
        return f"{display_ref(self.registry, self.collection)}:v{self.link.version}"

    def to_json(self) -> dict[str, Any]:
        return self.with_preview({
            "ref": self.ref, "registry": self.registry, "collection": self.collection,
            "version": f"v{self.link.version}", "created": self.created, "aliases": self.aliases,
            "source": self.link.source_json(), "linked": self.link.created, "ttl_cleared": self.ttl_cleared})


def _collection_target(target: Ref, *, tagged: bool) -> None:
    if target.registry is None:
        raise UsageError(f"{target} is not a registry collection",
                         hint="use registry/<registry>/<collection>, e.g. registry/models/churn")
    if tagged and target.version is None:
        raise UsageError(f"name the collection version to unlink: {target.qualified}:v<N>")
    if not tagged and target.tagged:
        raise UsageError(f"link into a collection, not a version of it: {target.qualified}",
                         hint="collection versions are numbered by the link; use --alias to name it")


@dry_runnable
def link(repo: Repo, source: Ref, target: Ref, aliases: list[str] | None = None) -> LinkResult:
    """Link the version ``source`` names into the collection ``target``.

    The collection is created by its first link. Linking a source version the collection
    already holds writes nothing new but moves the requested aliases to it.
    """
    _collection_target(target, tagged=False)
    assert target.registry is not None
    registry, coll = target.registry, target.name
    wanted = [check_alias(a) for a in dict.fromkeys(aliases or [])]
    st, vs = repo.resolve(source)
    reg = repo.registry_state(registry)
    if not reg.accepts(st.type):
        raise ConflictError(
            f"registry {registry!r} accepts {_types_text(reg)}; {st.project}/{st.name} is of type {st.type!r}",
            hint=f"link it into a registry that accepts {st.type!r} (artcli registry ls)")
    if not vs.manifest:
        raise IntegrityError(f"{st.project}/{st.name}:v{vs.version} has no manifest in its log")
    mdigest = vs.manifest
    repo.check_format(for_write=True)
    log = repo.collection_log(registry, coll)
    src = {"project": st.project, "name": st.name, "version": vs.version, "digest": vs.digest,
           "manifest": mdigest, "artifact_type": st.type}

    # first a claim in the artifact's own log, ordered there against any `version_deleted`:
    # a plain delete after it refuses, a delete before it makes this link refuse (docs/format.md §5.3)
    linked_now = fold_collection(registry, coll, log.read()).by_source(st.project, st.name, vs.version)
    claim = None if linked_now is not None else claim_for_link(repo, st.project, st.name, vs.version, registry, coll)

    def build(events: Events) -> dict[str, Any] | None:
        cur = fold_collection(registry, coll, events)
        if cur.by_source(st.project, st.name, vs.version) is not None:
            return None
        ev: dict[str, Any] = {"type": "linked", "version": cur.next_version(), "source": src, "aliases": wanted}
        if claim is not None:
            claim.check_fresh()
            ev["claim"] = claim.seq
        return ev

    ev = log.append(build)
    repo.forget_links()
    # a linked version never expires: clear its TTL after the link (ops/ttl.py closes the race
    # with a concurrent `ttl set` from its side); also after a no-op link, to heal an interrupted one
    cleared = clear_ttl_for_link(repo, st.project, st.name, vs.version)
    _undo_if_deleted(repo, st.project, st.name, vs.version, registry, coll)
    cs = repo.collection_state(registry, coll)
    if ev is not None:
        lk = cs.links[int(ev["version"])]
        return LinkResult(registry, coll, lk, True, cs.aliases_of(lk.version), cleared)
    found = cs.by_source(st.project, st.name, vs.version)
    assert found is not None
    if wanted:
        set_collection_aliases(repo, registry, coll, found.version, wanted)
        cs = repo.collection_state(registry, coll)
    return LinkResult(registry, coll, found, False, cs.aliases_of(found.version), cleared)


def _undo_if_deleted(repo: Repo, project: str, name: str, version: int, registry: str, coll: str) -> None:
    """A ``delete --force`` (which ignores claims) may have deleted the source meanwhile: then
    take the link back and fail, so no live link names a deleted version."""
    now = repo.artifact_state(project, name, must_exist=False).versions.get(version)
    if now is not None and not now.deleted:
        return
    cs = repo.collection_state(registry, coll, must_exist=False)
    found = cs.by_source(project, name, version)
    if found is not None and found.live:
        unlink_version(repo, registry, coll, found.version)
    raise NotFoundError(f"{project}/{name}:v{version} was deleted while it was being linked; not linked")


@dataclass
class UnlinkResult(Result):
    ref: str
    link: Link
    removed: bool
    aliases: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "version": f"v{self.link.version}", "unlinked_now": self.removed,
                "removed_aliases": self.aliases, "source": self.link.source_json()}


def unlink(repo: Repo, target: Ref) -> UnlinkResult:
    """Remove one collection version (its aliases go with it); the source artifact is untouched.

    Unlinking a version already unlinked is a no-op, so scripts can re-run it.
    """
    _collection_target(target, tagged=True)
    assert target.registry is not None and target.version is not None
    registry, coll, n = target.registry, target.name, target.version
    cs = repo.collection_state(registry, coll)
    if n not in cs.links:
        have = ", ".join(f"v{x.version}" for x in cs.live_links()[-5:]) or "none"
        raise NotFoundError(f"{cs.ref} has no version v{n}", hint=f"versions: {have}")
    repo.check_format(for_write=True)
    written, dropped = unlink_version(repo, registry, coll, n)
    cs = repo.collection_state(registry, coll, must_exist=False)
    return UnlinkResult(f"{cs.ref}:v{n}", cs.links[n], written, dropped)
