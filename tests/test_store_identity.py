"""Local caches are keyed by the store's identity, not its URL (issue 23 items 2 and 6).

Two stores behind one URL: a folder deleted and made again, or a bucket of the same name on
two endpoints. A machine whose cache saw one must read the other as it is: its versions, the
next version number, aliases every client sees, and a gc that deletes nothing the other store
needs. Events that fail validation are never cached, so a repaired remote is read again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from artcli import layout

from clihelp import Cli, make_tree, tree_bytes

MB = 1 << 20
LEGACY_MARKER = b'{"format":2,"hash":"blake3"}'  # written before stores had an id


def _tree(tmp_path: Path, name: str, seed: int, big: int = 3 * MB) -> Path:
    import random

    rng = random.Random(seed)
    return make_tree(tmp_path / name, {"small.txt": f"small {seed:04d}".encode(), "big.bin": rng.randbytes(big)})


def _versions(cli: Cli, name: str = "ds") -> dict[str, str]:
    res = cli("ls", name, "--json")
    if res.code == 3:
        return {}
    return {v["version"]: v["digest"] for v in res.check().json()}


def _fsck_ok(cli: Cli) -> None:
    rep = cli.ok("debug", "fsck", "--read-data", "--json").json()
    assert rep["ok"], rep["problems"]


def _another_store_same_path(remote: Path, legacy: bool) -> None:
    shutil.rmtree(remote)
    remote.mkdir()
    if legacy:  # made by an older artcli: no id in the marker, the same bytes as the first store's
        (remote / layout.MARKER_KEY).write_bytes(LEGACY_MARKER)


@pytest.mark.parametrize("legacy", [False, True], ids=["id", "legacy-marker"])
def test_a_store_made_again_at_the_same_path_is_another_store(tmp_path: Path, legacy: bool) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    if legacy:
        (remote / layout.MARKER_KEY).write_bytes(LEGACY_MARKER)
    mine, theirs = Cli(tmp_path / "m", remote.as_uri()), Cli(tmp_path / "n", remote.as_uri())
    for i in range(3):
        mine.ok("log", "ds", str(_tree(tmp_path, f"old{i}", i, big=MB + i)))
    mine.ok("alias", "add", "ds:v2", "best")
    assert sorted(_versions(mine)) == ["v0", "v1", "v2"]  # the cache holds the first store's log

    _another_store_same_path(remote, legacy)
    src = _tree(tmp_path, "new", 99)
    assert theirs.ok("log", "ds", str(src)).out.strip() == "default/ds:v0"
    their_v0 = _versions(theirs)

    assert _versions(mine) == their_v0  # not the first store's v0..v2
    assert mine("show", "ds:best").code == 3
    assert mine.ok("log", "ds", str(_tree(tmp_path, "mine", 7))).out.strip() == "default/ds:v1"  # not v3
    mine.ok("alias", "add", "ds:v0", "prod")
    assert theirs.ok("show", "ds:prod", "--json").json()["version"] == "v0"  # every client sees it
    mine.ok("gc", "--grace", "0s")
    theirs.ok("download", "ds:v0", "--root", str(tmp_path / "out"), "--skip-cache")
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)
    _fsck_ok(theirs)


def test_gc_decides_liveness_from_the_remote_not_from_cached_events(tmp_path: Path) -> None:
    """The worst case for a cache: the store made again has the same marker bytes and an event
    of the same key and size at every number the cache holds (nothing tells them apart but the
    bytes). gc still keeps everything the store's own log needs."""
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / layout.MARKER_KEY).write_bytes(LEGACY_MARKER)
    mine, theirs = Cli(tmp_path / "m", remote.as_uri()), Cli(tmp_path / "n", remote.as_uri())
    same = {"ARTCLI_RUN_ID": "r-same", "ARTCLI_NOW": "2030-01-01T00:00:00.000000Z"}
    mine.ok("log", "ds", str(_tree(tmp_path, "a", 1)), env=same)
    first = (remote / layout.event_key(layout.artifact_prefix("default", "ds"), 0)).read_bytes()

    _another_store_same_path(remote, legacy=True)
    src = _tree(tmp_path, "b", 2)
    theirs.ok("log", "ds", str(src), env=same)
    second = (remote / layout.event_key(layout.artifact_prefix("default", "ds"), 0)).read_bytes()
    assert len(first) == len(second) and first != second  # the case the cheap check cannot see

    mine.ok("gc", "--grace", "0s", env={"ARTCLI_NOW": "2030-01-03T00:00:00.000000Z"})
    theirs.ok("download", "ds:v0", "--root", str(tmp_path / "out"), "--skip-cache")
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)
    _fsck_ok(theirs)


