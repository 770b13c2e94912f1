"""The ``artcli/sources/`` package: one Source per scheme behind a registry, clients built by
``artcli/store/`` (so a dead endpoint fails as fast, and as quietly, as a remote of that scheme),
and no cloud library imported or caught outside ``artcli/store/``."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from artcli import sources
from artcli.errors import UsageError

from clihelp import Cli
from conftest import _free_port

ROOT = Path(__file__).resolve().parent.parent
CLOUD = ("boto3", "botocore", "gcsfs", "s3fs", "aiohttp", "aiobotocore", "adlfs", "azure", "google")


def _one_line_remote_error(r: object) -> None:
    code, err = r.code, r.err  # type: ignore[attr-defined]
    assert code == 6, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and "Traceback" not in err


def _dead() -> str:
    return f"http://127.0.0.1:{_free_port()}"  # bound, then closed: nothing listens there


def test_dead_gs_source_fails_with_one_line(cli: Cli) -> None:
    """Was ~36 s and ~50 lines of aiohttp tracebacks; now the store's fail-fast client answers."""
    r = cli.run("add-ref", "raw", "gs://bucket/data", env={"STORAGE_EMULATOR_HOST": _dead()}, timeout=300)
    _one_line_remote_error(r)
    assert "gs://bucket/data" in r.err


def test_dead_s3_source_fails_with_one_line(cli: Cli) -> None:
    r = cli.run("add-ref", "raw", "s3://bucket/data", env={"AWS_ENDPOINT_URL": _dead()}, timeout=300)
    _one_line_remote_error(r)


@pytest.mark.gcs
def test_download_of_gs_reference_from_a_dead_endpoint(cli: Cli, gcs_server: str, gcs_bucket: str,
                                                       tmp_path: Path) -> None:
    import gcsfs

    fs = gcsfs.GCSFileSystem(endpoint_url=gcs_server, token="anon", skip_instance_cache=True)
    fs.pipe_file(f"{gcs_bucket}/data/a.bin", b"alpha")
    cli.ok("add-ref", "g", f"gs://{gcs_bucket}/data")
    env = {"STORAGE_EMULATOR_HOST": _dead(), "ARTCLI_CACHE_DIR": str(tmp_path / "fresh-cache")}
    r = cli.run("download", "g", "--root", str(tmp_path / "out"), env=env, timeout=300)
    _one_line_remote_error(r)


def test_gs_remote_options_are_read_strictly_for_sources() -> None:
    """A gs:// remote lends its options to gs:// sources through the store's strict reader."""
    ctx = sources.SourceContext("gs://bucket/p", {"max_attempts": "many"})
    with pytest.raises(UsageError, match="max_attempts"):
        sources.iter_scan(ctx, sources.parse_location("gs://bucket/data"))


def test_registry_dispatch() -> None:
    schemes = [s for src in sources.SOURCES for s in src.url_schemes]
    assert len(schemes) == len(set(schemes))
    for text, scheme in [("s3://bkt/k", "s3"), ("s3a://bkt/k", "s3"), ("gs://bkt/k", "gs"), ("gcs://bkt/k", "gs"),
                         ("https://h/x", "http"), ("HTTP://h/x", "http"), (str(ROOT), "file"),
                         (ROOT.as_uri(), "file"), ("az://cont/k", "az"), ("abfs://cont/k", "az"),
                         ("abfss://cont/k", "az")]:
        assert sources.parse_location(text).scheme == scheme, text
    with pytest.raises(UsageError, match=r"unsupported source scheme 'ftp'.*s3://, gs://, az://, http\(s\)://, file://"):
        sources.parse_location("ftp://h/x")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_cloud_libraries_only_in_store() -> None:
    """Clients are built, and their errors translated, in artcli/store/ only; and sources hash
    through artcli/hashing.py (function-local imports count)."""
    offenders = []
    for path in sorted((ROOT / "artcli").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("artcli/store/"):
            continue
        bad = _imports(path) & set(CLOUD)
        if rel.startswith("artcli/sources/"):
            bad |= _imports(path) & {"blake3"}
        if bad:
            offenders.append(f"{rel}: {sorted(bad)}")
    assert offenders == []


def test_every_source_module_is_small() -> None:
    for path in (ROOT / "artcli" / "sources").glob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path


@pytest.mark.skipif(os.name != "posix", reason="POSIX paths")
def test_recorded_file_uri_is_not_resolved_when_parsed(tmp_path: Path) -> None:
    """A recorded file:// URI whose file is gone is for the fetch to report (exit 4), not the parser."""
    gone = tmp_path / "gone.bin"
    src = next(s for s in sources.SOURCES if s.scheme == "file")
    assert src.parse(gone.as_uri(), recorded=True).key == str(gone)
    with pytest.raises(Exception, match="no such file"):
        sources.parse_location(gone.as_uri())
