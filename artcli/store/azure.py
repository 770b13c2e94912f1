"""``az://container/prefix`` stores through adlfs, with ``If-None-Match: *`` for put_if_absent.

Transfers (batches of whole files, ranges, streaming reads) go through adlfs's async
primitives like every fsspec backend; HEAD, LIST and the container check go straight to the
Azure SDK client adlfs wraps, because adlfs's ``info``/``find`` fall back to directory
emulation (an extra LIST per missing object) and cache listings across writers.

The SDK client comes from :func:`artcli.store.azure_client.service_client`, which
``az://`` reference sources use too, so both share the credential chain, retry policy and
timeouts. adlfs and the Azure SDK are imported only when an ``az://`` remote is touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from artcli.errors import ConflictError, NotFoundError, RemoteError, UsageError
from artcli.store.azure_client import CHUNK, read_azure_options, service_client
from artcli.store.base import ObjectInfo, bare_endpoint
from artcli.store.errors import translate
from artcli.store.fsspec_store import FsspecStore
from artcli.store.keys import check_prefix

__all__ = ["CHUNK", "AzureStore", "open_azure", "read_azure_options", "split_container"]

#: total connections one batch aims for: files in flight x blocks per file
_CONNECTIONS = 16

#: container names: 3-63 of a-z, 0-9 and single hyphens inside; plus the two special ones
CONTAINER = re.compile(r"^(?:\$root|\$web|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$")


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
            with self.guard(prefix):
                items, token = self._run(page, token)
            for b in items:
                name = b.name
                if name <= after or name.endswith("/") or (b.metadata or {}).get("hdi_isfolder") == "true":
                    continue
                yield ObjectInfo(key=name[cut:], size=int(b.size), mtime=_timestamp(b.last_modified))
            if not token:
                return

    def list_dirs(self, prefix: str) -> Iterator[str]:
        """List Blobs pages with ``delimiter="/"``: one BlobPrefix per folder (``ls`` of a
        project with 10,000 artifacts is a few requests, not a LIST of every event).

        Azure's List Blobs has no ``start-after`` (only an opaque marker), so :meth:`list` with
        ``start_after`` still pages from the start of ``prefix`` and skips here."""
        check_prefix(prefix)
        cut = len(self.key_prefix + prefix)
        cc = self._container_client()

        async def page(token: str | None) -> tuple[list[str], str | None]:
            pages = cc.walk_blobs(
                name_starts_with=self.key_prefix + prefix or None, delimiter="/", results_per_page=self.list_page_size
            ).by_page(continuation_token=token)
            names = [b.name async for b in await pages.__anext__() if b.name.endswith("/")]
            return names, pages.continuation_token

        token: str | None = None
        while True:
            with self.guard(prefix):
                names, token = self._run(page, token)
            for name in names:
                head = name[cut:].rstrip("/")
                if head:
                    yield head
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
            with self.guard(key):
                return self._same_bytes(path, data)
        except Exception:
            with self.guard(key):
                raise

    conditional_delete = True

    def version_tag(self, key: str) -> str:
        path = self._path(key)
        with self.guard(key):
            props = self._run(self._container_client().get_blob_client(self._blob_name(path)).get_blob_properties)
        return str(props.etag)

    def delete_if_unchanged(self, key: str, tag: str) -> bool:
        """Delete Blob with ``If-Match: <ETag>``: 412 (changed; Azurite also for a missing blob)
        or 404 (gone) → False."""
        from azure.core import MatchConditions

        path = self._path(key)
        blob = self._container_client().get_blob_client(self._blob_name(path))
        try:
            with self.guard(key):
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
    store = AzureStore(fs, container, prefix, url)
    store.endpoint = bare_endpoint(getattr(client, "url", None))
    return store
