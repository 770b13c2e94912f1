"""Reference sources: list, pin and fetch files that stay where they are.

``add-ref`` and ``log --ref`` record objects at ``s3://``, ``gs://``, ``http(s)://`` and
``file://`` locations (a plain path is a ``file://`` location) without copying their bytes;
``download`` fetches them back. This module is the only one that talks to those sources. It
deliberately does not use the :class:`~artcli.store.base.Store`: the store is the artifact
remote, while a source is anybody's bucket or web server, reached with the standard
credential chains (AWS env/profile/``AWS_ENDPOINT_URL``, Google ADC/``STORAGE_EMULATOR_HOST``).
An ``s3://``/``gs://`` remote lends its endpoint/region/profile options to sources of the same
scheme (one S3-compatible service is the common case). Cloud libraries are imported only when
a source of their scheme is used.

What pins an object (recorded in the manifest entry's ``ref``, see docs/format.md §3.2):

* S3: ``etag`` (as S3 returns it, quotes included) plus ``version_id`` in a versioned bucket;
* GCS: ``generation`` plus ``md5`` / ``crc32c`` (base64, as GCS reports them);
* HTTP: ``etag`` / ``last_modified`` from a HEAD request, size from Content-Length; a server
  that gives no validator or no length is read once and pinned by the BLAKE3 ``digest``;
* local files: the BLAKE3 ``digest`` (the entry's own ``digest`` field).

Listings are paginated and consumed page by page; each object becomes one :class:`Entry` at
once, so no copy of the raw pages is kept, and :func:`iter_scan` hands the entries on as the
listing goes: ``add-ref`` spills them to disk (``artcli/manifest_stream.py``) rather than
holding millions of them.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from artcli.errors import ArtcliError, IntegrityError, NotFoundError, RemoteError, UsageError
from artcli.model import Entry, normalise_relpath
from artcli.redact import one_line as sanitize
from artcli.redact import split_signed_url
from artcli.store.errors import has_code, translate

DEFAULT_MAX_OBJECTS = 10_000_000
CHUNK = 1 << 20
HTTP_TIMEOUT = 60.0
PAGE_SIZE = 1000

_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
_MULTIPART_ETAG = re.compile(r'"?([0-9a-fA-F]{32})-([0-9]{1,5})"?')
_MD5_ETAG = re.compile(r'"?([0-9a-fA-F]{32})"?')
#: S3 encryption modes whose ETag is not the MD5 of the bytes
_OPAQUE_SSE = {"aws:kms", "aws:kms:dsse"}

Progress = Callable[[int], None]


def _nothing(_: int) -> None:
    pass


# -- locations --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Location:
    """One URI given to ``add-ref`` (or recorded in a manifest), parsed.

    ``uri`` is what gets recorded: never user-info, never signature query parameters.
    ``request_url`` (HTTP only) is what is requested now, with what the user gave.
    """

    scheme: str  # "s3", "gs", "http" or "file"
    uri: str
    bucket: str = ""
    key: str = ""  # s3/gs: object key or prefix ("" = the whole bucket); file: absolute path
    request_url: str = ""
    dropped: tuple[str, ...] = ()  # what was removed from the URL before recording it

    @property
    def name(self) -> str:
        """The last segment: a single object's file name, a prefix's folder name."""
        if self.scheme in ("s3", "gs"):
            parts = [p for p in self.key.split("/") if p]
            return parts[-1] if parts else self.bucket
        if self.scheme == "file":
            return Path(self.key).name or "root"
        parts = urlsplit(self.uri)
        segs = [unquote(p) for p in parts.path.split("/") if p]
        return segs[-1] if segs else (parts.hostname or "index")


def parse_location(text: str) -> Location:
    """Parse ``s3://``, ``gs://``, ``http(s)://``, ``file://`` URIs and plain local paths."""
    if not text or text != text.strip() or "\x00" in text:
        raise UsageError(f"invalid source URI {text!r}")
    m = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", text)
    scheme = m.group(1).lower() if m else ""
    if scheme in ("s3", "s3a", "gs", "gcs"):
        return _parse_bucket_uri(text, "s3" if scheme.startswith("s3") else "gs", len(m.group(0)) if m else 0)
    if scheme in ("http", "https"):
        return _parse_http(text)
    if scheme == "file":
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost") or parts.query:
            raise UsageError(f"file:// URIs name a local path (file:///path), got {sanitize(text)!r}")
        return _file_location(unquote(parts.path))
    if scheme:
        raise UsageError(f"unsupported source scheme {scheme!r} in {sanitize(text)!r}: "
                         "use s3://, gs://, http(s)://, file:// or a local path")
    return _file_location(text)


