"""Manifest bytes: canonical JSON Lines, one entry per line, sorted by path.

The digest of a version is BLAKE3 over exactly these bytes. Stored gzip-compressed; the
digest is always of the uncompressed canonical form, so compression settings never matter.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from artcli import canonical
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes, digest_stream, new_hasher
from artcli.model import Entry, Manifest

HEADER = {"artcli": "manifest", "version": 1}
#: hard limits on what a manifest may inflate to (docs/format.md §3.3): 4 GiB in all, 64 KiB
#: per entry its event claims (a 4096-byte path escaped, a reference's pins, unknown fields),
#: and 1 MiB for any one line
MAX_MANIFEST_BYTES = 4 << 30
MAX_ENTRY_BYTES = 64 << 10
MAX_LINE_BYTES = 1 << 20


def header_line() -> bytes:
    return canonical.dumps(HEADER) + b"\n"


def entry_line(e: Entry) -> bytes:
    """One entry's canonical line. Plain stored entries (the common case, millions of them)
    take a formatted fast path; ``tests/test_format.py`` checks it equals canonical.dumps."""
    if e.ref is None and e.digest is not None:
        path = encode_basestring(e.path)
        if e.pack is None:
            return f'{{"digest":"{e.digest}","path":{path},"size":{e.size}}}\n'.encode()
        return (f'{{"digest":"{e.digest}","offset":{e.offset},"pack":"{e.pack}","path":{path},'
                f'"size":{e.size}}}\n').encode()
    return canonical.dumps(e.to_json()) + b"\n"


def iter_lines(entries: Iterable[Entry]) -> Iterator[bytes]:
    """The canonical byte lines of a manifest; entries must already be sorted by path."""
    yield header_line()
    prev: str | None = None
    for e in entries:
        if prev is not None and e.path <= prev:
            raise ValueError(f"manifest entries not sorted/unique at {e.path!r}")
        prev = e.path
        yield entry_line(e)


def content_digest(entries: list[Entry]) -> str:
    """A version's identity (docs/format.md §3.1): its paths, sizes and content digests /
    reference pins, never where the bytes are stored (so re-packing or concurrent writers
    never change it)."""
    ordered = sorted(entries, key=lambda e: e.path)
    plain = [e if e.pack is None else Entry(e.path, e.size, e.digest, ref=e.ref) for e in ordered]
    return digest_bytes(b"".join(iter_lines(plain)))


def encode(manifest: Manifest) -> tuple[str, bytes]:
    """(digest, canonical bytes) of a manifest."""
    data = b"".join(iter_lines(sorted(manifest.entries, key=lambda e: e.path)))
    return digest_bytes(data), data


GZIP_LEVEL = 6


def compressor() -> Any:
    """The one gzip compressor of manifests (level 6, no name, mtime 0): :func:`compress` and the
    streaming writer (``artcli/manifest_stream.py``) both use it, so their bytes are equal —
    and equal to ``gzip.compress(data, 6, mtime=0)``, which ``tests/test_manifest_stream.py`` checks."""
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)


def compress(data: bytes) -> bytes:
    comp = compressor()
    return comp.compress(data) + comp.flush()


def size_limit(files: int | None) -> int:
    """The most bytes a manifest may decompress to when its event claims ``files`` entries
    (None: no claim, the hard limit alone). A decompression bomb stops here, not at 4 GiB."""
    if files is None:
        return MAX_MANIFEST_BYTES
    return min(MAX_MANIFEST_BYTES, len(header_line()) + max(files, 0) * MAX_ENTRY_BYTES)


def compressed_limit(limit: int) -> int:
    """The most compressed bytes a manifest of ``limit`` bytes may take: gzip's header and
    trailer, and deflate's 5 bytes per stored block of at most 64 KiB."""
    return limit + limit // 8192 + (64 << 10)


def _too_big(what: str, limit: int) -> IntegrityError:
    return IntegrityError(f"manifest {what} is larger than {limit} bytes decompressed", kind=CORRUPT)


def _too_big_compressed(what: str, size: int, limit: int) -> IntegrityError:
    return IntegrityError(f"manifest {what} is {size} bytes compressed, more than a manifest of at most "
                          f"{limit} bytes can be", kind=CORRUPT)


