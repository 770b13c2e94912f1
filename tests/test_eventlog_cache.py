"""The event reader's local cache and its checkpoints, request by request (issue 23, items 2
and 6; docs/format.md §5.8): a cached event that failed validation is fetched again until the
remote holds a sound one, a bounded number per read; a checkpoint that cannot be fetched or
read is passed over; checkpoints are written once, only over events the cache really holds;
``debug fsck`` names every checkpoint that differs from the log.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from artcli import checkpoints, eventlog, layout
from artcli.checkpoints import BLOCK
from artcli.errors import RemoteError
from artcli.eventlog import EventLog, encode
from artcli.localdb import LocalDB
from artcli.store.local import LocalStore

PREFIX = layout.artifact_prefix("p", "a")


class Store(LocalStore):
    """A folder store that records requests and can refuse some."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.calls: list[tuple[str, Any]] = []
        self.refuse: set[str] = set()  # methods that raise RemoteError for checkpoint keys
        self.gone: set[str] = set()  # keys get() refuses as vanished

    def list(self, prefix, start_after=None):  # type: ignore[no-untyped-def]
        self.calls.append(("list", prefix))
        return super().list(prefix, start_after)

    def get(self, key):  # type: ignore[no-untyped-def]
        self.calls.append(("get", key))
        if key in self.gone or ("get" in self.refuse and "/checkpoints/" in key):
            raise RemoteError(f"refused {key}")
        return super().get(key)

    def get_ranges(self, key_ranges):  # type: ignore[no-untyped-def]
        self.calls.append(("get_ranges", [k for k, _a, _b in key_ranges]))
        if "get_ranges" in self.refuse and any("/checkpoints/" in k for k, _a, _b in key_ranges):
            raise RemoteError("refused")
        return super().get_ranges(key_ranges)

    def put_if_absent(self, key, data):  # type: ignore[no-untyped-def]
        self.calls.append(("put_if_absent", key))
        if "put_if_absent" in self.refuse:
            raise RemoteError("read-only")
        return super().put_if_absent(key, data)

    def count(self, kind: str) -> int:
        return sum(1 for c, _ in self.calls if c == kind)


def body(seq: int) -> bytes:
    return encode({"type": "x", "n": seq}, seq, "r", f"2026-01-01T00:00:00.{seq:06d}Z")[1]


def write_log(root: Path, n: int, bad: dict[int, bytes] | None = None) -> None:
    for seq in range(n):
        path = root / layout.event_key(PREFIX, seq)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((bad or {}).get(seq, body(seq)))


def open_log(tmp_path: Path, name: str = "a") -> tuple[EventLog, Store, LocalDB]:
    store = Store(str(tmp_path / "remote"))
    db = LocalDB(tmp_path / f"{name}.db")
    return EventLog(store, db, PREFIX), store, db


def test_suspects_are_fetched_again_a_bounded_number_per_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventlog, "RECHECK", 3)
    broken = {s: body(s)[:-2] for s in (1, 2, 3, 4, 5)}
    write_log(tmp_path / "remote", 8, broken)
    log, store, db = open_log(tmp_path)
    assert [ev is None for _, ev in log.read()] == [False, True, True, True, True, True, False, False]
    cache = log._log_id
    assert db.suspects(cache) == [1, 2, 3, 4, 5]
    write_log(tmp_path / "remote", 8, {2: broken[2]})  # repaired on the remote, but for v2
    (tmp_path / "remote" / layout.event_key(PREFIX, 3)).unlink()  # and v3 gone
    store.calls.clear()
    got = log.read()
    assert db.suspects(cache) == [2, 3, 4, 5]  # three re-fetched: 1 sound, 2 still bad, 3 gone
    assert got[1][1] is not None and got[1][1]["n"] == 1 and got[4][1] is None
    assert [c for c in store.calls if c[0] == "get_ranges"][:2] == [
        ("get_ranges", [layout.event_key(PREFIX, 1)]), ("get_ranges", [layout.event_key(PREFIX, 2)])]
    log.read()
    assert db.suspects(cache) == [2, 3, 5]
    log.read()
    assert db.suspects(cache) == [2, 3]
    assert all(ev is not None for _, ev in log.read()[4:])
    assert db.suspects(cache) == [2, 3]  # kept until the remote holds a sound event there
    write_log(tmp_path / "remote", 8)
    log.read()
    assert db.suspects(cache) == [] and all(ev is not None for _, ev in log.read())


def test_a_read_with_no_suspects_asks_for_none(tmp_path: Path) -> None:
    write_log(tmp_path / "remote", 3, {s: encode({"type": "x", "pad": "p" * 10 * s}, s, "r")[1] for s in range(3)})
    log, store, _db = open_log(tmp_path)
    log.read()
    store.calls.clear()
    log.read()
    assert store.calls == [("list", f"{PREFIX}events/")]  # the warm read: one LIST, nothing fetched


