"""ttl set / show / default: when versions expire."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, RunOpt, example, open_repo, parse
from artcli.humanize import span

ttl_app = typer.Typer(help="Time to live: when versions expire (linked versions never do).", no_args_is_help=True)

RefArg = Annotated[str, typer.Argument(help="[project/]name[:vN|:alias]; no tag means latest.",
                                       autocompletion=completion.complete_ref)]


def register(app: typer.Typer) -> None:
    app.add_typer(ttl_app, name="ttl")


@ttl_app.command("set", epilog=example("artcli ttl set scratch:v3 30d",
                                       "artcli ttl set raw:v0 2030-01-31 --downstream",
                                       "artcli ttl set scratch:v3 never"))
def set_(
    ref: RefArg,
    value: Annotated[str, typer.Argument(help="A duration from now (30d, 12h, 2w, 1d12h), an ISO date, or 'never' to clear it.")],
    upstream: Annotated[bool, typer.Option("--upstream", help="Also every version it was made from (through lineage).")] = False,
    downstream: Annotated[bool, typer.Option("--downstream", help="Also every version made from it (through lineage).")] = False,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set when a version expires; an expired version stops resolving and gc frees its bytes.

    Prints each version reference that now has this TTL on stdout. A linked version is refused
    (exit 5); with --upstream/--downstream, linked, deleted or expired ones are skipped.
    """
    from artcli.ops.ttl import set_ttl

    repo = open_repo(remote, project, run)
    res = set_ttl(repo, parse(ref, repo), value, upstream=upstream, downstream=downstream)
    for w in res.warnings:
        output.warn(w)
    for s in res.skipped:
        output.warn(f"skipped {s['ref']}: {s['reason']}")
    if as_json:
        output.emit_json(res.to_json())
        return
    output.info(f"expires {res.expires}" if res.expires else "no expiry")
    for r in res.refs:
        output.data(r)


@ttl_app.command("show", epilog=example("artcli ttl show scratch:v3", "artcli ttl show scratch --json"))
def show(ref: RefArg, remote: RemoteOpt = None, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Show when a version expires and how long it has left."""
    from artcli.ops.ttl import show_ttl

    repo = open_repo(remote, project)
    info = show_ttl(repo, parse(ref, repo)).to_json()
    if as_json:
        output.emit_json(info)
        return
    output.fields([("ref", info["ref"]), ("expires", output.when(info["expires"]) if info["expires"] else "never"),
                   ("remaining", _remaining(info)), ("linked", info["linked"] or None),
                   ("project default", info["project_default"])])


def _remaining(info: dict[str, Any]) -> str | None:
    """``29 days`` for a person; the exact duration (``4w1d23h59m59s``) in a pipe."""
    left = info["remaining_seconds"]
    if left is None:
        return None
    if not output.stdout_tty():
        return info["remaining"]
    return span(left) if left > 0 else f"none (expired {span(left)} ago)"


@ttl_app.command("default", epilog=example("artcli ttl default 30d", "artcli ttl default never --project scratch"))
def default(
    value: Annotated[str, typer.Argument(help="A duration (30d, 12h, 2w, 1d12h), or 'never' for no default.")],
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set the TTL that versions logged from now on in a project get when log has no --ttl.

    Prints the project on stdout. Versions that exist keep their TTL.
    """
    from artcli.ops.ttl import set_default_ttl

    repo = open_repo(remote, project, run)
    res = set_default_ttl(repo, repo.project, value)
    if as_json:
        output.emit_json(res.to_json())
        return
    output.info(f"default TTL of {res.project}: {res.to_json()['default_ttl'] or 'none'}"
                + ("" if res.changed else " (unchanged)"))
    output.data(res.project)
