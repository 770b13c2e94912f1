"""How download puts bytes in place: hashed while they arrive, written once into the target
from the cache (never linked to it), cache files trusted by their stat key instead of hashed
again on every warm download, and nothing unverified left anywhere when the server lies."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from artcli import layout
from artcli.hashing import digest_bytes, digest_file
from artcli.store import open_store

from clihelp import Cli, make_tree, tree_bytes
from fixtures_cli import S3

RNG = random.Random(24)
BIG = {f"big/{i}.bin": RNG.randbytes((1 << 20) + 1000 * i) for i in range(4)}  # loose blobs
FILES = {**BIG, "same/copy.bin": BIG["big/0.bin"], "small.txt": b"small\n"}


@pytest.fixture(params=["file", S3])
def logged(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    cli = request.getfixturevalue({"file": "cli", "s3": "s3_cli"}[request.param])
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", FILES)))
    return cli


def _cache_files(cli: Cli) -> list[Path]:
    return [p for p in (cli.home / "cache" / "files").rglob("*") if p.is_file()]


def _temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".part" in p.name or "artcli-part" in p.name]


def test_warm_download_trusts_cache_files_by_stat_key(logged: Cli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm download reads no cache file to hash it (their stat keys are unchanged since they
    were verified); ``--verify`` hashes each one again."""
    import artcli.cache

    logged.ok("download", "ds", "--root", str(tmp_path / "o1"))
    cached = {str(p) for p in _cache_files(logged)}
    assert len(cached) == len(BIG)
    hashed: list[str] = []

    def counting(path: str | os.PathLike[str]) -> str:
        hashed.append(str(path))
        return digest_file(path)

    monkeypatch.setattr(artcli.cache, "digest_file", counting)
    res = logged.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()
    assert res["fetched_files"] == 0 and tree_bytes(tmp_path / "o2") == FILES
    assert not cached & set(hashed), "a warm download hashed cache files whose stat key vouches for them"
    logged.ok("download", "ds", "--root", str(tmp_path / "o3"), "--verify")
    assert cached <= set(hashed), "--verify must hash the cache files it uses"


def test_editing_a_downloaded_file_leaves_the_cache_intact(logged: Cli, tmp_path: Path) -> None:
    """Target files are copies, never links to the cache: editing one in place (even as root,
    who ignores the cache's read-only bits) changes nothing another download gets."""
    out = tmp_path / "o1"
    logged.ok("download", "ds", "--root", str(out))
    cache = {p: p.read_bytes() for p in _cache_files(logged)}
    cache_inodes = {p.stat().st_ino for p in cache}
    for rel in BIG:
        f = out / rel
        assert f.stat().st_nlink == 1 and f.stat().st_ino not in cache_inodes
        f.chmod(0o644)
        with open(f, "r+b") as fh:  # in place: same inode
            fh.write(b"EDITED" * 100)
            fh.truncate(5000)
    assert {p: p.read_bytes() for p in _cache_files(logged)} == cache
    res = logged.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()
    assert res["fetched_files"] == 0 and tree_bytes(tmp_path / "o2") == FILES


