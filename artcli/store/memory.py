"""``memory://`` stores: fsspec's process-wide in-memory filesystem (tests, demos, dry runs).

Everything lives in one dict shared by the whole process, so exclusive create is a check and a
write under one process-wide lock. Other processes never see these objects.
"""

from __future__ import annotations

import threading

from artcli.store.fsspec_store import FsspecStore

# One lock for every MemoryStore: they may share the same fsspec dict under different roots.
_CREATE_LOCK = threading.Lock()


class MemoryStore(FsspecStore):
    """Keys under ``/<name>`` of :class:`fsspec.implementations.memory.MemoryFileSystem`."""

    atomic_create = True  # within this process, which is all a memory store ever has

    def __init__(self, name: str) -> None:
        from fsspec.implementations.memory import MemoryFileSystem

        fs = MemoryFileSystem(skip_instance_cache=True)
        root = "/" + name.strip("/")
        super().__init__(fs, root, "memory:/" + root)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        with _CREATE_LOCK, self.guard(key):
            if self.fs.isfile(path):
                return self._same_bytes(path, data)
            self.fs.pipe_file(path, bytes(data))
            return True
