"""Fold an artifact's event log into its current state, and resolve references against it.

The log is the truth; this is the only interpretation of it. Unknown event types are
ignored (a newer artcli may write them); malformed events are skipped with a warning naming
the object, so one bad file never makes the rest of an artifact unreadable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from artcli import clock
from artcli.errors import NotFoundError
from artcli.model import Ref
from artcli.state.alias_book import AliasBook
from artcli.state.fold import Events, fold_into

_HEX64 = re.compile(r"[0-9a-f]{64}")


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

    def expired(self, now: datetime | None = None) -> bool:
        if not self.expires:
            return False
        return clock.parse_iso(self.expires) <= (now or clock.now())

    def live(self, now: datetime | None = None) -> bool:
        return self.deleted is None and not self.expired(now)

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

    def _numbered(self) -> dict[int, VersionState]:
        return self.versions

    def _is_live(self, item: VersionState, now: datetime | None) -> bool:
        return item.live(now)

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
        return max(self.versions, default=-1) + 1


def _record_metadata(vs: VersionState, entries: dict[str, Any], ev: dict[str, Any]) -> None:
    for key, val in entries.items():
        if not isinstance(val, dict) or "value" not in val:
            val = {"value": val, "type": None}
        vs.metadata[key] = val
        vs.metadata_history.append({"key": key, **val, "time": ev.get("time"), "seq": ev.get("seq"),
                                    "run": (ev.get("actor") or {}).get("run")})


#: the event types this fold interprets; their fields are type-checked before anything is applied
KNOWN_TYPES = frozenset({"version_created", "version_reused", "alias_set", "alias_removed", "metadata_set",
                         "ttl_set", "version_deleted", "used"})


#: integer fields and their largest value: versions must stay nameable as ``vN`` (model.VERSION_RE),
#: sequence numbers fit the 12-digit keys
_LIMITS = {"version": 999_999_999, "seq": 10**12 - 1, "size": 2**63 - 1, "files": 2**63 - 1}


def _is_time(value: Any) -> bool:
    try:
        clock.parse_iso(value)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def check_event(ev: dict[str, Any]) -> None:
    """Raise ValueError when a field a known event carries has the wrong type.

    Checked before anything is applied, so a crafted event is skipped whole and the folded
    state only ever holds well-typed values: the commands that read it can rely on
    ``version``/``size`` being integers, times parsing, aliases being strings.
    """
    for key, limit in _LIMITS.items():
        v = ev.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= limit):
            raise ValueError(f"{key} {str(v)[:40]} is not an integer from 0 to {limit}")
    if "time" in ev and not _is_time(ev["time"]):
        raise ValueError(f"time {ev['time']!r} is not an ISO 8601 time")
    if ev.get("expires") is not None and not _is_time(ev["expires"]):
        raise ValueError(f"expires {ev['expires']!r} is not an ISO 8601 time")
    for key in ("digest", "manifest"):
        if key in ev and not (isinstance(ev[key], str) and _HEX64.fullmatch(ev[key])):
            raise ValueError(f"{key} is not a 64-hex digest")
    for key in ("alias", "artifact_type", "description", "reason", "run"):
        if ev.get(key) is not None and not isinstance(ev[key], str):
            raise ValueError(f"{key} is not a string")
    for key in ("aliases", "inputs"):
        v = ev.get(key)
        if v is not None and not (isinstance(v, list) and all(isinstance(a, str) for a in v)):
            raise ValueError(f"{key} is not a list of strings")
    for key in ("metadata", "entries"):
        if ev.get(key) is not None and not isinstance(ev[key], dict):
            raise ValueError(f"{key} is not an object")
    actor = ev.get("actor")
    if actor is not None and (not isinstance(actor, dict) or not isinstance(actor.get("run"), str | None)):
        raise ValueError("actor is not an object with a string run")


def apply(st: ArtifactState, ev: dict[str, Any]) -> None:
    """Apply one event to the state (raises KeyError/TypeError/ValueError on malformed events)."""
    kind = ev["type"]
    if kind in KNOWN_TYPES:
        check_event(ev)
    run = (ev.get("actor") or {}).get("run")
    if kind == "version_created":
        n = int(ev["version"])
        if n in st.versions:
            raise ValueError(f"version v{n} created twice")
        if st.type is None:
            st.type = ev.get("artifact_type")
        vs = VersionState(
            version=n, digest=str(ev["digest"]), size=int(ev["size"]), files=int(ev["files"]),
            created=str(ev["time"]), seq=int(ev["seq"]), manifest=ev.get("manifest"), run=run,
            description=ev.get("description"), expires=ev.get("expires"),
            inputs=list(ev.get("inputs") or []),
        )
        st.versions[n] = vs
        _record_metadata(vs, ev.get("metadata") or {}, ev)
        st.set_latest(n, ev)
        for alias in ev.get("aliases") or []:
            st.set_alias(alias, n, ev)
    elif kind == "version_reused":
        n = int(ev["version"])
        if n not in st.versions or st.versions[n].deleted:
            raise ValueError(f"reuse of unknown or deleted version v{n}")
        st.set_latest(n, ev)
        for alias in ev.get("aliases") or []:
            st.set_alias(alias, n, ev)
        _record_metadata(st.versions[n], ev.get("metadata") or {}, ev)
        if run:
            st.versions[n].relogged_by.append({"run": run, "seq": int(ev.get("seq") or 0), "time": ev.get("time")})
    elif kind == "alias_set":
        n = int(ev["version"])
        if n not in st.versions or st.versions[n].deleted:
            raise ValueError(f"alias on unknown or deleted version v{n}")
        st.set_alias(str(ev["alias"]), n, ev)
    elif kind == "alias_removed":
        st.remove_alias(str(ev["alias"]), ev)
    elif kind == "metadata_set":
        _record_metadata(st.versions[int(ev["version"])], dict(ev["entries"]), ev)
    elif kind == "ttl_set":
        st.versions[int(ev["version"])].expires = ev.get("expires")
    elif kind == "version_deleted":
        vs = st.versions[int(ev["version"])]
        vs.deleted = str(ev["time"])
        vs.delete_reason = ev.get("reason")
        st.remove_aliases_of(vs.version, ev)
    elif kind == "used":
        st.versions[int(ev["version"])].used_by.append(
            {"run": ev.get("run") or run, "time": ev.get("time")})
    # unknown types: written by a newer artcli; ignored on purpose


def fold(project: str, name: str, events: Events) -> ArtifactState:
    """Fold ``(object key, parsed event or None if unparsable)`` pairs in sequence order."""
    return fold_into(ArtifactState(project, name), events, apply)


# -- references ----------------------------------------------------------------------------------
def resolve_in(st: ArtifactState, ref: Ref) -> VersionState:
    """The live version ``ref``'s tag names (vN, alias or latest), or a NotFoundError saying why."""
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
