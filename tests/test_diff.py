"""diff REF_A REF_B: files added / removed / changed and metadata that differs."""

from __future__ import annotations

import os
from pathlib import Path

from clihelp import Cli, make_tree

BIG = os.urandom((1 << 20) + 3)  # a loose blob; the rest are packed


def test_diff_files_and_metadata(cli: Cli, tmp_path: Path) -> None:
    d = make_tree(tmp_path / "d", {"same.txt": b"same\n", "edit.txt": b"old\n", "gone.txt": b"bye\n",
                                   "big.bin": BIG})
    cli.ok("log", "ds", str(d), "-m", "acc=0.5", "-m", "w:size=1KiB", "-m", "only_a=1", "-m", "flag=true")
    (d / "edit.txt").write_bytes(b"new content\n")
    (d / "gone.txt").unlink()
    make_tree(d, {"sub/new.txt": b"hello\n"})
    cli.ok("log", "ds", str(d), "-m", "acc=0.9", "-m", "w:size=2KiB", "-m", "only_b=x", "-m", "flag=1")
    res = cli.ok("diff", "ds:v0", "ds:latest", "--json").json()
    assert (res["a"], res["b"], res["same_content"]) == ("default/ds:v0", "default/ds:v1", False)
    files = res["files"]
    assert [f["path"] for f in files["added"]] == ["sub/new.txt"] and files["added"][0]["size"] == 6
    assert [f["path"] for f in files["removed"]] == ["gone.txt"]
    assert [f["path"] for f in files["changed"]] == ["edit.txt"]
    ch = files["changed"][0]
    assert (ch["a"]["size"], ch["b"]["size"]) == (4, 12) and ch["a"]["digest"] != ch["b"]["digest"]
    assert files["unchanged"] == 2
    md = res["metadata"]
    assert [(m["key"], m["value"]) for m in md["added"]] == [("only_b", "x")]
    assert [(m["key"], m["value"]) for m in md["removed"]] == [("only_a", 1)]
    changed = {m["key"]: (m["a"]["value"], m["b"]["value"]) for m in md["changed"]}
    assert changed == {"acc": (0.5, 0.9), "flag": (True, 1), "w": (1024, 2048)}  # true and 1 differ
    text = cli.ok("diff", "ds:v0", "ds:v1")
    assert text.out.splitlines() == [
        "A\tsub/new.txt\t6 B", "D\tgone.txt\t4 B", "M\tedit.txt\t4 B -> 12 B",
        "+\tonly_b\tx", "-\tonly_a\t1", "~\tacc\t0.5 -> 0.9", "~\tflag\ttrue -> 1", "~\tw\t1 KiB -> 2 KiB"]
    assert "1 added, 1 removed, 1 changed, 2 unchanged files; 5 metadata keys differ" in text.err
    # reversed, added and removed swap
    back = cli.ok("diff", "ds:v1", "ds:v0", "--json").json()
    assert [f["path"] for f in back["files"]["added"]] == ["gone.txt"]
    assert [f["path"] for f in back["files"]["removed"]] == ["sub/new.txt"]


def test_diff_identical_content_across_artifacts(cli: Cli, tmp_path: Path) -> None:
    d = make_tree(tmp_path / "d", {"a.txt": b"a\n", "b/c.txt": b"c\n"})
    cli.ok("log", "one", str(d), "-m", "k=1")
    cli.ok("log", "two", str(d), "-m", "k=1")
    res = cli.ok("diff", "one", "two", "--json").json()
    assert res["same_content"] is True and res["files"] == {"added": [], "removed": [], "changed": [], "unchanged": 2}
    assert res["metadata"] == {"added": [], "removed": [], "changed": []}
    assert cli.ok("diff", "one", "two").out == ""
    cli.ok("metadata", "set", "two", "k=2")
    res = cli.ok("diff", "one", "two", "--json").json()
    assert res["metadata"]["changed"] == [{"key": "k", "a": {"value": 1, "type": None, "display": "1"},
                                           "b": {"value": 2, "type": None, "display": "2"}}]


def test_diff_errors(cli: Cli, tmp_path: Path) -> None:
    d = make_tree(tmp_path / "d", {"a.txt": b"a\n"})
    cli.ok("log", "one", str(d))
    assert cli("diff", "one", "missing").code == 3
    assert cli("diff", "one:v0", "one:v5").code == 3
    assert cli("diff", "one", "bad ref").code == 2
