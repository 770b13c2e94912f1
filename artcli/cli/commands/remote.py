"""remote add / ls / rm."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import output
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
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="KEY=VALUE backend option, e.g. endpoint_url (repeatable). Never credentials.")] = None,
    local: Annotated[bool, typer.Option("--local", help="Write to ./artcli.toml instead of the user config.")] = False,
) -> None:
    """Add (or replace) a named remote."""
    from artcli.config import add_remote

    opts = {}
    for item in option or []:
        k, sep, v = item.partition("=")
        if not sep:
            raise UsageError(f"--option must be KEY=VALUE, got {item!r}")
        opts[k.strip()] = v
    path = add_remote(name, url, opts, default=default, local=local)
    output.info(f"remote {name!r} saved in {path}")
    output.data(name)


@remote_app.command("ls", epilog=example("artcli remote ls --json"))
def ls(as_json: JsonOpt = False) -> None:
    """List configured remotes."""
    from artcli.config import list_remotes, resolve

    rows = list_remotes()
    if as_json:
        output.emit_json(rows)
        return
    if not rows:
        output.info(f"no remotes configured; using the embedded store at {resolve().remote_url}")
    output.table(["name", "url", "default", "options"],
                 [[r["name"], r["url"], "*" if r["default"] else "", r["options"] or None] for r in rows])


@remote_app.command("rm", epilog=example("artcli remote rm team"))
def rm(
    name: Annotated[str, typer.Argument(help="Remote name.")],
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
    options = dict(settings.options)
    for item in option or []:
        k, sep, v = item.partition("=")
        if not sep:
            raise UsageError(f"--option must be KEY=VALUE, got {item!r}")
        options[k.strip()] = v
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
