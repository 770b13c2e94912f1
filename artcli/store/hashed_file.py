"""One streamed download's bytes written to a file and hashed off the event loop.

The event loop that receives every stream of a batch would otherwise also hash and write each
piece itself, one after the other, and stop receiving meanwhile. Here the pieces of a file are
handed, about ``BATCH`` bytes at a time and in order, to a small thread pool that hashes
(BLAKE3 releases the GIL) and writes them, while the loop goes on receiving; a file has at most
two batches in memory (one being written, one filling).
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

from artcli.hashing import new_hasher

BATCH = 1 << 20
WRITERS = 2  # threads shared by every streamed download of the process

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _writers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="artcli-hashed-write")
        return _pool


class HashedFile:
    """``async with HashedFile(path) as f``: ``await f.write(piece)`` any number of times; once
    the block is left without an error, the file is complete and ``f.hexdigest()`` its digest."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        self._executor = _writers()
        self._hasher = new_hasher()  # one thread per file: a batch is too small to share out
        self._pending: list[bytes] = []
        self._held = 0
        self._inflight: asyncio.Future[None] | None = None

    async def write(self, piece: bytes) -> None:
        self._pending.append(piece)
        self._held += len(piece)
        if self._held >= BATCH:
            await self._hand_over()

    async def _hand_over(self) -> None:
        if self._inflight is not None:
            await self._inflight  # in order, and never more than one batch being written
        pieces, self._pending, self._held = self._pending, [], 0
        self._inflight = asyncio.get_running_loop().run_in_executor(self._executor, self._write, pieces)

    def _write(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self._hasher.update(piece)
            view = memoryview(piece)
            while view:
                view = view[os.write(self._fd, view):]

    async def close(self, *, failed: bool = False) -> None:
        """Write what is left and close the file (``failed``: only wait for the batch in flight)."""
        try:
            if not failed:
                await self._hand_over()
            if self._inflight is not None:
                await self._inflight
        finally:
            os.close(self._fd)

    def hexdigest(self) -> str:
        return str(self._hasher.hexdigest())

    async def __aenter__(self) -> HashedFile:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if kind is None:
            await self.close()
            return
        try:
            await self.close(failed=True)
        except Exception:  # the error being raised already says what went wrong
            pass
