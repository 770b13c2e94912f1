"""Registry links as the rest of artcli needs them: which artifact versions are linked (gc,
ttl, delete, lineage), the rule that a linked version never expires, and unlinking.

A version linked into a registry does not expire while it is linked (as on W&B): linking
clears its TTL (:func:`clear_ttl_for_link`), setting one on it is refused, and gc never
expires or collects it (docs/retention.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artcli.eventlog import Events
from artcli.state.artifact import fold
from artcli.state.collection import display_ref, fold_collection

if TYPE_CHECKING:
    from artcli.repo import Repo

LINKED_REASON = "linked"


@dataclass(frozen=True)
class LiveLink:
    """One live collection version and the artifact version it links."""

    registry: str
    collection: str
    version: int
    project: str
    name: str
    source_version: int

    @property
    def ref(self) -> str:
        return f"{display_ref(self.registry, self.collection)}:v{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "registry": self.registry, "collection": self.collection,
                "version": f"v{self.version}", "source": f"{self.project}/{self.name}:v{self.source_version}"}


def live_links(repo: Repo) -> list[LiveLink]:
    """Every live link across all registries (one LIST of ``registries/`` + one per collection)."""
    return [LiveLink(cs.registry, cs.name, lk.version, lk.project, lk.name, lk.source_version)
            for cs in repo.collections() for lk in cs.live_links()]


def links_by_version(repo: Repo) -> dict[tuple[str, str, int], list[str]]:
    """(project, name, version) -> the registry references that link it (live links only)."""
    out: dict[tuple[str, str, int], list[str]] = {}
    for lk in live_links(repo):
        out.setdefault((lk.project, lk.name, lk.source_version), []).append(lk.ref)
    return out


def clear_ttl_for_link(repo: Repo, project: str, name: str, version: int) -> bool:
    """Linking a version into a registry clears its TTL: call right after the ``linked`` event.

    Writes ``ttl_set {expires: null, reason: "linked"}`` only when the version has a TTL, so
    linking an untimed version writes nothing more. True when it wrote.
    """
    def build(events: Events) -> dict[str, Any] | None:
        vs = fold(project, name, events).versions.get(version)
        if vs is None or vs.deleted or vs.expires is None:
            return None
        return {"type": "ttl_set", "version": version, "expires": None, "reason": LINKED_REASON}

    return repo.artifact_log(project, name).append(build) is not None


def unlink_version(repo: Repo, registry: str, collection: str, version: int) -> tuple[bool, list[str]]:
    """Append ``unlinked`` for one collection version unless it is unlinked already; returns
    (written, the aliases that went with it)."""
    dropped: list[str] = []

    def build(events: Events) -> dict[str, Any] | None:
        cur = fold_collection(registry, collection, events)
        if not cur.links[version].live:
            return None
        dropped[:] = sorted(a for a, v in cur.aliases.items() if v == version)
        return {"type": "unlinked", "version": version}

    written = repo.collection_log(registry, collection).append(build) is not None
    repo.forget_links()
    return written, dropped if written else []
