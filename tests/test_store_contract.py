"""The Store contract, run against every backend on real servers (moto, fake-gcs-server).

``StoreContract`` holds the tests; each ``Test*Store`` subclass only says which remote to open.
Below it: factory, error-translation and start-up tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from artcli.errors import ArtcliError, ConflictError, NotFoundError, RemoteError, UnsafeRemoteError, UsageError
from artcli.redact import one_line as sanitize
from artcli.store import Store, open_store
from artcli.store.errors import to_artcli_error, translate

from netwatch import count_connects

Remote = tuple[str, dict[str, str]]
ROOT = Path(__file__).resolve().parents[1]

# A racing writer: opens its own store (like a CLI process), waits for the start signal, then
# tries to create every key, and reports the keys it won.
RACE_WORKER = r"""
import json, os, sys, time
from artcli.store import open_store
spec = json.load(open(sys.argv[1]))
store = open_store(spec["url"], spec["options"])
store.exists("warm-up")  # connect before the start signal
open(spec["ready"] + sys.argv[2], "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(spec["go"]):
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.002)
ident = sys.argv[2]
won = [k for k in spec["keys"] if store.put_if_absent(k, f"{ident}:{k}".encode() * 3)]
with open(spec["out"] + ident, "w") as f:
    json.dump(won, f)
