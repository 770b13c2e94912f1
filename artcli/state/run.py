"""Fold a run's event log (``runs/<id>/events/``): its attributes, start and finish, and the
versions it used (``input``) and logged (``output``), each once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artcli.errors import UsageError
from artcli.model import check_name
from artcli.state.fold import Events


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
class RunState:
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
    warnings: list[str] = field(default_factory=list)

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


def _record(ev: dict[str, Any], output: bool) -> RunRecord:
    version = ev["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"invalid version {version!r}")
    cmd = ev.get("command")
    return RunRecord(
        check_name(str(ev["project"]), "project"), check_name(str(ev["name"])), version,
        ev.get("digest") if isinstance(ev.get("digest"), str) else None, ev.get("time"),
        via=None if output else ev.get("via"), requested=None if output else ev.get("requested"),
        created=bool(ev.get("created", True)) if output else None,
        command=[str(c) for c in cmd] if isinstance(cmd, list) else None)


def fold_run(run_id: str, events: Events) -> RunState:
    """Fold a run's log. The run's attributes are those of its first ``run_started``, else of
    the first event that carries ``attributes`` (the first record of a run nobody started)."""
    st = RunState(run_id)
    seen_in: set[tuple[str, str, int]] = set()
    seen_out: set[tuple[str, str, int]] = set()
    started_attrs = False
    for key, ev in events:
        if ev is None:
            st.warnings.append(f"skipped corrupt event {key}")
            continue
        st.events += 1
        t = ev.get("time") if isinstance(ev.get("time"), str) else None
        if st.started is None:
            st.started, st.actor = t, ev.get("actor") if isinstance(ev.get("actor"), dict) else None
        st.last_event = t or st.last_event
        if isinstance(ev.get("attributes"), dict) and not started_attrs:
            if ev.get("type") == "run_started":  # an explicit start wins over an implicit first record
                st.attributes, started_attrs = ev["attributes"], True
            elif st.attributes is None:
                st.attributes = ev["attributes"]
        try:
            kind = ev["type"]
            if kind in ("input", "output"):
                rec = _record(ev, kind == "output")
                seen, into = (seen_out, st.outputs) if kind == "output" else (seen_in, st.inputs)
                if rec.key not in seen:
                    seen.add(rec.key)
                    into.append(rec)
            elif kind == "run_finished":
                st.finished = t
                st.status = ev.get("status") if isinstance(ev.get("status"), str) else None
        except (KeyError, TypeError, ValueError, UsageError) as exc:
            st.warnings.append(f"skipped invalid event {key}: {exc}")
    return st
