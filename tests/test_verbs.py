"""The everyday verbs (issue 18), on a file and an S3 remote: include/exclude patterns, what
``log`` takes from a folder (.artcliignore, default ignores, symlinks), ``status``, ``diff``
with a folder, ``download`` refusing local edits, ``cat``, incremental versions
(``log --from``), dry runs, and global flags after the subcommand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artcli.pathmatch import PathFilter, Pattern, RuleSet, ignored, parse_ignore_text

from clihelp import Cli, make_tree, tree_bytes

BIG = bytes(range(256)) * 4200  # 1,075,200 bytes: over the pack threshold, stored loose
FILES = {"train/1.bin": b"one" * 10, "train/2.bin": b"two" * 10, "train/sub/3.bin": b"three",
         "labels.csv": b"a,b\n", "notes/readme.md": b"# data\n", "big.bin": BIG}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "data", FILES)


# -- patterns (pure) ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("pattern", "path", "hit"), [
    ("*.bin", "train/sub/3.bin", True),          # no slash: any depth
    ("train/*.bin", "train/1.bin", True),
    ("train/*.bin", "train/sub/3.bin", False),   # * stays inside one segment
    ("train/**/*.bin", "train/sub/3.bin", True),
    ("train/**/*.bin", "train/1.bin", True),     # **/ matches zero segments too
    ("**/3.bin", "train/sub/3.bin", True),
    ("train/**", "train/sub/3.bin", True),
    ("/labels.csv", "labels.csv", True),
    ("/labels.csv", "x/labels.csv", False),      # a leading / anchors
    ("train", "train/sub/3.bin", True),          # a folder matches everything under it
    ("sub/", "train/sub/3.bin", True),
    ("3.bin/", "train/sub/3.bin", False),        # a trailing / matches folders only
    ("[0-9].bin", "train/2.bin", True),
    ("[!0-9].bin", "train/2.bin", False),
    ("?.bin", "train/12.bin", False),
])
def test_gitignore_style_patterns(pattern: str, path: str, hit: bool) -> None:
    assert Pattern.parse(pattern).matches_file(path) is hit


def test_filters_and_ignore_rules() -> None:
    f = PathFilter.of(["train/**", "*.csv"], ["**/sub/**"])
    assert [p for p in FILES if f.accepts(p)] == ["train/1.bin", "train/2.bin", "labels.csv"]
    rules = (RuleSet("/r/", tuple(parse_ignore_text("# c\n*.log\n!keep.log\nbuild/\n\n"))),)
    assert ignored(rules, "/r/a/x.log", False) and not ignored(rules, "/r/a/keep.log", False)
    assert ignored(rules, "/r/build", True) and not ignored(rules, "/r/build", False)
    assert not ignored(rules, "/other/x.log", False)  # rules apply below their folder only


def test_joined_ignore_rules_agree_with_one_by_one() -> None:
    """The joined regexes of a rule set without '!' give the verdicts the rules give one by one."""
    import random

    rng = random.Random(18)
    rules = parse_ignore_text("*.pyc\n.git/\nbuild/\n/top.txt\nsub/*.log\n**/deep/x\n[ab]?.tmp\ncache/**\n")
    fast = RuleSet("/r/", tuple(rules))
    slow = RuleSet("/r/", tuple(rules))
    object.__setattr__(slow, "_fast", None)
    names = ["a1.tmp", "b.tmp", "x.pyc", "top.txt", "sub", "x.log", "deep", "x", "build", ".git", "cache", "f",
             "x.pycc", "a1.tmp.bak", "top.txt2", "build2"]
    for _ in range(3000):
        path = "/r/" + "/".join(rng.choice(names) for _ in range(rng.randint(1, 4)))
        is_dir = rng.random() < 0.3
        assert fast.verdict(path, is_dir) == slow.verdict(path, is_dir), (path, is_dir)


# -- include / exclude ------------------------------------------------------------------------------
def test_include_exclude_on_log_files_download_diff(shared_cli: Cli, data: Path, tmp_path: Path) -> None:
    cli = shared_cli
    got = cli.ok("log", "ds", str(data), "--include", "train/**", "--include", "*.csv",
                 "--exclude", "**/sub/**", "--json").json()
    assert got["files"] == 3
    assert [r["path"] for r in cli.ok("files", "ds", "--json").json()] == ["labels.csv", "train/1.bin", "train/2.bin"]
    cli.ok("log", "ds", str(data))
    rows = cli.ok("files", "ds:v1", "--include", "*.bin", "--exclude", "big.bin", "--json").json()
    assert [r["path"] for r in rows] == ["train/1.bin", "train/2.bin", "train/sub/3.bin"]
    # the case: two --path-prefix are both taken (only the last was), a glob works
    out = tmp_path / "o1"
    cli.ok("download", "ds:v1", "--root", str(out), "--path-prefix", "train/1.bin", "--path-prefix", "labels.csv")
    assert set(tree_bytes(out)) == {"train/1.bin", "labels.csv"}
    out = tmp_path / "o2"
    cli.ok("download", "ds:v1", "--root", str(out), "--path-prefix", "train/*.bin")
    assert set(tree_bytes(out)) == {"train/1.bin", "train/2.bin"}
    out = tmp_path / "o3"
    cli.ok("download", "ds:v1", "--root", str(out), "--include", "*.md", "--include", "train/sub")
    assert tree_bytes(out) == {"notes/readme.md": b"# data\n", "train/sub/3.bin": b"three"}
    out = tmp_path / "o5"
    cli.ok("download", "ds:v1", "--root", str(out), "--include", "train/**", "--exclude", "**/sub/**")
    assert set(tree_bytes(out)) == {"train/1.bin", "train/2.bin"}
    res = cli("download", "ds:v1", "--root", str(tmp_path / "o4"), "--include", "*.nothing")
    assert res.code == 2 and "--include *.nothing" in res.err
    d = cli.ok("diff", "ds:v0", "ds:v1", "--json", "--exclude", "big.bin").json()
    assert [f["path"] for f in d["files"]["added"]] == ["notes/readme.md", "train/sub/3.bin"]
    assert cli.ok("diff", "ds:v0", "ds:v1", "--json", "--include", "train/*.bin").json()["same_content"] is True


def test_add_ref_include_exclude(shared_cli: Cli, data: Path) -> None:
    res = shared_cli.ok("add-ref", "refs", data.as_uri(), "--include", "train/**", "--exclude", "3.bin", "--json")
    assert res.json()["references"] == 2
    rows = shared_cli.ok("files", "refs", "--json").json()
    assert [r["path"] for r in rows] == ["train/1.bin", "train/2.bin"]
    assert shared_cli("add-ref", "none", data.as_uri(), "--include", "*.zip").code == 2


# -- what log takes from a folder -------------------------------------------------------------------
def test_default_ignores_and_artcliignore(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    project = make_tree(tmp_path / "proj", {
        ".git/HEAD": b"ref: main\n", "artcli.toml": b"",
        ".artcliignore": b"# the project's rules\n*.tmp\n",
        "work/.artcliignore": b"!.env\nscratch/\n",
        "work/data/a.txt": b"a", "work/data/.env": b"SECRET=1\n", "work/data/x.tmp": b"t",
        "work/data/__pycache__/m.cpython-311.pyc": b"pyc", "work/data/lib/.git/HEAD": b"nested",
        "work/data/scratch/s.txt": b"s", "work/data/keep/.artcliignore": b"*.log\n",
        "work/data/keep/b.txt": b"b", "work/data/keep/c.log": b"c",
    })
    got = cli.ok("log", "ds", str(project / "work" / "data"), "--json").json()
    paths = [r["path"] for r in cli.ok("files", "ds", "--json").json()]
    # .git/, __pycache__/, .artcliignore by default; *.tmp from the project root's file (upward);
    # .env re-included and scratch/ left out by work/.artcliignore; *.log by the nested one
    assert paths == [".env", "a.txt", "keep/b.txt"]
    assert got["ignored"] == 6
    everything = cli.ok("log", "all", str(project / "work" / "data"), "--no-ignore", "--json").json()
    assert everything["files"] == 9 and "ignored" not in everything
    # without a project root above, only the folder's own .artcliignore counts
    lone = make_tree(tmp_path / "lone", {"a.txt": b"a", "b.tmp": b"b", ".env": b"E=1\n"})
    cli.ok("log", "lone", str(lone))
    assert [r["path"] for r in cli.ok("files", "lone", "--json").json()] == ["a.txt", "b.tmp"]
    # a file named on the command line is always taken
    cli.ok("log", "named", str(lone / ".env"))
    assert [r["path"] for r in cli.ok("files", "named", "--json").json()] == [".env"]


def test_symlinks_stay_in_the_tree_unless_asked(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    outside = make_tree(tmp_path / "outside", {"secret.txt": b"outside!", "dir/o.txt": b"o"})
    d = make_tree(tmp_path / "d", {"a.txt": b"a", "sub/b.txt": b"b"})
    (d / "inside-link").symlink_to("a.txt")
    (d / "out-link").symlink_to(outside / "secret.txt")
    (d / "dir-link").symlink_to(outside / "dir")
    (d / "loop").symlink_to(d)
    (d / "dangling").symlink_to(tmp_path / "nowhere")
    os.mkfifo(d / "fifo")
    res = cli.ok("log", "ds", str(d))
    assert [r["path"] for r in cli.ok("files", "ds", "--json").json()] == ["a.txt", "inside-link", "sub/b.txt"]
    warnings = [ln for ln in res.err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1, res.err  # one warning names every skipped item
    for what in ("out-link (symlink out of the folder", "dir-link/ (symlink to a folder", "dangling (dangling",
                 "fifo (not a regular file", "loop/"):
        assert what in warnings[0]
    assert "5 items" in warnings[0]
    res = cli.ok("log", "ds", str(d), "--follow-symlinks")
    paths = [r["path"] for r in cli.ok("files", "ds", "--json").json()]
    assert paths == ["a.txt", "dir-link/o.txt", "inside-link", "out-link", "sub/b.txt"]
    assert "loop/ (symlink loop)" in res.err and "dangling" in res.err


# -- status and diff against a folder ---------------------------------------------------------------
def _restore_mtime_edit(path: Path, data: bytes) -> None:
    """Edit a file in place at the same size and put its mtime back."""
    st = path.stat()
    assert len(data) == st.st_size
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_status_of_a_folder_against_a_version(shared_cli: Cli, data: Path, tmp_path: Path) -> None:
    cli = shared_cli
    cli.ok("log", "ds", str(data))
    out = tmp_path / "out"
    cli.ok("download", "ds", "--root", str(out))
    same = cli("status", "ds", str(out), "--json")
    assert same.code == 0 and same.json()["identical"] is True and same.json()["unchanged"] == len(FILES)
    assert cli("status", "ds", str(out)).out == ""
    (out / "labels.csv").write_bytes(b"x,y,z\n")
    (out / "train" / "2.bin").unlink()
    (out / "extra.txt").write_bytes(b"new")
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_bytes(b"ignored as log ignores it")
    res = cli("status", "ds", str(out), "--json")
    assert res.code == 1
    doc = res.json()
    assert [e["path"] for e in doc["added"]] == ["extra.txt"]
    assert [e["path"] for e in doc["removed"]] == ["train/2.bin"]
    assert [e["path"] for e in doc["modified"]] == ["labels.csv"] and doc["modified"][0]["folder"]["size"] == 6
    assert cli("status", "ds", str(out)).out.splitlines() == ["A\textra.txt", "D\ttrain/2.bin", "M\tlabels.csv"]
    # the default folder is where download puts the version
    work = tmp_path / "work"
    work.mkdir()
    cli.ok("download", "ds", cwd=work)
    assert cli("status", "ds", cwd=work).code == 0
    assert cli("status", "ds", str(tmp_path / "missing")).code == 3


def test_status_compares_files_the_version_holds_whatever_the_ignore_rules(shared_cli: Cli, tmp_path: Path) -> None:
    """A version may hold what the default ignores leave out (logged with --no-ignore): its
    downloaded copy is identical, not 'removed'."""
    cli = shared_cli
    src = make_tree(tmp_path / "src", {".env": b"A=1\n", "__pycache__/m.pyc": b"pyc", "a.txt": b"a"})
    cli.ok("log", "ds", str(src), "--no-ignore")
    out = tmp_path / "out"
    cli.ok("download", "ds", "--root", str(out))
    assert cli("status", "ds", str(out)).code == 0
    assert cli("diff", "ds", str(out), "--exit-code").code == 0
    (out / "__pycache__" / "m.pyc").write_bytes(b"PYC")
    assert cli("status", "ds", str(out)).out == "M\t__pycache__/m.pyc\n"


def test_status_read_data_sees_an_edit_the_stat_cache_would_hide(shared_cli: Cli, data: Path,
                                                                 tmp_path: Path) -> None:
    cli = shared_cli
    cli.ok("log", "ds", str(data))
    out = tmp_path / "out"
    cli.ok("download", "ds", "--root", str(out))
    _restore_mtime_edit(out / "big.bin", b"\xff" * 10 + BIG[10:])
    res = cli("status", "ds", str(out), "--read-data", "--json")
    assert res.code == 1 and [e["path"] for e in res.json()["modified"]] == ["big.bin"]


def test_diff_with_a_folder_on_either_side(shared_cli: Cli, data: Path, tmp_path: Path) -> None:
    cli = shared_cli
    cli.ok("log", "ds", str(data))
    assert cli("diff", "ds", str(data), "--exit-code").code == 0
    (data / "labels.csv").write_bytes(b"changed\n")
    fwd = cli("diff", "ds", str(data), "--exit-code", "--json")
    assert fwd.code == 1
    assert fwd.json()["b"] == str(data) and [c["path"] for c in fwd.json()["files"]["changed"]] == ["labels.csv"]
    back = cli("diff", str(data), "ds:latest", "--exit-code")
    assert back.code == 1 and back.out.splitlines() == ["M\tlabels.csv\t8 B -> 4 B"]
    assert cli("diff", str(data), str(data), "--exit-code").code == 0  # two folders
    assert cli("diff", "ds", str(data)).code == 0  # differences without --exit-code: still 0


# -- download refuses local edits --------------------------------------------------------------------
def test_download_refuses_local_edits_unless_forced(shared_cli: Cli, data: Path, tmp_path: Path) -> None:
    cli = shared_cli
    cli.ok("log", "ds", str(data))
    (data / "labels.csv").write_bytes(b"v2\n")
    cli.ok("log", "ds", str(data))
    out = tmp_path / "out"
    cli.ok("download", "ds:v0", "--root", str(out))
    # moving to another version replaces files artcli wrote, without --force
    assert cli.ok("download", "ds:v1", "--root", str(out), "--json").json()["materialised"] == 1
    (out / "notes" / "readme.md").write_bytes(b"my notes\n")
    (out / "train" / "1.bin").write_bytes(b"edited")
    before = tree_bytes(out)
    res = cli("download", "ds:v0", "--root", str(out))
    assert res.code == 5 and "notes/readme.md" in res.err and "train/1.bin" in res.err
    assert tree_bytes(out) == before  # nothing written
    dry = cli.ok("download", "ds:v0", "--root", str(out), "--dry-run", "--json").json()
    assert dry["overwritten"] == ["notes/readme.md", "train/1.bin"]
    assert dry["would_write"] == ["labels.csv", "notes/readme.md", "train/1.bin"]
    assert tree_bytes(out) == before
    forced = cli.ok("download", "ds:v0", "--root", str(out), "--force", "--json")
    assert forced.json()["overwritten"] == ["notes/readme.md", "train/1.bin"] and "overwrote 2" in forced.err
    assert tree_bytes(out) == {**FILES}


def test_download_verify_rehashes_what_the_stat_cache_trusts(shared_cli: Cli, data: Path, tmp_path: Path) -> None:
    cli = shared_cli
    cli.ok("log", "ds", str(data))
    out = tmp_path / "out"
    cli.ok("download", "ds", "--root", str(out))
    _restore_mtime_edit(out / "labels.csv", b"A,B\n")
    res = cli("download", "ds", "--root", str(out), "--verify")
    assert res.code == 5 and "labels.csv" in res.err
    cli.ok("download", "ds", "--root", str(out), "--verify", "--force")
    assert tree_bytes(out) == FILES
    assert cli.ok("download", "ds", "--root", str(out), "--verify", "--json").json()["materialised"] == 0


def test_download_into_a_folder_of_foreign_files(shared_cli: Cli, data: Path, tmp_path: Path) -> None:
    """A file artcli never wrote that differs is not overwritten either; an equal one is adopted."""
    cli = shared_cli
    cli.ok("log", "ds", str(data))
    out = make_tree(tmp_path / "out", {"labels.csv": b"mine\n", "train/1.bin": FILES["train/1.bin"]})
    res = cli("download", "ds", "--root", str(out))
    assert res.code == 5 and "labels.csv" in res.err and "train/1.bin" not in res.err


# -- cat ---------------------------------------------------------------------------------------------
def test_cat_streams_one_verified_file(shared_cli: Cli, data: Path, tmp_path: Path) -> None:
    cli = shared_cli
    cli.ok("log", "ds", str(data))
    fresh = Cli(tmp_path / "other-home", cli.remote)  # an empty cache: the bytes come from the remote
    for path in ("labels.csv", "train/sub/3.bin", "notes/readme.md"):
        assert fresh.ok("cat", "ds", path).out.encode() == FILES[path]
    assert fresh.ok("cat", "ds:v0", "/notes/readme.md").out == "# data\n"
    assert cli("cat", "ds", "nope.txt").code == 3
    assert cli("cat", "ds", "train").code == 2


def test_cat_binary_bytes_exactly(shared_cli: Cli, data: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    shared_cli.ok("log", "ds", str(data))
    fresh = Cli(tmp_path / "other-home", shared_cli.remote)
    for path in ("big.bin", "train/2.bin", "big.bin"):  # the second big.bin comes from the cache
        got = subprocess.run([sys.executable, "-m", "artcli", "cat", "ds", path], env=fresh.proc_env(),
                             capture_output=True, timeout=120)
        assert got.returncode == 0 and got.stdout == FILES[path]


def test_cat_refuses_a_corrupt_pack(cli: Cli, data: Path, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(data))
    remote = Path(cli.remote.removeprefix("file://"))
    for pack in (remote / "packs").rglob("*"):
        if pack.is_file() and not pack.name.endswith(".idx"):
            flipped = bytes(b ^ 0xFF for b in pack.read_bytes())
            pack.chmod(0o644)
            pack.write_bytes(flipped)
    fresh = Cli(tmp_path / "other-home", cli.remote)
    res = fresh("cat", "ds", "train/1.bin")
    assert res.code == 4 and res.out == ""
