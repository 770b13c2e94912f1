"""BLAKE3 hashing: the one module that knows which hash artcli uses (nothing else imports blake3).

Files are read in fixed 16 MiB chunks into one reused buffer (bounded memory, unlike mmap,
whose pages count towards RSS) and large chunks are hashed with BLAKE3's own threads.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import blake3

CHUNK = 16 << 20
_THREADED_MIN = 1 << 20  # below this, spawning hash threads costs more than it saves


def new_hasher(size_hint: int = 0) -> blake3.blake3:
    """An incremental hasher (``update(bytes)``, ``hexdigest()``) for bytes that arrive in
    pieces; BLAKE3's own threads are used when ``size_hint`` says it is worth it."""
    if size_hint >= _THREADED_MIN:
        return blake3.blake3(max_threads=blake3.blake3.AUTO)
    return blake3.blake3()


def hasher() -> blake3.blake3:
    """A streaming hasher (``update``, ``hexdigest``) for bytes that arrive in pieces."""
    return blake3.blake3()


def digest_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hex digest of bytes in memory."""
    return new_hasher(len(data)).update(data).hexdigest()


def digest_file(path: str | os.PathLike[str]) -> str:
    """Hex digest of a file's content."""
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size < CHUNK:
            return digest_bytes(fh.read())
        return digest_stream(fh, size)


def digest_stream(fh: BinaryIO, size_hint: int = CHUNK) -> str:
    """Hex digest of everything left in a binary stream."""
    h = new_hasher(size_hint)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = fh.readinto(view)  # type: ignore[attr-defined]
        if not n:
            break
        h.update(view[:n])
    return h.hexdigest()
