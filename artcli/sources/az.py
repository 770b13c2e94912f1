"""``az://container/blob`` references (``abfs://``, ``abfss://`` too), through
:class:`artcli.store.azure_objects.AzureObjects`.

Pins: the ``etag`` (quoted, as Azure returns it), the ``version_id`` when the account keeps
blob versions, and the ``md5`` (base64 Content-MD5) when the service stores one (single-request
uploads). A fetch GETs the recorded version with ``If-Match`` on the ETag and checks the bytes'
MD5 when one was recorded; the size is checked by the caller. Azure ETags are opaque (not an
MD5), so a blob uploaded in blocks is pinned by ETag and size alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from artcli.errors import ConflictError, NotFoundError, UsageError
from artcli.model import Entry
from artcli.redact import find_secret
from artcli.sources import base
from artcli.sources.base import (
    Changed,
    Location,
    Progress,
    SourceContext,
    corrupt,
    count_listing,
    drop_none,
    gone,
    relpath,
    scan_bucket,
)
from artcli.sources.sink import Sink

#: container names: 3-63 of a-z, 0-9 and single inner hyphens; plus ``$root`` and ``$web``
_CONTAINER = re.compile(r"^(?:\$root|\$web|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$")


def _ref(container: str, pins: Any) -> dict[str, Any]:
    return drop_none(uri=f"az://{container}/{pins.name}", etag=pins.etag, version_id=pins.version_id,
                     md5=pins.md5)


class AzureSource:
    scheme = "az"
    url_schemes = ("az", "abfs", "abfss")
    label = "az://"
    single_object = False

    def parse(self, text: str, *, recorded: bool = False) -> Location:
        """``az://container[/blob]``: blob names raw (no percent-decoding), as for s3:// keys."""
        why = find_secret(text)
        if why:  # a pasted SAS URL: its signature must never be recorded (nor echoed)
            raise UsageError(f"az:// URIs must not carry credentials ({why}): put a SAS token in "
                             "AZURE_STORAGE_SAS_TOKEN, or use an identity or account key")
        container, _, key = text.split("://", 1)[1].partition("/")
        if "@" in container or ":" in container:
            raise UsageError("an account or credentials in an az:// URI are not supported: name the account "
                             "with the remote option account_name or AZURE_STORAGE_ACCOUNT_NAME")
        if not _CONTAINER.fullmatch(container):
            raise UsageError(f"invalid Azure container name {container!r} in az:// URI")
        uri = f"az://{container}/{key}" if key else f"az://{container}"
        parts = [p for p in key.split("/") if p]
        return Location("az", uri, parts[-1] if parts else container, bucket=container, key=key)

    def open_client(self, options: Mapping[str, str]) -> Any:
        from artcli.store.azure_objects import AzureObjects

        return AzureObjects(options)

    def pin(self, ctx: SourceContext, loc: Location) -> Entry | None:
        pins = ctx.client(self).props(loc.bucket, loc.key, loc.uri)
        if pins is None:
            return None
        return Entry(relpath(loc.name, loc.uri), pins.size, ref=_ref(loc.bucket, pins))

    def scan(self, ctx: SourceContext, loc: Location, limit: int, already: int,
             progress: Progress) -> tuple[bool, Iterator[Entry]]:
        def listing(prefix: str) -> Iterator[Entry]:
            blobs = ctx.client(self).iter_blobs(loc.bucket, prefix, loc.uri, base.PAGE_SIZE)
            found = ((b.name, b.size, _ref(loc.bucket, b)) for b in blobs)
            return count_listing(loc, found, len(prefix), limit, already, progress, base.PAGE_SIZE)

        return scan_bucket(self, ctx, loc, limit, already, progress, listing)

    def fetch(self, ctx: SourceContext, loc: Location, entry: Entry, fh: BinaryIO, dest: Path, label: str,
              progress: Progress) -> Sink:
        """When the recorded version was deleted, the current blob still serves if its ETag and
        bytes are the recorded ones."""
        objects = ctx.client(self)
        ref = entry.ref or {}
        etag, vid, md5 = ref.get("etag"), ref.get("version_id"), ref.get("md5")
        try:
            return _read(objects, loc, vid, etag, md5, fh, label, progress)
        except NotFoundError:
            if not (vid and etag):
                raise gone(label, loc.uri, f"version {vid} no longer exists" if vid else "") from None
        fh.seek(0)
        fh.truncate()
        try:
            return _read(objects, loc, None, etag, md5, fh, label, progress)
        except NotFoundError:
            raise gone(label, loc.uri, f"version {vid} no longer exists") from None
        except Changed:
            raise gone(label, loc.uri, f"version {vid} no longer exists and the current blob differs") from None


def _read(objects: Any, loc: Location, vid: str | None, etag: str | None, md5: str | None, fh: BinaryIO,
          label: str, progress: Progress) -> Sink:
    """One verified GET; NotFoundError when the blob or version is gone."""
    sink = Sink(fh, md5=bool(md5), progress=progress)
    try:
        objects.download(loc.bucket, loc.key, loc.uri, sink.write, etag=etag, version_id=vid)
    except ConflictError:  # 412: the condition failed (Azurite says so for a missing blob too)
        raise gone(label, loc.uri, f"its ETag is no longer {etag}") from None
    if md5 and sink.md5_b64() != md5:
        raise corrupt(label, loc.uri, "its Content-MD5")
    return sink
