"""status and cat: a local folder against a version, one file of a version to stdout."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import (
    ExcludeOpt,
    IncludeOpt,
    JsonOpt,
    ProjectOpt,
    RemoteOpt,
    example,
    open_repo,
    parse,
)

ReadDataOpt = Annotated[bool, typer.Option(
    "--read-data", help="Re-hash every local file instead of trusting the stat cache.")]


def register(app: typer.Typer) -> None:
    app.command("status", epilog=example(
        "artcli status ds:production data/",
        "artcli status ds:production data/ --json | jq '.modified[].path'",
        "artcli -q status model:v3 ckpt/ || artcli download model:v3 --root ckpt/ --force",
    ))(status)
    app.command("cat", epilog=example(
        "artcli cat model:production config.json | jq .",
        "artcli cat mnist:v3 labels.csv | head",
    ))(cat)


def status(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias].", autocompletion=completion.complete_ref)],
    folder: Annotated[str | None, typer.Argument(help="The local folder. Default: where download puts the version (./artifacts/<name>/v<N>).")] = None,
    read_data: ReadDataOpt = False,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    follow_symlinks: Annotated[bool, typer.Option("--follow-symlinks", help="Follow every symlink in the folder, as log --follow-symlinks does.")] = False,
    no_ignore: Annotated[bool, typer.Option("--no-ignore", help="Compare everything in the folder: no .artcliignore, no default ignores.")] = False,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare a local folder with a version: files added, removed and modified.

    Exit 0 when they are identical, 1 when not (nothing is written). Lines: 'A|D|M<TAB>path',
    A for a file only in the folder, D only in the version, M different. The folder is taken
    as log would take it (.artcliignore, default ignores, symlink policy).
    """
    from artcli.ops.status import status as do_status

    repo = open_repo(remote, project)
    res = do_status(repo, parse(ref, repo), folder, read_data=read_data, include=include, exclude=exclude,
                    follow_symlinks=follow_symlinks, use_ignore=not no_ignore)
    for w in res.warnings:
        output.warn(w)
    if as_json:
        output.emit_json(res.to_json())
    else:
        for e in res.added:
            output.data(f"A\t{e.path}")
        for e in res.removed:
            output.data(f"D\t{e.path}")
        for v, _f in res.modified:
            output.data(f"M\t{v.path}")
        output.info(f"{res.folder} vs {res.ref}: " + ("identical" if res.identical else
                    f"{len(res.added)} added, {len(res.removed)} removed, {len(res.modified)} modified, "
                    f"{res.unchanged} unchanged files"))
    if not res.identical:
        raise typer.Exit(1)


def cat(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias].", autocompletion=completion.complete_ref)],
    path: Annotated[str, typer.Argument(help="The file's path inside the version (see artcli files).")],
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
) -> None:
    """Write one file of a version to stdout, verified against its digest first.

    A packed file is read with one ranged request out of its pack; what was fetched stays in
    the local cache.
    """
    from artcli.ops.cat import cat as do_cat

    repo = open_repo(remote, project)
    res = do_cat(repo, parse(ref, repo), path)
    for w in res.warnings:
        output.warn(w)
    if res.data is not None:
        output.raw(res.data)
    elif res.file is not None:
        output.raw_file(res.file)
