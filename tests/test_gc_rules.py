"""The rules under gc and its leases, one at a time and at their edges: when a lease object is
live, and when gc may mark a version deleted for its TTL. Written against the survivors of
``make mutate GROUPS=gc`` (docs/reliability.md): each test here failed with a mutant that the
whole-command tests of ``tests/test_gc.py`` let through."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from artcli import canonical, clock, leases
from artcli.ops import gc as opgc
from artcli.repo import Repo

from clihelp import Cli, make_tree

NOW = datetime(2030, 6, 1, 12, 0, 0, tzinfo=UTC)
T0 = "2030-01-01T00:00:00.000000Z"


def at(when: str) -> dict[str, str]:
    return {"ARTCLI_NOW": when}


def log(cli: Cli, tmp_path: Path, name: str, content: bytes, *args: str) -> None:
    src = make_tree(tmp_path / f"src-{name}-{len(list(tmp_path.iterdir()))}", {"f.txt": content})
    cli.ok("log", name, str(src), *args, env=at(T0))


def events(cli: Cli, name: str) -> list[dict]:
    return [json.loads(line)["event"] for line in cli.ok("debug", "events", name).out.splitlines()]


@contextmanager
def repo_of(cli: Cli) -> Iterator[Repo]:
    """An in-process Repo on the test's remote, to call gc's and the leases' functions directly."""
    saved = {k: os.environ.get(k) for k in cli.env}
    os.environ.update(cli.env)
    repo = Repo.open()
    try:
        yield repo
    finally:
        repo.close()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both clocks lease_live reads, stopped at NOW (a lease is about real time, so no ARTCLI_NOW)."""
    monkeypatch.setattr(leases, "_wall", lambda: NOW)
    monkeypatch.setattr(leases, "time", SimpleNamespace(time=lambda: NOW.timestamp()))


def body(age: float, **fields: object) -> bytes:
    """A lease object whose heartbeat is ``age`` seconds before NOW (negative: ahead of it)."""
    beat = clock.iso(NOW - timedelta(seconds=age))
    return canonical.dumps({"kind": "writer", "id": "x", "started": beat, "heartbeat": beat, "actor": {},
                            **fields})


def test_a_lease_is_live_for_its_own_lifetime(frozen: None) -> None:
    assert leases.lease_live(body(5, lease=10), None)
    assert not leases.lease_live(body(20, lease=10), None)  # the default (120 s) would keep it
    assert leases.lease_live(body(100), None) and not leases.lease_live(body(130), None)  # no lease: 120 s


def test_lease_lifetime_bounds_exactly(frozen: None) -> None:
    assert leases.lease_live(body(119.5, lease=120), None)
    assert not leases.lease_live(body(120, lease=120), None)  # a heartbeat exactly a lease old is dead
    assert leases.lease_live(body(-leases.FUTURE_MAX, lease=120), None)  # skew up to the bound is believed
    assert not leases.lease_live(body(-leases.FUTURE_MAX - 1, lease=120), None)
    # a lease under a second counts as one second; a second and a half is a second and a half
    assert leases.lease_live(body(0.7, lease=0.5), None)
    assert not leases.lease_live(body(1.0, lease=0.5), None)
    assert not leases.lease_live(body(1.7, lease=1.5), None)
    assert leases.lease_live(body(1.2, lease=1.5), None)
    # at most an hour, whatever the object says
    assert leases.lease_live(body(3599, lease=10_000), None)
    assert not leases.lease_live(body(3600, lease=10_000), None)


def test_an_unreadable_lease_is_live_while_its_object_is_young(frozen: None) -> None:
    t = NOW.timestamp()
    assert leases.lease_live(b"not json", None)  # no time to judge by: assumed live
    assert leases.lease_live(b"not json", t - leases.LEASE_SECONDS + 0.5)
    assert not leases.lease_live(b"not json", t - leases.LEASE_SECONDS)  # exactly a lease old: dead
    assert not leases.lease_live(body(0, lease="soon"), t - 600)
    assert leases.lease_live(body(0, lease="soon"), t - 1)


def test_elapsed_takes_the_clock_that_says_more() -> None:
    assert leases._elapsed((10.0, 1000.0), (70.0, 1001.0)) == 60.0  # wall clock set back: boot time counts
    assert leases._elapsed((10.0, 1000.0), (11.0, 4600.0)) == 3600.0  # monotonic clock stopped in sleep


# -- expiry ---------------------------------------------------------------------------------------

def test_gc_marks_an_expired_version_deleted_once(cli: Cli, tmp_path: Path) -> None:
    """At gc's own ``now`` (here years after the real clock), never at the machine's; a version
    deleted meanwhile, or not there, is left alone."""
    log(cli, tmp_path, "ds", b"a", "--ttl", "1d")
    log(cli, tmp_path, "ds", b"b")
    day2, before = datetime(2030, 1, 3, tzinfo=UTC), datetime(2030, 1, 1, 12, tzinfo=UTC)
    with repo_of(cli) as repo:
        assert opgc._mark_deleted(repo, "default", "ds", 0, before) is False  # not expired yet
        assert opgc._mark_deleted(repo, "default", "ds", 1, day2) is False  # no TTL
        assert opgc._mark_deleted(repo, "default", "ds", 7, day2) is False  # no such version
        assert opgc._mark_deleted(repo, "default", "ds", 0, day2) is True
        assert opgc._mark_deleted(repo, "default", "ds", 0, day2) is False  # already deleted
    deleted = [e for e in events(cli, "ds") if e["type"] == "version_deleted"]
    assert [(e["version"], e["reason"]) for e in deleted] == [(0, opgc.EXPIRED_REASON)]
    assert cli("show", "ds:v0", env=at("2030-01-01T01:00:00Z")).code == 3  # deleted, not only expired



def test_expiry_is_judged_at_gcs_own_now(cli: Cli, tmp_path: Path) -> None:
    """gc's ``now`` (here years after the real clock) decides what expires, both when it picks a
    version and when it writes the deletion."""
    log(cli, tmp_path, "ds", b"a", "--ttl", "1d")
    res = opgc.GcResult(dry_run=False, grace=0, now="")
    with repo_of(cli) as repo:
        opgc._expire(repo, datetime(2030, 1, 1, 12, tzinfo=UTC), res)
        assert res.expired == []
        opgc._expire(repo, datetime(2030, 1, 3, tzinfo=UTC), res)
    assert res.expired == [{"ref": "default/ds:v0", "expires": "2030-01-02T00:00:00.000000Z"}]
    assert [e["version"] for e in events(cli, "ds") if e["type"] == "version_deleted"] == [0]


# -- the lease objects ----------------------------------------------------------------------------
def _lease_objects(repo: object, prefix: str) -> dict[str, dict]:
    store = repo.store  # type: ignore[attr-defined]
    return {i.key: canonical.loads(store.get(i.key)) for i in store.list(prefix)}


def test_gc_and_writer_leases_are_where_the_other_side_looks(cli: Cli, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """gc's lease under gc/running/ and a writer's under gc/writers/, each saying its kind and
    run, live while held and gone when ended; a renewed write session is a new lease."""
    from artcli import layout

    log(cli, tmp_path, "ds", b"a")
    monkeypatch.setenv("ARTCLI_RUN_ID", "run-7")
    with repo_of(cli) as repo:
        assert repo.run_id == "run-7"
        lock = leases.gc_lease(repo)
        try:
            objs = _lease_objects(repo, layout.GC_LEASES_PREFIX)
            assert list(objs) == [lock.key] and lock.key.startswith(layout.GC_LEASES_PREFIX)
            assert (objs[lock.key]["kind"], objs[lock.key]["actor"]["run"]) == ("gc", "run-7")
            assert leases.live_leases(repo.store, layout.GC_LEASES_PREFIX) == {lock.key: True}
        finally:
            lock.end()
        assert _lease_objects(repo, layout.GC_LEASES_PREFIX) == {}

        session = leases.LazyWriteSession(repo)
        first = session.get()
        assert session.get() is first
        objs = _lease_objects(repo, layout.WRITER_LEASES_PREFIX)
        assert list(objs) == [first.key]
        assert (objs[first.key]["kind"], objs[first.key]["actor"]["run"]) == ("writer", "run-7")
        second = session.renew()
        assert second.id != first.id and session.get() is second
        assert list(_lease_objects(repo, layout.WRITER_LEASES_PREFIX)) == [second.key]  # the old one ended
        session.close()
        assert _lease_objects(repo, layout.WRITER_LEASES_PREFIX) == {}
        session.close()  # closing twice is harmless


# -- gc waiting for writers -----------------------------------------------------------------------
class _Waits:
    """leases' ``time`` for wait_for_writers: a monotonic clock that moves only when it sleeps;
    ``on_sleep`` runs at each sleep (to end or start writer leases meanwhile)."""

    def __init__(self, on_sleep: object = None) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        if callable(self.on_sleep):
            self.on_sleep(len(self.sleeps))

    @staticmethod
    def time() -> float:
        return datetime.now(UTC).timestamp()


class _Told:
    def __init__(self) -> None:
        self.said: list[str] = []

    def waiting(self, text: str) -> None:
        self.said.append(text)


def _writer(repo: object, name: str) -> str:
    from artcli import layout

    key = f"{layout.WRITER_LEASES_PREFIX}{name}.json"
    beat = clock.iso(datetime.now(UTC))
    repo.store.put(key, canonical.dumps({"kind": "writer", "id": name, "started": beat, "heartbeat": beat,  # type: ignore[attr-defined]
                                         "lease": 120, "actor": {}}))
    return key


def test_gc_waits_for_the_writers_it_saw_until_its_deadline(cli: Cli, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Backing off from 50 ms, saying so once, and giving up exactly at its deadline (exit 5)."""
    from artcli.errors import ConflictError

    log(cli, tmp_path, "ds", b"a")
    clock_ = _Waits()
    monkeypatch.setattr(leases, "time", clock_)
    told = _Told()
    with repo_of(cli) as repo:
        _writer(repo, "w1")
        with pytest.raises(ConflictError, match="1 write still in progress"):
            leases.wait_for_writers(repo, 0.05 + 0.1 + 0.2, SimpleNamespace(check=lambda: None), told)
    assert clock_.sleeps == [0.05, 0.1, 0.2]  # the deadline reached exactly after the third pause
    assert told.said == ["waiting for 1 write in progress to finish"]


