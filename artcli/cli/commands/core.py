"""log, download, ls, show, files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import (
    DryRunOpt,
    ExcludeOpt,
    FormatOpt,
    IncludeOpt,
    JsonOpt,
    ProjectOpt,
    RemoteOpt,
    RunOpt,
    example,
    open_repo,
    parse,
    pick_format,
)

if TYPE_CHECKING:
    from artcli.repo import Repo


def register(app: typer.Typer) -> None:
    app.command("log", epilog=example("artcli log mnist data/mnist/ --type dataset --alias raw",
                                      "artcli log model ckpt/model.pt --type model --json",
                                      "artcli log mnist --from mnist:latest data/new-shard.bin --name-as train",
                                      "artcli log mnist --from mnist:v3 --remove 'train/bad-*.bin'",
                                      "artcli log mnist data/mnist/ --exclude '*.tmp' --dry-run",
                                      "artcli log bundle --component model:production --component data=mnist:v3"))(log)
    app.command("download", epilog=example("artcli download mnist:v3 --root data/mnist",
                                           "artcli download model:production --json",
                                           "artcli download mnist --include 'train/*.bin' --include labels.csv",
                                           "artcli download mnist:v3 --root data/mnist --verify --dry-run"))(download)
    app.command("ls", epilog=example("artcli ls", "artcli ls mnist --json",
                                     "artcli ls model --where 'model_metrics.accuracy>=0.9' --sort -model_metrics.accuracy",
                                     "artcli ls mnist --format markdown >> $GITHUB_STEP_SUMMARY"))(ls)
    app.command("show", epilog=example("artcli show mnist:latest", "artcli show mnist:v2 --json",
                                       "artcli show model:candidate --format markdown >> $GITHUB_STEP_SUMMARY"))(show)
    app.command("files", epilog=example("artcli files mnist:v2", "artcli files mnist --json | jq -r '.[].url'"))(files)


def log(
    name: Annotated[str, typer.Argument(help="Artifact name.")],
    paths: Annotated[list[str] | None, typer.Argument(help="Files and directories; a directory contributes its contents (minus .artcliignore and the default ignores: docs/ignore.md).")] = None,
    artifact_type: Annotated[str | None, typer.Option("--type", "-t", help="Artifact type (dataset, model, ...). Default: the artifact's type, or 'dataset'.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", help="Description of this version.")] = None,
    alias: Annotated[list[str] | None, typer.Option("--alias", "-a", help="Alias to put on the version (repeatable).")] = None,
    metadata: Annotated[list[str] | None, typer.Option("--metadata", "-m", help="KEY=VALUE or KEY:TYPE=VALUE metadata (TYPE: size, uri, path, dtype, str, json); VALUE is JSON when it parses (repeatable).")] = None,
    metadata_file: Annotated[str | None, typer.Option("--metadata-file", help="Metadata from a JSON object file ('-': stdin); --metadata wins on the same key.")] = None,
    name_as: Annotated[str | None, typer.Option("--name-as", help="Place the inputs under this folder inside the version.")] = None,
    inputs: Annotated[list[str] | None, typer.Option("--input", help="A version this one was made from, for lineage (repeatable); pinned to its vN now.")] = None,
    refs: Annotated[list[str] | None, typer.Option("--ref", help="Also reference this s3://, gs://, http(s):// or file:// URI without uploading it, as add-ref does (repeatable).")] = None,
    ttl: Annotated[str | None, typer.Option("--ttl", help="Expire the new version after this (30d, 12h, 2w), at an ISO date, or 'never'. Default: the project's default TTL (artcli ttl default).")] = None,
    base: Annotated[str | None, typer.Option("--from", help="Start from this version's files (incremental): PATHS add or replace files, --remove drops some; only new bytes are uploaded, the base is never downloaded.", autocompletion=completion.complete_ref)] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="With --from: leave out the base's files matching this gitignore-style pattern (repeatable).")] = None,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    follow_symlinks: Annotated[bool, typer.Option("--follow-symlinks", help="Follow every symlink in a folder, also to folders and out of the folder (default: only links to files inside it; the rest are skipped with a warning).")] = False,
    no_ignore: Annotated[bool, typer.Option("--no-ignore", help="Take everything in a folder: no .artcliignore, no default ignores (.git/, .env, __pycache__/, ...).")] = False,
    dry_run: DryRunOpt = False,
    component: Annotated[list[str] | None, typer.Option("--component", "-c", help="[FOLDER=]REF: hold this version's files under FOLDER (default: its name) without copying them; download brings them, lineage shows it as an input (repeatable).")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Log files as a new version; identical content reuses the existing version.

    Prints the version reference (project/name:vN) on stdout; with --dry-run, the version it
    would create or reuse, and writes nothing.
    """
    from artcli.mdvalues import collect
    from artcli.ops.log import add_ref, log_artifact

    md = collect(metadata, metadata_file)
    repo = open_repo(remote, project, run)
    opts = dict(artifact_type=artifact_type, description=description, aliases=alias, metadata=md, name_as=name_as,
                inputs=inputs, ttl=ttl, include=include, exclude=exclude, follow_symlinks=follow_symlinks,
                use_ignore=not no_ignore, base=parse(base, repo) if base else None, remove=remove, dry_run=dry_run,
                components=component)
    rep = output.TerminalProgress()
    try:
        if refs:  # mixed version: uploaded files plus references (docs/references.md)
            res = add_ref(repo, name, refs, paths=paths or [], reporter=rep, **opts)
        else:
            res = log_artifact(repo, name, paths or [], reporter=rep, **opts)
    finally:
        rep.close()
    for w in res.warnings:
        output.warn(w)
    if not dry_run:
        completion.remember_ref(repo, res.ref, res.to_json().get("aliases", []))
    output.emit_json(res.to_json()) if as_json else output.data(res.ref)


