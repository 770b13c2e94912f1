"""Object reads on anybody's Azure container, for reference sources (``artcli/sources/az.py``).

The client is the one an ``az://`` store uses (:func:`artcli.store.azure.service_client`, here
the synchronous flavour): the same credential chain, fail-fast retries and timeouts, so a dead
endpoint fails in about a second with one line, as an ``az://`` remote does. Every call is
translated here: callers see only :mod:`artcli.errors` classes.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from artcli.errors import NotFoundError
from artcli.store.azure_client import read_azure_options, service_client
from artcli.store.errors import translate


@dataclass(frozen=True)
class BlobPins:
    """What pins one blob: its ETag (quotes included, as Azure returns it), its version id when
    the account keeps versions, and its Content-MD5 (base64) when the service has one."""

    name: str
    size: int
    etag: str
    version_id: str | None = None
    md5: str | None = None


def _pins(props: Any) -> BlobPins:
    settings = getattr(props, "content_settings", None)
    raw_md5 = getattr(settings, "content_md5", None) if settings is not None else None
    etag = str(props.etag)
    return BlobPins(
        name=str(props.name),
        size=int(props.size or 0),
        etag=etag if etag.startswith('"') else f'"{etag}"',  # listings give it bare, HEAD quoted
        version_id=getattr(props, "version_id", None) or None,
        md5=base64.b64encode(bytes(raw_md5)).decode() if raw_md5 else None,
    )


class AzureObjects:
    """Translated reads of blobs in any container the credentials reach."""

    def __init__(self, options: Mapping[str, str] | None) -> None:
        with translate("az://"):
            self._client, self._credential = service_client(read_azure_options(options), asynchronous=False)

    def props(self, container: str, blob: str, uri: str) -> BlobPins | None:
        """The blob's pins, or None when there is no such blob (a missing container raises)."""
        try:
            with translate(uri):
                return _pins(self._client.get_blob_client(container, blob).get_blob_properties())
        except NotFoundError:
            return None

    def iter_blobs(self, container: str, prefix: str, uri: str, page_size: int) -> Iterator[BlobPins]:
        """Every blob under ``prefix`` in name order, one page in memory at a time."""
        with translate(uri):
            pages = self._client.get_container_client(container).list_blobs(
                name_starts_with=prefix or None, results_per_page=page_size).by_page()
        while True:
            with translate(uri):
                page = next(pages, None)
                items = [_pins(b) for b in page] if page is not None else None
            if items is None:
                return
            yield from items

    def download(self, container: str, blob: str, uri: str, write: Callable[[bytes], None], *,
                 etag: str | None = None, version_id: str | None = None) -> None:
        """Stream the blob (that version of it) into ``write``, sent with ``If-Match: etag``.

        NotFoundError when the blob or version is gone; ConflictError (412) when its ETag is no
        longer ``etag`` (Azurite answers 412 for a missing blob too).
        """
        kwargs: dict[str, Any] = {"max_concurrency": 1}
        if version_id:
            kwargs["version_id"] = version_id
        if etag:
            from azure.core import MatchConditions

            kwargs.update(etag=etag, match_condition=MatchConditions.IfNotModified)
        with translate(uri):
            stream = self._client.get_blob_client(container, blob).download_blob(**kwargs)
            for chunk in stream.chunks():
                write(chunk)

    def close(self) -> None:
        for owner in (self._client, self._credential):
            closer = getattr(owner, "close", None)
            if closer is not None:
                try:
                    closer()
                except Exception:  # best effort at exit
                    pass
