"""A writer paused longer than its lease (SIGSTOP, a laptop asleep, a preempted CI runner) while
a gc deletes what it uploaded or deduplicated against never commits a broken version
(docs/format.md §7.1, docs/reliability.md).

The writer is a real ``artcli log`` process that stops itself (SIGSTOP) right after its
manifest is uploaded, just before it commits; the test runs gc, which waits by itself until the
stopped writer's lease is no longer live, then sends SIGCONT. The writer runs with a short
lease so that takes seconds, not minutes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artcli.leases import Lease

from clihelp import Cli, make_tree, tree_bytes

ROOT = Path(__file__).resolve().parents[1]
LEASE = 4.0  # seconds: the writer's lease; gc waits about this long for the stopped writer
BIG = 1 << 20  # a loose blob; the small files go into a pack
LATER = "2030-01-03T00:00:00.000000Z"  # past the default 24 h grace of everything written today

WRITER = f"""
import os, signal, sys, time
from artcli import canonical, clock, leases
leases.LEASE_SECONDS = {LEASE}
leases.HEARTBEAT_SECONDS = {LEASE / 16}
import artcli.ops.log as oplog
real = oplog.store_manifest

def then_stop(repo, *args, **kwargs):
    digest = real(repo, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGSTOP)  # every thread stops here, the heartbeat's too
    # resumed: the worst order is the heartbeat thread refreshing the lease before this thread
    # goes on to commit; wait for that (a heartbeat stamped after the resume)
    resumed = leases._wall()
    deadline = time.monotonic() + 120  # a hang guard only
    while True:
        beats = [clock.parse_iso(canonical.loads(repo.store.get(i.key))["heartbeat"])
                 for i in repo.store.list("gc/writers/")]
        if any(b >= resumed for b in beats):
            return digest
        if time.monotonic() > deadline:
            raise SystemExit("no heartbeat after the resume")
        time.sleep(0.01)  # polling a condition, not synchronising on time

