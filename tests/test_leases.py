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
