"""Reference sources: list, pin and fetch files that stay where they are.

``add-ref`` and ``log --ref`` record objects at ``s3://``, ``gs://``, ``az://``, ``http(s)://`` and
``file://`` locations (a plain path is a ``file://`` location) without copying their bytes;
``download`` fetches them back. A source is anybody's bucket or web server, not the artifact
remote, but its client is built by ``artcli/store/`` with the same options, retries and error
translation as a remote of that scheme (an ``s3://``/``gs://`` remote lends its options to
sources of its scheme). Cloud libraries are imported only when a source of their scheme is used.

One module per scheme implements :class:`~artcli.sources.base.Source` (scan, pin, fetch) and
is listed once in :data:`SOURCES`; what pins an object is in each module and in
docs/format.md §3.2. Listings are consumed page by page: :func:`iter_scan` hands entries on as
the listing goes, so ``add-ref`` can spill millions of them to disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from artcli.errors import UsageError
from artcli.model import Entry
from artcli.redact import one_line
from artcli.sources.az import AzureSource
from artcli.sources.base import (
    DEFAULT_MAX_OBJECTS,
    Changed,
    Location,
    Progress,
    Source,
    SourceContext,
    nothing,
    relpath,
)
from artcli.sources.file import FileSource
from artcli.sources.gs import GcsSource
from artcli.sources.http import HttpSource
from artcli.sources.s3 import S3Source

__all__ = ["DEFAULT_MAX_OBJECTS", "SOURCES", "Changed", "Location", "Source", "SourceContext", "fetch",
           "is_pinned", "iter_scan", "location_entry", "parse_location", "scan"]

#: every source, once; a new scheme is one more entry here
SOURCES: tuple[Source, ...] = (S3Source(), GcsSource(), AzureSource(), HttpSource(), FileSource())
#: URI scheme (``s3``, ``s3a``, ``https``, ``""`` for a plain path) -> its source
_BY_URL_SCHEME: dict[str, Source] = {s: src for src in SOURCES for s in src.url_schemes}
#: recorded scheme (``Location.scheme``) -> its source
_BY_SCHEME: dict[str, Source] = {src.scheme: src for src in SOURCES}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")


def _source(text: str) -> Source:
    m = _SCHEME.match(text)
    scheme = m.group(1).lower() if m else ""
    source = _BY_URL_SCHEME.get(scheme)
    if source is None:
        known = ", ".join(src.label for src in SOURCES)
        raise UsageError(f"unsupported source scheme {scheme!r} in {one_line(text)!r}: use {known} or a local path")
    return source


def parse_location(text: str) -> Location:
    """Parse a source URI (or a plain local path) given on the command line."""
    if not text or text != text.strip() or "\x00" in text:
        raise UsageError(f"invalid source URI {text!r}")
    return _source(text).parse(text)


def iter_scan(ctx: SourceContext, loc: Location, max_objects: int = DEFAULT_MAX_OBJECTS,
              progress: Progress = nothing, already: int = 0) -> tuple[bool, Iterator[Entry]]:
    """Every object at ``loc`` as a reference entry, pinned, produced while listing.

    Returns ``(single, entries)``: a single object is named by its basename; the objects under
    a prefix by their path relative to it. Whether ``loc`` is a single object is settled before
    this returns; a prefix is listed lazily, one page at a time, as ``entries`` is consumed.
    More than ``max_objects`` objects (counting ``already`` collected for the same version) is
    a UsageError raised while listing, before anything is written; an empty prefix is
    NotFoundError.
    """
    if max_objects < 1:
        raise UsageError("--max-objects must be at least 1")
    return _BY_SCHEME[loc.scheme].scan(ctx, loc, max_objects, already, progress)


def scan(ctx: SourceContext, loc: Location, max_objects: int = DEFAULT_MAX_OBJECTS,
         progress: Progress = nothing, already: int = 0) -> tuple[bool, list[Entry]]:
    """:func:`iter_scan` as a list."""
    single, found = iter_scan(ctx, loc, max_objects, progress, already)
    return single, list(found)


def location_entry(loc: Location) -> Entry:
    """``--no-checksum``: one entry for the location itself; nothing is contacted."""
    if _BY_SCHEME[loc.scheme].single_object:
        return Entry(relpath(loc.name, loc.uri), 0, ref={"uri": loc.uri})
    return Entry(relpath(loc.name, loc.uri), 0, ref={"uri": loc.uri, "directory": True})


def is_pinned(entry: Entry) -> bool:
    """True when the entry records what its bytes must be (not a location-only reference)."""
    ref = entry.ref or {}
    return entry.digest is not None or bool(set(ref) - {"uri", "directory"})


def fetch(ctx: SourceContext, entry: Entry, dest: Path, label: str, progress: Progress = nothing) -> str:
    """Fetch one reference entry's bytes into ``dest``; return their BLAKE3 digest.

    Raises :class:`Changed` naming ``label`` when the source no longer has the recorded bytes
    (object gone, ETag/size/checksum differ), before anything is trusted.
    """
    uri = str((entry.ref or {}).get("uri", ""))
    if not uri or uri != uri.strip() or "\x00" in uri:
        raise UsageError(f"invalid source URI {uri!r}")
    source = _source(uri)
    loc = source.parse(uri, recorded=True)
    if ctx.policy is not None:  # a download: refuse internal addresses and system files (sources/policy.py)
        if loc.scheme == "file":
            ctx.policy.check_file(loc.key, loc.uri)
        elif loc.scheme == "http":
            ctx.policy.check_http(loc.request_url)
    with open(dest, "wb") as fh:
        sink = source.fetch(ctx, loc, entry, fh, dest, label, progress)
    if is_pinned(entry) and sink.size != entry.size:
        raise Changed(f"{label}: source {uri} changed since it was referenced "
                      f"({sink.size} bytes, the version recorded {entry.size})")
    digest = sink.blake3()
    if entry.digest is not None and digest != entry.digest:
        raise Changed(f"{label}: source {uri} changed since it was referenced (its BLAKE3 digest differs)")
    return digest

