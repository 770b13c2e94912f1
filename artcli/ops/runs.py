"""Runs on the remote: ``run start/show/finish`` and ``use``.

The lineage records that ``log``, ``download`` and ``use`` leave in a run's log and in the
used versions' logs are written by ``artcli/runrecords.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artcli.errors import UsageError
from artcli.eventlog import Events
from artcli.model import Ref, check_name
from artcli.repo import Repo
from artcli.results import Result
from artcli.runinfo import check_run_id, fresh_run_id, run_attributes
from artcli.runrecords import record_input
from artcli.state.run import RunState, fold_run

START_HINT = "start one: export ARTCLI_RUN_ID=$(artcli run start --job-type <type>)"


def show_run(repo: Repo, run_id: str | None = None) -> RunState:
    """``run show``: the folded log of ``run_id``, else of the current run (flag, env, CI)."""
    return repo.run_state(require_run(repo, run_id))


def require_run(repo: Repo, run: str | None = None) -> str:
    """The run to act on: the argument, else the current run (flag, env, CI)."""
    rid = run or repo.run_id
    if not rid:
        raise UsageError("no run: pass a run id, --run ID, or set ARTCLI_RUN_ID", hint=START_HINT)
    return check_run_id(rid)


# -- start / finish ------------------------------------------------------------------------------
@dataclass
class StartResult(Result):
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
    repo.may_create = True  # the first write to a new local remote creates it
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


@dataclass
class UseResult(Result):
    ref: str
    requested: str
    run: str
    recorded: bool

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "requested": self.requested, "run": self.run, "recorded": self.recorded}


def use(repo: Repo, ref: Ref) -> UseResult:
    """``artcli use``: record that the current run uses a version, without downloading it."""
    rid = require_run(repo)
    st, vs = repo.resolve(ref)
    recorded = record_input(repo, st, vs, via="use", requested=str(ref))
    return UseResult(f"{st.project}/{st.name}:v{vs.version}", str(ref), rid, recorded)


