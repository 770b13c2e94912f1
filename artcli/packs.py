"""Packs: many small files concatenated into one content-addressed object.

A pack is the plain concatenation of its members; its key is the BLAKE3 digest of those
bytes. Beside it, ``<pack>.idx`` lists each member (digest, offset, size) so any writer can
tell which files a remote already holds. The index is written only after the pack, so an
index always names a complete pack.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from artcli import canonical, layout
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes
from artcli.model import DIGEST_RE, MAX_ENTRY_SIZE

PACK_THRESHOLD = 1 << 20  # files smaller than 1 MiB go into packs
PACK_TARGET = 16 << 20  # a pack is closed once it holds 16 MiB
INDEX_HEADER = {"artcli": "pack-index", "version": 1}


@dataclass
class PackBuilder:
    """Accumulates members in memory (bounded by PACK_TARGET) until it is sealed."""

    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    members: list[tuple[str, int, int]] = field(default_factory=list)  # (digest, offset, size)
    _seen: dict[str, int] = field(default_factory=dict)

    def add(self, digest: str, data: bytes) -> int:
        """Append a member (once per digest) and return its offset."""
        if digest in self._seen:
            return self._seen[digest]
        off = self.size
        self.parts.append(data)
        self.size += len(data)
        self.members.append((digest, off, len(data)))
        self._seen[digest] = off
        return off

    @property
    def full(self) -> bool:
        return self.size >= PACK_TARGET

    def seal(self) -> tuple[str, bytes, bytes]:
        """(pack digest, pack bytes, index bytes). The pack is immutable ``bytes``, joined once:
        HTTP clients send ``bytes`` as they are, where a ``bytearray`` is copied once more."""
        data = b"".join(self.parts)
        self.parts = []
        digest = digest_bytes(data)
        return digest, data, encode_index(digest, self.members)


def encode_index(pack: str, members: Iterable[tuple[str, int, int]]) -> bytes:
    lines = [canonical.dumps({**INDEX_HEADER, "pack": pack})]
    lines += [canonical.dumps({"digest": d, "offset": o, "size": s}) for d, o, s in members]
    return b"\n".join(lines) + b"\n"


def decode_index(pack: str, data: bytes) -> list[tuple[str, int, int]]:
    """(digest, offset, size) of each member; any flaw is an IntegrityError naming the index.

    Indexes come from the remote, so nothing is trusted: every member must have a hex digest
    and non-negative integer offset and size (an index is only a hint for deduplication, and
    every byte read through it is verified against its digest anyway).
    """
    bad = IntegrityError(f"pack index {layout.pack_index_key(pack)} is corrupt")
    try:
        lines = data.decode().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        head = canonical.loads(lines[0]) if lines else None
        if not isinstance(head, dict) or head.get("artcli") != "pack-index" or head.get("pack") != pack:
            raise bad
        if type(head.get("version")) is not int or head["version"] != 1:  # not understood: not used
            raise bad
        out = []
        for line in lines[1:]:
            obj = canonical.loads(line)
            if not isinstance(obj, dict):
                raise bad
            d, o, n = obj.get("digest"), obj.get("offset"), obj.get("size")
            if not (isinstance(d, str) and DIGEST_RE.fullmatch(d)) or not _count(o) or not _count(n):
                raise bad
            out.append((d, o, n))
        return out
    except ValueError:  # not UTF-8, not JSON
        raise bad from None


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ENTRY_SIZE


def plan_ranges(wanted: list[tuple[int, int]], pack_size: int | None, gap: int = 1 << 20,
                whole_fraction: float = 0.5) -> list[tuple[int, int]]:
    """Merge (offset, size) members into [start, end) reads: adjacent or nearly adjacent
    ranges become one request, and when most of a pack is wanted the whole pack is read."""
    if not wanted:
        return []
    spans = sorted((o, o + s) for o, s in wanted)
    total = sum(e - s for s, e in spans)
    if pack_size and total >= whole_fraction * pack_size:
        return [(0, pack_size)]
    merged = [list(spans[0])]
    for s, e in spans[1:]:
        if s <= merged[-1][1] + gap:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]
