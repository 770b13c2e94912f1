"""The ``s3://`` store's blocking botocore client, for every operation that is one request.

A warm read makes two requests (GET the marker, LIST the events after the cached end). Sent
through s3fs, they first cost importing fsspec, aiohttp, aiobotocore and s3fs and building an
aiobotocore client: ~0.4 s of CPU and ~16 MiB, more than folding a 100,000-event log. This
client (botocore alone, no boto3) sends the same requests for about half of that, so s3fs is
imported only when a command moves files (batches, streams, uploads: :mod:`artcli.store.s3`).

Both clients get the same botocore configuration (:func:`artcli.store.s3.botocore_config`) and
the same retry policy (docs/reliability.md): botocore's own attempts, then, like s3fs's layer
around each call, up to ``retries`` more for answers from a live but overloaded server (503
SlowDown, 500, 429...) and for answers cut off in the middle, never for a connection refused.
Both share one botocore data loader per process, so a command that needs both parses the
service model once.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from artcli.store.errors import has_code

#: attempts of the s3fs-like layer when the remote sets no ``max_attempts`` (s3fs's default)
DEFAULT_RETRIES = 5
#: connections the client keeps: log's threads write events and leases at once
MAX_POOL_CONNECTIONS = 16
#: exceptions (by class name, so botocore need not be imported) meaning "the answer broke off":
#: the ones s3fs retries (``S3_RETRYABLE_ERRORS``), as botocore's blocking client raises them
_CUT_OFF = frozenset({"HTTPClientError", "IncompleteReadError", "ResponseParserError", "IncompleteRead",
                      "ResponseStreamingError", "ReadTimeoutError", "timeout"})
_SLOW_DOWN = ("SlowDown", "reduce your request rate", "XAmzContentSHA256Mismatch")
#: S3 error codes / HTTP statuses meaning "the server is there but cannot answer now"
TRANSIENT_CODES = (
    "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling", "ThrottlingException",
    "RequestLimitExceeded", "TooManyRequests", "TooManyRequestsException", "BandwidthLimitExceeded",
    "500", "502", "503", "504", "429",
)

_LOADER: Any = None
_LOADER_LOCK = threading.Lock()


def shared_loader() -> Any:
    """One botocore data loader per process: it caches the (static) service models, which
    otherwise cost ~50-120 ms per client; sessions and credentials stay per client."""
    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            import botocore.loaders

            _LOADER = botocore.loaders.create_loader()
        return _LOADER


def server_side_transient(exc: BaseException) -> bool:
    """5xx and throttling answers (s3fs's custom error handler; it retries SlowDown by message).

    Connection failures are deliberately not retried at this layer: botocore's own attempts
    cover a blip, and a server that is gone should be reported in seconds.
    """
    return has_code(exc, *TRANSIENT_CODES)


def retryable(exc: BaseException) -> bool:
    """What s3fs's layer retries: a cut-off answer, or a live server saying "not now"."""
    if {cls.__name__ for cls in type(exc).__mro__} & _CUT_OFF:
        return True
    return any(p in str(exc) for p in _SLOW_DOWN) or server_side_transient(exc)


def backoff(attempt: int) -> float:
    """s3fs's wait before attempt ``attempt + 1``."""
    return float(min(1.7**attempt * 0.1, 15))


class S3Client:
    """A thread-safe botocore S3 client, built at the first request."""

    def __init__(self, config: dict[str, Any], *, endpoint_url: str | None = None, region: str | None = None,
                 profile: str | None = None, anon: bool = False, retries: int | None = None) -> None:
        """``config``: botocore ``Config`` arguments (:func:`artcli.store.s3.botocore_config`)."""
        self._config = {**config, "max_pool_connections": MAX_POOL_CONNECTIONS}
        self._endpoint_url, self._region, self._profile, self._anon = endpoint_url, region, profile, anon
        self.retries = retries or DEFAULT_RETRIES
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
        return self._client

    def _make(self) -> Any:
        import botocore.session
        from botocore import UNSIGNED
        from botocore.config import Config

        config = dict(self._config)
        if self._anon:
            config["signature_version"] = UNSIGNED
        session = botocore.session.Session(profile=self._profile)  # fresh: credentials and env are read now
        session.register_component("data_loader", shared_loader())
        session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
        return session.create_client("s3", endpoint_url=self._endpoint_url, region_name=self._region,
                                     config=Config(**config))

    def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One API call (``list_objects_v2``, ``head_object``, ``put_object``...), retried as s3fs would."""
        return self._retrying(lambda: getattr(self.client, operation)(**kwargs))

    def read(self, **kwargs: Any) -> bytes:
        """``get_object`` and its whole body; a body cut off is asked for again."""
        def once() -> bytes:
            body = self.client.get_object(**kwargs)["Body"]
            try:
                return bytes(body.read())
            finally:
                body.close()

        return self._retrying(once)

    def _retrying(self, fn: Any) -> Any:
        for attempt in range(self.retries):
            try:
                return fn()
            except Exception as exc:
                if attempt + 1 >= self.retries or not retryable(exc):
                    raise
            time.sleep(backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # best effort: the process is usually about to exit
                pass


def parse_timestamp(value: Any) -> datetime:
    """A time in an S3 answer. A listing's ``LastModified`` (ISO 8601) is parsed with the
    standard library: botocore's default goes through dateutil, ~0.2 ms a key, 0.2 s of CPU
    for one page of 1,000 keys (a cold ``show`` lists one). Other forms (a HEAD's RFC 1123
    date, epoch seconds) go to botocore's own parser, so every time means what it did."""
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            dt = None
        if dt is not None and dt.tzinfo is not None:
            return dt
    from botocore.utils import parse_timestamp as botocore_parse

    return botocore_parse(value)  # type: ignore[no-any-return]
