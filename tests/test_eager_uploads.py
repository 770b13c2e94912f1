"""``log`` uploads large files while the rest still hash (artcli/upload.py): what that may
write, when, and what it must never trust."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from artcli import layout
from artcli.errors import ConflictError
from artcli.inputs import scan
from artcli.packs import PACK_THRESHOLD
from artcli.remoteindex import LooseProbe
from artcli.store import open_store
from artcli.store.fsspec_store import FsspecStore
from artcli.store.gcs import GcsStore
from artcli.store.local import LocalStore
from artcli.store.memory import MemoryStore
from artcli.store.s3 import S3Store
from artcli.upload import put_checked

from clihelp import Cli, make_tree, tree_bytes

BIG = {f"big/{i}.bin": os.urandom(PACK_THRESHOLD + 1000 * i) for i in range(4)}
SMALL = {"notes.txt": b"small files still go to packs\n"}


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(method, key) of every write or delete any store in this process makes, in order."""
    seen: list[tuple[str, str]] = []

    def spy(method: str, orig: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, first: Any, *args: Any, **kwargs: Any) -> Any:
            keys = [k for _src, k in first] if method == "put_files" else [first]
            seen.extend((method, k) for k in keys)
            return orig(self, first, *args, **kwargs)

        return call

    for cls in (FsspecStore, LocalStore, MemoryStore, S3Store, GcsStore):
        for method in ("put", "put_files", "put_if_absent", "delete"):
            if method in cls.__dict__:
                monkeypatch.setattr(cls, method, spy(method, cls.__dict__[method]))
    return seen


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "data", {**BIG, **SMALL})


def _fresh(cli: Cli, tmp_path: Path, name: str) -> Cli:
    """Another machine on the same remote: an empty stat cache, so every file is hashed again."""
    return Cli(tmp_path / name, cli.remote)


def test_relog_from_a_fresh_clone_writes_nothing(any_cli: Cli, data: Path, tmp_path: Path,
                                                 writes: list[tuple[str, str]]) -> None:
    """Every large file is hashed anew and offered for upload, but all are stored already:
    the probes are reads, no lease is taken, nothing at all is written."""
    any_cli.ok("log", "ds", str(data))
    writes.clear()
    other = _fresh(any_cli, tmp_path, "clone")
    res = other.ok("log", "ds", str(data), "--json").json()
    assert res["created"] is False and res["version"] == "v0" and res["uploaded_files"] == 0
    assert writes == []


def test_only_new_large_files_travel(any_cli: Cli, data: Path, tmp_path: Path) -> None:
    any_cli.ok("log", "ds", str(data))
    (data / "big" / "new.bin").write_bytes(os.urandom(PACK_THRESHOLD + 5))
    other = _fresh(any_cli, tmp_path, "clone")
    res = other.ok("log", "ds", str(data), "--json").json()
    assert res["created"] is True and res["version"] == "v1"
    assert res["uploaded_files"] == 1 and res["uploaded_bytes"] == PACK_THRESHOLD + 5
    out = tmp_path / "out"
    any_cli.ok("download", "ds:v1", "--root", str(out))
    assert tree_bytes(out) == tree_bytes(data)


def test_the_lease_comes_before_the_first_blob(shared_cli: Cli, data: Path, writes: list[tuple[str, str]]) -> None:
    """docs/format.md §7.1: a writer holds its lease before it uploads anything a gc could see."""
    res = shared_cli.ok("log", "ds", str(data), "--json").json()
    assert res["uploaded_files"] == len(BIG) + len(SMALL)
    keys = [k for _m, k in writes]
    lease = next(i for i, k in enumerate(keys) if k.startswith("gc/writers/"))
    first_blob = next(i for i, k in enumerate(keys) if k.startswith(layout.BLOBS_PREFIX))
    assert lease < first_blob
    assert sum(k.startswith(layout.BLOBS_PREFIX) for k in keys) == len(BIG)
    assert ("delete", keys[lease]) in writes  # and it is given back


