"""Generated files kept in sync with the Typer app: docs/cli.md and completions/.

``python -m artcli.cli.devtools docs|completions|check``; tests/test_cli_surface.py fails when a
generated file is stale, so the reference can never drift from the code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHELLS = {"bash": "artcli.bash", "zsh": "_artcli", "fish": "artcli.fish"}


def command_tree() -> Any:
    import typer

    from artcli.cli.app import app

    return typer.main.get_command(app)  # type: ignore[return-value]


def walk(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command, depth first, in name order; hidden ones included.

    Duck-typed: typer vendors its own click in some versions."""
    yield path, group
    if hasattr(group, "commands"):
        for name in sorted(group.commands):
            yield from walk(group.commands[name], (*path, name))


def _clean(text: str | None) -> str:
    return "\n".join(line for line in (text or "").replace("\b\n", "").splitlines()).strip()


def render_docs() -> str:
    root = command_tree()
    out = ["# artcli command reference", "",
           "Generated from the Typer app by `python -m artcli.cli.devtools docs`; a test keeps it in sync.", ""]
    for path, cmd in walk(root):
        if not path or getattr(cmd, "hidden", False):
            continue
        name = " ".join(("artcli", *path))
        out += [f"## `{name}`", ""]
        out += [_clean(cmd.help), ""]
        ctx = cmd.context_class(cmd, info_name=name)
        out += ["```", cmd.get_usage(ctx).replace("Usage: ", "usage: "), "```", ""]
        params = [p for p in cmd.params if not getattr(p, "hidden", False) and p.name != "help"]
        if params:
            out += ["| argument / option | description |", "| --- | --- |"]
            for p in params:
                is_opt = getattr(p, "param_type_name", "") == "option"
                names = ", ".join(f"`{o}`" for o in (p.opts + p.secondary_opts)) if is_opt \
                    else f"`{(p.name or '').upper()}`"
                desc = (getattr(p, "help", None) or "").replace("|", "\\|").replace("\n", " ")
                out.append(f"| {names} | {desc} |")
            out.append("")
        if cmd.epilog:
            out += [_clean(cmd.epilog).replace("Examples:", "Examples:\n\n```console").rstrip() + "\n```", ""]
    return "\n".join(out).rstrip() + "\n"


def render_completion(shell: str) -> str:
    """What ``artcli --show-completion SHELL`` prints (bash: artcli.cli.completion.BASH_SCRIPT)."""
    from typer._completion_shared import get_completion_script

    import artcli.cli.app  # noqa: F401  (installs artcli's bash script)

    return get_completion_script(prog_name="artcli", complete_var="_ARTCLI_COMPLETE", shell=shell) + "\n"


def expected_files() -> dict[Path, str]:
    files = {ROOT / "docs" / "cli.md": render_docs()}
    for shell, fname in SHELLS.items():
        files[ROOT / "completions" / fname] = render_completion(shell)
    return files


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "check"
    files = expected_files()
    if what == "check":
        stale = [str(p.relative_to(ROOT)) for p, text in files.items() if not p.exists() or p.read_text() != text]
        if stale:
            print("stale: " + ", ".join(stale) + " (run: python -m artcli.cli.devtools docs completions)")
            return 1
        return 0
    for p, text in files.items():
        if (what == "docs" and p.suffix == ".md") or (what == "completions" and p.suffix != ".md") or what == "all":
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
            print(p.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
