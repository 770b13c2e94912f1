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
    root = cli.home / "cache" / "files"
    return {p.name: p.stat().st_size for p in root.rglob("*") if p.is_file()}


def _age(paths: list[Path], seconds: float) -> None:
    t = time.time() - seconds
    for p in paths:
        os.utime(p, (t, t))


@pytest.fixture
def warm(cli: Cli, tmp_path: Path) -> Cli:
    """Three cached files of 1000, 2000 and 3000 bytes, last used 30, 20 and 10 days ago."""
    src = make_tree(tmp_path / "src", {"a.bin": b"a" * 1000, "b.bin": b"b" * 2000, "c.bin": b"c" * 3000})
    cli.ok("log", "ds", str(src))
    cli.ok("download", "ds", "--root", str(tmp_path / "dl"))
    files = cli.home / "cache" / "files"
    by_size = {p.stat().st_size: p for p in files.rglob("*") if p.is_file()}
    for size, days in ((1000, 30), (2000, 20), (3000, 10)):
        _age([by_size[size]], days * 86400)
    return cli


def test_cache_info(warm: Cli) -> None:
    info = warm.ok("cache", "info", "--json").json()
    assert info["root"] == str(warm.home / "cache")
    assert info["files"] == {"count": 3, "bytes": 6000}
    assert info["manifests"]["count"] == 1 and info["tmp"]["count"] == 0
    assert info["total_bytes"] >= 6000 + info["manifests"]["bytes"] + info["index_bytes"]
    assert info["oldest_use"] < info["newest_use"]
    assert "files:" in warm.ok("cache", "info").out


def test_prune_max_size_removes_least_recently_used_first(warm: Cli, tmp_path: Path) -> None:
    dry = warm.ok("cache", "prune", "--max-size", "4000", "--dry-run", "--json").json()
    assert [r["size"] for r in dry["removed"]] == [1000, 2000] and dry["dry_run"] is True
    assert sorted(_cached(warm).values()) == [1000, 2000, 3000]  # a dry run removes nothing
    # the manifest was used just now: the two oldest files go, the newest stays
    res = warm.ok("cache", "prune", "--max-size", "4000", "--json").json()
    assert res["removed"] == dry["removed"] and res["removed_bytes"] == 3000
    assert sorted(_cached(warm).values()) == [3000]
    # pruned files come back from the remote when needed
    warm.ok("download", "ds", "--root", str(tmp_path / "again"))
    assert tree_bytes(tmp_path / "again") == tree_bytes(tmp_path / "src")
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
