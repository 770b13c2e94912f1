"""Shell completion of names, versions and aliases: real CLI, click's bash protocol, offline."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clihelp import Cli, make_tree


def complete(cli: Cli, line: str, env: dict[str, str] | None = None) -> list[str]:
    """Ask the real CLI (a subprocess) for completions of ``line`` as bash would."""
    words = line.split(" ")
    res = cli.run(env={"_ARTCLI_COMPLETE": "complete_bash", "COMP_WORDS": line,
                       "COMP_CWORD": str(len(words) - 1), **(env or {})}, timeout=60)
    assert res.code == 0, res.err
    assert "Traceback" not in res.err
    return res.out.split()


@pytest.fixture
def seeded(cli: Cli, tmp_path: Path) -> Cli:
    data = make_tree(tmp_path / "d", {"a.txt": b"1"})
    cli.ok("log", "mnist", str(data), "--alias", "raw")
    (data / "a.txt").write_bytes(b"2")
    cli.ok("log", "mnist", str(data), "--alias", "best")
    cli.ok("log", "model", str(data), "--type", "model")
    cli.ok("alias", "add", "mnist:v0", "gold")  # not remembered until something reads mnist
    cli.ok("ls")
    return cli


def test_names_versions_and_aliases(seeded: Cli) -> None:
    cli = seeded
    assert complete(cli, "artcli download m") == ["mnist", "model"]
    assert complete(cli, "artcli download mn") == ["mnist"]
    assert complete(cli, "artcli download mnist:v") == ["mnist:v1", "mnist:v0"]
    assert complete(cli, "artcli show mnist:b") == ["mnist:best"]
    assert complete(cli, "artcli files mnist:l") == ["mnist:latest"]
    assert complete(cli, "artcli download zzz") == []
    # an exact name offers its tags too
    assert set(complete(cli, "artcli download mnist")) == {
        "mnist", "mnist:best", "mnist:latest", "mnist:raw", "mnist:v1", "mnist:v0"}
    # `gold` was set after the last read; `ls mnist` reads the remote and refreshes what is known
    assert "mnist:gold" not in complete(cli, "artcli download mnist:")
    cli.ok("ls", "mnist")
    assert "mnist:gold" in complete(cli, "artcli metadata get mnist:")
    assert complete(cli, "artcli alias ls mo") == ["model"]  # a name argument: no tags
    assert complete(cli, "artcli ls mo") == ["model"]
    assert complete(cli, "artcli link model:") == ["model:latest", "model:v0"]


def test_per_remote_and_project(seeded: Cli, tmp_path: Path) -> None:
    other = (tmp_path / "other-remote").as_uri()
    assert complete(seeded, "artcli download m", env={"ARTCLI_REMOTE": other}) == []
    assert complete(seeded, "artcli download m", env={"ARTCLI_PROJECT": "elsewhere"}) == []
    assert complete(seeded, "artcli download --project elsewhere m") == []


def test_offline_and_fast(seeded: Cli, tmp_path: Path) -> None:
    """Completion never reads the remote: it works with the remote gone. It is fast because of
    what it does not do, which is what is checked (no clock): no store, no sqlite index, no
    cloud or UI library is even imported, only the small completion file is read."""
    shutil.rmtree(tmp_path / "remote")
    assert complete(seeded, "artcli download mn") == ["mnist"]
    probe = ("import sys\nfrom artcli.cli import completion\nprint(completion.candidates('mnist:'))\n"
             f"print([m for m in {SLOW_IMPORTS!r} if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", probe], env=seeded.proc_env(), capture_output=True, text=True,
                         timeout=60, check=True)
    got, loaded = (ast.literal_eval(line) for line in res.stdout.splitlines())
    assert "mnist:v1" in got and "mnist:best" in got
    assert loaded == [], f"completion imported {loaded}"


SLOW_IMPORTS = ("artcli.store", "artcli.repo", "artcli.localdb", "sqlite3", "fsspec", "boto3", "botocore",
                "gcsfs", "s3fs", "typer", "rich", "click")


def test_broken_cache_file_means_no_suggestions(seeded: Cli) -> None:
    path = Path(seeded.env["ARTCLI_CACHE_DIR"]) / "completion.json"
    assert "mnist" in json.dumps(json.loads(path.read_text()))
    path.write_text("{not json")
    assert complete(seeded, "artcli download m") == []
    seeded.ok("ls")  # the next read rewrites it
    assert complete(seeded, "artcli download m") == ["mnist", "model"]
