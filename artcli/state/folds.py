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

import json
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


#: versions per separately compressed block of a cached artifact fold
BLOCK = 256
_MAGIC = b"AFB1"


class _Block:
    """Versions of a cached fold still compressed together: decompressed the first time one is used.

    ``data`` is a slice of the cached body: dumping again an untouched block reuses it as it is.
    """

    __slots__ = ("data", "keys")

    def __init__(self, data: memoryview, keys: list[int]) -> None:
        self.data, self.keys = data, keys


class LazyVersions(dict):  # type: ignore[type-arg]
    """version -> VersionState, each decoded from the cached bytes the first time it is used.

    A warm ``show`` of a 25,000-version artifact needs one of them: decoding all took 0.35 s
    and 80 MiB, and decompressing all (13 MB) 0.04 s, so versions are cached in compressed
    blocks of :data:`BLOCK` and a block is decompressed only when one of its versions is read.
    Reads go through ``[]``, ``get``, ``values`` and ``items`` (which decode); membership,
    length and key order never decode.
    """

    __slots__ = ("_decode",)

    def __init__(self, raw: dict[int, memoryview | _Block], decode: Callable[[bytes], VersionState]) -> None:
        super().__init__(raw)
        self._decode = decode

    def __getitem__(self, key: int) -> VersionState:
        v = dict.__getitem__(self, key)
        if type(v) is _Block:
            self._open(v)
            v = dict.__getitem__(self, key)
        if type(v) is memoryview:
            v = self._decode(bytes(v))
            dict.__setitem__(self, key, v)
        return v

    def _open(self, block: _Block) -> None:
        for n, line in _lines(zlib.decompress(block.data)).items():
            if dict.get(self, n) is block:
                dict.__setitem__(self, n, line)

    def get(self, key: int, default: Any = None) -> Any:  # type: ignore[override]
        return self[key] if key in self else default  # noqa: SIM401 - self.get would recurse

    def values(self) -> list[VersionState]:  # type: ignore[override]
        return [self[k] for k in self]

    def items(self) -> list[tuple[int, VersionState]]:  # type: ignore[override]
        return [(k, self[k]) for k in self]


def _lines(data: bytes) -> dict[int, memoryview]:
    """``N<tab>json`` lines -> {N: the json's bytes, a slice of ``data``}."""
    out: dict[int, memoryview] = {}
    view = memoryview(data)
    pos = 0
    while pos < len(data):
        tab = data.index(b"\t", pos)
        nl = data.find(b"\n", tab)
        nl = len(data) if nl < 0 else nl
        out[int(data[pos:tab])] = view[tab + 1 : nl]
        pos = nl + 1
    return out


def _ranges(keys: list[int]) -> list[list[int]]:
    """[3, 4, 5, 9] -> [[3, 3], [9, 1]]: (first, count) runs, short for consecutive versions."""
    runs: list[list[int]] = []
    for k in keys:
        if runs and runs[-1][0] + runs[-1][1] == k:
            runs[-1][1] += 1
        else:
            runs.append([k, 1])
    return runs


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
        if type(vs) is VersionState:  # not bytes: those were stored without histories
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
        """``AFB1``, the length of a JSON index, the index (each part's compressed length, and
        each block's versions as (first, count) runs), then the state without its versions and
        the version blocks, each compressed alone. A block whose versions were not touched
        since it was loaded is written back as it was, without decompressing it."""
        if not self.history:
            _strip(st, [])  # encoded as empty lists, and Unfolded again right after
        versions = st.versions
        try:
            st.versions = {}
            parts = [zlib.compress(codec.dumps(st), 1)]
            st.versions = versions
            keys = list(versions)
            blocks = [self._block(versions, parts, keys[i : i + BLOCK]) for i in range(0, len(keys), BLOCK)]
        finally:
            st.versions = versions
            if not self.history:
                _strip(st)
        index = json.dumps({"parts": [len(p) for p in parts], "blocks": blocks}, separators=(",", ":")).encode()
        return b"".join([_MAGIC, len(index).to_bytes(4, "big"), index, *parts])

    def _block(self, versions: dict[int, Any], parts: list[bytes], chunk: list[int]) -> list[list[int]]:
        """Append the compressed block of these versions to ``parts``; return them as runs."""
        first = dict.__getitem__(versions, chunk[0])
        if type(first) is _Block and first.keys == chunk and all(dict.__getitem__(versions, k) is first for k in chunk):
            parts.append(bytes(first.data))  # untouched since it was loaded
        else:
            lines = []
            for n in chunk:
                vs = dict.__getitem__(versions, n)
                if type(vs) is _Block:
                    vs = self._raw(versions, n)
                lines.append(b"%d\t%s" % (n, vs if type(vs) is memoryview else codec.dumps(vs)))
            parts.append(zlib.compress(b"\n".join(lines), 1))
        return _ranges(chunk)

    @staticmethod
    def _raw(versions: Any, n: int) -> memoryview:
        """Version ``n``'s cached bytes, decompressing its block (kept for the other versions)."""
        versions._open(dict.__getitem__(versions, n))
        raw = dict.__getitem__(versions, n)
        assert type(raw) is memoryview
        return raw

    def load(self, data: bytes) -> ArtifactState:
        """The state, its versions left in their compressed blocks until one is read (at 25,000
        versions, decompressing them all cost 0.04 s and 13 MiB for a ``show`` that reads one)."""
        if data[:4] != _MAGIC:
            raise ValueError("not a cached artifact fold")
        size = int.from_bytes(data[4:8], "big")
        index = json.loads(data[8 : 8 + size])
        view = memoryview(data)
        pos = 8 + size
        sizes = index["parts"]
        st = codec.loads(ArtifactState, zlib.decompress(view[pos : pos + sizes[0]]))
        pos += sizes[0]
        st.linked = self.linked
        if self.history:
            def decode(raw: bytes) -> VersionState:
                return codec.loads(VersionState, raw)
        else:
            def decode(raw: bytes) -> VersionState:
                return _strip_version(codec.loads(VersionState, raw))
            _strip(st)
        raw: dict[int, memoryview | _Block] = {}
        for runs, length in zip(index["blocks"], sizes[1:], strict=True):
            keys = [k for first, count in runs for k in range(first, first + count)]
            block = _Block(view[pos : pos + length], keys)
            raw.update(dict.fromkeys(keys, block))
            pos += length
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
