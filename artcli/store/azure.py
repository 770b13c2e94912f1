"""``az://container/prefix`` stores through adlfs, with ``If-None-Match: *`` for put_if_absent.

Transfers (batches of whole files, ranges, streaming reads) go through adlfs's async
primitives like every fsspec backend; HEAD, LIST and the container check go straight to the
Azure SDK client adlfs wraps, because adlfs's ``info``/``find`` fall back to directory
emulation (an extra LIST per missing object) and cache listings across writers.

The SDK client is built here, once, by :func:`service_client` — for remotes (async, under
adlfs) and for ``az://`` reference sources (sync) alike — so both use the same credential
chain, retry policy and timeouts. adlfs and the Azure SDK are imported only when an
``az://`` remote or source is touched.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from artcli.errors import ConflictError, NotFoundError, RemoteError, UsageError
from artcli.store.base import ObjectInfo
from artcli.store.errors import translate
from artcli.store.fsspec_store import FsspecStore
from artcli.store.keys import check_prefix
from artcli.store.options import OptionReader

#: block size for uploads, single-request threshold, and download chunk: bounds memory per file
CHUNK = 8 * 2**20
#: total connections one batch aims for: files in flight x blocks per file
_CONNECTIONS = 16

# Retry policy (see docs/reliability.md): the SDK's default waits 15 s, then 18 s, 24 s...
# between attempts, so a stopped server took over a minute to report. Here answers from a live
# but busy server (5xx, throttling) get DEFAULT_MAX_ATTEMPTS attempts with about 0.5, 1, 2, 4 s
# of jittered back-off, and a connection that cannot be made at most CONNECT_ATTEMPTS, 0.1 s apart.
DEFAULT_MAX_ATTEMPTS = 5
CONNECT_ATTEMPTS = 3
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0

#: container names: 3-63 of a-z, 0-9 and single hyphens inside; plus the two special ones
CONTAINER = re.compile(r"^(?:\$root|\$web|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$")
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
            if asynchronous:
                from azure.identity.aio import DefaultAzureCredential
            else:
                from azure.identity import DefaultAzureCredential
            credential = owned = DefaultAzureCredential()
    with translate("az://"):
        return BlobServiceClient(account_url=url, credential=credential, **kwargs), owned


_FS_CLASS: type | None = None


def _fs_class() -> type:
    """An AzureBlobFileSystem that uses a client built by :func:`service_client`."""
    global _FS_CLASS
    if _FS_CLASS is None:
        from adlfs import AzureBlobFileSystem

        class ArtcliAzureBlobFileSystem(AzureBlobFileSystem):  # type: ignore[misc,valid-type]
            def __init__(self, *, client: Any, credential: Any, **kwargs: Any) -> None:
                self._artcli_client = client
                # anon=True: adlfs then builds no credential of its own; ours is in the client
                super().__init__(anon=True, **kwargs)
                self.credential = credential

            def do_connect(self) -> None:
                self.service_client = self._artcli_client

        _FS_CLASS = ArtcliAzureBlobFileSystem
    return _FS_CLASS


def _timestamp(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


class AzureStore(FsspecStore):
    """Objects under ``container/prefix`` of one storage account."""

    networked = True
    atomic_create = True
    upload_chunk = CHUNK

    def __init__(self, fs: Any, container: str, prefix: str, url: str) -> None:
        self.container = container
        self.key_prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        super().__init__(fs, f"{container}/{self.key_prefix}".rstrip("/"), url)
        self._root_ok = False
        self._closed = False

    # -- SDK calls on adlfs's event loop -----------------------------------------------------
    def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run an async SDK method on adlfs's loop (where its HTTP session lives)."""
        from fsspec.asyn import sync

        return sync(self.fs.loop, fn, *args, **kwargs)

    def _container_client(self) -> Any:
        return self.fs.service_client.get_container_client(self.container)

    def _blob_name(self, path: str) -> str:
        return path[len(self.container) + 1 :]

    def _check_root(self) -> None:
        """One request after the first "not found": a missing container is a RemoteError."""
        if self._root_ok:
            return
        try:
            self._run(self._container_client().get_container_properties)
        except Exception as exc:
            from artcli.store.errors import has_code

            if has_code(exc, "ContainerNotFound", "404"):
                raise RemoteError(f"container {self.container!r} does not exist ({self.url})") from exc
            return  # 403 and the like: we cannot tell, let the original error stand
        self._root_ok = True

    def _head(self, path: str, key: str) -> ObjectInfo:
        blob = self._container_client().get_blob_client(self._blob_name(path))
        props = self._run(blob.get_blob_properties)
        return ObjectInfo(key=key, size=int(props.size), mtime=_timestamp(props.last_modified))

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """List Blobs pages (flat, in name order); keys up to ``start_after`` are skipped here."""
        check_prefix(prefix)
        after = self.key_prefix + start_after if start_after else ""
        cut = len(self.key_prefix)
        token: str | None = None
        cc = self._container_client()

        async def page(token: str | None) -> tuple[list[Any], str | None]:
            pages = cc.list_blobs(
                name_starts_with=self.key_prefix + prefix or None, results_per_page=self.list_page_size
            ).by_page(continuation_token=token)
            items = [b async for b in await pages.__anext__()]
            return items, pages.continuation_token

        while True:
            with self._guard(prefix):
                items, token = self._run(page, token)
            for b in items:
                name = b.name
                if name <= after or name.endswith("/") or (b.metadata or {}).get("hdi_isfolder") == "true":
                    continue
                yield ObjectInfo(key=name[cut:], size=int(b.size), mtime=_timestamp(b.last_modified))
            if not token:
                return

    # -- adlfs transfer settings -------------------------------------------------------------
    def _per_file_concurrency(self, n_files: int) -> int:
        return max(1, _CONNECTIONS // max(1, min(n_files, self.batch_size)))

    def _cat_whole(self, path: str) -> bytes:
        return self.fs.cat_file(path, max_concurrency=1)

    def _open_kwargs(self) -> dict[str, Any]:
        return {"block_size": CHUNK}

    def _get_file_kwargs(self, n_files: int) -> dict[str, Any]:
        return {"max_concurrency": self._per_file_concurrency(n_files)}

    def _put_file_kwargs(self, n_files: int) -> dict[str, Any]:
        return {"max_concurrency": min(4, self._per_file_concurrency(n_files))}

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Put Blob with ``If-None-Match: *`` (adlfs ``mode="create"``); 409/412 → FileExistsError."""
        path = self._path(key)
        try:
            self.fs.pipe_file(path, data, mode="create", max_concurrency=1)
            return True
        except FileExistsError:
            with self._guard(key):
                return self._same_bytes(path, data)
        except Exception:
            with self._guard(key):
                raise

    conditional_delete = True

    def version_tag(self, key: str) -> str:
        path = self._path(key)
        with self._guard(key):
            props = self._run(self._container_client().get_blob_client(self._blob_name(path)).get_blob_properties)
        return str(props.etag)

    def delete_if_unchanged(self, key: str, tag: str) -> bool:
        """Delete Blob with ``If-Match: <ETag>``: 412 (changed; Azurite also for a missing blob)
        or 404 (gone) → False."""
        from azure.core import MatchConditions

        path = self._path(key)
        blob = self._container_client().get_blob_client(self._blob_name(path))
        try:
            with self._guard(key):
                self._run(blob.delete_blob, etag=tag, match_condition=MatchConditions.IfNotModified)
        except (NotFoundError, ConflictError):
            return False
        return True

    def close(self) -> None:
        """Close the HTTP session (and an identity credential's) on the loop that opened it."""
        if self._closed:
            return
        self._closed = True
        for owner in (self.fs.service_client, self.fs.credential):
            closer = getattr(owner, "close", None)
            if closer is None:
                continue
            try:
                self._run(closer)
            except Exception:  # closing is best effort; the process is usually about to exit
                pass


def split_container(url: str) -> tuple[str, str, str]:
    """``az://container/a/b/`` (or ``abfs[s]://``) -> ("container", "a/b", "az://container/a/b")."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise UsageError(
            "an account in the URL (container@account...) is not supported: set the remote option "
            "account_name (or account_url); credentials come from the environment"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"remote URL must not have a query or fragment: az://{parts.netloc}{parts.path}")
    container = parts.netloc
    if not CONTAINER.match(container):
        raise UsageError(f"invalid Azure container name {container!r} in {url!r} (3-63 of a-z, 0-9, '-')")
    prefix = "/".join(p for p in parts.path.split("/") if p)
    if any(p in (".", "..") for p in prefix.split("/")):
        raise UsageError(f"remote URL must not contain '.' or '..' segments: {url!r}")
    return container, prefix, f"az://{container}" + (f"/{prefix}" if prefix else "")


def open_azure(container: str, prefix: str, url: str, options: Mapping[str, str]) -> AzureStore:
    """Build the adlfs filesystem for one store (options: see :func:`read_settings`)."""
    settings = read_azure_options(options)
    client, credential = service_client(settings, asynchronous=True)
    with translate(url):
        fs = _fs_class()(
            client=client,
            credential=credential,
            skip_instance_cache=True,
            use_listings_cache=False,
            blocksize=CHUNK,
        )
    return AzureStore(fs, container, prefix, url)
