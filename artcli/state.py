"""Fold an artifact's event log into its current state.

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
    if kind == "version_created":
        n = int(ev["version"])
        if n in st.versions:
            raise ValueError(f"version v{n} created twice")
        if st.type is None:
            st.type = ev.get("artifact_type")
        vs = VersionState(
            version=n, digest=str(ev["digest"]), size=int(ev["size"]), files=int(ev["files"]),
            created=str(ev["time"]), seq=int(ev["seq"]), manifest=ev.get("manifest"),
            run=(ev.get("actor") or {}).get("run"),
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


_INVALID = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


def fold_into(st: Any, events: list[tuple[str, dict[str, Any] | None]], apply_one: Any) -> Any:
    """The one fold loop, shared by artifact and collection logs: apply events in order, skip
    (with a warning naming the object) what cannot be parsed or applied, track the last seq.
    ``st`` needs ``warnings`` and ``last_seq`` attributes."""
    for key, ev in events:
        if ev is None:
            st.warnings.append(f"skipped corrupt event {key}")
            continue
        try:
            apply_one(st, ev)
        except _INVALID as exc:  # e.g. a field of the wrong type in a hand-edited log
            st.warnings.append(f"skipped invalid event {key}: {exc}")
        if isinstance(ev.get("seq"), int):
            st.last_seq = max(st.last_seq, ev["seq"])
    return st


def fold(project: str, name: str, events: list[tuple[str, dict[str, Any] | None]]) -> ArtifactState:
    """Fold ``(object key, parsed event or None if unparsable)`` pairs in sequence order."""
    return fold_into(ArtifactState(project, name), events, apply)