@pytest.mark.parametrize("kind", ["bitflip", "truncate"])
@pytest.mark.parametrize("skip_cache", [False, True], ids=["cache", "skip-cache"])
def test_bytes_corrupted_on_the_server_exit_4_and_leave_nothing_unverified(
        s3_cli: Cli, tmp_path: Path, kind: str, skip_cache: bool) -> None:
    """A blob whose bytes changed on the server (hashed as it streams in): exit 4 naming the
    file; its path is not in the target, no temp file is left in the target or the cache, the
    cache holds no bad bytes, and every file that did land is the version's."""
    s3_cli.ok("log", "ds", str(make_tree(tmp_path / "src", FILES)))
    bad_rel = "big/2.bin"
    store = open_store(s3_cli.remote or "")
    key = layout.blob_key(digest_bytes(BIG[bad_rel]))
    data = bytearray(store.get(key))
    if kind == "truncate":
        del data[-4096:]
    else:
        data[len(data) // 2] ^= 0x01
    store.put(key, bytes(data))
    fresh = Cli(tmp_path / "fresh", s3_cli.remote)
    out = tmp_path / "o"
    r = fresh("download", "ds", "--root", str(out), *(["--skip-cache"] if skip_cache else []))
    assert r.code == 4, r.err
    assert bad_rel in r.err and "Traceback" not in r.err
    assert not (out / bad_rel).exists()
    assert _temps(out) == [] and _temps(fresh.home / "cache") == []
    for rel, got in tree_bytes(out).items():
        assert got == FILES[rel], f"{rel} landed with wrong bytes"
    for p in _cache_files(fresh):
        assert digest_file(p) == p.parent.name + p.name, f"cache file {p} holds bytes of another digest"
    again = fresh("download", "ds", "--root", str(tmp_path / "o2"))
    assert again.code == 4, "the bad blob must not have been kept anywhere"


@pytest.mark.parametrize("remote", ["file", S3])
def test_skip_cache_renames_each_blob_into_place(remote: str, tmp_path: Path, request: pytest.FixtureRequest,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``--skip-cache``: a blob wanted at one path is renamed there (written once); only a
    second path with the same bytes costs a copy."""
    import artcli.materialise

    cli = request.getfixturevalue({"file": "cli", "s3": "s3_cli"}[remote])
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", FILES)))
    copies: list[str] = []
    real = artcli.materialise.copy_into_place

    def counting(src: str, dst: str, made: set[str]) -> None:
        copies.append(dst)
        real(src, dst, made)

    monkeypatch.setattr(artcli.materialise, "copy_into_place", counting)
    out = tmp_path / "o"
    fresh = Cli(tmp_path / "fresh", cli.remote)
    fresh.ok("download", "ds", "--root", str(out), "--skip-cache")
    assert tree_bytes(out) == FILES and _temps(out) == []
    assert len(copies) == 1 and Path(copies[0]).name in {"0.bin", "copy.bin"}, copies


def _unnamed_files_work(folder: Path) -> bool:
    try:
        fd = os.open(folder, os.O_WRONLY | os.O_TMPFILE, 0o644)
    except (OSError, AttributeError):
        return False
    try:
        os.link(f"/proc/self/fd/{fd}", folder / "probe", src_dir_fd=fd, follow_symlinks=True)
    except OSError:
        return False
    finally:
        os.close(fd)
    (folder / "probe").unlink()
    return True


def test_new_files_get_no_temp_name(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the filesystem has unnamed files (Linux O_TMPFILE), a new target file is created
    once under its final name: no temp name is made and renamed."""
    import artcli.placing

    if not _unnamed_files_work(tmp_path):
        pytest.skip(f"no O_TMPFILE or /proc/self/fd linking on {tmp_path}'s filesystem")
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", FILES)))
    names: list[str] = []
    real = artcli.placing.temp_name
    monkeypatch.setattr(artcli.placing, "temp_name", lambda dst: names.append(dst) or real(dst))
    fresh = Cli(tmp_path / "fresh", cli.remote)
    fresh.ok("download", "ds", "--root", str(tmp_path / "o"))
    assert tree_bytes(tmp_path / "o") == FILES and names == []


@pytest.mark.parametrize("unnamed", [True, False], ids=["o_tmpfile", "temp-name"])
def test_a_symlink_at_a_final_name_is_replaced_never_followed(cli: Cli, tmp_path: Path, unnamed: bool,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Both ways of placing a file replace what is at its final name (a stale file, a symlink
    planted there) atomically, and never write through the symlink."""
    import artcli.placing

    monkeypatch.setattr(artcli.placing, "_unnamed", unnamed and artcli.placing._unnamed)
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", FILES)))
    out = tmp_path / "o"
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not yours")
    (out / "big").mkdir(parents=True)
    (out / "big" / "1.bin").symlink_to(outside)
    (out / "small.txt").write_bytes(b"stale")
    fresh = Cli(tmp_path / "fresh", cli.remote)
    fresh.ok("download", "ds", "--root", str(out), "--force")
    assert outside.read_bytes() == b"not yours"
    assert not (out / "big" / "1.bin").is_symlink() and tree_bytes(out) == FILES
    assert _temps(out) == []
    again = fresh.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()  # warm, from the cache
    assert again["fetched_files"] == 0 and tree_bytes(tmp_path / "o2") == FILES


def test_verify_rehashes_a_cache_file_its_stat_key_vouches_for(cli: Cli, tmp_path: Path) -> None:
    """A cache file edited in place whose recorded stat key still matches (a filesystem with
    coarse or unreliable ctimes, a restore from backup): a plain download trusts the key, as
    documented; ``--verify`` hashes the file, refuses its bytes, fetches the blob again and
    repairs the cache."""
    from artcli.cache import Cache

    cli.ok("log", "ds", str(make_tree(tmp_path / "src", FILES)))
    cli.ok("download", "ds", "--root", str(tmp_path / "o1"))
    digest = digest_bytes(BIG["big/1.bin"])
    cache = Cache(cli.home / "cache")
    try:
        victim = cache.path(digest)
        os.chmod(victim, 0o644)
        with open(victim, "r+b") as fh:  # same size, other bytes
            fh.write(b"EDITED" * 100)
        cache.remember(victim, digest)  # its key now vouches for the edited bytes
    finally:
        cache.close()
    res = cli.ok("download", "ds", "--root", str(tmp_path / "o2"), "--verify", "--json").json()
    assert tree_bytes(tmp_path / "o2") == FILES, "--verify copied a cache file it did not hash"
    assert res["fetched_files"] == 1
    assert digest_file(victim) == digest


def test_skip_cache_writes_a_blob_wanted_at_three_paths(cli: Cli, tmp_path: Path) -> None:
    """One blob, three paths, no cache: two copies and a rename, and each file complete."""
    files = {**FILES, "third/copy.bin": BIG["big/0.bin"]}
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", files)))
    fresh = Cli(tmp_path / "fresh", cli.remote)
    res = fresh.ok("download", "ds", "--root", str(tmp_path / "o"), "--skip-cache", "--json").json()
    assert tree_bytes(tmp_path / "o") == files and _temps(tmp_path / "o") == []
    assert res["materialised"] == len(files)


@pytest.mark.parametrize("size", [0, 100, (1 << 16) - 1, 1 << 16, (1 << 20) + 3])
def test_copy_into_place_copies_every_size_exactly(tmp_path: Path, size: int) -> None:
    """Small files are read and written, larger ones cloned or copied in the kernel: either
    way the target gets the bytes, as a new file (never a link to the source)."""
    from artcli.localdb import stat_key
    from artcli.materialise import copy_into_place

    src = tmp_path / "src.bin"
    src.write_bytes(random.Random(size).randbytes(size))
    dst = tmp_path / "out" / "sub" / "dst.bin"
    key = copy_into_place(str(src), str(dst), set())
    assert dst.read_bytes() == src.read_bytes() and not dst.samefile(src)
    assert key == stat_key(dst.stat())


def test_a_reflink_is_asked_of_the_source_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a filesystem that clones (btrfs, XFS), the clone must come from the cache file: the
    test disk cannot clone, so the request is watched, then refused as such a disk would."""
    import errno

    import artcli.materialise as mat

    src = tmp_path / "src.bin"
    src.write_bytes(random.Random(7).randbytes(1 << 17))
    asked: list[tuple[int, int]] = []

    def ioctl(fd: int, request: int, arg: int = 0) -> int:
        asked.append((request, arg))
        st = os.fstat(arg)
        assert (st.st_dev, st.st_ino) == (src.stat().st_dev, src.stat().st_ino), "cloned from another file"
        raise OSError(errno.EOPNOTSUPP, "no reflinks here")

    monkeypatch.setattr(mat.fcntl, "ioctl", ioctl)
    dst = tmp_path / "dst.bin"
    mat.copy_into_place(str(src), str(dst), set())
    assert [r for r, _ in asked] == [mat.FICLONE] and dst.read_bytes() == src.read_bytes()
