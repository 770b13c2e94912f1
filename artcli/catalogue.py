"""The project catalogue (docs/format.md §5.10): ``ls`` of a project in a few requests.

Without it, ``ls`` of a project with 10,000 artifacts read 10,000 logs (25,015 requests cold).
Writers keep a summary of each artifact in one log per project: a touch before they change
what ``ls`` shows of an artifact, a summary after. ``ls`` folds that log (checkpoints make a
cold read a few requests), lists the artifact folders once (1,000 names a request) and reads
the own log only of an artifact the catalogue does not vouch for: unknown to it (written by
an artcli before catalogues), touched without a summary since, or whose latest version's TTL
has passed. It writes what it had to read back as summaries, so the next ``ls`` is cheap.

Nothing that deletes relies on the catalogue: gc reads every artifact's own log.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from artcli import clock, layout
from artcli.errors import ArtcliError
from artcli.eventlog import EventLog
from artcli.notelog import NoteLog
from artcli.state.artifact import ArtifactState
from artcli.state.catalogue import CatalogueState
from artcli.state.folds import ArtifactFold, CatalogueFold

if TYPE_CHECKING:
    from artcli.localdb import LocalDB
    from artcli.store.base import Store

#: artifact events that change what ``ls`` shows (aliases, metadata and uses do not)
CHANGES_LS = frozenset({"version_created", "version_reused", "version_deleted", "ttl_set", "artifact_renamed"})
#: a touch this old without a summary: its writer finished or died; a reader may settle it
SETTLE_AFTER = timedelta(hours=1)
#: summaries per catalogue event a reader writes back
BATCH = 500


def catalogue_log(store: Store, db: LocalDB, project: str, run_id: str | None = None) -> NoteLog:
    return NoteLog(store, db, layout.catalogue_prefix(project), run_id)


def summarise(st: ArtifactState, seq: int) -> dict[str, Any]:
    """An artifact's ``artifacts_summarised`` entry, from its (summary) fold up to ``seq``."""
    live = st.live_versions()
    latest = st.latest_live()
    return {"name": st.name, "seq": seq, "type": st.type, "live": len(live),
            "latest": None if latest is None else latest.version,
            "updated": max((v.created for v in st.versions.values()), default=None),
            "expiring": [[v.version, v.expires] for v in live if v.expires],
            "size": None if latest is None else latest.size,
            **({"renamed_to": st.renamed_to} if st.renamed_to is not None else {})}


def _record(cat: EventLog, project: str, items: list[dict[str, Any]], resolves: dict[str, list[str]]) -> None:
    """Append one summaries event, unless the catalogue already has each at least as recent."""

    def build(st: CatalogueState) -> dict[str, Any] | None:
        def needed(item: dict[str, Any]) -> bool:
            cur = st.artifacts.get(item["name"])
            return cur is None or cur.seq < item["seq"] or bool(set(resolves.get(item["name"], ())) & set(
                p[0] for p in cur.pending))

        fresh = [i for i in items if needed(i)]
        if not fresh:
            return None
        done = {i["name"]: resolves[i["name"]] for i in fresh if resolves.get(i["name"])}
        return {"type": "artifacts_summarised", "artifacts": fresh, **({"resolves": done} if done else {})}

    cat.append_folded(CatalogueFold(project), build)


class CatalogueNotes:
    """The catalogue's hooks on one artifact log (see :class:`artcli.notelog.Notes`).

    Both notes are appended without reading the catalogue's events (their content does not
    depend on them): the touch after one LIST that finds the catalogue's end, the summary right
    after the touch's number (a LIST only if another writer took it). The summary is of the
    artifact's log as this writer committed it, from its cache, with no LIST of that log either.
    """

    def __init__(self, store: Store, db: LocalDB, project: str, name: str, run_id: str | None,
                 fold: ArtifactFold) -> None:
        self._cat = catalogue_log(store, db, project, run_id)
        self._project, self._name = project, name
        self._fold = fold  # the artifact's summary fold, links known
        self._touch: str | None = None
        self._at: int | None = None  # the touch's seq in the catalogue

    def wants(self, body: dict[str, Any]) -> bool:
        return body.get("type") in CHANGES_LS

    def before(self) -> None:
        touch = secrets.token_hex(8)
        try:
            self._at = self._cat.append_note({"type": "artifact_touched", "name": self._name, "touch": touch})
            self._touch = touch
        except ArtcliError:
            pass  # best effort: without the touch a later failure could leave ls one write behind

    def after(self, log: EventLog) -> None:
        try:
            # a committed append knows its log up to its own event; otherwise (a failure, maybe
            # after the event landed) the log is listed, so the summary never misses an event
            st, seq = log.folded_at(self._fold, sync=log.committed is None)
            body: dict[str, Any] = {"type": "artifacts_summarised", "artifacts": [summarise(st, seq)]}
            if self._touch:
                body["resolves"] = {self._name: [self._touch]}
            self._cat.append_note(body, self._at)
        except ArtcliError:
            pass  # the touch stays pending: readers read this artifact's own log


def read(store: Store, db: LocalDB, project: str) -> CatalogueState:
    return catalogue_log(store, db, project).folded(CatalogueFold(project))


def write_back(store: Store, db: LocalDB, project: str, states: list[tuple[ArtifactState, int]],
               cat: CatalogueState, run_id: str | None = None) -> None:
    """Best effort: summaries of artifacts a reader had to fold itself, settling touches old
    enough that their writer has finished or died."""
    cutoff = clock.now() - SETTLE_AFTER
    resolves: dict[str, list[str]] = {}
    for st, _seq in states:
        cur = cat.artifacts.get(st.name)
        old = [p[0] for p in (cur.pending if cur else []) if clock.parse_iso(p[1]) < cutoff]
        if old:
            resolves[st.name] = old
    items = [summarise(st, seq) for st, seq in states]
    log = catalogue_log(store, db, project, run_id)
    try:
        for i in range(0, len(items), BATCH):
            chunk = items[i : i + BATCH]
            _record(log, project, chunk, {it["name"]: resolves[it["name"]] for it in chunk if it["name"] in resolves})
    except ArtcliError:
        pass
