"""Configuration precedence and the remote commands."""

from __future__ import annotations

from pathlib import Path

from clihelp import Cli, make_tree


def test_embedded_default_store(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", None)
    make_tree(tmp_path / "d", {"f": b"x"})
    cli.ok("log", "ds", str(tmp_path / "d"))
    assert (tmp_path / "home" / "data" / "store" / "artcli-store.json").is_file()
    assert cli.ok("ls", "--json").json()[0]["name"] == "ds"


def test_remote_add_default_and_precedence(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", None)
    a, b = (tmp_path / "ra").as_uri(), (tmp_path / "rb").as_uri()
    cli.ok("remote", "add", "a", a, "--default")
    cli.ok("remote", "add", "b", b)
    rows = {r["name"]: r for r in cli.ok("remote", "ls", "--json").json()}
    assert rows["a"]["default"] and not rows["b"]["default"]
    make_tree(tmp_path / "d", {"f": b"x"})
    cli.ok("log", "ds", str(tmp_path / "d"))  # goes to the default remote a
    assert (tmp_path / "ra" / "artcli-store.json").exists() and not (tmp_path / "rb").exists()
    cli.ok("log", "ds", str(tmp_path / "d"), "--remote", "b")  # flag beats config
    assert (tmp_path / "rb" / "artcli-store.json").exists()
    assert cli("ls", "--remote", "nope").code == 2
    # environment beats config, flag beats environment
    assert cli.ok("ls", "--json", env={"ARTCLI_REMOTE": "b", "ARTCLI_PROJECT": "other"}).json() == []
    assert cli.ok("ls", "--json", "--project", "default", env={"ARTCLI_REMOTE": "b"}).json()[0]["name"] == "ds"
    cli.ok("remote", "rm", "b")
    assert "b" not in {r["name"] for r in cli.ok("remote", "ls", "--json").json()}
    assert cli("remote", "rm", "b").code == 3


def test_project_file_beats_user_config(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", None)
    cli.ok("remote", "add", "user", (tmp_path / "ru").as_uri(), "--default")
    proj = tmp_path / "repo"
    (proj / "sub").mkdir(parents=True)
    (proj / "artcli.toml").write_text(f'[core]\nremote = "{(tmp_path / "rp").as_uri()}"\nproject = "vision"\n')
    make_tree(tmp_path / "d", {"f": b"x"})
    res = cli.ok("log", "ds", str(tmp_path / "d"), "--json", cwd=proj / "sub").json()
    assert res["project"] == "vision"
    assert (tmp_path / "rp" / "projects" / "vision").is_dir()


def test_secrets_and_credentials_refused(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", None)
    assert cli("remote", "add", "x", "s3://b", "--option", "secret_access_key=abc").code == 2
    assert cli("remote", "add", "x", "s3://b", "--option", "aws_access_key_id=abc").code == 2
    r = cli("remote", "add", "x", "s3://AKIAXXX:secret@bucket")
    assert r.code == 2 and "secret" not in r.err
    assert not (tmp_path / "home" / "config" / "config.toml").exists()


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", None)
    r = cli("remote", "add", "x", (tmp_path / "r").as_uri(), "--option", "frobnicate=1", "--default")
    assert r.code == 2 and "frobnicate" in r.err  # checked against the backend before saving
    assert cli("remote", "add", "x", "s3://b", "--option", "max_attempts=many").code == 2
    assert not (tmp_path / "home" / "config" / "config.toml").exists()
    # a config written by hand is checked when used
    (tmp_path / "home" / "config").mkdir(parents=True)
    (tmp_path / "home" / "config" / "config.toml").write_text(
        f'[core]\nremote = "x"\n[remote.x]\nurl = "{(tmp_path / "r").as_uri()}"\nfrobnicate = "1"\n')
    r = cli("ls")
    assert r.code == 2 and "frobnicate" in r.err
