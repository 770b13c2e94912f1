"""``s3://bucket/key`` references (``s3a://`` too), through :class:`artcli.store.s3_objects.S3Objects`.

Pins: the ``etag`` as S3 returns it (quotes included), plus the ``version_id`` in a versioned
bucket. A fetch GETs by VersionId when recorded, with ``If-Match`` on the ETag, and checks the
bytes' MD5 against a single-part ETag, or the MD5 of the part MD5s against a multipart one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import artcli.sources.base as base
from artcli.errors import NotFoundError
from artcli.model import Entry
from artcli.sources.base import (
    Changed,
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

_MULTIPART_ETAG = re.compile(r'"?([0-9a-fA-F]{32})-([0-9]{1,5})"?')
_MD5_ETAG = re.compile(r'"?([0-9a-fA-F]{32})"?')
#: S3 encryption modes whose ETag is not the MD5 of the bytes
_OPAQUE_SSE = {"aws:kms", "aws:kms:dsse"}


def _version(vid: Any) -> str | None:
    return vid if vid not in (None, "null") else None


class S3Source:
    scheme = "s3"
    url_schemes = ("s3", "s3a")
    label = "s3://"
    single_object = False

    def parse(self, text: str, *, recorded: bool = False) -> Location:
        return parse_bucket_uri(text, "s3")

    def open_client(self, options: Mapping[str, str]) -> Any:
        from artcli.store.s3_objects import S3Objects

        return S3Objects(options)

    def pin(self, ctx: SourceContext, loc: Location) -> Entry | None:
        head = ctx.client(self).head(loc.bucket, loc.key, loc.uri)
        if head is None:
            return None
        ref = drop_none(uri=loc.uri, etag=head.get("ETag"), version_id=_version(head.get("VersionId")))
        return Entry(relpath(loc.name, loc.uri), int(head["ContentLength"]), ref=ref)

    def scan(self, ctx: SourceContext, loc: Location, limit: int, already: int,
             progress: Progress) -> tuple[bool, Iterator[Entry]]:
        def listing(prefix: str) -> Iterator[Entry]:
            objects = ctx.client(self)
            versioned = objects.versioned(loc.bucket, loc.uri)
            found = ((o["Key"], int(o["Size"]), drop_none(uri=f"s3://{loc.bucket}/{o['Key']}", etag=o.get("ETag"),
                                                          version_id=_version(o.get("VersionId"))))
                     for o in objects.objects(loc.bucket, prefix, versioned, loc.uri, base.PAGE_SIZE))
            return count_listing(loc, found, len(prefix), limit, already, progress, base.PAGE_SIZE)

        return scan_bucket(self, ctx, loc, limit, already, progress, listing)

    def fetch(self, ctx: SourceContext, loc: Location, entry: Entry, fh: BinaryIO, dest: Path, label: str,
              progress: Progress) -> Sink:
        """When the recorded version was deleted, the current object still serves if its ETag
        and bytes are the recorded ones."""
        objects = ctx.client(self)
        ref = entry.ref or {}
        etag, vid = ref.get("etag"), ref.get("version_id")
        try:
            return _read(objects, loc, vid, etag, fh, label, progress)
        except NotFoundError:
            if not (vid and etag):
                raise gone(label, loc.uri, f"version {vid} no longer exists" if vid else "") from None
        fh.seek(0)
        fh.truncate()
        try:
            return _read(objects, loc, None, etag, fh, label, progress)
        except NotFoundError:
            raise gone(label, loc.uri, f"version {vid} no longer exists") from None
        except Changed:
            raise gone(label, loc.uri, f"version {vid} no longer exists and the current object differs") from None


def _read(objects: Any, loc: Location, vid: str | None, etag: str | None, fh: BinaryIO, label: str,
          progress: Progress) -> Sink:
    """One verified GET (part sizes for a multipart ETag from ``HEAD ?partNumber=i``; skipped
    where the server cannot say). NotFoundError when the key or version is gone."""
    from artcli.store.s3_objects import PreconditionFailed

    multi = _MULTIPART_ETAG.fullmatch(etag or "")
    single = _MD5_ETAG.fullmatch(etag or "")
    try:
        parts = objects.part_sizes(loc.bucket, loc.key, vid, int(multi.group(2)), loc.uri) if multi else None
        sink = Sink(fh, md5=bool(single), progress=progress, part_sizes=parts)
        resp, chunks = objects.get(loc.bucket, loc.key, loc.uri, version_id=vid, if_match=etag, chunk=base.CHUNK)
    except PreconditionFailed:
        raise gone(label, loc.uri, f"its ETag is no longer {etag}") from None
    if etag and resp.get("ETag") != etag:
        chunks.close()
        raise gone(label, loc.uri, f"ETag {resp.get('ETag')}, the version recorded {etag}")
    for chunk in chunks:
        sink.write(chunk)
    if resp.get("ServerSideEncryption") in _OPAQUE_SSE or "SSECustomerAlgorithm" in resp:
        return sink  # SSE-KMS / SSE-C: the ETag is not an MD5; If-Match and the size still hold
    if multi and parts is not None:
        if sink.multipart_etag() != f"{multi.group(1).lower()}-{int(multi.group(2))}":
            raise corrupt(label, loc.uri, f"its ETag {etag}")
    elif single and sink.md5_hex() != single.group(1).lower():
        raise corrupt(label, loc.uri, f"its ETag {etag}")
    return sink
