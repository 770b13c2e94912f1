"""remote add / ls / rm."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import output
from artcli.cli.commands.common import JsonOpt, example

remote_app = typer.Typer(help="Configure remotes (S3, GCS, local folders).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(remote_app, name="remote")


@remote_app.command("add", epilog=example(
    "artcli remote add team s3://ml-artifacts/team --default",
    "artcli remote add minio s3://bucket --option endpoint_url=http://127.0.0.1:9000"))
def add(
    name: Annotated[str, typer.Argument(help="Remote name.")],
    url: Annotated[str, typer.Argument(help="s3://bucket/prefix, gs://bucket/prefix, file:///path or a path.")],
    default: Annotated[bool, typer.Option("--default", help="Make it the default remote.")] = False,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="KEY=VALUE backend option, e.g. endpoint_url (repeatable). Never credentials.")] = None,
    local: Annotated[bool, typer.Option("--local", help="Write to ./artcli.toml instead of the user config.")] = False,
) -> None:
    """Add (or replace) a named remote."""
    from artcli.config import add_remote
    from artcli.errors import UsageError

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
