"""Downloading into a folder that already holds a version: every file is compared (not just
the first ones), a file artcli wrote that was only touched is still artcli's, and the cache
files a download hashes again are trusted again afterwards and marked used."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from artcli.hashing import digest_file

from clihelp import Cli, make_tree, tree_bytes

V0 = {"a.txt": b"alpha\n", "b/1.txt": b"one\n", "b/2.txt": b"two\n", "c.txt": b"gamma\n",
      "d.bin": bytes(range(256)) * 4200}  # d.bin: over 1 MiB, a loose blob in the cache
V1 = {**V0, "c.txt": b"gamma, longer\n"}


def _touch(path: Path) -> None:
    """A new mtime (and ctime), the same bytes: the stat cache no longer vouches for it."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))


def test_every_missing_file_is_restored_whatever_comes_before_it(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", V0)))
    out = tmp_path / "o"
    cli.ok("download", "ds", "--root", str(out))
    _touch(out / "a.txt")  # compared by hashing: equal
    (out / "b" / "1.txt").unlink()
    (out / "b" / "2.txt").unlink()
    (out / "c.txt").unlink()
    res = cli.ok("download", "ds", "--root", str(out), "--json").json()
    assert tree_bytes(out) == V0
    assert res["materialised"] == 3


def test_a_touched_file_artcli_wrote_is_replaced_by_another_version_without_force(cli: Cli, tmp_path: Path) -> None:
    """``c.txt`` has another size in v1; its bytes are still what artcli wrote for v0 (only its
    mtime moved), so it is not a local edit and v1 replaces it."""
    cli.ok("log", "ds", str(make_tree(tmp_path / "v0", V0)))
    cli.ok("log", "ds", str(make_tree(tmp_path / "v1", V1)))
    out = tmp_path / "o"
    cli.ok("download", "ds:v0", "--root", str(out))
    _touch(out / "c.txt")
    res = cli("download", "ds:v1", "--root", str(out), "--json")
    assert res.code == 0, res.err
    assert res.json()["materialised"] == 1 and tree_bytes(out) == V1
    (out / "c.txt").write_bytes(b"gamma, edited\n")  # the same size as v1's, other bytes: an edit
    cli.ok("download", "ds:v1", "--root", str(tmp_path / "o1"))
    res = cli("download", "ds:v0", "--root", str(out))
    assert res.code == 5 and "c.txt" in res.err


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The cache files artcli hashes from now on."""
    import artcli.cache

    seen: list[str] = []

    def counting(path: str | os.PathLike[str]) -> str:
        seen.append(str(path))
        return digest_file(path)

    monkeypatch.setattr(artcli.cache, "digest_file", counting)
    return seen


def test_cache_files_hashed_again_are_trusted_again_and_marked_used(cli: Cli, tmp_path: Path,
                                                                     hashed: list[str]) -> None:
    """A cache file whose stat key changed is hashed on its next use, then trusted; one last used
    two hours ago is trusted and marked used (LRU), and trusted again afterwards. Cache files
    are read-only."""
    from artcli.cache import Cache

    big = {f"big/{i}.bin": bytes([i]) * ((1 << 20) + i) for i in range(4)}
    files = {**V0, **big}
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", files)))
    cli.ok("download", "ds", "--root", str(tmp_path / "o1"))
    cached = sorted(p for p in (cli.home / "cache" / "files").rglob("*") if p.is_file())
    assert len(cached) == 5
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in cached)
    changed, aged = cached[:2], cached[2:]
    old = time.time_ns() - 2 * 3600 * 10**9
    for p in cached:
        os.utime(p, ns=(old, p.stat().st_mtime_ns))  # last used two hours ago; the ctime moves
    cache = Cache(cli.home / "cache")
    try:
        for p in aged:  # their keys recorded as they are now: trusted
            cache.remember(str(p), p.parent.name + p.name)
    finally:
        cache.close()
    hashed.clear()
    res = cli.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()
    assert res["fetched_files"] == 0 and tree_bytes(tmp_path / "o2") == files
    assert sorted(hashed) == sorted(map(str, changed)), "only the cache files whose key changed are hashed"
    now = time.time_ns()
    assert all(p.stat().st_atime_ns > now - 3600 * 10**9 for p in cached), "used files not marked used"
    hashed.clear()
    cli.ok("download", "ds", "--root", str(tmp_path / "o3"))
    assert hashed == [], "cache files hashed or touched on their last use are not trusted again"
    cache = Cache(cli.home / "cache")  # what cat and references ask: trusted too, unless told to rehash
    try:
        assert all(cache.valid(p.parent.name + p.name) for p in cached) and hashed == []
        assert all(cache.valid(p.parent.name + p.name, rehash=True) for p in cached) and len(hashed) == 5
    finally:
        cache.close()


def test_force_overwrites_a_foreign_file_of_another_size_without_reading_it(cli: Cli, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A file artcli never wrote, whose size already shows it differs, is an edit (exit 5) and,
    with ``--force``, overwritten; it is never read to find that out."""
    import artcli.materialise

    cli.ok("log", "ds", str(make_tree(tmp_path / "src", V0)))
    out = make_tree(tmp_path / "o", {"c.txt": b"mine, and longer than gamma\n"})
    read: list[str] = []
    monkeypatch.setattr(artcli.materialise, "digest_file", lambda p: read.append(str(p)) or digest_file(p))
    res = cli("download", "ds", "--root", str(out))
    assert res.code == 5 and "c.txt" in res.err
    forced = cli.ok("download", "ds", "--root", str(out), "--force", "--json").json()
    assert forced["overwritten"] == ["c.txt"] and tree_bytes(out) == V0
    assert read == [], "a file whose size differs from the version's was hashed"
