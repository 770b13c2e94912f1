"""``download --skip-cache`` bypasses the local cache for reference entries too (issue 22,
defect 1): a source that changed behind an ``add-ref`` is exit 4 even when the cache still
holds the old bytes, and a dead source endpoint is an error, not a success served from the cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from clihelp import Cli, make_tree, tree_bytes

OLD, NEW = b"old bytes\n" * 50, b"new bytes\n" * 50


def _cache_files(cli: Cli) -> set[str]:
    root = cli.home / "cache"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and "completion" not in p.name}


def test_skip_cache_refetches_a_local_reference(cli: Cli, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": OLD, "b.txt": b"same\n"})
    cli.ok("add-ref", "raw", str(src))
    cli.ok("download", "raw", "--root", str(tmp_path / "warm"))  # the cache now holds OLD
    (src / "a.txt").write_bytes(NEW)
    before = _cache_files(cli)

    r = cli("download", "raw", "--root", str(tmp_path / "skip"), "--skip-cache")
    assert r.code == 4 and "a.txt" in r.err and "changed" in r.err, r
    assert not (tmp_path / "skip" / "a.txt").exists()
    # the cache still serves the pinned bytes without --skip-cache
    cli.ok("download", "raw", "--root", str(tmp_path / "cached"))
    assert tree_bytes(tmp_path / "cached") == {"a.txt": OLD, "b.txt": b"same\n"}

    (src / "a.txt").write_bytes(OLD)
    out = cli.ok("download", "raw", "--root", str(tmp_path / "again"), "--skip-cache", "--json").json()
    assert tree_bytes(tmp_path / "again") == {"a.txt": OLD, "b.txt": b"same\n"}
    assert out["fetched_files"] == 2, out  # both came from the source
    assert _cache_files(cli) == before, "--skip-cache wrote to the cache"
    assert [p.name for p in (tmp_path / "again").iterdir() if p.name.startswith(".")] == []


@pytest.mark.s3
def test_skip_cache_refetches_an_s3_reference(cli: Cli, _s3_admin: Any, s3_bucket: str, tmp_path: Path) -> None:
    _s3_admin.put_object(Bucket=s3_bucket, Key="data/a.bin", Body=OLD)
    cli.ok("add-ref", "raw", f"s3://{s3_bucket}/data")
    cli.ok("download", "raw", "--root", str(tmp_path / "warm"))
    _s3_admin.put_object(Bucket=s3_bucket, Key="data/a.bin", Body=NEW)

    r = cli("download", "raw", "--root", str(tmp_path / "skip"), "--skip-cache")
    assert r.code == 4 and "a.bin" in r.err and "changed" in r.err, r
    # a dead endpoint is a remote error, never the cache's old bytes
    dead = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}
    r = cli("download", "raw", "--root", str(tmp_path / "dead"), "--skip-cache", env=dead)
    assert r.code == 6, r
    assert cli.ok("download", "raw", "--root", str(tmp_path / "cached"), env=dead).code == 0
    assert (tmp_path / "cached" / "a.bin").read_bytes() == OLD
