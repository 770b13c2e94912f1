"""Ordinary mistakes get one clear line and the right exit code (issue 22, defects 3, 4, 8):
a mistyped local remote, a download target that cannot be one, a cache directory that cannot
be made, a malformed remote in artcli.toml, a file that changes while it is logged."""

from __future__ import annotations

from pathlib import Path

import pytest

import artcli.inputs

from clihelp import Cli, make_tree

FILES = {"labels.csv": b"id,label\n1,cat\n", "img/0.png": b"\x89PNG fake\n"}


def _one_line(err: str) -> None:
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith("hint:")]
    assert len(lines) == 1 and "internal error" not in err and "Traceback" not in err, err


# -- defect 3: reads never create a local remote ---------------------------------------------
@pytest.mark.parametrize("args", [["ls"], ["show", "mnist"], ["registry", "ls"]])
def test_read_of_a_mistyped_local_remote_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    cli = Cli(tmp_path / "home", None)
    work = tmp_path / "work"
    work.mkdir()
    r = cli(*args, "-r", "./relative/dir", cwd=work)
    assert r.code == 3, r
    assert "no artcli store at" in r.err and "relative/dir" in r.err
    _one_line(r.err)
    assert list(work.iterdir()) == [], "a read created the mistyped remote"


def test_the_first_write_creates_a_local_remote(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", None)
    data = make_tree(tmp_path / "data", FILES)
    store = tmp_path / "new" / "store"
    cli.ok("log", "mnist", str(data), "-r", str(store))
    assert (store / "artcli.json").is_file() or any(store.iterdir())
    assert cli.ok("ls", "-r", str(store)).out.startswith("mnist\t")
    cli.ok("registry", "create", "reg", "-r", str(tmp_path / "other"))  # another first write
    assert (tmp_path / "other").is_dir()


def test_the_embedded_default_store_is_read_before_any_write(tmp_path: Path) -> None:
    r = Cli(tmp_path / "home", None)("ls")
    assert r.code == 0 and r.out == "", r


# -- defect 4: one line, the right code -------------------------------------------------------
def test_download_root_that_is_a_file_is_a_conflict(shared_cli: Cli, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "data", FILES)
    shared_cli.ok("log", "mnist", str(data))
    for root in (data / "labels.csv", data / "labels.csv" / "below"):
        r = shared_cli("download", "mnist", "--root", str(root))
        assert r.code == 5 and "not a directory" in r.err and str(data / "labels.csv") in r.err, r
        _one_line(r.err)
    assert (data / "labels.csv").read_bytes() == FILES["labels.csv"]


def test_download_root_that_cannot_be_made_names_it(shared_cli: Cli, tmp_path: Path) -> None:
    shared_cli.ok("log", "mnist", str(make_tree(tmp_path / "data", FILES)))
    r = shared_cli("download", "mnist", "--root", "/proc/nope")
    assert r.code == 1 and "/proc/nope" in r.err, r
    _one_line(r.err)


def test_cache_dir_that_cannot_be_made_names_it(cli: Cli) -> None:
    """It is only a cache: ``ls`` works without it, and says so once (issue 23, item 14)."""
    r = cli("ls", env={"ARTCLI_CACHE_DIR": "/proc/x"})
    assert r.code == 0 and "/proc/x" in r.err and "cache" in r.err, r
    assert r.err.count("warning:") == 1 and r.err.startswith("warning:"), r.err


@pytest.mark.parametrize("toml", ["[remote.x]\nurl = 5\n", "[remote]\nx = 5\n"])
def test_malformed_remote_in_project_file_is_a_usage_error(tmp_path: Path, toml: str) -> None:
    cli = Cli(tmp_path / "home", None)
    work = tmp_path / "work"
    work.mkdir()
    (work / "artcli.toml").write_text(toml)
    r = cli("ls", "-r", "x", cwd=work)
    assert r.code == 2 and "'x'" in r.err, r
    _one_line(r.err)


# -- defect 8: exit codes that say what happened ----------------------------------------------
def test_a_file_changing_while_logged_is_a_conflict(shared_cli: Cli, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_tree(tmp_path / "data", FILES)
    real = artcli.inputs.digest_file

    def digest_then_change(path: str) -> str:
        digest = real(path)
        with open(path, "ab") as f:  # another process appends while artcli hashes
            f.write(b"more\n")
        return digest

    monkeypatch.setattr(artcli.inputs, "digest_file", digest_then_change)
    r = shared_cli("log", "mnist", str(data))
    assert r.code == 5 and "changed while" in r.err, r
    _one_line(r.err)


def test_a_file_where_the_target_needs_a_folder_is_a_conflict(shared_cli: Cli, tmp_path: Path) -> None:
    shared_cli.ok("log", "mnist", str(make_tree(tmp_path / "data", FILES)))
    target = tmp_path / "out"
    target.mkdir()
    (target / "img").write_bytes(b"a file, where the version has a folder\n")
    r = shared_cli("download", "mnist", "--root", str(target))
    assert r.code == 5 and "not a directory" in r.err, r
    _one_line(r.err)
    assert (target / "img").read_bytes() == b"a file, where the version has a folder\n"
