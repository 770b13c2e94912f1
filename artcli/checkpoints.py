"""Checkpoints: a stretch of an event log's objects in one content-addressed object (docs/format.md §5.8).

A cold reader of a 100,000-event log would otherwise make 100,000 GETs. A checkpoint holds
the exact bytes of the events ``[start, end)`` of one log, so a reader fetches a few
checkpoints and then only the events after them, and folds the very same events it would have
read one by one: a checkpoint can never change what a log means, whichever artcli version
reads it. Ranges are aligned blocks of ``BLOCK * FANOUT**level`` events, so the largest ones
that exist cover a log's start with at most ``FANOUT - 1`` checkpoints per level.

This module is the one producer and parser of checkpoint keys and bytes; it does no I/O.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from artcli import canonical
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes

#: events in the smallest checkpoint; a writer that creates event ``k * BLOCK - 1`` writes it.
#: A cold reader fetches at most BLOCK - 1 events one by one after the checkpoints.
BLOCK = 64
#: checkpoints of one level that make one of the next
FANOUT = 16
#: 64 * 16**6 = 1,073,741,824 events: beyond any log's sequence numbers we expect
MAX_LEVEL = 6
#: a checkpoint that decompresses to more than this is refused (a gzip bomb costs nothing more)
MAX_BYTES = 1 << 30
DIR = "checkpoints/"
_KEY = re.compile(r"(\d{12})-(\d{12})\.([0-9a-f]{64})\.gz")
_FRAME = re.compile(rb"(\d{12}) (\d{1,10})\n")


@dataclass(frozen=True, order=True)
class Segment:
    """A checkpoint object: the events ``[start, end)``, named by the digest of its bytes."""

    start: int
    end: int
    digest: str
    key: str
    #: the object's size in bytes, as listed
    nbytes: int = 0

    @property
    def count(self) -> int:
        return self.end - self.start


def level_size(level: int) -> int:
    return BLOCK * FANOUT**level


def aligned(start: int, end: int) -> bool:
    """A range a checkpoint may cover: one block of some level."""
    size = end - start
    return any(size == level_size(lv) for lv in range(MAX_LEVEL + 1)) and start % size == 0


def prefix(log_prefix: str) -> str:
    return f"{log_prefix}{DIR}"


def key(log_prefix: str, start: int, end: int, digest: str) -> str:
    return f"{log_prefix}{DIR}{start:012d}-{end:012d}.{digest}.gz"


def parse_key(log_prefix: str, k: str, nbytes: int = 0) -> Segment | None:
    """The segment a listed key names, or None for anything that is not a valid checkpoint key."""
    base = prefix(log_prefix)
    if not k.startswith(base):
        return None
    m = _KEY.fullmatch(k[len(base):])
    if not m:
        return None
    start, end = int(m.group(1)), int(m.group(2))
    return Segment(start, end, m.group(3), k, nbytes) if aligned(start, end) else None


def _header(log_prefix: str, start: int, end: int) -> bytes:
    return canonical.dumps({"artcli": "checkpoint", "end": end, "log": log_prefix, "start": start,
                            "version": 1}) + b"\n"


def encode(log_prefix: str, start: int, end: int, rows: Iterable[tuple[int, bytes]]) -> tuple[str, bytes]:
    """(digest, gzip bytes) of the checkpoint of events ``[start, end)``; ``rows`` must be
    exactly those (seq, stored bytes), in order."""
    if not aligned(start, end):
        raise ValueError(f"[{start}, {end}) is not a checkpoint range")
    parts = [_header(log_prefix, start, end)]
    expect = start
    for seq, body in rows:
        if seq != expect:
            raise ValueError(f"checkpoint [{start}, {end}) needs event {expect}, got {seq}")
        parts += [b"%012d %d\n" % (seq, len(body)), body, b"\n"]
        expect += 1
    if expect != end:
        raise ValueError(f"checkpoint [{start}, {end}) needs event {expect}")
    data = b"".join(parts)
    return digest_bytes(data), gzip.compress(data, compresslevel=6, mtime=0)


def decode(log_prefix: str, seg: Segment, blob: bytes) -> list[tuple[int, bytes]]:
    """The (seq, bytes) rows of a checkpoint, after checking every byte; IntegrityError if any is off."""
    where = f"checkpoint {seg.key}"
    try:
        d = zlib.decompressobj(wbits=31)
        data = d.decompress(blob, MAX_BYTES + 1)
        if len(data) > MAX_BYTES or d.unconsumed_tail:
            raise IntegrityError(f"{where} is larger than {MAX_BYTES} bytes")
        if not d.eof:
            raise IntegrityError(f"{where} is truncated")
    except (zlib.error, EOFError) as exc:
        raise IntegrityError(f"{where} is not valid gzip: {exc}") from None
    if digest_bytes(data) != seg.digest:
        raise IntegrityError(f"{where} does not match its digest")
    head = _header(log_prefix, seg.start, seg.end)
    if not data.startswith(head):
        raise IntegrityError(f"{where} has a header for another log or range")
    rows: list[tuple[int, bytes]] = []
    pos = len(head)
    for seq in range(seg.start, seg.end):
        m = _FRAME.match(data, pos)
        if not m or int(m.group(1)) != seq:
            raise IntegrityError(f"{where} has no frame for event {seq}")
        body_start = m.end()
        body_end = body_start + int(m.group(2))
        if data[body_end : body_end + 1] != b"\n":
            raise IntegrityError(f"{where} has a damaged frame for event {seq}")
        rows.append((seq, data[body_start:body_end]))
        pos = body_end + 1
    if pos != len(data):
        raise IntegrityError(f"{where} has bytes after its last event")
    return rows


def plan(segments: Iterable[Segment], position: int) -> list[Segment]:
    """Checkpoints that carry a reader from event ``position`` as far as they reach, in order.

    At each step: the largest checkpoint holding ``position`` that wastes (events before
    ``position``, already known) at most half of itself, else the smallest holding it.
    """
    by_start: dict[int, list[Segment]] = {}
    for s in segments:
        by_start.setdefault(s.start, []).append(s)
    out: list[Segment] = []
    while True:
        holding = [s for lv in range(MAX_LEVEL + 1)
                   for s in by_start.get(position - position % level_size(lv), ()) if s.end > position]
        if not holding:
            return out
        thrifty = [s for s in holding if position - s.start <= s.count // 2]
        best = max(thrifty, key=lambda s: s.end) if thrifty else min(holding, key=lambda s: s.count)
        out.append(best)
        position = best.end


def completed_by(seq: int) -> list[tuple[int, int]]:
    """The ranges whose last event is ``seq``, smallest first: what its writer checkpoints."""
    end = seq + 1
    return [(end - level_size(lv), end) for lv in range(MAX_LEVEL + 1) if end % level_size(lv) == 0]


def greedy_ranges(start: int, end: int) -> list[tuple[int, int]]:
    """The fewest aligned ranges, largest first, that tile the longest stretch of ``[start, end)``
    from ``start`` (``start`` must be a multiple of BLOCK)."""
    out: list[tuple[int, int]] = []
    pos = start
    while True:
        for lv in range(MAX_LEVEL, -1, -1):
            size = level_size(lv)
            if pos % size == 0 and pos + size <= end:
                out.append((pos, pos + size))
                pos += size
                break
        else:
            return out


def missing(wanted: Sequence[tuple[int, int]], present: Iterable[Segment]) -> list[tuple[int, int]]:
    have = {(s.start, s.end) for s in present}
    return [r for r in wanted if r not in have]
