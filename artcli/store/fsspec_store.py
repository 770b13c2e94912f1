"""A :class:`Store` over any fsspec filesystem, using its batch/async primitives.

Batches (``get_ranges``, ``get_files``, ``put_files``) run on fsspec's event loop with our own
bounded gather instead of ``fs.get``/``fs.put``/``fs.cat_ranges``: same concurrency, but a
failure names the key that failed, the rest of the batch is not started after a failure, and
downloads land under a temporary name first so a half-written local file never looks finished.

Only the per-backend subclasses (:mod:`.memory`, :mod:`.s3`, :mod:`.gcs`) can create objects
exclusively; this generic class refuses ``put_if_absent`` unless the remote was opened with the
``unsafe_writes`` option.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, BinaryIO

from artcli.errors import NotFoundError, UnsafeRemoteError, UsageError
from artcli.store.base import ObjectInfo, Store
from artcli.store.errors import Failure, downloading_into, translate
from artcli.store.keys import check_key, check_prefix, check_sources

# When a connection dies under concurrent requests, aiohttp can leave a task whose exception
# nobody retrieves; asyncio logs it when the task is collected, and with no logging configured
# Python's last-resort handler would print that traceback after artcli's one error line. The
# failure itself is reported, once, through the request that saw it.
logging.getLogger("asyncio").addHandler(logging.NullHandler())

# One call in a batch: (key for messages, fsspec method name without "_", args, kwargs).
_Call = tuple[str, str, tuple[Any, ...], dict[str, Any]]


_SKIPPED = object()


def _mtime(info: dict[str, Any]) -> float | None:
    """fsspec backends name and type the modification time differently."""
    for field in ("mtime", "LastModified", "updated", "last_modified", "created"):
        value = info.get(field)
        if value is None:
            continue
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


class _Reader(io.RawIOBase):
    """Wraps an fsspec file so errors raised while reading are artcli errors too."""

    def __init__(self, f: Any, url: str) -> None:
        super().__init__()
        self._f = f
        self._url = url

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        with translate(self._url):
            return self._f.read(-1 if size is None else size)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        n = len(data)
        memoryview(buffer).cast("B")[:n] = data
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with translate(self._url):
            return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    @property
    def size(self) -> int | None:
        return getattr(self._f, "size", None)

    def close(self) -> None:
        if not self.closed:
            try:
                with translate(self._url):
                    self._f.close()
            finally:
                super().close()


class FsspecStore(Store):
    """Keys live under ``root`` (an fsspec path without protocol, e.g. ``bucket/prefix``)."""

    atomic_create = False
    #: concurrent requests in one batch (files in flight for get_files/put_files)
    batch_size = 16
    #: objects per LIST page; tests lower it to exercise pagination
    list_page_size = 1000
    #: get_ranges merges ranges of one object closer than this into one request...
    merge_gap = 64 * 1024
    #: ...as long as the merged request stays below this size
    merge_max = 16 * 2**20

    def __init__(self, fs: Any, root: str, url: str, *, unsafe_writes: bool = False) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url.rstrip("/")
        self.unsafe_writes = unsafe_writes

    # -- plumbing --------------------------------------------------------------------------
    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key)}"

    @contextmanager
    def guard(self, key: str) -> Iterator[None]:
        """What every request of this store (and of its helper modules, e.g. ``s3_download``)
        runs under: errors translated naming ``key``; on "not found", first a check that it is
        not the whole root (bucket, container) missing."""
        try:
            with translate(self.public_url(key)):
                yield
        except NotFoundError:
            self._check_root()
            raise

    def _check_root(self) -> None:
        """Raise RemoteError when the bucket/root itself is missing (overridden per backend)."""

    def _batch(self, calls: Sequence[_Call], limit: int | None = None) -> list[Any]:
        """Run fsspec calls concurrently (at most ``batch_size`` at once) and return results.

        The first failure, in call order, is raised translated and naming its key; calls not yet
        started when something failed are skipped.
        """
        if not calls:
            return []
        if getattr(self.fs, "async_impl", False):
            from fsspec.asyn import sync

            results = sync(self.fs.loop, self._abatch, calls, limit or self.batch_size)
        else:
            results = []
            for _key, name, args, kwargs in calls:
                try:
                    results.append(getattr(self.fs, name)(*args, **kwargs))
                except Exception as exc:
                    results.append(Failure(exc))
                    break
        for (key, *_), result in zip(calls, results, strict=False):
            if isinstance(result, Failure):
                with self.guard(key):
                    raise result.exc
        return results

    async def _abatch(self, calls: Sequence[_Call], limit: int) -> list[Any]:
        sem = asyncio.Semaphore(limit)
        failed = False

        async def one(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            nonlocal failed
            async with sem:
                if failed:
                    return _SKIPPED
                try:
                    fn = name if callable(name) else getattr(self.fs, "_" + name)  # a backend's own coroutine
                    return await fn(*args, **kwargs)
                except Exception as exc:
                    failed = True
                    return Failure(exc)

        return await asyncio.gather(*(one(name, args, kw) for _key, name, args, kw in calls))

    # hooks for backends ----------------------------------------------------------------
    def _cat_whole(self, path: str) -> bytes:
        return self.fs.cat_file(path)

    def _head(self, path: str, key: str) -> ObjectInfo:
        info = self.fs.info(path)
        if info.get("type", "file") != "file":
            raise FileNotFoundError(path)
        return ObjectInfo(key=key, size=int(info.get("size") or 0), mtime=_mtime(info))

    def _open_kwargs(self) -> dict[str, Any]:
        return {}

    def _get_file_kwargs(self, n_files: int) -> dict[str, Any]:
        return {}

    def _put_file_kwargs(self, n_files: int) -> dict[str, Any]:
        return {}

    # -- reads ---------------------------------------------------------------------------
    def get(self, key: str) -> bytes:
        path = self._path(key)
        with self.guard(key):
            return bytes(self._cat_whole(path))

    def get_ranges(self, key_ranges: Sequence[tuple[str, int, int]]) -> list[bytes]:
        """Ranges of one object that are close together are fetched as one request."""
        out: list[bytes] = [b""] * len(key_ranges)
        by_key: dict[str, list[tuple[int, int, int]]] = {}
        for i, (key, start, end) in enumerate(key_ranges):
            check_key(key)
            if start < 0 or end < start:
                raise UsageError(f"invalid byte range [{start}, {end}) of {key!r}")
            if end > start:
                by_key.setdefault(key, []).append((start, end, i))
        blocks: list[tuple[str, int, int, list[tuple[int, int, int]]]] = []
        for key, ranges in by_key.items():
            ranges.sort()
            cur: list[Any] | None = None
            for start, end, i in ranges:
                if cur is not None and start <= cur[2] + self.merge_gap and max(end, cur[2]) - cur[1] <= self.merge_max:
                    cur[2] = max(cur[2], end)
                    cur[3].append((start, end, i))
                else:
                    cur = [key, start, end, [(start, end, i)]]
                    blocks.append(cur)  # type: ignore[arg-type]
        results = self._batch(
            [(key, "cat_file", (self._path(key),), {"start": s, "end": e}) for key, s, e, _ in blocks]
        )
        for (_key, bstart, _bend, members), data in zip(blocks, results, strict=True):
            for start, end, i in members:
                out[i] = bytes(data[start - bstart : end - bstart])
        return out

    def get_files(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Each file is downloaded to ``<dest>.artcli-part-*`` and renamed when complete."""
        if not pairs:
            return
        tag = uuid.uuid4().hex[:8]
        jobs = [(key, dst, f"{dst}.artcli-part-{tag}-{i}") for i, (key, dst) in enumerate(pairs)]
        kwargs = self._get_file_kwargs(len(jobs))
        try:
            for _key, dst, _tmp in jobs:
                os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
            with downloading_into(os.path.dirname(os.path.abspath(jobs[0][1]))):
                self._batch([(key, "get_file", (self._path(key), tmp), kwargs) for key, _dst, tmp in jobs])
            for _key, dst, tmp in jobs:
                os.replace(tmp, dst)
        except BaseException:
            for _key, _dst, tmp in jobs:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            raise

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        with self.guard(key):
            return _Reader(self.fs.open(path, "rb", **self._open_kwargs()), self.public_url(key))  # type: ignore[return-value]

    def exists(self, key: str) -> bool:
        try:
            self.info(key)
        except NotFoundError:
            return False
        return True

    def info(self, key: str) -> ObjectInfo:
        path = self._path(key)
        with self.guard(key):
            return self._head(path, key)

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Generic listing: ``find`` under the prefix's directory, filtered and sorted here."""
        check_prefix(prefix)
        dir_part = prefix.rpartition("/")[0]
        base = f"{self.root}/{dir_part}" if dir_part else self.root
        try:
            with self.guard(prefix):
                found = self.fs.find(base, detail=True)
        except NotFoundError:
            return
        after = start_after or ""
        cut = len(self.root) + 1
        infos = []
        for raw_path, info in found.items():
            path = self.fs._strip_protocol(raw_path)
            if info.get("type", "file") != "file" or not path.startswith(self.root + "/"):
                continue
            key = path[cut:]
            if key.startswith(prefix) and key > after:
                infos.append(ObjectInfo(key=key, size=int(info.get("size") or 0), mtime=_mtime(info)))
        infos.sort(key=lambda o: o.key)
        yield from infos

    # -- writes --------------------------------------------------------------------------
    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        with self.guard(key):
            self.fs.pipe_file(path, data)

    #: bytes of file content an upload batch may hold in memory: s3fs/gcsfs read a file below
    #: two chunks whole before a single PUT, so concurrency is bounded by file size too
    upload_memory = 64 * 2**20

    def put_files(self, pairs: Sequence[tuple[str, str]]) -> None:
        check_sources(pairs)
        kwargs = self._put_file_kwargs(len(pairs))
        largest = max((min(os.path.getsize(src), 2 * self.upload_chunk) for src, _ in pairs), default=1)
        limit = max(1, min(self.batch_size, self.upload_memory // max(1, largest)))
        self._batch([(key, "put_file", (src, self._path(key)), kwargs) for src, key in pairs], limit)

    #: multipart part size; subclasses set it to what they pass as chunksize
    upload_chunk = 8 * 2**20

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Refused: a generic fsspec backend has no exclusive create (see ``unsafe_writes``)."""
        path = self._path(key)
        if not self.unsafe_writes:
            raise UnsafeRemoteError(
                f"{self.url} cannot create objects exclusively, so concurrent writers would be unsafe",
                hint="set the remote option unsafe_writes=true if only one writer ever runs at a time",
            )
        with self.guard(key):
            if self.fs.isfile(path):
                return self._same_bytes(path, data)
            self.fs.pipe_file(path, data)
            return True

    def _same_bytes(self, path: str, data: bytes) -> bool:
        """An existing object counts as ours when it holds exactly our bytes.

        That makes put_if_absent idempotent: a request retried after its first attempt landed
        (the response was lost) would otherwise report a lost race against itself.
        """
        try:
            return bytes(self._cat_whole(path)) == data
        except FileNotFoundError:
            return False

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            with self.guard(key):
                self.fs.rm_file(path)
        except NotFoundError:
            pass
