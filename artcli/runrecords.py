"""Lineage records: what ``log``, ``download`` and ``use`` leave behind for the current run.

A run's log (``runs/<id>/events/``) lists what it used (``input``) and logged (``output``);
the used version's own log gets a ``used`` event naming the run, and a logged version's
``version_created`` names its run in ``actor.run``. So both directions of the lineage graph
are read from the logs of the nodes at hand, never by scanning the remote. Every record is
one ``EventLog.append`` (a LIST, a put-if-absent) and is skipped when already there, so a
re-run in the same run writes nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from artcli.errors import ArtcliError, UsageError
from artcli.eventlog import Events
from artcli.model import parse_ref
from artcli.runinfo import command_line, fresh_run_id, run_attributes, valid_run_id
from artcli.state.artifact import ArtifactState, VersionState, fold
from artcli.state.run import fold_run

if TYPE_CHECKING:
    from artcli.repo import Repo

P = ParamSpec("P")


class LoggedVersion(Protocol):
    """What ``log`` returns, as far as lineage needs it."""

    project: str
    name: str
    version: int
    digest: str
    created: bool


R = TypeVar("R", bound=LoggedVersion)


_ATTRS: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}


def _attributes() -> dict[str, Any]:
    """An implicit run's attributes, computed once per working directory and command line
    (git is a subprocess; a long-lived Python caller may change directory)."""
    key = (os.getcwd(), tuple(command_line()))
    if key not in _ATTRS:
        _ATTRS[key] = run_attributes()
    return _ATTRS[key]


def _append_record(repo: Repo, run_id: str, body: dict[str, Any]) -> bool:
    """Append an ``input``/``output`` record to the run's log unless it is already there.

    The first event of a run nobody started carries the run's ``attributes``."""
    kind, key = body["type"], (body["project"], body["name"], body["version"])

    def build(events: Events) -> dict[str, Any] | None:
        st = fold_run(run_id, events)
        have = st.outputs if kind == "output" else st.inputs
        if any(r.key == key for r in have):
            return None
        out = {**body, "command": command_line()}
        if st.attributes is None:
            out["attributes"] = _attributes()
        return out

    return repo.run_log(run_id).append(build) is not None


def _mark_used(repo: Repo, project: str, name: str, version: int, run_id: str) -> str | None:
    """A ``used`` event in the artifact's log (once per run and version); returns the digest."""
    digest: list[str] = []

    def build(events: Events) -> dict[str, Any] | None:
        vs = fold(project, name, events).versions.get(version)
        if vs is None:
            return None
        digest.append(vs.digest)
        if any(u.get("run") == run_id for u in vs.used_by):
            return None
        return {"type": "used", "version": version, "run": run_id}

    repo.artifact_log(project, name).append(build)
    return digest[-1] if digest else None


def record_input(repo: Repo, st: ArtifactState, vs: VersionState, *, via: str,
                 requested: str | None = None, warnings: list[str] | None = None) -> bool:
    """Record that the current run used a version (no-op without a run). True if written.

    Given a ``warnings`` list (``download``), a remote that refuses the write (read-only
    credentials, no exclusive create) adds a warning to it instead of failing the command.
    """
    rid = repo.run_id
    if not rid or not valid_run_id(rid):
        return False
    try:
        return _record_input(repo, rid, st, vs, via, requested)
    except ArtcliError as exc:
        if warnings is None:
            raise
        warnings.append(f"could not record {st.project}/{st.name}:v{vs.version} as used by run {rid}: {exc} "
                        "(--no-track skips recording)")
        return False


def _record_input(repo: Repo, rid: str, st: ArtifactState, vs: VersionState, via: str,
                  requested: str | None) -> bool:
    repo.check_format(for_write=True)
    body = {"type": "input", "project": st.project, "name": st.name, "version": vs.version,
            "digest": vs.digest, "via": via}
    if requested and requested != f"{st.project}/{st.name}:v{vs.version}":
        body["requested"] = requested
    with ThreadPoolExecutor(1) as pool:  # two independent logs: one round trip's latency, not two
        used = pool.submit(_mark_used, repo, st.project, st.name, vs.version, rid)
        written = _append_record(repo, rid, body)
        used.result()
    return written


def _split_pinned(text: str) -> tuple[str, str, int] | None:
    try:
        ref = parse_ref(text, "default")
    except UsageError:
        return None
    if ref.registry is not None or ref.version is None:
        return None
    return ref.project, ref.name, ref.version


def _reused_by(repo: Repo, project: str, name: str, version: int, run_id: str) -> bool:
    """Did this run write a ``version_reused`` for the version (moved latest/aliases to it)?"""
    vs = repo.artifact_state(project, name, must_exist=False).versions.get(version)
    return vs is not None and any(r["run"] == run_id for r in vs.relogged_by)


def record_log(repo: Repo, res: LoggedVersion, inputs: list[str], fresh: bool) -> None:
    """After ``log``: the inputs' ``used`` events, the run's ``input`` records and its ``output``.

    A run made up for this one command records only when the command wrote to the artifact
    (a new version, or latest/aliases moved), so an unchanged re-log still writes nothing.
    """
    rid = repo.run_id
    if not rid:
        return
    if fresh and not res.created and not _reused_by(repo, res.project, res.name, res.version, rid):
        return
    out = (res.project, res.name, res.version)
    pinned = [p for p in map(_split_pinned, inputs) if p is not None and p != out]  # never its own input
    with ThreadPoolExecutor(4) as pool:  # the inputs' logs in parallel with the run's own log
        marks = [pool.submit(_mark_used, repo, *p, rid) for p in pinned]
        _append_record(repo, rid, {"type": "output", "project": res.project, "name": res.name,
                                   "version": res.version, "digest": res.digest, "created": res.created})
        for (project, name, version), mark in zip(pinned, marks, strict=True):
            _append_record(repo, rid, {"type": "input", "project": project, "name": name, "version": version,
                                       "digest": mark.result(), "via": "log"})


def ensure_run(repo: Repo) -> bool:
    """Give the repo a fresh run id when no run is set; True when it did."""
    if repo.run_id:
        return False
    repo.run_id = fresh_run_id()
    return True


def records_output(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorates ``log``'s inner step: the new version names its run (a fresh one for this command
    when none is set) and the run's log records it, with the ``event_fields["inputs"]``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        repo: Any = args[0] if args else kwargs["repo"]
        fresh = ensure_run(repo)
        try:
            res = fn(*args, **kwargs)
            fields = kwargs.get("event_fields") or {}
            inputs = fields.get("inputs") if isinstance(fields, dict) else None
            record_log(repo, res, [str(i) for i in inputs or []], fresh)
            return res
        finally:
            if fresh:
                repo.run_id = None

    return wrapper


def pinned_inputs(repo: Repo, refs: list[str] | None) -> list[str]:
    """``log --input`` references resolved to ``project/name:vN`` now, so lineage never
    follows an alias that moved later. Unknown references fail before anything is hashed."""
    out: list[str] = []
    for text in refs or []:
        st, vs = repo.resolve(parse_ref(text, repo.project))
        pinned = f"{st.project}/{st.name}:v{vs.version}"
        if pinned not in out:
            out.append(pinned)
    return out
