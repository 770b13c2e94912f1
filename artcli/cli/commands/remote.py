"""remote add / default / ls / show / rm / check."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import JsonOpt, example
from artcli.errors import UsageError

remote_app = typer.Typer(help="Configure and check remotes (S3, GCS, Azure, local folders).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(remote_app, name="remote")


@remote_app.command("add", epilog=example(
    "artcli remote add team s3://ml-artifacts/team --default",
    "artcli remote add minio s3://bucket --option endpoint_url=http://127.0.0.1:9000"))
def add(
    name: Annotated[str, typer.Argument(help="Remote name.")],
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix, gs://bucket/prefix, az://container/prefix, "
                                            "file:///path or a path.")],
    default: Annotated[bool, typer.Option("--default", help="Make it the default remote.")] = False,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="KEY=VALUE backend option, e.g. endpoint_url (repeatable); KEY= removes one. Never credentials.")] = None,
    local: Annotated[bool, typer.Option("--local", help="Write to ./artcli.toml instead of the user config.")] = False,
) -> None:
    """Add a named remote, or update one (its other options are kept for a URL of the same kind).

    The URL and every option are checked now, before anything is saved.
    """
    from artcli.config import add_remote

    saved = add_remote(name, url, _options(option), default=default, local=local)
    verb = "updated" if saved.replaced else "saved"
    output.info(f"remote {name!r} {verb} in {saved.path}")
    if saved.kept:
        output.info(f"kept its option{'s' if len(saved.kept) > 1 else ''} {', '.join(saved.kept)} "
                    "(--option KEY= removes one)")
    if saved.dropped:
        output.warn(f"dropped option{'s' if len(saved.dropped) > 1 else ''} {', '.join(saved.dropped)}: "
                    "they were for the remote's previous kind of URL")
    _overridden(saved.overridden_by)
    if not default and not saved.replaced:
        output.info(f"use it with -r {name}, or make it the default: artcli remote default {name}")
    output.data(name)


def _options(items: list[str] | None) -> dict[str, str]:
    opts: dict[str, str] = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep or not k.strip():
            raise UsageError(f"--option must be KEY=VALUE, got {item!r}")
        opts[k.strip()] = v
    return opts


def _overridden(project_file: str | None) -> None:
    if project_file:
        output.warn(f"{project_file} names another default remote, which wins in this directory")


@remote_app.command("default", epilog=example("artcli remote default team", "artcli remote default minio --local"))
def default_(
    name: Annotated[str, typer.Argument(help="Remote name.", autocompletion=completion.complete_remote)],
    local: Annotated[bool, typer.Option("--local", help="Write to ./artcli.toml instead of the user config.")] = False,
) -> None:
    """Make a configured remote the default."""
    from artcli.config import set_default

    saved = set_default(name, local=local)
    output.info(f"default remote is now {name!r} ({saved.path})")
    _overridden(saved.overridden_by)
    output.data(name)


@remote_app.command("ls", epilog=example("artcli remote ls", "artcli remote ls --json"))
def ls(as_json: JsonOpt = False) -> None:
    """List configured remotes; the one in effect here is marked."""
    from artcli.config import list_remotes, remote_source, resolve

    rows = list_remotes()
    if as_json:
        output.emit_json(rows)
        return
    settings = resolve()
    if settings.remote_name is None:
        output.info(f"in effect: {settings.remote_url} ({remote_source()})")
    else:
        output.info(f"in effect: {settings.remote_name} ({remote_source()})")
    output.table(["", "name", "url", "default", "options"],
                 [["*" if r["active"] else "", r["name"], r["url"], "yes" if r["default"] else "",
                   r["options"] or None] for r in rows])


@remote_app.command("show", epilog=example("artcli remote show", "artcli remote show team --json"))
def show(
    name: Annotated[str | None, typer.Argument(help="Remote name. Default: the one in effect.",
                                               autocompletion=completion.complete_remote, show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a remote: URL, options, whether it is in effect here, and why."""
    from artcli.config import show_remote

    info = show_remote(name)
    if as_json:
        output.emit_json(info)
        return
    output.fields([("name", info["name"] or "(none: a URL or the embedded store)"), ("url", info["url"]),
                   ("options", info["options"] or None), ("default", "yes" if info["default"] else "no"),
                   ("in effect", f"yes ({info['source']})" if info["active"] else "no"),
                   ("defined in", info["defined_in"])])


@remote_app.command("rm", epilog=example("artcli remote rm team"))
def rm(
    name: Annotated[str, typer.Argument(help="Remote name.", autocompletion=completion.complete_remote)],
    local: Annotated[bool, typer.Option("--local", help="Remove from ./artcli.toml.")] = False,
) -> None:
    """Remove a named remote."""
    from artcli.config import remove_remote

    remove_remote(name, local=local)
    output.data(name)


@remote_app.command("check", epilog=example(
    "artcli remote check team",
    "artcli remote check s3://bucket/prefix -o endpoint_url=https://minio.internal:9000 --json",
    "artcli remote check --writers 16 --trials 50"))
def check(
    remote: Annotated[str | None, typer.Argument(help="Remote name or URL. Default: the current remote.",
                                                 show_default=False)] = None,
    writers: Annotated[int, typer.Option("--writers", "-w", help="Writers racing on each key.")] = 8,
    processes: Annotated[int, typer.Option("--processes", help="Processes the writers are spread over.")] = 2,
    trials: Annotated[int, typer.Option("--trials", help="Keys raced on (more: a rarer race shows up).")] = 20,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="KEY=VALUE backend option for a URL (repeatable).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Probe a remote for safe shared use: racing exclusive creates, read/list-after-write, ranges.

    Everything happens under a throw-away prefix (artcli-check/...), removed at the end.
    Exit 0 when the store is safe for concurrent writers, 5 when it is not, 6 when it cannot
    be reached.
    """
    from artcli.config import resolve
    from artcli.errors import ConflictError
    from artcli.ops.remotecheck import check_remote

    settings = resolve(remote)
    options = {**settings.options, **_options(option)}
    output.info(f"checking {settings.remote_url}: {writers} writers racing on {trials} keys, then reads, lists, ranges")
    report = check_remote(settings.remote_url, options, writers=writers, processes=processes, trials=trials)
    for warning in report.warnings:
        output.warn(warning)
    if as_json:
        output.emit_json(report.to_json())
    else:
        output.table(["capability", "verdict", "required", "detail"],
                     [[c.name, c.verdict, "yes" if c.required else "no", c.detail] for c in report.capabilities])
    if report.safe:
        output.info(f"{report.url} is safe for concurrent writers")
    else:
        failed = [c.name for c in report.capabilities if c.required and c.verdict != "ok"]
        raise ConflictError(f"{report.url} is not safe for concurrent writers: " + ", ".join(failed))
