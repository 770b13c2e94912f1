"""alias add / rm / ls and history, on a file:// remote and the real S3 server."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from clihelp import Cli, make_tree

WRITERS = 8


@pytest.fixture(params=["file", pytest.param("s3", marks=[pytest.mark.s3, pytest.mark.slow])])
def rules_cli(request: pytest.FixtureRequest) -> Cli:
    """Each rule on file:// and on the real S3 server; the S3 variant is slow (about 0.3 s of
    CPU per in-process S3 command), the concurrency tests below run on S3 by default."""
    return request.getfixturevalue({"file": "cli", "s3": "s3_cli"}[request.param])


def log_versions(cli: Cli, tmp_path: Path, n: int, name: str = "ds", *extra: str) -> None:
    for i in range(n):
        d = make_tree(tmp_path / f"{name}-in{i}", {"f.txt": f"{name} {i}\n".encode()})
        assert cli.ok("log", name, str(d), *extra).out.strip() == f"default/{name}:v{i}"


def aliases(cli: Cli, name: str = "ds") -> dict[str, str]:
    return {r["alias"]: r["version"] for r in cli.ok("alias", "ls", name, "--json").json()}


def moves(cli: Cli, ref: str) -> list[tuple[str, str | None, str | None]]:
    return [(r["alias"], r["from"], r["to"]) for r in cli.ok("history", ref, "--json").json()]


def test_add_moves_an_alias_in_one_event(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 3)
    assert cli.ok("alias", "add", "ds:v0", "production", "best").out.strip() == "default/ds:v0"
    assert aliases(cli) == {"latest": "v2", "best": "v0", "production": "v0"}
    res = cli.ok("alias", "add", "ds:v1", "production", "--json").json()
    assert res == {"ref": "default/ds:v1", "changes": [{"alias": "production", "from": "v0", "to": "v1"}]}
    assert aliases(cli) == {"latest": "v2", "best": "v0", "production": "v1"}
    assert cli.ok("show", "ds:production", "--json").json()["version"] == "v1"
    assert cli.ok("show", "ds:v0", "--json").json()["aliases"] == ["best"]
    rows = cli.ok("history", "ds:production", "--json").json()
    assert [(r["from"], r["to"]) for r in rows] == [(None, "v0"), ("v0", "v1")]
    # seq 0-2: versions, 3: production, 4: best, 5: the move off v0 onto v1 in one event
    assert [r["seq"] for r in rows] == [3, 5]
    # setting an alias where it already is writes nothing
    before = cli.ok("history", "ds", "--json").json()
    again = cli.ok("alias", "add", "ds:production", "production", "--json").json()
    assert again == {"ref": "default/ds:v1", "changes": []}
    assert cli.ok("history", "ds", "--json").json() == before


def test_latest_is_kept_by_the_tool_and_vn_is_reserved(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 2)
    for bad in ("latest", "v3", "v0"):
        res = cli("alias", "add", "ds:v0", bad)
        assert res.code == 2 and "error:" in res.err, res.err
    assert cli("alias", "rm", "ds", "latest").code == 2
    assert cli("alias", "add", "ds", "bad/name").code == 2
    # latest is the version most recently logged, also when old content is logged again
    assert aliases(cli)["latest"] == "v1"
    cli.ok("log", "ds", str(tmp_path / "ds-in0"), "--alias", "raw")
    assert aliases(cli) == {"latest": "v0", "raw": "v0"}
    assert moves(cli, "ds:latest") == [("latest", None, "v0"), ("latest", "v0", "v1"), ("latest", "v1", "v0")]


def test_rm_and_errors(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 2)
    cli.ok("alias", "add", "ds:v0", "a", "b")
    cli.ok("alias", "add", "ds:v1", "c")
    out = cli.ok("alias", "rm", "ds", "a", "c").out.split()
    assert sorted(out) == ["default/ds:v0", "default/ds:v1"]
    assert aliases(cli) == {"latest": "v1", "b": "v0"}
    assert cli("show", "ds:a").code == 3
    missing = cli("alias", "rm", "ds", "b", "nope")
    assert missing.code == 3 and "nope" in missing.err and "b" in missing.err  # the hint names what exists
    assert aliases(cli)["b"] == "v0"  # nothing was removed: the unknown alias was refused first
    assert cli("alias", "rm", "ds:v0", "b").code == 2  # rm takes the artifact, not a version
    assert cli("alias", "add", "nope:v0", "x").code == 3
    assert cli("alias", "add", "ds:v7", "x").code == 3
    assert cli("alias", "ls", "nope").code == 3
    assert cli("history", "nope").code == 3
    assert ("a", "v0", None) in [(a, f, t) for a, f, t in moves(cli, "ds")]


def test_history_records_who_when_and_which_run(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 2)
    cli.ok("alias", "add", "ds:v0", "production", "--run", "deploy-1", env={"ARTCLI_NOW": "2030-01-02T03:04:05Z"})
    cli.ok("alias", "add", "ds:v1", "production", env={"ARTCLI_RUN_ID": "deploy-2",
                                                      "ARTCLI_NOW": "2030-01-03T00:00:00Z"})
    rows = cli.ok("alias", "ls", "ds", "--history", "--json").json()
    assert rows == cli.ok("history", "ds", "--json").json()
    prod = [r for r in rows if r["alias"] == "production"]
    assert [(r["from"], r["to"], r["run"], r["time"]) for r in prod] == [
        (None, "v0", "deploy-1", "2030-01-02T03:04:05.000000Z"),
        ("v0", "v1", "deploy-2", "2030-01-03T00:00:00.000000Z")]
    assert all(r["user"] and r["host"] for r in prod)
    # a version tag keeps the moves from or to that version
    assert {(r["alias"], r["from"], r["to"]) for r in cli.ok("history", "ds:v0", "--json").json()} == {
        ("latest", None, "v0"), ("latest", "v0", "v1"), ("production", None, "v0"), ("production", "v0", "v1")}
    table = cli.ok("history", "ds").out
    assert "deploy-2" in table and "production" in table
    # a removal is a move to nothing, with its own who, when and run
    cli.ok("alias", "rm", "ds", "production", env={"ARTCLI_RUN_ID": "retire-3", "ARTCLI_NOW": "2030-01-04T00:00:00Z"})
    last = cli.ok("history", "ds", "--json").json()[-1]
    assert (last["alias"], last["from"], last["to"], last["run"], last["time"]) == (
        "production", "v1", None, "retire-3", "2030-01-04T00:00:00.000000Z")
    assert last["user"] and last["host"]


def _concurrent_moves(cli: Cli, tmp_path: Path) -> None:
    log_versions(cli, tmp_path, WRITERS)
    procs = [cli.spawn("alias", "add", f"ds:v{i}", "production", "--json") for i in range(WRITERS)]
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        assert len(json.loads(out)["changes"]) == 1  # every process moved it once
    holders = [r for r in cli.ok("ls", "ds", "--json").json() if "production" in r["aliases"]]
    assert len(holders) == 1
    rows = cli.ok("history", "ds:production", "--json").json()
    assert len(rows) == WRITERS  # every move is in the log
    assert rows[0]["from"] is None
    assert all(a["to"] == b["from"] for a, b in itertools.pairwise(rows))  # a chain, none lost
    assert {r["to"] for r in rows} == {f"v{i}" for i in range(WRITERS)}
    assert rows[-1]["to"] == holders[0]["version"] == aliases(cli)["production"]


def test_concurrent_alias_moves_file(cli: Cli, tmp_path: Path) -> None:
    _concurrent_moves(cli, tmp_path)


@pytest.mark.s3
@pytest.mark.slow  # make test races alias moves on S3 in tests/test_many_writers.py (same checks)
def test_concurrent_alias_moves_s3(s3_cli: Cli, tmp_path: Path) -> None:
    _concurrent_moves(s3_cli, tmp_path)
