"""A moto S3 server that counts the requests it answers: ``python -m benchmarks.countserver PORT``.

The scale suite (``benchmarks/scale.py``) reads request counts at the server, not from the
client, so nothing artcli does can hide a request. The server runs in its own process (its CPU
is read from ``/proc`` like the plain ``moto_server`` of ``s3server.py``) and wraps moto's WSGI
app with three things:

* a counter per request kind (``LIST``, ``GET``, ``HEAD``, ``PUT``, ``DELETE``, ``POST``, by
  method and whether the path names an object), read with ``GET /_bench/counts``, and one of
  the answers that were not 2xx by kind and status (``PUT 412``: an exclusive create that lost
  its race), read with ``GET /_bench/answers``;
* conditional writes (``If-None-Match`` / ``If-Match``) serialised, as S3 does them atomically
  (moto checks then stores; see tests/conftest.py), so concurrent writers are judged fairly;
* ``POST /_bench/load?bucket=B&prefix=P&dir=D``: copy every file under the local directory ``D``
  into bucket ``B`` under ``P`` straight into moto's backend (a generated remote of 100,000
  events would take minutes of PUTs over HTTP). Bucket names cannot start with ``_``, so these
  paths never collide with S3 requests. Control requests are not counted.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections import Counter
from typing import Any
from urllib.parse import parse_qs, unquote


def request_kind(environ: dict[str, Any]) -> str:
    """``LIST`` for a bucket listing, else the method (``GET``/``HEAD``/``PUT``/``POST``/``DELETE``)."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/").lstrip("/")
    has_key = "/" in path and path.split("/", 1)[1] != ""
    if method == "GET" and not has_key:
        return "LIST"
    return method


class Counting:
    """WSGI middleware: count, serialise conditional writes, answer /_bench/ control requests."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()
        #: answers other than 2xx, by request kind and status ("PUT 412": a lost exclusive create)
        self.answers: Counter[str] = Counter()
        #: ``ARTCLI_BENCH_TRACE=FILE``: one line per request (method, path?query, status), to see what a case asks for
        trace = os.environ.get("ARTCLI_BENCH_TRACE")
        self.trace = open(trace, "a", buffering=1) if trace else None  # noqa: SIM115 - open for the server's life
        self._count_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_bench/"):
            return self._control(path, environ, start_response)
        if path.startswith("/moto-api"):  # the harness's own readiness checks and resets
            return self.app(environ, start_response)
        kind = request_kind(environ)
        with self._count_lock:
            self.counts[kind] += 1

        def counting_start(status: str, headers: Any, *exc: Any) -> Any:
            if not status.startswith("2"):
                with self._count_lock:
                    self.answers[f"{kind} {status.split()[0]}"] += 1
            if self.trace is not None:
                line = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}?{environ.get('QUERY_STRING', '')} {status.split()[0]}\n"
                with self._count_lock:
                    self.trace.write(line)
            return start_response(status, headers, *exc)

        if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ:
            with self._write_lock:
                return list(self.app(environ, counting_start))
        return self.app(environ, counting_start)

    def _control(self, path: str, environ: dict[str, Any], start_response: Any) -> Any:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if path == "/_bench/counts":
            with self._count_lock:
                body: Any = dict(self.counts)
        elif path == "/_bench/answers":
            with self._count_lock:
                body = dict(self.answers)
        elif path == "/_bench/load":
            body = {"objects": load_dir(query["bucket"], query.get("prefix", ""), unquote(query["dir"]))}
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"unknown control path"]
        data = json.dumps(body).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def load_dir(bucket: str, prefix: str, root: str) -> int:
    """Put every file under ``root`` into ``bucket`` at ``prefix`` + its relative path."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    if bucket not in backend.buckets:
        backend.create_bucket(bucket, "us-east-1")
    n = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            with open(full, "rb") as fh:
                backend.put_object(bucket, prefix + rel, fh.read())
            n += 1
    return n


class CountingServer:
    """The harness's handle on a counting server process (start, counts, load, CPU, stop)."""

    def __init__(self, log_path: Any) -> None:
        from benchmarks.s3server import MotoServer

        class _Proc(MotoServer):
            def argv(self) -> list[str]:
                return [sys.executable, os.path.abspath(__file__), str(self.port)]

        self._server = _Proc(__import__("pathlib").Path(sys.executable), log_path)

    @property
    def endpoint(self) -> str:
        return self._server.endpoint

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def cpu_seconds(self) -> float:
        return self._server.cpu_seconds()

    def peak_rss_kib(self) -> int:
        return self._server.peak_rss_kib()

    def _get(self, path: str, method: str = "GET", timeout: float = 600) -> Any:
        import urllib.request

        req = urllib.request.Request(self.endpoint + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def counts(self) -> Counter[str]:
        return Counter(self._get("/_bench/counts"))

    def answers(self) -> Counter[str]:
        """Answers other than 2xx so far, e.g. ``{"PUT 412": 40, "GET 404": 3}``."""
        return Counter(self._get("/_bench/answers"))

    def load(self, bucket: str, prefix: str, root: str) -> int:
        from urllib.parse import quote

        q = f"bucket={quote(bucket)}&prefix={quote(prefix)}&dir={quote(root)}"
        return int(self._get(f"/_bench/load?{q}", "POST")["objects"])

    def create_bucket(self, name: str) -> None:
        self._server.create_bucket(name)


def main() -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = int(sys.argv[1])
    app = Counting(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
