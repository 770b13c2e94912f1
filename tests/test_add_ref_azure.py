"""add-ref / download of ``az://`` references against a real Azurite: pinned by ETag (and the
service's Content-MD5 where it keeps one), changed or vanished blobs fail naming the file,
location-only references, SAS tokens never recorded, a dead endpoint fails fast.

Azurite has no blob versioning, so the ``version_id`` pin (recorded when an account returns
one) is not exercised here; its fallback logic is the S3 source's, tested on moto.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest

from artcli.errors import UsageError
from artcli.sources import parse_location

from azure_emulator import ACCOUNT, ACCOUNT_KEY
from clihelp import Cli, tree_bytes
from netwatch import count_connects

pytestmark = pytest.mark.azure
A1, A2, B = os.urandom(3000), os.urandom(2000), b"labels\n"


def fresh_cache(tmp_path: Path) -> dict[str, str]:
    return {"ARTCLI_CACHE_DIR": str(tmp_path / f"cache-{os.urandom(4).hex()}")}


def _container(azurite: Any, name: str) -> Any:
    """An SDK client that sends blobs over 1 MiB as staged blocks (no Content-MD5 then)."""
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(azurite.connection_string, max_single_put_size=1 << 20,
                                                      max_block_size=1 << 20)
    return client.get_container_client(name)


def test_blobs_pinned_by_etag_and_md5(cli: Cli, azurite: Any, azure_container: str, tmp_path: Path) -> None:
    cc = _container(azurite, azure_container)
    cc.upload_blob("data/a.bin", A1)
    cc.upload_blob("data/sub/b.txt", B)
    cli.ok("add-ref", "raw", f"abfs://{azure_container}/data")
    files = {f["path"]: f for f in cli.ok("files", "raw", "--json").json()}
    ref = files["a.bin"]["ref"]
    assert ref["uri"] == f"az://{azure_container}/data/a.bin"
    assert ref["etag"].startswith('"') and ref["md5"] and "version_id" not in ref
    assert files["a.bin"]["size"] == len(A1)
    cli.ok("download", "raw", "--root", str(tmp_path / "ok"), env=fresh_cache(tmp_path))
    assert tree_bytes(tmp_path / "ok") == {"a.bin": A1, "sub/b.txt": B}

    cc.upload_blob("data/a.bin", os.urandom(len(A1)), overwrite=True)  # same size: the pins must tell
    assert cli.ok("add-ref", "raw", f"az://{azure_container}/data", "--json").json()["version"] == "v1"
    r = cli("download", "raw:v0", "--root", str(tmp_path / "bad"), env=fresh_cache(tmp_path))
    assert r.code == 4 and "a.bin" in r.err and "changed" in r.err and "Traceback" not in r.err
    assert not (tmp_path / "bad" / "a.bin").exists()
    cc.delete_blob("data/sub/b.txt")
    r = cli("download", "raw:v1", "--root", str(tmp_path / "bad2"), env=fresh_cache(tmp_path))
    assert r.code == 4 and "sub/b.txt" in r.err


def test_single_blob_uploaded_in_blocks(cli: Cli, azurite: Any, azure_container: str, tmp_path: Path) -> None:
    """A block upload has no Content-MD5: the ETag and the size pin it."""
    big = os.urandom((3 << 20) + 123)
    cc = _container(azurite, azure_container)
    cc.upload_blob("models/big.bin", big, max_concurrency=2)
    cli.ok("add-ref", "m", f"az://{azure_container}/models/big.bin", "--type", "model")
    (row,) = cli.ok("files", "m", "--json").json()
    assert row["path"] == "big.bin" and row["size"] == len(big) and row["ref"]["etag"]
    cli.ok("download", "m", "--root", str(tmp_path / "out"), env=fresh_cache(tmp_path))
    assert (tmp_path / "out" / "big.bin").read_bytes() == big


def test_location_only_and_missing(cli: Cli, azurite: Any, azure_container: str, tmp_path: Path) -> None:
    cc = _container(azurite, azure_container)
    cc.upload_blob("lake/1.parquet", A1)
    res = cli.ok("add-ref", "lake", f"az://{azure_container}/lake/", "--no-checksum", "--json").json()
    assert res["files"] == 1 and res["size"] == 0
    (row,) = cli.ok("files", "lake", "--json").json()
    assert row["ref"] == {"uri": f"az://{azure_container}/lake/", "directory": True}
    cc.upload_blob("lake/2.parquet", A2)
    r = cli.ok("download", "lake", "--root", str(tmp_path / "out"))
    assert "location-only" in r.err
    assert tree_bytes(tmp_path / "out") == {"lake/1.parquet": A1, "lake/2.parquet": A2}
    r = cli("add-ref", "none", f"az://{azure_container}/nothing/here")
    assert r.code == 3 and "no object" in r.err
    r = cli("add-ref", "none", f"az://no-such-container-{os.getpid()}/x")
    assert r.code == 6 and "does not exist" in r.err


def test_uris_never_carry_credentials() -> None:
    loc = parse_location("abfss://cont/some/blob.bin")
    assert (loc.uri, loc.bucket, loc.key, loc.name) == ("az://cont/some/blob.bin", "cont", "some/blob.bin", "blob.bin")
    for bad in ("az://cont@acct.blob.core.windows.net/x", "az://Bad_Container/x",
                "az://cont/x?sv=2024-01-01&sig=SECRETSIG", "az://ab/x"):
        with pytest.raises(UsageError) as info:
            parse_location(bad)
        assert "SECRETSIG" not in str(info.value)


def test_dead_endpoint_is_one_line_and_fast(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from artcli.store.azure_client import CONNECT_ATTEMPTS

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")
    attempts = count_connects(monkeypatch, port)
    r = cli("add-ref", "x", "az://container/p", env={"AZURE_STORAGE_CONNECTION_STRING": conn})
    assert r.code == 6 and "cannot reach" in r.err and "Traceback" not in r.err, r.err
    assert ACCOUNT_KEY not in r.err and len([ln for ln in r.err.splitlines() if ln.strip()]) <= 2
    assert len(attempts) == CONNECT_ATTEMPTS  # the store's fail-fast policy, not the SDK's minute
