"""Faults: a server that dies mid-command, an endpoint that is not there, throttling and 5xx
answers, dropped connections, corrupt objects. Nothing is lost, nothing unverified is used,
and every failure is one clear line with the documented exit code.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from artcli import layout, manifest
from artcli.hashing import digest_bytes
from artcli.store import Store, open_store

from clihelp import Cli, Result, make_tree, tree_bytes
from faultproxy import MODES, FaultProxy
from netwatch import count_connects

# -- helpers -------------------------------------------------------------------------------


def data_tree(root: Path, *, big: int, small: int, big_size: int = 1 << 20 | 4096, seed: str = "") -> Path:
    """``big`` loose-blob files and ``small`` packed ones, all with fresh random content."""
    files = {f"big/{i:03d}.bin": os.urandom(big_size) for i in range(big)}
    files.update({f"small/{i // 100:02d}/{i:05d}.txt": f"{seed}{i}\n".encode() + os.urandom(64) for i in range(small)})
    return make_tree(root, files)


def one_error_line(r: Result | tuple[int, str, str]) -> str:
    err = r.err if isinstance(r, Result) else r[2]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert all(ln.startswith(("error:", "hint:", "warning:")) for ln in lines), err
    return errors[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_process() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A moto S3 server of our own, in its own process, so the test can kill it."""
    port = _free_port()
    exe = Path(sys.executable).with_name("moto_server")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {url}") from None
                time.sleep(0.1)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _bucket(endpoint: str) -> str:
    import boto3

    name = f"t-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


#: a hang guard only, never a performance claim: a command that gives up with bounded retries
#: ends long before this even on a loaded machine; one that retries forever does not end at all
HANG_GUARD = 300