def test_a_store_made_again_with_same_size_events_is_read_as_it_is(tmp_path: Path) -> None:
    """The same worst case for every command: only the marker's id tells the stores apart."""
    remote = tmp_path / "remote"
    remote.mkdir()
    mine, theirs = Cli(tmp_path / "m", remote.as_uri()), Cli(tmp_path / "n", remote.as_uri())
    same = {"ARTCLI_RUN_ID": "r-same", "ARTCLI_NOW": "2030-01-01T00:00:00.000000Z"}
    mine.ok("log", "ds", str(_tree(tmp_path, "a", 1)), env=same)
    assert len(_versions(mine)) == 1
    shutil.rmtree(remote)
    remote.mkdir()
    src = _tree(tmp_path, "b", 2)
    theirs.ok("log", "ds", str(src), env=same)
    assert _versions(mine) == _versions(theirs)
    mine.ok("download", "ds:v0", "--root", str(tmp_path / "out"))
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)


# -- two endpoints, one bucket name ------------------------------------------------------------------
@pytest.fixture
def second_s3(s3_server: str, tmp_path: Path) -> Iterator[str]:
    """Another S3 server (a moto process of its own: in-process servers share their buckets)."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("moto_server")
    log = open(tmp_path / "moto2.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a hang guard: wait until it answers
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "moto2.log").read_text()
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_one_bucket_name_on_two_endpoints_is_two_stores(s3_server: str, second_s3: str, tmp_path: Path) -> None:
    """dev and prod servers, each with a bucket ``same``; dev's marker copied from prod (a
    cloned bucket: the same id). One machine, one cache, both endpoints."""
    import boto3

    for endpoint in (s3_server, second_s3):
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="same")
    prod, dev = {"AWS_ENDPOINT_URL": s3_server}, {"AWS_ENDPOINT_URL": second_s3}
    me = Cli(tmp_path / "m", "s3://same/artcli")
    for i in range(3):
        me.ok("log", "ds", str(_tree(tmp_path, f"p{i}", i, big=MB + i)), env=prod)
    prod_versions = _versions_env(me, prod)
    marker = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").get_object(
        Bucket="same", Key=f"artcli/{layout.MARKER_KEY}")["Body"].read()
    boto3.client("s3", endpoint_url=second_s3, region_name="us-east-1").put_object(
        Bucket="same", Key=f"artcli/{layout.MARKER_KEY}", Body=marker)
    other = Cli(tmp_path / "n", "s3://same/artcli")
    src = _tree(tmp_path, "d", 50)
    assert other.ok("log", "ds", str(src), env=dev).out.strip() == "default/ds:v0"

    assert _versions_env(me, dev) == _versions_env(other, dev)
    assert me.ok("log", "ds", str(_tree(tmp_path, "d2", 51)), env=dev).out.strip() == "default/ds:v1"
    me.ok("gc", "--grace", "0s", env=dev)
    other.ok("download", "ds:v0", "--root", str(tmp_path / "out"), "--skip-cache", env=dev)
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)
    assert _versions_env(me, prod) == prod_versions  # and prod is still read as prod


def _versions_env(cli: Cli, env: dict[str, str]) -> dict[str, str]:
    return {v["version"]: v["digest"] for v in cli.ok("ls", "ds", "--json", env=env).json()}


def test_the_cache_key_has_endpoint_url_and_id(s3_server: str) -> None:
    from artcli.store import open_store
    from artcli.store.base import bare_endpoint

    assert bare_endpoint("http://user:pw@127.0.0.1:9/p/?sig=x#f") == "http://127.0.0.1:9/p"  # nothing secret
    a = open_store("s3://same/x", {"endpoint_url": "http://127.0.0.1:9/"})
    b = open_store("s3://same/x", {"endpoint_url": "http://127.0.0.2:9"})
    try:
        assert a.endpoint == "http://127.0.0.1:9"
        a.identity = b.identity = "id:1"
        assert a.cache_id != b.cache_id
    finally:
        a.close()
        b.close()


# -- item 6: events that fail validation are never cached -------------------------------------------
def test_a_truncated_event_is_read_again_once_repaired(cli: Cli, tmp_path: Path) -> None:
    for name in "abz":  # event 1 is in the middle: the cached log's last event stays as it was
        cli.ok("log", "ds", str(make_tree(tmp_path / name, {f"{name}.txt": name.encode()})))
    key = tmp_path / "remote" / layout.event_key(layout.artifact_prefix("default", "ds"), 1)
    good = key.read_bytes()
    fresh = Cli(tmp_path / "fresh", cli.remote)  # a machine that reads it first while it is broken
    key.write_bytes(good[: len(good) // 2])
    res = fresh("show", "ds:v1")
    assert res.code in (3, 4), res
    key.write_bytes(good)  # restored byte for byte
    assert fresh.ok("show", "ds:v1", "--json").json()["version"] == "v1"
    assert fresh.ok("log", "ds", str(make_tree(tmp_path / "c", {"c.txt": b"c"}))).out.strip() == "default/ds:v3"


def test_an_event_naming_another_manifest_is_refused_and_read_again_once_repaired(cli: Cli, tmp_path: Path) -> None:
    a = make_tree(tmp_path / "a", {"a.txt": b"the files of ds"})
    cli.ok("log", "ds", str(a))
    cli.ok("log", "other", str(make_tree(tmp_path / "o", {"o.txt": b"the files of other", "p.txt": b"p"})))
    ds_key = tmp_path / "remote" / layout.event_key(layout.artifact_prefix("default", "ds"), 0)
    other_key = tmp_path / "remote" / layout.event_key(layout.artifact_prefix("default", "other"), 0)
    good = ds_key.read_bytes()
    ev = json.loads(good)
    ev["manifest"] = json.loads(other_key.read_bytes())["manifest"]
    fresh = Cli(tmp_path / "fresh", cli.remote)
    ds_key.write_bytes(json.dumps(ev, separators=(",", ":"), sort_keys=True).encode())
    res = fresh("download", "ds", "--root", str(tmp_path / "bad"))
    assert res.code == 4 and "manifest" in res.err, res
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())
    ds_key.write_bytes(good)  # repaired
    fresh.ok("download", "ds", "--root", str(tmp_path / "out"))
    assert tree_bytes(tmp_path / "out") == tree_bytes(a)


def test_a_cached_event_that_failed_validation_is_fetched_again(cli: Cli, tmp_path: Path) -> None:
    """Unit: a corrupt event is held only as a suspect, fetched again at each read until the
    remote holds a sound one there, which then replaces it."""
    from artcli.repo import Repo

    for i in range(3):
        cli.ok("log", "ds", str(make_tree(tmp_path / f"s{i}", {"f.txt": f"{i}".encode()})))
    key = tmp_path / "remote" / layout.event_key(layout.artifact_prefix("default", "ds"), 1)
    good = key.read_bytes()
    key.write_bytes(b'{"type":')
    saved = {k: os.environ.get(k) for k in cli.env}
    os.environ.update({**cli.env, "ARTCLI_CACHE_DIR": str(tmp_path / "fresh")})
    try:
        repo = Repo.open()
        try:
            log = repo.artifact_log("default", "ds")
            assert [ev is None for _, ev in log.read()] == [False, True, False]
            assert repo.db.suspects(log._log_id) == [1]
            assert [ev is None for _, ev in log.read()] == [False, True, False]  # still broken
            key.write_bytes(good)
            assert [ev is None for _, ev in log.read()] == [False, False, False]
            assert repo.db.suspects(log._log_id) == []
        finally:
            repo.close()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.parametrize(("url", "a_opts", "b_opts", "a_endpoint"), [
    ("gs://same/x", {"endpoint_url": "http://127.0.0.1:9/"}, {"endpoint_url": "http://127.0.0.2:9"}, "http://127.0.0.1:9"),
    ("az://same/x", {"account_name": "deva"}, {"account_name": "proda"}, "https://deva.blob.core.windows.net"),
])
def test_gcs_and_azure_cache_keys_have_the_endpoint(url: str, a_opts: dict[str, str], b_opts: dict[str, str],
                                                    a_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A GCS bucket or an Azure container of one name on two endpoints (two emulators, two
    storage accounts) is two stores to the local caches, as on S3. Opening makes no request."""
    from artcli.store import open_store

    for var in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "STORAGE_EMULATOR_HOST"):
        monkeypatch.delenv(var, raising=False)
    a, b = open_store(url, a_opts), open_store(url, b_opts)
    try:
        assert a.endpoint == a_endpoint
        a.identity = b.identity = "id:1"
        assert a.cache_id != b.cache_id
    finally:
        a.close()
        b.close()
