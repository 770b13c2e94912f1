"""``remote add`` checks everything before it saves, re-adding keeps options (and says so),
``remote default`` changes the default, ``remote ls`` marks and ``remote show`` explains the
remote in effect (issue 22, defect 6; issue 23, item 9: credential-shaped options refused)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clihelp import Cli


@pytest.fixture
def cfg(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home", None)


def _config(cli: Cli) -> str:
    p = cli.home / "config" / "config.toml"
    return p.read_text() if p.exists() else ""


CREDENTIAL_OPTIONS = ["private_key=abc", "api_token=x1", "account_key=y2", "auth_token=z3", "sas_token=q4",
                      "client_key=k5", "bearer=b6", "connection_string=c7", "sse_customer_key=s8",
                      "endpoint_url=http://user:pw@127.0.0.1:9000", "endpoint_url=http://user@127.0.0.1:9000"]


@pytest.mark.parametrize("args", [
    ["s3://bucket", "-o", "foo=bar"],
    ["s3://", "-o", "region=eu-west-1"],
    ["s3:///prefix"],
    ["gs://"],
    ["s3://bucket", "-o", "endpoint_url=notaurl"],
    ["s3://bucket", "-o", "endpoint_url=ftp://host:21"],
    ["s3://bucket", "-o", "endpoint_url=http://host:99999"],
    ["gs://bucket", "-o", "endpoint_url=localhost"],
    ["s3://bucket", "-o", "max_attempts=many"],
    *(["s3://bucket", "-o", o] for o in CREDENTIAL_OPTIONS),
])
def test_add_refuses_what_would_fail_later(cfg: Cli, args: list[str]) -> None:
    r = cfg("remote", "add", "x", *args)
    assert r.code == 2 and r.err.startswith("error: "), r
    assert ":pw@" not in r.err and "user@127" not in r.err
    assert _config(cfg) == "", "a refused remote was saved"


def test_readd_keeps_options_and_says_so(cfg: Cli) -> None:
    cfg.ok("remote", "add", "minio", "s3://bucket", "-o", "endpoint_url=http://127.0.0.1:9000", "-o", "region=eu")
    r = cfg.ok("remote", "add", "minio", "s3://bucket/other", "-o", "region=us")
    assert "kept its option endpoint_url" in r.err, r
    row = cfg.ok("remote", "ls", "--json").json()[0]
    assert row["url"] == "s3://bucket/other"
    assert row["options"] == {"endpoint_url": "http://127.0.0.1:9000", "region": "us"}
    cfg.ok("remote", "add", "minio", "s3://bucket/other", "-o", "region=")  # KEY= removes one
    assert cfg.ok("remote", "ls", "--json").json()[0]["options"] == {"endpoint_url": "http://127.0.0.1:9000"}
    r = cfg.ok("remote", "add", "minio", "gs://bucket")  # another kind of store: dropped, said
    assert "dropped option endpoint_url" in r.err and r.err.count("warning:") == 1, r
    assert cfg.ok("remote", "ls", "--json").json()[0]["options"] == {}


def test_default_ls_and_show(cfg: Cli, tmp_path: Path) -> None:
    cfg.ok("remote", "add", "team", "s3://bucket/team", "--default")
    cfg.ok("remote", "add", "mine", str(tmp_path / "store"))
    assert cfg.ok("remote", "show", "--json").json()["name"] == "team"
    assert cfg.ok("remote", "default", "mine").out == "mine\n"
    rows = {r["name"]: r for r in cfg.ok("remote", "ls", "--json").json()}
    assert rows["mine"]["default"] and rows["mine"]["active"] and not rows["team"]["active"]
    shown = cfg.ok("remote", "show", "--json").json()
    assert shown["name"] == "mine" and shown["source"].endswith("config.toml") and shown["active"]

    # the environment wins: ls marks what is in effect, not only the configured default
    rows = {r["name"]: r for r in cfg.ok("remote", "ls", "--json", env={"ARTCLI_REMOTE": "team"}).json()}
    assert rows["team"]["active"] and not rows["mine"]["active"] and rows["mine"]["default"]
    r = cfg.ok("remote", "ls", env={"ARTCLI_REMOTE": "team"})
    assert "in effect: team (ARTCLI_REMOTE)" in r.err
    assert [ln.split("\t")[:2] for ln in r.out.splitlines()] == [["", "mine"], ["*", "team"]]
    shown = cfg.ok("remote", "show", "--json", env={"ARTCLI_REMOTE": "team"}).json()
    assert shown["name"] == "team" and shown["source"] == "ARTCLI_REMOTE"
    assert cfg.ok("remote", "show", "mine", "--json", env={"ARTCLI_REMOTE": "team"}).json()["active"] is False

    r = cfg("remote", "default", "teem")
    assert r.code == 3 and "did you mean 'team'?" in r.err, r
    r = cfg("ls", "-r", "tema")
    assert r.code == 2 and "did you mean 'team'?" in r.err, r


def test_a_project_default_that_wins_is_said(cfg: Cli, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    cfg.ok("remote", "add", "proj", str(tmp_path / "p"), "--local", "--default", cwd=work)
    cfg.ok("remote", "add", "user", str(tmp_path / "u"), cwd=work)
    r = cfg.ok("remote", "default", "user", cwd=work)
    assert "artcli.toml names another default remote, which wins" in r.err, r
    assert cfg.ok("remote", "show", "--json", cwd=work).json()["name"] == "proj"
