"""``gs://bucket/prefix`` stores through gcsfs, with ``ifGenerationMatch=0`` for put_if_absent.

gcsfs is imported only here, and only after ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` is set:
with it on, gcsfs probes every bucket over gRPC and each probe against an emulator (or a
network that drops gRPC) stalls for 60 s. We also use the core ``GCSFileSystem`` class
directly, never the "extended" one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import types
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from artcli.errors import ConflictError, NotFoundError, RemoteError, UnsafeRemoteError
from artcli.store.base import ObjectInfo, bare_endpoint
from artcli.store.errors import translate
from artcli.store.fsspec_store import FsspecStore
from artcli.store.keys import check_prefix
from artcli.store.options import OptionReader

#: Largest put_if_absent we accept. gcsfs sends bigger payloads as resumable uploads, and
#: fake-gcs-server (at least) ignores ifGenerationMatch on those: silent overwrite. Event
#: records are a few KiB, so a simple (single-request) upload always suffices.
MAX_CREATE_SIZE = 5 * 2**20
#: resumable-upload chunk for put_files (a multiple of 256 KiB); bounds memory per file
CHUNK = 8 * 2**20

#: gcsfs's own default: 6 attempts, ~30 s of back-off for 429/5xx answers (what GCS advises)
DEFAULT_MAX_ATTEMPTS = 6
#: attempts when nothing answers at all (refused, unresolvable): a dead endpoint fails in ~1 s
CONNECT_ATTEMPTS = 3

_FS_CLASS: type | None = None


def _fail_fast_on_connect(plain: Callable[..., Awaitable[Any]], attempts: int) -> Callable[..., Awaitable[Any]]:
    """Give connection failures a few quick attempts, then raise ConnectionRefusedError.

    gcsfs's ``retry_request`` retries every aiohttp error with 1, 2, 4, 8, 16 s of back-off,
    so a stopped server or a wrong endpoint took half a minute to report. ConnectionRefusedError
    is not among the exceptions it retries, so it leaves at once (and maps to exit 6), while
    429/5xx answers from a live server keep gcsfs's back-off.
    """
    import aiohttp

    @functools.wraps(plain)
    async def call(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(attempts):
            try:
                return await plain(*args, **kwargs)
            except aiohttp.ClientConnectorError as exc:
                if attempt == attempts - 1:
                    raise ConnectionRefusedError(
                        f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc.os_error}"
                    ) from exc
                await asyncio.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    return call


def _gcs_class() -> type:
    """A GCSFileSystem whose retry count can be set per instance (gcsfs fixes it per class)."""
    global _FS_CLASS
    if _FS_CLASS is None:
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        # gcsfs logs "out of retries" with logger.exception; with no logging configured Python's
        # last-resort handler would print that traceback on stderr; the error itself reaches the
        # user once, translated, through the call that failed.
        logging.getLogger("gcsfs").addHandler(logging.NullHandler())
        from gcsfs.core import GCSFileSystem
        from gcsfs.retry import retry_request

        retried = [
            name
            for name in ("_request", "_get_file_request", "_get_file_concurrent")
            if hasattr(getattr(GCSFileSystem, name, None), "__wrapped__")
        ]

        class ArtcliGCSFileSystem(GCSFileSystem):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, max_attempts: int | None = None, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                attempts = max_attempts or DEFAULT_MAX_ATTEMPTS
                for name in retried:
                    plain = _fail_fast_on_connect(
                        getattr(GCSFileSystem, name).__wrapped__, min(attempts, CONNECT_ATTEMPTS)
                    )
                    bound = retry_request(retries=attempts)(plain)
                    setattr(self, name, types.MethodType(bound, self))

        _FS_CLASS = ArtcliGCSFileSystem
    return _FS_CLASS


def _timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class GcsStore(FsspecStore):
    """Objects under ``bucket/prefix``; JSON API calls go through gcsfs's session and retries."""

    networked = True

    atomic_create = True

    def __init__(self, fs: Any, bucket: str, prefix: str, url: str) -> None:
        self.bucket = bucket
        self.key_prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        super().__init__(fs, f"{bucket}/{self.key_prefix}".rstrip("/"), url)
        self._root_ok = False

    def _gcskey(self, path: str) -> str:
        return path[len(self.bucket) + 1 :]

    def _check_root(self) -> None:
        """GCS answers 404 alike for a missing object and a missing bucket: ask once which."""
        if self._root_ok:
            return
        try:
            self.fs.call("GET", "b/{}", self.bucket, json_out=True)
        except FileNotFoundError as exc:
            raise RemoteError(f"bucket {self.bucket!r} does not exist ({self.url})") from exc
        except Exception:  # 403 and the like: we cannot tell, let the original error stand
            return
        self._root_ok = True

    def _head(self, path: str, key: str) -> ObjectInfo:
        meta = self.fs.call("GET", "b/{}/o/{}", self.bucket, self._gcskey(path), json_out=True)
        return ObjectInfo(key=key, size=int(meta.get("size") or 0), mtime=_timestamp(meta.get("updated")))

    def _open_kwargs(self) -> dict[str, Any]:
        return {"block_size": CHUNK}

    def _get_file_kwargs(self, n_files: int) -> dict[str, Any]:
        # gcsfs's in-file concurrency first fetches metadata per file; with several files in
        # flight, parallelism across files is enough
        return {"concurrency": 1} if n_files >= 4 else {}

    def _put_file_kwargs(self, n_files: int) -> dict[str, Any]:
        return {"chunksize": CHUNK}

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Object-list pages with ``startOffset`` (inclusive, so the start key itself is dropped)."""
        check_prefix(prefix)
        params: dict[str, Any] = {
            "prefix": self.key_prefix + prefix or None,
            "maxResults": self.list_page_size,
            "fields": "items(name,size,updated),nextPageToken",
        }
        after = self.key_prefix + start_after if start_after else None
        if after:
            params["startOffset"] = after
        cut = len(self.key_prefix)
        while True:
            with self.guard(prefix):
                page = self.fs.call("GET", "b/{}/o", self.bucket, json_out=True, **params)
            for item in page.get("items") or ():
                name = item["name"]
                if (after and name <= after) or name.endswith("/"):
                    continue
                yield ObjectInfo(key=name[cut:], size=int(item.get("size") or 0), mtime=_timestamp(item.get("updated")))
            token = page.get("nextPageToken")
            if not token:
                return
            params["pageToken"] = token

    def list_dirs(self, prefix: str) -> Iterator[str]:
        """Object-list pages with ``delimiter="/"``: one entry per folder."""
        check_prefix(prefix)
        params: dict[str, Any] = {"prefix": self.key_prefix + prefix, "delimiter": "/",
                                  "maxResults": self.list_page_size, "fields": "prefixes,nextPageToken"}
        cut = len(self.key_prefix + prefix)
        while True:
            with self.guard(prefix):
                page = self.fs.call("GET", "b/{}/o", self.bucket, json_out=True, **params)
            for common in page.get("prefixes") or ():
                name = common[cut:].rstrip("/")
                if name:
                    yield name
            token = page.get("nextPageToken")
            if not token:
                return
            params["pageToken"] = token

    conditional_delete = True

    def version_tag(self, key: str) -> str:
        path = self._path(key)
        with self.guard(key):
            meta = self.fs.call("GET", "b/{}/o/{}", self.bucket, self._gcskey(path), json_out=True)
        return str(meta["generation"])

    def delete_if_unchanged(self, key: str, tag: str) -> bool:
        """Delete with ``ifGenerationMatch=<generation>``: 412 (changed) or 404 (gone) → False."""
        path = self._path(key)
        try:
            with self.guard(key):
                self.fs.call("DELETE", "b/{}/o/{}", self.bucket, self._gcskey(path), ifGenerationMatch=tag)
        except (NotFoundError, ConflictError):
            return False
        return True

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """A simple upload with ``ifGenerationMatch=0``; 412 → False (unless the bytes are ours)."""
        path = self._path(key)
        if len(data) > MAX_CREATE_SIZE:
            raise UnsafeRemoteError(
                f"exclusive create on gs:// is limited to {MAX_CREATE_SIZE // 2**20} MiB "
                f"({len(data)} bytes for {self.public_url(key)})"
            )
        try:
            # chunksize above the size keeps gcsfs on the single-request upload
            self.fs.pipe_file(path, data, mode="create", chunksize=MAX_CREATE_SIZE + 1)
            return True
        except FileExistsError:
            with self.guard(key):
                return self._same_bytes(path, data)
        except Exception:
            with self.guard(key):
                raise


@dataclass(frozen=True)
class GcsSettings:
    """A ``gs://`` remote's options, read strictly (see :func:`read_gcs_options`)."""

    endpoint_url: str | None = None
    project: str | None = None
    token: str | None = None
    max_attempts: int | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None


