"""Manifest bytes: canonical JSON Lines, one entry per line, sorted by path.

The digest of a version is BLAKE3 over exactly these bytes. Stored gzip-compressed; the
digest is always of the uncompressed canonical form, so compression settings never matter.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from artcli import canonical
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes, new_hasher
from artcli.model import Entry, Manifest

HEADER = {"artcli": "manifest", "version": 1}
#: hard limits on what a manifest may inflate to (docs/format.md §3.3): 4 GiB in all, and 64 KiB
#: per entry its event claims (a 4096-byte path escaped, a reference's pins, unknown fields)
MAX_MANIFEST_BYTES = 4 << 30
MAX_ENTRY_BYTES = 64 << 10


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


def decompress(blob: bytes, what: str, limit: int | None = None) -> bytes:
    """Inflate a stored manifest, stopping as soon as it passes ``limit`` bytes (default: the
    hard limit), and refusing a compressed form over :func:`compressed_limit`: memory never
    exceeds the limit, whatever the compression ratio."""
    limit = MAX_MANIFEST_BYTES if limit is None else limit
    if len(blob) > compressed_limit(limit):
        raise IntegrityError(f"manifest {what} is {len(blob)} bytes compressed, more than a manifest of at most "
                             f"{limit} bytes can be", kind=CORRUPT)
    try:
        d = zlib.decompressobj(wbits=31)
        out = d.decompress(blob, limit + 1)
        if len(out) > limit or d.unconsumed_tail:
            raise IntegrityError(f"manifest {what} is larger than {limit} bytes decompressed", kind=CORRUPT)
        return out
    except (zlib.error, EOFError) as exc:
        raise IntegrityError(f"manifest {what} is not valid gzip: {exc}", kind=CORRUPT) from None


CORRUPT, INVALID, NOT_CANONICAL = "manifest-corrupt", "manifest-invalid", "manifest-not-canonical"
#: entry fields this revision knows; others are ignored by readers and kept in the content form
ENTRY_FIELDS = frozenset({"path", "size", "digest", "pack", "offset", "ref"})
_LOCATION = ("pack", "offset")


def decode(data: bytes, expected_digest: str, max_entries: int | None = None) -> Manifest:
    """Verify and parse manifest bytes (docs/format.md §3.3); any flaw is an IntegrityError
    naming the digest, with ``kind`` the consistency finding. The content digest (§3.1) is
    computed in the same pass (``Manifest.content_digest``). Lines are read one at a time and
    parsing stops at the first entry past ``max_entries`` (the file count its event claims)."""
    def fail(kind: str, why: str) -> IntegrityError:
        return IntegrityError(f"manifest {expected_digest} {why}", kind=kind)

    if digest_bytes(data) != expected_digest:
        raise fail(CORRUPT, "does not match its digest (corrupt object)")
    if data and not data.endswith(b"\n"):
        raise fail(NOT_CANONICAL, "does not end with a newline (not canonical)")
    lines = _lines(data)
    first = next(lines)
    try:
        head = canonical.loads(first)
    except ValueError:
        raise fail(INVALID, "has no valid header") from None
    if not isinstance(head, dict) or head.get("artcli") != "manifest":
        raise fail(INVALID, "has no valid header")
    version = head.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version != 1:
        raise fail(INVALID, f"has unsupported version {str(version)[:20]!r}")
    if canonical.dumps(head) != first:
        raise fail(NOT_CANONICAL, "has a header that is not canonical JSON")
    content = new_hasher()
    content.update(first + b"\n")
    entries: list[Entry] = []
    prev = ""
    for raw in lines:
        if max_entries is not None and len(entries) >= max_entries:
            raise IntegrityError(f"manifest {expected_digest} holds more entries than the {max_entries} files "
                                 "its event claims", kind="event-manifest-mismatch")
        try:
            obj = canonical.loads(raw)
            entry = Entry.from_json(obj)
        except ValueError:  # not JSON (UnicodeDecodeError included)
            raise fail(INVALID, "has a line that is not JSON") from None
        except IntegrityError as exc:
            raise fail(INVALID, f"has an invalid entry: {exc}") from None
        if entries and entry.path <= prev:
            raise fail(INVALID, f"is not sorted at {entry.path!r}")
        if entry.ref is None and obj.keys() <= ENTRY_FIELDS:  # the common shapes: the fast, formatted path
            line = entry_line(entry)
            plain = line if entry.pack is None else entry_line(Entry(entry.path, entry.size, entry.digest))
        else:
            line = canonical.dumps(obj) + b"\n"
            plain = canonical.dumps({k: v for k, v in obj.items() if k not in _LOCATION}) + b"\n"
        if line[:-1] != raw:
            raise fail(NOT_CANONICAL, f"has a line that is not canonical JSON at {entry.path!r}")
        content.update(plain)
        prev = entry.path
        entries.append(entry)
    return Manifest(entries, content_digest=content.hexdigest())


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