"""


def race_processes(
    remote: Remote, keys: list[str], n_procs: int, tmp_path: Path, env: dict[str, str]
) -> dict[str, str]:
    """Run ``n_procs`` writer processes racing on ``keys``; return key -> the single winner."""
    spec_path = tmp_path / "race.json"
    spec = {
        "url": remote[0],
        "options": remote[1],
        "keys": keys,
        "ready": str(tmp_path / "ready-"),
        "go": str(tmp_path / "go"),
        "out": str(tmp_path / "won-"),
    }
    spec_path.write_text(json.dumps(spec))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE_WORKER, str(spec_path), f"w{i}"], env=env, cwd=ROOT, stderr=subprocess.PIPE
        )
        for i in range(n_procs)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-w{i}").exists() for i in range(n_procs)):
            dead = [p for p in procs if p.poll() not in (None, 0)]
            assert not dead, dead[0].stderr.read().decode() if dead[0].stderr else "worker died"
            assert time.monotonic() < deadline, "workers never got ready"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err.decode()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    winners: dict[str, str] = {}
    for i in range(n_procs):
        for key in json.loads((tmp_path / f"won-w{i}").read_text()):
            assert key not in winners, f"{key} won by both {winners[key]} and w{i}"
            winners[key] = f"w{i}"
    return winners


class StoreContract:
    """What every backend must do. Subclasses provide the ``remote`` fixture: ``(url, options)``."""

    @pytest.fixture
    def remote(self) -> Remote:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def store(self, remote: Remote) -> Iterator[Store]:
        store = open_store(*remote)
        yield store
        store.close()

    # -- get / put -----------------------------------------------------------------------
    def test_put_get_round_trip(self, store: Store) -> None:
        blobs = {"a": b"hello", "dir/sub/b.bin": bytes(range(256)) * 100, "empty": b"", "x y/z": b"sp ace"}
        for key, data in blobs.items():
            store.put(key, data)
        for key, data in blobs.items():
            assert store.get(key) == data

    def test_missing_is_not_found(self, store: Store) -> None:
        for call in (store.get, store.info, store.open):
            with pytest.raises(NotFoundError) as info:
                call("no/such/key")
            assert "no/such/key" in str(info.value)
        assert store.exists("no/such/key") is False
        store.put("no/such", b"a prefix of the key is an object, not a directory")
        with pytest.raises(NotFoundError):
            store.get("no/such/key")

    def test_put_overwrites(self, store: Store) -> None:
        store.put("k", b"one")
        store.put("k", b"two, longer")
        assert store.get("k") == b"two, longer"
        store.put("k", b"3")
        assert store.get("k") == b"3"
        assert [o.key for o in store.list("")] == ["k"]  # no temp files left behind

    def test_invalid_keys_are_refused(self, store: Store) -> None:
        for bad in ("", "/abs", "../up", "a/../b", "a//b", "a/", "./a", "a\\b", "nul\x00"):
            with pytest.raises(UsageError):
                store.put(bad, b"x")
            with pytest.raises(UsageError):
                store.get(bad)

    # -- ranges & files ------------------------------------------------------------------
    def test_get_ranges(self, store: Store) -> None:
        one = bytes(range(256)) * 400  # 100 KiB
        two = os.urandom(300_000)
        store.put("packs/one", one)
        store.put("packs/two", two)
        wanted = [
            ("packs/one", 0, 10),
            ("packs/two", 5, 6),
            ("packs/one", 100, 100),
            ("packs/one", 50, 70),
            ("packs/two", 200_000, 299_999),
            ("packs/one", 8, 20),
            ("packs/two", 0, 300_000),
            ("packs/one", 102_000, 102_400),
            ("packs/two", 250_000, 400_000),
        ]
        got = store.get_ranges(wanted)
        data = {"packs/one": one, "packs/two": two}
        assert got == [data[k][s:e] for k, s, e in wanted]
        assert store.get_ranges([]) == []

    def test_get_ranges_missing_names_the_key(self, store: Store) -> None:
        store.put("present", b"0123456789")
        with pytest.raises(NotFoundError) as info:
            store.get_ranges([("present", 0, 5), ("absent/key", 0, 5)])
        assert "absent/key" in str(info.value)

    def test_put_files_get_files(self, store: Store, tmp_path: Path) -> None:
        src = tmp_path / "src"
        src.mkdir()
        contents = {"f/small": b"small", "f/empty": b"", "f/mid": os.urandom(300_000), "f/big": os.urandom(20 * 2**20)}
        pairs = []
        for i, (key, data) in enumerate(contents.items()):
            (src / f"file{i}").write_bytes(data)
            pairs.append((str(src / f"file{i}"), key))
        store.put_files(pairs)
        assert {o.key: o.size for o in store.list("f/")} == {k: len(v) for k, v in contents.items()}
        dst = tmp_path / "dst"
        store.get_files([(key, str(dst / "nested" / key)) for key in contents])
        for key, data in contents.items():
            assert (dst / "nested" / key).read_bytes() == data
        assert sorted(p.name for p in (dst / "nested" / "f").iterdir()) == sorted(k[2:] for k in contents)
        store.put_files([])
        store.get_files([])

    def test_get_files_missing_names_key_and_leaves_nothing(self, store: Store, tmp_path: Path) -> None:
        store.put("have", b"x")
        dst = tmp_path / "dst"
        with pytest.raises(NotFoundError) as info:
            store.get_files([("have", str(dst / "have")), ("gone/away", str(dst / "gone"))])
        assert "gone/away" in str(info.value)
        assert not (dst / "gone").exists()
        assert not [p for p in dst.rglob("*") if "artcli" in p.name]

    def test_get_files_hashed_digests_what_it_writes(self, store: Store, tmp_path: Path) -> None:
        from artcli.hashing import digest_bytes

        big, small = os.urandom(3 * 2**20 + 5), b"small\n"
        store.put("h/big", big)
        store.put("h/small", small)
        if hasattr(store, "stream_chunk"):
            store.stream_chunk = 1 << 20  # several reads per object
        dst = tmp_path / "dst"
        got = store.get_files_hashed([("h/big", str(dst / "big"), len(big)), ("h/small", str(dst / "s" / "small"), None)])
        assert got == [digest_bytes(big), digest_bytes(small)]
        assert (dst / "big").read_bytes() == big and (dst / "s" / "small").read_bytes() == small
        with pytest.raises(NotFoundError) as info:
            store.get_files_hashed([("h/small", str(dst / "again"), None), ("h/gone", str(dst / "gone"), 10)])
        assert "h/gone" in str(info.value)
        assert not (dst / "gone").exists()
        assert not [p for p in dst.rglob("*") if "artcli" in p.name]

    def test_get_files_hashed_says_as_each_file_lands(self, store: Store, tmp_path: Path) -> None:
        """``done(i, digest)`` comes once per file, when its bytes are complete at their final
        name: a download can use a file while the others are still arriving."""
        from artcli.hashing import digest_bytes, digest_file

        blobs = [os.urandom(2**20 + i) for i in range(3)] + [b"tiny"]
        for i, b in enumerate(blobs):
            store.put(f"d/{i}", b)
        dst = tmp_path / "dst"
        seen: dict[int, tuple[str, str]] = {}

        def done(i: int, digest: str) -> None:
            assert i not in seen, "told twice"
            seen[i] = (digest, digest_file(dst / str(i)))  # complete, under its final name, now

        got = store.get_files_hashed([(f"d/{i}", str(dst / str(i)), len(b)) for i, b in enumerate(blobs)], done=done)
        want = [digest_bytes(b) for b in blobs]
        assert got == want
        assert seen == {i: (d, d) for i, d in enumerate(want)}

    def test_put_files_missing_source(self, store: Store, tmp_path: Path) -> None:
        with pytest.raises(NotFoundError) as info:
            store.put_files([(str(tmp_path / "nope"), "k")])
        assert "local file" in str(info.value)
        assert not store.exists("k")

    def test_open_streams(self, store: Store) -> None:
        data = os.urandom(3 * 2**20 + 7)
        store.put("stream/obj", data)
        with store.open("stream/obj") as f:
            parts = []
            while chunk := f.read(1 << 20):
                parts.append(chunk)
            assert b"".join(parts) == data
            f.seek(100)
            assert f.read(10) == data[100:110]

    def test_exists_and_info(self, store: Store) -> None:
        store.put("info/obj", b"12345")
        assert store.exists("info/obj")
        assert not store.exists("info")  # a "directory" is not an object
        info = store.info("info/obj")
        assert (info.key, info.size) == ("info/obj", 5)
        assert info.mtime is None or abs(info.mtime - time.time()) < 600
        with pytest.raises(NotFoundError):
            store.info("info")

    # -- listing -------------------------------------------------------------------------
    def test_list_order_prefix_and_start_after(self, store: Store) -> None:
        keys = [
            "a/b",
            "a.txt",
            "a/c/d",
            "a0",
            "b",
            "a/b2",
            "ab/x",
            "events/000000000002.json",
            "events/000000000000.json",
            "events/000000000001.json",
            "events/000000000010.json",
        ]
        for k in keys:
            store.put(k, k.encode())
        if hasattr(store, "list_page_size"):
            store.list_page_size = 2  # exercise pagination on cloud backends
        listed = list(store.list(""))
        assert [o.key for o in listed] == sorted(keys)
        assert all(o.size == len(o.key) for o in listed)
        assert [o.key for o in store.list("a")] == ["a.txt", "a/b", "a/b2", "a/c/d", "a0", "ab/x"]
        assert [o.key for o in store.list("a/")] == ["a/b", "a/b2", "a/c/d"]
        assert [o.key for o in store.list("a/b")] == ["a/b", "a/b2"]
        assert [o.key for o in store.list("a/c/")] == ["a/c/d"]
        assert [o.key for o in store.list("events/", start_after="events/000000000001.json")] == [
            "events/000000000002.json",
            "events/000000000010.json",
        ]
        assert [o.key for o in store.list("events/", start_after="events/000000000010.json")] == []
        assert [o.key for o in store.list("a", start_after="a/b2")] == ["a/c/d", "a0", "ab/x"]
        assert [o.key for o in store.list("", start_after="a0")] == ["ab/x", "b", *sorted(keys)[-4:]]
        assert list(store.list("zzz/")) == []
        assert list(store.list("nothing/here/")) == []

    def test_list_dirs(self, store: Store) -> None:
        for k in ["p/arts/a/events/0", "p/arts/a/events/1", "p/arts/b.c/x", "p/arts/b/y/z", "p/arts/file",
                  "p/arts/c-d/1", "p/other/e/1", "p/arts0/f/1"]:
            store.put(k, b"x")
        if hasattr(store, "list_page_size"):
            store.list_page_size = 2  # pagination of folders on cloud backends
        assert list(store.list_dirs("p/arts/")) == ["a", "b.c", "b", "c-d"]  # key order: "b.c/" < "b/"
        assert list(store.list_dirs("p/")) == ["arts", "arts0", "other"]
        assert list(store.list_dirs("p/arts/a/events/")) == []
        assert list(store.list_dirs("nothing/")) == []

    def test_list_dirs_is_one_entry_per_folder_on_cloud_backends(self, store: Store,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
        """Cloud backends list folders with a delimiter: pages grow with folders, not keys (``ls``
        of a project lists artifact folders, each holding thousands of events)."""
        if not hasattr(store, "list_page_size"):
            pytest.skip("folders are directory reads here")
        for d in "abc":
            for i in range(6):
                store.put(f"p/{d}/events/{i:012d}.json", b"x")
        store.list_page_size = 2
        pages = 0
        guard = store.guard  # type: ignore[attr-defined]

        def counting(key: str) -> Any:
            nonlocal pages
            pages += 1
            return guard(key)

        monkeypatch.setattr(store, "guard", counting)
        assert list(store.list_dirs("p/")) == ["a", "b", "c"]
        assert pages <= 2  # walking every key would take 9 pages of 2

    def test_list_is_lazy(self, store: Store) -> None:
        for i in range(5):
            store.put(f"lazy/{i}", b"x")
        if hasattr(store, "list_page_size"):
            store.list_page_size = 2
        it = store.list("lazy/")
        assert next(it).key == "lazy/0"
        it.close()

    # -- delete --------------------------------------------------------------------------
    def test_delete_is_idempotent(self, store: Store) -> None:
        store.put("del/me", b"x")
        store.put("del/keep", b"y")
        store.delete("del/me")
        store.delete("del/me")
        store.delete("never/existed")
        assert not store.exists("del/me")
        assert [o.key for o in store.list("del/")] == ["del/keep"]

    # -- exclusive create ----------------------------------------------------------------
    def test_put_if_absent(self, store: Store) -> None:
        assert store.atomic_create
        assert store.put_if_absent("ev/000", b"first") is True
        assert store.put_if_absent("ev/000", b"second") is False
        assert store.get("ev/000") == b"first"
        # identical bytes count as ours: a retried request whose first attempt landed is a win
        assert store.put_if_absent("ev/000", b"first") is True
        assert store.get("ev/000") == b"first"
        assert [o.key for o in store.list("ev/")] == ["ev/000"]

    #: keys and threads for the in-process race; cloud backends override with fewer (each is a request)
    race_keys = 400
    race_threads = 16
    #: in-process locks are what a tiny interval tests; cloud stores' atomicity is the server's
    race_switch_interval: float | None = 1e-6

    def test_put_if_absent_race_threads(self, store: Store) -> None:
        """Many threads, one barrier, a tiny switch interval: a check-then-write loses here.

        The switch interval makes the interpreter hand over between almost every bytecode, so
        two threads do land between one's existence check and its write when no lock prevents it.
        """
        keys = [f"race/t/{i:04d}" for i in range(self.race_keys)]
        won: dict[str, list[int]] = {k: [] for k in keys}
        barrier = threading.Barrier(self.race_threads)
        errors: list[BaseException] = []

        def writer(ident: int) -> None:
            try:
                barrier.wait()
                for k in keys:
                    if store.put_if_absent(k, f"{ident}:{k}".encode()):
                        won[k].append(ident)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(self.race_threads)]
        interval = sys.getswitchinterval()
        if self.race_switch_interval:
            sys.setswitchinterval(self.race_switch_interval)
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            sys.setswitchinterval(interval)
        assert not errors, errors
        for k in keys:
            assert len(won[k]) == 1, (k, won[k])
            assert store.get(k) == f"{won[k][0]}:{k}".encode()

    def test_put_if_absent_race_processes(
        self, remote: Remote, store: Store, tmp_path: Path, subprocess_env: Callable[..., dict[str, str]]
    ) -> None:
        if remote[0].startswith("memory://"):
            pytest.skip("a memory store lives in one process")
        keys = [f"race/p/{i:03d}" for i in range(40)]
        winners = race_processes(remote, keys, 8, tmp_path, subprocess_env())
        assert sorted(winners) == keys
        for k in keys:
            assert store.get(k) == f"{winners[k]}:{k}".encode() * 3, f"{k}: stored bytes are not the winner's"


class TestFileStore(StoreContract):
    @pytest.fixture
    def remote(self, make_remote: Callable[[str], Remote]) -> Remote:
        return make_remote("file")


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def remote(self, make_remote: Callable[[str], Remote]) -> Remote:
        return make_remote("memory")


@pytest.mark.s3
class TestS3Store(StoreContract):
    race_keys = 30
    race_threads = 8
    race_switch_interval = None

    @pytest.fixture
    def remote(self, make_remote: Callable[[str], Remote]) -> Remote:
        return make_remote("s3")


@pytest.mark.gcs
class TestGcsStore(StoreContract):
    race_keys = 30
    race_threads = 8
    race_switch_interval = None

    @pytest.fixture
    def remote(self, make_remote: Callable[[str], Remote]) -> Remote:
        return make_remote("gcs")


@pytest.mark.azure
class TestAzureStore(StoreContract):
    race_keys = 30
    race_threads = 8
    race_switch_interval = None

    @pytest.fixture
    def remote(self, make_remote: Callable[[str], Remote]) -> Remote:
        return make_remote("azure")


# -- local exclusive create, harder ------------------------------------------------------------
def test_local_put_if_absent_race_is_exact(tmp_path: Path, subprocess_env: Callable[..., dict[str, str]]) -> None:
    """fsspec's local pipe_file(mode="create") lets several writers win; ours must not (12 x 300)."""
    remote = ((tmp_path / "remote").as_uri(), {})
    keys = [f"events/{i:012d}.json" for i in range(300)]
    winners = race_processes(remote, keys, 12, tmp_path, subprocess_env())
    assert sorted(winners) == keys
    store = open_store(*remote)
    assert all(store.get(k) == f"{winners[k]}:{k}".encode() * 3 for k in keys)
    assert not [p for p in (tmp_path / "remote").rglob("*") if p.name.startswith(".artcli-tmp-")]