def _parse_bucket_uri(text: str, scheme: str, skip: int) -> Location:
    # keys are raw (no percent-decoding, '?' and '#' are part of the key), as the AWS CLI takes them
    bucket, _, key = text[skip:].partition("/")
    if "@" in bucket or ":" in bucket:
        raise UsageError(f"credentials in a {scheme}:// URI are not supported: use the environment, "
                         "a profile or application-default credentials")
    if not _BUCKET.fullmatch(bucket):
        raise UsageError(f"invalid bucket name {bucket!r} in {scheme}:// URI")
    uri = f"{scheme}://{bucket}/{key}" if key else f"{scheme}://{bucket}"
    return Location(scheme, uri, bucket=bucket, key=key)


def _parse_http(text: str) -> Location:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError(f"invalid URL {sanitize(text)!r}") from None
    if not parts.hostname:
        raise UsageError(f"invalid URL {sanitize(text)!r}: no host")
    dropped: list[str] = []
    if parts.username is not None or parts.password is not None:
        dropped.append("user-info")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{host}:{port}" if port else host
    kept, secret = split_signed_url(parse_qsl(parts.query, keep_blank_values=True))
    dropped += secret
    query = urlencode(kept, quote_via=quote) if dropped else parts.query
    uri = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))
    request = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
    return Location("http", uri, request_url=request, dropped=tuple(dict.fromkeys(dropped)))


def _file_location(path: str) -> Location:
    p = Path(path).expanduser()
    try:
        p = p.resolve(strict=True)
    except FileNotFoundError:
        raise NotFoundError(f"no such file or directory: {path}") from None
    return Location("file", p.as_uri(), key=str(p))


def _rel(raw: str, where: str) -> str:
    """A listed key (relative to the referenced prefix) as a path inside the version."""
    try:
        return normalise_relpath(raw)
    except IntegrityError:
        raise UsageError(f"cannot reference {where}: {raw!r} is not a valid path inside a version "
                         "(empty, '.' or '..' segments, or control characters)",
                         hint="reference the objects one by one, or a narrower prefix") from None


def _too_many(loc: Location, limit: int) -> UsageError:
    return UsageError(f"more than {limit:,} objects to reference (the --max-objects limit) while listing "
                      f"{loc.uri}; nothing was written",
                      hint="reference a narrower prefix, raise --max-objects, or use --no-checksum "
                           "to record only the location")


def _drop_none(**pins: Any) -> dict[str, Any]:
    return {k: v for k, v in pins.items() if v is not None}


# -- clients ----------------------------------------------------------------------------------
_LOADER: Any = None


def _botocore_loader() -> Any:
    """One botocore data loader per process: it caches the (static) service models, which
    otherwise cost ~120 ms per client; sessions and credentials stay per client."""
    global _LOADER
    if _LOADER is None:
        import botocore.loaders

        _LOADER = botocore.loaders.create_loader()
    return _LOADER


