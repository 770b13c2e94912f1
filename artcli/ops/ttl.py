"""``ttl set/show/default``: when versions expire, and the rule that linked versions never do.

A TTL is a ``ttl_set`` event in the artifact's log (``expires``: a time, or null to clear
it); an expired version stops resolving at once and ``gc`` later marks it deleted and frees
its bytes. A project's default TTL is a small event log of its own
(``projects/<project>/settings/events/``) read by ``log`` when a version gets no ``--ttl``.

A version linked into a registry does not expire while it is linked (the rule lives in
``artcli/links.py``): setting a TTL on it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from artcli import clock
from artcli.dryrun import dry_runnable
from artcli.durations import NEVER, format_duration, parse_duration, parse_expiry, remaining
from artcli.errors import ConflictError, UsageError
from artcli.eventlog import Events
from artcli.lineagewalk import walk_lineage
from artcli.links import clear_ttl_for_link, links_by_version
from artcli.model import Ref, check_name
from artcli.repo import Repo
from artcli.results import Previewable, Result, TtlInfo
from artcli.state.artifact import fold
from artcli.state.settings import default_ttl_was_set, fold_default_ttl


# -- per-version TTL -----------------------------------------------------------------------------
@dataclass
class TtlResult(Previewable):
    expires: str | None
    changed: list[dict[str, Any]] = field(default_factory=list)  # {ref, expires, previous}
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {ref, reason}

    @property
    def refs(self) -> list[str]:
        """Every version that now carries the requested TTL (changed or already so)."""
        return [c["ref"] for c in self.changed] + self.unchanged

    def to_json(self) -> dict[str, Any]:
        return self.with_preview({"expires": self.expires, "changed": self.changed, "unchanged": self.unchanged,
                                  "skipped": self.skipped, "warnings": self.warnings})


def _vref(project: str, name: str, version: int) -> str:
    return f"{project}/{name}:v{version}"


def _related(repo: Repo, ref: Ref, upstream: bool, downstream: bool, res: TtlResult) -> list[tuple[str, str, int]]:
    """The other versions reachable through lineage."""
    repo.check_format()
    found: dict[tuple[str, str, int], None] = {}
    for direction, wanted in (("up", upstream), ("down", downstream)):
        if not wanted:
            continue
        g = walk_lineage(repo, ref, direction=direction)
        res.warnings.extend(w for w in g.warnings if w not in res.warnings)
        for node in g.ordered_nodes():
            if node["kind"] == "version" and node["id"] != g.root and node.get("state") != "missing":
                found[(node["project"], node["name"], int(str(node["version"])[1:]))] = None
        if g.truncated:
            res.warnings.append(f"the {direction}stream walk stopped early; some versions were not reached")
    return list(found)


@dry_runnable
def set_ttl(repo: Repo, ref: Ref, value: str, *, upstream: bool = False, downstream: bool = False) -> TtlResult:
    """Give the version ``ref`` names (and with ``upstream``/``downstream`` every version its
    lineage reaches) the TTL ``value``: a duration from now, a date, or ``never``.

    Everything is checked before anything is written: a bad or past value is a usage error,
    a TTL on a linked version is a conflict. Versions reached through lineage that are linked,
    deleted or expired are skipped and reported, never changed.
    """
    return _set_ttl(repo, ref, value, upstream, downstream)


def _set_ttl(repo: Repo, ref: Ref, value: str, upstream: bool, downstream: bool) -> TtlResult:
    """:func:`set_ttl`, undecorated so that mutation testing reaches it (mutmut skips decorated functions)."""
    now = clock.now()
    when = parse_expiry(value, now)
    expires = None if when is None else clock.iso(when)
    st, vs = repo.resolve(ref)
    links = links_by_version(repo)
    main = (st.project, st.name, vs.version)
    if expires is not None and main in links:
        raise ConflictError(f"{_vref(*main)} is linked as {', '.join(links[main])}: a linked version does not expire",
                            hint=f"unlink it first (artcli unlink {links[main][0]}), or set the TTL on another version")
    res = TtlResult(expires)
    targets = [main]
    if upstream or downstream:
        for key in _related(repo, Ref(*main), upstream, downstream, res):
            if key == main:
                continue
            if expires is not None and key in links:
                res.skipped.append({"ref": _vref(*key), "reason": f"linked as {', '.join(links[key])}"})
            else:
                targets.append(key)
    repo.check_format(for_write=True)
    for key in targets:
        _write(repo, key, expires, res, now)
    if expires is not None:
        _undo_if_linked(repo, res)
    return res


def _write(repo: Repo, key: tuple[str, str, int], expires: str | None, res: TtlResult, now: datetime) -> None:
    project, name, version = key
    seen: dict[str, Any] = {}

    def build(events: Events) -> dict[str, Any] | None:
        vs = fold(project, name, events).versions.get(version)
        seen.clear()
        if vs is None or vs.deleted:
            seen["skip"] = "deleted" if vs is not None else "missing"
            return None
        if vs.expired(now):  # a TTL never brings an expired version back
            seen["skip"] = f"expired at {vs.expires}"
            return None
        seen["previous"] = vs.expires
        if vs.expires == expires:
            return None
        return {"type": "ttl_set", "version": version, "expires": expires}

    ev = repo.artifact_log(project, name).append(build)
    ref = _vref(project, name, version)
    if "skip" in seen:
        res.skipped.append({"ref": ref, "reason": seen["skip"]})
    elif ev is None:
        res.unchanged.append(ref)
    else:
        res.changed.append({"ref": ref, "expires": expires, "previous": seen.get("previous")})


def _undo_if_linked(repo: Repo, res: TtlResult) -> None:
    """Close the race with a concurrent ``link``: a version linked while we wrote its TTL gets
    the TTL cleared again (link clears after linking, we clear after writing: one of the two
    clears always comes last)."""
    if not res.changed:
        return
    links = links_by_version(repo)
    for item in list(res.changed):
        project, rest = item["ref"].split("/", 1)
        name, tag = rest.rsplit(":v", 1)
        key = (project, name, int(tag))
        if key in links:
            clear_ttl_for_link(repo, *key)
            res.changed.remove(item)
            res.skipped.append({"ref": item["ref"], "reason": f"linked as {', '.join(links[key])} meanwhile"})


def show_ttl(repo: Repo, ref: Ref) -> TtlInfo:
    """The version's expiry, the time left, what protects it, and the project default."""
    repo.check_format()
    st, vs = repo.resolve(ref)
    left = remaining(vs.expires)
    links = links_by_version(repo).get((st.project, st.name, vs.version), [])
    default = repo.default_ttl(st.project)
    return TtlInfo(_vref(st.project, st.name, vs.version), vs.expires, left,
                   None if left is None else format_duration(left), list(links),
                   None if default is None else format_duration(default))


# -- project default TTL -------------------------------------------------------------------------
@dataclass
class DefaultResult(Result):
    project: str
    seconds: int | None
    changed: bool

    def to_json(self) -> dict[str, Any]:
        return {"project": self.project, "default_ttl": None if self.seconds is None else format_duration(self.seconds),
                "seconds": self.seconds, "changed": self.changed}


def set_default_ttl(repo: Repo, project: str, value: str) -> DefaultResult:
    """Set (or with ``never`` clear) the default TTL of versions logged in ``project`` from now
    on; versions that exist keep their own TTL."""
    check_name(project, "project")
    if value == NEVER:
        seconds = None
    else:
        seconds = parse_duration(value)
        if seconds <= 0:
            raise UsageError(f"default TTL {value!r} must be longer than zero", hint="use 'never' for no default")
    repo.may_create = True  # the first write to a new local remote creates it
    repo.check_format(for_write=True)

    def build(events: Events) -> dict[str, Any] | None:
        if fold_default_ttl(events) == seconds and default_ttl_was_set(events):
            return None
        return {"type": "default_ttl_set", "seconds": seconds}

    ev = repo.settings_log(project).append(build)
    return DefaultResult(project, seconds, ev is not None)
