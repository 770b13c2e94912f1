"""lineage: the graph of versions and runs, as a tree, JSON, Graphviz dot, Mermaid or an image."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from artcli import completion, output
from artcli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, example, open_repo, parse

if TYPE_CHECKING:
    from artcli.ops.lineage import Graph

FORMATS = ("tree", "json", "dot", "mermaid", "svg", "markdown")


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
    direction: Annotated[str, typer.Option("--direction", help="up (what it came from), down (what came from it) or both.")] = "both",
    depth: Annotated[int | None, typer.Option("--depth", min=0, help="At most N runs away from REF. Default: no limit.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="tree, json, dot, mermaid, svg (a picture, no Graphviz needed) or markdown (a CI summary with a Mermaid block). Default: tree on a terminal, json otherwise; svg for an --output ending in .svg.")] = None,
    output_file: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file instead of stdout; .png/.pdf are rendered with Graphviz dot.")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show where a version came from and what was made from it: versions, runs, registry links."""
    from artcli.errors import UsageError
    from artcli.ops import lineage as ops

    if as_json:
        fmt = "json"
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"invalid --format {fmt!r}: use {', '.join(FORMATS)}")
    if direction not in ops.DIRECTIONS:
        raise UsageError(f"invalid --direction {direction!r}: use up, down or both")
    repo = open_repo(remote, project)
    graph = ops.lineage(repo, parse(ref, repo), direction=direction, depth=depth)
    for w in graph.warnings:
        output.warn(w)
    if output_file and fmt is None and output_file.lower().endswith(".svg"):
        fmt = "svg"
    elif output_file and output_file.lower().endswith((".png", ".pdf")):
        output.data(ops.render(graph, output_file))
        return
    fmt = fmt or ("tree" if output.stdout_tty() and not output_file else "json")
    if fmt == "tree" and output_file is None:
        _print_tree(graph)
        return
    text = _text(graph, fmt)
    if output_file:
        with open(output_file, "w", encoding="utf-8") as fh:
            fh.write(text)
        output.data(output_file)
    else:
        output.data(text.rstrip("\n"))


def _text(graph: Graph, fmt: str) -> str:
    import json

    from artcli.ops import lineage as ops

    if fmt == "json":
        return json.dumps(graph.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "dot":
        return ops.to_dot(graph)
    if fmt == "mermaid":
        return ops.to_mermaid(graph)
    if fmt == "svg":
        from artcli.render import lineage_svg

        return lineage_svg.render(graph, ops.node_label)
    if fmt == "markdown":
        from artcli.render import markdown

        return markdown.lineage(graph, ops.to_mermaid(graph))
    return _plain_tree(graph)


def _branches(graph: Graph) -> list[tuple[str, str]]:
    """(title, direction) of the tree's top-level branches."""
    if graph.direction == "both":
        return [("upstream", "up"), ("downstream", "down")]
    return [("upstream" if graph.direction == "up" else "downstream", graph.direction)]


def _children(graph: Graph, node: str, direction: str) -> list[tuple[str, str]]:
    return graph.predecessors(node) if direction == "up" else graph.successors(node)


def _label(graph: Graph, node: str) -> str:
    from artcli.ops.lineage import node_label

    return " — ".join(node_label(graph.nodes[node]))


Outline = list[tuple[str, "Outline"]]


def _outline(graph: Graph, node: str, direction: str, seen: set[str]) -> Outline:
    """Depth-first over the DAG; a node met again is listed once more, marked, not re-expanded
    (so the tree stays as small as the graph). Iterative: a long chain is not a deep recursion."""
    arrow = "←" if direction == "up" else "→"
    root: Outline = []
    stack: list[tuple[str, Outline]] = [(node, root)]
    while stack:
        current, into = stack.pop()
        pending = []
        for child, kind in _children(graph, current, direction):
            again = child in seen
            seen.add(child)
            sub: Outline = []
            into.append((f"{arrow} {kind}: {_label(graph, child)}{' (see above)' if again else ''}", sub))
            if not again:
                pending.append((child, sub))
        stack.extend(reversed(pending))
    return root


def _sections(graph: Graph) -> list[tuple[str, Outline]]:
    return [(title, _outline(graph, graph.root, d, {graph.root})) for title, d in _branches(graph)]


def _flat(items: Outline) -> list[tuple[int, str]]:
    """(depth, text) in display order, without recursion."""
    out: list[tuple[int, str]] = []
    stack = [(0, it) for it in reversed(items)]
    while stack:
        depth, (text, children) = stack.pop()
        out.append((depth, text))
        stack.extend((depth + 1, it) for it in reversed(children))
    return out


def _print_tree(graph: Graph) -> None:
    from rich.tree import Tree

    from artcli.output import _console

    tree = Tree(_label(graph, graph.root), highlight=False)
    for title, items in _sections(graph):
        parents = [tree.add(title, highlight=False)]
        for depth, text in _flat(items):
            del parents[depth + 1:]
            parents.append(parents[depth].add(text, highlight=False))
    _console(stderr=False).print(tree)


def _plain_tree(graph: Graph) -> str:
    lines = [_label(graph, graph.root)]
    for title, items in _sections(graph):
        lines.append(f"  {title}")
        lines.extend("    " + "  " * depth + text for depth, text in _flat(items))
    return "\n".join(lines) + "\n"
