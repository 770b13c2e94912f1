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


CORRUPT, INVALID, NOT_CANONICAL = "manifest-corrupt", "manifest-invalid", "manifest-not-canonical"
#: entry fields this revision knows; others are ignored by readers and kept in the content form
ENTRY_FIELDS = frozenset({"path", "size", "digest", "pack", "offset", "ref"})
_LOCATION = ("pack", "offset")


def decode(data: bytes, expected_digest: str) -> Manifest:
    """Verify and parse manifest bytes (docs/format.md §3.3); any flaw is an IntegrityError
    naming the digest, with ``kind`` the consistency finding. The content digest (§3.1) is
    computed in the same pass (``Manifest.content_digest``)."""
    def fail(kind: str, why: str) -> IntegrityError:
        return IntegrityError(f"manifest {expected_digest} {why}", kind=kind)

    if digest_bytes(data) != expected_digest:
        raise fail(CORRUPT, "does not match its digest (corrupt object)")
    lines = data.split(b"\n")
    if lines[-1] != b"":
        raise fail(NOT_CANONICAL, "does not end with a newline (not canonical)")
    try:
        head = canonical.loads(lines[0])
    except ValueError:
        raise fail(INVALID, "has no valid header") from None
    if not isinstance(head, dict) or head.get("artcli") != "manifest":
        raise fail(INVALID, "has no valid header")
    version = head.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version != 1:
        raise fail(INVALID, f"has unsupported version {str(version)[:20]!r}")
    if canonical.dumps(head) != lines[0]:
        raise fail(NOT_CANONICAL, "has a header that is not canonical JSON")
    content = new_hasher()
    content.update(lines[0] + b"\n")
    entries: list[Entry] = []
    prev = ""
    for raw in lines[1:-1]:
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
