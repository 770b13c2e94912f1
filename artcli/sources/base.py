"""What every reference source shares: the :class:`Source` protocol, parsed locations, the
per-command :class:`SourceContext`, and the errors and helpers of scanning and fetching.

A source module (``s3.py``, ``gs.py``, ``az.py``, ``http.py``, ``file.py``) implements
the protocol and is registered in ``artcli/sources/__init__.py``; nothing dispatches on a
scheme anywhere else. Cloud clients come from ``artcli/store/`` (same options, retries and
error translation as a remote of that scheme), so no source imports a cloud library.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from artcli.errors import IntegrityError, NotFoundError, UsageError
from artcli.model import Entry, normalise_relpath
from artcli.sources.sink import Sink

DEFAULT_MAX_OBJECTS = 10_000_000
CHUNK = 1 << 20
#: objects per listing request (read at call time: tests shrink it)
PAGE_SIZE = 1000

Progress = Callable[[int], None]
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")


def nothing(_: int) -> None:
    """A progress callback that ignores progress."""


@dataclass(frozen=True)
class Location:
    """One URI given to ``add-ref`` (or recorded in a manifest), parsed by its source.

    ``uri`` is what gets recorded: never user-info, never signature query parameters.
    ``name`` is the last segment: a single object's file name, a prefix's folder name.
    ``request_url`` (HTTP only) is what is requested now, with what the user gave.
    """

    scheme: str  # the registry key of its source: "s3", "gs", "http", "file"
    uri: str
    name: str
    bucket: str = ""
    key: str = ""  # object key or prefix ("" = the whole bucket); file: absolute path
    request_url: str = ""
    dropped: tuple[str, ...] = ()  # what was removed from the URL before recording it


class Source(Protocol):
    """One kind of reference source. ``scan`` lists and pins what a location holds, ``pin``
    pins one object (None: no object there), ``fetch`` writes a recorded entry's bytes to
    ``fh`` (or ``dest``) through a :class:`Sink` and checks them against the pins."""

    #: the scheme recorded in ``Location.scheme`` and in ``ref.uri``
    scheme: str
    #: the URI schemes it accepts (``s3``, ``s3a``); ``""`` means a plain path
    url_schemes: tuple[str, ...]
    #: how the usage message names it (``s3://``)
    label: str
    #: True when a location-only reference names one object (HTTP), not a folder or prefix
    single_object: bool

    def parse(self, text: str, *, recorded: bool = False) -> Location: ...

    def open_client(self, options: Mapping[str, str]) -> Any: ...

    def pin(self, ctx: SourceContext, loc: Location) -> Entry | None: ...

    def scan(self, ctx: SourceContext, loc: Location, limit: int, already: int,
             progress: Progress) -> tuple[bool, Iterator[Entry]]: ...

    def fetch(self, ctx: SourceContext, loc: Location, entry: Entry, fh: BinaryIO, dest: Path, label: str,
              progress: Progress) -> Sink: ...


class SourceContext:
    """The clients for the sources one command touches, opened lazily and once each.

    ``remote_url`` / ``remote_options``: the artifact remote's settings. A source whose scheme
    is the remote's uses the remote's options (an ``s3://`` remote's endpoint_url, region,
    profile, timeouts... apply to ``s3://`` sources; one S3 service for both is the common case).
    """

    def __init__(self, remote_url: str = "", remote_options: Mapping[str, str] | None = None,
                 db: Any = None, cache: Any = None, policy: Any = None) -> None:
        #: a :class:`artcli.sources.policy.RefPolicy` when fetching for a download; None for add-ref
        self.policy = policy
        self.remote_scheme = remote_url.split("://", 1)[0].lower() if "://" in remote_url else ""
        self.remote_options = {k: str(v) for k, v in (remote_options or {}).items()}
        self.db = db
        self.cache = cache
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def options_for(self, source: Source) -> dict[str, str]:
        return dict(self.remote_options) if self.remote_scheme in source.url_schemes else {}

    def client(self, source: Source) -> Any:
        """The source's client (built once per command; thread-safe once built)."""
        with self._lock:
            if source.scheme not in self._clients:
                self._clients[source.scheme] = source.open_client(self.options_for(source))
            return self._clients[source.scheme]

    def temp_path(self, hint: str) -> Path:
        """A fresh temp file: in the cache (so it can be adopted) when there is one."""
        if self.cache is not None:
            return self.cache.temp_path(hint)
        import tempfile

        fd, name = tempfile.mkstemp(prefix="artcli-ref-")
        os.close(fd)
        return Path(name)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, {}
        for c in clients.values():
            if c is not None:
                c.close()


class Changed(IntegrityError):
    """The source no longer holds what the version recorded (exit 4)."""


def gone(label: str, uri: str, what: str = "") -> Changed:
    return Changed(f"{label}: source {uri} changed since it was referenced ({what or 'it no longer exists'})")


def corrupt(label: str, uri: str, what: str) -> Changed:
    return Changed(f"{label}: bytes read from {uri} do not match {what} (corrupt transfer)")


def relpath(raw: str, where: str) -> str:
    """A listed key (relative to the referenced prefix) as a path inside the version."""
    try:
        return normalise_relpath(raw)
    except IntegrityError:
        raise UsageError(f"cannot reference {where}: {raw!r} is not a valid path inside a version "
                         "(empty, '.' or '..' segments, or control characters)",
                         hint="reference the objects one by one, or a narrower prefix") from None


def too_many(loc: Location, limit: int) -> UsageError:
    return UsageError(f"more than {limit:,} objects to reference (the --max-objects limit) while listing "
                      f"{loc.uri}; nothing was written",
                      hint="reference a narrower prefix, raise --max-objects, or use --no-checksum "
                           "to record only the location")


def no_object(loc: Location) -> NotFoundError:
    return NotFoundError(f"no object at {loc.uri}")


def drop_none(**pins: Any) -> dict[str, Any]:
    return {k: v for k, v in pins.items() if v is not None}


def parse_bucket_uri(text: str, scheme: str) -> Location:
    """``scheme://bucket[/key]``: keys raw (no percent-decoding; ``?`` and ``#`` are part of
    the key), as the AWS CLI takes them; user-info refused."""
    bucket, _, key = text.split("://", 1)[1].partition("/")
    if "@" in bucket or ":" in bucket:
        raise UsageError(f"credentials in a {scheme}:// URI are not supported: use the environment, "
                         "a profile or application-default credentials")
    if not _BUCKET.fullmatch(bucket):
        raise UsageError(f"invalid bucket name {bucket!r} in {scheme}:// URI")
    uri = f"{scheme}://{bucket}/{key}" if key else f"{scheme}://{bucket}"
    parts = [p for p in key.split("/") if p]
    return Location(scheme, uri, parts[-1] if parts else bucket, bucket=bucket, key=key)


def scan_bucket(source: Source, ctx: SourceContext, loc: Location, limit: int, already: int, progress: Progress,
                listing: Callable[[str], Iterator[Entry]]) -> tuple[bool, Iterator[Entry]]:
    """The shape of a bucket scan: a key that names an object is that object (pinned), else
    the key is a prefix, listed lazily by ``listing(prefix)``."""
    key = loc.key
    if key and not key.endswith("/"):
        one = source.pin(ctx, loc)
        if one is not None:
            if already >= limit:
                raise too_many(loc, limit)
            progress(1)
            return True, iter([one])
        key += "/"
    return False, listing(key)


def count_listing(loc: Location, found: Iterator[tuple[str, int, dict[str, Any]]], cut: int, limit: int,
                  already: int, progress: Progress, page: int) -> Iterator[Entry]:
    """Entries for a prefix listing of ``(key, size, ref)``: folder markers skipped, the
    object limit enforced as the listing goes, progress per ``page``; an empty prefix is
    NotFoundError."""
    n = 0
    for k, size, ref in found:
        if k.endswith("/"):  # "folder" markers made by consoles
            continue
        if n + already >= limit:
            raise too_many(loc, limit)
        n += 1
        yield Entry(relpath(k[cut:], loc.uri), size, ref=ref)
        if n % page == 0:
            progress(page)
    progress(n % page)
    if not n:
        raise no_object(loc)
