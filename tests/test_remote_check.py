"""``artcli remote check``: "safe" on every real backend, "unsafe" on non-atomic S3 servers.

The unsafe servers are moto behind a WSGI wrapper (the opposite of the suite's serialising
one, tests/conftest.py):

* **check-then-store** — what moto's own conditional PUT does (it looks the key up, then stores
  it, with no lock between). Unwrapped, that window is too short to hit reliably (0 double
  winners in 90 raced keys here), so the wrapper pulls the two steps apart and forces the bad
  interleaving on every race: each ``If-None-Match: *`` PUT looks the key up, waits until all
  racers of that key have looked (a barrier; no sleep), then stores unconditionally;
* **ignores the condition** — the header is dropped, as some S3-compatible stores do silently.

Both are deterministic: every raced key gets several winners, whatever the machine's load.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from artcli.errors import UsageError
from artcli.ops.remotecheck import check_remote
from artcli.store import open_store

from clihelp import Cli
from conftest import start_moto

WRITERS, TRIALS = 4, 6
Remote = tuple[str, dict[str, str]]


def _check_then_store(parties: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
        barriers: dict[str, threading.Barrier] = {}
        lock = threading.Lock()

        def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if environ.get("REQUEST_METHOD") != "PUT" or environ.get("HTTP_IF_NONE_MATCH") != "*":
                return app(environ, start_response)
            head = {k: v for k, v in environ.items() if k != "HTTP_IF_NONE_MATCH"}
            head.update({"REQUEST_METHOD": "HEAD", "CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO()})
            status: list[str] = []
            list(app(head, lambda s, _h, _e=None: status.append(s)))
            exists = status[0].startswith("200")
            with lock:
                barrier = barriers.setdefault(environ["PATH_INFO"], threading.Barrier(parties, timeout=120))
            try:
                barrier.wait()  # every racer of this key has looked before anyone stores
            except threading.BrokenBarrierError:
                pass
            if exists:
                return app(environ, start_response)  # moto answers 412
            return app({k: v for k, v in environ.items() if k != "HTTP_IF_NONE_MATCH"}, start_response)

        return wrapped

    return wrap


def _ignore_condition(app: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return app({k: v for k, v in environ.items() if k != "HTTP_IF_NONE_MATCH"}, start_response)

    return wrapped


@pytest.fixture(scope="module", params=["check-then-store", "ignores-condition"])
def unsafe_s3(request: pytest.FixtureRequest) -> Iterator[str]:
    import boto3

    wrap = _check_then_store(WRITERS) if request.param == "check-then-store" else _ignore_condition
    server = start_moto(wrap)
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="unsafe")
    yield endpoint
    server.stop()


def _left_over(remote: Remote) -> list[str]:
    store = open_store(*remote)
    try:
        return [o.key for o in store.list("artcli-check/")]
    finally:
        store.close()


#: conditional delete is reported, not required: moto and Azurite honour If-Match on delete;
#: fake-gcs-server ignores ifGenerationMatch on delete (GCS documents it), and the probe says so
CONDITIONAL_DELETE = {"file": "not offered", "memory": "not offered", "s3": "ok", "gcs": "failed", "azure": "ok"}


@pytest.mark.parametrize("kind", ["file", "memory", pytest.param("s3", marks=pytest.mark.s3),
                                  pytest.param("gcs", marks=pytest.mark.gcs),
                                  pytest.param("azure", marks=pytest.mark.azure)])
def test_real_backends_are_safe(kind: str, make_remote: Callable[[str], Remote]) -> None:
    remote = make_remote(kind)
    report = check_remote(*remote, writers=WRITERS, processes=2, trials=TRIALS, seed=7)
    verdicts = {c.name: c.verdict for c in report.capabilities}
    assert report.safe, report.to_json()
    assert all(verdicts[name] == "ok" for name in ("exclusive_create", "read_after_write", "list_after_write",
                                                   "ranged_reads"))
    assert verdicts["conditional_delete"] == CONDITIONAL_DELETE[kind], report.to_json()
    assert report.cleaned and report.prefix.startswith("artcli-check/")
    if kind != "memory":
        assert _left_over(remote) == []


def test_a_non_atomic_server_is_unsafe(unsafe_s3: str) -> None:
    remote = ("s3://unsafe/probe", {"endpoint_url": unsafe_s3})
    report = check_remote(*remote, writers=WRITERS, processes=2, trials=TRIALS, seed=7)
    race = next(c for c in report.capabilities if c.name == "exclusive_create")
    assert not report.safe
    assert race.verdict == "failed" and f"{TRIALS} of {TRIALS} keys were created by several writers" in race.detail
    others = {c.name: c.verdict for c in report.capabilities if c.name != "exclusive_create"}
    assert others["read_after_write"] == others["list_after_write"] == others["ranged_reads"] == "ok"
    assert report.cleaned and _left_over(remote) == []


def test_command_line_verdicts_and_exit_codes(tmp_path: Path, unsafe_s3: str) -> None:
    cli = Cli(tmp_path / "home", None)
    good = (tmp_path / "good").as_uri()
    res = cli("remote", "check", good, "--writers", "3", "--trials", "4", "--json")
    assert res.code == 0, res.err
    doc = res.json()
    assert doc["safe"] is True and doc["url"] == good and doc["cleaned"] is True
    assert [c["name"] for c in doc["capabilities"]] == [
        "exclusive_create", "read_after_write", "list_after_write", "ranged_reads", "conditional_delete"]

    cli.ok("remote", "add", "flaky", "s3://unsafe/cli", "-o", f"endpoint_url={unsafe_s3}")
    res = cli("remote", "check", "flaky", "--writers", str(WRITERS), "--trials", "3")
    assert res.code == 5, res.err
    assert "exclusive_create\tfailed" in res.out
    assert "not safe for concurrent writers: exclusive_create" in res.err
    assert "Traceback" not in res.err


def test_unreachable_store_is_exit_6_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Cli(tmp_path / "home", None)
    res = cli("remote", "check", "s3://bucket/p", "-o", f"endpoint_url=http://127.0.0.1:{port}", "-o", "max_attempts=1")
    assert res.code == 6 and "cannot reach" in res.err and "Traceback" not in res.err, res.err
    assert cli("remote", "check", (tmp_path / "r").as_uri(), "--writers", "1").code == 2
    with pytest.raises(UsageError):
        check_remote((tmp_path / "r").as_uri(), writers=4, processes=5)
