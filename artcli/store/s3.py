"""``s3://bucket/prefix`` stores through s3fs, with S3's own conditional write for put_if_absent.

Listing and HEAD go straight to the S3 API (through s3fs's client and retry wrapper) because
s3fs's ``info``/``find`` fall back to directory emulation and listing caches, which cost extra
requests and can hide fresh objects; ``list_objects_v2`` also gives us ``StartAfter``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from artcli.errors import RemoteError
from artcli.store.base import ObjectInfo, bare_endpoint
from artcli.store.errors import downloading_into, has_code, translate
from artcli.store.fsspec_store import FsspecStore
from artcli.store.keys import check_prefix
from artcli.store.options import OptionReader

#: multipart part size for uploads and range size for big downloads. s3fs reads
#: ``max_concurrency * chunksize`` bytes per file in flight (and a whole file below 2 chunks),
#: so this bounds memory: at most batch_size * max(2, per-file concurrency) * 8 MiB.
CHUNK = 8 * 2**20
#: bytes asked for per read of a streamed, hashed download
STREAM_READ = 1 << 18
#: total connections one batch aims for: files in flight x parts per file
_CONNECTIONS = 16

# Retry policy when the remote sets no ``max_attempts`` (see docs/reliability.md). Two layers
# retry: botocore ("standard" mode: connection errors, 5xx, throttling, with jittered back-off)
# and s3fs around each botocore call. A dead endpoint must fail in seconds, not a minute, so
# botocore gets 3 quick attempts and s3fs does not retry connection failures at all; answers
# from a live but overloaded server (503 SlowDown, 500, 429) are retried by both layers.
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
#: S3 error codes / HTTP statuses meaning "the server is there but cannot answer now"
_TRANSIENT_CODES = (
    "SlowDown",
    "InternalError",
    "ServiceUnavailable",
    "RequestTimeout",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequests",
    "TooManyRequestsException",
    "BandwidthLimitExceeded",
    "500",
    "502",
    "503",
    "504",
    "429",
)


def _server_side_transient(exc: BaseException) -> bool:
    """s3fs's hook: retry 5xx and throttling answers (it already retries SlowDown by message).

    Connection failures are deliberately not retried at this layer: botocore's own attempts
    cover a blip, and a server that is gone should be reported in seconds.
    """
    return has_code(exc, *_TRANSIENT_CODES)


class S3Store(FsspecStore):
    """Objects under ``bucket/prefix``; every method translates botocore errors."""

    networked = True

    atomic_create = True

    def __init__(self, fs: Any, bucket: str, prefix: str, url: str) -> None:
        self.bucket = bucket
        self.key_prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        super().__init__(fs, f"{bucket}/{self.key_prefix}".rstrip("/"), url)
        self._root_ok = False

    def _s3key(self, path: str) -> str:
        return path[len(self.bucket) + 1 :]

    def _check_root(self) -> None:
        """One HEAD on the bucket after the first "not found": a missing bucket is a RemoteError."""
        if self._root_ok:
            return
        try:
            self.fs.call_s3("head_bucket", Bucket=self.bucket)
        except FileNotFoundError as exc:
            raise RemoteError(f"bucket {self.bucket!r} does not exist ({self.url})") from exc
        except Exception:  # 403 and the like: we cannot tell, let the original error stand
            return
        self._root_ok = True

    def _cat_whole(self, path: str) -> bytes:
        # max_concurrency=1: one GET; otherwise s3fs first HEADs every object for its size
        return self.fs.cat_file(path, max_concurrency=1)

    def _head(self, path: str, key: str) -> ObjectInfo:
        r = self.fs.call_s3("head_object", Bucket=self.bucket, Key=self._s3key(path))
        modified = r.get("LastModified")
        return ObjectInfo(key=key, size=int(r["ContentLength"]), mtime=modified.timestamp() if modified else None)

    def _per_file_concurrency(self, n_files: int) -> int:
        return max(1, _CONNECTIONS // max(1, min(n_files, self.batch_size)))

    def _open_kwargs(self) -> dict[str, Any]:
        return {"block_size": CHUNK}  # s3fs reads ahead 50 MiB blocks by default

    def _get_file_kwargs(self, n_files: int) -> dict[str, Any]:
        # One streaming GET per object: constant memory, and S3 servers that cost per range
        # request in proportion to the object (moto: 0.2 s per 1 MiB range of a 256 MiB
        # object) are not hammered. Parallelism comes from several objects at once.
        return {"chunksize": CHUNK, "max_concurrency": 1}

    def get_files_hashed(self, jobs: Sequence[tuple[str, str, int | None]],
                         done: Callable[[int, str], object] | None = None) -> list[str]:
        """One streaming GET per object (as :meth:`get_files`), each chunk hashed as it is written:
        verified without reading the file back. A broken read resumes with a ``Range`` from where
        it stopped, as s3fs does. Each file is renamed into place, and ``done`` told, once complete."""
        if not jobs:
            return []
        from s3fs.core import S3_RETRYABLE_ERRORS

        from artcli.hashing import new_hasher
        tag = uuid.uuid4().hex[:8]
        tmps = [f"{dst}.artcli-part-{tag}-{i}" for i, (_key, dst, _size) in enumerate(jobs)]

        async def one(i: int, key: str, tmp: str, dst: str, size: int | None) -> str:
            h = new_hasher()  # one thread: a 256 KiB piece is too small to share out
            got = failures = 0
            with open(tmp, "wb") as fh:
                while True:
                    extra = {"Range": f"bytes={got}-"} if got else {}
                    resp = await self.fs._call_s3("get_object", Bucket=self.bucket, Key=self.key_prefix + key, **extra)
                    body = resp["Body"]
                    try:
                        while chunk := await body.read(STREAM_READ):
                            h.update(chunk)
                            fh.write(chunk)
                            got += len(chunk)
                        break
                    except S3_RETRYABLE_ERRORS:
                        failures += 1
                        if failures >= 3:
                            raise
                    finally:
                        body.close()
            os.replace(tmp, dst)
            if done is not None:
                done(i, h.hexdigest())
            return str(h.hexdigest())

        try:
            for _key, dst, _size in jobs:
                os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
            with downloading_into(os.path.dirname(os.path.abspath(jobs[0][1]))):  # a full disk is the local one
                calls = [(key, one, (i, key, tmps[i], dst, size), {}) for i, (key, dst, size) in enumerate(jobs)]
                digests = [str(d) for d in self._batch(calls)]  # type: ignore[arg-type]
        except BaseException:
            for tmp in tmps:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
            raise
        return digests

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
            with self._guard(prefix):
                page = self.fs.call_s3("list_objects_v2", **kwargs)
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
            with self._guard(prefix):
                page = self.fs.call_s3("list_objects_v2", **kwargs)
            for common in page.get("CommonPrefixes") or ():
                name = common["Prefix"][cut:].rstrip("/")
                if name:
                    yield name
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            kwargs["ContinuationToken"] = token

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """``PutObject`` with ``If-None-Match: *`` (s3fs ``mode="create"``, multipart too).

        412 means another writer's object is there (False, unless it holds exactly our bytes).
        409 ConditionalRequestConflict means a concurrent conditional write to this key is still
        in flight: retry shortly, it resolves to a 412 or to our win.
        """
        path = self._path(key)
        delay = 0.02
        for _attempt in range(12):
            try:
                self.fs.pipe_file(path, data, mode="create")
                return True
            except FileExistsError:
                with self._guard(key):
                    return self._same_bytes(path, data)
            except Exception as exc:
                if not has_code(exc, "ConditionalRequestConflict", "409"):
                    with self._guard(key):
                        raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 1.0)
        raise RemoteError(f"write race on {self.public_url(key)} did not settle (409 ConditionalRequestConflict)")

    conditional_delete = True

    def version_tag(self, key: str) -> str:
        path = self._path(key)
        with self._guard(key):
            return str(self.fs.call_s3("head_object", Bucket=self.bucket, Key=self._s3key(path))["ETag"])

    def delete_if_unchanged(self, key: str, tag: str) -> bool:
        """``DeleteObject`` with ``If-Match: <ETag>``: 412 (changed) or 404 (gone) → False."""
        path = self._path(key)
        try:
            self.fs.call_s3("delete_object", Bucket=self.bucket, Key=self._s3key(path), IfMatch=tag)
        except Exception as exc:  # s3fs turns the 412 into a bare OSError: look at its cause
            if has_code(exc, "PreconditionFailed", "412", "NoSuchKey", "404"):
                return False
            with self._guard(key):
                raise
        return True

    def close(self) -> None:
        client = getattr(self.fs, "_s3", None)
        if client is not None:
            try:
                self.fs.close_session(self.fs.loop, client)
            except Exception:  # closing is best effort; the process is usually about to exit
                pass
            self.fs._s3 = None


def _signs_payload(endpoint_url: str | None) -> bool:
    """Whether request bodies are SHA-256-signed: only over plain HTTP to another machine.

    The signed hash exists to catch a body changed on its way. Over HTTPS (the endpoint given,
    else the standard environment variables, else AWS itself) TLS does that. On a loopback
    endpoint (a MinIO or moto beside a CI job) there is nothing to catch: the bytes never leave
    the kernel, which does not even checksum loopback TCP. SHA-256 costs ~0.5 s of CPU per GiB, on the one thread that
    drives every transfer.
    """
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint is None:
        return False
    parts = urlsplit(endpoint.strip())
    if parts.scheme.lower() == "https":
        return False
    return not _is_loopback(parts.hostname or "")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":  # RFC 6761: always the loopback interface
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class S3Settings:
    """An ``s3://`` remote's options, read strictly (see :func:`read_s3_options`)."""

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    anon: bool = False
    addressing_style: str | None = None
    max_attempts: int | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None
    sign_payload: bool = False


