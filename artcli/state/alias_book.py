"""Aliases and ``latest`` of a numbered log (an artifact's versions, a collection's links):
the one implementation both folds use.

A custom alias names exactly one live number at a time; setting it elsewhere moves it, and
every move (custom or ``latest``) is kept with the event's time, seq and actor, which is
what ``artcli history`` shows. ``latest`` is the number most recently logged or linked,
falling back to the newest live one when that one is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from artcli.errors import NotFoundError, UsageError
from artcli.state.fold import LogState


class Numbered(Protocol):
    version: int


T = TypeVar("T", bound=Numbered)


def _move(alias: str, previous: int | None, to: int | None, ev: dict[str, Any]) -> dict[str, Any]:
    return {"alias": alias, "from": previous, "to": to, "time": ev.get("time"), "seq": ev.get("seq"),
            "actor": ev.get("actor")}


@dataclass(kw_only=True)
class AliasBook(LogState, Generic[T]):
    """The base of a numbered log's state; the subclass provides the two hooks."""

    aliases: dict[str, int] = field(default_factory=dict)  # custom aliases only
    latest: int | None = None
    alias_history: list[dict[str, Any]] = field(default_factory=list)  # custom alias moves
    latest_history: list[dict[str, Any]] = field(default_factory=list)  # `latest` moves

    # hooks --------------------------------------------------------------------------------------
    def _numbered(self) -> dict[int, T]:
        raise NotImplementedError

    def _is_live(self, item: T, now: datetime | None) -> bool:
        raise NotImplementedError

    # reading ------------------------------------------------------------------------------------
    def _live(self, now: datetime | None = None) -> list[T]:
        return [x for _, x in sorted(self._numbered().items()) if self._is_live(x, now)]

    def _latest_live(self, now: datetime | None = None) -> T | None:
        items = self._numbered()
        if self.latest is not None and self.latest in items and self._is_live(items[self.latest], now):
            return items[self.latest]
        live = self._live(now)
        return live[-1] if live else None

    def aliases_of(self, number: int) -> list[str]:
        """The aliases on ``number``, ``latest`` first when it is the latest live one."""
        out = sorted(a for a, v in self.aliases.items() if v == number)
        latest = self._latest_live()
        if latest is not None and latest.version == number:
            out.insert(0, "latest")
        return out

    def by_digest_prefix(self, where: str, prefix: str, digest: Callable[[T], str]) -> T:
        """The one live number whose content digest starts with ``prefix`` (``name@<prefix>``);
        not found (naming a deleted or expired match) or ambiguous (naming the candidates)."""
        matches = [x for x in self._numbered().values() if digest(x).startswith(prefix)]
        alive = [x for x in matches if self._is_live(x, None)]
        if len(alive) == 1:
            return alive[0]
        if alive:
            names = ", ".join(f"v{x.version} ({digest(x)[:16]})" for x in alive[:10])
            raise UsageError(f"{where}@{prefix} is ambiguous: {names}", hint="give more digits of the digest")
        if matches:
            raise NotFoundError(f"{where}@{prefix} is v{matches[0].version}, which is no longer live")
        raise NotFoundError(f"{where} has no live version whose content digest starts with {prefix}",
                            hint="content digests are the digest field of ls --json and show --json")

    # folding ------------------------------------------------------------------------------------
    def set_latest(self, number: int, ev: dict[str, Any]) -> None:
        if self.latest != number:
            self.latest_history.append(_move("latest", self.latest, number, ev))
        self.latest = number

    def set_alias(self, alias: str, number: int, ev: dict[str, Any]) -> None:
        previous = self.aliases.get(alias)
        if previous != number:
            self.aliases[alias] = number
            self.alias_history.append(_move(alias, previous, number, ev))

    def remove_alias(self, alias: str, ev: dict[str, Any]) -> None:
        previous = self.aliases.pop(alias, None)
        if previous is not None:
            self.alias_history.append(_move(alias, previous, None, ev))

    def remove_aliases_of(self, number: int, ev: dict[str, Any]) -> None:
        """A number that goes (deleted, unlinked) takes its custom aliases with it."""
        for alias in [a for a, v in self.aliases.items() if v == number]:
            self.remove_alias(alias, ev)
