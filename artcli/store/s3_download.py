"""Downloads of whole S3 objects to files, on the blocking botocore client's threads.

One streaming GET per object (constant memory; S3 servers that cost per range request in
proportion to the object, as moto does, are not hammered), several objects at once. Receiving,
hashing and writing all release the GIL, so the pieces of several objects are handled on both
cores at once, where s3fs's one event-loop thread received, hashed and wrote every byte of a
batch (a cold download of 1 GiB was bound by that thread); and a download of loose blobs never
imports s3fs, aiobotocore or aiohttp (~0.3 s of CPU).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from artcli.store.errors import Failure, downloading_into
from artcli.store.s3_client import S3Client, retryable


class S3Store(Protocol):
    """What these downloads use of :class:`artcli.store.s3.S3Store`."""

    s3: S3Client
    bucket: str
    key_prefix: str
    batch_size: int

    def guard(self, key: str) -> AbstractContextManager[None]: ...

#: bytes asked for per read of a streamed download
STREAM_READ = 1 << 18
#: reads of one object that may break off before its download gives up
RESUMES = 3


def get_many(store: S3Store, jobs: Sequence[tuple[str, str]], *, hashed: bool,
             done: Callable[[int, str], object] | None = None) -> list[str]:
    """GET each ``(key, local_path)`` to a temp name beside the path, renamed when complete, on
    up to ``store.batch_size`` threads; the BLAKE3 digests (empty strings unless ``hashed``).
    ``done(i, digest)`` is told as each file is complete under its final name. The first
    failure in job order is raised, translated; no job starts after one failed, and no temp
    file is left."""
    if not jobs:
        return []
    from concurrent.futures import ThreadPoolExecutor

    tag = uuid.uuid4().hex[:8]
    tmps = [f"{dst}.artcli-part-{tag}-{i}" for i, (_key, dst) in enumerate(jobs)]
    failed = threading.Event()

    def one(i: int) -> str | Failure | None:
        if failed.is_set():  # something failed: start nothing more
            return None
        key, dst = jobs[i]
        try:
            digest = get_one(store, key, tmps[i], hashed, failed)
            os.replace(tmps[i], dst)
        except _Stopped:  # another job failed (or the command was interrupted) meanwhile
            return None
        except Exception as exc:
            failed.set()
            return Failure(exc)
        if done is not None:
            done(i, digest)
        return digest

    try:
        for _key, dst in jobs:
            os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
        with downloading_into(os.path.dirname(os.path.abspath(jobs[0][1]))):  # a full disk is the local one
            threads = min(len(jobs), store.batch_size)
            if threads == 1:
                results = [one(0)]
            else:
                pool = ThreadPoolExecutor(threads, thread_name_prefix="artcli-s3-get")
                try:
                    results = list(pool.map(one, range(len(jobs))))
                except BaseException:  # Ctrl-C: the GETs in flight stop at their next piece
                    failed.set()
                    raise
                finally:
                    pool.shutdown(wait=True, cancel_futures=True)
            for (key, _dst), result in zip(jobs, results, strict=True):
                if isinstance(result, Failure):
                    with store.guard(key):
                        raise result.exc
    except BaseException:
        for tmp in tmps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
    return [str(r) for r in results]


class _Stopped(Exception):
    """A GET given up because ``stop`` was set: not a failure of its own."""


def get_one(store: S3Store, key: str, tmp: str, hashed: bool, stop: threading.Event | None = None) -> str:
    """GET ``key`` into ``tmp`` (created here); its BLAKE3 digest, hashed piece by piece as
    written ("" unless ``hashed``). A body cut off (the answer broke off, a read timed out) is
    asked for again from the first byte not yet written, up to ``RESUMES`` times; an answer
    that is not that range (a server that ignores ``Range``) starts the file again. Once
    ``stop`` is set, the GET ends at its next piece (:class:`_Stopped`)."""
    from artcli.hashing import new_hasher

    h = new_hasher() if hashed else None  # one thread per object: a 256 KiB piece is too small to share out
    got = failures = 0
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        while True:
            extra = {"Range": f"bytes={got}-"} if got else {}
            resp = store.s3.call("get_object", Bucket=store.bucket, Key=store.key_prefix + key, **extra)
            body = resp["Body"]
            if got and not str(resp.get("ContentRange", "")).startswith(f"bytes {got}-"):
                got = 0  # the range was not honoured: the whole object again, from the start
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                h = new_hasher() if hashed else None
            try:
                while chunk := body.read(STREAM_READ):
                    if stop is not None and stop.is_set():
                        raise _Stopped(key)
                    if h is not None:
                        h.update(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
                    got += len(chunk)
                break
            except _Stopped:
                raise
            except Exception as exc:
                failures += 1
                if failures >= RESUMES or not retryable(exc):
                    raise
            finally:
                body.close()
    finally:
        os.close(fd)
    return str(h.hexdigest()) if h is not None else ""
