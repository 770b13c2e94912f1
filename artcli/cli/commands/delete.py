"""delete and gc: removing versions, and freeing the bytes nothing live needs."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import (
    DryRunOpt,
    JsonOpt,
    ProjectOpt,
    RemoteOpt,
    RunOpt,
    example,
    open_repo,
    parse,
    tell_preview,
)
from artcli.humanize import plural


def register(app: typer.Typer) -> None:
    app.command("delete", epilog=example("artcli delete scratch:v3", "artcli delete model:v1 --force",
                                         "artcli delete model:v1 --force --dry-run",
                                         "artcli delete scratch --all"))(delete)
    app.command("gc", epilog=example("artcli gc --dry-run", "artcli gc --grace 2h --json"))(gc)


def delete(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias]; no tag means latest.",
                                       autocompletion=completion.complete_ref)],
    force: Annotated[bool, typer.Option("--force", help="Delete even if it holds custom aliases (removed) or registry links (unlinked).")] = False,
    dry_run: DryRunOpt = False,
    all_versions: Annotated[bool, typer.Option("--all", help="Delete the whole artifact: every live version, with the same protections, checked for all before anything is deleted.")] = False,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a version (--all: a whole artifact); it stops resolving now, gc frees its bytes later.

    Prints the deleted version reference(s) on stdout. A version holding a custom alias or a
    registry link is refused (exit 5) unless --force; a version a live composite holds as a
    component (log --component) is always refused.
    """
    from artcli.ops.delete import delete_artifact, delete_version

    repo = open_repo(remote, project, run)
    if all_versions:
        whole = delete_artifact(repo, parse(ref, repo), force=force, dry_run=dry_run)
        tell_preview(whole.would_write)
        for w in whole.warnings:
            output.warn(w)
        if as_json:
            output.emit_json(whole.to_json())
            return
        for link in whole.unlinked:
            output.info(f"unlinked {link}")
        if whole.removed_aliases:
            output.info(f"removed aliases: {', '.join(whole.removed_aliases)}")
        if not whole.deleted:
            output.info(f"{whole.artifact} had no live version left; nothing deleted")
        for r in whole.deleted:
            output.data(r)
        return
    res = delete_version(repo, parse(ref, repo), force=force, dry_run=dry_run)
    tell_preview(res.would_write)
    if as_json:
        output.emit_json(res.to_json())
        return
    for link in res.unlinked:
        output.info(f"unlinked {link}")
    if res.removed_aliases:
        output.info(f"removed aliases: {', '.join(res.removed_aliases)}")
    output.data(res.ref)


def gc(
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Only list what would be expired and deleted, with sizes.")] = False,
    grace: Annotated[str, typer.Option("--grace", help="Keep objects younger than this (uploads in progress).")] = "24h",
    wait: Annotated[str, typer.Option("--wait", help="How long to wait for writes in progress before giving up.")] = "10m",
    remote: RemoteOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Expire versions past their TTL, then delete every object no live version or registry link needs.

    Covers every project of the remote. Prints each expired version and each deleted object
    (kind, key, size) on stdout; --dry-run prints the same list and changes nothing.
    """
    from artcli.durations import parse_duration
    from artcli.ops.gc import gc as do_gc

    grace_s, wait_s = parse_duration(grace), parse_duration(wait)
    repo = open_repo(remote, None, run)
    rep = output.TerminalProgress()
    try:
        res = do_gc(repo, dry_run=dry_run, grace=grace_s, wait=float(wait_s), reporter=rep)
    finally:
        rep.close()
    for w in res.warnings:
        output.warn(w)
    if as_json:
        output.emit_json(res.to_json())
        return
    rows = [["version", e["ref"], "-"] for e in res.expired]
    rows += [[i.kind, i.key, output.size_cell(i.size)] for i in res.deleted]
    output.table(["kind", "what", "size"], rows, keep=["kind", "what"])
    verb = "would delete" if dry_run else "deleted"
    output.info(f"gc: {plural(len(res.expired), 'expired version')} {'to mark' if dry_run else 'marked'} deleted; "
                f"{verb} {plural(len(res.deleted), 'object')}, {output.human_size(res.deleted_bytes)}; "
                f"kept {plural(res.live_versions, 'live version')} and "
                f"{plural(res.kept['young'], 'object')} younger than {grace}")
