"""``lineage``: the graph of versions and runs around a version (walked by
``artcli/lineagewalk.py``), and its text formats: Graphviz dot, Mermaid, rendered images.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from artcli.errors import ArtcliError, UsageError
from artcli.lineagewalk import DIRECTIONS, MAX_NODES, Graph, walk_lineage
from artcli.model import Ref
from artcli.repo import Repo

RENDER_SUFFIXES = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
DOT_TIMEOUT = 120


def lineage(repo: Repo, ref: Ref, *, direction: str = "both", depth: int | None = None,
            max_nodes: int = MAX_NODES) -> Graph:
    """The lineage graph around the version (or registry collection version) ``ref`` names;
    ``depth`` counts runs (None: no limit). Its warnings are in ``Graph.warnings``."""
    if direction not in DIRECTIONS:
        raise UsageError(f"invalid direction {direction!r}: use up, down or both")
    repo.check_format()
    return walk_lineage(repo, ref, direction=direction, depth=depth, max_nodes=max_nodes)


# -- text formats --------------------------------------------------------------------------------
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


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


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


def _mermaid_text(text: str) -> str:
    return re.sub(r'["<>]', lambda m: {'"': "#quot;", "<": "#lt;", ">": "#gt;"}[m.group()], text)


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


def render(g: Graph, path: str) -> str:
    """Render the graph with Graphviz ``dot`` into ``path`` (.svg, .png or .pdf)."""
    fmt = RENDER_SUFFIXES.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot render {path!r}: use a .svg, .png or .pdf file name")
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
