"""Shell completion of names, versions and aliases: real CLI, click's bash protocol, offline."""

from __future__ import annotations

import json
import shutil
import time
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
    """Completion never reads the remote: it works with the remote gone, and answers in < 50 ms."""
    shutil.rmtree(tmp_path / "remote")
    assert complete(seeded, "artcli download mn") == ["mnist"]
    import os

    from artcli.cli import completion

    saved = {k: os.environ.get(k) for k in seeded.env}
    os.environ.update(seeded.env)
    try:
        start = time.perf_counter()
        for _ in range(10):
            got = completion.candidates("mnist:")
        per_call = (time.perf_counter() - start) / 10
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert "mnist:v1" in got and per_call < 0.05, per_call


def test_broken_cache_file_means_no_suggestions(seeded: Cli) -> None:
    path = Path(seeded.env["ARTCLI_CACHE_DIR"]) / "completion.json"
    assert "mnist" in json.dumps(json.loads(path.read_text()))
    path.write_text("{not json")
    assert complete(seeded, "artcli download m") == []
    seeded.ok("ls")  # the next read rewrites it
    assert complete(seeded, "artcli download m") == ["mnist", "model"]
