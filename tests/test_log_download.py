"""log / download end to end through the real CLI, on file, S3 and GCS remotes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clihelp import Cli, make_tree, tree_bytes

FILES = {
    "train/a.bin": os.urandom(3000),
    "train/b.bin": os.urandom(5),
    "train/nested/deep/c.txt": b"hello\n",
    "labels.csv": b"id,label\n1,2\n",
    "empty.txt": b"",
    "big.bin": os.urandom((1 << 20) + 17),  # over the pack threshold: a loose blob
    "ünïcode name.txt": b"x",
}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "data", FILES)


def test_round_trip(any_cli: Cli, data: Path, tmp_path: Path) -> None:
    cli = any_cli
    res = cli.ok("log", "ds", str(data), "--json").json()
    assert res["ref"] == "default/ds:v0" and res["created"] is True
    assert res["files"] == len(FILES) and res["size"] == sum(map(len, FILES.values()))
    assert len(res["digest"]) == 64 and res["uploaded_files"] == len(FILES)
    out = cli.ok("download", "ds:v0", "--root", str(tmp_path / "out")).out.strip()
    assert out == str((tmp_path / "out").resolve())
    assert tree_bytes(tmp_path / "out") == FILES


def test_relog_unchanged_creates_nothing(any_cli: Cli, data: Path) -> None:
    cli = any_cli
    first = cli.ok("log", "ds", str(data), "--json").json()
    again = cli.ok("log", "ds", str(data), "--json").json()
    assert again["created"] is False and again["version"] == "v0" and again["uploaded_files"] == 0
    assert again["digest"] == first["digest"]
    assert cli.ok("log", "ds", str(data)).out.strip() == "default/ds:v0"


def test_new_content_new_version_dedups_blobs(any_cli: Cli, data: Path) -> None:
    cli = any_cli
    cli.ok("log", "ds", str(data))
    (data / "labels.csv").write_bytes(b"id,label\n1,3\n")
    res = cli.ok("log", "ds", str(data), "--json").json()
    assert res["version"] == "v1" and res["created"] is True
    assert res["uploaded_files"] == 1  # only the changed file travels
    # logging v0's content again reuses v0 and moves latest back to it
    (data / "labels.csv").write_bytes(FILES["labels.csv"])
    back = cli.ok("log", "ds", str(data), "--json").json()
    assert back["version"] == "v0" and back["created"] is False
    assert cli.ok("show", "ds", "--json").json()["version"] == "v0"


def test_log_aliases_metadata_and_show(cli: Cli, data: Path) -> None:
    cli.ok("log", "ds", str(data), "--alias", "raw", "--alias", "best", "-m", "rows=3", "-m", "src=web",
           "--description", "first", "--type", "dataset")
    info = cli.ok("show", "ds:raw", "--json").json()
    assert info["aliases"] == ["latest", "best", "raw"]
    assert info["metadata"] == {"rows": 3, "src": "web"}
    assert info["description"] == "first" and info["type"] == "dataset"
    (data / "labels.csv").write_bytes(b"changed")
    cli.ok("log", "ds", str(data), "--alias", "best")
    assert cli.ok("show", "ds:best", "--json").json()["version"] == "v1"
    assert cli.ok("show", "ds:raw", "--json").json()["version"] == "v0"
    assert cli("log", "ds", str(data), "--type", "model").code == 5  # type conflict


def test_ls_and_files(cli: Cli, data: Path) -> None:
    cli.ok("log", "ds", str(data))
    cli.ok("log", "model", str(data / "big.bin"), "--type", "model")
    names = {r["name"]: r for r in cli.ok("ls", "--json").json()}
    assert names["ds"]["latest"] == "v0" and names["model"]["type"] == "model"
    versions = cli.ok("ls", "ds", "--json").json()
    assert [v["version"] for v in versions] == ["v0"]
    files = {f["path"]: f for f in cli.ok("files", "ds", "--json").json()}
    assert set(files) == set(FILES)
    assert "/packs/blake3/" in files["labels.csv"]["url"] and "range" in files["labels.csv"]
    assert "/blobs/blake3/" in files["big.bin"]["url"]
    plain = cli.ok("files", "ds").out.splitlines()
    assert len(plain) == len(FILES) and all(len(line.split("\t")) == 5 for line in plain)  # path size digest url range


def test_single_file_and_name_as(cli: Cli, data: Path, tmp_path: Path) -> None:
    cli.ok("log", "m", str(data / "labels.csv"), str(data / "train"), "--name-as", "pkg")
    got = {f["path"] for f in cli.ok("files", "m", "--json").json()}
    assert got == {"pkg/labels.csv", "pkg/a.bin", "pkg/b.bin", "pkg/nested/deep/c.txt"}


def test_download_up_to_date_transfers_nothing(any_cli: Cli, data: Path, tmp_path: Path) -> None:
    cli = any_cli
    cli.ok("log", "ds", str(data))
    out = tmp_path / "out"
    first = cli.ok("download", "ds", "--root", str(out), "--json").json()
    assert first["fetched_files"] == len(FILES) and first["materialised"] == len(FILES)
    again = cli.ok("download", "ds", "--root", str(out), "--json").json()
    assert again["fetched_files"] == 0 and again["materialised"] == 0
    (out / "labels.csv").write_bytes(b"user edit")  # a locally edited file: refused, then restored with --force
    refused = cli("download", "ds", "--root", str(out), "--json")
    assert refused.code == 5 and "labels.csv" in refused.err and (out / "labels.csv").read_bytes() == b"user edit"
    fixed = cli.ok("download", "ds", "--root", str(out), "--json", "--force").json()
    assert fixed["materialised"] == 1 and fixed["fetched_files"] == 0 and fixed["overwritten"] == ["labels.csv"]
    assert tree_bytes(out) == FILES


def test_download_default_root_and_prefix(cli: Cli, data: Path, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(data))
    work = tmp_path / "work"
    work.mkdir()
    res = cli.ok("download", "ds:v0", "--path-prefix", "train", cwd=work)
    root = Path(res.out.strip())
    assert root == (work / "artifacts" / "ds" / "v0").resolve()  # no ':' in the default (issue 22)
    assert ":" not in str(root.relative_to(work.resolve()))
    assert set(tree_bytes(root)) == {"train/a.bin", "train/b.bin", "train/nested/deep/c.txt"}
    assert cli("download", "ds:v0", "--path-prefix", "nope", cwd=work).code == 2


def test_errors_have_exit_codes(cli: Cli, data: Path) -> None:
    r = cli("download", "nope")
    assert r.code == 3 and r.err.startswith("error: ") and "Traceback" not in r.err
    cli.ok("log", "ds", str(data))
    assert cli("download", "ds:v7").code == 3
    r = cli("download", "ds:prod")
    assert r.code == 3 and "unknown alias 'prod'" in r.err
    assert cli("download", "bad name!").code == 2
    assert cli("log", "ds", str(data / "missing")).code == 3
    assert cli("log", "ds", str(data), "--alias", "v3").code == 2
    assert cli("log", "ds", str(data), "--alias", "latest").code == 2
    assert cli("frobnicate").code == 2


def test_skip_cache_writes_straight_to_target(any_cli: Cli, data: Path, tmp_path: Path) -> None:
    cli = any_cli
    cli.ok("log", "ds", str(data))
    res = cli.ok("download", "ds", "--root", str(tmp_path / "o"), "--skip-cache", "--json").json()
    assert res["fetched_files"] == len(FILES)
    assert tree_bytes(tmp_path / "o") == FILES
    cached = [p for p in (cli.home / "cache" / "files").rglob("*") if p.is_file()]
    assert cached == []


@pytest.mark.parametrize("skip_cache", [False, True], ids=["cache", "skip-cache"])
def test_names_sharing_a_long_prefix_download_intact(cli: Cli, tmp_path: Path, skip_cache: bool) -> None:
    """400 files whose names share their first 80 characters (temp names are cut there): each
    write has its own temp file, so no file ends up with another's bytes or goes missing."""
    prefix = "shared-prefix-" + "x" * 80
    files = {f"d/{prefix}-{i:03d}.txt": f"file {i}\n".encode() * (1 + i % 7) for i in range(400)}
    files |= {f"big/{prefix}-{i}.bin": bytes([i]) * ((1 << 20) + i) for i in range(4)}  # loose blobs too
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", files)))
    fresh = Cli(tmp_path / "fresh", cli.remote)  # a cold cache: every file is fetched and written
    res = fresh("download", "ds", "--root", str(tmp_path / "o"), *(["--skip-cache"] if skip_cache else []))
    assert res.code == 0, res.err
    assert tree_bytes(tmp_path / "o") == files