def read_s3_options(options: Mapping[str, str] | None) -> S3Settings:
    """Options (all strings, from config or ``--remote-option``); an unknown one is a UsageError.

    ``endpoint_url``     S3-compatible endpoint (MinIO, moto, R2...); AWS_ENDPOINT_URL also works
    ``region``           bucket region (default: the botocore configuration)
    ``profile``          AWS profile name from ~/.aws/config
    ``anon``             true: unsigned requests to a public bucket
    ``addressing_style`` ``path`` or ``virtual``
    ``max_attempts``     attempts per request at each retry layer (botocore and s3fs); 1 = fail fast.
                         Default: 3 botocore attempts, and s3fs's 5 for 5xx/throttling answers only
    ``connect_timeout``  seconds (default 5), ``read_timeout`` seconds between bytes (default 30)
    ``sign_payload``     true/false: SHA-256-sign request bodies. Default: only over plain HTTP
                         to a host other than this one (see ``_signs_payload``)
    """
    opts = OptionReader(options, scheme="s3")
    endpoint_url = opts.get_url("endpoint_url")
    settings = S3Settings(
        endpoint_url=endpoint_url,
        region=opts.get_str("region"),
        profile=opts.get_str("profile"),
        anon=opts.get_bool("anon", False),
        addressing_style=opts.get_choice("addressing_style", ("path", "virtual", "auto")),
        max_attempts=opts.get_int("max_attempts", minimum=1),
        connect_timeout=opts.get_float("connect_timeout", minimum=0.01),
        read_timeout=opts.get_float("read_timeout", minimum=0.01),
        sign_payload=opts.get_bool("sign_payload", _signs_payload(endpoint_url)),
    )
    opts.done()
    return settings


