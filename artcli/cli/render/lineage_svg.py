"""The lineage graph as an SVG picture, laid out by :mod:`artcli.cli.render.layered` (no Graphviz).

The same picture serves ``artcli lineage --format svg`` (a standalone file) and the version
pages of ``artcli site`` (inline, each node a link to its page). Meaning never rests on colour
alone: versions are rectangles, runs are pills, registry links are cut-corner boxes; nodes
that are not live are dashed and say why in their label; the selected node has a thick border;
``linked`` edges are dotted and ``derived`` edges dashed. Every node and edge carries a
``<title>`` (a tooltip and an accessible name), and the whole picture a ``<title>``/``<desc>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from artcli.cli.render.escape import clean, esc, truncate
from artcli.cli.render.layered import Layout, Point, layout

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
FONT_SIZE = 12
CHAR_W = 7.3  # advance of a 12 px monospace glyph, a little generous
LINE_H = 15
PAD_X, PAD_Y = 10, 7
MAX_CHARS = 44
MIN_SCALE = 0.6

#: (fill, stroke) per node kind; not-live nodes are grey
COLOURS = {"version": ("#e8f0fe", "#1a56b0"), "run": ("#fff3dc", "#9a5a00"), "link": ("#e5f4e9", "#1e7b34")}
GREY = ("#f2f2f2", "#6b6b6b")
DASH = {"linked": "2 3", "derived": "7 4"}
DIMMED = ("missing", "deleted", "expired", "unlinked")
EDGE_WORDS = {"produced": "produced", "used": "was used by", "linked": "was linked as", "derived": "was derived into"}

Href = Callable[[dict[str, Any]], str | None]


def node_lines(node: dict[str, Any], label: Callable[[dict[str, Any]], list[str]]) -> list[str]:
    return [truncate(clean(x), MAX_CHARS) for x in label(node)] or [truncate(clean(node["id"]), MAX_CHARS)]


def _size(lines: list[str]) -> tuple[float, float]:
    return (max(len(x) for x in lines) * CHAR_W + 2 * PAD_X, len(lines) * LINE_H + 2 * PAD_Y)


def _path(points: list[Point]) -> str:
    """Smooth left-right curves between route points; straight runs through dummy columns."""
    (x0, y0), rest = points[0], points[1:]
    out = [f"M{x0:.1f},{y0:.1f}"]
    for x1, y1 in rest:
        if abs(y1 - y0) < 0.5:
            out.append(f"L{x1:.1f},{y1:.1f}")
        else:
            mx = (x0 + x1) / 2
            out.append(f"C{mx:.1f},{y0:.1f} {mx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(out)


def _shape(kind: str, x: float, y: float, w: float, h: float, fill: str, stroke: str, extra: str) -> str:
    left, top = x - w / 2, y - h / 2
    common = f'fill="{fill}" stroke="{stroke}"{extra}'
    if kind == "run":
        return f'<rect x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{h / 2:.1f}" {common}/>'
    if kind == "link":
        c = min(10.0, h / 3)
        pts = [(left + c, top), (left + w - c, top), (left + w, top + c), (left + w, top + h - c),
               (left + w - c, top + h), (left + c, top + h), (left, top + h - c), (left, top + c)]
        return f'<polygon points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in pts)}" {common}/>'
    return f'<rect x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}" rx="3" {common}/>'


def _node_title(node: dict[str, Any], root: bool) -> str:
    kind = {"version": "version", "run": "run", "link": "registry link"}.get(node["kind"], node["kind"])
    state = node.get("state")
    bits = [f"{kind} {node['id'] if node['kind'] != 'run' else node.get('run', node['id'])}"]
    if state in DIMMED:
        bits.append(f"({state})")
    if root:
        bits.append("(selected)")
    return " ".join(str(b) for b in bits)


def edge_phrase(a: str, b: str, kind: str) -> str:
    return f"{a} {EDGE_WORDS.get(kind, kind)} {b}" if kind != "produced" else f"{a} produced {b}"


def render(graph: Any, label: Callable[[dict[str, Any]], list[str]], *, href: Href | None = None,
           standalone: bool = True, title: str | None = None, id_prefix: str = "lg") -> str:
    """SVG text for a lineage ``Graph`` (``label`` gives each node's lines, as the tree shows them).

    ``href(node)`` gives a node's link (None: not a link); ``standalone`` adds the XML
    declaration and a white background, for a file of its own.
    """
    nodes = graph.ordered_nodes()
    edges = graph.ordered_edges()
    lines = {n["id"]: node_lines(n, label) for n in nodes}
    sizes = {nid: _size(ls) for nid, ls in lines.items()}
    lay: Layout = layout([(n["id"], *sizes[n["id"]]) for n in nodes], [(a, b) for a, b, _ in edges])
    width, height = max(lay.width, 40.0), max(lay.height, 20.0)
    name = title or f"Lineage of {graph.root}"
    desc = (f"{len(nodes)} node{'s' * (len(nodes) != 1)} and {len(edges)} edge{'s' * (len(edges) != 1)}"
            f" around {graph.root}" + (" (truncated)" if getattr(graph, "truncated", False) else "") + ".")
    out: list[str] = []
    if standalone:
        out.append('<?xml version="1.0" encoding="UTF-8"?>')
    tid, did, arrow = f"{id_prefix}-title", f"{id_prefix}-desc", f"{id_prefix}-arrow"
    # inline, the picture shrinks to its frame down to 60 % of its size (text stays legible),
    # and scrolls sideways beyond that
    fit = "" if standalone else (f' style="width:100%;height:auto;max-width:{width:.0f}px;'
                                 f'min-width:{min(width, max(width * MIN_SCALE, 320)):.0f}px"')
    out.append(f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="{width:.0f}" height="{height:.0f}" '
               f'viewBox="0 0 {width:.0f} {height:.0f}" aria-labelledby="{tid} {did}"{fit} '
               f'data-nodes="{len(nodes)}" data-edges="{len(edges)}">')
    out.append(f'<title id="{tid}">{esc(name)}</title><desc id="{did}">{esc(desc)}</desc>')
    out.append(f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
               'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>')
    if standalone:
        out.append(f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>')
    out.append(f'<g font-family="{FONT}" font-size="{FONT_SIZE}">')
    for (a, b, kind), route in zip(edges, _routes_in_edge_order(lay, edges), strict=True):
        dash = f' stroke-dasharray="{DASH[kind]}"' if kind in DASH else ""
        d = _path(route) if route else _loop(lay, a)
        out.append(f'<path class="edge edge-{esc(kind)}" d="{d}" fill="none" stroke="#555" stroke-width="1.4"'
                   f'{dash} marker-end="url(#{arrow})"><title>{esc(edge_phrase(a, b, kind))}</title></path>')
    for n in nodes:
        nid = n["id"]
        x, y = lay.centres[nid]
        w, h = sizes[nid]
        root = nid == graph.root
        live = n.get("state") not in DIMMED
        fill, stroke = COLOURS.get(n["kind"], GREY) if live else GREY
        extra = (' stroke-width="3"' if root else ' stroke-width="1.2"') + ("" if live else ' stroke-dasharray="5 3"')
        text_y = y - h / 2 + PAD_Y + LINE_H - 3.5
        bold = ' font-weight="bold"'
        spans = "".join(
            f'<tspan x="{x - w / 2 + PAD_X:.1f}" y="{text_y + i * LINE_H:.1f}"{bold if i == 0 and root else ""}>'
            f'{esc(t)}</tspan>' for i, t in enumerate(lines[nid]))
        body = (f'<g class="node node-{esc(n["kind"])}" data-id="{esc(nid)}"><title>{esc(_node_title(n, root))}</title>'
                f'{_shape(n["kind"], x, y, w, h, fill, stroke, extra)}'
                f'<text fill="{"#111" if live else "#444"}">{spans}</text></g>')
        link = href(n) if href else None
        out.append(f'<a href="{esc(link)}">{body}</a>' if link else body)
    out.append("</g></svg>")
    return "\n".join(out) + ("\n" if standalone else "")


def _routes_in_edge_order(lay: Layout, edges: list[tuple[str, str, str]]) -> list[list[Point]]:
    """The layout routes each (source, target) pair once; edges of different kinds share it."""
    by_pair = {(r.source, r.target): r.points for r in lay.routes}
    return [by_pair.get((a, b), []) for a, b, _ in edges]


def _loop(lay: Layout, node: str) -> str:
    (x, y), (w, h) = lay.centres[node], lay.sizes[node]
    right, top = x + w / 2, y - h / 4
    return f"M{right:.1f},{top:.1f} C{right + 30:.1f},{top - 20:.1f} {right + 30:.1f},{y + h / 4 + 20:.1f} {right:.1f},{y + h / 4:.1f}"
