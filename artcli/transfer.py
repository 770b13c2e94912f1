"""Fetch stored entries, verified, in as few requests as possible, into a :class:`FetchTarget`.

Loose blobs are downloaded to temp files in parallel, hashed, then handed to the target.
Packed files are read with merged byte ranges (or the whole pack when most of it is wanted),
several packs at once up to a memory budget, and each member is verified against its own
digest before the target sees it. Nothing unverified is ever handed over.

``download`` hands over a :class:`artcli.materialise.TargetWriter`, which writes packed files
straight into the target directory (and, unless ``--skip-cache``, into the cache's local copy
of their pack) and adopts loose blobs into the cache.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Protocol

from artcli import layout
from artcli.errors import IntegrityError, NotFoundError
from artcli.hashing import digest_bytes
from artcli.model import Entry
from artcli.packs import plan_ranges
from artcli.store.base import Store

BATCH = 64
PACK_BUDGET = 128 << 20  # bytes of packed data held in memory at once
WRITE_THREADS = 2


class FetchTarget(Protocol):
    """Where verified bytes go."""

    def temp_path(self, hint: str = "") -> Path:
        """Where a loose blob may be downloaded before verification."""

    def adopt(self, tmp: Path, digest: str) -> object:
        """Take a verified temp file."""

    def put_packed(self, entry: Entry, data: bytes | memoryview) -> object:
        """Take a packed file's verified bytes."""


def fetch_stored(store: Store, sink: FetchTarget, entries: list[Entry],
                 advance: Callable[[int], None] | None = None) -> None:
    """Hand every (stored, non-reference) entry's verified bytes to ``sink``, once per digest."""
    loose: dict[str, Entry] = {}
    packed: dict[str, dict[str, Entry]] = defaultdict(dict)
    for e in entries:
        assert e.digest is not None
        if e.pack:
            packed[e.pack][e.digest] = e
        else:
            loose[e.digest] = e
    if loose:
        _fetch_loose(store, sink, list(loose.values()), advance)
    group: list[tuple[str, list[Entry]]] = []
    held = 0
    for pack, members in packed.items():
        size = sum(e.size for e in members.values())
        if group and held + size > PACK_BUDGET:
            _fetch_packs(store, sink, group, advance)
            group, held = [], 0
        group.append((pack, list(members.values())))
        held += size
    if group:
        _fetch_packs(store, sink, group, advance)


def _fetch_loose(store: Store, sink: FetchTarget, entries: list[Entry], advance: Callable[[int], None] | None) -> None:
    """Loose blobs, ``BATCH`` at a time, hashed as the bytes arrive (nothing is read back to be
    verified); each is verified and handed over on a write thread as soon as it is down, while
    the others are still arriving (the sink's copies into the target overlap the network)."""
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        for i in range(0, len(entries), BATCH):
            chunk = entries[i : i + BATCH]
            tmps = [sink.temp_path(e.digest or "") for e in chunk]
            handed: dict[int, Future[None]] = {}

            def finish(j: int, digest: str, chunk: list[Entry] = chunk, tmps: list[Path] = tmps) -> None:
                e = chunk[j]
                _verify_file(tmps[j], e, digest, layout.blob_key(e.digest or ""))
                sink.adopt(tmps[j], e.digest or "")
                if advance:
                    advance(e.size)

            def landed(j: int, digest: str, finish: Callable[[int, str], None] = finish,
                       handed: dict[int, Future[None]] = handed) -> None:
                handed[j] = pool.submit(finish, j, digest)

            try:
                try:
                    got = store.get_files_hashed([(layout.blob_key(e.digest or ""), str(t), e.size)
                                                  for e, t in zip(chunk, tmps, strict=True)], done=landed)
                except NotFoundError as exc:  # a version names it, so a missing object is damage, not absence
                    raise IntegrityError(f"an object of this version is missing from the remote: {exc}") from None
                finally:
                    wait(list(handed.values()))
                for j, digest in enumerate(got):  # a store that did not say as it went
                    if j not in handed:
                        handed[j] = pool.submit(finish, j, digest)
                for j in sorted(handed):
                    handed[j].result()  # the first corrupt blob, in manifest order, is the error
            finally:
                for t in tmps:  # what was not handed over: corrupt, or not down when it failed
                    t.unlink(missing_ok=True)


def _verify_file(tmp: Path, e: Entry, digest: str, key: str) -> None:
    size = tmp.stat().st_size
    if size != e.size or digest != e.digest:
        tmp.unlink(missing_ok=True)
        what = "truncated" if size < e.size else "corrupt"
        raise IntegrityError(f"{e.path}: remote object {key} is {what} (digest mismatch)")


def _fetch_packs(store: Store, sink: FetchTarget, packs: list[tuple[str, list[Entry]]],
                 advance: Callable[[int], None] | None) -> None:
    """One concurrent batch of range reads over several packs."""
    plans: list[tuple[str, list[Entry], list[tuple[int, int]], int]] = []
    requests: list[tuple[str, int, int]] = []
    for pack, members in packs:
        key = layout.pack_key(pack)
        spans = [(e.offset or 0, e.size) for e in members]
        size = None
        if sum(s for _, s in spans) > 1 << 20:  # only then can reading the whole pack save requests
            try:
                size = store.info(key).size
            except NotFoundError:
                raise IntegrityError(f"{members[0].path}: pack {key} is missing from the remote") from None
        ranges = plan_ranges(spans, size)
        plans.append((key, members, ranges, len(requests)))
        requests += [(key, s, e) for s, e in ranges]
    try:
        reads = store.get_ranges(requests)
    except NotFoundError as exc:
        raise IntegrityError(f"a pack of this version is missing from the remote: {exc}") from None
    def put_some(part: list[tuple[Entry, memoryview]]) -> None:
        for e, piece in part:
            sink.put_packed(e, piece)

    with ThreadPoolExecutor(WRITE_THREADS) as pool:  # handed over in groups: one task per small file
        writes = []                                   # cost more in thread hand-offs than the writes
        part: list[tuple[Entry, memoryview]] = []
        for item in _verified(plans, reads, advance):
            part.append(item)
            if len(part) >= 256:
                writes.append(pool.submit(put_some, part))
                part = []
        if part:
            writes.append(pool.submit(put_some, part))
        for w in writes:
            w.result()


def _verified(plans: list[tuple[str, list[Entry], list[tuple[int, int]], int]], reads: list[bytes],
              advance: Callable[[int], None] | None) -> Iterator[tuple[Entry, memoryview]]:
    """Each member's bytes, checked against its own digest (hashing stays on this thread)."""
    for key, members, ranges, first in plans:
        mine = list(zip(ranges, reads[first : first + len(ranges)], strict=True))
        for e in members:
            off = e.offset or 0
            piece = next((memoryview(data)[off - s : off - s + e.size] for (s, end), data in mine
                          if s <= off and off + e.size <= end), None)
            if piece is None or len(piece) != e.size or digest_bytes(piece) != e.digest:
                raise IntegrityError(f"{e.path}: pack {key} is corrupt or truncated at offset {off} (digest mismatch)")
            yield e, piece
            if advance:
                advance(e.size)