def download(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias]; no tag means latest.",
                                       autocompletion=completion.complete_ref)],
    root: Annotated[str | None, typer.Option("--root", help="Target directory. Default: ./artifacts/<name>/v<N>.")] = None,
    path_prefix: Annotated[list[str] | None, typer.Option("--path-prefix", help="Only files under this path of the version (repeatable: any of them; a pattern with * ? [ is a gitignore-style glob).")] = None,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    skip_cache: Annotated[bool, typer.Option("--skip-cache", help="Fetch from the remote straight into the target, bypassing the local cache.")] = False,
    no_track: Annotated[bool, typer.Option("--no-track", help="Do not record the version as used by the current run.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files of the target that were edited locally (or not written by artcli).")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Re-hash the files already in the target and the cache files used, also those the stat cache vouches for.")] = False,
    dry_run: DryRunOpt = False,
    allow_private_refs: Annotated[bool, typer.Option("--allow-private-refs", help="Fetch references to internal addresses (loopback, link-local, private) and system or credential files, refused by default.")] = False,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Download a version into a directory, verifying every file.

    Prints the directory on stdout. Files already up to date are not fetched or rewritten; a
    file edited locally stops the download (exit 5, naming it) unless --force.
    """
    from artcli.ops.download import download as do_download

    repo = open_repo(remote, project, run)
    rep = output.TerminalProgress()
    try:
        res = do_download(repo, parse(ref, repo), root, path_prefix=path_prefix, include=include, exclude=exclude,
                          skip_cache=skip_cache, reporter=rep, track=not no_track and not dry_run, force=force,
                          verify=verify, dry_run=dry_run, allow_private_refs=allow_private_refs)
    finally:
        rep.close()
    for w in res.warnings:
        output.warn(w)
    if res.overwritten and not dry_run:
        output.warn(f"overwrote {len(res.overwritten)} locally edited file(s) (--force): {', '.join(res.overwritten[:10])}")
    completion.remember_ref(repo, res.ref)
    if as_json:
        output.emit_json(res.to_json())
    elif dry_run:
        for p in res.would_write:
            output.data(p)
    else:
        output.data(res.root)


def ls(
    name: Annotated[str | None, typer.Argument(help="An artifact: list its versions; registry/<registry>/<collection>: its versions and their sources. None: list artifacts.",
                                               autocompletion=completion.complete_name)] = None,
    where: Annotated[list[str] | None, typer.Option("--where", help="Keep versions whose metadata matches KEY OP VALUE (= != < <= > >=); repeatable, ANDed. Without NAME: across every artifact of the project.")] = None,
    sort: Annotated[str | None, typer.Option("--sort", help="Sort versions by a metadata key; -KEY for descending.")] = None,
    artifact_type: Annotated[str | None, typer.Option("--type", "-t", help="Only artifacts of this type (when listing artifacts).")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List artifacts, or the versions of one artifact.

    The list of artifacts comes from the project's catalogue (a few requests however many
    artifacts there are). An artifact last written by an artcli older than the catalogue may
    show as it was before that write until it is written again; show, download and the list
    of one artifact's versions always read its own log."""
    from artcli.ops import query

    fmt = pick_format(fmt, as_json)
    repo = open_repo(remote, project)
    if name is not None and name.startswith("registry/"):
        if artifact_type is not None:
            from artcli.errors import UsageError

            raise UsageError("--type filters artifacts: it does not apply to a collection")
        _ls_collection(repo, name, fmt, bool(where or sort))
        return
    if artifact_type is not None and name is not None:
        from artcli.errors import UsageError

        raise UsageError("--type filters the project's artifacts: use it without NAME (with --where/--sort "
                         "it keeps the versions of artifacts of that type)")
    if name is None and not (where or sort):
        arts = query.list_artifacts(repo, artifact_type)
        rows = [a.to_json() for a in arts]
        if artifact_type is None:
            completion.remember(repo, all_names=[a.name for a in arts])
        if fmt == "json":
            output.emit_json(rows)
        elif fmt == "markdown":
            from artcli.cli.render import markdown

            output.data(markdown.ls_artifacts(rows, repo.project).rstrip("\n"))
        else:
            output.table(["name", "type", "versions", "latest", "size", "updated"],
                         [[r["name"], r["type"], r["versions"], r["latest"],
                           "-" if r["size"] is None else output.size_cell(r["size"]), output.when(r["updated"])]
                          for r in rows],
                         keep=["name", "latest"])
        return
    if where or sort:  # one artifact's versions, or (no NAME) every artifact's of the project
        from artcli.ops.metadata import select

        picked = select(repo, name, where, sort, artifact_type)
        for w in picked.warnings:
            output.warn(w)
        versions = picked.rows
    else:
        versions = query.list_versions(repo, name)
        completion.remember(repo, {name: ([f"v{v.version}" for v in versions], [a for v in versions for a in v.aliases])})
    vrows = [v.to_json() for v in versions]
    if fmt == "json":
        output.emit_json(vrows)
    elif fmt == "markdown":
        from artcli.cli.render import markdown

        output.data(markdown.ls_versions(vrows, name or "(all artifacts)").rstrip("\n"))
    else:
        output.table(["version", "aliases", "files", "size", "created", "digest"],
                     [[r["version"], r["aliases"], r["files"],
                       output.size_cell(r["size"]), output.when(r["created"]), r["digest"][:12]] for r in vrows],
                     keep=["version", "created"])


def _ls_collection(repo: Repo, name: str, fmt: str, filtered: bool) -> None:
    """``ls registry/<registry>/<collection>``: its versions, each with the version it links."""
    from artcli.errors import UsageError
    from artcli.ops.registry import list_collection

    if filtered:
        raise UsageError("--where and --sort select artifact versions: they do not apply to a collection")
    res = list_collection(repo, parse(name, repo))
    for w in res.warnings:
        output.warn(w)
    rows = res.to_json()
    if fmt == "json":
        output.emit_json(rows)
        return
    if fmt == "markdown":
        from artcli.cli.render import markdown

        output.data(markdown.ls_collection(rows, res.collection.ref).rstrip("\n"))
        return
    output.table(["version", "aliases", "source", "type", "linked", "digest"],
                 [[r["version"], r["aliases"], r["source"], r["type"], r["linked"], r["digest"][:12]] for r in rows])


def show(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias].", autocompletion=completion.complete_ref)],
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one version: digest, size, files, aliases, created time, metadata."""
    from artcli.ops import query

    fmt = pick_format(fmt, as_json)
    repo = open_repo(remote, project)
    res = query.show(repo, parse(ref, repo))
    info = res.to_json()
    completion.remember_ref(repo, info["ref"], info["aliases"])
    for w in res.warnings:
        output.warn(w)
    if fmt == "json":
        output.emit_json(info)
        return
    if fmt == "markdown":
        from artcli.cli.render import markdown

        output.data(markdown.show(info).rstrip("\n"))
        return
    output.fields([("ref", info["ref"]), ("type", info["type"]), ("digest", info["digest"]),
                   ("size", f"{output.human_size(info['size'])} ({info['size']:,} bytes)"),
                   ("files", info["files"]), ("aliases", info["aliases"]), ("created", output.when(info["created"])),
                   ("description", info["description"]), ("run", info["run"]),
                   ("expires", output.when(info["expires"]) if info["expires"] else None),
                   ("metadata", info["metadata"] or None),
                   ("components", [f"{c['path']}/ = {c['ref']}" for c in info["components"]] or None),
                   ("copied from", _origin_text(info["origin"]))])


def _origin_text(origin: dict | None) -> str | None:
    if not origin:
        return None
    return f"{origin['remote']}#{origin['project']}/{origin['name']}:v{origin['version']}"


def files(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias].", autocompletion=completion.complete_ref)],
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a version's files: path, size, digest and the URL of the bytes."""
    from artcli.ops import query

    repo = open_repo(remote, project)
    if as_json:  # streamed: a version of a million files is never a list in memory
        output.emit_json_rows(f.to_json() for f in query.iter_files(repo, parse(ref, repo), include=include,
                                                                    exclude=exclude))
        return
    rows = [f.to_json() for f in query.files(repo, parse(ref, repo), include=include, exclude=exclude)]
    # a packed file is bytes START-END (inclusive, as an HTTP Range header) of its pack's URL
    output.table(["path", "size", "digest", "url", "range"],
                 [[r["path"], output.size_cell(r["size"]), (r["digest"] or "-")[:16], r["url"],
                   _byte_range(r.get("range"))] for r in rows],
                 keep=["path", "url", "range"])


def _byte_range(span: list[int] | None) -> str:
    """``[start, end)`` as ``bytes=START-END`` (inclusive, what ``curl -r`` and a Range header take)."""
    if not span:
        return "-"
    start, end = span
    return f"bytes={start}-{end - 1}" if end > start else "(empty)"