def decompress(blob: bytes, what: str, limit: int | None = None) -> bytes:
    """Inflate a stored manifest, stopping as soon as it passes ``limit`` bytes (default: the
    hard limit), and refusing a compressed form over :func:`compressed_limit`: memory never
    exceeds the limit, whatever the compression ratio."""
    limit = MAX_MANIFEST_BYTES if limit is None else limit
    if len(blob) > compressed_limit(limit):
        raise _too_big_compressed(what, len(blob), limit)
    try:
        # at most limit + 1 bytes: zlib leaves input unread only once it has written that many,
        # so the length alone decides. Bytes after the end of the gzip stream are ignored; a
        # stream cut short comes back as its prefix, which decode's digest check refuses
        out = zlib.decompressobj(wbits=31).decompress(blob, limit + 1)
        if len(out) > limit:
            raise _too_big(what, limit)
        return out
    except (zlib.error, EOFError) as exc:
        raise IntegrityError(f"manifest {what} is not valid gzip: {exc}", kind=CORRUPT) from None


_CHUNK = 1 << 20


def decompress_file(gz_path: str | Path, out_path: str | Path, what: str, limit: int | None = None) -> None:
    """Stream-decompress a manifest object into a file, at most ``limit`` bytes (default: the
    hard limit) and 1 MiB of output at a time: neither the disk nor memory pays for a bomb."""
    limit = MAX_MANIFEST_BYTES if limit is None else limit
    size = os.path.getsize(gz_path)
    if size > compressed_limit(limit):
        raise _too_big_compressed(what, size, limit)
    d = zlib.decompressobj(wbits=31)
    total = 0
    try:
        with open(gz_path, "rb") as src, open(out_path, "wb") as dst:
            # bytes after the end of the gzip stream are ignored (as decompress() does); past the
            # end, zlib leaves them in unconsumed_tail, so the loops stop at eof
            while not d.eof and (chunk := src.read(_CHUNK)):
                while chunk and not d.eof:
                    data = d.decompress(chunk, min(_CHUNK, limit + 1 - total))  # never more than the limit + 1
                    total += len(data)
                    if total > limit:
                        raise _too_big(what, limit)
                    dst.write(data)
                    chunk = d.unconsumed_tail
            rest = d.flush()
            total += len(rest)
            if total > limit:
                raise _too_big(what, limit)
            dst.write(rest)
        if not d.eof:
            raise IntegrityError(f"manifest {what} is truncated", kind=CORRUPT)
    except (zlib.error, EOFError) as exc:
        raise IntegrityError(f"manifest {what} is not valid gzip: {exc}", kind=CORRUPT) from None


CORRUPT, INVALID, NOT_CANONICAL = "manifest-corrupt", "manifest-invalid", "manifest-not-canonical"
#: entry fields this revision knows; others are ignored by readers and kept in the content form
ENTRY_FIELDS = frozenset({"path", "size", "digest", "pack", "offset", "ref"})
_LOCATION = ("pack", "offset")


class _LineChecker:
    """The checks of docs/format.md §3.3, one line at a time: what :func:`decode` (bytes in
    memory) and :func:`stream` (a file, for manifests of millions of entries) share. The
    content digest (§3.1), the total size and the entry count are taken in the same pass."""

    def __init__(self, expected_digest: str) -> None:
        self.digest = expected_digest
        self.content = new_hasher()
        self.prev: str | None = None
        self.size = 0
        self.count = 0

    def fail(self, kind: str, why: str) -> IntegrityError:
        return IntegrityError(f"manifest {self.digest} {why}", kind=kind)

    def header(self, line: bytes) -> None:
        try:
            head = canonical.loads(line)
        except ValueError:
            raise self.fail(INVALID, "has no valid header") from None
        if not isinstance(head, dict) or head.get("artcli") != "manifest":
            raise self.fail(INVALID, "has no valid header")
        version = head.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version != 1:
            raise self.fail(INVALID, f"has unsupported version {str(version)[:20]!r}")
        if canonical.dumps(head) != line:
            raise self.fail(NOT_CANONICAL, "has a header that is not canonical JSON")
        self.content.update(line + b"\n")

    def entry(self, raw: bytes) -> Entry:
        try:
            obj = canonical.loads(raw)
            entry = Entry.from_json(obj)
        except ValueError:  # not JSON (UnicodeDecodeError included)
            raise self.fail(INVALID, "has a line that is not JSON") from None
        except IntegrityError as exc:
            raise self.fail(INVALID, f"has an invalid entry: {exc}") from None
        if self.prev is not None and entry.path <= self.prev:
            raise self.fail(INVALID, f"is not sorted at {entry.path!r}")
        if entry.ref is None and obj.keys() <= ENTRY_FIELDS:  # the common shapes: the fast, formatted path
            line = entry_line(entry)
            plain = line if entry.pack is None else entry_line(Entry(entry.path, entry.size, entry.digest))
        else:
            line = canonical.dumps(obj) + b"\n"
            plain = canonical.dumps({k: v for k, v in obj.items() if k not in _LOCATION}) + b"\n"
        if line[:-1] != raw:
            raise self.fail(NOT_CANONICAL, f"has a line that is not canonical JSON at {entry.path!r}")
        self.content.update(plain)
        self.prev = entry.path
        self.size += entry.size
        self.count += 1
        return entry


