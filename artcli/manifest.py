"""Manifest bytes: canonical JSON Lines, one entry per line, sorted by path.

The digest of a version is BLAKE3 over exactly these bytes. Stored gzip-compressed; the
digest is always of the uncompressed canonical form, so compression settings never matter.
"""

from __future__ import annotations

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
MAX_MANIFEST_BYTES = 4 << 30  # a decompressed manifest over 4 GiB is refused (zip bombs)


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


def decompress(blob: bytes, what: str) -> bytes:
    try:
        d = zlib.decompressobj(wbits=31)
        out = d.decompress(blob, MAX_MANIFEST_BYTES + 1)
        if len(out) > MAX_MANIFEST_BYTES or d.unconsumed_tail:
            raise IntegrityError(f"manifest {what} is larger than {MAX_MANIFEST_BYTES} bytes", kind=CORRUPT)
        return out
    except (zlib.error, EOFError) as exc:
        raise IntegrityError(f"manifest {what} is not valid gzip: {exc}", kind=CORRUPT) from None


def decompress_file(gz_path: str | Path, out_path: str | Path, what: str) -> None:
    """Stream-decompress a manifest object into a file (refusing more than MAX_MANIFEST_BYTES)."""
    d = zlib.decompressobj(wbits=31)
    total = 0
    try:
        with open(gz_path, "rb") as src, open(out_path, "wb") as dst:
            while chunk := src.read(1 << 20):
                data = d.decompress(chunk)
                while True:
                    total += len(data)
                    if total > MAX_MANIFEST_BYTES:
                        raise IntegrityError(f"manifest {what} is larger than {MAX_MANIFEST_BYTES} bytes", kind=CORRUPT)
                    dst.write(data)
                    if not d.unconsumed_tail:
                        break
                    data = d.decompress(d.unconsumed_tail)
            dst.write(d.flush())
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


def decode(data: bytes, expected_digest: str) -> Manifest:
    """Verify and parse manifest bytes (docs/format.md §3.3); any flaw is an IntegrityError
    naming the digest, with ``kind`` the consistency finding. The content digest (§3.1) is
    computed in the same pass (``Manifest.content_digest``)."""
    check = _LineChecker(expected_digest)
    if digest_bytes(data) != expected_digest:
        raise check.fail(CORRUPT, "does not match its digest (corrupt object)")
    lines = data.split(b"\n")
    if lines[-1] != b"":
        raise check.fail(NOT_CANONICAL, "does not end with a newline (not canonical)")
    check.header(lines[0])
    entries = [check.entry(raw) for raw in lines[1:-1]]
    return Manifest(entries, content_digest=check.content.hexdigest())


class Streamed:
    """A manifest read from a file one entry at a time, never whole in memory.

    The file is hashed first (a corrupt cache file is refused before any entry is used), then
    each iteration parses and checks every line as :func:`decode` does; after a full iteration
    ``content_digest``, ``size`` and ``count`` hold what :class:`Manifest` would give.
    """

    def __init__(self, path: str | Path, expected_digest: str) -> None:
        self.path, self.digest = str(path), expected_digest
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
            check.header(fh.readline().removesuffix(b"\n"))
            for line in fh:
                yield check.entry(line[:-1])
        self.content_digest, self.size, self.count = check.content.hexdigest(), check.size, check.count