def test_gc_backs_off_to_one_second_at_most(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Doubling from 50 ms, the pause stops growing at 1 s: a writer that ends is noticed within
    a second, however long gc has waited."""
    from artcli.errors import ConflictError

    log(cli, tmp_path, "ds", b"a")
    clock_ = _Waits()
    monkeypatch.setattr(leases, "time", clock_)
    with repo_of(cli) as repo:
        _writer(repo, "w1")
        with pytest.raises(ConflictError):
            leases.wait_for_writers(repo, 3.0, SimpleNamespace(check=lambda: None), _Told())
    assert clock_.sleeps == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_gc_waits_only_for_writers_that_were_there_before_it(cli: Cli, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that starts after gc's lease is visible sees gc and waits itself: gc must not
    wait for it (two sides waiting for each other), only for those of its first listing."""
    log(cli, tmp_path, "ds", b"a")
    with repo_of(cli) as repo:
        first = _writer(repo, "w1")

        def meanwhile(n: int) -> None:
            if n == 1:
                repo.store.delete(first)
                _writer(repo, "w2")

        clock_ = _Waits(meanwhile)
        monkeypatch.setattr(leases, "time", clock_)
        leases.wait_for_writers(repo, 60.0, SimpleNamespace(check=lambda: None), _Told())
    assert clock_.sleeps == [0.05]


def test_mark_reaches_every_live_version_at_gcs_own_now(cli: Cli, tmp_path: Path) -> None:
    """Liveness is judged at gc's ``now`` (here years after the real clock): a version past its
    TTL then is not a root; every live one is counted."""
    log(cli, tmp_path, "ds", b"a", "--ttl", "1d")
    log(cli, tmp_path, "ds", b"b")
    log(cli, tmp_path, "other", b"c")
    with repo_of(cli) as repo:
        assert opgc._mark(repo, datetime(2030, 1, 1, 1, tzinfo=UTC), set()).versions == 3
        assert opgc._mark(repo, datetime(2030, 1, 3, tzinfo=UTC), set()).versions == 2
        assert opgc._mark(repo, datetime(2030, 1, 3, tzinfo=UTC), {("default", "ds", 0)}).versions == 3  # linked


def test_gc_tells_its_reporter_while_it_waits(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's reporter (what prints "waiting for …" on stderr) is the one gc waits with."""
    log(cli, tmp_path, "ds", b"a")
    told = _Told()
    with repo_of(cli) as repo:
        first = _writer(repo, "w1")
        monkeypatch.setattr(leases, "time", _Waits(lambda n: repo.store.delete(first)))
        opgc.gc(repo, grace=0, wait=60.0, reporter=told)  # type: ignore[arg-type]
    assert told.said == ["waiting for 1 write in progress to finish"]


def test_gc_judges_liveness_at_the_instant_it_started(cli: Cli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """gc may wait minutes for writers; a TTL that passes meanwhile is the next gc's business:
    this one neither expires the version nor deletes what it reaches."""
    log(cli, tmp_path, "ds", b"a", "--ttl", "1d")
    monkeypatch.setenv("ARTCLI_NOW", "2030-01-01T12:00:00Z")  # half a day before the TTL passes
    waits = leases.wait_for_writers

    def slow_wait(*args: object) -> None:
        monkeypatch.setenv("ARTCLI_NOW", "2030-01-03T00:00:00Z")  # ... and a day after, once it waited
        waits(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(opgc, "wait_for_writers", slow_wait)
    with repo_of(cli) as repo:
        res = opgc.gc(repo, grace=0)
    assert (res.expired, res.deleted, res.live_versions) == ([], [], 1)
    assert res.now == "2030-01-01T12:00:00.000000Z"


def test_gc_stamps_an_empty_remote_before_writing_and_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    from artcli import layout

    for dry in (True, False):
        root = tmp_path / f"remote-{dry}"
        root.mkdir()  # an empty folder: a store no one has written to yet
        Cli(tmp_path / f"home-{dry}", root.as_uri()).ok("gc", *(["--dry-run"] if dry else []))
        written = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        assert written == ([] if dry else [layout.MARKER_KEY]), written


# -- a writer waiting for gc ----------------------------------------------------------------------
def _gc_running(repo: object) -> str:
    from artcli import layout

    key = f"{layout.GC_LEASES_PREFIX}g.json"
    beat = clock.iso(datetime.now(UTC))
    repo.store.put(key, canonical.dumps({"kind": "gc", "id": "g", "started": beat, "heartbeat": beat,  # type: ignore[attr-defined]
                                         "lease": 120, "actor": {}}))
    return key


def test_a_writer_waits_for_a_running_gc_backing_off_and_saying_so_once(cli: Cli, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """While a live gc lease is listed, the writer ends its own lease before each pause (a fresh
    one next time: gc never waits for a writer that waits for it), backs off from 50 ms to 2 s,
    says once which gc it waits for, and goes on with a live lease once the gc is gone."""
    from artcli import layout

    log(cli, tmp_path, "ds", b"a")
    told, writers_while_waiting = _Told(), []
    with repo_of(cli) as repo:
        gc_key = _gc_running(repo)

        def meanwhile(n: int) -> None:
            writers_while_waiting.append(list(leases.live_leases(repo.store, layout.WRITER_LEASES_PREFIX)))
            if n == 8:
                repo.store.delete(gc_key)

        clock_ = _Waits(meanwhile)
        clock_.t = 10_000.0  # a monotonic clock is far from zero
        monkeypatch.setattr(leases, "time", clock_)
        lease = leases._writer_lease(repo, told)  # type: ignore[arg-type]
        try:
            assert lease.key.startswith(layout.WRITER_LEASES_PREFIX)
            assert leases.live_leases(repo.store, layout.WRITER_LEASES_PREFIX) == {lease.key: True}
            assert canonical.loads(repo.store.get(lease.key))["kind"] == "writer"
        finally:
            lease.end()
    assert clock_.sleeps == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0])
    assert told.said == [f"waiting for a garbage collection to finish ({gc_key})"]
    assert writers_while_waiting == [[]] * 8


def test_a_writer_gives_up_on_a_gc_once_it_waited_longer_than_the_limit(cli: Cli, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly the limit is still waited through; past it, exit 5 naming the gc."""
    from artcli.errors import ConflictError

    log(cli, tmp_path, "ds", b"a")
    clock_ = _Waits()
    clock_.t = 10_000.0
    t = clock_.t
    for pause in (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0):  # the same float sums the clock will make
        t += pause
    monkeypatch.setattr(leases, "WRITER_MAX_WAIT", t - clock_.t)
    monkeypatch.setattr(leases, "time", clock_)
    with repo_of(cli) as repo:
        gc_key = _gc_running(repo)
        with pytest.raises(ConflictError, match=f"a garbage collection \\({gc_key}\\) has kept this write waiting"):
            leases._writer_lease(repo, _Told())  # type: ignore[arg-type]
    assert len(clock_.sleeps) == 8  # waited exactly the limit after seven pauses: one more