def read_gcs_options(options: Mapping[str, str] | None) -> GcsSettings:
    """Options; an unknown one is a UsageError:

    ``endpoint_url``     e.g. an emulator; STORAGE_EMULATOR_HOST is honoured too
    ``project``          GCP project (only needed to create/list buckets)
    ``token``            gcsfs token: ``anon``, ``google_default``, ``cloud`` or a service-account
                         JSON path. Default: ``anon`` when an emulator/endpoint is set, else gcsfs's
                         credential discovery
    ``max_attempts``     attempts per request for 429/5xx answers (default 6, ~30 s of back-off);
                         1 = fail fast. A connection that cannot be made gets at most 3 quick attempts
    ``connect_timeout``  seconds to connect, ``read_timeout`` seconds between bytes
    """
    opts = OptionReader(options, scheme="gs")
    settings = GcsSettings(
        endpoint_url=opts.get_url("endpoint_url"),
        project=opts.get_str("project"),
        token=opts.get_str("token"),
        max_attempts=opts.get_int("max_attempts", minimum=1),
        connect_timeout=opts.get_float("connect_timeout", minimum=0.01),
        read_timeout=opts.get_float("read_timeout", minimum=0.01),
    )
    opts.done()
    return settings


def make_gcs_filesystem(options: Mapping[str, str] | None, url: str) -> Any:
    """The gcsfs filesystem every GCS client of artcli uses (store and sources): fail-fast
    connection retries, timeouts, no instance or listing cache, anonymous against an emulator."""
    s = read_gcs_options(options)
    token = s.token
    if token is None and (s.endpoint_url or os.environ.get("STORAGE_EMULATOR_HOST", "") not in ("", "default")):
        token = "anon"
    cls = _gcs_class()
    kwargs: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if s.endpoint_url:
        kwargs["endpoint_url"] = s.endpoint_url.rstrip("/")
    if s.project:
        kwargs["project"] = s.project
    if token is not None:
        kwargs["token"] = token
    if s.max_attempts is not None:
        kwargs["max_attempts"] = s.max_attempts
    if s.connect_timeout is not None or s.read_timeout is not None:
        import aiohttp

        kwargs["requests_timeout"] = aiohttp.ClientTimeout(
            total=None, sock_connect=s.connect_timeout, sock_read=s.read_timeout
        )
    with translate(url):
        return cls(**kwargs)


def open_gcs(bucket: str, prefix: str, url: str, options: Mapping[str, str]) -> GcsStore:
    """Build the gcsfs filesystem for one store (options: :func:`read_gcs_options`)."""
    store = GcsStore(make_gcs_filesystem(options, url), bucket, prefix, url)
    emulator = os.environ.get("STORAGE_EMULATOR_HOST", "")
    store.endpoint = bare_endpoint(read_gcs_options(options).endpoint_url
                                   or (emulator if emulator not in ("", "default") else None))
    return store