def _tmp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".artcli-tmp-")]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name an fsync's file")
def test_local_writes_publish_a_synced_temp_file_from_beside_the_object(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``put`` and ``put_if_absent`` write a temp file in the object's own folder (so the rename
    or link cannot cross filesystems), fsync it, and only then make it appear under its name."""
    seen: list[tuple[str, ...]] = []
    real = {name: getattr(os, name) for name in ("fsync", "link", "replace")}

    def fsync(fd: int) -> None:
        seen.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real["fsync"](fd)

    def moved(name: str) -> Callable[..., None]:
        def call(src: str, dst: str, *a: object, **kw: object) -> None:
            seen.append((name, str(src), str(dst)))
            real[name](src, dst, *a, **kw)
        return call

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", moved("link"))
    monkeypatch.setattr(os, "replace", moved("replace"))
    store = open_store(str(tmp_path / "r"))
    for how, write in (("replace", lambda: store.put("a/b/put", b"1")),
                       ("link", lambda: store.put_if_absent("a/b/excl", b"2"))):
        seen.clear()
        write()
        (_, src, dst), = [e for e in seen if e[0] == how]
        assert os.path.dirname(src) == os.path.dirname(dst) and src != dst, seen
        assert seen.index(("fsync", src)) < seen.index((how, src, dst)), seen
    assert store.get("a/b/put") == b"1" and store.get("a/b/excl") == b"2"
    assert not _tmp_files(tmp_path / "r")


def test_local_put_if_absent_without_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A filesystem that cannot hard-link (EPERM, as on some SMB/FUSE mounts): O_EXCL instead,
    still one winner per key, identical bytes still a win, no temp file left."""
    import errno

    def no_link(src: str, dst: str, *a: object, **kw: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_link)
    store = open_store(str(tmp_path / "r"))
    assert store.put_if_absent("ev/0", b"first") is True
    assert store.put_if_absent("ev/0", b"second") is False
    assert store.put_if_absent("ev/0", b"first") is True
    assert store.get("ev/0") == b"first"
    keys = [f"race/{i:03d}" for i in range(100)]
    won: dict[str, list[int]] = {k: [] for k in keys}
    barrier = threading.Barrier(8)

    def writer(ident: int) -> None:
        barrier.wait()
        for k in keys:
            if store.put_if_absent(k, f"{ident}:{k}".encode()):
                won[k].append(ident)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(w) == 1 and store.get(k) == f"{w[0]}:{k}".encode() for k, w in won.items()), won
    assert not _tmp_files(tmp_path / "r")


