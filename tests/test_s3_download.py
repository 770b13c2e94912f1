"""S3 downloads to files (``get_files``, ``get_files_hashed``) on the blocking client's threads:
a body cut off is resumed with a ``Range`` from the first byte not written, an answer that
ignores the range starts the object again (never appended after the bytes already written),
corrupt bytes are never placed, and a whole download of loose blobs stays off s3fs.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from artcli import layout
from artcli.hashing import digest_bytes
from artcli.store import Store, open_store

from clihelp import Cli, make_tree, tree_bytes
from faultproxy import FaultProxy

pytestmark = pytest.mark.usefixtures("s3_server")


def _blobs(n: int, size: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(size + i) for i in range(n)]


def _first_get_then(key_part: str, then: str | None) -> tuple[list[dict[str, str]], object]:
    """A proxy rule: the first GET of a key containing ``key_part`` is cut in the middle (its
    first half delivered), the next one meets ``then`` (None: forwarded); every GET's headers
    are recorded."""
    seen: list[dict[str, str]] = []

    def rule(method: str, path: str, headers: dict[str, str]) -> str | None:
        if method != "GET" or key_part not in path:
            return None
        seen.append({k.lower(): v for k, v in headers.items()})
        if len(seen) == 1:
            return "cut"
        return then if len(seen) == 2 else None

    return seen, rule


def _fetch(store: Store, key: str, dst: Path, data: bytes, hashed: bool) -> None:
    """One object to a file, through the hashing path or the plain one."""
    if hashed:
        assert store.get_files_hashed([(key, str(dst), len(data))]) == [digest_bytes(data)]
    else:
        store.get_files([(key, str(dst))])


@pytest.mark.parametrize("hashed", [True, False], ids=["get_files_hashed", "get_files"])
def test_a_cut_off_body_resumes_with_a_range(s3_bucket: str, s3_server: str, tmp_path: Path, hashed: bool) -> None:
    data = _blobs(1, 3 << 20, seed=1)[0]
    open_store(f"s3://{s3_bucket}/r").put("blobs/x", data)
    seen, rule = _first_get_then("blobs/x", None)
    with FaultProxy(s3_server, rule=rule) as proxy:  # type: ignore[arg-type]
        store = open_store(f"s3://{s3_bucket}/r", {"endpoint_url": proxy.url})
        dst = tmp_path / "x"
        _fetch(store, "blobs/x", dst, data, hashed)
    assert proxy.counts["cut"] == 1
    assert dst.read_bytes() == data
    assert len(seen) == 2 and "range" not in seen[0]
    start = int(seen[1]["range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < start < len(data), seen[1]  # resumed, not fetched again from the start
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]  # no temp file left


@pytest.mark.parametrize("hashed", [True, False], ids=["get_files_hashed", "get_files"])
def test_a_range_the_server_ignores_starts_the_object_again(s3_bucket: str, s3_server: str, tmp_path: Path,
                                                            hashed: bool) -> None:
    """The resumed GET comes back whole (200, no Content-Range): appending it after the bytes
    already written would make a file of 1.5x the object; it must be written from the start."""
    data = _blobs(1, 3 << 20, seed=2)[0]
    open_store(f"s3://{s3_bucket}/r").put("blobs/y", data)
    seen, rule = _first_get_then("blobs/y", "ignore_range")
    with FaultProxy(s3_server, rule=rule) as proxy:  # type: ignore[arg-type]
        store = open_store(f"s3://{s3_bucket}/r", {"endpoint_url": proxy.url})
        dst = tmp_path / "y"
        _fetch(store, "blobs/y", dst, data, hashed)
    assert proxy.counts["ignore_range"] == 1 and "range" in seen[1]
    assert dst.read_bytes() == data


def test_many_objects_at_once_each_told_once_and_in_job_order(s3_bucket: str, tmp_path: Path) -> None:
    """More objects than threads: every digest in job order, ``done`` once per file and only
    when the file is complete under its final name; the first failure in job order is raised
    and no temp file is left."""
    store = open_store(f"s3://{s3_bucket}/m")
    blobs = _blobs(40, 70_000, seed=3)
    for i, b in enumerate(blobs):
        store.put(f"k/{i}", b)
    told: dict[int, str] = {}

    def done(i: int, digest: str) -> None:
        assert i not in told
        told[i] = digest
        assert digest_bytes((tmp_path / "d" / str(i)).read_bytes()) == digest

    got = store.get_files_hashed([(f"k/{i}", str(tmp_path / "d" / str(i)), len(b)) for i, b in enumerate(blobs)],
                                 done=done)
    assert got == [digest_bytes(b) for b in blobs]
    assert told == dict(enumerate(got))
    from artcli.errors import NotFoundError

    with pytest.raises(NotFoundError) as info:
        store.get_files([(f"k/{i}", str(tmp_path / "e" / str(i))) for i in range(20)]
                        + [("k/missing", str(tmp_path / "e" / "m"))])
    assert "k/missing" in str(info.value)
    assert not [p for p in tmp_path.rglob("*") if "artcli" in p.name]


def test_a_corrupt_blob_behind_a_cut_off_is_refused(s3_cli: Cli, s3_server: str, tmp_path: Path) -> None:
    """A blob whose bytes changed on the remote still fails the download with exit 4 when its
    GET was cut off and resumed (the digest covers the pieces of both requests), and nothing
    of it reaches the target or the cache."""
    files = {"big.bin": os.urandom(3 << 20), "ok.bin": os.urandom(2 << 20)}
    make_tree(tmp_path / "d", files)
    s3_cli.ok("log", "ds", str(tmp_path / "d"))
    store = open_store(s3_cli.remote or "")
    key = layout.blob_key(digest_bytes(files["big.bin"]))
    bad = bytearray(files["big.bin"])
    bad[-10] ^= 1  # in the second half: the part the resumed request brings
    store.put(key, bytes(bad))
    _seen, rule = _first_get_then(key, None)
    with FaultProxy(s3_server, rule=rule) as proxy:  # type: ignore[arg-type]
        reader = Cli(tmp_path / "reader", s3_cli.remote, env={"AWS_ENDPOINT_URL": proxy.url})
        r = reader("download", "ds", "--root", str(tmp_path / "o"))
    assert proxy.counts["cut"] == 1
    assert r.code == 4, r.err
    assert "big.bin" in r.err and "corrupt" in r.err
    assert not (tmp_path / "o" / "big.bin").exists()
    cached = [p for p in (tmp_path / "reader" / "cache").rglob("*") if p.is_file()]
    assert not any(p.stat().st_size == len(bad) and digest_bytes(p.read_bytes()) == digest_bytes(bytes(bad))
                   for p in cached)


def test_a_download_of_loose_blobs_never_imports_s3fs(s3_cli: Cli, tmp_path: Path) -> None:
    """Loose blobs come through the blocking client: no s3fs, aiobotocore or aiohttp import
    (~0.3 s of CPU) for a cold download of big files."""
    files = {f"b{i}.bin": os.urandom((1 << 20) + i) for i in range(3)}
    make_tree(tmp_path / "d", files)
    s3_cli.ok("log", "ds", str(tmp_path / "d"))
    probe = ("import sys, runpy; sys.argv = ['artcli'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('artcli', run_name='__main__')\n"
             "finally:\n    print('IMPORTED', sorted(m for m in ('s3fs', 'aiobotocore', 'aiohttp') if m in sys.modules),"
             " file=sys.stderr)\n")
    reader = Cli(tmp_path / "reader", s3_cli.remote, env=s3_cli.env)
    r = subprocess.run([sys.executable, "-c", probe, "download", "ds", "--root", str(tmp_path / "o")],
                       env=reader.proc_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "IMPORTED []" in r.stderr, r.stderr
    assert tree_bytes(tmp_path / "o") == files


def test_a_failure_stops_the_gets_in_flight_and_is_the_error(s3_bucket: str, s3_server: str, tmp_path: Path) -> None:
    """Big objects still in flight when a later job fails (a missing key) stop at their next
    piece; being stopped is not an error of their own, so the missing key is what is raised
    (not job 0's "stopped"), and no file or temp file of the batch is left."""
    from artcli.errors import NotFoundError

    for i, b in enumerate(_blobs(4, 2 << 20, seed=5)):
        open_store(f"s3://{s3_bucket}/s").put(f"big/{i}", b)

    def rule(method: str, path: str, _headers: dict[str, str]) -> str | None:
        delayed = method == "GET" and "/big/" in path and "missing" not in path
        return "delay" if delayed else None  # the big objects are answered after the miss

    with FaultProxy(s3_server, rule=rule, delay=1.0) as proxy:
        store = open_store(f"s3://{s3_bucket}/s", {"endpoint_url": proxy.url})
        jobs = [(f"big/{i}", str(tmp_path / "d" / str(i)), None) for i in range(4)]
        with pytest.raises(NotFoundError) as info:
            store.get_files_hashed([*jobs, ("big/missing", str(tmp_path / "d" / "m"), None)])
    assert "big/missing" in str(info.value)
    assert proxy.counts["delay"] == 4
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