oplog.store_manifest = then_stop
from artcli.cli.app import main
main(sys.argv[1:])
"""


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


def _wait_stopped(proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120  # a hang guard only
    while _state(proc.pid) != "T":
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the writer ended (exit {proc.returncode}) before its commit point: {out} {err}")
        assert time.monotonic() < deadline, "the writer never reached its commit point"
        time.sleep(0.01)


def _paused_log(cli: Cli, name: str, src: Path, gc_args: list[str], gc_env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run ``log name src`` in a writer that stops before committing; run gc meanwhile; resume it."""
    env = cli.proc_env({"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)})
    proc = subprocess.Popen([sys.executable, "-c", WRITER, "log", name, str(src)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_stopped(proc)
        gc = cli("gc", "--json", *gc_args, env=gc_env)  # waits until the stopped writer's lease is dead
        assert gc.code == 0, gc.err
        assert gc.json()["deleted"], "gc deleted nothing: the scenario did not happen"
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _fsck_ok(cli: Cli) -> None:
    rep = cli.ok("debug", "fsck", "--read-data", "--json").json()
    assert rep["ok"], rep["problems"]


def _files(tag: str) -> dict[str, bytes]:
    rng = __import__("random").Random(tag)
    return {"small.txt": f"small {tag}".encode(), "big.bin": rng.randbytes(BIG + 7)}


def test_a_writer_paused_across_gc_never_commits_its_deleted_uploads(shared_cli: Cli, tmp_path: Path) -> None:
    """Its own fresh pack and blob, deleted by ``gc --grace 0s`` while it was stopped."""
    cli = shared_cli
    src = make_tree(tmp_path / "src", _files("own"))
    code, out, err = _paused_log(cli, "victim", src, ["--grace", "0s"])
    assert code != 0 and "default/victim:v0" not in out, f"committed after gc deleted its objects: {out} {err}"
    assert code == 5 and "paused" in err and "nothing was committed" in err, err
    _fsck_ok(cli)
    assert cli.ok("log", "victim", str(src)).out.strip() == "default/victim:v0"  # a re-run uploads what went
    cli.ok("download", "victim", "--root", str(tmp_path / "out"), "--skip-cache")
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)


def test_a_writer_paused_across_gc_never_commits_old_objects_it_reused(cli: Cli, tmp_path: Path) -> None:
    """The pack and blob of a deleted version, found by deduplication, deleted by a gc with
    the default grace while the writer was stopped."""
    src = make_tree(tmp_path / "src", _files("old"))
    cli.ok("log", "old", str(src))
    cli.ok("delete", "old")
    code, out, err = _paused_log(cli, "victim", src, [], {"ARTCLI_NOW": LATER})
    assert code != 0 and "default/victim:v0" not in out, f"committed after gc deleted what it reused: {out} {err}"
    assert code == 5 and "paused" in err, err
    _fsck_ok(cli)
    cli.ok("log", "victim", str(src))
    cli.ok("download", "victim", "--root", str(tmp_path / "out"), "--skip-cache")
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)


def test_a_writer_paused_with_nothing_deleted_commits(cli: Cli, tmp_path: Path) -> None:
    """A gap alone is no failure: under a new lease, everything it needs is still there."""
    src = make_tree(tmp_path / "src", _files("kept"))
    cli.ok("log", "keep", str(src))  # the same content, live: gc keeps it
    make_tree(tmp_path / "junk", {"junk.bin": b"j" * (BIG + 1)})
    cli.ok("log", "junk", str(tmp_path / "junk"))
    cli.ok("delete", "junk")  # so that gc has something to delete
    code, out, err = _paused_log(cli, "twin", src, ["--grace", "0s"])
    assert code == 0 and out.strip() == "default/twin:v0", err
    _fsck_ok(cli)


GC = f"""
import os, signal, sys, time
from artcli import canonical, clock, leases
leases.LEASE_SECONDS = {LEASE}
leases.HEARTBEAT_SECONDS = {LEASE / 16}
import artcli.ops.gc as opgc
real = opgc._sweep

def stop_then(repo, items, lock):
    os.kill(os.getpid(), signal.SIGSTOP)  # marked, about to delete
    resumed = leases._wall()  # as for the writer: let the heartbeat thread win the race
    deadline = time.monotonic() + 120  # a hang guard only
    while not any(clock.parse_iso(canonical.loads(repo.store.get(i.key))["heartbeat"]) >= resumed
                  for i in repo.store.list("gc/running/")):
        if time.monotonic() > deadline:
            raise SystemExit("no gc heartbeat after the resume")
        time.sleep(0.01)  # polling a condition
    return real(repo, items, lock)

opgc._sweep = stop_then
from artcli.cli.app import main
main(sys.argv[1:])
"""


def test_a_gc_paused_before_deleting_deletes_nothing_a_writer_reused(cli: Cli, tmp_path: Path) -> None:
    """The other side: gc marked, then stopped; a writer (which waits until the gc lease is dead)
    reuses the garbage gc was about to delete; gc resumes and must not delete it."""
    src = make_tree(tmp_path / "src", _files("gc"))
    cli.ok("log", "old", str(src))
    cli.ok("delete", "old")
    env = cli.proc_env({"PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)})
    proc = subprocess.Popen([sys.executable, "-c", GC, "gc", "--grace", "0s", "--json"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_stopped(proc)
        assert cli.ok("log", "reuser", str(src)).out.strip() == "default/reuser:v0"  # waits out the gc lease
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "lapsed" in err, f"gc went on deleting after its lease lapsed: {out} {err}"
    _fsck_ok(cli)
    cli.ok("download", "reuser", "--root", str(tmp_path / "out"), "--skip-cache")
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)


# -- the lease itself ------------------------------------------------------------------------------
class _Clock:
    def __init__(self) -> None:
        self.boot, self.wall = 1000.0, 2_000_000_000.0

    def __call__(self) -> tuple[float, float]:
        return self.boot, self.wall


def test_a_lease_that_lapsed_stays_lapsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A heartbeat after the gap does not hide it (the bug: the heartbeat thread refreshed the
    lease on resume, and the check that followed saw a young heartbeat)."""
    from artcli import leases
    from artcli.errors import RemoteError
    from artcli.store.memory import MemoryStore

    clock = _Clock()
    monkeypatch.setattr(leases, "_ticks", clock)
    lease = Lease(MemoryStore("memory://lapse"), "gc/writers/", "writer", lease=120)
    lease._put()
    clock.boot += 59
    clock.wall += 59
    lease._put()
    lease.check()  # 59 s between heartbeats: within half the lease
    clock.boot += 61  # a pause (the wall clock, set back meanwhile, says less)
    clock.wall += 1
    lease._put()  # the first heartbeat after the pause
    assert lease.lapsed and lease.gap >= 61
    with pytest.raises(RemoteError, match="lapsed"):
        lease.check()
    clock.boot += 1
    clock.wall += 1
    lease._put()
    assert lease.lapsed  # and it stays so


def test_a_lease_lapses_by_the_wall_clock_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the monotonic clock stops while the machine sleeps, the wall clock still moves."""
    from artcli import leases
    from artcli.store.memory import MemoryStore

    clock = _Clock()
    monkeypatch.setattr(leases, "_ticks", clock)
    lease = Lease(MemoryStore("memory://lapse-wall"), "gc/running/", "gc", lease=120)
    lease._put()
    clock.wall += 3600
    assert lease.lapsed
