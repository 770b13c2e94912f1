"""How :meth:`artcli.eventlog.EventLog.folded` folds and caches an artifact's log.

A warm reader loads the state it folded before and folds only the events after it. The cache
key (``kind``) carries a digest of this package's source, so a state folded by other code is
never reused. A **summary** fold keeps no history (alias moves, metadata values over time,
uses): at 100,000 events the histories are most of the state and ``show``, ``download``,
``ls`` and ``log`` never look at them; what does asks for the full fold, and a summary state's
histories raise if anything reads them, so a caller that needs one cannot get a silently
empty list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from artcli.hashing import digest_bytes
from artcli.state import catalogue, codec
from artcli.state.artifact import KNOWN_TYPES, ArtifactState, apply
from artcli.state.fold import fold_into


class Unfolded(list):  # type: ignore[type-arg]
    """A history a summary fold did not keep: appending does nothing, reading it is a bug."""

    def append(self, _item: Any) -> None:
        pass

    def _refuse(self, *_a: Any) -> NoReturn:
        raise RuntimeError("this state was folded without history (ask for history=True)")

    __iter__ = __len__ = __getitem__ = __bool__ = __contains__ = _refuse  # type: ignore[assignment]


UNFOLDED = Unfolded()
_VERSION_HISTORIES = ("metadata_history", "used_by", "relogged_by")
_STATE_HISTORIES = ("alias_history", "latest_history")


@cache
def code_version() -> str:
    """A digest of the fold code: a cached state is only ever read by the code that made it."""
    here = Path(__file__).parent
    return digest_bytes(b"".join(p.read_bytes() for p in sorted(here.glob("*.py"))))[:16]


def _strip(st: ArtifactState, to: list[Any] = UNFOLDED) -> None:
    for name in _STATE_HISTORIES:
        setattr(st, name, to)
    for vs in st.versions.values():
        for name in _VERSION_HISTORIES:
            setattr(vs, name, to)


@dataclass(frozen=True)
class ArtifactFold:
    project: str
    name: str
    history: bool = True
    #: which versions live links keep (:meth:`artcli.repo.Repo.artifact_fold` provides it)
    linked: Callable[[], set[int]] | None = field(default=None, compare=False)

    @property
    def kind(self) -> str:
        return f"artifact/{'full' if self.history else 'summary'}/{code_version()}"

    def new(self) -> ArtifactState:
        st = ArtifactState(self.project, self.name)
        st.linked = self.linked
        if not self.history:
            _strip(st)
        return st

    def fold(self, st: ArtifactState, events: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        fold_into(st, events, apply, KNOWN_TYPES)  # type: ignore[arg-type]
        if not self.history:
            _strip(st)  # versions created just now got real lists

    def dump(self, st: ArtifactState) -> bytes:
        if self.history:
            return codec.dumps(st)
        _strip(st, [])  # encoded as empty lists, and Unfolded again right after
        try:
            return codec.dumps(st)
        finally:
            _strip(st)

    def load(self, data: bytes) -> ArtifactState:
        st = codec.loads(ArtifactState, data)
        st.linked = self.linked
        if not self.history:
            _strip(st)
        return st


@dataclass(frozen=True)
class CatalogueFold:
    project: str

    @property
    def kind(self) -> str:
        return f"catalogue/{code_version()}"

    def new(self) -> catalogue.CatalogueState:
        return catalogue.CatalogueState(project=self.project)

    def fold(self, st: catalogue.CatalogueState, events: Iterable[tuple[str, dict[str, Any] | None]]) -> None:
        fold_into(st, events, catalogue.apply, catalogue.KNOWN_TYPES)  # type: ignore[arg-type]

    def dump(self, st: catalogue.CatalogueState) -> bytes:
        return codec.dumps(st)

    def load(self, data: bytes) -> catalogue.CatalogueState:
        return codec.loads(catalogue.CatalogueState, data)
