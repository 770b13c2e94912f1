"""lineage: the graph of versions and runs, as a tree, JSON, Graphviz dot, Mermaid or an image."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, example, open_repo, parse


def register(app: typer.Typer) -> None:
    app.command("lineage", epilog=example(
        "artcli lineage eval-report:latest --direction up",
        "artcli lineage raw-data:v0 --direction down --format json | jq '.nodes[].id'",
        "artcli lineage registry/models/churn:production --output lineage.svg",
        "artcli lineage model:v3 --format mermaid >> README.md",
        "artcli lineage model:candidate --direction up --format markdown >> $GITHUB_STEP_SUMMARY"))(lineage)


def lineage(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias] or registry/<registry>/<collection>[:tag].",
                                       autocompletion=completion.complete_ref)],
    direction: Annotated[str, typer.Option("--direction", help="up (what it came from), down (what came from it) or both.",
                                            autocompletion=completion.choices("up", "down", "both"))] = "both",
    depth: Annotated[int | None, typer.Option("--depth", min=0, help="At most N runs away from REF. Default: no limit.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="tree, json, dot, mermaid, svg (a picture, no Graphviz needed) or markdown (a CI summary with a Mermaid block). Default: tree (plain text when piped), or the --output file's kind (.json, .dot, .mmd, .md, .svg).",
                                             autocompletion=completion.choices("tree", "json", "dot", "mermaid", "svg", "markdown"))] = None,
    output_file: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file instead of stdout; .png/.pdf are rendered with Graphviz dot.")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show where a version came from and what was made from it: versions, runs, registry links."""
    from artcli.cli.render import lineage as render
    from artcli.errors import UsageError
    from artcli.ops import lineage as ops

    if as_json:
        fmt = "json"
    if fmt is not None and fmt not in render.FORMATS:
        raise UsageError(f"invalid --format {fmt!r}: use {', '.join(render.FORMATS)}")
    if direction not in ops.DIRECTIONS:
        raise UsageError(f"invalid --direction {direction!r}: use up, down or both")
    repo = open_repo(remote, project)
    graph = ops.lineage(repo, parse(ref, repo), direction=direction, depth=depth)
    for w in graph.warnings:
        output.warn(w)
    if output_file and fmt is None and output_file.lower().endswith(".svg"):
        fmt = "svg"
    elif output_file and render.is_image(output_file):
        output.data(render.to_image(graph, output_file))
        return
    # the same on a terminal and in a pipe (as every command's text output): a tree, plain when
    # not on a terminal; --json / --format json for programs; a file's extension picks its format
    fmt = fmt or (render.format_for(output_file) if output_file else "tree")
    if fmt == "tree" and output_file is None and output.stdout_tty():
        output.show(render.tree(graph))
        return
    text = render.text(graph, fmt)
    if output_file:
        output.write_file(output_file, text)
    else:
        output.data(text.rstrip("\n"))
