"""add-ref: version files that stay where they are (S3, GCS, HTTP, local)."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import output
from artcli.cli.commands.common import (
    ExcludeOpt,
    IncludeOpt,
    JsonOpt,
    ProjectOpt,
    RemoteOpt,
    RunOpt,
    example,
    open_repo,
)

DEFAULT_MAX_OBJECTS = 10_000_000  # = artcli.sources.DEFAULT_MAX_OBJECTS (not imported: start-up time)


def register(app: typer.Typer) -> None:
    app.command("add-ref", epilog=example(
        "artcli add-ref raw-images s3://my-bucket/images/ --type dataset --alias raw",
        "artcli add-ref weights https://example.com/models/resnet50.bin --type model --json",
        "artcli add-ref lake gs://my-bucket/lake/ --no-checksum",
        "artcli add-ref shards s3://my-bucket/shards/ --include '*.parquet' --exclude 'tmp/**'",
    ))(add_ref)


def add_ref(
    name: Annotated[str, typer.Argument(help="Artifact name.")],
    uris: Annotated[list[str], typer.Argument(
        help="s3://, gs://, http(s)://, file:// URIs or local paths; a prefix or folder contributes "
             "every object under it, named relative to it; a single object its file name.")],
    artifact_type: Annotated[str | None, typer.Option("--type", "-t", help="Artifact type (dataset, model, ...). Default: the artifact's type, or 'dataset'.")] = None,
    description: Annotated[str | None, typer.Option("--description", "-d", help="Description of this version.")] = None,
    alias: Annotated[list[str] | None, typer.Option("--alias", "-a", help="Alias to put on the version (repeatable).")] = None,
    metadata: Annotated[list[str] | None, typer.Option("--metadata", "-m", help="KEY=VALUE or KEY:TYPE=VALUE metadata (TYPE: size, uri, path, dtype, str, json); VALUE is JSON when it parses (repeatable).")] = None,
    metadata_file: Annotated[str | None, typer.Option("--metadata-file", help="Metadata from a JSON object file ('-': stdin); --metadata wins on the same key.")] = None,
    name_as: Annotated[str | None, typer.Option("--name-as", help="Place the references under this folder inside the version.")] = None,
    inputs: Annotated[list[str] | None, typer.Option("--input", help="A version this one was made from, for lineage (repeatable); pinned to its vN now.")] = None,
    checksum: Annotated[bool, typer.Option(
        "--checksum/--no-checksum",
        help="List every object and record what pins it (ETag, version id, generation, digest). "
             "--no-checksum records only the location: one entry per URI, downloaded as it is at download time.")] = True,
    max_objects: Annotated[int, typer.Option(
        "--max-objects", min=1, help="Refuse (and write nothing) when the URIs hold more objects than this.")] = DEFAULT_MAX_OBJECTS,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Log files that stay at their source (S3, GCS, HTTP, local) as a new version, by reference.

    Nothing is uploaded: the version records each object's URI and what pins it, so a new
    version is made only when a pin changed, and download fetches exactly the recorded bytes
    (or fails, exit 4, naming the file). Credentials and URL signatures are never recorded.
    Prints the version reference (project/name:vN) on stdout.
    """
    from artcli.mdvalues import collect
    from artcli.ops.log import add_ref as do_add_ref

    md = collect(metadata, metadata_file)
    repo = open_repo(remote, project, run)
    rep = output.TerminalProgress()
    try:
        res = do_add_ref(repo, name, uris, checksum=checksum, max_objects=max_objects, name_as=name_as,
                         artifact_type=artifact_type, description=description, aliases=alias, metadata=md,
                         inputs=inputs, reporter=rep, include=include, exclude=exclude)
    finally:
        rep.close()
    for w in res.warnings:
        output.warn(w)
    output.emit_json(res.to_json()) if as_json else output.data(res.ref)
