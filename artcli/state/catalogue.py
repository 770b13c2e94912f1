"""Fold a project's catalogue (docs/format.md §5.10): what ``ls`` shows of each artifact.

The catalogue is a log of its own beside the artifacts. A writer notes ``artifact_touched``
before it changes an artifact and ``artifacts_summarised`` after, so ``ls`` reads one log
(a few requests, with checkpoints) instead of one per artifact. A touch without its summary
(a writer died in between, or is still writing) makes that artifact *pending*: readers read
its own log rather than trust an old summary. Per artifact the summary of the highest
artifact ``seq`` wins, whatever order concurrent writers noted them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from artcli import clock
from artcli.state.fold import Events, LogState, fold_into

KNOWN_TYPES = frozenset({"artifact_touched", "artifacts_summarised"})


@dataclass
class Summary:
    """One artifact as the catalogue knows it."""

    name: str
    seq: int = -1  # the artifact log's last event this summary folded
    type: str | None = None
    live: int = 0  # live versions when summarised
    latest: int | None = None  # the latest live version when summarised
    updated: str | None = None  # when its newest version was created
    expiring: list[list[Any]] = field(default_factory=list)  # [version, expires] of live versions with a TTL
    pending: list[list[str]] = field(default_factory=list)  # [touch id, time] not yet summarised
    size: int | None = None  # bytes of the latest live version (None: none, or noted before sizes were)
    renamed_to: str | None = None  # ``project/name`` it was renamed to (``artcli rename``): not listed

    def current(self, now: datetime | None = None) -> bool:
        """Whether a reader may use this summary instead of the artifact's own log: it exists,
        nothing is pending, and no TTL has passed on a version since (whether that version is
        gone depends on registry links too, so the reader folds the own log)."""
        if self.seq < 0 or self.pending:
            return False
        now = now or clock.now()
        return not any(clock.parse_iso(exp) <= now for _v, exp in self.expiring)

    def row(self, project: str) -> dict[str, Any]:
        """What ``ls`` shows of the artifact."""
        return {"project": project, "name": self.name, "type": self.type, "versions": self.live,
                "latest": None if self.latest is None else f"v{self.latest}", "updated": self.updated}


@dataclass(kw_only=True)
class CatalogueState(LogState):
    project: str
    artifacts: dict[str, Summary] = field(default_factory=dict)


def summary_of(item: Any) -> Summary:
    """A summary entry of an ``artifacts_summarised`` event, checked (ValueError otherwise)."""
    if not isinstance(item, dict):
        raise ValueError("summary is not an object")
    name, seq = item.get("name"), item.get("seq")
    if not isinstance(name, str) or not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("summary without a name and a seq")
    live, latest, expiring = item.get("live"), item.get("latest"), item.get("expiring") or []
    if not isinstance(live, int) or not (latest is None or isinstance(latest, int)):
        raise ValueError(f"summary of {name} has no live count")
    if not isinstance(expiring, list) or not all(
            isinstance(x, list) and len(x) == 2 and isinstance(x[0], int) and isinstance(x[1], str) for x in expiring):
        raise ValueError(f"summary of {name} has a malformed expiring list")
    for _v, exp in expiring:
        clock.parse_iso(exp)
    t, updated, size = item.get("type"), item.get("updated"), item.get("size")
    if not (t is None or isinstance(t, str)) or not (updated is None or isinstance(updated, str)):
        raise ValueError(f"summary of {name} has a malformed type or time")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ValueError(f"summary of {name} has a malformed size")
    renamed = item.get("renamed_to")
    if renamed is not None and not isinstance(renamed, str):
        raise ValueError(f"summary of {name} has a malformed renamed_to")
    return Summary(name, seq, t, live, latest, updated, expiring, size=size, renamed_to=renamed)


def apply(st: CatalogueState, ev: dict[str, Any]) -> None:
    kind = ev["type"]
    if kind == "artifact_touched":
        name, touch = ev["name"], ev["touch"]
        if not isinstance(name, str) or not isinstance(touch, str):
            raise ValueError("touch without a name and an id")
        st.artifacts.setdefault(name, Summary(name)).pending.append([touch, str(ev["time"])])
    elif kind == "artifacts_summarised":
        items = [summary_of(item) for item in ev["artifacts"]]  # all checked before any is applied
        resolves = ev.get("resolves") or {}
        if not isinstance(resolves, dict):
            raise ValueError("resolves is not an object")
        for new in items:
            cur = st.artifacts.setdefault(new.name, Summary(new.name))
            if new.seq > cur.seq:
                new.pending = cur.pending
                st.artifacts[new.name] = cur = new
            done = resolves.get(new.name) or []
            cur.pending = [p for p in cur.pending if p[0] not in done]
    # unknown types: a newer artcli's; ignored


def fold_catalogue(project: str, events: Events) -> CatalogueState:
    return fold_into(CatalogueState(project=project), events, apply, KNOWN_TYPES)
