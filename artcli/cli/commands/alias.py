"""alias add / rm / ls, and history."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, RunOpt, example, open_repo, parse

alias_app = typer.Typer(help="Movable names for versions (production, best, ...).", no_args_is_help=True)

RefArg = Annotated[str, typer.Argument(
    help="[project/]name[:vN|:alias] or registry/<registry>/<collection>[:vN|:alias]; no tag means latest.",
    autocompletion=completion.complete_ref)]
NameArg = Annotated[str, typer.Argument(help="[project/]name or registry/<registry>/<collection>.",
                                        autocompletion=completion.complete_name)]
AliasesArg = Annotated[list[str], typer.Argument(help="One or more aliases.")]


def register(app: typer.Typer) -> None:
    app.add_typer(alias_app, name="alias")
    app.command("history", epilog=example("artcli history model:production",
                                           "artcli history registry/models/churn --json"))(history)


@alias_app.command("add", epilog=example("artcli alias add model:v4 production",
                                         "artcli alias add registry/models/churn:v2 production staging"))
def add(ref: RefArg, aliases: AliasesArg, remote: RemoteOpt = None, project: ProjectOpt = None,
        run: RunOpt = None, as_json: JsonOpt = False) -> None:
    """Put aliases on a version, moving each off the version that held it.

    Prints the version reference (project/name:vN) on stdout.
    """
    from artcli.ops.aliases import add_aliases

    repo = open_repo(remote, project, run)
    res = add_aliases(repo, parse(ref, repo), aliases)
    for c in res.changes:
        output.info(f"{c['alias']}: {c['from'] or '-'} -> {c['to']}")
    output.emit_json(res.to_json()) if as_json else output.data(res.ref)


@alias_app.command("rm", epilog=example("artcli alias rm model staging", "artcli alias rm registry/models/churn canary"))
def rm(name: NameArg, aliases: AliasesArg, remote: RemoteOpt = None, project: ProjectOpt = None,
       run: RunOpt = None, as_json: JsonOpt = False) -> None:
    """Remove aliases from an artifact or collection.

    Prints the version reference each alias was removed from on stdout.
    """
    from artcli.ops.aliases import remove_aliases

    repo = open_repo(remote, project, run)
    results = remove_aliases(repo, parse(name, repo), aliases)
    if as_json:
        output.emit_json([r.to_json() for r in results])
        return
    for r in results:
        output.data(r.ref)


@alias_app.command("ls", epilog=example("artcli alias ls model", "artcli alias ls model --history --json"))
def ls(name: NameArg, show_history: Annotated[bool, typer.Option("--history", help="Show every alias move instead.")] = False,
       remote: RemoteOpt = None, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """List the aliases of an artifact or collection (latest first)."""
    from artcli.ops.aliases import history as do_history
    from artcli.ops.aliases import list_aliases

    repo = open_repo(remote, project)
    ref = parse(name, repo)
    if show_history:
        _print_history([m.to_json() for m in do_history(repo, ref)], as_json)
        return
    rows = [a.to_json() for a in list_aliases(repo, ref)]
    if as_json:
        output.emit_json(rows)
    else:
        output.table(["alias", "version", "ref", "source"],
                     [[r["alias"], r["version"], r["ref"], r.get("source")] for r in rows], keep=["alias", "version", "ref"])


def history(ref: RefArg, remote: RemoteOpt = None, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Show every alias move of an artifact or collection: who, which run, when, from -> to.

    A tag narrows it: name:production shows that alias, name:v3 the moves from or to v3.
    """
    from artcli.ops.aliases import history as do_history

    repo = open_repo(remote, project)
    parsed = parse(ref, repo)
    _print_history([m.to_json() for m in do_history(repo, parsed, "latest" if ref.endswith(":latest") else None)],
                   as_json)


def _print_history(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        output.emit_json(rows)
        return
    output.table(["time", "alias", "from", "to", "user", "run"],
                 [[output.when(r["time"]), r["alias"], r["from"], r["to"], r["user"], r["run"]] for r in rows],
                 keep=["time", "alias", "from", "to", "run"])
