"""``lineage``: the graph of versions and runs around a version (walked by ``artcli/lineagewalk.py``).

Drawing it (tree, Graphviz dot, Mermaid, images) is the printer's job: ``artcli/cli/render/lineage.py``.
"""

from __future__ import annotations

from artcli.errors import UsageError
from artcli.lineagewalk import DIRECTIONS, MAX_NODES, Graph, walk_lineage
from artcli.model import Ref
from artcli.repo import Repo

__all__ = ["DIRECTIONS", "Graph", "lineage"]


def lineage(repo: Repo, ref: Ref, *, direction: str = "both", depth: int | None = None,
            max_nodes: int = MAX_NODES) -> Graph:
    """The lineage graph around the version (or registry collection version) ``ref`` names;
    ``depth`` counts runs (None: no limit). Its warnings are in ``Graph.warnings``."""
    if direction not in DIRECTIONS:
        raise UsageError(f"invalid direction {direction!r}: use up, down or both")
    repo.check_format()
    return walk_lineage(repo, ref, direction=direction, depth=depth, max_nodes=max_nodes)
