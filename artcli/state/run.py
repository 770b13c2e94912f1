"""Fold a run's event log (``runs/<id>/events/``): its attributes, start and finish, and the
versions it used (``input``) and logged (``output``), each once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artcli import clock
from artcli.state.fold import Events, LogState, usable


@dataclass
class RunRecord:
    """One version a run used (input) or logged (output)."""

    project: str
    name: str
    version: int
    digest: str | None
    time: str | None
    via: str | None = None  # inputs: download | use | log
    requested: str | None = None  # inputs: the reference as given (alias, registry ref)
    created: bool | None = None  # outputs: a new version (False: identical content existed)
    command: list[str] | None = None

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.name}:v{self.version}"

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.project, self.name, self.version)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ref": self.ref, "project": self.project, "name": self.name,
                               "version": f"v{self.version}", "digest": self.digest, "time": self.time,
                               "command": self.command}
        if self.created is not None:
            out["created"] = self.created
        else:
            out["via"] = self.via
            out["requested"] = self.requested
        return out


@dataclass
class RunState(LogState):
    id: str
    attributes: dict[str, Any] | None = None
    started: str | None = None
    finished: str | None = None
    status: str | None = None
    last_event: str | None = None
    actor: dict[str, Any] | None = None
    inputs: list[RunRecord] = field(default_factory=list)
    outputs: list[RunRecord] = field(default_factory=list)
    events: int = 0

    @property
    def exists(self) -> bool:
        return self.events > 0

    def attr(self, key: str) -> Any:
        if self.attributes and key in self.attributes:
            return self.attributes[key]
        if key in ("host", "user") and self.actor:
            return self.actor.get(key)
        return None

    def to_json(self) -> dict[str, Any]:
        """The stable shape of ``run show --json`` (see docs/lineage.md)."""
        return {
            "id": self.id, "job_type": self.attr("job_type"), "name": self.attr("name"),
            "command": self.attr("command"), "host": self.attr("host"), "user": self.attr("user"),
            "cwd": self.attr("cwd"), "started": self.started, "finished": self.finished,
            "status": self.status, "last_event": self.last_event, "git": self.attr("git"),
            "ci": self.attr("ci"), "inputs": [r.to_json() for r in self.inputs],
            "outputs": [r.to_json() for r in self.outputs], "events": self.events,
            "warnings": self.warnings,
        }


#: the event types the run fold interprets (docs/format.md §5.4)
RUN_TYPES = frozenset({"run_started", "input", "output", "run_finished"})


def _record(ev: dict[str, Any], output: bool) -> RunRecord:
    cmd = ev.get("command")
    return RunRecord(
        ev["project"], ev["name"], ev["version"], ev.get("digest"), clock.normal(ev["time"]),
        via=None if output else ev.get("via"), requested=None if output else ev.get("requested"),
        created=bool(ev.get("created", True)) if output else None,
        command=list(cmd) if cmd is not None else None)


def fold_run(run_id: str, events: Events) -> RunState:
    """Fold a run's log. The run's attributes are those of its first ``run_started``, else of
    the first event that carries ``attributes`` (the first record of a run nobody started)."""
    st = RunState(run_id)
    seen_in: set[tuple[str, str, int]] = set()
    seen_out: set[tuple[str, str, int]] = set()
    started_attrs = False
    for _key, ev in usable(st, events, RUN_TYPES):
        st.events += 1
        t = clock.normal(ev["time"])
        if st.started is None:
            st.started, st.actor = t, ev.get("actor")
        st.last_event = t
        if isinstance(ev.get("attributes"), dict) and not started_attrs:
            if ev["type"] == "run_started":  # an explicit start wins over an implicit first record
                st.attributes, started_attrs = ev["attributes"], True
            elif st.attributes is None:
                st.attributes = ev["attributes"]
        kind = ev["type"]
        if kind in ("input", "output"):
            rec = _record(ev, kind == "output")
            seen, into = (seen_out, st.outputs) if kind == "output" else (seen_in, st.inputs)
            if rec.key not in seen:
                seen.add(rec.key)
                into.append(rec)
        elif kind == "run_finished" and st.finished is None:  # only the first counts
            st.finished = t
            st.status = ev.get("status")
    return st
