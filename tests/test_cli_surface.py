"""Walk the Typer tree: every command has a summary, explained options, examples that parse, and a
current entry in the generated reference (docs/cli.md)."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest

from artcli.cli import devtools

from clihelp import Cli

COMMANDS = [(p, c) for p, c in devtools.walk(devtools.command_tree()) if p and not getattr(c, "hidden", False)]
LEAVES = [(p, c) for p, c in COMMANDS if not hasattr(c, "commands")]
REFERENCE = (devtools.ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def _ids(items: list[tuple[tuple[str, ...], Any]]) -> list[str]:
    return [" ".join(p) for p, _ in items]


def examples(cmd: Any) -> list[list[str]]:
    """The artcli command lines in a command's epilog, as argv: environment prefixes, ``$(...)``
    and anything after a pipe or a redirection left out."""
    out = []
    for line in (getattr(cmd, "epilog", None) or "").splitlines():
        line = line.strip()
        found = re.search(r"(?:^|\$\(|\s)(artcli\s.*)", line[2:]) if line.startswith("$ ") else None
        if found:
            argv = shlex.split(found.group(1).removesuffix(")"), comments=True)
            cut = [i for i, tok in enumerate(argv) if tok in ("|", ">", ">>")]
            out.append(argv[:cut[0]] if cut else argv)
    return out


def test_the_walk_finds_the_commands() -> None:
    names = set(_ids(COMMANDS))
    assert {"log", "download", "ls", "metadata set", "registry create", "lineage"} <= names
    assert len(LEAVES) >= 30


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=_ids(COMMANDS))
def test_every_command_has_help_and_example(path: tuple[str, ...], cmd: Any) -> None:
    summary = (getattr(cmd, "help", None) or "").strip().splitlines()
    assert summary and len(summary[0]) <= 100, f"{path}: needs a one-line summary"
    if not hasattr(cmd, "commands"):  # leaf commands carry examples
        epilog = getattr(cmd, "epilog", None) or ""
        assert "$ artcli " + " ".join(path) in epilog, f"{path}: needs an example in its epilog"


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=_ids(COMMANDS))
def test_every_argument_and_option_is_explained(path: tuple[str, ...], cmd: Any) -> None:
    bare = [p.name for p in cmd.params
            if not getattr(p, "hidden", False) and p.name != "help" and not (getattr(p, "help", None) or "").strip()]
    assert not bare, f"{' '.join(path)}: add help= to {', '.join(map(str, bare))}"


@pytest.mark.parametrize(("path", "cmd"), LEAVES, ids=_ids(LEAVES))
def test_examples_parse(path: tuple[str, ...], cmd: Any) -> None:
    """Every example of the command names options that exist, with values they accept."""
    own = [argv for argv in examples(cmd) if tuple(argv[1:1 + len(path)]) == path]
    assert own, f"{' '.join(path)}: no example runs this command"
    for argv in own:
        cmd.make_context(" ".join(argv[:1 + len(path)]), argv[1 + len(path):])  # raises on a bad example


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=_ids(COMMANDS))
def test_every_command_is_in_the_reference(path: tuple[str, ...], cmd: Any) -> None:
    assert f"\n## `artcli {' '.join(path)}`\n" in REFERENCE, f"{' '.join(path)}: run make docs"


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=_ids(COMMANDS))
def test_help_runs(path: tuple[str, ...], cmd: Any, cli: Cli) -> None:
    r = cli(*path, "--help")
    assert r.code == 0 and "Usage" in r.out


def test_generated_reference_and_completions_are_current() -> None:
    assert devtools.main(["check"]) == 0, "run: make docs (python -m artcli.cli.devtools all)"
