"""``describe``: change a version's description after logging; every change is kept.

A description is what people wrote about a version, so it is history, not state that gets
overwritten: each change is one ``description_set`` event (docs/format.md §5.1), and the fold
keeps every value with its time and actor. Writing the description a version already has
writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artcli.errors import NotFoundError, UsageError
from artcli.eventlog import Events
from artcli.mdvalues import check_description
from artcli.model import Ref
from artcli.repo import Repo
from artcli.results import Result
from artcli.state.artifact import VersionState


@dataclass
class DescribeResult(Result):
    ref: str
    description: str | None
    changed: bool  # False: it already had this description (or nothing was asked)
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "description": self.description, "changed": self.changed, "history": self.history}


def _history(vs: VersionState) -> list[dict[str, Any]]:
    out = []
    for h in vs.description_history:
        actor = h.get("actor") or {}
        out.append({"description": h["description"], "time": h["time"], "seq": h["seq"],
                    "user": actor.get("user"), "run": actor.get("run")})
    return out


def describe(repo: Repo, ref: Ref, text: str | None = None, *, clear: bool = False) -> DescribeResult:
    """Set (``text``), clear (``clear``) or only show (neither) the description of the version
    ``ref`` names, with every description it ever had."""
    if text is not None and clear:
        raise UsageError("give a description or --clear, not both")
    check_description(text)
    st, vs = repo.resolve(ref)
    project, name, n = st.project, st.name, vs.version
    where = f"{project}/{name}:v{n}"
    if text is None and not clear:
        return DescribeResult(where, vs.description, False, _history(vs), warnings=list(st.warnings))
    wanted = None if clear else text
    repo.check_format(for_write=True)

    def build(events: Events) -> dict[str, Any] | None:
        cur = repo.fold_artifact(project, name, events)
        cvs = cur.versions.get(n)
        if cvs is None or not cur.is_live(cvs):  # deleted or expired since we resolved it
            raise NotFoundError(f"{where} is no longer live; description not changed")
        if cvs.description == wanted:
            return None
        return {"type": "description_set", "version": n, "description": wanted}

    ev = repo.artifact_log(project, name).append(build)
    after = repo.artifact_state(project, name).versions[n]
    return DescribeResult(where, after.description, ev is not None, _history(after), warnings=list(st.warnings))
