"""Fold an artifact's event log into its current state.

The log is the truth; this is the only interpretation of it. Unknown event types are
ignored (a newer artcli may write them); malformed events are skipped with a warning naming
the object, so one bad file never makes the rest of an artifact unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from artcli import clock


@dataclass
class VersionState:
    version: int
    digest: str
    size: int
    files: int
    created: str
    seq: int
    run: str | None = None
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)  # key -> {"value":..., "type":...}
    metadata_history: list[dict[str, Any]] = field(default_factory=list)
    expires: str | None = None
    deleted: str | None = None
    delete_reason: str | None = None
    used_by: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)

    def expired(self, now: datetime | None = None) -> bool:
        if not self.expires:
            return False
        return clock.parse_iso(self.expires) <= (now or clock.now())

    def live(self, now: datetime | None = None) -> bool:
        return self.deleted is None and not self.expired(now)


@dataclass
class ArtifactState:
    project: str
    name: str
    type: str | None = None
    versions: dict[int, VersionState] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)  # custom aliases only
    latest: int | None = None
    alias_history: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = -1
    warnings: list[str] = field(default_factory=list)
    default_ttl: str | None = None

    def live_versions(self, now: datetime | None = None) -> list[VersionState]:
        return [v for _, v in sorted(self.versions.items()) if v.live(now)]

    def by_digest(self, digest: str, now: datetime | None = None) -> VersionState | None:
        for v in self.live_versions(now):
            if v.digest == digest:
                return v
        return None

    def latest_live(self, now: datetime | None = None) -> VersionState | None:
        if self.latest is not None and self.latest in self.versions and self.versions[self.latest].live(now):
            return self.versions[self.latest]
        live = self.live_versions(now)
        return live[-1] if live else None

    def aliases_of(self, version: int) -> list[str]:
        out = sorted(a for a, v in self.aliases.items() if v == version)
        latest = self.latest_live()
        if latest is not None and latest.version == version:
            out.insert(0, "latest")
        return out

    def next_version(self) -> int:
        return max(self.versions, default=-1) + 1


def _set_alias(st: ArtifactState, alias: str, version: int, ev: dict[str, Any]) -> None:
    previous = st.aliases.get(alias)
    if previous == version:
        return
    st.aliases[alias] = version
    st.alias_history.append({"alias": alias, "from": previous, "to": version, "time": ev.get("time"),
                             "seq": ev.get("seq"), "actor": ev.get("actor")})


def _remove_alias(st: ArtifactState, alias: str, ev: dict[str, Any]) -> None:
    previous = st.aliases.pop(alias, None)
    if previous is not None:
        st.alias_history.append({"alias": alias, "from": previous, "to": None, "time": ev.get("time"),
                                 "seq": ev.get("seq"), "actor": ev.get("actor")})


def _record_metadata(vs: VersionState, entries: dict[str, Any], ev: dict[str, Any]) -> None:
    for key, val in entries.items():
        if not isinstance(val, dict) or "value" not in val:
            val = {"value": val, "type": None}
        vs.metadata[key] = val
        vs.metadata_history.append({"key": key, **val, "time": ev.get("time"), "seq": ev.get("seq"),
                                    "run": (ev.get("actor") or {}).get("run")})


def apply(st: ArtifactState, ev: dict[str, Any]) -> None:
    """Apply one event to the state (raises KeyError/TypeError/ValueError on malformed events)."""
    kind = ev["type"]
    if kind == "version_created":
        n = int(ev["version"])
        if n in st.versions:
            raise ValueError(f"version v{n} created twice")
        if st.type is None:
            st.type = ev.get("artifact_type")
        vs = VersionState(
            version=n, digest=str(ev["digest"]), size=int(ev["size"]), files=int(ev["files"]),
            created=str(ev["time"]), seq=int(ev["seq"]), run=(ev.get("actor") or {}).get("run"),
            description=ev.get("description"), expires=ev.get("expires"),
            inputs=list(ev.get("inputs") or []),
        )
        st.versions[n] = vs
        _record_metadata(vs, ev.get("metadata") or {}, ev)
        st.latest = n
        for alias in ev.get("aliases") or []:
            _set_alias(st, alias, n, ev)
    elif kind == "version_reused":
        n = int(ev["version"])
        if n not in st.versions or st.versions[n].deleted:
            raise ValueError(f"reuse of unknown or deleted version v{n}")
        st.latest = n
        for alias in ev.get("aliases") or []:
            _set_alias(st, alias, n, ev)
        _record_metadata(st.versions[n], ev.get("metadata") or {}, ev)
    elif kind == "alias_set":
        n = int(ev["version"])
        if n not in st.versions or st.versions[n].deleted:
            raise ValueError(f"alias on unknown or deleted version v{n}")
        _set_alias(st, str(ev["alias"]), n, ev)
    elif kind == "alias_removed":
        _remove_alias(st, str(ev["alias"]), ev)
    elif kind == "metadata_set":
        _record_metadata(st.versions[int(ev["version"])], dict(ev["entries"]), ev)
    elif kind == "ttl_set":
        st.versions[int(ev["version"])].expires = ev.get("expires")
    elif kind == "version_deleted":
        vs = st.versions[int(ev["version"])]
        vs.deleted = str(ev["time"])
        vs.delete_reason = ev.get("reason")
        for alias in [a for a, v in st.aliases.items() if v == vs.version]:
            _remove_alias(st, alias, ev)
    elif kind == "used":
        st.versions[int(ev["version"])].used_by.append(
            {"run": ev.get("run") or (ev.get("actor") or {}).get("run"), "time": ev.get("time")})
    # unknown types: written by a newer artcli; ignored on purpose


def fold(project: str, name: str, events: list[tuple[str, dict[str, Any] | None]]) -> ArtifactState:
    """Fold ``(object key, parsed event or None if unparsable)`` pairs in sequence order."""
    st = ArtifactState(project, name)
    for key, ev in events:
        if ev is None:
            st.warnings.append(f"skipped corrupt event {key}")
            continue
        try:
            apply(st, ev)
        except (KeyError, TypeError, ValueError) as exc:
            st.warnings.append(f"skipped invalid event {key}: {exc}")
        st.last_seq = max(st.last_seq, int(ev.get("seq", -1)) if isinstance(ev.get("seq"), int) else st.last_seq)
    return st
