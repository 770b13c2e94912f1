"""The documented Makefile example runs as written, and is idempotent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clihelp import Cli
from sitecheck import check_site

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pipeline"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_pipeline(cli: Cli, tmp_path: Path) -> None:
    work = tmp_path / "pipeline"
    shutil.copytree(EXAMPLE, work)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "artcli"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m artcli \"$@\"\n")
    shim.chmod(0o755)
    env = cli.proc_env({"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "PYTHON": sys.executable})
    first = subprocess.run(["make", "-s"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    eval_ref = (work / "out" / "eval.ref").read_text().strip()
    assert eval_ref == "default/evaluation:v0"
    up = cli.ok("lineage", eval_ref, "--direction", "up", "--format", "json").json()
    names = {n.get("name") for n in up["nodes"] if n.get("kind") == "version"}
    assert {"raw-data", "clean-data", "model", "evaluation"} <= names
    assert cli.ok("metadata", "get", eval_ref, "metrics.accuracy").out.strip() == "0.5"
    again = subprocess.run(["make", "-s"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert [v["version"] for v in cli.ok("ls", "model", "--json").json()] == ["v0"]
    site = subprocess.run(["make", "-s", "site"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert site.returncode == 0, site.stderr
    assert (work / "out/site/p/default/a/evaluation/v0.html").is_file() and check_site(work / "out/site") == []
