"""A hidden ``debug`` group that makes a store inspectable: cat, events, fsck."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from artcli import output
from artcli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, example, open_repo

debug_app = typer.Typer(help="Inspect a store's raw objects (for debugging).", no_args_is_help=True, hidden=True)


def register(app: typer.Typer) -> None:
    app.add_typer(debug_app, name="debug", hidden=True)


@debug_app.command("cat", epilog=example("artcli debug cat artcli-store.json"))
def cat(key: Annotated[str, typer.Argument(help="Object key relative to the remote root.")],
        remote: RemoteOpt = None, project: ProjectOpt = None) -> None:
    """Print an object's raw bytes (manifests are shown decompressed)."""
    repo = open_repo(remote, project)
    repo.check_marker = False  # a damaged marker is what one may want to look at
    data = repo.store.get(key)
    if key.endswith(".gz"):
        import gzip

        data = gzip.decompress(data)
    buf = getattr(sys.stdout, "buffer", None)
    if buf is not None:
        buf.write(data)
        buf.flush()
    else:  # stdout replaced by a text stream (tests, notebooks)
        sys.stdout.write(data.decode("utf-8", "replace"))


@debug_app.command("events", epilog=example("artcli debug events mnist"))
def events(name: Annotated[str, typer.Argument(help="Artifact name.")],
           remote: RemoteOpt = None, project: ProjectOpt = None) -> None:
    """Print an artifact's event log as JSON (one event per line, unparsable ones as null)."""
    from artcli.model import check_name

    repo = open_repo(remote, project)
    import json

    for key, ev in repo.artifact_log(repo.project, check_name(name)).read():
        output.data(json.dumps({"key": key, "event": ev}, sort_keys=True))


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
        output.info(f"{rep.versions} versions, {rep.files} files checked: "
                    f"{len(rep.problems) or 'no'} problem(s)")
    if rep.problems:
        raise IntegrityError(f"fsck found {len(rep.problems)} problem(s)")
