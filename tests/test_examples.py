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


def _stamp(work: Path, name: str) -> Path:
    found = list((work / "out").glob(f"*/{name}"))
    assert len(found) == 1, found
    return found[0]


def _make_env(cli: Cli, tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "artcli"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m artcli \"$@\"\n")
    shim.chmod(0o755)
    return cli.proc_env({"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "PYTHON": sys.executable,
                         **(extra or {})})


def _make(work: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-s", *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.s3
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_failed_log_leaves_no_stamp(s3_cli: Cli, s3_server: str, tmp_path: Path) -> None:
    """The remote is down while `log` runs: the stage fails, no (empty) stamp is left behind, and
    the next `make`, with the remote back, runs the stage and the rest (issue 22, defect 5)."""
    work = tmp_path / "pipeline"
    shutil.copytree(EXAMPLE, work)
    down = _make_env(s3_cli, tmp_path, {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"})
    failed = _make(work, down)
    assert failed.returncode != 0 and "Traceback" not in failed.stderr, failed.stderr
    assert [p.name for p in (work / "out").rglob("*.ref")] == [], "a failed stage left its stamp"
    again = _make(work, _make_env(s3_cli, tmp_path))
    assert again.returncode == 0, again.stderr
    assert _stamp(work, "eval.ref").read_text().strip() == "default/evaluation:v0"


def test_the_documented_makefile_is_the_example() -> None:
    doc = (EXAMPLE.parent.parent / "docs" / "makefile.md").read_text()
    block = doc.split("```make\n", 1)[1].split("```", 1)[0]
    assert block == (EXAMPLE / "Makefile").read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_pipeline(cli: Cli, tmp_path: Path) -> None:
    """The pipeline runs, records lineage and metadata, is idempotent, builds its site, and
    switching remotes runs it again there."""
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
    eval_ref = _stamp(work, "eval.ref").read_text().strip()
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
    site_dir = _stamp(work, "eval.ref").parent / "site"
    assert (site_dir / "p/default/a/evaluation/v0.html").is_file() and check_site(site_dir) == []

    # docs/makefile.md's order: then `ARTCLI_REMOTE=<another> make` logs every stage on the other
    # remote (the stamps are per remote); the first remote's pipeline above is the one it starts from
    other = (tmp_path / "other").as_uri()
    second = _make(work, {**env, "ARTCLI_REMOTE": other})
    assert second.returncode == 0, second.stderr
    names = {r["name"] for r in cli.ok("ls", "--json", "-r", other).json()}
    assert names == {"raw-data", "clean-data", "model", "evaluation"}
    assert _make(work, {**env, "ARTCLI_REMOTE": other}, "-q").returncode == 0  # up to date there too
