"""``delete``: remove one version; it stops resolving at once and ``gc`` frees its bytes later."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artcli.errors import ConflictError, UsageError
from artcli.eventlog import Events
from artcli.links import claim_holders, links_by_version, unlink_version
from artcli.model import Ref, parse_ref
from artcli.repo import Repo
from artcli.results import Result
from artcli.state.artifact import fold

DELETED_REASON = "deleted"


@dataclass
class DeleteResult(Result):
    ref: str
    deleted: bool  # False: it was deleted by someone else meanwhile
    removed_aliases: list[str]
    unlinked: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "deleted": self.deleted, "removed_aliases": self.removed_aliases,
                "unlinked": self.unlinked}


def delete_version(repo: Repo, ref: Ref, *, force: bool = False) -> DeleteResult:
    """Delete one version: it stops resolving at once and gc frees its bytes later.

    A version that holds a custom alias or a registry link is kept unless ``force``; with
    ``force`` its links are removed first (so an interruption never leaves a link to a
    deleted version) and its aliases go with the ``version_deleted`` event.
    """
    if ref.registry is not None:
        raise UsageError(f"{ref} is a registry reference: delete removes artifact versions",
                         hint=f"to take it out of the registry: artcli unlink {ref}")
    st, vs = repo.resolve(ref)
    project, name, n = st.project, st.name, vs.version
    where = f"{project}/{name}:v{n}"
    aliases = sorted(a for a, v in st.aliases.items() if v == n)
    links = links_by_version(repo).get((project, name, n), [])
    if not force and (aliases or links):
        held = ([f"alias(es) {', '.join(aliases)}"] if aliases else []) + ([f"link(s) {', '.join(links)}"] if links else [])
        raise ConflictError(f"{where} holds {' and '.join(held)}; not deleted",
                            hint="move the aliases / unlink it first, or pass --force to delete it anyway")
    repo.check_format(for_write=True)
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
