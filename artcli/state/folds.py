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

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from artcli.hashing import digest_bytes
from artcli.state import catalogue, codec
from artcli.state.artifact import KNOWN_TYPES, ArtifactState, VersionState, apply
from artcli.state.fold import fold_into


class Unfolded(list):  # type: ignore[type-arg]
    """A history a summary fold did not keep: appending does nothing, reading it is a bug."""

    def append(self, _item: Any) -> None:
        pass

    def _refuse(self, *_a: Any) -> NoReturn:
        raise RuntimeError("this state was folded without history (ask for history=True)")

    __iter__ = __len__ = __getitem__ = __bool__ = __contains__ = _refuse  # type: ignore[assignment]


UNFOLDED = Unfolded()
_VERSION_HISTORIES = ("metadata_history", "used_by", "relogged_by", "description_history")
_STATE_HISTORIES = ("alias_history", "latest_history")


@cache
def code_version() -> str:
    """A digest of the fold code: a cached state is only ever read by the code that made it."""
    here = Path(__file__).parent
    return digest_bytes(b"".join(p.read_bytes() for p in sorted(here.glob("*.py"))))[:16]


class LazyVersions(dict):  # type: ignore[type-arg]
    """version -> VersionState, each decoded from the cached bytes the first time it is used.

    A warm ``show`` of a 25,000-version artifact needs one of them: decoding all took 0.35 s
    and 80 MiB. Reads go through ``[]``, ``get``, ``values`` and ``items`` (which decode);
    membership, length and key order never decode.
    """

    __slots__ = ("_decode",)

    def __init__(self, raw: dict[int, memoryview], decode: Callable[[bytes], VersionState]) -> None:
        super().__init__(raw)
        self._decode = decode

    def __getitem__(self, key: int) -> VersionState:
        v = dict.__getitem__(self, key)
        if type(v) is memoryview:
            v = self._decode(bytes(v))
            dict.__setitem__(self, key, v)
        return v

    def get(self, key: int, default: Any = None) -> Any:  # type: ignore[override]
        return self[key] if key in self else default  # noqa: SIM401 - self.get would recurse

    def values(self) -> list[VersionState]:  # type: ignore[override]
        return [self[k] for k in self]

    def items(self) -> list[tuple[int, VersionState]]:  # type: ignore[override]
        return [(k, self[k]) for k in self]


def _strip_version(vs: VersionState, to: list[Any] = UNFOLDED) -> VersionState:
    for name in _VERSION_HISTORIES:
        setattr(vs, name, to)
    return vs


def _strip(st: ArtifactState, to: list[Any] = UNFOLDED) -> None:
    """Histories off (or, with ``to=[]``, empty for encoding); versions still in bytes are
    left alone: they were stored without histories."""
    for name in _STATE_HISTORIES:
        setattr(st, name, to)
    for vs in dict.values(st.versions):
        if type(vs) is not memoryview:
            _strip_version(vs, to)


@dataclass(frozen=True)
class ArtifactFold:
    """An artifact's log, folded with or without histories, cached as a head line (the state
    without its versions) and one line per version, decoded lazily when loaded."""

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
        if not self.history:
            _strip(st, [])  # encoded as empty lists, and Unfolded again right after
        versions = st.versions
        try:
            st.versions = {}
            lines = [codec.dumps(st)]
            for n, vs in dict.items(versions):
                lines.append(b"%d\t%s" % (n, vs if type(vs) is memoryview else codec.dumps(vs)))
        finally:
            st.versions = versions
            if not self.history:
                _strip(st)
        return zlib.compress(b"\n".join(lines), 1)

    def load(self, data: bytes) -> ArtifactState:
        """One decompressed buffer; each version stays a slice of it until used (at 25,000
        versions, splitting it into 25,000 bytes objects doubled the peak of a warm ``show``)."""
        data = zlib.decompress(data)
        end = data.find(b"\n")
        end = len(data) if end < 0 else end
        st = codec.loads(ArtifactState, data[:end])
        st.linked = self.linked
        if self.history:
            def decode(raw: bytes) -> VersionState:
                return codec.loads(VersionState, raw)
        else:
            def decode(raw: bytes) -> VersionState:
                return _strip_version(codec.loads(VersionState, raw))
            _strip(st)
        raw: dict[int, memoryview] = {}
        view = memoryview(data)
        pos = end + 1
        while pos < len(data):
            tab = data.index(b"\t", pos)
            nl = data.find(b"\n", tab)
            nl = len(data) if nl < 0 else nl
            raw[int(data[pos:tab])] = view[tab + 1 : nl]
            pos = nl + 1
        st.versions = LazyVersions(raw, decode)
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