def _long_log(tmp_path: Path, n: int = 2 * BLOCK + 5) -> list[Any]:
    """A log with its level-0 checkpoints, and what a reader of every object reads."""
    write_log(tmp_path / "remote", n)
    first, _s, _db = open_log(tmp_path, "first")
    truth = first.read()
    assert len(list((tmp_path / "remote" / PREFIX / "checkpoints").iterdir())) == n // BLOCK
    return truth


@pytest.mark.parametrize("refuse", [{"get_ranges"}, {"get_ranges", "get"}])
def test_a_checkpoint_that_cannot_be_fetched_is_passed_over(tmp_path: Path, refuse: set[str]) -> None:
    truth = _long_log(tmp_path)
    log, store, _db = open_log(tmp_path, "cold")
    store.refuse = refuse
    assert log.read() == truth
    cps = [k for c, k in store.calls if c == "get" and "/checkpoints/" in k]
    assert len(cps) == 2  # fetched one by one when the batch is refused
    fetched = sorted(k for c, keys in store.calls if c == "get_ranges" for k in keys if "/events/" in k)
    assert len(fetched) == (5 if refuse == {"get_ranges"} else len(truth))


def test_a_checkpoint_that_vanished_is_passed_over_and_the_next_one_used(tmp_path: Path) -> None:
    truth = _long_log(tmp_path)
    log, store, _db = open_log(tmp_path, "cold")
    store.refuse = {"get_ranges"}
    store.gone = {k for k in (str(p.relative_to(tmp_path / "remote"))
                              for p in (tmp_path / "remote" / PREFIX / "checkpoints").iterdir()) if "-000000000128." in k}
    assert log.read() == truth
    events = [k for c, keys in store.calls if c == "get_ranges" for k in keys if "/events/" in k]
    assert len(events) == BLOCK + 5  # [0, 64) from its checkpoint, the rest one by one


@pytest.mark.parametrize("held", [1, BLOCK - 2, BLOCK - 1, BLOCK, BLOCK + 1])
def test_a_warm_reader_far_behind_catches_up_through_checkpoints_missing_nothing(tmp_path: Path, held: int) -> None:
    truth = _long_log(tmp_path, 3 * BLOCK + 5)
    log, store, db = open_log(tmp_path, "warm")
    db.add_events(log._log_id, [(s, body(s)) for s in range(held)])
    assert log.read() == truth
    events = [k for c, keys in store.calls if c == "get_ranges" for k in keys if "/events/" in k]
    assert len(events) == 5  # the rest came in checkpoints


def test_a_store_made_again_under_the_cache_is_read_again_through_its_checkpoints(tmp_path: Path) -> None:
    """The cache held a short log; the store was made again (same URL) with a long one whose
    last event has another size: the cache is dropped and the new log read from its start,
    through its checkpoints, missing nothing."""
    write_log(tmp_path / "remote", 5)
    log, store, _db = open_log(tmp_path)
    log.read()
    shutil.rmtree(tmp_path / "remote")
    longer = {s: encode({"type": "y", "pad": "q" * (s % 7)}, s, "r")[1] for s in range(3 * BLOCK + 5)}
    write_log(tmp_path / "remote", 3 * BLOCK + 5, longer)
    truth = open_log(tmp_path, "fresh")[0].read()  # leaves the checkpoints of [0, 192)
    assert [ev["type"] for _k, ev in truth] == ["y"] * (3 * BLOCK + 5)
    store.calls.clear()
    log._segments = None  # a later process
    assert log.read() == truth
    events = [k for c, keys in store.calls if c == "get_ranges" for k in keys if "/events/" in k]
    assert len(events) == 5


def test_checkpoints_are_listed_once_and_written_once(tmp_path: Path) -> None:
    write_log(tmp_path / "remote", 2 * BLOCK + 5)
    log, store, _db = open_log(tmp_path)
    log.read()
    assert store.count("put_if_absent") == 2 and store.calls.count(("list", f"{PREFIX}checkpoints/")) == 1
    log._checkpoint_prefix()  # what this process wrote is known: nothing to write or list again
    assert store.count("put_if_absent") == 2 and store.calls.count(("list", f"{PREFIX}checkpoints/")) == 1
    names = sorted(p.name[:25] for p in (tmp_path / "remote" / PREFIX / "checkpoints").iterdir())
    assert names == [f"{0:012d}-{BLOCK:012d}", f"{BLOCK:012d}-{2 * BLOCK:012d}"]
    other, store2, _db2 = open_log(tmp_path, "other")
    other.read()
    assert store2.count("put_if_absent") == 0  # a second reader finds them listed


