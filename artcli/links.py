"""Registry links as the rest of artcli needs them: which artifact versions are linked (gc,
ttl, delete, lineage), the rule that a linked version never expires, and unlinking.

A version linked into a registry does not expire while it is linked (as on W&B): linking
clears its TTL (:func:`clear_ttl_for_link`), setting one on it is refused, and gc never
expires or collects it (docs/retention.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artcli import clock
from artcli.errors import ConflictError, NotFoundError
from artcli.eventlog import Events
from artcli.state.artifact import fold
from artcli.state.collection import display_ref, fold_collection

if TYPE_CHECKING:
    from artcli.repo import Repo

LINKED_REASON = "linked"
#: the artifact-log event a ``link`` writes before its ``linked`` event (docs/format.md §5.1):
#: the artifact's own log orders it against a ``version_deleted``, so of a link and a plain
#: delete racing, exactly one wins
LINKING = "linking"
#: a link writes its ``linked`` event at most this long after its claim (else it fails)
CLAIM_SECONDS = 600.0
FUTURE_SKEW = 60.0  # clocks agree within this (as for leases)


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


def claim_for_link(repo: Repo, project: str, name: str, version: int, registry: str, collection: str) -> Claim:
    """Write ``linking`` for the version into its artifact's log, unless the version is deleted:
    then nothing is written and the link must not be made (exit 3)."""
    def build(events: Events) -> dict[str, Any] | None:
        vs = fold(project, name, events).versions.get(version)
        if vs is None or vs.deleted:
            raise NotFoundError(f"{project}/{name}:v{version} was deleted; not linked")
        return {"type": LINKING, "version": version, "registry": registry, "collection": collection}

    ev = repo.artifact_log(project, name).append(build)
    assert ev is not None
    return Claim(int(ev["seq"]), str(ev["time"]))


@dataclass(frozen=True)
class Claim:
    """A ``linking`` event: its seq in the artifact's log and its time."""

    seq: int
    time: str

    def age(self) -> float:
        """Seconds since it was written, by this machine's clock (None-safe for odd times)."""
        try:
            return (clock.now() - clock.parse_iso(self.time)).total_seconds()
        except ValueError:
            return float("inf")

    def check_fresh(self) -> None:
        """A link writes its ``linked`` event within CLAIM_SECONDS of its claim, or not at all:
        a plain delete treats older claims without a link as abandoned."""
        if self.age() > CLAIM_SECONDS:
            raise ConflictError(f"linking took longer than {CLAIM_SECONDS:.0f}s after its claim; not linked",
                                hint="run the link again")


def claims(events: Events, version: int) -> list[tuple[Claim, str, str]]:
    """(claim, registry, collection) of every well-formed ``linking`` event for ``version``."""
    out = []
    for _, ev in events:
        if (ev is not None and ev.get("type") == LINKING and ev.get("version") == version
                and isinstance(ev.get("registry"), str) and isinstance(ev.get("collection"), str)
                and isinstance(ev.get("seq"), int) and isinstance(ev.get("time"), str)):
            out.append((Claim(ev["seq"], ev["time"]), ev["registry"], ev["collection"]))
    return out


def claim_holders(repo: Repo, events: Events, project: str, name: str, version: int) -> list[str]:
    """What keeps a plain ``delete`` of the version from going ahead, given its log's events:
    a live link to it in a collection a ``linking`` claim names, or a claim no ``linked`` event
    names yet that is younger than CLAIM_SECONDS (plus skew): a link in progress."""
    held: list[str] = []
    by_coll: dict[tuple[str, str], list[Claim]] = {}
    for claim, registry, collection in claims(events, version):
        by_coll.setdefault((registry, collection), []).append(claim)
    for (registry, collection), mine in sorted(by_coll.items()):
        cevents = repo.collection_log(registry, collection).read()
        cs = fold_collection(registry, collection, cevents)
        src = (project, name, version)
        held += [f"{display_ref(registry, collection)}:v{lk.version}" for lk in cs.live_links() if lk.source == src]
        answered = {ev.get("claim") for _, ev in cevents if ev is not None and ev.get("type") == "linked"}
        if any(c.seq not in answered and -FUTURE_SKEW <= c.age() < CLAIM_SECONDS + FUTURE_SKEW for c in mine):
            held.append(f"a link into {display_ref(registry, collection)} in progress")
    return held


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
