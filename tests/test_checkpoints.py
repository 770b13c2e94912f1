"""Checkpoints (docs/format.md §5.8): a stretch of a log in one object, never a change of meaning.

The property test writes random logs (corrupt events included), random checkpoints over them
(valid ones, damaged ones, ones from another log, stray keys), and checks that a cold reader
going through checkpoints, and a warm reader catching up from any point, fold exactly what a
reader of every event object folds.
"""

from __future__ import annotations

import gzip
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artcli import checkpoints, layout
from artcli.checkpoints import BLOCK, Segment
from artcli.errors import IntegrityError
from artcli.eventlog import EventLog, encode
from artcli.hashing import digest_bytes
from artcli.localdb import LocalDB
from artcli.state.artifact import fold
from artcli.store.local import LocalStore

PREFIX = layout.artifact_prefix("p", "a")
D = "d" * 64


class CountingStore(LocalStore):
    """A folder store that counts what a reader asks for."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.lists = 0
        self.gets = 0

    def list(self, prefix, start_after=None):  # type: ignore[no-untyped-def]
        self.lists += 1
        return super().list(prefix, start_after)

    def get(self, key):  # type: ignore[no-untyped-def]
        self.gets += 1
        return super().get(key)

    def get_ranges(self, key_ranges):  # type: ignore[no-untyped-def]
        self.gets += len(key_ranges)
        return super().get_ranges(key_ranges)


def _event(rng: random.Random, seq: int, versions: int) -> bytes:
    """A random artifact event as a writer would store it; now and then garbage."""
    r = rng.random()
    if r < 0.03:
        return b"{not json" + bytes([rng.randrange(256)])
    if r < 0.3 or versions == 0:
        body = {"type": "version_created", "version": versions, "digest": f"{seq:064x}", "manifest": D,
                "size": seq, "files": 1, "artifact_type": "dataset", "aliases": [], "metadata": {}}
    elif r < 0.6:
        body = {"type": "metadata_set", "version": rng.randrange(versions),
                "entries": {rng.choice("abc"): {"value": seq, "type": None}}}
    elif r < 0.8:
        body = {"type": "alias_set", "alias": rng.choice(["best", "prod"]), "version": rng.randrange(versions + 2)}
    elif r < 0.9:
        body = {"type": "version_deleted", "version": rng.randrange(versions), "reason": "deleted"}
    else:
        body = {"type": "from_the_future", "x": seq}
    return encode(body, seq, f"run{seq % 7}", f"2026-01-01T00:00:00.{seq:06d}Z")[1]


def _write_log(root: Path, rng: random.Random, n: int) -> list[tuple[int, bytes]]:
    rows, versions = [], 0
    for seq in range(n):
        data = _event(rng, seq, versions)
        versions += b'"version_created"' in data
        path = root / layout.event_key(PREFIX, seq)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        rows.append((seq, data))
    return rows


def _put(root: Path, key: str, blob: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)


def _write_checkpoints(root: Path, rng: random.Random, rows: list[tuple[int, bytes]]) -> None:
    """Some valid checkpoints of every level that fits, and traps a reader must pass over."""
    n = len(rows)
    for level in range(3):
        size = checkpoints.level_size(level)
        for start in range(0, n - size + 1, size):
            if rng.random() < 0.5:
                continue
            digest, blob = checkpoints.encode(PREFIX, start, start + size, rows[start : start + size])
            trap = rng.random()
            if trap < 0.15:  # damaged bytes under a valid-looking name
                raw = bytearray(gzip.decompress(blob))
                raw[rng.randrange(len(raw))] ^= 0x20
                blob = gzip.compress(bytes(raw))
            elif trap < 0.25:  # truncated
                blob = blob[: len(blob) // 2]
            elif trap < 0.3:  # another log's checkpoint of the same range, renamed here
                other = [(s, b.replace(b'"seq"', b'"seq" ')) for s, b in rows[start : start + size]]
                digest, blob = checkpoints.encode(layout.artifact_prefix("p", "other"), start, start + size, other)
            _put(root, checkpoints.key(PREFIX, start, start + size, digest), blob)
    _put(root, f"{PREFIX}checkpoints/000000000000-000000000100.{D}.gz", b"unaligned")  # ignored
    _put(root, f"{PREFIX}checkpoints/000000000003-{3 + BLOCK:012d}.{D}.gz", b"unaligned")
    _put(root, f"{PREFIX}checkpoints/README", b"stray")


def _read(root: Path, db_path: Path) -> list:
    db = LocalDB(db_path)
    try:
        return EventLog(LocalStore(str(root)), db, PREFIX).read()
    finally:
        db.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 4 * BLOCK + 40), cut=st.floats(0, 1))
def test_folding_through_checkpoints_is_folding_every_event(seed: int, n: int, cut: float) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        root, work = Path(tmp) / "remote", Path(tmp)
        rows = _write_log(root, rng, n)
        truth = _read(root, work / "truth.db")
        # the reference: every event object listed and read on its own, no checkpoint anywhere
        assert [k for k, _ in truth] == [layout.event_key(PREFIX, s) for s, _ in rows]
        for p in (root / PREFIX / "checkpoints").glob("*"):  # the reference read may have left some
            p.unlink()
        _write_checkpoints(root, rng, rows)
        cold = _read(root, work / "cold.db")
        assert cold == truth
        assert fold("p", "a", cold) == fold("p", "a", truth)
        # a warm reader that had the first `cut` of the log catches up through checkpoints
        k = int(n * cut)
        db = LocalDB(work / "warm.db")
        db.add_events(f"{LocalStore(str(root)).cache_id}|{PREFIX}", rows[:k])
        db.close()
        assert _read(root, work / "warm.db") == truth


def test_cold_read_of_a_long_log_costs_checkpoints_plus_the_tail(tmp_path: Path) -> None:
    rng = random.Random(1)
    tail = BLOCK - 20
    n = 16 * BLOCK + 3 * BLOCK + tail  # one level-1 checkpoint, three level-0, then the tail
    _write_log(tmp_path / "remote", rng, n)
    first = CountingStore(str(tmp_path / "remote"))
    db = LocalDB(tmp_path / "a.db")
    assert [s for s, _ in db.events("x")] == []
    EventLog(first, db, PREFIX).read()  # no checkpoints yet: every event, and it leaves the prefix covered
    assert first.gets == n
    names = sorted(p.name.split(".")[0] for p in (tmp_path / "remote" / PREFIX / "checkpoints").iterdir())
    b = BLOCK
    assert names == [f"{0:012d}-{16 * b:012d}", f"{16 * b:012d}-{17 * b:012d}", f"{17 * b:012d}-{18 * b:012d}",
                     f"{18 * b:012d}-{19 * b:012d}"]
    second = CountingStore(str(tmp_path / "remote"))
    db2 = LocalDB(tmp_path / "b.db")
    got = EventLog(second, db2, PREFIX).read()
    assert [s for s, _ in db2.events(f"{second.cache_id}|{PREFIX}")] == list(range(n))
    assert len(got) == n
    assert second.gets == 4 + tail  # four checkpoints, then the tail one by one
    assert second.lists == 3  # the first page of events, the checkpoints, the tail after them


def test_writer_checkpoints_each_block_it_completes(tmp_path: Path) -> None:
    store = LocalStore(str(tmp_path / "remote"))
    db = LocalDB(tmp_path / "w.db")
    log = EventLog(store, db, PREFIX)
    for i in range(BLOCK + 1):
        log.append(lambda _ev, i=i: {"type": "from_the_future", "i": i})
    keys = [i.key for i in store.list(checkpoints.prefix(PREFIX))]
    assert len(keys) == 1 and checkpoints.parse_key(PREFIX, keys[0]).end == BLOCK  # type: ignore[union-attr]


def test_decode_refuses_every_flaw() -> None:
    rows = [(s, b'{"seq":%d,"type":"x"}' % s) for s in range(BLOCK)]
    digest, blob = checkpoints.encode(PREFIX, 0, BLOCK, rows)
    seg = Segment(0, BLOCK, digest, checkpoints.key(PREFIX, 0, BLOCK, digest))
    assert checkpoints.decode(PREFIX, seg, blob) == rows
    raw = gzip.decompress(blob)
    with pytest.raises(IntegrityError):  # other content under this name
        checkpoints.decode(PREFIX, seg, gzip.compress(raw.replace(b'"x"', b'"y"')))
    for bad in (raw.replace(b"000000000007 ", b"000000000008 ", 1), raw[:-1], raw + b"x",
                raw.replace(b" 20\n", b" 19\n", 1)):
        with pytest.raises(IntegrityError):
            checkpoints.decode(PREFIX, seg, gzip.compress(bad))
        with pytest.raises(IntegrityError):  # even under its own digest: frames are checked too
            checkpoints.decode(PREFIX, Segment(0, BLOCK, digest_bytes(bad), seg.key), gzip.compress(bad))
    with pytest.raises(IntegrityError):
        checkpoints.decode(layout.artifact_prefix("p", "b"), seg, blob)
    with pytest.raises(IntegrityError):
        checkpoints.decode(PREFIX, seg, b"not gzip")
    with pytest.raises(ValueError):
        checkpoints.encode(PREFIX, 0, BLOCK, rows[1:])
    with pytest.raises(ValueError):
        checkpoints.encode(PREFIX, 0, 100, rows[:100])


def test_plan_and_ranges() -> None:
    def seg(a: int, b: int) -> Segment:
        return Segment(a, b, D, f"k{a}-{b}")

    big = seg(0, 16 * BLOCK)
    smalls = [seg(i * BLOCK, (i + 1) * BLOCK) for i in range(18)]
    assert checkpoints.plan([big, *smalls], 0) == [big, smalls[16], smalls[17]]
    assert checkpoints.plan([big, *smalls], 3 * BLOCK + 5) == [big, smalls[16], smalls[17]]
    # most of the big one is known already: the small ones waste less
    assert checkpoints.plan([big, *smalls], 12 * BLOCK) == smalls[12:]
    assert checkpoints.plan(smalls[1:], 0) == []  # nothing holds event 0
    b = BLOCK
    assert checkpoints.greedy_ranges(0, 18 * b + 7) == [(0, 16 * b), (16 * b, 17 * b), (17 * b, 18 * b)]
    assert checkpoints.completed_by(BLOCK - 1) == [(0, BLOCK)]
    assert checkpoints.completed_by(16 * BLOCK - 1) == [(15 * BLOCK, 16 * BLOCK), (0, 16 * BLOCK)]
    assert checkpoints.completed_by(BLOCK) == []
    assert checkpoints.parse_key(PREFIX, checkpoints.key(PREFIX, BLOCK, 2 * BLOCK, D)) == Segment(
        BLOCK, 2 * BLOCK, D, checkpoints.key(PREFIX, BLOCK, 2 * BLOCK, D))
    assert checkpoints.parse_key(PREFIX, checkpoints.key(PREFIX, 1, BLOCK + 1, D)) is None


def test_fsck_finds_a_checkpoint_that_differs_from_the_log(tmp_path: Path) -> None:
    root = tmp_path / "remote"
    rows = _write_log(root, random.Random(3), BLOCK + 10)
    log = EventLog(LocalStore(str(root)), LocalDB(tmp_path / "a.db"), PREFIX)
    log.read()  # a reader that fetched them one by one leaves the checkpoint of [0, 256)
    assert log.check_checkpoints() == []
    forged = [(s, b.replace(b'"from_the_future"', b'"from_the_past__"')) for s, b in rows[:BLOCK]]
    assert forged != rows[:BLOCK]
    digest, blob = checkpoints.encode(PREFIX, 0, BLOCK, forged)
    _put(root, checkpoints.key(PREFIX, 0, BLOCK, digest), blob)
    _put(root, f"{PREFIX}checkpoints/000000000000-{BLOCK:012d}.{D}.gz", b"junk")
    problems = log.check_checkpoints()
    assert len(problems) == 2
    assert {k for k, _key, _m in problems} == {"checkpoint-mismatch", "checkpoint-corrupt"}
    assert any("differs from the event objects" in m for _k, _key, m in problems)
    assert any("not valid gzip" in m for _k, _key, m in problems)
