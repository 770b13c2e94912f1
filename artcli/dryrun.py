"""Dry runs of ops that write only events (``delete``, ``alias add/rm``, ``link``, ``ttl set``).

In a dry run the Repo hands out :class:`PreviewLog` objects: each builds its event against the
log as it is, as a real run would, but collects it instead of writing it (no event, no
catalogue note, no checkpoint), and later reads of that log in the same command see it, so a
step that builds on an earlier one (delete after unlinking) is shown as it would happen.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from artcli import layout
from artcli.eventlog import EventLog, Events, Fold, S, encode

#: a dry run's events: (log prefix, event) in the order they would have been written
Preview = list[tuple[str, dict[str, Any]]]
R = TypeVar("R")


class PreviewLog(EventLog):
    """An :class:`EventLog` whose appends are collected in ``preview``, never written."""

    def __init__(self, store: Any, db: Any, prefix: str, run_id: str | None, preview: Preview) -> None:
        super().__init__(store, db, prefix, run_id)
        self.preview = preview

    def _previewed(self) -> Events:
        return [(layout.event_key(self.prefix, ev["seq"]), ev) for p, ev in self.preview if p == self.prefix]

    def _read(self, sync: bool = True) -> tuple[Events, int]:
        events, last = super()._read(sync)
        mine = self._previewed()
        return events + mine, max([last, *(ev["seq"] for _, ev in mine if ev is not None)])

    def _folded(self, fold: Fold[S], sync: bool = True) -> tuple[S, int]:
        state, last = super()._folded(fold, sync)  # a dry run's events are folded after any cached snapshot
        mine = self._previewed()
        fold.fold(state, mine)
        return state, max([last, *(ev["seq"] for _, ev in mine if ev is not None)])

    def _checkpoint_prefix(self) -> None:
        """A dry run leaves no checkpoint behind."""

    def _append(self, decide: Callable[[bool], tuple[dict[str, Any] | None, int]]) -> dict[str, Any] | None:
        body, last = decide(True)
        if body is None:
            return None
        ev, _data = encode(body, last + 1, self.run_id)
        self.preview.append((self.prefix, ev))
        return ev


def event_log(repo: Any, prefix: str, run_id: str | None, notes: Any = None) -> EventLog:
    """The Repo's event logs (``repo`` is an :class:`artcli.repo.Repo`): a :class:`PreviewLog`
    during a dry run, which takes no catalogue notes."""
    if repo.preview is not None:
        return PreviewLog(repo.store, repo.db, prefix, run_id, repo.preview)
    return EventLog(repo.store, repo.db, prefix, run_id, notes)


@contextmanager
def previewing(repo: Any) -> Iterator[Preview]:
    """A dry run on ``repo`` (an :class:`artcli.repo.Repo`): its logs collect, not write."""
    saved, repo.preview = repo.preview, []
    try:
        yield repo.preview
    finally:
        repo.preview = saved


def dry_runnable(fn: Callable[..., R]) -> Callable[..., R]:
    """Give an op that writes only events a ``dry_run`` keyword: the events are built as a real
    run would build them, collected instead of written, and set as the result's
    ``would_write`` (:class:`artcli.results.Previewable`)."""
    @functools.wraps(fn)
    def wrapper(repo: Any, *args: Any, dry_run: bool = False, **kwargs: Any) -> R:
        if not dry_run:
            return fn(repo, *args, **kwargs)
        with previewing(repo) as events:
            res = fn(repo, *args, **kwargs)
        rows = [{"log": prefix, "event": ev} for prefix, ev in events]
        for r in res if isinstance(res, list) else [res]:
            r.would_write = rows
        return res

    return wrapper