class SourceContext:
    """Clients for the sources one command touches, opened lazily and once.

    ``remote_url`` / ``remote_options``: the artifact remote's settings; an ``s3://`` remote's
    options (endpoint_url, region, profile, anon, addressing_style, timeouts) also apply to
    ``s3://`` sources, a ``gs://`` remote's (endpoint_url, project, token) to ``gs://`` ones.
    """

    def __init__(self, remote_url: str = "", remote_options: Mapping[str, str] | None = None,
                 db: Any = None, cache: Any = None) -> None:
        scheme = remote_url.split("://", 1)[0].lower() if "://" in remote_url else ""
        opts = {k: str(v) for k, v in (remote_options or {}).items()}
        self.s3_options = opts if scheme in ("s3", "s3a") else {}
        self.gs_options = opts if scheme in ("gs", "gcs") else {}
        self.db = db
        self.cache = cache
        self._lock = threading.Lock()
        self._s3: Any = None
        self._gcs: Any = None

    def s3(self) -> Any:
        """A boto3 S3 client (thread-safe once built)."""
        with self._lock:
            if self._s3 is None:
                self._s3 = self._make_s3()
            return self._s3

    def _make_s3(self) -> Any:
        import boto3
        import botocore.session
        from botocore import UNSIGNED
        from botocore.config import Config

        o = self.s3_options
        try:
            cfg: dict[str, Any] = {"max_pool_connections": 16,
                                   "retries": {"mode": "standard",
                                               "total_max_attempts": int(o.get("max_attempts") or 5)}}
            if o.get("connect_timeout"):
                cfg["connect_timeout"] = float(o["connect_timeout"])
            if o.get("read_timeout"):
                cfg["read_timeout"] = float(o["read_timeout"])
        except ValueError:
            raise UsageError("the remote's max_attempts / connect_timeout / read_timeout options must be numbers") from None
        if o.get("anon", "").lower() in ("1", "true", "yes", "on"):
            cfg["signature_version"] = UNSIGNED
        if o.get("addressing_style"):
            cfg["s3"] = {"addressing_style": o["addressing_style"]}
        with translate("s3://"):
            core = botocore.session.get_session()  # fresh: credentials and env are read now
            core.register_component("data_loader", _botocore_loader())
            session = boto3.session.Session(botocore_session=core, profile_name=o.get("profile") or None)
            return session.client("s3", endpoint_url=o.get("endpoint_url") or None,
                                  region_name=o.get("region") or None, config=Config(**cfg))

    def gcs(self) -> Any:
        """A gcsfs filesystem (its sync wrappers are safe to call from threads)."""
        with self._lock:
            if self._gcs is None:
                self._gcs = self._make_gcs()
            return self._gcs

    def _make_gcs(self) -> Any:
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # before the import: 60 s stalls
        from gcsfs.core import GCSFileSystem

        o = self.gs_options
        kwargs: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
        endpoint = o.get("endpoint_url")
        if endpoint:
            kwargs["endpoint_url"] = endpoint.rstrip("/")
        if o.get("project"):
            kwargs["project"] = o["project"]
        token = o.get("token")
        if token is None and (endpoint or os.environ.get("STORAGE_EMULATOR_HOST", "") not in ("", "default")):
            token = "anon"
        if token is not None:
            kwargs["token"] = token
        with translate("gs://"):
            return GCSFileSystem(**kwargs)

    def close(self) -> None:
        if self._s3 is not None:
            try:
                self._s3.close()
            except Exception:  # best effort at exit
                pass
            self._s3 = None


# -- listing (add-ref --checksum) -------------------------------------------------------------
def scan(ctx: SourceContext, loc: Location, max_objects: int = DEFAULT_MAX_OBJECTS,
         progress: Progress = _nothing, already: int = 0) -> tuple[bool, list[Entry]]:
    """Every object at ``loc`` as a reference entry, pinned: :func:`iter_scan` as a list."""
    single, found = iter_scan(ctx, loc, max_objects, progress, already)
    return single, list(found)


def iter_scan(ctx: SourceContext, loc: Location, max_objects: int = DEFAULT_MAX_OBJECTS,
              progress: Progress = _nothing, already: int = 0) -> tuple[bool, Iterator[Entry]]:
    """Every object at ``loc`` as a reference entry, pinned, produced while listing.

    Returns ``(single, entries)``: a single object is named by its basename; the objects under
    a prefix by their path relative to it. Whether ``loc`` is a single object is settled before
    this returns; a prefix is listed lazily, one page at a time, as ``entries`` is consumed (so
    the caller can spill them: ``add-ref`` never holds a listing in memory). More than
    ``max_objects`` objects (counting ``already`` collected for the same version) is a
    UsageError raised while listing, before anything is written; so is an empty prefix
    (NotFoundError).
    """
    if max_objects < 1:
        raise UsageError("--max-objects must be at least 1")
    if loc.scheme == "s3":
        return _s3_scan(ctx, loc, max_objects, already, progress)
    if loc.scheme == "gs":
        return _gcs_scan(ctx, loc, max_objects, already, progress)
    if loc.scheme == "http":
        if already >= max_objects:
            raise _too_many(loc, max_objects)
        return True, iter([_http_pin(ctx, loc)])
    single, files = _file_scan(ctx, loc, max_objects, already, progress)
    return single, iter(files)


def location_entry(loc: Location) -> Entry:
    """``--no-checksum``: one entry for the location itself; nothing is contacted."""
    if loc.scheme == "http":
        return Entry(_rel(loc.name, loc.uri), 0, ref={"uri": loc.uri})
    return Entry(_rel(loc.name, loc.uri), 0, ref={"uri": loc.uri, "directory": True})


