"""A writer's and gc's lease objects from the inside: the heartbeat that keeps one live, the
gap that makes one lapse (issue 23, item 1), a process that exits holding one, and the lazy
session ``log`` takes it through. Written against the survivors of ``make mutate
GROUPS=leases`` (docs/reliability.md, round 5); the waiting itself is in test_gc_rules.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artcli import canonical, layout, leases
from artcli.store import open_store
from test_gc_rules import _gc_running, _Told, _Waits, repo_of

from clihelp import Cli

ROOT = Path(__file__).resolve().parents[1]


def test_a_lease_keeps_beating_until_it_ends(tmp_path: Path) -> None:
    store = open_store((tmp_path / "remote").as_uri(), {})
    lease = leases.Lease(store, layout.WRITER_LEASES_PREFIX, "writer", heartbeat=0.05).start()
    try:
        assert lease._thread is not None and lease._thread.daemon  # it never keeps a process alive (below)
        first = canonical.loads(store.get(lease.key))["heartbeat"]
        deadline = time.monotonic() + 60  # a hang guard, not a measure: it beats every 50 ms
        while canonical.loads(store.get(lease.key))["heartbeat"] == first:
            assert time.monotonic() < deadline, "no heartbeat in a minute"
            time.sleep(0.02)
    finally:
        lease.end()
    assert lease._thread is not None and not lease._thread.is_alive()
    assert list(store.list(layout.WRITER_LEASES_PREFIX)) == []
    store.close()


def test_a_process_that_never_ends_its_lease_still_exits(tmp_path: Path) -> None:
    """The heartbeat thread never keeps a process alive (a command that fails mid-way exits;
    its lease goes stale on its own)."""
    code = ("import sys; from artcli import layout, leases; from artcli.store import open_store; "
            "leases.Lease(open_store(sys.argv[1], {}), layout.WRITER_LEASES_PREFIX, 'writer').start(); "
            "print('started', flush=True)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-c", code, (tmp_path / "remote").as_uri()], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=60)  # a hang guard; it exits as soon as its main thread ends
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("a process holding a lease did not exit") from None
    assert p.returncode == 0 and out == "started\n", err


class _Ticks:
    """leases' two clocks (boot time, wall time), moved by hand."""

    def __init__(self) -> None:
        self.now = (1_000.0, 2_000_000_000.0)

    def __call__(self) -> tuple[float, float]:
        return self.now

    def move(self, seconds: float) -> None:
        self.now = (self.now[0] + seconds, self.now[1] + seconds)