def test_checkpoints_a_process_wrote_serve_its_own_later_cold_read(tmp_path: Path) -> None:
    """A process that wrote checkpoints and then drops its cached events (the store changed
    under the cache, an event proved wrong) reads them back through those checkpoints."""
    write_log(tmp_path / "remote", 2 * BLOCK + 5)
    log, store, db = open_log(tmp_path)
    truth = log.read()
    db.forget_events(log._log_id)
    store.calls.clear()
    assert log.read() == truth
    assert sum(len(keys) for c, keys in store.calls if c == "get_ranges") == 2 + 5  # two checkpoints, the tail


def test_no_checkpoint_over_a_gap_in_the_cache_or_on_a_read_only_store(tmp_path: Path) -> None:
    write_log(tmp_path / "remote", 2 * BLOCK + 5)
    log, store, db = open_log(tmp_path)
    store.refuse = {"put_if_absent"}
    assert len(log.read()) == 2 * BLOCK + 5  # a store that refuses writes: read anyway
    assert not (tmp_path / "remote" / PREFIX / "checkpoints").exists()
    store.refuse = set()
    db.forget_events(log._log_id, BLOCK + 3)
    db.add_events(log._log_id, [(s, body(s)) for s in range(BLOCK + 4, 2 * BLOCK + 5)])
    log._segments = []
    log._checkpoint_prefix()  # [64, 128) lacks event 67 here: written only where the cache holds every event
    names = [p.name[:25] for p in (tmp_path / "remote" / PREFIX / "checkpoints").iterdir()]
    assert names == [f"{0:012d}-{BLOCK:012d}"]
    empty, store3, _db3 = open_log(tmp_path, "empty")
    empty._checkpoint_prefix()  # nothing cached: nothing to write, nothing listed
    assert store3.calls == []


def test_fsck_counts_every_event_a_checkpoint_gets_wrong(tmp_path: Path) -> None:
    write_log(tmp_path / "remote", BLOCK + 3)
    log, _store, _db = open_log(tmp_path)
    log.read()
    assert log.check_checkpoints() == []
    rows = [(s, body(s)) for s in range(BLOCK)]
    for changed, says in (({5}, "at seq 5: the remote"), ({5, 9}, "at seq 5 and 1 more: the remote"),
                          ({5, 9, 60}, "at seq 5 and 2 more: the remote")):
        forged = [(s, b.replace(b'"x"', b'"y"') if s in changed else b) for s, b in rows]
        digest, blob = checkpoints.encode(PREFIX, 0, BLOCK, forged)
        key = checkpoints.key(PREFIX, 0, BLOCK, digest)
        (tmp_path / "remote" / key).write_bytes(blob)
        assert log.check_checkpoints() == [("checkpoint-mismatch", key,
                                            f"differs from the event objects {says} is damaged")]
        (tmp_path / "remote" / key).unlink()
    # a corrupt checkpoint listed first does not stop fsck from checking the next one
    digest, blob = checkpoints.encode(PREFIX, 0, BLOCK, [(s, b.replace(b'"x"', b'"z"')) for s, b in rows])
    key = checkpoints.key(PREFIX, 0, BLOCK, digest)
    (tmp_path / "remote" / key).write_bytes(blob)
    junk = checkpoints.key(PREFIX, 0, BLOCK, "0" * 64)
    (tmp_path / "remote" / junk).write_bytes(b"junk")
    assert [(k, where) for k, where, _m in log.check_checkpoints()] == [("checkpoint-corrupt", junk),
                                                                      ("checkpoint-mismatch", key)]
    (tmp_path / "remote" / key).unlink()
    (tmp_path / "remote" / junk).unlink()
    stray = tmp_path / "remote" / PREFIX / "checkpoints" / "notes.txt"
    stray.write_bytes(b"not a checkpoint")
    assert log.check_checkpoints() == []
    (tmp_path / "remote" / layout.event_key(PREFIX, 7)).write_bytes(body(7) + b" ")
    problems = log.check_checkpoints()
    assert [(k, m.split(": ")[0]) for k, _key, m in problems] == [("checkpoint-mismatch", "differs from the event "
                                                                                         "objects at seq 7")]


def test_a_cold_read_through_random_damage_is_the_truth(tmp_path: Path) -> None:
    rng = random.Random(7)
    truth = _long_log(tmp_path, 3 * BLOCK + 1)
    for p in sorted((tmp_path / "remote" / PREFIX / "checkpoints").iterdir()):
        data = bytearray(p.read_bytes())
        data[rng.randrange(10, len(data))] ^= 0xFF
        p.write_bytes(bytes(data))
    log, _store, _db = open_log(tmp_path, "cold")
    assert log.read() == truth
