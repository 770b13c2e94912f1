"""``s3://bucket/prefix`` stores: requests and downloads through botocore, other transfers through s3fs.

Every operation that is one request (LIST, HEAD, GET of a whole object, PUT, the conditional
PUT of put_if_absent, DELETE) goes straight to the S3 API through a blocking botocore client
(:mod:`artcli.store.s3_client`): a warm read then never imports s3fs, aiobotocore or aiohttp.
Downloads of whole objects to files (get_files, get_files_hashed) go through the same client on
threads. Batches of many range reads, streams and uploads (get_ranges of several objects, open,
put_files) go through s3fs, built at their first use. Listing goes to the API rather than s3fs's
``info``/``find`` because those fall back to directory emulation and listing caches, which cost
extra requests and can hide fresh objects; ``list_objects_v2`` also gives us ``StartAfter``.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from artcli.errors import RemoteError
from artcli.store.base import ObjectInfo, bare_endpoint
from artcli.store.errors import Failure, has_code, translate
from artcli.store.fsspec_store import FsspecStore
from artcli.store.keys import check_prefix
from artcli.store.s3_client import S3Client, server_side_transient, shared_loader
from artcli.store.s3_download import get_many
from artcli.store.s3_settings import (  # noqa: F401 - re-exported: the options of an s3:// remote
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_READ_TIMEOUT,
    S3Settings,
    _signs_payload,
    botocore_config,
    read_s3_options,
)

#: multipart part size for uploads and range size for big downloads. s3fs reads
#: ``max_concurrency * chunksize`` bytes per file in flight (and a whole file below 2 chunks),
#: so this bounds memory: at most batch_size * max(2, per-file concurrency) * 8 MiB.
CHUNK = 8 * 2**20
#: total connections one batch aims for: files in flight x parts per file
_CONNECTIONS = 16

#: s3fs's hook (process-wide): retry 5xx and throttling answers, not connection failures
_server_side_transient = server_side_transient


_MISSING = ("NoSuchKey", "404", "NotFound")
#: byte-range reads of at most this many objects go on the blocking client (threads); more,
#: a cold read's thousands of events, through s3fs's event loop
SMALL_BATCH = 8


class S3Store(FsspecStore):
    """Objects under ``bucket/prefix``; every method translates botocore errors.

    ``s3`` sends the one-request operations; ``make_fs`` builds the s3fs filesystem for
    transfers, at the first access to :attr:`fs` (never, for a command that moves no file).
    """

    networked = True

    atomic_create = True

    def __init__(self, s3: S3Client, make_fs: Any, bucket: str, prefix: str, url: str) -> None:
        self.s3 = s3
        self._make_fs = make_fs
        self._fs: Any = None
        self._fs_lock = threading.Lock()
        self.bucket = bucket
        self.key_prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        super().__init__(None, f"{bucket}/{self.key_prefix}".rstrip("/"), url)
        self._root_ok = False

    @property  # type: ignore[override]
    def fs(self) -> Any:
        """The s3fs filesystem, built (and s3fs imported) on first use."""
        if self._fs is None:
            with self._fs_lock:
                if self._fs is None:
                    with translate(self.url):
                        self._fs = self._make_fs()
        return self._fs

    @fs.setter
    def fs(self, value: Any) -> None:
        self._fs = value

    def prepare_transfers(self) -> None:
        self.fs  # noqa: B018 - builds the s3fs filesystem now (on a thread that has time for it)

    def _s3key(self, path: str) -> str:
        return path[len(self.bucket) + 1 :]

    def _check_root(self) -> None:
        """One HEAD on the bucket after the first "not found": a missing bucket is a RemoteError."""
        if self._root_ok:
            return
        try:
            self.s3.call("head_bucket", Bucket=self.bucket)
        except Exception as exc:
            if has_code(exc, "404", "NoSuchBucket", "NotFound"):
                raise RemoteError(f"bucket {self.bucket!r} does not exist ({self.url})") from exc
            return  # 403 and the like: we cannot tell, let the original error stand
        self._root_ok = True

    def _cat_whole(self, path: str) -> bytes:
        """One GET of the whole object; a missing one is FileNotFoundError, as fsspec says it."""
        try:
            return self.s3.read(Bucket=self.bucket, Key=self._s3key(path))
        except Exception as exc:
            if has_code(exc, *_MISSING):
                raise FileNotFoundError(path) from exc
            raise

    def _head(self, path: str, key: str) -> ObjectInfo:
        r = self.s3.call("head_object", Bucket=self.bucket, Key=self._s3key(path))
        modified = r.get("LastModified")
        return ObjectInfo(key=key, size=int(r["ContentLength"]), mtime=modified.timestamp() if modified else None)

    def _batch(self, calls: Sequence[Any], limit: int | None = None) -> list[Any]:
        """A few byte-range reads (a warm read's new events, a small manifest) go on the
        blocking client, on threads, so such a read does not build s3fs; the rest as before."""
        if not 0 < len(calls) <= SMALL_BATCH or any(name != "cat_file" for _key, name, _a, _kw in calls):
            return super()._batch(calls, limit)

        def one(call: Any) -> Any:
            _key, _name, (path,), kw = call
            ranged = {"Range": f"bytes={kw['start']}-{kw['end'] - 1}"} if kw.get("end") is not None else {}
            try:
                return self.s3.read(Bucket=self.bucket, Key=self._s3key(path), **ranged)
            except Exception as exc:
                return Failure(exc)

        if len(calls) == 1:
            results = [one(calls[0])]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(len(calls), thread_name_prefix="artcli-s3-get") as pool:
                results = list(pool.map(one, calls))
        for (key, *_), result in zip(calls, results, strict=True):
            if isinstance(result, Failure):
                with self.guard(key):
                    raise result.exc
        return results

    def _per_file_concurrency(self, n_files: int) -> int:
        return max(1, _CONNECTIONS // max(1, min(n_files, self.batch_size)))

    def _open_kwargs(self) -> dict[str, Any]:
        return {"block_size": CHUNK}  # s3fs reads ahead 50 MiB blocks by default

    def get_files(self, pairs: Sequence[tuple[str, str]]) -> None:
        """As :meth:`get_files_hashed`, without the hashing (a manifest, ``cat``, ``copy``)."""
        get_many(self, list(pairs), hashed=False)

    def get_files_hashed(self, jobs: Sequence[tuple[str, str, int | None]],
                         done: Callable[[int, str], object] | None = None) -> list[str]:
        """One streaming GET per object, each piece hashed as it is written: verified without
        reading the file back. A broken read resumes with a ``Range`` from where it stopped, as
        s3fs does. Each file is renamed into place, and ``done`` told, once complete."""
        return get_many(self, [(key, dst) for key, dst, _size in jobs], hashed=True, done=done)

    def _put_file_kwargs(self, n_files: int) -> dict[str, Any]:
        # at most 4 parts of one file in flight: 32 MiB, so a 2 GiB upload stays small
        return {"chunksize": CHUNK, "max_concurrency": min(4, self._per_file_concurrency(n_files))}

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """``list_objects_v2`` pages with ``StartAfter``: a warm event-log read is one request."""
        check_prefix(prefix)
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": self.key_prefix + prefix,
            "MaxKeys": self.list_page_size,
        }
        if start_after:
            kwargs["StartAfter"] = self.key_prefix + start_after
        cut = len(self.key_prefix)
        while True:
            with self.guard(prefix):
                page = self.s3.call("list_objects_v2", **kwargs)
            for obj in page.get("Contents") or ():
                key = obj["Key"][cut:]
                if not key or key.endswith("/"):  # "directory" markers made by consoles
                    continue
                modified = obj.get("LastModified")
                yield ObjectInfo(key=key, size=int(obj["Size"]), mtime=modified.timestamp() if modified else None)
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token

    def list_dirs(self, prefix: str) -> Iterator[str]:
        """``list_objects_v2`` with ``Delimiter="/"``: one entry per folder, 1,000 a page."""
        check_prefix(prefix)
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.key_prefix + prefix, "Delimiter": "/",
                                  "MaxKeys": self.list_page_size}
        cut = len(self.key_prefix + prefix)
        while True:
            with self.guard(prefix):
                page = self.s3.call("list_objects_v2", **kwargs)
            for common in page.get("CommonPrefixes") or ():
                name = common["Prefix"][cut:].rstrip("/")
                if name:
                    yield name
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        with self.guard(key):
            self.s3.call("put_object", Bucket=self.bucket, Key=self._s3key(path), Body=data)

    def delete(self, key: str) -> None:
        """``DeleteObject``; S3 answers 204 for a key that is not there."""
        path = self._path(key)
        with self.guard(key):
            self.s3.call("delete_object", Bucket=self.bucket, Key=self._s3key(path))

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """``PutObject`` with ``If-None-Match: *`` (one request: S3 takes up to 5 GiB in one PUT).

        412 means another writer's object is there (False, unless it holds exactly our bytes).
        409 ConditionalRequestConflict means a concurrent conditional write to this key is still
        in flight: retry shortly, it resolves to a 412 or to our win.
        """
        path = self._path(key)
        delay = 0.02
        for _attempt in range(12):
            try:
                self.s3.call("put_object", Bucket=self.bucket, Key=self._s3key(path), Body=data, IfNoneMatch="*")
                return True
            except Exception as exc:
                if has_code(exc, "PreconditionFailed", "412"):
                    with self.guard(key):
                        return self._same_bytes(path, data)
                if not has_code(exc, "ConditionalRequestConflict", "409"):
                    with self.guard(key):
                        raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
        raise RemoteError(f"write race on {self.public_url(key)} did not settle (409 ConditionalRequestConflict)")

    conditional_delete = True

    def version_tag(self, key: str) -> str:
        path = self._path(key)
        with self.guard(key):
            return str(self.s3.call("head_object", Bucket=self.bucket, Key=self._s3key(path))["ETag"])

    def delete_if_unchanged(self, key: str, tag: str) -> bool:
        """``DeleteObject`` with ``If-Match: <ETag>``: 412 (changed) or 404 (gone) → False."""
        path = self._path(key)
        try:
            self.s3.call("delete_object", Bucket=self.bucket, Key=self._s3key(path), IfMatch=tag)
        except Exception as exc:
            if has_code(exc, "PreconditionFailed", "412", "NoSuchKey", "404"):
                return False
            with self.guard(key):
                raise
        return True

    def close(self) -> None:
        self.s3.close()
        fs = self._fs
        client = getattr(fs, "_s3", None)
        if client is not None:
            try:
                fs.close_session(fs.loop, client)
            except Exception:  # closing is best effort; the process is usually about to exit
                pass
            fs._s3 = None


def open_s3(bucket: str, prefix: str, url: str, options: Mapping[str, str]) -> S3Store:
    """The store for one bucket/prefix (options: :func:`read_s3_options`). Nothing is imported
    or connected here: the botocore client is built at the first request, s3fs at the first
    transfer."""
    s = read_s3_options(options)
    client = S3Client(botocore_config(s), endpoint_url=s.endpoint_url, region=s.region, profile=s.profile,
                      anon=s.anon, retries=s.max_attempts)
    store = S3Store(client, lambda: _make_s3fs(s), bucket, prefix, url)
    store.endpoint = bare_endpoint(s.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
                                   or os.environ.get("AWS_ENDPOINT_URL"))
    return store


def _make_s3fs(s: S3Settings) -> Any:
    """The s3fs filesystem for a store's transfers, sharing the botocore data loader."""
    import s3fs
    from aiobotocore.session import AioSession

    logging.getLogger("s3fs").addHandler(logging.NullHandler())  # no last-resort stderr output
    set_handler = getattr(s3fs.core, "set_custom_error_handler", None)
    if set_handler is not None:  # process-wide in s3fs; the same policy for every S3 store
        set_handler(_server_side_transient)

    client_kwargs: dict[str, Any] = {}
    if s.region:
        client_kwargs["region_name"] = s.region
    session = AioSession(profile=s.profile)
    session.register_component("data_loader", shared_loader())  # service models parsed once
    fs = s3fs.S3FileSystem(
        anon=s.anon,
        endpoint_url=s.endpoint_url,
        client_kwargs=client_kwargs,
        config_kwargs=botocore_config(s),
        session=session,
        # a fresh instance per store: fsspec's instance cache keys on arguments only, so two
        # stores with the same options but different environments (endpoint, credentials)
        # would otherwise share one client
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    if s.max_attempts is not None:
        fs.retries = s.max_attempts
    return fs