def decode(data: bytes, expected_digest: str, max_entries: int | None = None) -> Manifest:
    """Verify and parse manifest bytes (docs/format.md §3.3); any flaw is an IntegrityError
    naming the digest, with ``kind`` the consistency finding. The content digest (§3.1) is
    computed in the same pass (``Manifest.content_digest``). Lines are read one at a time and
    parsing stops at the first entry past ``max_entries`` (the file count its event claims)."""
    check = _LineChecker(expected_digest)
    if digest_bytes(data) != expected_digest:
        raise check.fail(CORRUPT, "does not match its digest (corrupt object)")
    if data and not data.endswith(b"\n"):
        raise check.fail(NOT_CANONICAL, "does not end with a newline (not canonical)")
    lines = _lines(data)
    check.header(next(lines))
    entries = []
    for raw in lines:
        _count_ok(expected_digest, len(entries), max_entries)
        entries.append(check.entry(raw))
    return Manifest(entries, content_digest=check.content.hexdigest())


def _count_ok(digest: str, held: int, max_entries: int | None) -> None:
    """Stop before an entry past the count the event claims (the parse is bounded by it)."""
    if max_entries is not None and held >= max_entries:
        raise IntegrityError(f"manifest {digest} holds more entries than the {max_entries} files its event claims",
                             kind="event-manifest-mismatch")


def _lines(data: bytes) -> Iterator[bytes]:
    """The lines of ``data`` without their newlines, one at a time (a manifest of millions of
    lines, or of a billion empty ones, is never split into one list); the empty remainder after
    the final newline is not yielded, but an empty ``data`` is one empty line."""
    start, end = 0, len(data)
    if not end:
        yield b""
        return
    while start < end:
        nl = data.find(b"\n", start)
        yield data[start:nl]
        start = nl + 1


class Streamed:
    """A manifest read from a file one entry at a time, never whole in memory.

    The file is hashed first (a corrupt cache file is refused before any entry is used), then
    each iteration parses and checks every line as :func:`decode` does; after a full iteration
    ``content_digest``, ``size`` and ``count`` hold what :class:`Manifest` would give.
    """

    def __init__(self, path: str | Path, expected_digest: str, max_entries: int | None = None) -> None:
        """``max_entries``: the file count its event claims; iterating stops past it."""
        self.path, self.digest, self.max_entries = str(path), expected_digest, max_entries
        self.content_digest: str | None = None
        self.size = self.count = 0
        check = _LineChecker(expected_digest)
        with open(self.path, "rb") as fh:
            if digest_stream(fh) != expected_digest:
                raise check.fail(CORRUPT, "does not match its digest (corrupt object)")
            size = fh.tell()
            if size:  # the same order of checks as decode(): the final newline before the header
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    raise check.fail(NOT_CANONICAL, "does not end with a newline (not canonical)")

    def __iter__(self) -> Iterator[Entry]:
        check = _LineChecker(self.digest)
        with open(self.path, "rb") as fh:
            check.header(self._line(fh, check).removesuffix(b"\n"))
            while line := self._line(fh, check):
                _count_ok(self.digest, check.count, self.max_entries)
                yield check.entry(line[:-1])
        self.content_digest, self.size, self.count = check.content.hexdigest(), check.size, check.count

    @staticmethod
    def _line(fh: Any, check: _LineChecker) -> bytes:
        """The next line, never more than MAX_LINE_BYTES of it in memory (a line of zeros that
        happens to match its digest is refused, not read whole)."""
        line = fh.readline(MAX_LINE_BYTES + 1)
        if len(line) > MAX_LINE_BYTES:
            raise check.fail(INVALID, f"has a line longer than {MAX_LINE_BYTES} bytes")
        return line
