"""What one ``log`` asks an S3 server for, counted at the server.

The counts come from the scale benchmark's middleware (``benchmarks/countserver.py``) around
a moto server of its own, so no request artcli sends (botocore's, s3fs's, a check hidden in a
helper) can go uncounted. A manifest upload used to cost a HEAD on its key first, and on a
warm log that HEAD's 404 cost a HEAD on the bucket too (the "is the bucket there?" check after
a store's first "not found"): the manifest is now one PUT.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.countserver import Counting
from clihelp import Cli, make_tree
from conftest import start_moto

pytestmark = pytest.mark.s3

#: a first ``log`` of one small file into an empty bucket: the marker GET (404, then the bucket
#: HEAD that tells a missing bucket from a new remote), the LISTs that find the remote empty
#: and the marker PUT; the artifact's log; settings; lease PUT, gc listing; packs listing;
#: pack + index; manifest; catalogue checkpoints + events LIST, touch; the event; summary;
#: lease DELETE; run record LIST + PUT
COLD_LOG = {"GET": 1, "HEAD": 1, "LIST": 13, "PUT": 9, "DELETE": 1}
#: the next ``log`` of one new file: marker; the artifact's log LIST + the new event's GET;
#: settings; lease, gc listing; packs listing, the previous version's pack index, pack + index;
#: manifest; catalogue checkpoints + events LIST, touch; the event; summary; lease DELETE; run
#: record LIST + PUT. No HEAD at all: it had two (manifest key, then bucket).
WARM_LOG = {"GET": 3, "LIST": 7, "PUT": 8, "DELETE": 1}


@pytest.fixture(scope="module")
def counting_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Counting, Path]]:
    """A moto server of its own behind the counting middleware: (endpoint, counter, trace file)."""
    trace = tmp_path_factory.mktemp("s3trace") / "requests.txt"
    box: dict[str, Counting] = {}

    def wrap(app: Any) -> Counting:
        counter = box["counter"] = Counting(app)
        counter.trace = trace.open("a", buffering=1)  # what ARTCLI_BENCH_TRACE=FILE turns on
        return counter

    server = start_moto(wrap)
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}", box["counter"], trace
    finally:
        server.stop()
        box["counter"].trace.close()


def _counted(counter: Counting, trace: Path, cli: Cli, *args: str) -> tuple[dict[str, int], str]:
    """The requests one command sends: counts by kind, and the trace lines for a failure message.

    The writer lease's heartbeats (a PUT of the same key every 15 s) are left out: how many a
    command sends depends on how long it took, which on a loaded machine can be anything."""
    before, at = Counter(counter.counts), trace.stat().st_size
    cli.ok(*args)
    with trace.open() as fh:
        fh.seek(at)
        lines = fh.read()
    counts = Counter(counter.counts) - before
    counts["PUT"] -= max(0, sum(ln.startswith("PUT ") and "/gc/writers/" in ln for ln in lines.splitlines()) - 1)
    return dict(+counts), lines


def _manifest_requests(lines: str) -> list[str]:
    return [ln.split()[0] for ln in lines.splitlines() if "/artcli/manifests/" in ln]


def test_a_log_and_a_warm_log_send_one_put_for_their_manifest_and_no_head(
        counting_s3: tuple[str, Counting, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, counter, trace = counting_s3
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="log-requests")
    cli = Cli(tmp_path / "home", "s3://log-requests/artcli", env={"AWS_ENDPOINT_URL": endpoint})

    cold, lines = _counted(counter, trace, cli, "log", "ds", str(make_tree(tmp_path / "v0", {"a.txt": b"a\n"})))
    assert _manifest_requests(lines) == ["PUT"], lines
    assert cold == COLD_LOG, lines

    warm, lines = _counted(counter, trace, cli, "log", "ds", str(make_tree(tmp_path / "v1", {"b.txt": b"b\n"})))
    assert _manifest_requests(lines) == ["PUT"], lines
    assert warm == WARM_LOG, lines

    # a manifest written streaming (from a file, as from 100,000 entries on) is one PUT too
    from artcli.ops import log as log_ops

    monkeypatch.setattr(log_ops, "STREAM_MIN_ENTRIES", 0)
    streamed, lines = _counted(counter, trace, cli, "log", "ds", str(make_tree(tmp_path / "v2", {"c.txt": b"c\n"})))
    assert _manifest_requests(lines) == ["PUT"], lines
    assert "HEAD" not in streamed, lines
