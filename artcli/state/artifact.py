"""Fold an artifact's event log into its current state, and resolve references against it.

The log is the truth; this is the only interpretation of it. Unknown event types are
ignored (a newer artcli may write them); malformed events are skipped with a warning naming
the object, so one bad file never makes the rest of an artifact unreadable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from artcli import clock
from artcli.errors import NotFoundError
from artcli.model import Ref, did_you_mean
from artcli.state.alias_book import AliasBook
from artcli.state.fold import Events, Skip, fold_into


@dataclass
class VersionState:
    version: int
    digest: str
    size: int
    files: int
    created: str
    seq: int
    manifest: str | None = None  # the manifest object's digest (the version's files)
    run: str | None = None
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # key -> {"value":..., "type":...}
    metadata_history: list[dict[str, Any]] = field(default_factory=list)
    expires: str | None = None
    deleted: str | None = None
    delete_reason: str | None = None
    used_by: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    #: runs whose ``log`` of identical content reused it: {"run", "seq", "time"}, in log order
    relogged_by: list[dict[str, Any]] = field(default_factory=list)
    #: where a copy came from (``copy``): {"remote", "project", "name", "version", "digest", "created", "run"}
    origin: dict[str, Any] | None = None
    #: versions on other remotes it was made from: {"remote", "ref"[, "digest"]}
    remote_inputs: list[dict[str, Any]] = field(default_factory=list)
    #: the versions it holds under folders (``log --component``): {"path", "project", "name", "version", "digest"}
    components: list[dict[str, Any]] = field(default_factory=list)
    #: every description it had, oldest first: {"description", "time", "seq", "actor"}
    description_history: list[dict[str, Any]] = field(default_factory=list)

    def expired(self, now: datetime | None = None) -> bool:
        """Its TTL has passed (``expires`` ≤ now). Whether it counts — a linked version does not
        expire — is :meth:`ArtifactState.has_expired`."""
        if not self.expires:
            return False
        return clock.parse_iso(self.expires) <= (now or clock.now())

    def logged_by(self, run_id: str) -> int | None:
        """The seq of the first event by which ``run_id`` logged this version (created it, or
        re-logged identical content so that latest moved to it); None if it never did."""
        if self.run == run_id:
            return self.seq
        return next((r["seq"] for r in self.relogged_by if r["run"] == run_id), None)


@dataclass
class ArtifactState(AliasBook[VersionState]):
    project: str
    name: str
    type: str | None = None
    versions: dict[int, VersionState] = field(default_factory=dict)
    #: ``project/name`` it was renamed to (``artifact_renamed``): its versions live on there
    renamed_to: str | None = None
    #: the names it had before (``artifact_renamed`` copied into its log), oldest first
    renamed_from: list[str] = field(default_factory=list)

    #: the versions of this artifact live registry links name, asked only when a TTL has passed
    #: (a linked version does not expire, docs/format.md §5.1); None: no link is known
    linked: Callable[[], set[int]] | None = field(default=None, repr=False, compare=False)
    _linked: set[int] | None = field(default=None, repr=False, compare=False)

    def _numbered(self) -> dict[int, VersionState]:
        return self.versions

    def _is_live(self, item: VersionState, now: datetime | None) -> bool:
        """Renamed away, nothing is live here: the versions live on under the new name."""
        return item.deleted is None and self.renamed_to is None and not self.has_expired(item, now)

    def is_linked(self, version: int) -> bool:
        if self.linked is None:
            return False
        if self._linked is None:
            self._linked = self.linked()
        return version in self._linked

    def has_expired(self, vs: VersionState, now: datetime | None = None) -> bool:
        """Its TTL has passed and no live registry link keeps it (§5.1)."""
        return vs.expired(now) and not self.is_linked(vs.version)

    def is_live(self, vs: VersionState, now: datetime | None = None) -> bool:
        """Not deleted, and not expired unless linked (§5.1)."""
        return self._is_live(vs, now)

    def live_versions(self, now: datetime | None = None) -> list[VersionState]:
        return self._live(now)

    def latest_live(self, now: datetime | None = None) -> VersionState | None:
        return self._latest_live(now)

    def by_digest(self, digest: str, now: datetime | None = None) -> VersionState | None:
        for v in self.live_versions(now):
            if v.digest == digest:
                return v
        return None

    def next_version(self) -> int:
        """The number of the next version a writer creates (refuses when that is unsafe, §5.7)."""
        return self.next_number(f"version of {self.project}/{self.name}")


def _record_metadata(vs: VersionState, entries: dict[str, Any], ev: dict[str, Any]) -> None:
    for key, val in entries.items():
        if not isinstance(val, dict) or "value" not in val:
            val = {"value": val, "type": None}
        vs.metadata[key] = val
        vs.metadata_history.append({"key": key, **val, "time": ev.get("time"), "seq": ev.get("seq"),
                                    "run": (ev.get("actor") or {}).get("run")})


#: the event types this fold interprets (docs/format.md §5.1); their fields are checked first (§5.6)
KNOWN_TYPES = frozenset({"version_created", "version_reused", "alias_set", "alias_removed", "metadata_set",
                         "ttl_set", "version_deleted", "used", "linking", "description_set", "artifact_renamed"})


def _describe(vs: VersionState, description: str | None, ev: dict[str, Any]) -> None:
    vs.description = description
    vs.description_history.append({"description": description, "time": ev.get("time"), "seq": ev.get("seq"),
                                   "actor": ev.get("actor")})


def _target(st: ArtifactState, ev: dict[str, Any], *, not_deleted: bool) -> VersionState:
    """The version an event names, or a Skip saying why it cannot be applied (§5.7)."""
    n = ev["version"]
    vs = st.versions.get(n)
    if vs is None:
        raise Skip("unknown-version", f"{ev['type']} names v{n}, which the log has not created")
    if not_deleted and vs.deleted:
        raise Skip("deleted-version", f"{ev['type']} names v{n}, deleted at {vs.deleted}")
    return vs


def _created(st: ArtifactState, ev: dict[str, Any]) -> None:
    n = ev["version"]
    top = next(reversed(st.versions), -1)  # versions are added in increasing order (O(1), not O(n))
    if n in st.versions:
        raise Skip("version-duplicate", f"v{n} was created by an earlier event")
    if n < top:
        raise Skip("version-out-of-order", f"v{n} is created after v{top}: numbers must increase")
    if n > top + 1:
        st.note("version-gap", f"v{n} follows v{top}: v{top + 1}" + (f" to v{n - 1}" if n - 1 > top + 1 else "")
                + " do not exist")
    if st.type is None:
        st.type = ev["artifact_type"]
    expires = ev.get("expires")
    vs = VersionState(
        version=n, digest=ev["digest"], size=ev["size"], files=ev["files"], created=clock.normal(ev["time"]),
        seq=ev["seq"], manifest=ev["manifest"], run=(ev.get("actor") or {}).get("run"),
        description=ev.get("description"), expires=None if expires is None else clock.normal(expires),
        inputs=list(ev.get("inputs") or []), components=[dict(c) for c in ev.get("components") or []],
        origin=dict(ev["origin"]) if ev.get("origin") else None,
        remote_inputs=[dict(r) for r in ev.get("remote_inputs") or []],
    )
    st.versions[n] = vs
    if vs.description is not None:
        _describe(vs, vs.description, ev)
    _record_metadata(vs, ev.get("metadata") or {}, ev)
    st.set_latest(n, ev)
    for alias in ev.get("aliases") or []:
        st.set_alias(alias, n, ev)


def apply(st: ArtifactState, ev: dict[str, Any]) -> None:
    """Apply one event whose fields passed §5.6 (raises :class:`Skip` for §5.7's cases)."""
    kind = ev["type"]
    run = (ev.get("actor") or {}).get("run")
    if kind == "version_created":
        _created(st, ev)
    elif kind == "version_reused":
        vs = _target(st, ev, not_deleted=True)
        st.set_latest(vs.version, ev)
        for alias in ev.get("aliases") or []:
            st.set_alias(alias, vs.version, ev)
        _record_metadata(vs, ev.get("metadata") or {}, ev)
        if "description" in ev and ev["description"] != vs.description:  # a re-log with -d
            _describe(vs, ev["description"], ev)
        if run:
            vs.relogged_by.append({"run": run, "seq": ev["seq"], "time": ev.get("time")})
    elif kind == "alias_set":
        st.set_alias(ev["alias"], _target(st, ev, not_deleted=True).version, ev)
    elif kind == "alias_removed":
        st.remove_alias(ev["alias"], ev)
    elif kind == "metadata_set":
        _record_metadata(_target(st, ev, not_deleted=False), dict(ev["entries"]), ev)
    elif kind == "ttl_set":
        expires = ev["expires"]
        _target(st, ev, not_deleted=False).expires = None if expires is None else clock.normal(expires)
    elif kind == "version_deleted":
        vs = _target(st, ev, not_deleted=True)
        vs.deleted = clock.normal(ev["time"])
        vs.delete_reason = ev.get("reason")
        st.remove_aliases_of(vs.version, ev)
    elif kind == "description_set":
        _describe(_target(st, ev, not_deleted=True), ev["description"], ev)
    elif kind == "artifact_renamed":
        here = f"{st.project}/{st.name}"
        if ev["from"] == here and ev["to"] != here:
            st.renamed_to = ev["to"]
        elif ev["to"] == here and ev["from"] != here:
            st.renamed_from.append(ev["from"])
    elif kind == "used":
        _target(st, ev, not_deleted=False).used_by.append({"run": ev.get("run") or run, "time": ev.get("time")})
    # "linking" changes no state (delete reads it, artcli/links.py); unknown types: written by a
    # newer artcli; ignored on purpose


def fold(project: str, name: str, events: Events) -> ArtifactState:
    """Fold ``(object key, parsed event or None if unparsable)`` pairs in sequence order."""
    return fold_into(ArtifactState(project, name), events, apply, KNOWN_TYPES)


# -- references ----------------------------------------------------------------------------------
def resolve_in(st: ArtifactState, ref: Ref) -> VersionState:
    """The live version ``ref``'s tag names (vN, alias or latest), or a NotFoundError saying why."""
    where = f"{st.project}/{st.name}"
    if ref.digest is not None:
        return st.by_digest_prefix(where, ref.digest, lambda v: v.digest)
    if ref.version is not None:
        vs = st.versions.get(ref.version)
        if vs is None:
            have = ", ".join(f"v{v.version}" for v in st.live_versions()[-5:]) or "none live"
            raise NotFoundError(f"{where} has no version v{ref.version}", hint=f"versions: {have}")
        _check_live(st, where, vs)
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
        known = sorted(st.aliases)
        listing = f"aliases: {', '.join(known)}" if 0 < len(known) <= 8 else f"list them with: artcli alias ls {st.name}"
        raise NotFoundError(f"unknown alias {ref.alias!r} of {where}",
                            hint=did_you_mean(ref.alias, known, listing if known else f"{st.name} has no alias yet"))
    vs3 = st.versions[n]
    _check_live(st, where, vs3)
    return vs3


def _check_live(st: ArtifactState, where: str, vs: VersionState) -> None:
    if vs.deleted:
        raise NotFoundError(f"{where}:v{vs.version} was deleted at {vs.deleted}")
    if st.has_expired(vs):
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
