"""``gs://bucket/key`` references (``gcs://`` too), through :class:`artcli.store.gcs_objects.GcsObjects`.

Pins: the ``generation``, plus ``md5`` / ``crc32c`` (base64, as GCS reports them). A fetch
downloads the recorded generation and checks the MD5 (or the CRC32C of a composite object).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import artcli.sources.base as base
from artcli.errors import NotFoundError
from artcli.model import Entry
from artcli.sources.base import (
    Location,
    Progress,
    SourceContext,
    corrupt,
    count_listing,
    drop_none,
    gone,
    parse_bucket_uri,
    relpath,
    scan_bucket,
)
from artcli.sources.sink import Sink

_FIELDS = "items(name,size,md5Hash,crc32c,generation),nextPageToken"


def _ref(bucket: str, item: Mapping[str, Any]) -> dict[str, Any]:
    return drop_none(uri=f"gs://{bucket}/{item['name']}", generation=str(item["generation"]),
                     md5=item.get("md5Hash"), crc32c=item.get("crc32c"))


class GcsSource:
    scheme = "gs"
    url_schemes = ("gs", "gcs")
    label = "gs://"
    single_object = False

    def parse(self, text: str, *, recorded: bool = False) -> Location:
        return parse_bucket_uri(text, "gs")

    def open_client(self, options: Mapping[str, str]) -> Any:
        from artcli.store.gcs_objects import GcsObjects

        return GcsObjects(options)

    def pin(self, ctx: SourceContext, loc: Location) -> Entry | None:
        meta = ctx.client(self).meta(loc.bucket, loc.key, loc.uri)
        if meta is None:
            return None
        return Entry(relpath(loc.name, loc.uri), int(meta.get("size") or 0), ref=_ref(loc.bucket, meta))

    def scan(self, ctx: SourceContext, loc: Location, limit: int, already: int,
             progress: Progress) -> tuple[bool, Iterator[Entry]]:
        def listing(prefix: str) -> Iterator[Entry]:
            found = ((item["name"], int(item.get("size") or 0), _ref(loc.bucket, item))
                     for item in self._items(ctx, loc, prefix))
            return count_listing(loc, found, len(prefix), limit, already, progress, base.PAGE_SIZE)

        return scan_bucket(self, ctx, loc, limit, already, progress, listing)

    def _items(self, ctx: SourceContext, loc: Location, prefix: str) -> Iterator[dict[str, Any]]:
        objects = ctx.client(self)
        params: dict[str, Any] = {"prefix": prefix or None, "maxResults": base.PAGE_SIZE, "fields": _FIELDS}
        while True:
            page = objects.list_page(loc.bucket, params, loc.uri)
            yield from page.get("items") or ()
            token = page.get("nextPageToken")
            if not token:
                return
            params["pageToken"] = token

    def fetch(self, ctx: SourceContext, loc: Location, entry: Entry, fh: BinaryIO, dest: Path, label: str,
              progress: Progress) -> Sink:
        """When the recorded generation is gone, the current object serves if its checksums
        are the recorded ones."""
        objects = ctx.client(self)
        ref = entry.ref or {}
        gen, md5, crc32c = ref.get("generation"), ref.get("md5"), ref.get("crc32c")
        fh.close()  # gcsfs writes the file itself
        fallback = False
        try:
            objects.download(loc.bucket, loc.key, dest, loc.uri, generation=gen)
        except NotFoundError:
            if not (gen and (md5 or crc32c)):
                raise gone(label, loc.uri, f"generation {gen} no longer exists" if gen else "") from None
            try:
                objects.download(loc.bucket, loc.key, dest, loc.uri)
            except NotFoundError:
                raise gone(label, loc.uri, f"generation {gen} no longer exists") from None
            fallback = True
        with open(dest, "rb") as rf, open(os.devnull, "wb") as null:
            sink = Sink(null, md5=bool(md5), crc32c=bool(crc32c) and not md5, progress=progress)
            while chunk := rf.read(base.CHUNK):
                sink.write(chunk)
        crc = sink.crc32c_b64()
        if (md5 and sink.md5_b64() != md5) or (crc is not None and crc != crc32c):
            if fallback:
                raise gone(label, loc.uri, f"generation {gen} no longer exists and the current object differs")
            raise corrupt(label, loc.uri, "the recorded checksum")
        return sink
