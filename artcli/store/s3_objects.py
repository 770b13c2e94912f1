"""Object reads on anybody's S3 bucket, for reference sources (``artcli/sources/s3.py``).

The client is built from the same strictly read options (:func:`artcli.store.s3.read_s3_options`)
and the same botocore configuration (:func:`artcli.store.s3.botocore_config`: fail-fast
retries, timeouts, checksums only when required, payload signing) as an ``s3://`` store. It is
a plain boto3 client rather than the store's s3fs one because sources need conditional GETs
(``If-Match``), version ids and per-part HEADs, streamed synchronously on a worker thread.

Every call is translated here (:func:`artcli.store.errors.translate`): callers see only
:mod:`artcli.errors` classes — :class:`NotFoundError` for a missing key or version,
:class:`PreconditionFailed` when an ``If-Match`` no longer holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from artcli.errors import ConflictError, NotFoundError, RemoteError
from artcli.store.errors import has_code, translate
from artcli.store.s3_client import shared_loader
from artcli.store.s3_settings import botocore_config, read_s3_options

#: connections the client keeps: reference downloads fetch on 8 threads
MAX_POOL_CONNECTIONS = 16
_MISSING = ("NoSuchKey", "NoSuchVersion", "404", "NotFound")


class PreconditionFailed(ConflictError):
    """``If-Match`` failed: the object is no longer the recorded one."""


def make_s3_client(options: Mapping[str, str] | None) -> Any:
    """A thread-safe boto3 S3 client configured as an ``s3://`` store with these options is."""
    s = read_s3_options(options)
    import boto3
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config

    config = {**botocore_config(s), "max_pool_connections": MAX_POOL_CONNECTIONS}
    if s.anon:
        config["signature_version"] = UNSIGNED
    with translate("s3://"):
        core = botocore.session.get_session()  # fresh: credentials and env are read now
        core.register_component("data_loader", shared_loader())  # models parsed once a process
        session = boto3.session.Session(botocore_session=core, profile_name=s.profile)
        return session.client("s3", endpoint_url=s.endpoint_url, region_name=s.region, config=Config(**config))


def _missing_or_changed(exc: RemoteError | NotFoundError | ConflictError, uri: str) -> Exception:
    cause = exc.__cause__
    if cause is not None and has_code(cause, "PreconditionFailed", "412"):
        return PreconditionFailed(f"{uri}: the object is no longer the recorded one")
    if isinstance(exc, NotFoundError) or (cause is not None and has_code(cause, *_MISSING)):
        return NotFoundError(f"not found: {uri}")
    return exc


class _Stream:
    """An object's bytes as they arrive (errors translated); closing releases the connection."""

    def __init__(self, body: Any, uri: str, chunk: int) -> None:
        self._body, self._uri, self._chunk = body, uri, chunk

    def __iter__(self) -> Iterator[bytes]:
        try:
            with translate(self._uri):
                yield from self._body.iter_chunks(self._chunk)
        finally:
            self.close()

    def close(self) -> None:
        self._body.close()


class S3Objects:
    """Translated reads of objects in any bucket the credentials reach."""

    def __init__(self, options: Mapping[str, str] | None) -> None:
        self._client = make_s3_client(options)

    def head(self, bucket: str, key: str, uri: str) -> dict[str, Any] | None:
        """``HEAD`` the object: its metadata (ETag, VersionId, ContentLength), or None."""
        try:
            with translate(uri):
                return dict(self._client.head_object(Bucket=bucket, Key=key))
        except (NotFoundError, RemoteError) as exc:
            if isinstance(_missing_or_changed(exc, uri), NotFoundError):
                return None
            raise

    def versioned(self, bucket: str, uri: str) -> bool:
        """True when the bucket keeps versions (Enabled or Suspended); False when we may not ask."""
        try:
            with translate(uri):
                status = self._client.get_bucket_versioning(Bucket=bucket).get("Status")
        except RemoteError as exc:
            if exc.__cause__ is not None and has_code(exc.__cause__, "AccessDenied", "403", "NotImplemented", "501"):
                return False
            raise
        return status in ("Enabled", "Suspended")

    def objects(self, bucket: str, prefix: str, versioned: bool, uri: str, page_size: int) -> Iterator[dict[str, Any]]:
        """The current objects under ``prefix``, in key order, one page in memory at a time;
        in a versioned bucket with their ``VersionId`` (keys whose latest is a delete marker drop out)."""
        with translate(uri):
            if versioned:
                pager = self._client.get_paginator("list_object_versions")
                for page in pager.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}):
                    for v in page.get("Versions") or ():
                        if v.get("IsLatest"):
                            yield v
                return
            pager = self._client.get_paginator("list_objects_v2")
            for page in pager.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}):
                yield from page.get("Contents") or ()

    def part_sizes(self, bucket: str, key: str, version_id: str | None, count: int, uri: str) -> list[int] | None:
        """The size of each part of a multipart object, or None when the server will not say."""
        sizes = []
        kw: dict[str, Any] = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        for i in range(1, count + 1):
            try:
                with translate(uri):
                    head = self._client.head_object(**kw, PartNumber=i)
            except (NotFoundError, RemoteError) as exc:
                err = _missing_or_changed(exc, uri)
                if isinstance(err, NotFoundError):
                    raise err from None
                return None
            if int(head.get("PartsCount") or count) != count:
                return None
            sizes.append(int(head["ContentLength"]))
        return sizes

    def get(self, bucket: str, key: str, uri: str, *, version_id: str | None = None, if_match: str | None = None,
            chunk: int = 1 << 20) -> tuple[dict[str, Any], _Stream]:
        """``GET`` the object: its response metadata and its bytes, streamed. Raises
        NotFoundError (key or version gone) or PreconditionFailed (``If-Match`` failed)."""
        kw: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kw["VersionId"] = version_id
        if if_match:
            kw["IfMatch"] = if_match
        try:
            with translate(uri):
                resp = self._client.get_object(**kw)
        except (NotFoundError, RemoteError, ConflictError) as exc:
            raise _missing_or_changed(exc, uri) from None
        return resp, _Stream(resp.pop("Body"), uri, chunk)

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # best effort at exit
            pass
