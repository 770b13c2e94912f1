"""Runs on the remote: ``run start/show/finish``, ``use``, and the lineage records that
``log`` and ``download`` leave behind.

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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec

from artcli.errors import ArtcliError, UsageError
from artcli.eventlog import Events
from artcli.model import Ref, check_name, parse_ref
from artcli.repo import Repo
from artcli.runinfo import check_run_id, command_line, fresh_run_id, run_attributes, valid_run_id
from artcli.state.artifact import ArtifactState, VersionState, fold
from artcli.state.run import RunState, fold_run

if TYPE_CHECKING:
    from artcli.ops.log import LogResult

P = ParamSpec("P")
START_HINT = "start one: export ARTCLI_RUN_ID=$(artcli run start --job-type <type>)"


def run_state(repo: Repo, run_id: str, *, must_exist: bool = True) -> RunState:
    """``run show``: the run's folded log."""
    return repo.run_state(run_id, must_exist=must_exist)


def require_run(repo: Repo, run: str | None = None) -> str:
    """The run to act on: the argument, else the current run (flag, env, CI)."""
    rid = run or repo.run_id
    if not rid:
        raise UsageError("no run: pass a run id, --run ID, or set ARTCLI_RUN_ID", hint=START_HINT)
    return check_run_id(rid)


# -- start / finish ------------------------------------------------------------------------------
@dataclass
class StartResult:
    id: str
    created: bool

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created}


def _check_label(value: str | None, what: str) -> str | None:
    if value is not None and (not value.strip() or len(value) > 256 or any(ord(c) < 32 or c == "\x7f" for c in value)):
        raise UsageError(f"invalid {what} {value!r}: 1-256 printable characters")
    return value


def start_run(repo: Repo, job_type: str | None = None, name: str | None = None,
              run_id: str | None = None) -> StartResult:
    """Write ``run_started`` for a new run (a fresh id unless ``run_id`` is given).

    Starting an explicit id that already started is a no-op, so a retried CI step is safe.
    """
    if job_type is not None:
        check_name(job_type, "job type")
    _check_label(name, "run name")
    if run_id is not None:
        check_run_id(run_id)
    repo.check_format(for_write=True)
    attrs = run_attributes(job_type, name)
    for _ in range(20):
        rid = run_id or fresh_run_id()
        taken: list[bool] = []

        def build(events: Events, rid: str = rid, taken: list[bool] = taken) -> dict[str, Any] | None:
            if run_id is None and events:  # a fresh id that somebody has: pick another
                taken.append(True)
                return None
            if any(ev and ev.get("type") == "run_started" for _, ev in events):
                return None
            return {"type": "run_started", "attributes": attrs}

        ev = repo.run_log(rid).append(build)
        if not taken:
            return StartResult(rid, ev is not None)
    raise UsageError("could not pick an unused run id")  # pragma: no cover - 32 random bits, 20 times


def finish_run(repo: Repo, run_id: str | None, status: str | None = None) -> RunState:
    """Append ``run_finished`` (once: finishing a finished run is a no-op)."""
    rid = require_run(repo, run_id)
    if status is not None:
        check_name(status, "status")
    repo.run_state(rid)
    repo.check_format(for_write=True)

    def build(events: Events) -> dict[str, Any] | None:
        if fold_run(rid, events).finished is not None:
            return None
        return {"type": "run_finished", "status": status}

    repo.run_log(rid).append(build)
    return repo.run_state(rid)


# -- records -------------------------------------------------------------------------------------
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
                 requested: str | None = None, strict: bool = False) -> bool:
    """Record that the current run used a version (no-op without a run). True if written.

    Not ``strict`` (``download``): a remote that refuses the write (read-only credentials,
    no exclusive create) gets a warning, never a failed download.
    """
    rid = repo.run_id
    if not rid or not valid_run_id(rid):
        return False
    try:
        return _record_input(repo, rid, st, vs, via, requested)
    except ArtcliError as exc:
        if strict:
            raise
        from artcli.output import warn

        warn(f"could not record {st.project}/{st.name}:v{vs.version} as used by run {rid}: {exc} "
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


@dataclass
class UseResult:
    ref: str
    requested: str
    run: str
    recorded: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def use(repo: Repo, ref: Ref) -> UseResult:
    """``artcli use``: record that the current run uses a version, without downloading it."""
    rid = require_run(repo)
    st, vs = repo.resolve(ref)
    recorded = record_input(repo, st, vs, via="use", requested=str(ref), strict=True)
    return UseResult(f"{st.project}/{st.name}:v{vs.version}", str(ref), rid, recorded)


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


def record_log(repo: Repo, res: LogResult, inputs: list[str], fresh: bool) -> None:
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


def records_output(fn: Callable[P, LogResult]) -> Callable[P, LogResult]:
    """Decorates ``log_artifact``: the new version names its run (a fresh one for this command
    when none is set) and the run's log records it, with the ``event_fields["inputs"]``."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> LogResult:
        repo = args[0] if args else kwargs["repo"]
        assert isinstance(repo, Repo)
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
