"""``fetch_stored`` against a real local store: every entry's verified bytes handed over once
(loose blobs in batches, packs in groups under the memory budget, a pack read in separate
ranges or whole), progress counted to the byte, and a store that does not report each file as
it lands served all the same."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from artcli import layout, transfer
from artcli.hashing import digest_bytes
from artcli.model import Entry
from artcli.store import Store, open_store

RNG = random.Random(31)


class Collect:
    """A FetchTarget that keeps what it is handed (bytes by entry path or digest)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.loose: list[tuple[str, bytes]] = []
        self.packed: list[tuple[str, bytes]] = []
        self.n = 0

    def temp_path(self, hint: str = "") -> Path:
        self.n += 1
        return self.tmp / f"{hint[:16]}.{self.n}.part"

    def adopt(self, tmp: Path, digest: str) -> None:
        self.loose.append((digest, tmp.read_bytes()))
        tmp.unlink()

    def put_packed(self, entry: Entry, data: bytes | memoryview) -> None:
        self.packed.append((entry.path, bytes(data)))


class Spy:
    """The store, with its range requests and size lookups written down."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.batches: list[list[tuple[str, int, int]]] = []
        self.infos: list[str] = []

    def get_ranges(self, key_ranges: Sequence[tuple[str, int, int]]) -> list[bytes]:
        self.batches.append(list(key_ranges))
        return self.store.get_ranges(key_ranges)

    def info(self, key: str) -> Any:
        self.infos.append(key)
        return self.store.info(key)

    def get_files_hashed(self, jobs: Any, done: Callable[[int, str], object] | None = None) -> list[str]:
        return self.store.get_files_hashed(jobs, done=done)


class Quiet(Spy):
    """A store that says nothing until the whole batch is down (``done`` never called)."""

    def get_files_hashed(self, jobs: Any, done: Callable[[int, str], object] | None = None) -> list[str]:
        return self.store.get_files_hashed(jobs)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    (tmp_path / "remote").mkdir()
    return open_store((tmp_path / "remote").as_uri())


def _blobs(store: Store, n: int, size: int) -> tuple[list[Entry], dict[str, bytes]]:
    entries, data = [], {}
    for i in range(n):
        b = RNG.randbytes(size + i)
        d = digest_bytes(b)
        store.put(layout.blob_key(d), b)
        entries.append(Entry(f"blob{i}", len(b), d))
        data[d] = b
    return entries, data


def _pack(store: Store, members: list[bytes | int], name: str) -> tuple[list[Entry], dict[str, bytes]]:
    """A pack of the given members (an int: that many filler bytes no entry names)."""
    body, entries, data = b"", [], {}
    for i, m in enumerate(members):
        if isinstance(m, int):
            body += bytes(m)
            continue
        e = Entry(f"{name}/{i}", len(m), digest_bytes(m), pack="", offset=len(body))
        body += m
        entries.append(e)
        data[e.path] = m
    pack = digest_bytes(body)
    store.put(layout.pack_key(pack), body)
    return [Entry(e.path, e.size, e.digest, pack=pack, offset=e.offset) for e in entries], data


def _fetch(store: Any, entries: list[Entry], tmp_path: Path) -> tuple[Collect, list[int]]:
    sink = Collect(tmp_path)
    advanced: list[int] = []
    transfer.fetch_stored(store, sink, entries, advanced.append)
    return sink, advanced


@pytest.mark.parametrize("wrap", [Spy, Quiet], ids=["reports", "quiet"])
def test_loose_blobs_in_several_batches_each_handed_once(store: Store, tmp_path: Path, wrap: type[Spy],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "BATCH", 2)
    entries, data = _blobs(store, 5, 1000)
    sink, advanced = _fetch(wrap(store), entries, tmp_path / "t")
    assert sorted(sink.loose) == sorted(data.items())
    assert sum(advanced) == sum(e.size for e in entries) and len(advanced) == len(entries)
    assert list((tmp_path / "t").iterdir()) == []


def test_packs_are_grouped_under_the_memory_budget(store: Store, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Packs are read together while the bytes wanted fit in the budget, and no group (but one
    made of a single larger pack) holds more."""
    sizes = [300, 300, 400, 1000, 400, 300, 300, 100]
    entries, data = [], {}
    for i, n in enumerate(sizes):
        es, ds = _pack(store, [RNG.randbytes(n // 2), RNG.randbytes(n - n // 2)], f"p{i}")
        entries += es
        data.update(ds)
    monkeypatch.setattr(transfer, "PACK_BUDGET", 1000)
    spy = Spy(store)
    sink, advanced = _fetch(spy, entries, tmp_path)
    assert sorted(sink.packed) == sorted(data.items())
    assert sum(advanced) == sum(sizes) and len(advanced) == len(entries)
    groups = [sum(end - start for _, start, end in batch) for batch in spy.batches]
    assert groups == [1000, 1000, 1000, 100]  # each group up to exactly the budget


def test_a_pack_read_in_separate_ranges(store: Store, tmp_path: Path) -> None:
    """Members far apart in a pack are read as separate ranges; each comes from its own."""
    members: list[bytes | int] = [RNG.randbytes(500), (1 << 20) + 10, RNG.randbytes(700), (1 << 20) + 10,
                                  RNG.randbytes(300)]
    entries, data = _pack(store, members, "far")
    spy = Spy(store)
    sink, advanced = _fetch(spy, entries, tmp_path)
    assert [len(b) for b in spy.batches] == [3] and spy.infos == []  # little of the pack wanted: no size asked
    assert sorted(sink.packed) == sorted(data.items()) and sum(advanced) == 1500


def test_most_of_a_pack_is_read_whole(store: Store, tmp_path: Path) -> None:
    """When over 1 MiB is wanted and that is most of the pack, one read of the whole pack."""
    members: list[bytes | int] = [RNG.randbytes(700_000), (1 << 20) + 10, RNG.randbytes(700_000)]
    entries, data = _pack(store, members, "most")
    spy = Spy(store)
    sink, _ = _fetch(spy, entries, tmp_path)
    assert len(spy.infos) == 1 and [len(b) for b in spy.batches] == [1]
    assert sorted(sink.packed) == sorted(data.items())


def test_a_packed_member_of_any_size_is_read_from_its_own_range(store: Store, tmp_path: Path) -> None:
    """docs/format.md §4: a reader accepts a packed entry of any size (a writer packs only files
    under 1 MiB), so a member larger than the gap before it still comes from its own range."""
    members: list[bytes | int] = [RNG.randbytes(100), (1 << 20) + 100_000, RNG.randbytes(3 << 19), 3 << 20]
    entries, data = _pack(store, members, "large")
    spy = Spy(store)
    sink, _ = _fetch(spy, entries, tmp_path)
    assert [len(b) for b in spy.batches] == [2]
    assert sorted(sink.packed) == sorted(data.items())