def _s3_scan(ctx: SourceContext, loc: Location, limit: int, already: int,
             progress: Progress) -> tuple[bool, Iterator[Entry]]:
    client = ctx.s3()
    key = loc.key
    if key and not key.endswith("/"):
        head = _s3_head(client, loc.bucket, key, loc.uri)
        if head is not None:
            if already >= limit:
                raise _too_many(loc, limit)
            vid = head.get("VersionId")
            ref = _drop_none(uri=loc.uri, etag=head.get("ETag"), version_id=vid if vid not in (None, "null") else None)
            progress(1)
            return True, iter([Entry(_rel(loc.name, loc.uri), int(head["ContentLength"]), ref=ref)])
        key += "/"
    with translate(loc.uri):
        versioned = _s3_versioned(client, loc.bucket)
    return False, _s3_list(client, loc, key, versioned, limit, already, progress)


def _s3_list(client: Any, loc: Location, key: str, versioned: bool, limit: int, already: int,
             progress: Progress) -> Iterator[Entry]:
    n = 0
    cut = len(key)
    base = f"s3://{loc.bucket}/"
    with translate(loc.uri):
        for obj in _s3_objects(client, loc.bucket, key, versioned):
            k = obj["Key"]
            if k.endswith("/"):  # "folder" markers made by consoles
                continue
            if n + already >= limit:
                raise _too_many(loc, limit)
            vid = obj.get("VersionId")
            ref = _drop_none(uri=base + k, etag=obj.get("ETag"), version_id=vid if vid not in (None, "null") else None)
            n += 1
            yield Entry(_rel(k[cut:], loc.uri), int(obj["Size"]), ref=ref)
            if n % PAGE_SIZE == 0:
                progress(PAGE_SIZE)
    progress(n % PAGE_SIZE)
    if not n:
        raise NotFoundError(f"no object at {loc.uri}")


def _s3_head(client: Any, bucket: str, key: str, uri: str) -> dict[str, Any] | None:
    try:
        with translate(uri):
            return client.head_object(Bucket=bucket, Key=key)
    except NotFoundError:
        return None
    except RemoteError as exc:
        if exc.__cause__ is not None and has_code(exc.__cause__, "404", "NoSuchKey", "NotFound"):
            return None
        raise


def _s3_versioned(client: Any, bucket: str) -> bool:
    """True when the bucket keeps versions (Enabled or Suspended); False when we may not ask."""
    try:
        status = client.get_bucket_versioning(Bucket=bucket).get("Status")
    except Exception as exc:
        if has_code(exc, "AccessDenied", "403", "NotImplemented", "501"):
            return False
        raise
    return status in ("Enabled", "Suspended")


def _s3_objects(client: Any, bucket: str, prefix: str, versioned: bool) -> Iterator[dict[str, Any]]:
    """The current objects under ``prefix``, in key order, one page in memory at a time."""
    if versioned:  # the current version of each key: IsLatest (keys whose latest is a delete marker drop out)
        pager = client.get_paginator("list_object_versions")
        for page in pager.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE_SIZE}):
            for v in page.get("Versions") or ():
                if v.get("IsLatest"):
                    yield v
        return
    pager = client.get_paginator("list_objects_v2")
    for page in pager.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE_SIZE}):
        yield from page.get("Contents") or ()


def _gcs_ref(bucket: str, item: Mapping[str, Any]) -> dict[str, Any]:
    return _drop_none(uri=f"gs://{bucket}/{item['name']}", generation=str(item["generation"]),
                      md5=item.get("md5Hash"), crc32c=item.get("crc32c"))


def _gcs_scan(ctx: SourceContext, loc: Location, limit: int, already: int,
              progress: Progress) -> tuple[bool, Iterator[Entry]]:
    fs = ctx.gcs()
    key = loc.key
    if key and not key.endswith("/"):
        try:
            with translate(loc.uri):
                meta = fs.call("GET", "b/{}/o/{}", loc.bucket, key, json_out=True)
        except NotFoundError:
            meta = None
        if meta is not None:
            if already >= limit:
                raise _too_many(loc, limit)
            progress(1)
            return True, iter([Entry(_rel(loc.name, loc.uri), int(meta.get("size") or 0),
                                     ref=_gcs_ref(loc.bucket, meta))])
        key += "/"
    return False, _gcs_list(fs, loc, key, limit, already, progress)


