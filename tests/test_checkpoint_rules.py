"""Checkpoint keys, ranges, bytes and plans (docs/format.md §5.8) at their edges, and what the
event reader accepts from a listing: the pure rules under tests/test_checkpoints.py's
property test, each pinned where a one-character change would go unseen there.
"""

from __future__ import annotations

import gzip
import re
import time
import tracemalloc
import zlib

import pytest

from artcli import canonical, checkpoints, eventlog, layout
from artcli.checkpoints import BLOCK, FANOUT, MAX_LEVEL, Segment
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes

PREFIX = layout.artifact_prefix("p", "a")
D = "d" * 64
TOP = checkpoints.level_size(MAX_LEVEL)


def rows(start: int, end: int) -> list[tuple[int, bytes]]:
    return [(s, b'{"seq":%d,"type":"x"}' % s) for s in range(start, end)]


def seg(a: int, b: int) -> Segment:
    return Segment(a, b, D, f"k{a}-{b}")


def test_levels_and_aligned_ranges() -> None:
    assert [checkpoints.level_size(lv) for lv in (0, 1, 2)] == [BLOCK, BLOCK * FANOUT, BLOCK * FANOUT**2]
    assert TOP == 64 * 16**6
    for lv in range(MAX_LEVEL + 1):
        size = checkpoints.level_size(lv)
        assert checkpoints.aligned(0, size) and checkpoints.aligned(3 * size, 4 * size), lv
        assert not checkpoints.aligned(size // 2, size // 2 + size), lv
    assert not checkpoints.aligned(0, checkpoints.level_size(MAX_LEVEL + 1))
    for start, end in ((0, 0), (5, 5), (0, BLOCK - 1), (0, BLOCK + 1), (1, BLOCK + 1), (BLOCK, 3 * BLOCK),
                       (BLOCK, BLOCK + BLOCK * FANOUT), (0, -BLOCK)):
        assert not checkpoints.aligned(start, end), (start, end)
    assert Segment(BLOCK, 3 * BLOCK, D, "k").count == 2 * BLOCK


def test_keys_round_trip_and_nothing_else_parses() -> None:
    assert checkpoints.prefix(PREFIX) == f"{PREFIX}checkpoints/"
    k = checkpoints.key(PREFIX, 0, TOP, D)
    assert k == f"{PREFIX}checkpoints/000000000000-{TOP:012d}.{D}.gz"
    assert checkpoints.parse_key(PREFIX, k, 123) == Segment(0, TOP, D, k, 123)
    assert checkpoints.parse_key(PREFIX, k).nbytes == 0  # type: ignore[union-attr]
    good = checkpoints.key(PREFIX, BLOCK, 2 * BLOCK, D)
    base = f"{PREFIX}checkpoints/"
    for bad in (good.replace(PREFIX, layout.artifact_prefix("p", "b")), good[:-3], good + ".gz", "x" + good,
                good.replace(D, D.upper()), good.replace(D, D[:-1]), f"{base}00000000064-000000000128.{D}.gz",
                f"{base}000000000064-000000000128-{D}.gz", f"{base}000000000064-000000000128.{D}.gz/x",
                f"{base}000000000064+000000000128.{D}.gz", f"{PREFIX}events/000000000000.json",
                f"{base}sub/000000000064-000000000128.{D}.gz"):
        assert checkpoints.parse_key(PREFIX, bad) is None, bad
    assert checkpoints.parse_key(PREFIX, f"{base}000000000064-000000000128.{D}.gz") == Segment(
        64, 128, D, f"{base}000000000064-000000000128.{D}.gz")


def test_encode_refuses_what_is_not_exactly_the_range(monkeypatch: pytest.MonkeyPatch) -> None:
    digest, blob = checkpoints.encode(PREFIX, BLOCK, 2 * BLOCK, rows(BLOCK, 2 * BLOCK))
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # written later, elsewhere
    again = checkpoints.encode(PREFIX, BLOCK, 2 * BLOCK, rows(BLOCK, 2 * BLOCK))
    monkeypatch.undo()
    assert (digest, blob) == again  # two writers of one range write the same object
    data = gzip.decompress(blob)
    assert digest == digest_bytes(data)
    head = canonical.dumps({"artcli": "checkpoint", "end": 2 * BLOCK, "log": PREFIX, "start": BLOCK,
                            "version": 1}) + b"\n"
    assert data.startswith(head + b"%012d 21\n" % BLOCK) and data.endswith(b"\n")
    for bad_rows in (rows(BLOCK, 2 * BLOCK - 1), rows(BLOCK + 1, 2 * BLOCK + 1), rows(BLOCK, 2 * BLOCK + 1),
                     [*rows(BLOCK, BLOCK + 3), *rows(BLOCK + 4, 2 * BLOCK + 1)]):
        with pytest.raises(ValueError):
            checkpoints.encode(PREFIX, BLOCK, 2 * BLOCK, bad_rows)
    with pytest.raises(ValueError):
        checkpoints.encode(PREFIX, 1, BLOCK + 1, rows(1, BLOCK + 1))


def _blob(data: bytes) -> tuple[Segment, bytes]:
    return Segment(0, BLOCK, digest_bytes(data), checkpoints.key(PREFIX, 0, BLOCK, digest_bytes(data))), \
        gzip.compress(data)


def test_decode_is_bounded_by_max_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    digest, blob = checkpoints.encode(PREFIX, 0, BLOCK, rows(0, BLOCK))
    size = len(gzip.decompress(blob))
    s = Segment(0, BLOCK, digest, checkpoints.key(PREFIX, 0, BLOCK, digest))
    monkeypatch.setattr(checkpoints, "MAX_BYTES", size)
    assert checkpoints.decode(PREFIX, s, blob) == rows(0, BLOCK)  # exactly the limit
    monkeypatch.setattr(checkpoints, "MAX_BYTES", size - 1)
    with pytest.raises(IntegrityError, match=f"larger than {size - 1} bytes"):
        checkpoints.decode(PREFIX, s, blob)
    monkeypatch.setattr(checkpoints, "MAX_BYTES", size // 2)
    with pytest.raises(IntegrityError, match="larger than"):
        checkpoints.decode(PREFIX, s, blob)


def test_decode_inflates_no_more_than_max_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gzip bomb under a checkpoint's name costs at most MAX_BYTES of memory, not its size."""
    monkeypatch.setattr(checkpoints, "MAX_BYTES", 1 << 20)
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)
    s = Segment(0, BLOCK, D, checkpoints.key(PREFIX, 0, BLOCK, D))
    tracemalloc.start()
    try:
        with pytest.raises(IntegrityError, match="larger than"):
            checkpoints.decode(PREFIX, s, bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_decode_refuses_a_truncated_or_damaged_stream() -> None:
    digest, blob = checkpoints.encode(PREFIX, 0, BLOCK, rows(0, BLOCK))
    key = checkpoints.key(PREFIX, 0, BLOCK, digest)
    s = Segment(0, BLOCK, digest, key)
    with pytest.raises(IntegrityError, match=f"^checkpoint {re.escape(key)} is truncated"):
        checkpoints.decode(PREFIX, s, blob[:-8])  # the whole stream but its trailer
    with pytest.raises(IntegrityError, match=f"^checkpoint {re.escape(key)} is not valid gzip"):
        checkpoints.decode(PREFIX, s, blob[:10] + b"\xff" * 20)
    with pytest.raises(IntegrityError, match="is truncated"):
        checkpoints.decode(PREFIX, s, b"")
    # the same bytes deflated in the zlib format, not gzip: not a checkpoint
    with pytest.raises(IntegrityError, match="not valid gzip"):
        checkpoints.decode(PREFIX, s, zlib.compress(gzip.decompress(blob)))


def test_decode_checks_each_frame() -> None:
    head = canonical.dumps({"artcli": "checkpoint", "end": BLOCK, "log": PREFIX, "start": 0, "version": 1}) + b"\n"
    body = b"".join(b"%012d %d\n%s\n" % (q, len(b), b) for q, b in rows(0, BLOCK))
    assert checkpoints.decode(PREFIX, *_blob(head + body)) == rows(0, BLOCK)
    cases = {
        "another log or range": [head.replace(b'"start":0', b'"start":1'), head.replace(b'"version":1', b'"version":2'),
                                 head[:-1] + b" \n"],
        "no frame for event 0": [b"%012d 20\n" % 1],
        "damaged frame for event 0": [b"%012d 21\n" % 0, b"%012d 19\n" % 0],
    }
    for message, heads in cases.items():
        for first in heads:
            data = (first + body) if message == "another log or range" else head + first + body[len(b"%012d 20\n" % 0):]
            with pytest.raises(IntegrityError, match=message):
                checkpoints.decode(PREFIX, *_blob(data))
    with pytest.raises(IntegrityError, match="bytes after its last event"):
        checkpoints.decode(PREFIX, *_blob(head + body + b"\n"))
    with pytest.raises(IntegrityError, match="no frame for event 63"):
        checkpoints.decode(PREFIX, *_blob(head + body[: body.rindex(b"%012d" % 63)]))


def test_plan_prefers_the_big_checkpoint_while_it_wastes_at_most_half() -> None:
    big = seg(0, 16 * BLOCK)
    smalls = [seg(i * BLOCK, (i + 1) * BLOCK) for i in range(16)]
    assert checkpoints.plan([big, *smalls], 8 * BLOCK) == [big]  # wastes exactly half
    assert checkpoints.plan([big, *smalls], 8 * BLOCK + 1) == smalls[8:]
    assert checkpoints.plan([*smalls, big], 0) == [big]
    # past the middle of every checkpoint holding it: the smallest one
    assert checkpoints.plan([big, *smalls], 12 * BLOCK + BLOCK // 2 + 1) == smalls[12:]
    # a big one that does not start at 0, entered in its first half
    later = seg(16 * BLOCK, 32 * BLOCK)
    assert checkpoints.plan([later, seg(16 * BLOCK, 17 * BLOCK)], 16 * BLOCK + 3) == [later]
    assert checkpoints.plan([big], 16 * BLOCK) == [] and checkpoints.plan([big], 16 * BLOCK - 1) == [big]
    # among the thrifty ones the one that reaches furthest; otherwise the smallest holding the position
    mid = seg(0, 16 * BLOCK)
    top = seg(0, 256 * BLOCK)
    assert checkpoints.plan([mid, top], 5) == [top]
    assert checkpoints.plan([mid, top, *smalls], 200 * BLOCK) == [top]
    assert checkpoints.plan([top, mid], 15 * BLOCK) == [top]  # mid wastes 15/16, top 15/256
    assert checkpoints.plan([seg(16 * BLOCK, 32 * BLOCK), seg(31 * BLOCK, 32 * BLOCK)], 31 * BLOCK) == [
        seg(31 * BLOCK, 32 * BLOCK)]
    far = seg(TOP, 2 * TOP)
    assert checkpoints.plan([far], TOP + 5) == [far] and checkpoints.plan([far], 5) == []
    # a checkpoint of every level is found from any position inside it, past its first half too
    for lv in range(MAX_LEVEL + 1):
        size = checkpoints.level_size(lv)
        whole = seg(size, 2 * size)
        assert checkpoints.plan([whole], size + size // 2 + 1) == [whole], lv


def test_what_a_writer_and_a_reader_write() -> None:
    assert checkpoints.completed_by(TOP - 1) == [(TOP - checkpoints.level_size(lv), TOP)
                                                 for lv in range(MAX_LEVEL + 1)]
    assert checkpoints.completed_by(0) == [] and checkpoints.completed_by(2 * BLOCK - 1) == [(BLOCK, 2 * BLOCK)]
    beyond = checkpoints.level_size(MAX_LEVEL + 1)  # a sequence number a log may reach: still only real levels
    assert beyond <= layout.MAX_SEQ
    assert checkpoints.completed_by(beyond - 1) == [(beyond - checkpoints.level_size(lv), beyond)
                                                    for lv in range(MAX_LEVEL + 1)]
    b = BLOCK
    assert checkpoints.greedy_ranges(0, 0) == [] and checkpoints.greedy_ranges(0, b - 1) == []
    assert checkpoints.greedy_ranges(0, b) == [(0, b)]
    assert checkpoints.greedy_ranges(0, 16 * b) == [(0, 16 * b)]
    assert checkpoints.greedy_ranges(b, 17 * b + 3) == [(k * b, (k + 1) * b) for k in range(1, 17)]
    assert checkpoints.greedy_ranges(0, 2 * TOP) == [(0, TOP), (TOP, 2 * TOP)]
    assert checkpoints.missing([(0, b), (b, 2 * b), (2 * b, 3 * b)], [seg(b, 2 * b), seg(0, 16 * b)]) == [
        (0, b), (2 * b, 3 * b)]
    assert checkpoints.missing([], [seg(0, b)]) == []


# -- what the event reader takes from a listing ----------------------------------------------------
@pytest.mark.parametrize(("key", "seq"), [
    ("p/events/000000000007.json", 7), ("000000000012.json", 12), ("p/events/00000000007.json", None),
    ("p/events/0000000000007.json", None), ("p/events/000000000007.jsonx", None), ("p/events/000000000007", None),
    ("p/events/00000000000a.json", None), ("p/events/-00000000001.json", None), ("p/x.json/a", None),
    ("p/events/000000000007.JSON", None), ("p/events/000000000007xjson", None),
])
def test_seq_of_listed_keys(key: str, seq: int | None) -> None:
    assert eventlog._seq_of(key) == seq


def test_how_much_of_an_event_is_fetched_and_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    limit = eventlog.MAX_EVENT_BYTES
    assert [eventlog._fetch_len(n) for n in (0, 10, limit, limit + 1, limit + 2, 10 * limit)] == [
        0, 10, limit, limit + 1, limit + 1, limit + 1]
    monkeypatch.setattr(eventlog, "MAX_EVENT_BYTES", 40)
    ev = canonical.dumps({"seq": 3, "type": "x"})
    padded = ev + b" " * (41 - len(ev))  # valid JSON, one byte over the limit
    assert eventlog._parse(ev) == {"seq": 3, "type": "x"} and eventlog._parse(ev + b" " * (40 - len(ev)))
    assert eventlog._parse(padded) is None and not eventlog._cacheable(3, padded)
    assert eventlog._fetch_len(len(padded)) == 41  # a byte over: read, and refused as too large
    for bad in (b"[1]", b'{"type": 5}', b'{"seq": 3}', b"\xff\xfe", b"{", b'"x"', b"null"):
        assert eventlog._parse(bad) is None and not eventlog._cacheable(3, bad), bad


def test_only_a_sound_event_at_its_own_seq_is_cacheable() -> None:
    assert eventlog._cacheable(1, b'{"seq":1,"type":"x"}')
    assert not eventlog._cacheable(2, b'{"seq":1,"type":"x"}')
    assert not eventlog._cacheable(1, b'{"seq":true,"type":"x"}')  # True == 1 in Python
    assert not eventlog._cacheable(0, b'{"seq":false,"type":"x"}')
    assert not eventlog._cacheable(1, b'{"seq":"1","type":"x"}')
