"""``http(s)://`` references, through urllib (no cloud library).

Pins: ``etag`` / ``last_modified`` from a HEAD request, the size from Content-Length. A server
that gives no validator or no length is read once and pinned by the BLAKE3 ``digest``. The
recorded URL keeps no user-info and no signed or secret query parameter
(:func:`artcli.redact.split_signed_url`); what the user gave is used for this command's own
requests only.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import artcli.sources.base as base
from artcli.errors import ArtcliError, NotFoundError, RemoteError, UsageError
from artcli.model import Entry
from artcli.redact import one_line, split_signed_url
from artcli.sources.base import Location, Progress, SourceContext, drop_none, gone, relpath, too_many
from artcli.sources.sink import Sink

HTTP_TIMEOUT = 60.0


def _request(url: str, method: str, headers: Mapping[str, str] | None = None, policy: Any = None,
             uri: str = "") -> Any:
    """urlopen with user-info turned into a Basic auth header (never into a message). With a
    ``policy`` (a download), every connection's peer address is checked once it is made, so a
    host that resolves differently the second time, or a redirect, cannot reach an internal
    address (artcli/sources/policy.py)."""
    import urllib.request

    from artcli.version import __version__

    parts = urlsplit(url)
    hdrs = {"User-Agent": f"artcli/{__version__}", "Accept-Encoding": "identity", **(headers or {})}
    if parts.username is not None:
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        hdrs["Authorization"] = "Basic " + base64.b64encode(token).decode()
        host = parts.hostname or ""
        netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    req = urllib.request.Request(url, method=method, headers=hdrs)
    if policy is None:
        return urllib.request.urlopen(req, timeout=HTTP_TIMEOUT)
    return _checked_opener(policy, uri or url).open(req, timeout=HTTP_TIMEOUT)


def _checked_opener(policy: Any, uri: str) -> Any:
    """A urllib opener whose connections check their peer address against ``policy``."""
    import http.client
    import urllib.request

    def check(conn: http.client.HTTPConnection) -> None:
        target = getattr(conn, "_tunnel_host", None) or conn.host
        if conn.sock is None or target != conn.host:
            return  # through a proxy: the peer is the proxy; the target was resolved and checked before
        policy.check_address(conn.host, conn.port, conn.sock.getpeername()[0], uri)

    class Conn(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            check(self)

    class TlsConn(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            check(self)

    class Handler(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(Conn, req)

    class TlsHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(TlsConn, req, context=self._context)

    return urllib.request.build_opener(Handler, TlsHandler)


def _error(exc: BaseException, uri: str) -> ArtcliError:
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in (404, 410):
            return NotFoundError(f"not found: {uri} (HTTP {exc.code})")
        if exc.code in (401, 403):
            return RemoteError(f"access denied to {uri} (HTTP {exc.code})")
        return RemoteError(f"{uri} answered HTTP {exc.code}")
    if isinstance(exc, urllib.error.URLError):
        return RemoteError(f"cannot reach {uri}: {one_line(str(exc.reason))}")
    return RemoteError(f"cannot read {uri}: {one_line(str(exc))}")


class HttpSource:
    scheme = "http"
    url_schemes = ("http", "https")
    label = "http(s)://"
    single_object = True

    def parse(self, text: str, *, recorded: bool = False) -> Location:
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise UsageError(f"invalid URL {one_line(text)!r}") from None
        if not parts.hostname:
            raise UsageError(f"invalid URL {one_line(text)!r}: no host")
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
        segs = [unquote(p) for p in parts.path.split("/") if p]
        return Location("http", uri, segs[-1] if segs else (parts.hostname or "index"), request_url=request,
                        dropped=tuple(dict.fromkeys(dropped)))

    def open_client(self, options: Mapping[str, str]) -> Any:
        return None  # one urllib request at a time; nothing to keep

    def scan(self, ctx: SourceContext, loc: Location, limit: int, already: int,
             progress: Progress) -> tuple[bool, Iterator[Entry]]:
        if already >= limit:
            raise too_many(loc, limit)
        return True, iter([self.pin(ctx, loc)])

    def pin(self, ctx: SourceContext, loc: Location) -> Entry:
        """HEAD the URL: Content-Length plus ETag / Last-Modified pin it; else read it once and
        pin it by its BLAKE3 digest (the bytes go to the cache meanwhile)."""
        import urllib.error

        path = relpath(loc.name, loc.uri)
        headers: Any = None
        try:
            with _request(loc.request_url, "HEAD") as r:
                headers = r.headers
        except urllib.error.HTTPError as exc:
            if exc.code not in (405, 501):  # HEAD not allowed: fall through to a GET
                raise _error(exc, loc.uri) from None
        except (urllib.error.URLError, OSError) as exc:
            raise _error(exc, loc.uri) from None
        etag = headers.get("ETag") if headers is not None else None
        modified = headers.get("Last-Modified") if headers is not None else None
        length = headers.get("Content-Length") if headers is not None else None
        if length is not None and length.isdigit() and (etag or modified):
            return Entry(path, int(length), ref=drop_none(uri=loc.uri, etag=etag, last_modified=modified))
        tmp = ctx.temp_path("http")
        try:
            with open(tmp, "wb") as fh:
                sink = Sink(fh)
                try:
                    with _request(loc.request_url, "GET") as r:
                        etag, modified = r.headers.get("ETag"), r.headers.get("Last-Modified")
                        while chunk := r.read(base.CHUNK):
                            sink.write(chunk)
                except (urllib.error.URLError, OSError) as exc:
                    raise _error(exc, loc.uri) from None
            digest = sink.blake3()
            if ctx.cache is not None:
                ctx.cache.adopt(tmp, digest)
            return Entry(path, sink.size, digest, ref=drop_none(uri=loc.uri, etag=etag, last_modified=modified))
        finally:
            tmp.unlink(missing_ok=True)

    def fetch(self, ctx: SourceContext, loc: Location, entry: Entry, fh: BinaryIO, dest: Path, label: str,
              progress: Progress) -> Sink:
        """GET with If-Match on a strong ETag; the answer's ETag / Last-Modified / length must be
        the recorded ones (and the BLAKE3 digest, when one was recorded: checked by the caller)."""
        import urllib.error

        ref = entry.ref or {}
        etag, modified = ref.get("etag"), ref.get("last_modified")
        headers = {"If-Match": etag} if etag and not etag.startswith("W/") else {}
        sink = Sink(fh, progress=progress)
        try:
            with _request(loc.request_url, "GET", headers, ctx.policy, loc.uri) as r:
                got_etag, got_modified = r.headers.get("ETag"), r.headers.get("Last-Modified")
                if etag and got_etag != etag:
                    raise gone(label, loc.uri, f"ETag {got_etag}, the version recorded {etag}")
                if modified and not etag and got_modified != modified:
                    raise gone(label, loc.uri, f"Last-Modified {got_modified}, the version recorded {modified}")
                length = r.headers.get("Content-Length")
                if length is not None and length.isdigit() and (etag or modified) and int(length) != entry.size:
                    raise gone(label, loc.uri, f"{length} bytes, the version recorded {entry.size}")
                while chunk := r.read(base.CHUNK):
                    sink.write(chunk)
        except urllib.error.HTTPError as exc:
            if exc.code == 412:
                raise gone(label, loc.uri, f"its ETag is no longer {etag}") from None
            if exc.code in (404, 410):
                raise gone(label, loc.uri) from None
            raise _error(exc, loc.uri) from None
        except (urllib.error.URLError, OSError) as exc:
            raise _error(exc, loc.uri) from None
        return sink
