"""A lineage graph for people and other tools: a tree, Graphviz dot, Mermaid, JSON, or an image via ``dot``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artcli.errors import ArtcliError, UsageError

if TYPE_CHECKING:
    from artcli.ops.lineage import Graph

FORMATS = ("tree", "json", "dot", "mermaid", "svg", "markdown")
#: rendered by Graphviz ``dot``; an .svg is drawn by artcli itself (lineage_svg.py)
IMAGE_SUFFIXES = {".png": "png", ".pdf": "pdf"}
DOT_TIMEOUT = 120


def node_label(node: dict[str, Any]) -> list[str]:
    """Short lines naming a node, shared by the tree, dot and mermaid outputs."""
    kind = node["kind"]
    if kind == "version":
        lines = [node["ref"]]
        extra = [x for x in (node.get("type"), ",".join(node.get("aliases") or []) or None) if x]
        if node.get("state") != "live":
            extra.append(str(node.get("state")))
        if extra:
            lines.append(" · ".join(extra))
        return lines
    if kind == "run":
        lines = [f"run {node['run']}"]
        what = node.get("job_type") or node.get("name")
        if not what and node.get("command"):  # a run nobody started: say which command it was
            cmd = " ".join(str(c) for c in node["command"][:6])
            what = cmd if len(cmd) <= 48 else cmd[:47] + "…"
        extra = [x for x in (what, node.get("name") if node.get("job_type") else None,
                             (node.get("started") or "")[:19] or None) if x]
        git = node.get("git") or {}
        if git.get("commit"):
            extra.append(f"git {git['commit'][:8]}{'+dirty' if git.get('dirty') else ''}")
        if node.get("state") == "missing":
            extra.append("no log")
        if extra:
            lines.append(" · ".join(extra))
        return lines
    lines = [node["ref"]]
    extra = [",".join(node.get("aliases") or []) or None, "unlinked" if node.get("state") == "unlinked" else None]
    if any(extra):
        lines.append(" · ".join(x for x in extra if x))
    return lines


_BY_SUFFIX = {".json": "json", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid",
              ".md": "markdown", ".svg": "svg"}


def format_for(path: str) -> str:
    """The format an ``--output`` file's extension asks for (a tree for anything else)."""
    import os

    return _BY_SUFFIX.get(os.path.splitext(path)[1].lower(), "tree")


