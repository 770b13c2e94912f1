"""A full disk, a quota or ``ulimit -f`` is exit 1 naming the path and its disk — never "remote
error" (exit 6) or "internal error" (issue 23, item 13).

No disk is filled: each command runs as a real process under RLIMIT_FSIZE (``ulimit -f``), so
its first write past the limit fails with EFBIG, exactly where a full disk fails with ENOSPC.
"""

from __future__ import annotations

import errno
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from artcli.errors import DiskFullError, disk_full, local_write, mount_point

from clihelp import Cli, Result, make_tree

LIMIT = 1 << 20  # bytes any one file of the process may grow to


def run_limited(cli: Cli, *args: str) -> Result:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

    p = subprocess.run([sys.executable, "-m", "artcli", *args], env=cli.proc_env(), preexec_fn=limit,
                       capture_output=True, text=True, timeout=300)
    return Result(p.returncode, p.stdout, p.stderr)


def _one_error(r: Result, path: Path | str, what: str) -> None:
    assert r.code == 1, (r.code, r.err)
    lines = [ln for ln in r.err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.err
    line = lines[0]
    assert "remote error" not in line and "internal error" not in line, line
    assert f"cannot write {path}" in line and f"({what})" in line, line
    assert "file-size limit (ulimit -f)" in line and "on the disk mounted at /" in line, line


@pytest.fixture
def logged(cli: Cli, tmp_path: Path) -> Cli:
    rng = random.Random(13)
    make_tree(tmp_path / "d", {"big.bin": rng.randbytes(3 * LIMIT),
                               **{f"small/{i:03d}.bin": rng.randbytes(20_000) for i in range(120)}})
    cli.ok("log", "ds", str(tmp_path / "d"))
    return cli


def test_a_full_cache_names_the_cache(logged: Cli, tmp_path: Path) -> None:
    """Cold cache: the loose blob is downloaded into the cache's tmp folder first (before the
    fix: "remote error on file:///…/blobs/…", exit 6)."""
    r = run_limited(logged, "download", "ds", "--root", str(tmp_path / "o"))
    _one_error(r, logged.home / "cache" / "tmp", "downloaded objects")


def test_a_full_cache_pack_copy_names_it(logged: Cli, tmp_path: Path) -> None:
    """Only the small files: the cache's local copy of their 2.4 MB pack passes the limit."""
    r = run_limited(logged, "download", "ds", "--root", str(tmp_path / "o"), "--path-prefix", "small")
    assert r.code == 1, r.err
    packs = logged.home / "cache" / "packs"
    assert f"cannot write {packs}/" in r.err and "(the cache)" in r.err, r.err


def test_a_full_target_names_the_target_file(logged: Cli, tmp_path: Path) -> None:
    """Warm cache, so the only big write is the copy into the target (before the fix:
    "internal error: OSError", no path)."""
    logged.ok("download", "ds", "--root", str(tmp_path / "warm"))
    r = run_limited(logged, "download", "ds", "--root", str(tmp_path / "o"))
    _one_error(r, tmp_path / "o" / "big.bin", "the download target")
    assert not (tmp_path / "o" / "big.bin").exists()
    assert not [p for p in (tmp_path / "o").rglob("*") if p.name.endswith(".part")], "no temp file left"


def test_a_full_target_with_skip_cache_names_the_target(logged: Cli, tmp_path: Path) -> None:
    r = run_limited(logged, "download", "ds", "--root", str(tmp_path / "o"), "--skip-cache")
    _one_error(r, tmp_path / "o", "downloaded objects")


def test_a_full_local_remote_names_the_remote_object(cli: Cli, tmp_path: Path) -> None:
    make_tree(tmp_path / "d", {"big.bin": random.Random(5).randbytes(2 * LIMIT)})
    r = run_limited(cli, "log", "ds", str(tmp_path / "d"))
    assert r.code == 1, r.err
    remote = Path(cli.home.parent / "remote")
    assert f"cannot write {remote}/blobs/" in r.err and "(the remote)" in r.err, r.err
    assert "remote error" not in r.err and "internal error" not in r.err
    assert cli("ls").out.strip() == "", "no version was created"


def test_messages_for_each_errno(tmp_path: Path) -> None:
    full = disk_full(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), str(tmp_path / "x"), "the cache")
    assert isinstance(full, DiskFullError) and full.exit_code == 1
    assert str(full) == (f"cannot write {tmp_path / 'x'} (the cache): no space left on device on the disk "
                         f"mounted at {mount_point(str(tmp_path))}")
    assert full.hint and "ARTCLI_CACHE_DIR" in full.hint
    quota = disk_full(OSError(errno.EDQUOT, os.strerror(errno.EDQUOT)), "/nope/x", "the download target")
    assert "disk quota exceeded" in str(quota) and "ARTCLI_CACHE_DIR" not in (quota.hint or "")
    assert mount_point("/definitely/not/there") == "/"
    with pytest.raises(PermissionError), local_write(tmp_path, "the cache"):  # other errors pass through
        raise PermissionError(errno.EACCES, "denied")


def test_a_full_cache_on_s3_names_the_cache_not_the_bucket(s3_cli: Cli, tmp_path: Path) -> None:
    """The same through fsspec (s3fs writes the local copy): the local folder is named."""
    make_tree(tmp_path / "d", {"big.bin": random.Random(7).randbytes(2 * LIMIT)})
    s3_cli.ok("log", "ds", str(tmp_path / "d"))
    r = run_limited(s3_cli, "download", "ds", "--root", str(tmp_path / "o"))
    _one_error(r, s3_cli.home / "cache" / "tmp", "downloaded objects")
