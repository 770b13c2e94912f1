"""``alias add/rm/ls`` and ``history``: movable names on artifact and collection versions.

An alias is unique within its artifact (or collection): setting it on v4 moves it off v3
in one ``alias_set`` event, so a concurrent reader sees it on exactly one version at every
point of the log. ``latest`` is kept by artcli and ``vN`` names are reserved. Each move is
its own event, written with exclusive create: no move is ever lost, and the log is the
history (who, which run, when, from which version to which).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artcli.aliasmoves import Folder, artifact_folder, collection_folder, move_aliases, set_collection_aliases
from artcli.dryrun import dry_runnable
from artcli.errors import NotFoundError, UsageError
from artcli.eventlog import EventLog, Events
from artcli.model import Ref, check_alias
from artcli.repo import Repo
from artcli.results import AliasInfo, AliasMove, Previewable
from artcli.state.artifact import fold
from artcli.state.collection import fold_collection, link_in


@dataclass
class AliasResult(Previewable):
    ref: str  # the version (or collection version) the aliases were set on / removed from
    changes: list[dict[str, Any]] = field(default_factory=list)  # moves actually written

    def to_json(self) -> dict[str, Any]:
        return self.with_preview({"ref": self.ref, "changes": self.changes})


@dry_runnable
def add_aliases(repo: Repo, ref: Ref, aliases: list[str]) -> AliasResult:
    """Put ``aliases`` on the version ``ref`` names (moving each off any other version)."""
    wanted = [check_alias(a) for a in dict.fromkeys(aliases)]
    if not wanted:
        raise UsageError("name at least one alias")
    if ref.registry is not None:
        lk = link_in(repo.collection_state(ref.registry, ref.name), ref)
        changes = set_collection_aliases(repo, ref.registry, ref.name, lk.version, wanted)
        return AliasResult(f"{ref.qualified}:v{lk.version}", changes)
    st, vs = repo.resolve(ref, history=False)
    repo.check_format(for_write=True)
    changes = move_aliases(repo.artifact_log(st.project, st.name), artifact_folder(repo, st.project, st.name),
                           f"{st.project}/{st.name}", vs.version, wanted,
                           repo.artifact_fold(st.project, st.name, history=False))
    return AliasResult(f"{st.project}/{st.name}:v{vs.version}", changes)


def _untagged(ref: Ref, what: str) -> None:
    if ref.tagged:
        raise UsageError(f"{what} takes an artifact or collection, not a version: use {ref.qualified}")


@dry_runnable
def remove_aliases(repo: Repo, ref: Ref, aliases: list[str]) -> list[AliasResult]:
    """Remove aliases from an artifact or collection; an unknown alias is refused before any write."""
    _untagged(ref, "alias rm")
    names = [check_alias(a) for a in dict.fromkeys(aliases)]
    if not names:
        raise UsageError("name at least one alias to remove")
    log, folder = _log_of(repo, ref)
    events = log.read()
    if not events:
        _state_or_raise(repo, ref)
    current, _ = folder(events)
    missing = [a for a in names if a not in current]
    if missing:
        known = ", ".join(sorted(current)) or "none"
        raise NotFoundError(f"{ref.qualified} has no alias {', '.join(map(repr, missing))}",
                            hint=f"aliases: {known}")
    repo.check_format(for_write=True)
    out: dict[int, AliasResult] = {}
    for alias in names:
        was: dict[str, int] = {}

        def build(events: Events, alias: str = alias, was: dict[str, int] = was) -> dict[str, Any] | None:
            cur, _ = folder(events)
            if alias not in cur:  # removed concurrently: nothing left to do
                return None
            was["version"] = cur[alias]
            return {"type": "alias_removed", "alias": alias}

        if log.append(build) is not None:
            n = was["version"]
            res = out.setdefault(n, AliasResult(f"{ref.qualified}:v{n}"))
            res.changes.append({"alias": alias, "from": f"v{n}", "to": None})
    return list(out.values())


def _log_of(repo: Repo, ref: Ref) -> tuple[EventLog, Folder]:
    if ref.registry is not None:
        return repo.collection_log(ref.registry, ref.name), collection_folder(ref.registry, ref.name)
    return repo.artifact_log(ref.project, ref.name), artifact_folder(repo, ref.project, ref.name)


def _state_or_raise(repo: Repo, ref: Ref) -> None:
    """Raise the not-found error (with suggestions) for a missing artifact or collection."""
    if ref.registry is not None:
        repo.collection_state(ref.registry, ref.name)
    else:
        repo.artifact_state(ref.project, ref.name)


def list_aliases(repo: Repo, ref: Ref) -> list[AliasInfo]:
    """Every alias of an artifact or collection, ``latest`` first: alias, version, ref."""
    _untagged(ref, "alias ls")
    if ref.registry is not None:
        cs = repo.collection_state(ref.registry, ref.name)
        latest = cs.latest_live()
        pairs = ([("latest", latest.version)] if latest else []) + sorted(cs.aliases.items())
        return [AliasInfo(a, n, f"{cs.ref}:v{n}", cs.links[n].source_ref) for a, n in pairs]
    st = repo.artifact_state(ref.project, ref.name)
    vs = st.latest_live()
    pairs = ([("latest", vs.version)] if vs else []) + sorted(st.aliases.items())
    return [AliasInfo(a, n, f"{st.project}/{st.name}:v{n}") for a, n in pairs]


def history(repo: Repo, ref: Ref, alias: str | None = None) -> list[AliasMove]:
    """Every alias move of an artifact or collection, oldest first.

    ``latest`` moves come from logging (``version_created``/``version_reused``) or linking
    (``linked``); custom aliases from ``alias_set``/``alias_removed`` and from the aliases
    given when logging or linking. ``alias`` (or the reference's tag) narrows the result:
    an alias tag keeps that alias, a ``vN`` tag keeps moves from or to that version.
    """
    log, _ = _log_of(repo, ref)
    events = log.read()
    if ref.registry is not None:
        cs = fold_collection(ref.registry, ref.name, events)
        if not cs.links:
            _state_or_raise(repo, ref)
        rows = [*cs.alias_history, *cs.latest_history]
    else:
        st = fold(ref.project, ref.name, events)
        if not st.versions:
            _state_or_raise(repo, ref)
        rows = [*st.alias_history, *st.latest_history]
    rows.sort(key=lambda r: (r.get("seq") or 0, r["alias"] != "latest"))
    want = alias or ref.alias
    out = []
    for r in rows:
        if want is not None and r["alias"] != want:
            continue
        if ref.version is not None and ref.version not in (r["from"], r["to"]):
            continue
        actor = r.get("actor") or {}
        out.append(AliasMove(r["alias"], r["from"], r["to"], r.get("time"), r.get("seq"), actor.get("user"),
                             actor.get("host"), actor.get("run")))
    return out