def text(graph: Graph, fmt: str) -> str:
    """The graph as ``fmt`` (tree, json, dot, mermaid, svg or markdown) text, ending in a newline."""
    if fmt == "json":
        return json.dumps(graph.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "dot":
        return to_dot(graph)
    if fmt == "mermaid":
        return to_mermaid(graph)
    if fmt == "svg":
        from artcli.cli.render import lineage_svg

        return lineage_svg.render(graph, node_label)
    if fmt == "markdown":
        from artcli.cli.render import markdown

        return markdown.lineage(graph, to_mermaid(graph))
    return tree_text(graph)


# -- the tree ---------------------------------------------------------------------------------------
Outline = list[tuple[str, "Outline"]]


def _label(graph: Graph, node: str) -> str:
    return " — ".join(node_label(graph.nodes[node]))


def _branches(graph: Graph) -> list[tuple[str, str]]:
    """(title, direction) of the tree's top-level branches."""
    if graph.direction == "both":
        return [("upstream", "up"), ("downstream", "down")]
    return [("upstream" if graph.direction == "up" else "downstream", graph.direction)]


def _outline(graph: Graph, node: str, direction: str, seen: set[str]) -> Outline:
    """Depth-first over the DAG; a node met again is listed once more, marked, not re-expanded
    (so the tree stays as small as the graph). Iterative: a long chain is not a deep recursion."""
    arrow = "←" if direction == "up" else "→"
    root: Outline = []
    stack: list[tuple[str, Outline]] = [(node, root)]
    while stack:
        current, into = stack.pop()
        pending = []
        children = graph.predecessors(current) if direction == "up" else graph.successors(current)
        for child, kind in children:
            again = child in seen
            seen.add(child)
            sub: Outline = []
            into.append((f"{arrow} {kind}: {_label(graph, child)}{' (see above)' if again else ''}", sub))
            if not again:
                pending.append((child, sub))
        stack.extend(reversed(pending))
    return root


def _sections(graph: Graph) -> list[tuple[str, Outline]]:
    return [(title, _section(graph, d)) for title, d in _branches(graph)]


def _section(graph: Graph, direction: str) -> Outline:
    """One branch of the tree. A registry reference stands for the version it links: its
    downstream is that version's downstream (the edge goes version → link, so following the
    link's own successors would show nothing)."""
    root = graph.root
    if direction == "down" and graph.nodes[root]["kind"] == "link":
        sources = [n for n, kind in graph.predecessors(root) if kind == "linked"]
        seen = {root, *sources}
        return [(f"= links: {_label(graph, src)}", _outline(graph, src, "down", seen)) for src in sources]
    return _outline(graph, root, direction, {root})


def _flat(items: Outline) -> list[tuple[int, str]]:
    """(depth, text) in display order, without recursion."""
    out: list[tuple[int, str]] = []
    stack = [(0, it) for it in reversed(items)]
    while stack:
        depth, (label, children) = stack.pop()
        out.append((depth, label))
        stack.extend((depth + 1, it) for it in reversed(children))
    return out


def tree(graph: Graph) -> Any:
    """A rich Tree for a terminal; labels are plain text (names and commands are never markup)."""
    from rich.text import Text
    from rich.tree import Tree

    top = Tree(Text(_label(graph, graph.root)), highlight=False)
    for title, items in _sections(graph):
        parents = [top.add(Text(title), highlight=False)]
        for depth, label in _flat(items):
            del parents[depth + 1:]
            parents.append(parents[depth].add(Text(label), highlight=False))
    return top


def tree_text(graph: Graph) -> str:
    """The same tree as indented plain text."""
    lines = [_label(graph, graph.root)]
    for title, items in _sections(graph):
        lines.append(f"  {title}")
        lines.extend("    " + "  " * depth + label for depth, label in _flat(items))
    return "\n".join(lines) + "\n"


# -- Graphviz and Mermaid ---------------------------------------------------------------------------
def _dot_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_DOT_SHAPES = {"version": "box", "run": "ellipse", "link": "component"}


def to_dot(g: Graph) -> str:
    """Graphviz source: versions are boxes, runs ellipses, registry links components."""
    out = ["digraph lineage {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=9];']
    for n in g.ordered_nodes():
        attrs = [f"label={_dot_quote(chr(10).join(node_label(n)))}", f"shape={_DOT_SHAPES[n['kind']]}"]
        if n["id"] == g.root:
            attrs.append("penwidth=2")
        if n.get("state") in ("missing", "deleted", "expired", "unlinked"):
            attrs.append("style=dashed")
        out.append(f"  {_dot_quote(n['id'])} [{', '.join(attrs)}];")
    for a, b, k in g.ordered_edges():
        out.append(f"  {_dot_quote(a)} -> {_dot_quote(b)} [label={_dot_quote(k)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _mermaid_text(s: str) -> str:
    return re.sub(r'["<>]', lambda m: {'"': "#quot;", "<": "#lt;", ">": "#gt;"}[m.group()], s)


def to_mermaid(g: Graph) -> str:
    """A Mermaid flowchart (node ids are n0, n1, ... because Mermaid ids must be plain words)."""
    ids = {n["id"]: f"n{i}" for i, n in enumerate(g.ordered_nodes())}
    shapes = {"version": ('["', '"]'), "run": ('(["', '"])'), "link": ('{{"', '"}}')}
    out = ["flowchart LR"]
    for n in g.ordered_nodes():
        left, right = shapes[n["kind"]]
        out.append(f"  {ids[n['id']]}{left}{'<br/>'.join(_mermaid_text(x) for x in node_label(n))}{right}")
    for a, b, k in g.ordered_edges():
        out.append(f"  {ids[a]} -->|{k}| {ids[b]}")
    if g.root in ids:
        out.append(f"  style {ids[g.root]} stroke-width:3px")
    return "\n".join(out) + "\n"


def is_image(path: str) -> bool:
    return path.lower().endswith(tuple(IMAGE_SUFFIXES))


def to_image(g: Graph, path: str) -> str:
    """Render the graph with Graphviz ``dot`` into ``path`` (.png or .pdf); returns ``path``."""
    fmt = IMAGE_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot render {path!r}: use a .png or .pdf file name (or --format svg)")
    exe = shutil.which("dot")
    if exe is None:
        raise ArtcliError(f"cannot render {path}: Graphviz 'dot' is not installed",
                          hint="install Graphviz (apt-get install graphviz, brew install graphviz), "
                               "or print the graph with --format dot and render it elsewhere")
    try:
        res = subprocess.run([exe, f"-T{fmt}", "-o", path], input=to_dot(g).encode("utf-8"),
                             capture_output=True, timeout=DOT_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ArtcliError(f"Graphviz failed to render {path}: {exc}") from None
    if res.returncode != 0:
        msg = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ArtcliError(f"Graphviz failed to render {path}: {msg[-1] if msg else f'exit {res.returncode}'}")
    return path
