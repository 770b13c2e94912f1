"""Walk the Typer tree: every command has a summary, a real example and a current reference."""

from __future__ import annotations

import pytest

from artcli.cli import devtools

from clihelp import Cli

COMMANDS = [(p, c) for p, c in devtools.walk(devtools.command_tree()) if p and not getattr(c, "hidden", False)]


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_and_example(path: tuple[str, ...], cmd: object) -> None:
    summary = (getattr(cmd, "help", None) or "").strip().splitlines()
    assert summary and len(summary[0]) <= 100, f"{path}: needs a one-line summary"
    if not hasattr(cmd, "commands"):  # leaf commands carry examples
        epilog = getattr(cmd, "epilog", None) or ""
        assert "$ artcli " + " ".join(path) in epilog, f"{path}: needs an example in its epilog"


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_runs(path: tuple[str, ...], cmd: object, cli: Cli) -> None:
    r = cli(*path, "--help")
    assert r.code == 0 and "Usage" in r.out


def test_generated_reference_and_completions_are_current() -> None:
    assert devtools.main(["check"]) == 0, "run: python -m artcli.cli.devtools all"
