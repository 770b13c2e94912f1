"""describe, copy, projects: curating versions (their words, their place on other remotes) and
finding what a remote holds."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, RunOpt, example, open_repo, parse


def register(app: typer.Typer) -> None:
    app.command("describe", epilog=example("artcli describe model:v3 'trained on the March data, 3 epochs'",
                                           "artcli describe model:v3", "artcli describe model:v3 --clear --json",
                                           "artcli describe model@3f9c2a 'the one we shipped'"))(describe)
    app.command("copy", epilog=example("artcli copy model:production --to prod",
                                       "artcli copy model:v3 --to s3://prod-artifacts/ml --project serving --alias live",
                                       "artcli copy registry/models/churn:latest --to prod --keep-aliases --json"))(copy)
    app.command("projects", epilog=example("artcli projects", "artcli projects --remote team --json"))(projects)
    app.command("rename", epilog=example("artcli rename churn-model churn-classifier",
                                         "artcli rename vision/old-name new-name --json"))(rename)


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


def copy(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias|@digest-prefix] or a registry reference; no tag means latest.",
                                       autocompletion=completion.complete_ref)],
    to: Annotated[str, typer.Option("--to", help="The destination: a remote name (artcli remote add) or URL.")],
    into: Annotated[str | None, typer.Option("--project", "-p", help="Project on the destination. Default: the source version's project.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Artifact name on the destination. Default: the source's name.")] = None,
    alias: Annotated[list[str] | None, typer.Option("--alias", "-a", help="Alias to put on the copy (repeatable).")] = None,
    keep_aliases: Annotated[bool, typer.Option("--keep-aliases", help="Also put the custom aliases it has on the source.")] = False,
    remote: RemoteOpt = None,
    source_project: Annotated[str | None, typer.Option("--from-project", help="Project of REF on the source remote when REF names none.")] = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy a version to another remote: the same bytes, manifest, description and metadata.

    Sends only what the destination lacks, verified; idempotent and resumable (re-run after an
    interruption). Prints the destination reference on stdout.
    """
    from artcli.ops.copy import copy_version

    repo = open_repo(remote, source_project, run)
    dest = open_repo(to, None, run)
    rep = output.TerminalProgress()
    try:
        res = copy_version(repo, parse(ref, repo), dest, project=into, name=name, aliases=alias,
                           keep_aliases=keep_aliases, reporter=rep)
    finally:
        rep.close()
    for w in res.warnings:
        output.warn(w)
    output.emit_json(res.to_json()) if as_json else output.data(res.ref)


def projects(
    remote: RemoteOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the projects of a remote, with how many artifacts each holds."""
    from artcli.ops.projects import list_projects

    repo = open_repo(remote, None)
    res = list_projects(repo)
    for w in res.warnings:
        output.warn(w)
    if as_json:
        output.emit_json(res.to_json())
        return
    output.table(["project", "artifacts"], [[r["project"], r["artifacts"]] for r in res.rows])


def rename(
    artifact: Annotated[str, typer.Argument(help="[project/]name of the artifact.", autocompletion=completion.complete_name)],
    new_name: Annotated[str, typer.Argument(help="Its new name (same project).")],
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rename an artifact: every version, alias and event moves; the old name keeps resolving.

    Refused while a registry link names it (unlink, rename, link again). Prints the new name.
    """
    from artcli.ops.rename import rename_artifact

    repo = open_repo(remote, project, run)
    res = rename_artifact(repo, parse(artifact, repo), new_name)
    for w in res.warnings:
        output.warn(w)
    if as_json:
        output.emit_json(res.to_json())
        return
    output.data(res.new)