def _gcs_list(fs: Any, loc: Location, key: str, limit: int, already: int, progress: Progress) -> Iterator[Entry]:
    params: dict[str, Any] = {"prefix": key or None, "maxResults": PAGE_SIZE,
                              "fields": "items(name,size,md5Hash,crc32c,generation),nextPageToken"}
    n = 0
    cut = len(key)
    with translate(loc.uri):
        while True:
            page = fs.call("GET", "b/{}/o", loc.bucket, json_out=True, **params)
            items = page.get("items") or ()
            for item in items:
                name = item["name"]
                if name.endswith("/"):
                    continue
                if n + already >= limit:
                    raise _too_many(loc, limit)
                n += 1
                yield Entry(_rel(name[cut:], loc.uri), int(item.get("size") or 0), ref=_gcs_ref(loc.bucket, item))
            progress(len(items))
            token = page.get("nextPageToken")
            if not token:
                break
            params["pageToken"] = token
    if not n:
        raise NotFoundError(f"no object at {loc.uri}")


def _file_scan(ctx: SourceContext, loc: Location, limit: int, already: int, progress: Progress) -> tuple[bool, list[Entry]]:
    from artcli.inputs import hash_files
    from artcli.inputs import scan as scan_inputs

    files = scan_inputs([loc.key])
    if len(files) + already > limit:
        raise _too_many(loc, limit)
    if ctx.db is not None:  # the stat cache: unchanged files are not read again
        hash_files(files, ctx.db, progress)
    else:
        from artcli.hashing import digest_file

        for f in files:
            f.digest = digest_file(f.abspath)
    single = Path(loc.key).is_file()
    return single, [Entry(f.path, f.size, f.digest, ref={"uri": Path(f.abspath).as_uri()}) for f in files]


# -- HTTP ---------------------------------------------------------------------------------------
def _http_request(url: str, method: str, headers: Mapping[str, str] | None = None) -> Any:
    """urlopen with user-info turned into a Basic auth header (never into a message)."""
    import urllib.request

    from artcli import __version__

    parts = urlsplit(url)
    hdrs = {"User-Agent": f"artcli/{__version__}", "Accept-Encoding": "identity", **(headers or {})}
    if parts.username is not None:
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        hdrs["Authorization"] = "Basic " + base64.b64encode(token).decode()
        host = parts.hostname or ""
        netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    req = urllib.request.Request(url, method=method, headers=hdrs)
    return urllib.request.urlopen(req, timeout=HTTP_TIMEOUT)


def _http_error(exc: BaseException, uri: str) -> ArtcliError:
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in (404, 410):
            return NotFoundError(f"not found: {uri} (HTTP {exc.code})")
        if exc.code in (401, 403):
            return RemoteError(f"access denied to {uri} (HTTP {exc.code})")
        return RemoteError(f"{uri} answered HTTP {exc.code}")
    if isinstance(exc, urllib.error.URLError):
        return RemoteError(f"cannot reach {uri}: {sanitize(str(exc.reason))}")
    return RemoteError(f"cannot read {uri}: {sanitize(str(exc))}")


def _http_pin(ctx: SourceContext, loc: Location) -> Entry:
    """HEAD the URL: Content-Length plus ETag / Last-Modified pin it. A server that gives no
    length or no validator is read once and pinned by the BLAKE3 digest instead."""
    import urllib.error

    path = _rel(loc.name, loc.uri)
    headers: Any = None
    try:
        with _http_request(loc.request_url, "HEAD") as r:
            headers = r.headers
    except urllib.error.HTTPError as exc:
        if exc.code not in (405, 501):  # HEAD not allowed: fall through to a GET
            raise _http_error(exc, loc.uri) from None
    except (urllib.error.URLError, OSError) as exc:
        raise _http_error(exc, loc.uri) from None
    etag = headers.get("ETag") if headers is not None else None
    modified = headers.get("Last-Modified") if headers is not None else None
    length = headers.get("Content-Length") if headers is not None else None
    if length is not None and length.isdigit() and (etag or modified):
        return Entry(path, int(length), ref=_drop_none(uri=loc.uri, etag=etag, last_modified=modified))
    # nothing pins it but the bytes themselves: read once, keep the digest (and the bytes, cached)
    tmp = _temp_for(ctx, "http")
    try:
        with open(tmp, "wb") as fh:
            sink = Sink(fh)
            try:
                with _http_request(loc.request_url, "GET") as r:
                    etag, modified = r.headers.get("ETag"), r.headers.get("Last-Modified")
                    while chunk := r.read(CHUNK):
                        sink.write(chunk)
            except (urllib.error.URLError, OSError) as exc:
                raise _http_error(exc, loc.uri) from None
        digest = sink.blake3()
        if ctx.cache is not None:
            ctx.cache.adopt(tmp, digest)
        return Entry(path, sink.size, digest, ref=_drop_none(uri=loc.uri, etag=etag, last_modified=modified))
    finally:
        tmp.unlink(missing_ok=True)