def test_local_put_if_absent_other_link_errors_are_not_a_fallback(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Only "cannot hard-link here" falls back to O_EXCL; any other failure is an error."""
    import errno

    def broken(src: str, dst: str, *a: object, **kw: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "link", broken)
    store = open_store(str(tmp_path / "r"))
    with pytest.raises(RemoteError):
        store.put_if_absent("ev/0", b"x")
    assert not store.exists("ev/0") and not _tmp_files(tmp_path / "r")


def test_local_failed_writes_leave_no_temp_file(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "r"))
    store.put("d/inside", b"x")
    with pytest.raises(ArtcliError):
        store.put("d", b"a folder is in the way of the rename")
    with pytest.raises(TypeError):
        store.put("e", "not bytes")  # type: ignore[arg-type]
    assert store.put_if_absent("d", b"a folder holds the name") is False
    assert not _tmp_files(tmp_path / "r") and not store.exists("e")


def test_local_errors_name_the_object(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "r"))
    key = "k" * 300  # over NAME_MAX: every call fails in the OS
    for call in (lambda: store.put(key, b"x"), lambda: store.put_if_absent(key, b"x"),
                 lambda: store.get(key), lambda: store.delete(key)):
        with pytest.raises(RemoteError) as info:
            call()
        assert f"{store.url}/{key}" in str(info.value)


def test_local_same_bytes_of_a_vanished_object_is_a_loss(tmp_path: Path) -> None:
    """put_if_absent lost the race, then the winner's object vanished (a gc): still a loss."""
    from artcli.store.local import LocalStore

    assert LocalStore._same_bytes(str(tmp_path / "gone"), b"x") is False


# -- open_store --------------------------------------------------------------------------------
def test_open_store_local_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url in (
        "rel/store",
        str(tmp_path / "abs"),
        (tmp_path / "uri store").as_uri(),
        f"file://{tmp_path}/plain-uri",
        f"file://localhost{tmp_path}/host-uri",
    ):
        store = open_store(url)
        store.put("k", b"v")
        assert store.url.startswith("file:///")
    assert (tmp_path / "rel" / "store" / "k").read_bytes() == b"v"
    assert (tmp_path / "uri store" / "k").read_bytes() == b"v"
    assert (tmp_path / "host-uri" / "k").read_bytes() == b"v"


def test_open_store_memory_urls_round_trip() -> None:
    """A memory store's URL is ``memory://<name>`` (it names objects in messages and keys the
    local caches), and opening that URL again reaches the same objects."""
    store = open_store("memory://round-trip/")
    assert store.url == "memory://round-trip"
    store.put("k", b"v")
    assert open_store(store.url).get("k") == b"v"
    assert store.public_url("a/b") == "memory://round-trip/a/b"


def test_open_store_refuses_bad_urls_and_options(tmp_path: Path) -> None:
    for url, options in [
        ("nosuchscheme://x/y", {}),
        ("s3://AKIA:secret@bucket/p", {}),
        ("s3://bucket/p?X-Amz-Signature=abc", {}),
        ("s3://Bad_Bucket!/p", {}),
        ("s3://bucket/a/../b", {}),
        ("memory://", {}),
        ("file://otherhost/x", {}),
        (str(tmp_path), {"endpoint_url": "http://x"}),
        ("s3://bucket", {"endpoint": "http://typo"}),
        ("s3://bucket", {"anon": "maybe"}),
        ("s3://bucket", {"max_attempts": "0"}),
        ("gs://bucket", {"connect_timeout": "soon"}),
    ]:
        with pytest.raises(UsageError) as info:
            open_store(url, options)
        assert "secret" not in str(info.value) and "abc" not in str(info.value)


def test_open_store_urls_are_canonical(s3_server: str, gcs_server: str) -> None:
    assert open_store("s3://bucket/a/b/", {"endpoint_url": s3_server}).url == "s3://bucket/a/b"
    assert open_store("s3a://bucket").url == "s3://bucket"
    assert open_store("gcs://bucket//x").url == "gs://bucket/x"
    assert open_store("memory://name/").url == "memory://name"


def test_s3_honours_aws_endpoint_url_env(s3_server: str, s3_bucket: str) -> None:
    assert os.environ["AWS_ENDPOINT_URL"] == s3_server  # exported by the fixture
    store = open_store(f"s3://{s3_bucket}")
    store.put("via-env", b"ok")
    assert store.get("via-env") == b"ok"


def test_generic_fsspec_backend_refuses_exclusive_create() -> None:
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    class OtherMemory(MemoryFileSystem):
        protocol = "artcli-test-mem"
        store: dict = {}  # noqa: RUF012 - fsspec's own convention
        pseudo_dirs = [""]  # noqa: RUF012

    fsspec.register_implementation("artcli-test-mem", OtherMemory, clobber=True)
    store = open_store("artcli-test-mem://root", {"skip_instance_cache": "true"})
    assert not store.atomic_create
    store.put("a/b", b"x")
    assert store.get("a/b") == b"x" and [o.key for o in store.list("")] == ["a/b"]
    with pytest.raises(UnsafeRemoteError):
        store.put_if_absent("ev", b"1")
    unsafe = open_store("artcli-test-mem://root", {"unsafe_writes": "true"})
    assert unsafe.put_if_absent("ev", b"1") is True
    assert unsafe.put_if_absent("ev", b"2") is False


@pytest.mark.gcs
def test_gcs_put_if_absent_refuses_large_objects(make_remote: Callable[[str], Remote]) -> None:
    store = open_store(*make_remote("gcs"))
    with pytest.raises(UnsafeRemoteError):
        store.put_if_absent("big", b"x" * (5 * 2**20 + 1))
    assert not store.exists("big")


def test_s3_put_if_absent_retries_conditional_conflict() -> None:
    """409 ConditionalRequestConflict = a concurrent conditional write in flight: retry, then decide."""
    from artcli.store.s3 import S3Store

    class ClientError(Exception):
        def __init__(self, code: str, status: int) -> None:
            super().__init__(code)
            self.response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}

    class FakeClient:
        calls = 0

        def call(self, operation: str, **kwargs: object) -> dict[str, object]:
            assert operation == "put_object" and kwargs["IfNoneMatch"] == "*"
            FakeClient.calls += 1
            if FakeClient.calls < 3:
                raise ClientError("ConditionalRequestConflict", 409)
            raise ClientError("PreconditionFailed", 412)

        def read(self, **kwargs: object) -> bytes:
            return b"theirs"

    def no_s3fs() -> None:
        raise AssertionError("one request needs no s3fs")

    store = S3Store(FakeClient(), no_s3fs, "bucket", "p", "s3://bucket/p")  # type: ignore[arg-type]
    assert store.put_if_absent("k", b"mine") is False
    assert FakeClient.calls == 3


