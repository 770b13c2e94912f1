"""Small files are cached in sparse local copies of their remote packs, verified on every read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artcli.cache import Cache
from artcli.hashing import digest_bytes
from artcli.model import Entry

from clihelp import Cli, make_tree, tree_bytes

FILES = {f"d{i % 3}/f{i:03d}.txt": f"small file {i}\n".encode() * (i + 1) for i in range(60)}


def _remote_packs(cli: Cli) -> list[Path]:
    root = Path((cli.remote or "").removeprefix("file://"))
    return [p for p in root.rglob("*") if p.is_file() and "packs" in p.relative_to(root).parts]


def _local(cli: Cli) -> tuple[list[Path], list[Path]]:
    cache = cli.home / "cache"
    return ([p for p in (cache / "files").rglob("*") if p.is_file()], sorted((cache / "packs").iterdir()))


@pytest.fixture
def logged(cli: Cli, tmp_path: Path) -> Cli:
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", FILES)))
    return cli


def test_small_files_cost_one_cache_file_per_pack(logged: Cli, tmp_path: Path) -> None:
    res = logged.ok("download", "ds", "--root", str(tmp_path / "o1"), "--json").json()
    assert res["fetched_files"] == len(FILES) and tree_bytes(tmp_path / "o1") == FILES
    loose, packs = _local(logged)
    assert loose == [] and len(packs) == 1
    assert packs[0].stat().st_size == sum(len(b) for b in set(FILES.values()))


def test_warm_download_reads_the_local_pack_not_the_remote(logged: Cli, tmp_path: Path) -> None:
    logged.ok("download", "ds", "--root", str(tmp_path / "o1"))
    remote = _remote_packs(logged)
    assert remote, "the remote should hold the pack"
    for p in remote:  # the remote copy is gone: only the local one can serve the bytes
        p.unlink()
    res = logged.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()
    assert res["fetched_files"] == 0 and res["materialised"] == len(FILES)
    assert tree_bytes(tmp_path / "o2") == FILES


def test_partly_cached_pack_fetches_only_the_holes(logged: Cli, tmp_path: Path) -> None:
    part = logged.ok("download", "ds", "--path-prefix", "d1", "--root", str(tmp_path / "o1"), "--json").json()
    in_d1 = sum(1 for k in FILES if k.startswith("d1/"))
    assert part["files"] == in_d1
    (pack,) = _local(logged)[1]
    assert pack.stat().st_size < sum(len(b) for b in FILES.values())  # d2's members were never written
    res = logged.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()
    assert res["fetched_files"] == len(FILES) - in_d1
    assert tree_bytes(tmp_path / "o2") == FILES


def test_damaged_local_pack_is_refetched_and_repaired(logged: Cli, tmp_path: Path) -> None:
    logged.ok("download", "ds", "--root", str(tmp_path / "o1"))
    (pack,) = _local(logged)[1]
    data = bytearray(pack.read_bytes())
    for i in range(0, len(data), 97):  # damage some members, keep the size
        data[i] ^= 0x55
    pack.write_bytes(bytes(data))
    res = logged.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()
    assert 0 < res["fetched_files"] <= len(FILES)
    assert tree_bytes(tmp_path / "o2") == FILES
    again = logged.ok("download", "ds", "--root", str(tmp_path / "o3"), "--json").json()
    assert again["fetched_files"] == 0  # the refetched members were written back into the local pack


def test_skip_cache_leaves_no_local_pack(logged: Cli, tmp_path: Path) -> None:
    logged.ok("download", "ds", "--root", str(tmp_path / "o1"), "--skip-cache")
    assert tree_bytes(tmp_path / "o1") == FILES
    assert _local(logged) == ([], [])


def test_pruned_pack_is_fetched_again(logged: Cli, tmp_path: Path) -> None:
    logged.ok("download", "ds", "--root", str(tmp_path / "o1"))
    pruned = logged.ok("cache", "prune", "--max-size", "0", "--json").json()
    assert [r["kind"] for r in pruned["removed"]].count("pack") == 1
    res = logged.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()
    assert res["fetched_files"] == len(FILES) and tree_bytes(tmp_path / "o2") == FILES


def test_concurrent_downloads_share_one_local_pack(shared_cli: Cli, tmp_path: Path) -> None:
    """Processes writing the same members into the same local pack at once: all verified."""
    shared_cli.ok("log", "ds", str(make_tree(tmp_path / "src", FILES)))
    procs = [shared_cli.spawn("download", "ds", "--root", str(tmp_path / f"o{i}"), "--json") for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    for i in range(4):
        assert tree_bytes(tmp_path / f"o{i}") == FILES
    res = shared_cli.ok("download", "ds", "--root", str(tmp_path / "after"), "--json").json()
    assert res["fetched_files"] == 0 and tree_bytes(tmp_path / "after") == FILES
    assert len(_local(shared_cli)[1]) == 1


def test_pack_names_are_never_paths(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    bad = Entry("x", 1, "0" * 64, pack="../../etc", offset=0)
    with pytest.raises(ValueError, match="invalid pack"):
        cache.get_packed(bad)
    with pytest.raises(ValueError, match="invalid pack"):
        cache.put_packed(bad, b"x")
    assert not (tmp_path / "etc").exists()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=12), st.data())
def test_local_pack_round_trip(tmp_path_factory: pytest.TempPathFactory, members: list[bytes],
                               data: st.DataObject) -> None:
    """Whatever subset was written, each member reads back verified or as a miss, never wrong."""
    cache = Cache(tmp_path_factory.mktemp("c"))
    pack = digest_bytes(b"".join(members))
    entries, off = [], 0
    for i, m in enumerate(members):
        entries.append(Entry(f"f{i}", len(m), digest_bytes(m), pack=pack, offset=off))
        off += len(m)
    written = data.draw(st.sets(st.integers(0, len(members) - 1)))
    for i in written:
        cache.put_packed(entries[i], members[i])
    for i, e in enumerate(entries):
        got = cache.get_packed(e)
        if i in written:
            assert got == members[i]
        else:  # a hole reads as zeros: a miss unless the member is all zeros (or empty)
            assert got is None or got == members[i]
    cache.close()
    assert os.listdir(cache.packs) == ([pack] if written else [])