def _temp_for(ctx: SourceContext, hint: str) -> Path:
    if ctx.cache is not None:
        return ctx.cache.temp_path(hint)
    import tempfile

    fd, name = tempfile.mkstemp(prefix="artcli-ref-")
    os.close(fd)
    return Path(name)


# -- fetching (download) ------------------------------------------------------------------------
class Sink:
    """Writes fetched bytes while hashing them: BLAKE3 always, MD5 (per part) and CRC32C on demand."""

    def __init__(self, fh: BinaryIO, md5: bool = False, crc32c: bool = False,
                 progress: Progress = _nothing, part_sizes: list[int] | None = None) -> None:
        import blake3

        self._fh = fh
        self._b3 = blake3.blake3()
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 or part_sizes else None
        self._parts: list[bytes] = []
        self._left = list(reversed(part_sizes or []))  # bytes left in each part, the current one last
        self._crc: Any = None
        if crc32c:
            try:
                import google_crc32c

                self._crc = google_crc32c.Checksum()
            except ImportError:  # pragma: no cover - gcsfs depends on it
                self._crc = None
        self._progress = progress
        self.size = 0

    def write(self, data: bytes) -> None:
        self._fh.write(data)
        self._b3.update(data)
        if self._left:  # multipart ETag: one MD5 per part, split at the part boundaries
            view = memoryview(data)
            while view and self._left:
                take = min(len(view), self._left[-1])
                self._md5.update(view[:take])  # type: ignore[union-attr]
                view = view[take:]
                self._left[-1] -= take
                if not self._left[-1]:
                    self._left.pop()
                    self.end_part()
            if view:  # more bytes than the parts hold: the ETag check fails on the part count
                self._md5.update(view)  # type: ignore[union-attr]
        elif self._md5 is not None:
            self._md5.update(data)
        if self._crc is not None:
            self._crc.update(data)
        self.size += len(data)
        self._progress(len(data))

    def end_part(self) -> None:
        assert self._md5 is not None
        self._parts.append(self._md5.digest())
        self._md5 = hashlib.md5(usedforsecurity=False)

    def blake3(self) -> str:
        return self._b3.hexdigest()

    def md5_hex(self) -> str:
        assert self._md5 is not None
        return self._md5.hexdigest()

    def md5_b64(self) -> str:
        assert self._md5 is not None
        return base64.b64encode(self._md5.digest()).decode()

    def multipart_etag(self) -> str:
        parts = self._parts + ([self._md5.digest()] if self._left and self._md5 is not None else [])
        return f"{hashlib.md5(b''.join(parts), usedforsecurity=False).hexdigest()}-{len(parts)}"

    def crc32c_b64(self) -> str | None:
        return None if self._crc is None else base64.b64encode(self._crc.digest()).decode()


class Changed(IntegrityError):
    """The source no longer holds what the version recorded (exit 4)."""


def fetch(ctx: SourceContext, entry: Entry, dest: Path, label: str, progress: Progress = _nothing) -> str:
    """Fetch one pinned reference entry's bytes into ``dest``; return their BLAKE3 digest.

    Raises :class:`Changed` naming ``label`` when the source no longer has the recorded bytes
    (object gone, ETag/size/checksum differ), before anything is trusted.
    """
    ref = entry.ref or {}
    uri = str(ref.get("uri", ""))
    loc = parse_location(uri) if not uri.startswith("file:") else Location("file", uri, key=_file_path(uri))
    with open(dest, "wb") as fh:
        if loc.scheme == "s3":
            sink = _fetch_s3(ctx, loc, ref, fh, label, progress)
        elif loc.scheme == "gs":
            sink = _fetch_gcs(ctx, loc, ref, dest, fh, label, progress)
        elif loc.scheme == "http":
            sink = _fetch_http(loc, ref, entry, fh, label, progress)
        else:
            sink = _fetch_file(loc, fh, label, progress)
    pinned = bool(set(ref) - {"uri", "directory"}) or entry.digest is not None
    if pinned and sink.size != entry.size:
        raise Changed(f"{label}: source {uri} changed since it was referenced "
                      f"({sink.size} bytes, the version recorded {entry.size})")
    digest = sink.blake3()
    if entry.digest is not None and digest != entry.digest:
        raise Changed(f"{label}: source {uri} changed since it was referenced (its BLAKE3 digest differs)")
    return digest


