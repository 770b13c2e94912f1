"""References to internal addresses and system files are refused at download time unless the
user opts in (issue 23, item 11; docs/references.md "Internal addresses").

A reference is planted with ``add-ref`` (which is never checked: the user types its location),
then downloaded as a hostile remote would have it downloaded. Local web servers stand in for
internal services; they count what they were asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from artcli.sources.policy import RefPolicy, UnsafeReference, build_policy

from clihelp import Cli, make_tree

SECRET = b"instance-role-credentials\n"


class Server:
    def __init__(self, host: str = "127.0.0.1", redirect: str | None = None) -> None:
        self.gets: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                outer.gets.append(self.path)
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                if redirect and self.command == "GET":
                    self.send_response(302)
                    self.send_header("Location", redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(SECRET)))
                self.send_header("ETag", '"e1"')
                self.end_headers()
                if body:
                    self.wfile.write(SECRET)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def internal() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def test_internal_http_reference_is_refused_then_allowed_by_opt_in(cli: Cli, internal: Server,
                                                                   tmp_path: Path) -> None:
    cli.ok("add-ref", "meta", f"{internal.url}/latest/meta-data/creds")  # planted (add-ref is not checked)
    r = cli("download", "meta", "--root", str(tmp_path / "o"))
    assert r.code == 4, r.err
    assert "refusing the reference" in r.err and "127.0.0.1" in r.err and "--allow-private-refs" in r.err
    assert internal.gets == [], "nothing was requested"
    assert not (tmp_path / "o" / "creds").exists()
    cli.ok("download", "meta", "--root", str(tmp_path / "o"), "--allow-private-refs")
    assert (tmp_path / "o" / "creds").read_bytes() == SECRET and len(internal.gets) == 1
    cli.ok("download", "meta", "--root", str(tmp_path / "e"), env={"ARTCLI_ALLOW_PRIVATE_REFS": "1"})
    assert (tmp_path / "e" / "creds").read_bytes() == SECRET


def test_allowed_host_in_configuration(cli: Cli, internal: Server, tmp_path: Path) -> None:
    cli.ok("add-ref", "meta", f"{internal.url}/x.bin")
    (cli.home / "config").mkdir(parents=True, exist_ok=True)
    (cli.home / "config" / "config.toml").write_text(
        f'[references]\nallow_hosts = ["{internal.url.split("//")[1]}"]\n')
    cli.ok("download", "meta", "--root", str(tmp_path / "o"))
    assert (tmp_path / "o" / "x.bin").read_bytes() == SECRET


def test_a_redirect_to_an_internal_address_is_refused_at_connect(cli: Cli, tmp_path: Path) -> None:
    """The allowed host redirects to one that is not: the connection to it is checked after it
    is made, before a request is sent (the same check catches a host that resolves to an
    internal address only on the second lookup)."""
    target = Server("127.0.0.2")
    front = Server("127.0.0.1", redirect=f"{target.url}/creds")
    try:
        cli.ok("add-ref", "meta", f"{front.url}/creds")
        (cli.home / "config").mkdir(parents=True, exist_ok=True)
        (cli.home / "config" / "config.toml").write_text(
            f'[references]\nallow_hosts = ["{front.url.split("//")[1]}"]\n')
        r = cli("download", "meta", "--root", str(tmp_path / "o"))
        assert r.code == 4 and "127.0.0.2" in r.err and "refusing" in r.err, r.err
        assert len(front.gets) == 1 and target.gets == []
    finally:
        front.close()
        target.close()


@pytest.mark.parametrize("planted", ["hidden", "proc", "symlink"])
def test_system_and_credential_files_are_refused(cli: Cli, tmp_path: Path, planted: str) -> None:
    home = make_tree(tmp_path / "u", {".aws/credentials": b"[default]\nkey = x\n", "data/ok.txt": b"fine\n",
                                      "data/.zattrs": b"{}\n"})  # a hidden name that is data
    if planted == "hidden":
        src = home / ".aws" / "credentials"
    elif planted == "proc":
        src = Path("/proc/self/environ")
    else:
        src = home / "innocent.txt"
        src.symlink_to(home / ".aws" / "credentials")
    cli.ok("add-ref", "evil", src.as_uri())
    cli.ok("add-ref", "good", (home / "data").as_uri())
    r = cli("download", "evil", "--root", str(tmp_path / "o"))
    assert r.code == 4 and "refusing the reference" in r.err, r.err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    cli.ok("download", "good", "--root", str(tmp_path / "g"))  # ordinary files stay fine
    assert (tmp_path / "g" / "ok.txt").read_bytes() == b"fine\n" and (tmp_path / "g" / ".zattrs").is_file()
    if planted != "proc":  # /proc says size 0, so it fails its pin anyway
        cli.ok("download", "evil", "--root", str(tmp_path / "a"), "--allow-private-refs")


def test_file_roots_make_file_references_an_allow_list(cli: Cli, tmp_path: Path) -> None:
    make_tree(tmp_path, {"share/a.txt": b"a\n", "elsewhere/b.txt": b"b\n"})
    cli.ok("add-ref", "a", (tmp_path / "share" / "a.txt").as_uri())
    cli.ok("add-ref", "b", (tmp_path / "elsewhere" / "b.txt").as_uri())
    (cli.home / "config").mkdir(parents=True, exist_ok=True)
    (cli.home / "config" / "config.toml").write_text(f'[references]\nfile_roots = ["{tmp_path / "share"}"]\n')
    cli.ok("download", "a", "--root", str(tmp_path / "oa"))
    r = cli("download", "b", "--root", str(tmp_path / "ob"))
    assert r.code == 4 and "outside the allowed file roots" in r.err, r.err


@pytest.mark.parametrize("address", ["127.0.0.1", "127.9.9.9", "169.254.169.254", "10.1.2.3", "172.16.0.1",
                                     "192.168.1.1", "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1%eth0",
                                     "fd00::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::"])
def test_internal_addresses(address: str) -> None:
    with pytest.raises(UnsafeReference):
        RefPolicy().check_address("h", 80, address, "http://h/")
    RefPolicy(allow_private=True).check_address("h", 80, address, "http://h/")
    RefPolicy(allow_hosts=frozenset({"h"})).check_address("h", 80, address, "http://h/")
    RefPolicy(allow_hosts=frozenset({"h:80"})).check_address("h", 80, address, "http://h/")
    with pytest.raises(UnsafeReference):
        RefPolicy(allow_hosts=frozenset({"h:81"})).check_address("h", 80, address, "http://h/")


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"])
def test_public_addresses(address: str) -> None:
    RefPolicy().check_address("h", 443, address, "https://h/")


def test_configured_endpoints_stay_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's own S3/GCS/Azure emulators are on 127.0.0.1: what the user configured as an
    endpoint is never an internal address to refuse."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://localhost:4443")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING",
                       "DefaultEndpointsProtocol=http;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;")
    monkeypatch.delenv("ARTCLI_ALLOW_PRIVATE_REFS", raising=False)
    p = build_policy({}, remote_url="s3://b/x", remote_options={"endpoint_url": "http://10.0.0.5:9000"})
    assert not p.allow_private
    assert {"127.0.0.1:9000", "localhost:4443", "127.0.0.1:10000", "10.0.0.5:9000"} <= p.allow_hosts
    p.check_address("127.0.0.1", 9000, "127.0.0.1", "http://127.0.0.1:9000/b/k")
    with pytest.raises(UnsafeReference):
        p.check_address("127.0.0.1", 9001, "127.0.0.1", "http://127.0.0.1:9001/")
    assert build_policy({"allow_private": True}, remote_url="", remote_options={}).allow_private


def test_the_python_api_refuses_an_internal_reference_too(cli: Cli, internal: Server, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """``Repo.download`` has no opt-in: it gets ``download``'s default, which refuses."""
    import artcli
    from artcli.errors import ArtcliError

    cli.ok("add-ref", "meta", f"{internal.url}/latest/meta-data/creds")
    for k, v in cli.env.items():
        monkeypatch.setenv(k, v)
    with artcli.open(cli.remote) as repo, pytest.raises(ArtcliError, match="refusing the reference") as exc:
        repo.download("meta", str(tmp_path / "o"))
    assert exc.value.exit_code == 4
    assert internal.gets == [] and not (tmp_path / "o" / "creds").exists()