def _kill_when(proxy: FaultProxy, trigger: threading.Event, server: subprocess.Popen[bytes],
               proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Wait for ``trigger`` (set by the proxy's rule mid-transfer), then kill the server and the
    proxy in front of it; returns the command's (exit code, stdout, stderr)."""
    while not trigger.wait(0.05):
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the command ended (exit {proc.returncode}) before the server was stopped:\n{err}")
    server.send_signal(signal.SIGKILL)
    server.wait()
    proxy.stop()
    try:
        out, err = proc.communicate(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the command never gave up after the server died (still running after {HANG_GUARD} s)")
    return proc.returncode, out, err


def _stall_on(method: str, marker: str, trigger: threading.Event):
    """A proxy rule: requests ``method`` on keys containing ``marker`` are delayed and set ``trigger``."""

    def rule(m: str, path: str, _headers: dict[str, str]) -> str | None:
        if m == method and marker in path:
            trigger.set()
            return "delay"
        return None

    return rule


# -- a server that dies, an endpoint that is not there ---------------------------------------
def test_server_killed_during_download_exits_6_with_one_line(tmp_path: Path) -> None:
    data = data_tree(tmp_path / "data", big=12, small=50)
    with moto_process() as (endpoint, server):
        trigger = threading.Event()
        proxy = FaultProxy(endpoint, delay=1.0, rule=_stall_on("GET", "/blobs/", trigger))
        url = proxy.start()
        cli = Cli(tmp_path / "home", f"s3://{_bucket(endpoint)}/a", env={"AWS_ENDPOINT_URL": url})
        cli.ok("log", "ds", str(data))
        reader = Cli(tmp_path / "reader", cli.remote, env={"AWS_ENDPOINT_URL": url})  # cold cache
        target = tmp_path / "out"
        proc = reader.spawn("download", "ds", "--root", str(target))
        code, _out, err = _kill_when(proxy, trigger, server, proc)
    assert code == 6, err
    line = one_error_line((code, _out, err))
    assert "cannot reach" in line and "s3://" in line
    for p in target.rglob("*") if target.exists() else []:  # whatever is there is complete
        if p.is_file() and not p.name.endswith(".part"):
            assert p.read_bytes() == (data / p.relative_to(target)).read_bytes()


def test_server_killed_during_log_exits_6_and_leaves_no_version(tmp_path: Path) -> None:
    data = data_tree(tmp_path / "data", big=12, small=50)
    with moto_process() as (endpoint, server):
        trigger = threading.Event()
        proxy = FaultProxy(endpoint, delay=1.0, rule=_stall_on("PUT", "/blobs/", trigger))
        url = proxy.start()
        bucket = _bucket(endpoint)
        cli = Cli(tmp_path / "home", f"s3://{bucket}/a", env={"AWS_ENDPOINT_URL": url})
        proc = cli.spawn("log", "ds", str(data))
        code, out, err = _kill_when(proxy, trigger, server, proc)
    assert code == 6 and out == "", err
    assert "cannot reach" in one_error_line((code, out, err))


@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_unreachable_endpoint_fails_fast(tmp_path: Path, scheme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens: exit 6 after a few quick attempts, not after a minute of back-off.

    "Fast" is measured in attempts, not seconds: at most 3 connection attempts per command
    (docs/reliability.md), so a machine's load cannot make it fail and a longer retry policy
    cannot make it pass. The real process must also end (the timeout is only a hang guard).
    """
    port = _free_port()  # bound and released: connection refused
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}"}
    cli = Cli(tmp_path / "home", f"{scheme}://bucket/x", env=env)
    make_tree(tmp_path / "d", {"f.txt": b"x"})
    attempts = count_connects(monkeypatch, port)
    for args in (("download", "ds"), ("log", "ds", str(tmp_path / "d")), ("ls",)):
        attempts.clear()
        r = cli(*args)
        assert r.code == 6, r.err
        assert "cannot reach" in one_error_line(r)
        assert 1 <= len(attempts) <= 3, f"{args[0]}: {len(attempts)} connection attempts to a dead endpoint"
    r = cli.run("ls", timeout=HANG_GUARD)  # a real process exits too (no thread left retrying)
    assert r.code == 6 and "cannot reach" in one_error_line(r)


# -- throttling, 5xx, dropped and cut connections --------------------------------------------
@pytest.fixture
def proxied(s3_cli: Cli, s3_server: str) -> Iterator[tuple[Cli, FaultProxy]]:
    proxy = FaultProxy(s3_server, rate=0.2, seed=8, delay=0.1)
    proxy.start()
    yield Cli(s3_cli.home, s3_cli.remote, env={"AWS_ENDPOINT_URL": proxy.url}), proxy
    proxy.stop()


def _log_and_download_through(cli: Cli, proxy: FaultProxy, tmp_path: Path, tag: str, *, big: int, small: int) -> None:
    data = data_tree(tmp_path / f"data-{tag}", big=big, small=small, seed=tag)
    res = cli.run("log", f"ds-{tag}", str(data), "--json")
    assert res.code == 0, res.err
    reader = Cli(tmp_path / f"reader-{tag}", cli.remote, env=cli.env)  # cold cache: every byte crosses the proxy
    got = reader.run("download", f"ds-{tag}", "--root", str(tmp_path / f"out-{tag}"), "--json")
    assert got.code == 0, got.err
    assert got.json()["fetched_files"] == big + small
    assert tree_bytes(tmp_path / f"out-{tag}") == tree_bytes(data)


def test_log_and_download_survive_injected_faults(proxied: tuple[Cli, FaultProxy], tmp_path: Path) -> None:
    cli, proxy = proxied
    _log_and_download_through(cli, proxy, tmp_path, "a", big=6, small=400)
    counts = dict(proxy.counts)
    print("injected:", counts)  # the figures quoted in docs/reliability.md
    assert counts.get("faults", 0) >= 5 and len({m for m in MODES if counts.get(m)}) >= 3, counts


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_faults_heavy(s3_cli: Cli, s3_server: str, tmp_path: Path, seed: int) -> None:
    with FaultProxy(s3_server, rate=0.3, seed=100 + seed, delay=0.2) as proxy:
        cli = Cli(s3_cli.home, s3_cli.remote, env={"AWS_ENDPOINT_URL": proxy.url})
        _log_and_download_through(cli, proxy, tmp_path, f"s{seed}", big=10, small=2000)
        assert proxy.counts["faults"] >= 5, dict(proxy.counts)


def test_lost_answer_to_an_exclusive_create_is_not_a_lost_race(s3_cli: Cli, s3_server: str, tmp_path: Path) -> None:
    """The event PUT (If-None-Match: *) lands but its answer is lost; the retry sees 412 and must
    recognise its own bytes: one version, created once, reported as v0."""
    dropped: list[str] = []

    def rule(method: str, path: str, headers: dict[str, str]) -> str | None:
        if method == "PUT" and "/events/" in path and not dropped:
            dropped.append(path)
            return "drop_after"
        return None

    with FaultProxy(s3_server, rule=rule) as proxy:
        cli = Cli(s3_cli.home, s3_cli.remote, env={"AWS_ENDPOINT_URL": proxy.url})
        make_tree(tmp_path / "d", {"a.txt": b"a\n"})
        res = cli.run("log", "ds", str(tmp_path / "d"), "--json")
    assert res.code == 0, res.err
    assert dropped and res.json()["version"] == "v0" and res.json()["created"] is True
    events = [i.key for i in open_store(s3_cli.remote or "").list(layout.artifact_prefix("default", "ds"))]
    assert len(events) == 1, events



def test_one_request_operations_outlast_botocore_s_own_attempts(s3_cli: Cli, s3_server: str, tmp_path: Path) -> None:
    """Reads and exclusive creates go through the blocking client (not s3fs): a live server that
    answers 503 SlowDown four times in a row (more than botocore's 3 attempts) and cuts a body
    off twice is still waited out by the outer layer, as s3fs's would (docs/reliability.md)."""
    make_tree(tmp_path / "d", {"a.txt": b"a\n"})
    s3_cli.ok("log", "ds", str(tmp_path / "d"))
    seen: dict[str, int] = {}

    def rule(method: str, path: str, headers: dict[str, str]) -> str | None:
        kind = ("marker" if path.split("?")[0].endswith("/artcli-store.json") else
                "list" if method == "GET" and "list-type=2" in path else
                "event" if method == "PUT" and "/events/" in path else None)
        if kind is None:
            return None
        seen[kind] = seen.get(kind, 0) + 1
        if kind == "marker" and seen[kind] <= 2:
            return "truncate"
        return "slowdown" if seen[kind] <= 4 else None

    with FaultProxy(s3_server, rule=rule) as proxy:
        cli = Cli(s3_cli.home, s3_cli.remote, env={"AWS_ENDPOINT_URL": proxy.url})
        res = cli.run("alias", "add", "ds:v0", "best")
    assert res.code == 0, res.err
    assert seen["marker"] >= 3 and seen["list"] >= 5 and seen["event"] >= 5, seen
    assert proxy.counts["truncate"] == 2 and proxy.counts["slowdown"] >= 10, dict(proxy.counts)
    assert "best" in s3_cli.ok("show", "ds:latest", "--json").json()["aliases"]

# -- corrupt objects on S3 ---------------------------------------------------------------------
SMALL = {f"s/{i}.txt": f"small {i}\n".encode() for i in range(20)}


@pytest.fixture
def s3_logged(s3_cli: Cli, tmp_path: Path) -> tuple[Cli, dict[str, bytes]]:
    files = {**SMALL, "big.bin": os.urandom((1 << 20) + 7)}
    make_tree(tmp_path / "d", files)
    s3_cli.ok("log", "ds", str(tmp_path / "d"))
    return s3_cli, files


def _corrupt(store: Store, key: str, how: str) -> bytes:
    data = bytearray(store.get(key))
    if how == "truncate":
        bad = bytes(data[: len(data) // 2])
    else:
        data[len(data) // 2] ^= 0x10
        bad = bytes(data)
    store.put(key, bad)
    return bad


def _cache_holds(cli: Cli, bad: bytes) -> bool:
    d = digest_bytes(bad)
    return any(p.is_file() and p.stat().st_size == len(bad) and digest_bytes(p.read_bytes()) == d
               for p in (cli.home / "cache").rglob("*"))


@pytest.mark.parametrize("how", ["bitflip", "truncate"])
@pytest.mark.parametrize("what", ["blob", "pack"])
@pytest.mark.parametrize("skip_cache", [False, True], ids=["cache", "skip-cache"])
def test_corrupt_remote_objects_on_s3_exit_4(s3_logged: tuple[Cli, dict[str, bytes]], tmp_path: Path,
                                             how: str, what: str, skip_cache: bool) -> None:
    cli, files = s3_logged
    store = open_store(cli.remote or "")
    if what == "blob":
        key, victim = layout.blob_key(digest_bytes(files["big.bin"])), "big.bin"
    else:
        key = next(i.key for i in store.list(layout.PACKS_PREFIX) if not i.key.endswith(".idx"))
        victim = "s/"
    bad = _corrupt(store, key, how)
    fresh = Cli(tmp_path / "fresh", cli.remote)
    target = tmp_path / "o"
    r = fresh("download", "ds", "--root", str(target), *(["--skip-cache"] if skip_cache else []))
    assert r.code == 4, r.err
    line = one_error_line(r)
    assert victim in line and ("corrupt" in line or "truncated" in line)
    assert not _cache_holds(fresh, bad), "corrupt bytes entered the cache"
    for p in target.rglob("*") if target.exists() else []:  # nothing unverified reached the target
        if p.is_file() and not p.name.endswith(".part"):
            assert p.read_bytes() == files[p.relative_to(target).as_posix()]


def test_corrupt_event_and_manifest_on_s3_are_named_and_isolated(s3_logged: tuple[Cli, dict[str, bytes]],
                                                                 tmp_path: Path) -> None:
    cli, _files = s3_logged
    make_tree(tmp_path / "d2", {"x.txt": b"second\n"})
    cli.ok("log", "ds", str(tmp_path / "d2"))  # v1
    make_tree(tmp_path / "d3", {"y.txt": b"third\n"})
    cli.ok("log", "other", str(tmp_path / "d3"))
    store = open_store(cli.remote or "")
    store.put(layout.event_key(layout.artifact_prefix("default", "ds"), 1), b'{"type":"version_created",')
    fresh = Cli(tmp_path / "fresh", cli.remote)
    shown = fresh("show", "ds:v0", "--json")
    assert shown.code == 0 and shown.json()["version"] == "v0"
    assert "events/000000000001.json" in shown.err  # the corrupt object is named
    assert fresh("download", "ds:v1").code == 3  # the version it held is gone, not half there

    mkey = next(i.key for i in store.list(layout.MANIFESTS_PREFIX)
                if manifest.decompress(store.get(i.key), i.key).find(b"big.bin") >= 0)
    store.put(mkey, manifest.compress(manifest.header_line() + b'{"path":"x"}\n'))
    again = Cli(tmp_path / "again", cli.remote)
    r = again("download", "ds:v0", "--root", str(tmp_path / "o"))
    assert r.code == 4 and mkey.rsplit("/", 1)[-1].split(".")[0] in one_error_line(r)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    ok = again("download", "other", "--root", str(tmp_path / "o2"))  # the rest of the store stays readable
    assert ok.code == 0 and tree_bytes(tmp_path / "o2") == {"y.txt": b"third\n"}
    assert again("ls", "--json").code == 0
