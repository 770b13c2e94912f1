"""A misbehaving HTTP proxy for S3 fault-injection tests (stdlib only).

``FaultProxy(upstream)`` listens on 127.0.0.1 and forwards every request to ``upstream`` (a moto
server), except that a seeded fraction of requests meets a fault instead:

* ``slowdown`` — ``503 SlowDown`` with S3's XML error body (what S3 answers when throttling)
* ``internal`` — ``500 InternalError``
* ``drop``     — the connection is closed before the request is forwarded (no answer at all)
* ``drop_after`` — the request *is* forwarded (the write lands) but the answer is lost; only
  for requests that are safe to repeat, which is what exposes non-idempotent retries
* ``truncate`` — a GET's answer is cut in the middle of its body
* ``delay``    — the answer is forwarded after a pause
* ``cut``      — as ``truncate``, but the connection is closed politely (FIN, not RST), so the
  half that was sent does reach the client before the end; only by ``rule``, never drawn
* ``ignore_range`` — a GET's ``Range`` header is dropped: the whole object comes back, ``200``
  (as from a server or cache that does not do ranges); only by ``rule``, never drawn

Every fault is one the S3 client must survive by retrying; the test then checks that the data
came through intact. ``counts`` records what was injected, for the test's assertions and the
figures in docs/reliability.md.

Run it by hand: ``python tests/faultproxy.py http://127.0.0.1:5000 --rate 0.1``.
"""

from __future__ import annotations

import argparse
import http.client
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MODES = ("slowdown", "internal", "drop", "drop_after", "truncate", "delay")
_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"}


def s3_error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>faultproxy</RequestId><HostId>faultproxy</HostId></Error>").encode()


class FaultProxy:
    """Forward to ``upstream``; a fraction ``rate`` of requests (chosen by a seeded RNG) fails."""

    def __init__(self, upstream: str, *, rate: float = 0.1, seed: int = 0, modes: tuple[str, ...] = MODES,
                 delay: float = 0.2, rule: Callable[[str, str, dict[str, str]], str | None] | None = None) -> None:
        """``rule(method, path, headers)``, when given, picks the fault (or None) for every
        request instead of the seeded draw: for tests that need one exact failure."""
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate = rate
        self.modes = modes
        self.delay = delay
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.enabled = True
        self.rule = rule
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> str:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="faultproxy", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- decisions -------------------------------------------------------------------------
    def choose(self, method: str, path: str, headers: dict[str, str]) -> str | None:
        """The fault for this request, or None to forward it untouched."""
        with self._lock:
            self.counts["requests"] += 1
            self.counts[method] += 1
            if not self.enabled:
                return None
            if self.rule is not None:
                mode = self.rule(method, path, headers)
                if mode is None:
                    return None
            else:
                if self._rng.random() >= self.rate:
                    return None
                modes = [m for m in self.modes if _applies(m, method, path)]
                if not modes:
                    return None
                mode = self._rng.choice(modes)
            self.counts[mode] += 1
            self.counts["faults"] += 1
            return mode


def _applies(mode: str, method: str, path: str) -> bool:
    if mode == "truncate":
        return method == "GET"
    if mode == "drop_after":
        # repeating must be harmless: reads, plain PUTs (also If-None-Match creates: the client
        # must recognise its own object) and DELETEs; not multipart steps (a repeated
        # CompleteMultipartUpload legitimately fails with NoSuchUpload)
        return method in ("GET", "HEAD", "PUT", "DELETE") and "uploadId" not in path and "uploads" not in path
    return True


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _abort(self) -> None:
        """Close the connection without an answer (RST rather than a polite FIN)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _error(self, status: int, code: str, message: str) -> None:
        body = s3_error(code, message)
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        if status == 503:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        body = self._body()
        headers = {k: v for k, v in self.headers.items()}
        mode = self.owner.choose(self.command, self.path, headers)
        if mode == "slowdown":
            return self._error(503, "SlowDown", "Please reduce your request rate.")
        if mode == "internal":
            return self._error(500, "InternalError", "We encountered an internal error. Please try again.")
        if mode == "drop":
            return self._abort()
        if mode == "delay":
            time.sleep(self.owner.delay * (0.5 + self.owner._rng.random()))
        try:
            status, reason, resp_headers, data = self._forward(body, drop=("range",) if mode == "ignore_range" else ())
        except OSError:  # the upstream is gone: so are we, as far as the client can tell
            return self._abort()
        if mode == "drop_after":
            return self._abort()
        self.send_response(status, reason)
        for k, v in resp_headers:
            if k.lower() not in _HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if mode == "cut" and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return None
        if mode == "truncate" and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            return self._abort()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _forward(self, body: bytes, drop: tuple[str, ...] = ()) -> tuple[int, str, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(*self.owner.upstream, timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in _HOP and k.lower() != "content-length" and k.lower() not in drop:
                    conn.putheader(k, v)
            if body or self.command in ("PUT", "POST"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("upstream")
    ap.add_argument("--rate", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    proxy = FaultProxy(args.upstream, rate=args.rate, seed=args.seed)
    print(proxy.start(), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()


if __name__ == "__main__":
    main()