def _file_path(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise IntegrityError(f"invalid file reference {uri!r}")
    return unquote(parts.path)


def _gone(label: str, uri: str, what: str = "") -> Changed:
    return Changed(f"{label}: source {uri} changed since it was referenced ({what or 'it no longer exists'})")


class _Missing(Exception):
    """The object (or the recorded version of it) is not at the source."""


def _fetch_s3(ctx: SourceContext, loc: Location, ref: Mapping[str, Any], fh: BinaryIO, label: str,
              progress: Progress) -> Sink:
    """GET by VersionId when recorded, with If-Match on the ETag, and verify the bytes against
    the ETag. When the recorded version was deleted, the current object still serves if its
    ETag and bytes are the recorded ones."""
    client = ctx.s3()
    etag, vid = ref.get("etag"), ref.get("version_id")
    kw: dict[str, Any] = {"Bucket": loc.bucket, "Key": loc.key}
    if vid:
        kw["VersionId"] = vid
    if etag:
        kw["IfMatch"] = etag
    try:
        return _s3_read(client, loc, kw, fh, label, progress)
    except _Missing:
        if not (vid and etag):
            raise _gone(label, loc.uri, f"version {vid} no longer exists" if vid else "") from None
    fh.seek(0)
    fh.truncate()
    del kw["VersionId"]
    try:
        return _s3_read(client, loc, kw, fh, label, progress)
    except _Missing:
        raise _gone(label, loc.uri, f"version {vid} no longer exists") from None
    except Changed:
        raise _gone(label, loc.uri, f"version {vid} no longer exists and the current object differs") from None


def _s3_read(client: Any, loc: Location, kw: dict[str, Any], fh: BinaryIO, label: str,
             progress: Progress) -> Sink:
    """One verified GET: the bytes' MD5 must be a single-part ETag, or the MD5 of the part MD5s a
    multipart one (part sizes from ``HEAD ?partNumber=i``; skipped where the server cannot say)."""
    etag = kw.get("IfMatch")
    multi = _MULTIPART_ETAG.fullmatch(etag or "")
    single = _MD5_ETAG.fullmatch(etag or "")
    try:
        with translate(loc.uri):
            parts = _s3_part_sizes(client, kw, int(multi.group(2))) if multi else None
            sink = Sink(fh, md5=bool(single), progress=progress, part_sizes=parts)
            resp = client.get_object(**kw)
            if etag and resp.get("ETag") != etag:
                raise _gone(label, loc.uri, f"ETag {resp.get('ETag')}, the version recorded {etag}")
            opaque = resp.get("ServerSideEncryption") in _OPAQUE_SSE or "SSECustomerAlgorithm" in resp
            body = resp["Body"]
            try:
                for chunk in body.iter_chunks(CHUNK):
                    sink.write(chunk)
            finally:
                body.close()
    except Changed:
        raise
    except ArtcliError as exc:
        cause = exc.__cause__
        if cause is not None and has_code(cause, "PreconditionFailed", "412"):
            raise _gone(label, loc.uri, f"its ETag is no longer {etag}") from None
        if isinstance(exc, NotFoundError) or (cause is not None and has_code(cause, "NoSuchKey", "NoSuchVersion", "404")):
            raise _Missing() from None
        raise
    if opaque:  # SSE-KMS / SSE-C: the ETag is not an MD5; If-Match and the size still hold
        return sink
    if multi and parts is not None:
        if sink.multipart_etag() != f"{multi.group(1).lower()}-{int(multi.group(2))}":
            raise Changed(f"{label}: bytes read from {loc.uri} do not match its ETag {etag} (corrupt transfer)")
    elif single and sink.md5_hex() != single.group(1).lower():
        raise Changed(f"{label}: bytes read from {loc.uri} do not match its ETag {etag} (corrupt transfer)")
    return sink


def _s3_part_sizes(client: Any, kw: Mapping[str, Any], count: int) -> list[int] | None:
    """The size of each part of a multipart object, or None when the server will not say."""
    sizes = []
    plain = {k: v for k, v in kw.items() if k != "IfMatch"}  # some servers match If-Match against the part
    for i in range(1, count + 1):
        try:
            head = client.head_object(**plain, PartNumber=i)
        except Exception as exc:
            if has_code(exc, "NoSuchKey", "NoSuchVersion", "404"):
                raise
            return None
        if int(head.get("PartsCount") or count) != count:
            return None
        sizes.append(int(head["ContentLength"]))
    return sizes


def _fetch_gcs(ctx: SourceContext, loc: Location, ref: Mapping[str, Any], dest: Path, fh: BinaryIO, label: str,
               progress: Progress) -> Sink:
    """Download the recorded generation, then check MD5 (or CRC32C for composite objects).
    When that generation is gone, the current object serves if its checksums are the recorded ones."""
    fs = ctx.gcs()
    gen = ref.get("generation")
    md5, crc32c = ref.get("md5"), ref.get("crc32c")
    fh.close()  # gcsfs writes the file itself
    path = f"{loc.bucket}/{loc.key}"
    fallback = False
    try:
        with translate(loc.uri):
            fs.get_file(path, str(dest), concurrency=1, **({"generation": str(gen)} if gen else {}))
    except NotFoundError:
        if not (gen and (md5 or crc32c)):
            raise _gone(label, loc.uri, f"generation {gen} no longer exists" if gen else "") from None
        try:
            with translate(loc.uri):
                fs.get_file(path, str(dest), concurrency=1)
        except NotFoundError:
            raise _gone(label, loc.uri, f"generation {gen} no longer exists") from None
        fallback = True
    with open(dest, "rb") as rf, open(os.devnull, "wb") as null:
        sink = Sink(null, md5=bool(md5), crc32c=bool(crc32c) and not md5, progress=progress)
        while chunk := rf.read(CHUNK):
            sink.write(chunk)
    crc = sink.crc32c_b64()
    if (md5 and sink.md5_b64() != md5) or (crc is not None and crc != crc32c):
        if fallback:
            raise _gone(label, loc.uri, f"generation {gen} no longer exists and the current object differs")
        raise Changed(f"{label}: bytes read from {loc.uri} do not match the recorded checksum (corrupt transfer)")
    return sink


def _fetch_http(loc: Location, ref: Mapping[str, Any], entry: Entry, fh: BinaryIO, label: str,
                progress: Progress) -> Sink:
    """GET with If-Match on a strong ETag; the answer's ETag / Last-Modified / length must be
    the recorded ones (and the BLAKE3 digest, when one was recorded)."""
    import urllib.error

    etag, modified = ref.get("etag"), ref.get("last_modified")
    headers = {"If-Match": etag} if etag and not etag.startswith("W/") else {}
    sink = Sink(fh, progress=progress)
    try:
        with _http_request(loc.request_url, "GET", headers) as r:
            got_etag, got_modified = r.headers.get("ETag"), r.headers.get("Last-Modified")
            if etag and got_etag != etag:
                raise _gone(label, loc.uri, f"ETag {got_etag}, the version recorded {etag}")
            if modified and not etag and got_modified != modified:
                raise _gone(label, loc.uri, f"Last-Modified {got_modified}, the version recorded {modified}")
            length = r.headers.get("Content-Length")
            if length is not None and length.isdigit() and (etag or modified) and int(length) != entry.size:
                raise _gone(label, loc.uri, f"{length} bytes, the version recorded {entry.size}")
            while chunk := r.read(CHUNK):
                sink.write(chunk)
    except urllib.error.HTTPError as exc:
        if exc.code == 412:
            raise _gone(label, loc.uri, f"its ETag is no longer {etag}") from None
        if exc.code in (404, 410):
            raise _gone(label, loc.uri) from None
        raise _http_error(exc, loc.uri) from None
    except (urllib.error.URLError, OSError) as exc:
        raise _http_error(exc, loc.uri) from None
    return sink


def _fetch_file(loc: Location, fh: BinaryIO, label: str, progress: Progress) -> Sink:
    sink = Sink(fh, progress=progress)
    try:
        with open(loc.key, "rb") as src:
            while chunk := src.read(CHUNK):
                sink.write(chunk)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise _gone(label, loc.uri) from None
    except OSError as exc:
        raise RemoteError(f"cannot read {loc.uri}: {exc.strerror or exc}") from None
    return sink


def is_pinned(entry: Entry) -> bool:
    """True when the entry records what its bytes must be (not a location-only reference)."""
    ref = entry.ref or {}
    return entry.digest is not None or bool(set(ref) - {"uri", "directory"})

