"""Fetch stored entries into the local cache, verified, in as few requests as possible.

Loose blobs are downloaded to temp files in parallel, hashed, then renamed into the cache.
Packed files are read with merged byte ranges (or the whole pack when most of it is wanted)
and each member is verified against its own digest before it is written to the cache.
Nothing unverified ever gets a digest name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from artcli import layout
from artcli.cache import Cache
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes, digest_file
from artcli.model import Entry
from artcli.packs import plan_ranges
from artcli.store.base import Store

BATCH = 64


def fetch_into_cache(store: Store, cache: Cache, entries: list[Entry],
                     advance: Callable[[int], None] | None = None) -> None:
    """Make every (stored, non-reference) entry's digest present and valid in the cache."""
    loose: dict[str, Entry] = {}
    packed: dict[str, dict[str, Entry]] = defaultdict(dict)
    for e in entries:
        assert e.digest is not None
        if e.pack:
            packed[e.pack][e.digest] = e
        else:
            loose[e.digest] = e
    if loose:
        _fetch_loose(store, cache, list(loose.values()), advance)
    for pack, members in packed.items():
        _fetch_pack(store, cache, pack, list(members.values()), advance)


def _fetch_loose(store: Store, cache: Cache, entries: list[Entry], advance: Callable[[int], None] | None) -> None:
    for i in range(0, len(entries), BATCH):
        chunk = entries[i : i + BATCH]
        tmps = [cache.temp_path(e.digest or "") for e in chunk]
        store.get_files([(layout.blob_key(e.digest or ""), str(t)) for e, t in zip(chunk, tmps, strict=True)])
        for e, t in zip(chunk, tmps, strict=True):
            _verify_file(t, e, layout.blob_key(e.digest or ""))
            cache.adopt(t, e.digest or "")
            if advance:
                advance(e.size)


def _verify_file(tmp: Path, e: Entry, key: str) -> None:
    size = tmp.stat().st_size
    if size != e.size or digest_file(tmp) != e.digest:
        tmp.unlink(missing_ok=True)
        what = "truncated" if size < e.size else "corrupt"
        raise IntegrityError(f"{e.path}: remote object {key} is {what} (digest mismatch)")


def _fetch_pack(store: Store, cache: Cache, pack: str, members: list[Entry],
                advance: Callable[[int], None] | None) -> None:
    key = layout.pack_key(pack)
    size = None
    spans = [(e.offset or 0, e.size) for e in members]
    wanted = sum(s for _, s in spans)
    if wanted > 1 << 20:  # only worth a HEAD when reading the whole pack could save requests
        size = store.info(key).size
    ranges = plan_ranges(spans, size)
    reads = store.get_ranges([(key, s, e) for s, e in ranges])
    for e in members:
        off = e.offset or 0
        for (s, end), data in zip(ranges, reads, strict=True):
            if s <= off and off + e.size <= end:
                piece = data[off - s : off - s + e.size]
                break
        else:  # pragma: no cover - plan_ranges covers every member
            raise AssertionError("range plan missed a member")
        if len(piece) != e.size or digest_bytes(piece) != e.digest:
            raise IntegrityError(f"{e.path}: pack {key} is corrupt or truncated at offset {off} (digest mismatch)")
        cache.put_bytes(e.digest or "", piece)
        if advance:
            advance(e.size)
