"""Where fetched reference bytes go: written to a file while hashed for every check a source
makes — the BLAKE3 digest always (artcli/hashing.py), MD5 per part (S3 ETags) and CRC32C
(GCS composite objects) on demand."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any, BinaryIO

from artcli.hashing import hasher


def _nothing(_: int) -> None:
    pass


class Sink:
    """Writes fetched bytes while hashing them."""

    def __init__(self, fh: BinaryIO, md5: bool = False, crc32c: bool = False,
                 progress: Callable[[int], None] = _nothing, part_sizes: list[int] | None = None) -> None:
        self._fh = fh
        self._b3 = hasher()
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 or part_sizes else None
        self._parts: list[bytes] = []
        self._left = list(reversed(part_sizes or []))  # bytes left in each part, the current one last
        self._crc: Any = None
        if crc32c:
            try:
                import google_crc32c

                self._crc = google_crc32c.Checksum()
            except ImportError:  # pragma: no cover - gcsfs depends on it
                self._crc = None
        self._progress = progress
        self.size = 0

    def write(self, data: bytes) -> None:
        self._fh.write(data)
        self._b3.update(data)
        if self._left:  # multipart ETag: one MD5 per part, split at the part boundaries
            view = memoryview(data)
            while view and self._left:
                take = min(len(view), self._left[-1])
                self._md5.update(view[:take])  # type: ignore[union-attr]
                view = view[take:]
                self._left[-1] -= take
                if not self._left[-1]:
                    self._left.pop()
                    self.end_part()
            if view:  # more bytes than the parts hold: the ETag check fails on the part count
                self._md5.update(view)  # type: ignore[union-attr]
        elif self._md5 is not None:
            self._md5.update(data)
        if self._crc is not None:
            self._crc.update(data)
        self.size += len(data)
        self._progress(len(data))

    def end_part(self) -> None:
        assert self._md5 is not None
        self._parts.append(self._md5.digest())
        self._md5 = hashlib.md5(usedforsecurity=False)

    def blake3(self) -> str:
        return self._b3.hexdigest()

    def md5_hex(self) -> str:
        assert self._md5 is not None
        return self._md5.hexdigest()

    def md5_b64(self) -> str:
        assert self._md5 is not None
        return base64.b64encode(self._md5.digest()).decode()

    def multipart_etag(self) -> str:
        parts = self._parts + ([self._md5.digest()] if self._left and self._md5 is not None else [])
        return f"{hashlib.md5(b''.join(parts), usedforsecurity=False).hexdigest()}-{len(parts)}"

    def crc32c_b64(self) -> str | None:
        return None if self._crc is None else base64.b64encode(self._crc.digest()).decode()
