"""The Azure Blob client builder, shared by ``az://`` stores and ``az://`` reference sources.

:func:`service_client` builds the SDK's ``BlobServiceClient`` — async for stores (under adlfs),
sync for sources — from non-secret options and the standard credential chain, with artcli's
retry policy and timeouts. Nothing here is imported at start-up; the Azure SDK only inside
the functions.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from artcli.errors import UsageError
from artcli.store.errors import translate
from artcli.store.options import OptionReader

#: block size for uploads, single-request threshold, and download chunk: bounds memory per file
CHUNK = 8 * 2**20

# Retry policy (see docs/reliability.md): the SDK's default waits 15 s, then 18 s, 24 s...
# between attempts, so a stopped server took over a minute to report. Here answers from a live
# but busy server (5xx, throttling) get DEFAULT_MAX_ATTEMPTS attempts with about 0.5, 1, 2, 4 s
# of jittered back-off, and a connection that cannot be made at most CONNECT_ATTEMPTS, 0.1 s apart.
DEFAULT_MAX_ATTEMPTS = 5
CONNECT_ATTEMPTS = 3
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0

_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")

#: what the environment may hold, by the names the Azure CLI and adlfs read
ENV_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
ENV_ACCOUNT = ("AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT")
ENV_KEY = ("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY")
ENV_SAS = ("AZURE_STORAGE_SAS_TOKEN",)


@dataclass(frozen=True)
class AzureSettings:
    """Non-secret settings of one Azure account, from remote options (strings)."""

    account_name: str | None = None
    account_url: str | None = None
    anon: bool = False
    max_attempts: int | None = None
    connect_timeout: float | None = None
    read_timeout: float | None = None


def read_azure_options(options: Mapping[str, str] | None) -> AzureSettings:
    """Options (strings, from config or ``--option``); an unknown one is a UsageError."""
    opts = OptionReader(options, scheme="az")
    settings = read_settings(opts)
    opts.done()
    return settings


def read_settings(opts: OptionReader) -> AzureSettings:
    """Pop the Azure options out of ``opts`` (the caller calls ``opts.done()``).

    ``account_name``     storage account (else the connection string's, or AZURE_STORAGE_ACCOUNT_NAME)
    ``account_url``      blob endpoint, e.g. ``http://127.0.0.1:10000/devstoreaccount1`` for Azurite
                         or a sovereign-cloud / private endpoint (default ``https://NAME.blob.core.windows.net``)
    ``anon``             true: anonymous requests to a public container
    ``max_attempts``     attempts per request for 5xx/throttling answers (default 5); 1 = fail fast.
                         A connection that cannot be made gets at most 3 quick attempts
    ``connect_timeout``  seconds (default 5), ``read_timeout`` seconds between bytes (default 30)
    """
    account = opts.get_str("account_name")
    if account is not None and not _ACCOUNT.match(account):
        raise UsageError(f"invalid Azure storage account name {account!r} (3-24 lowercase letters and digits)")
    account_url = opts.get_str("account_url")
    if account_url is not None and not re.match(r"^https?://[^\s?#@]+$", account_url):
        raise UsageError("remote option account_url must be an http(s):// URL without credentials or query")
    return AzureSettings(
        account_name=account,
        account_url=account_url.rstrip("/") if account_url else None,
        anon=opts.get_bool("anon", False),
        max_attempts=opts.get_int("max_attempts", minimum=1),
        connect_timeout=opts.get_float("connect_timeout", minimum=0.01),
        read_timeout=opts.get_float("read_timeout", minimum=0.01),
    )


def _env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _retry_policy(attempts: int, asynchronous: bool) -> Any:
    """The SDK's exponential policy with artcli's back-off (see DEFAULT_MAX_ATTEMPTS)."""
    if asynchronous:
        from azure.storage.blob.aio import ExponentialRetry
    else:
        from azure.storage.blob import ExponentialRetry
    from azure.core.exceptions import ServiceRequestError

    class Retry(ExponentialRetry):  # type: ignore[misc,valid-type]
        def get_backoff_time(self, settings: dict[str, Any]) -> float:
            history = settings.get("history") or ()
            refused = bool(history) and isinstance(getattr(history[-1], "error", None), ServiceRequestError)
            step = (0.1 if refused else 0.5) * 2 ** max(0, settings["count"] - 1)
            return random.uniform(0.5, 1.0) * min(8.0, step)

    return Retry(
        retry_total=attempts - 1,
        retry_connect=min(attempts, CONNECT_ATTEMPTS) - 1,
        retry_read=attempts - 1,
        retry_status=attempts - 1,
    )


def _client_kwargs(settings: AzureSettings, asynchronous: bool) -> dict[str, Any]:
    return {
        "retry_policy": _retry_policy(settings.max_attempts or DEFAULT_MAX_ATTEMPTS, asynchronous),
        "connection_timeout": settings.connect_timeout or DEFAULT_CONNECT_TIMEOUT,
        "read_timeout": settings.read_timeout or DEFAULT_READ_TIMEOUT,
        "max_single_put_size": CHUNK,
        "max_block_size": CHUNK,
        "max_single_get_size": CHUNK,
        "max_chunk_get_size": CHUNK,
    }


def _account_of(url: str) -> str:
    """The account an endpoint names: path-style (emulators) or the first host label."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    path = parts.path.strip("/")
    return path.split("/")[0] if path else (parts.hostname or "").split(".")[0]


def _use_connection_string(settings: AzureSettings) -> str | None:
    """The environment's connection string, unless the options name the account themselves."""
    conn = os.environ.get(ENV_CONNECTION_STRING, "").strip()
    if settings.anon or settings.account_name or settings.account_url:
        return None
    return conn or None


def credential_source(settings: AzureSettings) -> str:
    """Which link of the chain :func:`service_client` uses (for messages; never the secret)."""
    if settings.anon:
        return "anonymous"
    if _use_connection_string(settings):
        return ENV_CONNECTION_STRING
    if _env(ENV_KEY):
        return "account key from the environment"
    if _env(ENV_SAS):
        return "SAS token from the environment"
    return "DefaultAzureCredential"


def service_client(settings: AzureSettings, *, asynchronous: bool) -> tuple[Any, Any]:
    """A ``BlobServiceClient`` (async for stores, sync for sources) and the credential to close.

    Credentials come only from the standard chain, never from options. Without account
    options, ``AZURE_STORAGE_CONNECTION_STRING`` names the account and its key or SAS. With
    ``account_name`` / ``account_url`` (or with ``AZURE_STORAGE_ACCOUNT_NAME`` and no
    connection string), the credential is an account key (``AZURE_STORAGE_ACCOUNT_KEY`` or
    ``AZURE_STORAGE_KEY``), else a SAS token (``AZURE_STORAGE_SAS_TOKEN``), else
    ``DefaultAzureCredential`` (environment service principal, workload or managed identity,
    Azure CLI login...). ``anon=true`` sends no credential.
    """
    if asynchronous:
        from azure.storage.blob.aio import BlobServiceClient
    else:
        from azure.storage.blob import BlobServiceClient
    logging.getLogger("azure").addHandler(logging.NullHandler())  # no last-resort stderr output
    kwargs = _client_kwargs(settings, asynchronous)
    conn = _use_connection_string(settings)
    if conn:
        try:
            return BlobServiceClient.from_connection_string(conn, **kwargs), None
        except ValueError:  # the SDK's message may quote the string: never show it
            raise UsageError(f"{ENV_CONNECTION_STRING} is not a valid Azure Storage connection string") from None
    account = settings.account_name or _env(ENV_ACCOUNT)
    url = settings.account_url or (f"https://{account}.blob.core.windows.net" if account else None)
    if url is None:
        raise UsageError(
            "no Azure storage account: set the remote option account_name (or account_url), "
            f"AZURE_STORAGE_ACCOUNT_NAME or {ENV_CONNECTION_STRING}"
        )
    credential: Any = None
    owned: Any = None
    if not settings.anon:
        key, sas = _env(ENV_KEY), _env(ENV_SAS)
        if key:
            credential = {"account_name": account or _account_of(url), "account_key": key}
        elif sas:
            from azure.core.credentials import AzureSasCredential

            credential = AzureSasCredential(sas.lstrip("?"))
        else:
            if not url.lower().startswith("https://"):
                raise UsageError(
                    f"an identity (DefaultAzureCredential) needs an https:// endpoint, not {url}: for an "
                    "emulator, set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_KEY"
                )
            if asynchronous:
                from azure.identity.aio import DefaultAzureCredential
            else:
                from azure.identity import DefaultAzureCredential
            credential = owned = DefaultAzureCredential()
    with translate("az://"):
        return BlobServiceClient(account_url=url, credential=credential, **kwargs), owned
