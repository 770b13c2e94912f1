"""CLI fixtures bound to each kind of remote (loaded by conftest.py as a plugin)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clihelp import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """artcli against a fresh file:// remote with isolated config, cache and data dirs."""
    return Cli(tmp_path / "home", (tmp_path / "remote").as_uri())
