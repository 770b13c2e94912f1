"""describe: what people wrote about a version, changed after logging, with its history."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, RunOpt, example, open_repo, parse


def register(app: typer.Typer) -> None:
    app.command("describe", epilog=example("artcli describe model:v3 'trained on the March data, 3 epochs'",
                                           "artcli describe model:v3", "artcli describe model:v3 --clear --json",
                                           "artcli describe model@3f9c2a 'the one we shipped'"))(describe)


def describe(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias|@digest-prefix] or a registry reference; no tag means latest.",
                                       autocompletion=completion.complete_ref)],
    text: Annotated[str | None, typer.Argument(help="The new description. Without it: print the description and its history.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the description (kept in the history).")] = False,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change (or show) a version's description; every change is kept as an event.

    Prints the version reference on stdout after a change, the description when only showing.
    Setting the description it already has writes nothing.
    """
    from artcli.ops.describe import describe as do_describe

    repo = open_repo(remote, project, run)
    res = do_describe(repo, parse(ref, repo), text, clear=clear)
    for w in res.warnings:
        output.warn(w)
    if as_json:
        output.emit_json(res.to_json())
        return
    if text is None and not clear:
        if len(res.history) > 1:
            output.table(["time", "user", "run", "description"],
                         [[h["time"], h["user"], h["run"], h["description"]] for h in res.history])
        output.data(res.description or "")
        return
    if not res.changed:
        output.info(f"{res.ref} already has this description; nothing written")
    output.data(res.ref)
