"""cache info / cache prune: sizes, least recently used first, dry runs, partial files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from artcli.errors import UsageError
from artcli.ops.cachemgmt import parse_size

from clihelp import Cli, make_tree, tree_bytes


@pytest.mark.parametrize(("text", "size"), [("0", 0), ("1000", 1000), ("10K", 10240), ("2MiB", 2 << 20),
                                            ("1.5G", 3 << 29), ("2GB", 2 * 10**9), ("1kb", 1000), ("3 TB", 3 * 10**12)])
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "ten", "1x", "-1G", "1iB", "1.5.5G"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_size(text)


def _cached(cli: Cli) -> dict[str, int]:
    """Cached file contents: loose files and local pack copies."""
    roots = (cli.home / "cache" / "files", cli.home / "cache" / "packs")
    return {p.name: p.stat().st_size for root in roots for p in root.rglob("*") if p.is_file()}


def _age(paths: list[Path], seconds: float) -> None:
    t = time.time() - seconds
    for p in paths:
        os.utime(p, (t, t))


@pytest.fixture
def warm(cli: Cli, tmp_path: Path) -> Cli:
    """Three cached packs of 1000, 2000 and 3000 bytes (one small file each, so each artifact
    has a pack of its own), last used 30, 20 and 10 days ago."""
    for name, size in (("a", 1000), ("b", 2000), ("c", 3000)):
        src = make_tree(tmp_path / "src" / name, {f"{name}.bin": name.encode() * size})
        cli.ok("log", name, str(src))
        cli.ok("download", name, "--root", str(tmp_path / "dl" / name))
    packs = cli.home / "cache" / "packs"
    by_size = {p.stat().st_size: p for p in packs.iterdir()}
    for size, days in ((1000, 30), (2000, 20), (3000, 10)):
        _age([by_size[size]], days * 86400)
    return cli


def test_cache_info(warm: Cli) -> None:
    info = warm.ok("cache", "info", "--json").json()
    assert info["root"] == str(warm.home / "cache")
    assert info["packs"] == {"count": 3, "bytes": 6000} and info["files"] == {"count": 0, "bytes": 0}
    assert info["manifests"]["count"] == 3 and info["tmp"]["count"] == 0
    assert info["total_bytes"] >= 6000 + info["manifests"]["bytes"] + info["index_bytes"]
    assert info["oldest_use"] < info["newest_use"]
    assert "packs:" in warm.ok("cache", "info").out


def test_cache_info_counts_large_files_loose_and_packs_by_disk_use(cli: Cli, tmp_path: Path) -> None:
    big, small = os.urandom((1 << 20) + 1), os.urandom(10)
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", {"big.bin": big, "small.bin": small})))
    cli.ok("download", "ds", "--root", str(tmp_path / "dl"))
    info = cli.ok("cache", "info", "--json").json()
    assert info["files"] == {"count": 1, "bytes": len(big)}
    assert info["packs"] == {"count": 1, "bytes": 10}


def test_prune_max_size_removes_least_recently_used_first(warm: Cli, tmp_path: Path) -> None:
    dry = warm.ok("cache", "prune", "--max-size", "4000", "--dry-run", "--json").json()
    assert [r["size"] for r in dry["removed"]] == [1000, 2000] and dry["dry_run"] is True
    assert sorted(_cached(warm).values()) == [1000, 2000, 3000]  # a dry run removes nothing
    # the manifest was used just now: the two oldest files go, the newest stays
    res = warm.ok("cache", "prune", "--max-size", "4000", "--json").json()
    assert res["removed"] == dry["removed"] and res["removed_bytes"] == 3000
    assert sorted(_cached(warm).values()) == [3000]
    # pruned files come back from the remote when needed
    for name in "abc":
        res = warm.ok("download", name, "--root", str(tmp_path / "again" / name), "--json").json()
        assert res["fetched_files"] == (0 if name == "c" else 1)
        assert tree_bytes(tmp_path / "again" / name) == tree_bytes(tmp_path / "src" / name)
    assert len(_cached(warm)) == 3


def test_prune_older_than(warm: Cli) -> None:
    out = warm.ok("cache", "prune", "--older-than", "15d")
    assert out.out.strip() == str(warm.home / "cache") and "removed 2 entries" in out.err
    assert sorted(_cached(warm).values()) == [3000]
    assert warm.ok("cache", "prune", "--older-than", "1d", "--json").json()["removed_count"] == 1
    assert _cached(warm) == {}


def test_prune_partial_files_only_when_old(warm: Cli) -> None:
    tmp = warm.home / "cache" / "tmp"
    fresh, stale = tmp / "x.1.aa.part", tmp / "y.1.bb.part"
    fresh.write_bytes(b"downloading")
    stale.write_bytes(b"crashed")
    _age([stale], 2 * 3600)
    res = warm.ok("cache", "prune", "--older-than", "100d", "--json").json()
    assert [r["path"] for r in res["removed"]] == [str(stale)]
    assert fresh.exists() and not stale.exists()


def test_prune_needs_a_limit_and_valid_values(cli: Cli) -> None:
    assert cli("cache", "prune").code == 2
    assert cli("cache", "prune", "--max-size", "lots").code == 2
    assert cli("cache", "prune", "--older-than", "a while").code == 2
    assert cli.ok("cache", "prune", "--max-size", "0", "--json").json()["removed_count"] == 0  # empty cache
