"""An ``s3://`` remote's options, read strictly, and the botocore configuration every S3 client
of artcli gets (the store's two clients and the reference sources' one)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from artcli.store.options import OptionReader

# Retry policy when the remote sets no ``max_attempts`` (see docs/reliability.md). Two layers
# retry: botocore ("standard" mode: connection errors, 5xx, throttling, with jittered back-off)
# and s3fs (or artcli.store.s3_client, its twin) around each botocore call. A dead endpoint
# must fail in seconds, not a minute, so botocore gets 3 quick attempts and the outer layer
# does not retry connection failures at all; answers from a live but overloaded server (503
# SlowDown, 500, 429) are retried by both layers.
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0


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
