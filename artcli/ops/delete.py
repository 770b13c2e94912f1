"""``delete``: remove one version; it stops resolving at once and ``gc`` frees its bytes later."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artcli.components import composites_of
from artcli.dryrun import dry_runnable
from artcli.errors import ConflictError, UsageError
from artcli.eventlog import Events
from artcli.links import claim_holders, links_by_version, unlink_version
from artcli.model import Ref, parse_ref
from artcli.repo import Repo
from artcli.results import Previewable
from artcli.state.artifact import fold

DELETED_REASON = "deleted"


@dataclass
class DeleteResult(Previewable):
    ref: str
    deleted: bool  # False: it was deleted by someone else meanwhile
    removed_aliases: list[str]
    unlinked: list[str]

    def to_json(self) -> dict[str, Any]:
        return self.with_preview({"ref": self.ref, "deleted": self.deleted,
                                  "removed_aliases": self.removed_aliases, "unlinked": self.unlinked})


@dry_runnable
def delete_version(repo: Repo, ref: Ref, *, force: bool = False) -> DeleteResult:
    """Delete one version: it stops resolving at once and gc frees its bytes later.

    A version that holds a custom alias or a registry link is kept unless ``force``; with
    ``force`` its links are removed first (so an interruption never leaves a link to a
    deleted version) and its aliases go with the ``version_deleted`` event. A version a live
    composite holds as a component (``log --component``) is always kept: delete the composite
    first. ``dry_run``: write nothing; ``would_write`` lists the events.
    """
    if ref.registry is not None:
        raise UsageError(f"{ref} is a registry reference: delete removes artifact versions",
                         hint=f"to take it out of the registry: artcli unlink {ref}")
    st, vs = repo.resolve(ref)
    project, name, n = st.project, st.name, vs.version
    aliases = sorted(a for a, v in st.aliases.items() if v == n)
    links = links_by_version(repo).get((project, name, n), [])
    _refuse_held(f"{project}/{name}:v{n}", aliases, links, force)
    _refuse_components(repo, project, name, {n})
    repo.check_format(for_write=True)
    return _delete_one(repo, project, name, n, links, force)


def _refuse_held(where: str, aliases: list[str], links: list[str], force: bool) -> None:
    if not force and (aliases or links):
        held = ([f"alias(es) {', '.join(aliases)}"] if aliases else []) + ([f"link(s) {', '.join(links)}"] if links else [])
        raise ConflictError(f"{where} holds {' and '.join(held)}; not deleted",
                            hint="move the aliases / unlink it first, or pass --force to delete it anyway")


def _refuse_components(repo: Repo, project: str, name: str, versions: set[int]) -> None:
    """A live composite holding one of ``versions`` as a component keeps it (exit 5)."""
    users = composites_of(repo, project, name, versions)
    if users:
        which = ", ".join(f"v{n} (in {', '.join(u)})" for n, u in sorted(users.items()))
        raise ConflictError(f"{project}/{name} {which}: a live composite version holds it as a component; not deleted",
                            hint="delete the composite version(s) first")


def _delete_one(repo: Repo, project: str, name: str, n: int, links: list[str], force: bool) -> DeleteResult:
    where = f"{project}/{name}:v{n}"
    for text in links:
        target = parse_ref(text, project)
        assert target.registry is not None and target.version is not None
        unlink_version(repo, target.registry, target.name, target.version)
    removed: list[str] = []

    def build(events: Events) -> dict[str, Any] | None:
        cur = fold(project, name, events)
        cvs = cur.versions.get(n)
        if cvs is None or cvs.deleted:
            return None
        held = sorted(a for a, v in cur.aliases.items() if v == n)
        if held and not force:  # an alias arrived since we looked
            raise ConflictError(f"{where} now holds alias(es) {', '.join(held)}; not deleted",
                                hint="pass --force to delete it anyway")
        linking = [] if force else claim_holders(repo, events, project, name, n)
        if linking:  # a link claimed it first (in this log's order): the link wins
            raise ConflictError(f"{where} is linked ({', '.join(linking)}); not deleted",
                                hint="unlink it first, or pass --force to delete it anyway")
        removed[:] = held
        return {"type": "version_deleted", "version": n, "reason": DELETED_REASON}

    ev = repo.artifact_log(project, name).append(build)
    return DeleteResult(where, ev is not None, removed, links)


@dataclass
class DeleteArtifactResult(Previewable):
    artifact: str
    deleted: list[str]  # the versions this command deleted, in number order
    removed_aliases: list[str]
    unlinked: list[str]

    def to_json(self) -> dict[str, Any]:
        return self.with_preview({"artifact": self.artifact, "deleted": self.deleted,
                                  "removed_aliases": self.removed_aliases, "unlinked": self.unlinked})


@dry_runnable
def delete_artifact(repo: Repo, ref: Ref, *, force: bool = False) -> DeleteArtifactResult:
    """Delete every live version of an artifact, with ``delete``'s protections checked for all
    of them before anything is written: custom aliases and registry links refuse (unless
    ``force``), a version a live composite holds always does. ``dry_run``: write nothing;
    ``would_write`` lists the unlinks and deletions in the order a real run writes them.

    One ``version_deleted`` per version, as ``delete`` writes (readers of every revision
    understand them); an interruption leaves some deleted, and running it again finishes.
    A version logged meanwhile by someone else is not deleted.
    """
    if ref.registry is not None:
        raise UsageError(f"{ref} is a registry reference: delete removes artifact versions")
    if ref.tagged:
        raise UsageError(f"--all deletes a whole artifact: give {ref.qualified}, not a version")
    st = repo.artifact_state(ref.project, ref.name)
    project, name = st.project, st.name
    live = [v.version for v in st.live_versions()]
    by_version = links_by_version(repo)
    aliases = sorted(a for a, v in st.aliases.items() if v in live)
    links = [t for n in live for t in by_version.get((project, name, n), [])]
    _refuse_held(f"{project}/{name}", aliases, links, force)
    _refuse_components(repo, project, name, set(live))
    repo.check_format(for_write=True)
    out = DeleteArtifactResult(f"{project}/{name}", [], [], [], warnings=list(st.warnings))
    for n in live:
        res = _delete_one(repo, project, name, n, by_version.get((project, name, n), []), force)
        if res.deleted:
            out.deleted.append(res.ref)
        out.removed_aliases.extend(res.removed_aliases)
        out.unlinked.extend(res.unlinked)
    return out
