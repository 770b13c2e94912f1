"""Every byte is verified; hostile manifests are refused before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artcli import canonical, layout, manifest
from artcli.hashing import digest_bytes
from artcli.model import Entry, Manifest
from artcli.store import open_store

from clihelp import Cli, make_tree, tree_bytes

SMALL = b"small file content\n"
BIG = os.urandom((1 << 20) + 5)


@pytest.fixture
def logged(cli: Cli, tmp_path: Path) -> Cli:
    make_tree(tmp_path / "d", {"small.txt": SMALL, "big.bin": BIG})
    cli.ok("log", "ds", str(tmp_path / "d"))
    return cli


def _store(cli: Cli):
    return open_store(cli.remote or "")


def test_corrupt_cache_blob_is_refetched(logged: Cli, tmp_path: Path) -> None:
    logged.ok("download", "ds", "--root", str(tmp_path / "o1"))
    cache = logged.home / "cache"
    files = [p for p in (*(cache / "files").rglob("*"), *(cache / "packs").iterdir()) if p.is_file()]
    assert len(files) == 2, "download should have cached the big file and the small one's pack"
    for p in files:  # flip bytes in every cached copy (loose file, local pack), keeping size and mtime
        st = p.stat()
        os.chmod(p, 0o644)
        data = bytearray(p.read_bytes())
        data[0] ^= 0xFF
        p.write_bytes(bytes(data))
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    res = logged.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()
    assert res["fetched_files"] == 2
    assert tree_bytes(tmp_path / "o2") == {"small.txt": SMALL, "big.bin": BIG}


@pytest.mark.parametrize("kind", ["bitflip", "truncate"])
def test_corrupt_remote_blob_exits_4(logged: Cli, tmp_path: Path, kind: str) -> None:
    store = _store(logged)
    key = layout.blob_key(digest_bytes(BIG))
    data = bytearray(store.get(key))
    bad = bytes(data[:-100]) if kind == "truncate" else bytes(data[:10]) + bytes([data[10] ^ 1]) + bytes(data[11:])
    store.put(key, bad)
    r = logged("download", "ds", "--root", str(tmp_path / "o"))
    assert r.code == 4, r.err
    assert "big.bin" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "o" / "big.bin").exists()
    assert not any(p.is_file() and digest_bytes(p.read_bytes()) == digest_bytes(bad)
                   for p in (logged.home / "cache").rglob("*")), "corrupt bytes entered the cache"


def test_corrupt_remote_pack_exits_4(logged: Cli, tmp_path: Path) -> None:
    store = _store(logged)
    pack = next(i.key for i in store.list(layout.PACKS_PREFIX) if not i.key.endswith(".idx"))
    data = bytearray(store.get(pack))
    data[0] ^= 1
    store.put(pack, bytes(data))
    r = logged("download", "ds", "--root", str(tmp_path / "o"))
    assert r.code == 4 and "small.txt" in r.err


def _plant_version(cli: Cli, entries: list[Entry], name: str = "evil") -> None:
    """Write a manifest and a version_created event by hand, as a hostile remote would."""
    store = _store(cli)
    digest, data = manifest.encode(Manifest(entries))
    store.put(layout.manifest_key(digest), manifest.compress(data))
    ev = {"type": "version_created", "version": 0, "digest": digest, "manifest": digest,  # no packs: the same
          "size": sum(e.size for e in entries), "files": len(entries), "artifact_type": "dataset", "seq": 0,
          "time": "2026-01-01T00:00:00.000000Z", "actor": {"user": "x", "host": "y", "run": None}}
    store.put(layout.event_key(layout.artifact_prefix("default", name), 0), canonical.dumps(ev))
    store.put_if_absent(layout.MARKER_KEY, canonical.dumps({"format": layout.FORMAT, "hash": layout.HASH}))


@pytest.mark.parametrize("path", ["../escape.txt", "/abs/escape.txt", "a/../../escape.txt", "C:/x.txt",
                                  "a\x00b", "a\\..\\b"])
def test_hostile_manifest_refused_before_writing(cli: Cli, tmp_path: Path, path: str) -> None:
    d = digest_bytes(b"x")
    _plant_version(cli, [Entry("aaa-first.txt", 1, d), Entry(path, 1, d)])
    target = tmp_path / "work" / "target"
    r = cli("download", "evil", "--root", str(target))
    assert r.code == 4, r.err
    assert "unsafe path" in r.err
    assert not target.exists() or not any(target.iterdir())
    assert not (tmp_path / "work" / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()


def test_symlink_planted_in_target_is_refused(logged: Cli, tmp_path: Path) -> None:
    make_tree(tmp_path / "d2", {"sub/f.txt": b"inside"})
    logged.ok("log", "nested", str(tmp_path / "d2"))
    target = tmp_path / "target"
    target.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (target / "sub").symlink_to(outside)
    r = logged("download", "nested", "--root", str(target))
    assert r.code == 4 and "symlink" in r.err
    assert not (outside / "f.txt").exists()


def test_symlink_planted_below_a_checked_folder_is_refused(logged: Cli, tmp_path: Path) -> None:
    """The folder check remembers folders it verified: a symlink one level below one of them
    (``sub`` checked for ``sub/a.txt``, then ``sub/deep`` planted) must still be refused
    (mutation round 4: ``final_path`` 10, ``continue`` -> ``break``, survived)."""
    make_tree(tmp_path / "d3", {"sub/a.txt": b"first", "sub/deep/g.txt": b"inside"})
    logged.ok("log", "deeper", str(tmp_path / "d3"))
    target = tmp_path / "target3"
    (target / "sub").mkdir(parents=True)
    outside = tmp_path / "outside3"
    outside.mkdir()
    (target / "sub" / "deep").symlink_to(outside)
    r = logged("download", "deeper", "--root", str(target))
    assert r.code == 4 and "symlink" in r.err
    assert list(outside.iterdir()) == []


def test_file_and_folder_clash_refused(cli: Cli, tmp_path: Path) -> None:
    d = digest_bytes(b"x")
    _plant_version(cli, [Entry("a", 1, d), Entry("a/b", 1, d)])
    r = cli("download", "evil", "--root", str(tmp_path / "t"))
    assert r.code == 4


def test_corrupt_manifest_names_object(logged: Cli, tmp_path: Path) -> None:
    store = _store(logged)
    key = next(i.key for i in store.list(layout.MANIFESTS_PREFIX))
    store.put(key, manifest.compress(b'{"artcli":"manifest","version":1}\n{"path":"x","size":1,"digest":"zz"}\n'))
    logged.home.joinpath("cache", "manifests").exists() and [p.unlink() for p in
                                                            (logged.home / "cache" / "manifests").iterdir()]
    r = logged("download", "ds", "--root", str(tmp_path / "o"))
    assert r.code == 4 and "manifest" in r.err


def test_corrupt_event_is_skipped_with_warning(logged: Cli, tmp_path: Path) -> None:
    make_tree(tmp_path / "d3", {"x": b"1"})
    logged.ok("log", "ds", str(tmp_path / "d3"))  # v1
    store = _store(logged)
    store.put(layout.event_key(layout.artifact_prefix("default", "ds"), 1), b"{not json")
    fresh = Cli(tmp_path / "fresh-home", logged.remote)  # no cached events
    r = fresh.ok("show", "ds:v0", "--json")
    assert r.json()["version"] == "v0"
    assert "000000000001.json" in r.err
    got = fresh.ok("download", "ds:v0", "--root", str(tmp_path / "o"), "--json")  # download says so too
    assert got.json()["ref"] == "default/ds:v0" and "warnings" not in got.json()
    assert "warning:" in got.err and "000000000001.json" in got.err


def test_debug_fsck_and_cat(logged: Cli, tmp_path: Path) -> None:
    ok = logged.ok("debug", "fsck", "--read-data", "--json").json()
    assert ok["ok"] and ok["versions"] == 1 and ok["files"] == 2 and ok["verified_bytes"] == len(SMALL) + len(BIG)
    assert '"format"' in logged.ok("debug", "cat", "artcli-store.json").out
    assert "version_created" in logged.ok("debug", "events", "ds").out
    store = _store(logged)
    store.delete(layout.blob_key(digest_bytes(BIG)))
    r = logged("debug", "fsck", "--json")
    assert r.code == 4 and "big.bin" in r.out


def test_missing_remote_blob_is_integrity_error(logged: Cli, tmp_path: Path) -> None:
    _store(logged).delete(layout.blob_key(digest_bytes(BIG)))
    r = logged("download", "ds", "--root", str(tmp_path / "o"))
    assert r.code == 4 and "missing" in r.err


@pytest.mark.parametrize("marker", [b'{"format":"two","hash":"blake3"}', b"[2]", b"null", b'"x"', b"{}",
                                    b'{"format":null,"hash":"blake3"}', b'{"format":"2","hash":"blake3"}',
                                    b'{"format":true,"hash":"blake3"}', b'{"format":1.5,"hash":"blake3"}',
                                    b'{"format":0,"hash":"blake3"}', b'{"hash":"blake3"}', b'{"format":2}',
                                    b'{"format":2,"hash":"sha256"}', b"{not json"])
def test_a_malformed_format_marker_is_exit_4(cli: Cli, tmp_path: Path, marker: bytes) -> None:
    """A marker that is not ``{"format": <int >= 1>, "hash": "blake3"}`` is an integrity error
    naming it, for writers and readers alike; nothing is written next to it."""
    root = tmp_path / "remote"
    root.mkdir(exist_ok=True)
    (root / layout.MARKER_KEY).write_bytes(marker)
    make_tree(tmp_path / "d", {"a.txt": b"a"})
    for args in (("log", "ds", str(tmp_path / "d")), ("download", "ds", "--root", str(tmp_path / "o")),
                 ("gc", "--dry-run")):
        r = cli(*args)
        assert r.code == 4, (args, r.err)
        assert (layout.MARKER_KEY in r.err or "sha256" in r.err) and "internal error" not in r.err, r.err
    assert sorted(p.name for p in root.iterdir()) == [layout.MARKER_KEY]
    assert (root / layout.MARKER_KEY).read_bytes() == marker


@pytest.mark.parametrize("fmt", [1, layout.FORMAT])
def test_a_valid_format_marker_is_accepted(cli: Cli, tmp_path: Path, fmt: int) -> None:
    (tmp_path / "remote").mkdir(exist_ok=True)
    (tmp_path / "remote" / layout.MARKER_KEY).write_bytes(canonical.dumps({"format": fmt, "hash": layout.HASH}))
    cli.ok("log", "ds", str(make_tree(tmp_path / "d", {"a.txt": b"a"})))
    cli.ok("download", "ds", "--root", str(tmp_path / "o"))
    newer = canonical.dumps({"format": layout.FORMAT + 1, "hash": layout.HASH})
    (tmp_path / "remote" / layout.MARKER_KEY).write_bytes(newer)
    fresh = Cli(tmp_path / "fresh", cli.remote)
    r = fresh("log", "ds", str(tmp_path / "d"))
    assert r.code == 4 and "upgrade artcli" in r.err  # a newer format is refused (format §2.1)


@pytest.mark.parametrize("name", ["outX", "out ", "out.v0_"])
def test_a_root_ending_in_any_character_is_not_an_escape(logged: Cli, tmp_path: Path, name: str) -> None:
    """The escape check compares each path with the root plus ``/``: whatever character the
    root's name ends in, its files are inside it."""
    r = logged("download", "ds", "--root", str(tmp_path / name))
    assert r.code == 0, r.err
    assert tree_bytes(tmp_path / name) == {"small.txt": SMALL, "big.bin": BIG}
