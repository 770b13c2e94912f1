"""registry create / ls / show, link, unlink."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, RunOpt, example, open_repo, parse

registry_app = typer.Typer(help="Org-level shelves of collections (models, datasets, custom ones).",
                           no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
    app.command("link", epilog=example(
        "artcli link churn-model:v4 registry/models/churn --alias production",
        "artcli link ds:latest registry/datasets/churn-train --json"))(link)
    app.command("unlink", epilog=example("artcli unlink registry/models/churn:v1"))(unlink)


@registry_app.command("create", epilog=example(
    "artcli registry create evals --accept-type eval-report --description 'Evaluation reports'",
    "artcli registry create scratch"))
def create(
    name: Annotated[str, typer.Argument(help="Registry name.")],
    accept_type: Annotated[list[str] | None, typer.Option("--accept-type", "-t", help="Artifact type the registry accepts (repeatable). Default: any type.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", help="What the registry is for.")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a custom registry; re-running it with the same types is a no-op.

    Prints registry/<name> on stdout.
    """
    from artcli.ops.registry import create_registry

    repo = open_repo(remote, project, run)
    res = create_registry(repo, name, accept_type, description)
    for w in res.warnings:
        output.warn(w)
    output.emit_json(res.to_json()) if as_json else output.data(res.registry.to_json()["ref"])


@registry_app.command("ls", epilog=example("artcli registry ls", "artcli registry ls --json"))
def ls(remote: RemoteOpt = None, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """List registries: the core ones (models, datasets) and custom ones."""
    from artcli.ops.registry import list_registries

    rows = [r.to_json() for r in list_registries(open_repo(remote, project))]
    if as_json:
        output.emit_json(rows)
        return
    output.table(["name", "accepts", "collections", "description"],
                 [[r["name"], r["accept_types"] or "any", r["collections"], r["description"]] for r in rows])


@registry_app.command("show", epilog=example("artcli registry show models", "artcli registry show models --json"))
def show(
    name: Annotated[str, typer.Argument(help="Registry name.")],
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a registry's settings and its collections."""
    from artcli.ops.registry import show_registry

    repo = open_repo(remote, project)
    report = show_registry(repo, name)
    for w in report.warnings:
        output.warn(w)
    info = report.to_json()
    completion.remember_collections(repo, {c["ref"]: ([lk["version"] for lk in c["links"]], list(c["aliases"]))
                                           for c in info["collections"]})
    if as_json:
        output.emit_json(info)
        return
    output.info(f"{info['ref']}: accepts {', '.join(info['accept_types'] or ['any type'])}"
                + (f" — {info['description']}" if info["description"] else ""))
    output.table(["collection", "versions", "latest", "source", "aliases", "updated"],
                 [[c["ref"], c["versions"], c["latest"], c["source"],
                   [f"{a}={v}" for a, v in c["aliases"].items()] or None, output.when(c["updated"])]
                  for c in info["collections"]], keep=["collection", "latest", "source"])


def link(
    ref: Annotated[str, typer.Argument(help="The version to link: [project/]name[:vN|:alias].",
                                       autocompletion=completion.complete_ref)],
    target: Annotated[str, typer.Argument(help="registry/<registry>/<collection>; created by its first link.",
                                          autocompletion=completion.complete_collection)],
    alias: Annotated[list[str] | None, typer.Option("--alias", "-a", help="Alias for the collection version (repeatable).")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Link a version into a registry collection; the collection numbers it v0, v1, ...

    Linking a version the collection already holds is a no-op. Prints the collection
    version (registry/<registry>/<collection>:vN) on stdout.
    """
    from artcli.ops.registry import link as do_link

    repo = open_repo(remote, project, run)
    res = do_link(repo, parse(ref, repo), parse(target, repo), alias)
    coll, _, version = res.ref.partition(":")
    completion.remember_collections(repo, {coll: ([version], res.aliases)}, merge=True)
    output.info(f"linked {res.link.source_ref} as {res.ref}" if res.created
                else f"{res.link.source_ref} is already linked as {res.ref}")
    output.emit_json(res.to_json()) if as_json else output.data(res.ref)


def unlink(
    target: Annotated[str, typer.Argument(help="registry/<registry>/<collection>:vN.",
                                          autocompletion=completion.complete_collection_version)],
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a version from a collection (its aliases go with it); the artifact is untouched.

    Prints the collection version on stdout; unlinking it again is a no-op.
    """
    from artcli.ops.registry import unlink as do_unlink

    repo = open_repo(remote, project, run)
    res = do_unlink(repo, parse(target, repo))
    output.info(f"unlinked {res.ref} ({res.link.source_ref})" if res.removed else f"{res.ref} was already unlinked")
    output.emit_json(res.to_json()) if as_json else output.data(res.ref)