def test_a_probe_that_says_stored_is_only_a_hint(any_cli: Cli, data: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A blob the pre-lease probe saw may be garbage a gc deletes before the lease: it is
    confirmed inside the lease, and uploaded when it is not there."""
    monkeypatch.setattr(LooseProbe, "stored", lambda self, digest: True)
    res = any_cli.ok("log", "ds", str(data), "--json").json()
    assert res["uploaded_files"] == len(BIG) + len(SMALL)
    out = tmp_path / "out"
    _fresh(any_cli, tmp_path, "reader").ok("download", "ds", "--root", str(out))
    assert tree_bytes(out) == tree_bytes(data)


def test_a_file_changed_during_upload_leaves_no_blob(cli: Cli, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"f.bin": os.urandom(PACK_THRESHOLD)})
    (f,) = scan([str(src)])
    f.digest = "ab" * 32
    (src / "f.bin").write_bytes(os.urandom(PACK_THRESHOLD + 1))  # after the scan took its stat
    store = open_store(cli.remote or "", {})
    with pytest.raises(ConflictError, match="changed while it was being uploaded"):
        put_checked(SimpleNamespace(store=store), [f])  # type: ignore[arg-type]
    assert not store.exists(layout.blob_key(f.digest))


class _Counting:
    """Counts a store's LIST and HEAD requests."""

    def __init__(self, store: Any) -> None:
        self.store, self.lists, self.heads = store, 0, 0
        list_, exists = store.list, store.exists

        def counted_list(*a: Any, **k: Any) -> Iterator[Any]:
            self.lists += 1
            return list_(*a, **k)

        def counted_exists(key: str) -> bool:
            self.heads += 1
            return exists(key)

        store.list, store.exists = counted_list, counted_exists


def _stored(store: Any, n: int) -> list[str]:
    digests = [f"{i:02x}" * 32 for i in range(n)]
    for d in digests:
        store.put(layout.blob_key(d), b"x")
    return digests


@pytest.mark.parametrize("kind", ["s3", pytest.param("gcs", marks=pytest.mark.gcs)])
def test_probe_on_a_small_cloud_remote_is_one_list(make_remote: Callable[[str], Any], kind: str) -> None:
    url, options = make_remote(kind)
    store = open_store(url, options)
    digests = _stored(store, 5)
    c = _Counting(store)
    probe = LooseProbe(SimpleNamespace(store=store))  # type: ignore[arg-type]
    assert all(probe.stored(d) for d in digests)
    assert not probe.stored("ff" * 32)
    assert (c.lists, c.heads) == (1, 0)


@pytest.mark.parametrize("kind", ["s3", "file"])
def test_probe_on_a_big_or_local_remote_asks_per_blob(make_remote: Callable[[str], Any], kind: str) -> None:
    url, options = make_remote(kind)
    store = open_store(url, options)
    digests = _stored(store, 5)
    if kind == "s3":
        store.list_page_size = 2  # more blobs than one page
    c = _Counting(store)
    probe = LooseProbe(SimpleNamespace(store=store))  # type: ignore[arg-type]
    assert [probe.stored(d) for d in digests[:3]] == [True, True, True]
    assert not probe.stored("ff" * 32)
    assert c.heads == 4 and c.lists == (1 if kind == "s3" else 0)


def _spread(n: int) -> list[str]:
    """n digests in n different fan-out folders."""
    return [f"{i:02x}" + "c" * 62 for i in range(n)]


@pytest.mark.parametrize("big", [False, True])
def test_find_loose_lists_a_small_cloud_remote_once(make_remote: Callable[[str], Any], big: bool) -> None:
    from artcli.remoteindex import find_loose

    url, options = make_remote("s3")
    store = open_store(url, options)
    stored = _spread(6)
    for d in stored:
        store.put(layout.blob_key(d), b"x")
    if big:
        store.list_page_size = 2  # more loose blobs than one page: list the folders instead
    c = _Counting(store)
    wanted = [*stored[:4], "f0" + "c" * 62, "f1" + "c" * 62]
    assert find_loose(SimpleNamespace(store=store), wanted) == set(stored[:4])  # type: ignore[arg-type]
    assert c.lists == (1 + 6 if big else 1) and c.heads == 0


def test_concurrent_format_checks_stamp_the_remote_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        writes: list[tuple[str, str]]) -> None:
    """log's reader, eager uploaders and main thread all check the marker: one of them writes."""
    import threading
    import time

    from artcli.repo import Repo

    monkeypatch.setenv("ARTCLI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ARTCLI_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("ARTCLI_REMOTE", "memory://fmt-" + os.urandom(4).hex())
    repo = Repo.open()
    get = repo.store.get

    def slow_get(key: str) -> bytes:  # a real remote's latency: the answers arrive late
        try:
            return get(key)
        finally:
            time.sleep(0.05)

    repo.store.get = slow_get  # type: ignore[method-assign]
    threads = [threading.Thread(target=repo.check_format, kwargs={"for_write": True}) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [k for _m, k in writes] == [layout.MARKER_KEY]
    repo.close()
