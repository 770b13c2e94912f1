"""CLI fixtures bound to each kind of remote (loaded by conftest.py as a plugin)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clihelp import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """artcli against a fresh, empty file:// remote with isolated config, cache and data dirs
    (the directory exists: a read of a missing local remote is "no artcli store", exit 3)."""
    (tmp_path / "remote").mkdir()
    return Cli(tmp_path / "home", (tmp_path / "remote").as_uri())


@pytest.fixture
def s3_cli(tmp_path: Path, s3_bucket: str) -> Cli:
    """artcli against a fresh bucket on the real moto S3 server (AWS_ENDPOINT_URL is exported)."""
    return Cli(tmp_path / "home", f"s3://{s3_bucket}/artcli")


@pytest.fixture
def gcs_cli(tmp_path: Path, gcs_bucket: str) -> Cli:
    """artcli against a fresh bucket on fake-gcs-server (STORAGE_EMULATOR_HOST is exported)."""
    return Cli(tmp_path / "home", f"gs://{gcs_bucket}/artcli")


S3 = pytest.param("s3", marks=pytest.mark.s3)
S3_SLOW = pytest.param("s3", marks=[pytest.mark.s3, pytest.mark.slow])  # an S3 twin of a file test: make test-slow  # so `-m "not s3"` leaves out every test that needs the server
GCS = pytest.param("gcs", marks=pytest.mark.gcs)
AZURE = pytest.param("azure", marks=pytest.mark.azure)


@pytest.fixture
def azure_cli(tmp_path: Path, azure_container: str) -> Cli:
    """artcli against a fresh container on Azurite (AZURE_STORAGE_CONNECTION_STRING is exported)."""
    return Cli(tmp_path / "home", f"az://{azure_container}/artcli")


_CLIS = {"file": "cli", "s3": "s3_cli", "gcs": "gcs_cli", "azure": "azure_cli"}


@pytest.fixture(params=["file", S3, GCS, AZURE])
def any_cli(request: pytest.FixtureRequest) -> Cli:
    """The same test on a file, an S3, a GCS and an Azure remote."""
    return request.getfixturevalue(_CLIS[request.param])


@pytest.fixture(params=["file", S3])
def shared_cli(request: pytest.FixtureRequest) -> Cli:
    """file and S3: the remotes the concurrency rules are proven on."""
    return request.getfixturevalue(_CLIS[request.param])


@pytest.fixture(params=["file", "s3", pytest.param("azure", marks=[pytest.mark.azure, pytest.mark.slow])])
def writers_cli(request: pytest.FixtureRequest) -> Cli:
    """file, S3 and Azure: many writers, parallel logs and killed runs are proven on each (Azure
    in `make test-slow`: the Store contract, racing put-if-absent included, runs it every time)."""
    return request.getfixturevalue(_CLIS[request.param])