def botocore_config(s: S3Settings) -> dict[str, Any]:
    """The botocore ``Config`` arguments every S3 client of artcli gets (store and sources):
    fail-fast retries, timeouts, checksums only when required, payload signing as decided."""
    config: dict[str, Any] = {}
    if s.addressing_style:
        config["s3"] = {"addressing_style": s.addressing_style}
    config["retries"] = {"total_max_attempts": s.max_attempts or DEFAULT_MAX_ATTEMPTS, "mode": "standard"}
    config["connect_timeout"] = s.connect_timeout if s.connect_timeout is not None else DEFAULT_CONNECT_TIMEOUT
    config["read_timeout"] = s.read_timeout if s.read_timeout is not None else DEFAULT_READ_TIMEOUT
    # artcli verifies every byte with BLAKE3 itself; botocore's default CRC32 on every request
    # body costs CPU and is refused by some S3-compatible servers, so only send it when required
    config["request_checksum_calculation"] = "when_required"
    config["response_checksum_validation"] = "when_required"
    # botocore's own default signs every body over plain HTTP, even to 127.0.0.1
    config.setdefault("s3", {})["payload_signing_enabled"] = s.sign_payload
    return config


def open_s3(bucket: str, prefix: str, url: str, options: Mapping[str, str]) -> S3Store:
    """Build the s3fs filesystem for one store (options: :func:`read_s3_options`)."""
    s = read_s3_options(options)

    import s3fs

    logging.getLogger("s3fs").addHandler(logging.NullHandler())  # no last-resort stderr output
    set_handler = getattr(s3fs.core, "set_custom_error_handler", None)
    if set_handler is not None:  # process-wide in s3fs; the same policy for every S3 store
        set_handler(_server_side_transient)

    client_kwargs: dict[str, Any] = {}
    if s.region:
        client_kwargs["region_name"] = s.region
    extra: dict[str, Any] = {"profile": s.profile} if s.profile else {}
    with translate(url):
        fs = s3fs.S3FileSystem(
            anon=s.anon,
            endpoint_url=s.endpoint_url,
            client_kwargs=client_kwargs,
            config_kwargs=botocore_config(s),
            # a fresh instance per store: fsspec's instance cache keys on arguments only, so two
            # stores with the same options but different environments (endpoint, credentials)
            # would otherwise share one client
            skip_instance_cache=True,
            use_listings_cache=False,
            **extra,
        )
    if s.max_attempts is not None:
        fs.retries = s.max_attempts
    store = S3Store(fs, bucket, prefix, url)
    store.endpoint = bare_endpoint(s.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
                                   or os.environ.get("AWS_ENDPOINT_URL"))
    return store
