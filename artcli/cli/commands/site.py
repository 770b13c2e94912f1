"""site: a static HTML catalogue of a remote."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import output
from artcli.cli.commands.common import JsonOpt, RemoteOpt, example, open_repo


def register(app: typer.Typer) -> None:
    app.command("site", epilog=example(
        "artcli site --out site/",
        "artcli site --to s3://team-bucket/catalogue --json | jq .written",
        "artcli site --out public/ --project vision --project nlp"))(site)


def site(
    out: Annotated[str | None, typer.Option("--out", "-o", help="Write the site into this folder. Default: ./site.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Write the site to this remote URL or remote name instead (s3://bucket/site, gs://..., a folder).")] = None,
    projects: Annotated[list[str] | None, typer.Option("--project", "-p", help="Only this project (repeatable). Default: every project on the remote.")] = None,
    depth: Annotated[int, typer.Option("--depth", min=0, help="Runs away from each version that its lineage picture reaches.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Rewrite every page, changed or not.")] = False,
    remote: RemoteOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a static HTML catalogue of the remote: artifacts, versions, lineage, registries, runs.

    Plain files that work offline (file://), from any web server or from a bucket. Re-running
    rewrites only the pages whose logs changed. Prints the path or URL of index.html.
    """
    from artcli.errors import UsageError
    from artcli.model import check_name
    from artcli.site.build import build_site
    from artcli.site.target import DirTarget, StoreTarget, check_separate

    if out is not None and to is not None:
        raise UsageError("give --out DIR or --to REMOTE_URL, not both")
    for p in projects or []:
        check_name(p, "project")
    repo = open_repo(remote, None)
    if to is not None:
        from artcli.config import resolve
        from artcli.store import open_store

        settings = resolve(to, None)
        check_separate(settings.remote_url, repo.settings.remote_url)
        target: DirTarget | StoreTarget = StoreTarget(open_store(settings.remote_url, settings.options))
    else:
        target = DirTarget(out or "site")
    try:
        res = build_site(repo, target, projects=projects, depth=depth, force=force)
    finally:
        if isinstance(target, StoreTarget):
            target.store.close()
    for w in res.warnings:
        output.warn(w)
    if as_json:
        output.emit_json(res.to_json())
        return
    output.info(f"site: {res.pages} pages, {len(res.written)} written, {res.unchanged} unchanged, "
                f"{len(res.removed)} removed ({res.logs_changed} of {res.logs} logs changed) in {res.target}")
    output.data(res.index)
