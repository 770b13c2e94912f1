"""A hidden ``debug`` group that makes a store inspectable: cat, events, fsck."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import output
from artcli.cli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, example, open_repo
from artcli.humanize import plural

debug_app = typer.Typer(help="Inspect a store's raw objects (for debugging).", no_args_is_help=True, hidden=True)


def register(app: typer.Typer) -> None:
    app.add_typer(debug_app, name="debug", hidden=True)


@debug_app.command("cat", epilog=example("artcli debug cat artcli-store.json"))
def cat(key: Annotated[str, typer.Argument(help="Object key relative to the remote root.")],
        remote: RemoteOpt = None, project: ProjectOpt = None) -> None:
    """Print an object's raw bytes (manifests are shown decompressed)."""
    from artcli.ops.raw import object_bytes

    repo = open_repo(remote, project)
    repo.check_marker = False  # a damaged marker is what one may want to look at
    output.raw(object_bytes(repo, key))


@debug_app.command("events", epilog=example("artcli debug events mnist"))
def events(name: Annotated[str, typer.Argument(help="Artifact name.")],
           remote: RemoteOpt = None, project: ProjectOpt = None) -> None:
    """Print an artifact's event log as JSON (one event per line, unparsable ones as null)."""
    import json

    from artcli.ops.raw import events as read_events

    for row in read_events(open_repo(remote, project), name):
        output.data(json.dumps(row, sort_keys=True))


@debug_app.command("fsck", epilog=example("artcli debug fsck --read-data"))
def fsck(read_data: Annotated[bool, typer.Option("--read-data", help="Download and verify every byte.")] = False,
         remote: RemoteOpt = None, project: ProjectOpt = None, as_json: JsonOpt = False) -> None:
    """Check that every live version is complete (and with --read-data, intact)."""
    from artcli.errors import IntegrityError
    from artcli.ops.fsck import fsck as do_fsck

    repo = open_repo(remote, project)
    repo.check_marker = False  # fsck reports a marker problem as a finding
    rep = do_fsck(repo, read_data=read_data)
    if as_json:
        output.emit_json(rep.to_json())
    else:
        for f in rep.findings:
            output.data(f"{f.kind}: {f.key}: {f.message}")
        found = plural(len(rep.problems), "problem") if rep.problems else "no problems"
        output.info(f"{plural(rep.versions, 'version')}, {plural(rep.files, 'file')} checked: {found}")
    if rep.problems:
        raise IntegrityError(f"fsck found {plural(len(rep.problems), 'problem')}")