# -- failures of the remote itself ---------------------------------------------------------------
def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_unreachable_endpoint_fails_fast(scheme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``max_attempts=1``: one connection attempt per call, then exit 6's error (counted, not timed)."""
    port = _closed_port()
    endpoint = f"http://127.0.0.1:{port}"
    store = open_store(f"{scheme}://bucket/p", {"endpoint_url": endpoint, "max_attempts": "1", "connect_timeout": "2"})
    attempts = count_connects(monkeypatch, port)
    for call in (lambda: store.get("k"), lambda: list(store.list("")), lambda: store.put_if_absent("k", b"x")):
        attempts.clear()
        with pytest.raises(RemoteError) as info:
            call()
        assert len(attempts) == 1, f"{len(attempts)} attempts with max_attempts=1"
        assert "cannot reach" in str(info.value) and f"{scheme}://bucket/p" in str(info.value)
        assert info.value.exit_code == 6


@pytest.mark.parametrize("kind", [pytest.param("s3", marks=pytest.mark.s3), pytest.param("gcs", marks=pytest.mark.gcs)])
def test_missing_bucket_is_remote_error(kind: str, make_remote: Callable[[str], Remote]) -> None:
    url, options = make_remote(kind)
    scheme = url.split("://")[0]
    store = open_store(f"{scheme}://no-such-bucket-{os.getpid()}/p", options)
    for call in (
        lambda: store.get("k"),
        lambda: store.exists("k"),
        lambda: list(store.list("")),
        lambda: store.put("k", b"x"),
        lambda: store.put_if_absent("k", b"x"),
        lambda: store.info("k"),
        lambda: store.delete("k"),
    ):
        with pytest.raises(RemoteError) as info:
            call()
        assert f"no-such-bucket-{os.getpid()}" in str(info.value) and "does not exist" in str(info.value)


# -- error translation, without any cloud library --------------------------------------------------
def test_translate_by_class_name_and_codes() -> None:
    def named(name: str, base: type[Exception] = Exception, **attrs: object) -> Exception:
        exc = type(name, (base,), {})("Could not connect to the endpoint URL: http://h/b/k?X-Amz-Signature=zz")
        exc.__dict__.update(attrs)
        return exc

    cases: list[tuple[BaseException, type[ArtcliError], str]] = [
        (FileNotFoundError("k"), NotFoundError, "not found"),
        (PermissionError("Access Denied"), RemoteError, "access denied"),
        (named("EndpointConnectionError"), RemoteError, "cannot reach"),
        (named("ClientConnectorError", OSError), RemoteError, "cannot reach"),
        (ConnectionRefusedError(111, "Connection refused"), RemoteError, "cannot reach"),
        (TimeoutError(), RemoteError, "cannot reach"),
        (named("NoCredentialsError"), RemoteError, "credentials"),
        (named("ClientError", response={"Error": {"Code": "AccessDenied"}}), RemoteError, "access denied"),
        (
            named("ClientError", response={"Error": {"Code": "NoSuchBucket", "BucketName": "b"}}),
            RemoteError,
            "does not exist",
        ),
        (named("HttpError", code=403), RemoteError, "access denied"),
        (FileExistsError("k"), ConflictError, "already exists"),
        (ValueError("Bad Request"), RemoteError, "remote error"),
    ]
    for exc, cls, words in cases:
        err = to_artcli_error(exc, "s3://b/p/k")
        assert type(err) is cls, (exc, err)
        assert words in str(err) and "s3://b/p/k" in str(err), str(err)
        assert "zz" not in str(err)
    # a translated NoSuchBucket hides behind FileNotFoundError as its __cause__ (s3fs)
    wrapped = FileNotFoundError("The specified bucket does not exist")
    wrapped.__cause__ = named("ClientError", response={"Error": {"Code": "NoSuchBucket"}})
    assert "bucket 'b' does not exist" in str(to_artcli_error(wrapped, "s3://b/p/k"))
    # programming errors are not disguised as remote errors
    assert to_artcli_error(TypeError("bug"), "s3://b") is None
    with pytest.raises(NotFoundError) as info, translate("gs://b/k"):
        raise FileNotFoundError("x")
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_sanitize_strips_credentials() -> None:
    text = (
        "GET https://AKIAXXX:s3cr3t@host/b/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=deadbeef failed\n"
        "second line token=abc123 password: hunter2"
    )
    clean = sanitize(text)
    for secret in ("s3cr3t", "deadbeef", "AKIA%2F", "abc123", "hunter2", "\n"):
        assert secret not in clean
    assert "https://host/b/k" in clean


def test_sanitize_strips_every_query_string() -> None:
    """A URL's whole query goes, whatever its parameters are called: an Azure SAS (``sig=``,
    ``se=``, ``skoid=``), a presigned GCS URL, an OAuth ``code=``. No name list could cover them."""
    sas = "sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&skoid=9f1c&sig=Zm9v%2BYmFy%3D"
    text = (f"error: GET https://acct.blob.core.windows.net/c/b.bin?{sas} failed; "
            "see https://storage.googleapis.com/b/o?X-Goog-Date=20300101&X-Goog-Signature=ab12cd; "
            "callback http://127.0.0.1:8080/cb?code=4%2F0Adeu5BX&state=s7#frag-secret")
    clean = sanitize(text)
    for secret in ("Zm9v%2BYmFy%3D", "skoid=9f1c", "ab12cd", "4%2F0Adeu5BX", "state=s7", "frag-secret", "?"):
        assert secret not in clean, (secret, clean)
    for kept in ("https://acct.blob.core.windows.net/c/b.bin", "https://storage.googleapis.com/b/o",
                 "http://127.0.0.1:8080/cb", "failed;"):
        assert kept in clean, (kept, clean)


# -- start-up cost ----------------------------------------------------------------------------------
def test_import_store_does_not_import_cloud_libraries(tmp_path: Path) -> None:
    code = (
        "import sys, artcli.store as s\n"
        f"st = s.open_store({str(tmp_path / 'r')!r}); st.put('k', b'v'); assert st.get('k') == b'v'\n"
        "heavy = ('fsspec', 'boto3', 'botocore', 's3fs', 'gcsfs', 'aiohttp', 'aiobotocore', 'adlfs', 'azure')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "", f"imported at start-up: {out.stdout}"


class _EmptyBody:
    def stream(self, **_: object) -> Iterator[bytes]:
        return iter([b""])


@pytest.mark.parametrize(("endpoint", "options", "signed"), [
    ("https://s3.example.invalid", {}, False),
    ("http://minio.example.invalid:9000", {}, True),
    ("http://10.1.2.3:9000", {}, True),
    ("http://127.0.0.1:9", {}, False),
    ("http://localhost:9", {}, False),
    ("http://[::1]:9", {}, False),
    ("http://127.0.0.1:9", {"sign_payload": "true"}, True),
    ("http://minio.example.invalid:9000", {"sign_payload": "false"}, False),
    ("https://s3.example.invalid", {"sign_payload": "true"}, True),
])
def test_s3_signs_request_bodies_only_where_the_bytes_can_change(endpoint: str, options: dict[str, str],
                                                                 signed: bool) -> None:
    """The SHA-256 payload signature (~0.5 s of CPU per GiB) is what catches a body changed on
    its way: needed over plain HTTP to another host, not over TLS nor over loopback; the
    ``sign_payload`` option overrides either way."""
    import botocore.session
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    from artcli.store.s3 import open_s3

    store = open_s3("bkt", "p", "s3://bkt/p", {"endpoint_url": endpoint, **options})
    seen: dict[str, str] = {}

    def capture(request, **_: object) -> AWSResponse:  # answer locally: nothing leaves the process
        seen.update({k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})
        return AWSResponse(request.url, 200, {}, _EmptyBody())

    session = botocore.session.get_session()
    client = session.create_client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                   aws_access_key_id="k", aws_secret_access_key="s",
                                   config=Config(**store.fs.config_kwargs))
    client.meta.events.register("before-send.s3.PutObject", capture)
    client.put_object(Bucket="bkt", Key="k", Body=b"x" * 1000)
    assert (seen["X-Amz-Content-SHA256"] != "UNSIGNED-PAYLOAD") is signed
    assert "x-amz-checksum-crc32" not in {k.lower() for k in seen}


@pytest.mark.parametrize(("env", "signed"), [
    ({}, False),  # AWS itself: HTTPS
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}, False),
    ({"AWS_ENDPOINT_URL": "http://minio.example.invalid:9000"}, True),
    ({"AWS_ENDPOINT_URL_S3": "http://minio.example.invalid:9000", "AWS_ENDPOINT_URL": "https://x.invalid"}, True),
])
def test_s3_signing_follows_the_endpoint_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                      signed: bool) -> None:
    from artcli.store.s3 import _signs_payload

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _signs_payload(None) is signed