@pytest.mark.parametrize("lease_s", [120.0, 1.0])
def test_a_lease_lapses_once_half_of_it_passed_without_a_heartbeat(tmp_path: Path, lease_s: float,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly half the lease is still live; a moment more and the lease has lapsed for good
    (with a one-second lease too: a gap under a second counts)."""
    ticks = _Ticks()
    monkeypatch.setattr(leases, "_ticks", ticks)
    store = open_store((tmp_path / "remote").as_uri(), {})
    lease = leases.Lease(store, layout.WRITER_LEASES_PREFIX, "writer", lease=lease_s, heartbeat=3600).start()
    try:
        ticks.move(lease_s / 2)
        assert not lease.lapsed and lease.gap == 0
        ticks.move(lease_s / 10)
        assert lease.lapsed and lease.gap == pytest.approx(lease_s * 0.6)
        lease._put()  # a heartbeat now does not bring it back
        assert lease.lapsed
        with pytest.raises(leases.RemoteError, match="lapsed"):
            lease.check()
    finally:
        lease.end()
        store.close()


def test_a_write_session_stamps_an_empty_remote_and_waits_for_gc_through_its_reporter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``log``'s lazy session: the first write on an empty remote stamps it (never writing to
    a store of another format), a running gc is waited for with the session's reporter, and a
    closed session taken again starts a new lease."""
    root = tmp_path / "remote"
    root.mkdir()
    cli = Cli(tmp_path / "home", root.as_uri())
    told = _Told()
    with repo_of(cli) as repo:
        session = leases.LazyWriteSession(repo, told)  # type: ignore[arg-type]
        first = session.get()
        assert (root / layout.MARKER_KEY).is_file()
        session.close()
        gc_key = _gc_running(repo)
        monkeypatch.setattr(leases, "time", _Waits(lambda n: repo.store.delete(gc_key)))
        second = session.get()
        try:
            assert second.id != first.id
            assert leases.live_leases(repo.store, layout.WRITER_LEASES_PREFIX) == {second.key: True}
        finally:
            session.close()
    assert told.said == [f"waiting for a garbage collection to finish ({gc_key})"]


def test_a_lease_object_says_what_format_section_7_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its own key, kind, id, start, heartbeat and lifetime, and who holds it; both times real
    (leases are about processes being alive, so ARTCLI_NOW never applies)."""
    from datetime import UTC, datetime

    from artcli import clock

    monkeypatch.setenv("ARTCLI_NOW", "2031-01-01T00:00:00Z")
    store = open_store((tmp_path / "remote").as_uri(), {})
    lease = leases.Lease(store, layout.WRITER_LEASES_PREFIX, "writer", "run-9", lease=30.0, heartbeat=0.05).start()
    other = leases.Lease(store, layout.WRITER_LEASES_PREFIX, "writer").start()
    try:
        body = canonical.loads(store.get(lease.key))
        assert lease.key == layout.lease_key(layout.WRITER_LEASES_PREFIX, lease.id) != other.key
        assert set(body) == {"kind", "id", "started", "heartbeat", "lease", "actor"}
        assert (body["kind"], body["id"], body["lease"], body["actor"]["run"]) == ("writer", lease.id, 30.0, "run-9")
        assert lease.interval == 0.05 and (other.interval, other.lease) == (leases.HEARTBEAT_SECONDS, leases.LEASE_SECONDS)
        for field in ("started", "heartbeat"):
            assert abs((clock.parse_iso(body[field]) - datetime.now(UTC)).total_seconds()) < 86400, body
    finally:
        lease.end()
        other.end()
        store.close()


def test_live_leases_judges_every_object_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One that vanished between the listing and its read is skipped, not the rest; an
    unreadable one is live only while its object is younger than a lease."""
    from artcli.errors import NotFoundError

    root = tmp_path / "remote"
    store = open_store(root.as_uri(), {})
    prefix = layout.WRITER_LEASES_PREFIX
    for name in ("a-gone", "b-old-junk", "c-young-junk"):
        store.put(f"{prefix}{name}.json", b"not json")
    old = time.time() - leases.LEASE_SECONDS - 60
    os.utime(root / f"{prefix}b-old-junk.json", (old, old))
    real_get = store.get

    def get(key: str) -> bytes:
        if key.endswith("a-gone.json"):
            raise NotFoundError(key)
        return real_get(key)

    monkeypatch.setattr(store, "get", get)
    assert leases.live_leases(store, prefix) == {f"{prefix}b-old-junk.json": False, f"{prefix}c-young-junk.json": True}
    store.close()


def test_ending_a_lease_waits_for_a_heartbeat_in_flight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A heartbeat being written when the lease ends must land before the object is deleted,
    or it would put back a lease its holder has finished with."""
    import threading

    store = open_store((tmp_path / "remote").as_uri(), {})
    lease = leases.Lease(store, layout.WRITER_LEASES_PREFIX, "writer", heartbeat=0.01).start()
    in_put, release = threading.Event(), threading.Event()
    real_put = store.put

    def put(key: str, data: bytes) -> None:
        if threading.current_thread() is lease._thread:
            in_put.set()
            assert release.wait(60)
        real_put(key, data)

    monkeypatch.setattr(store, "put", put)
    assert in_put.wait(60), "no heartbeat"
    ender = threading.Thread(target=lease.end)
    ender.start()
    release.set()
    ender.join(60)
    assert lease._thread is not None
    lease._thread.join(60)
    assert list(store.list(layout.WRITER_LEASES_PREFIX)) == []
    store.close()
