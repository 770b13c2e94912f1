"""A small layered (Sugiyama-style) layout for directed graphs, drawn left to right.

Written for lineage pictures so that no Graphviz has to be installed: the graphs are small
(tens of nodes on a page, at most a few thousand from ``lineage``) and mostly flow one way.
The classic four steps, each kept simple and deterministic (same input, same picture):

1. cycles are broken by reversing the back edges a depth-first search finds (a hand-edited
   log can make a cycle); the picture still draws each edge towards its real target;
2. layers: longest path from the sources, then sources pulled right next to their first
   successor, so an input does not sit far left of what used it;
3. order within layers: long edges get one dummy node per layer they cross, then
   barycentre sweeps down and up, keeping the order with the fewest crossings (counted
   exactly, by inversions);
4. coordinates: each node wants the mean position of its neighbours; the closest positions
   that keep the order and the spacing are found by isotonic regression (pool adjacent
   violators), sweeping a few times. Dummies weigh more, which straightens long edges.

Pure Python, no artcli imports: nodes are ids with a width and height, edges are pairs.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

Point = tuple[float, float]


@dataclass
class Route:
    """One edge as drawn: ``points`` run from the source's right side to the target's left
    side (or the other way for an edge reversed to break a cycle); a self-loop has none."""

    source: str
    target: str
    points: list[Point]
    reversed: bool = False


@dataclass
class Layout:
    width: float
    height: float
    centres: dict[str, Point] = field(default_factory=dict)
    sizes: dict[str, tuple[float, float]] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    layers: int = 0


@dataclass
class _Graph:
    succ: dict[str, list[str]]
    pred: dict[str, list[str]]


def _break_cycles(ids: list[str], edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Edges that close a cycle (found by an iterative depth-first search in input order)."""
    out: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        out[a].append(b)
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    back: set[tuple[str, str]] = set()
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(out[child])))
    return back


def _layers(ids: list[str], g: _Graph) -> dict[str, int]:
    """Longest path from the sources (Kahn order), then sources moved next to their successors."""
    indeg = {n: len(g.pred[n]) for n in ids}
    order: list[str] = []
    ready = [n for n in ids if indeg[n] == 0]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for s in g.succ[n]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    layer = {n: 0 for n in ids}
    for n in order:
        for s in g.succ[n]:
            layer[s] = max(layer[s], layer[n] + 1)
    for n in reversed(order):
        if not g.pred[n] and g.succ[n]:
            layer[n] = min(layer[s] for s in g.succ[n]) - 1
    return layer


def _crossings(upper: dict[str, int], lower: dict[str, int], pairs: list[tuple[str, str]]) -> int:
    """Crossings between two adjacent layers: inversions of the lower ends, sorted by upper ends."""
    seq = [lower[b] for _, b in sorted(pairs, key=lambda p: (upper[p[0]], lower[p[1]]))]
    size = max(seq, default=0) + 2
    tree = [0] * (size + 1)
    total = 0
    for seen, v in enumerate(seq):
        i, below = v + 1, 0
        while i > 0:  # how many earlier ends are at or before v
            below += tree[i]
            i -= i & -i
        total += seen - below
        i = v + 1
        while i <= size:
            tree[i] += 1
            i += i & -i
    return total


def _count_all(rows: list[list[str]], g: _Graph) -> int:
    total = 0
    for up, low in itertools.pairwise(rows):
        pos_u = {n: i for i, n in enumerate(up)}
        pos_l = {n: i for i, n in enumerate(low)}
        pairs = [(a, b) for a in up for b in g.succ[a] if b in pos_l]
        total += _crossings(pos_u, pos_l, pairs)
    return total


def _initial_rows(ids: list[str], g: _Graph, layer: dict[str, int], depth: int) -> list[list[str]]:
    """Rows in depth-first discovery order from the sources: related nodes start close."""
    rows: list[list[str]] = [[] for _ in range(depth)]
    seen: set[str] = set()
    for root in [n for n in ids if not g.pred[n]] + ids:
        stack = [root]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            seen.add(n)
            rows[layer[n]].append(n)
            stack.extend(reversed(g.succ[n]))
    return rows


def _order(rows: list[list[str]], g: _Graph, sweeps: int) -> list[list[str]]:
    best = [list(r) for r in rows]
    best_cross = _count_all(best, g)
    for sweep in range(sweeps):
        if best_cross == 0:
            break
        down = sweep % 2 == 0
        indices = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
        for i in indices:
            ref = rows[i - 1] if down else rows[i + 1]
            pos = {n: k for k, n in enumerate(ref)}
            cur = {n: k for k, n in enumerate(rows[i])}
            near_of = g.pred if down else g.succ
            scale = len(pos) / max(1, len(cur))

            def bary(n: str, pos: dict[str, int] = pos, cur: dict[str, int] = cur,
                     near_of: dict[str, list[str]] = near_of, scale: float = scale) -> tuple[float, int]:
                near = [pos[m] for m in near_of[n] if m in pos]
                return (sum(near) / len(near) if near else cur[n] * scale), cur[n]

            rows[i].sort(key=bary)
        cross = _count_all(rows, g)
        if cross < best_cross:
            best, best_cross = [list(r) for r in rows], cross
    return best


def _isotonic(targets: list[float], weights: list[float]) -> list[float]:
    """The non-decreasing sequence closest to ``targets`` in weighted least squares (PAV)."""
    blocks: list[list[float]] = []  # [weighted mean, weight, count]
    for t, w in zip(targets, weights, strict=True):
        blocks.append([t, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out: list[float] = []
    for mean, _, count in blocks:
        out.extend([mean] * int(count))
    return out


def layout(nodes: list[tuple[str, float, float]], edges: list[tuple[str, str]], *, layer_gap: float = 64,
           node_gap: float = 16, margin: float = 8, sweeps: int = 12, passes: int = 8) -> Layout:
    """Place ``(id, width, height)`` nodes and route ``(source, target)`` edges, left to right."""
    ids = list(dict.fromkeys(n for n, _, _ in nodes))
    sizes = {n: (float(w), float(h)) for n, w, h in nodes}
    known = set(ids)
    edges = [(a, b) for a, b in edges if a in known and b in known]
    loops = [(a, b) for a, b in edges if a == b]
    plain = list(dict.fromkeys((a, b) for a, b in edges if a != b))
    back = _break_cycles(ids, plain)
    dag = list(dict.fromkeys((b, a) if (a, b) in back else (a, b) for a, b in plain))
    g = _Graph(defaultdict(list), defaultdict(list))
    for a, b in dag:
        g.succ[a].append(b)
        g.pred[b].append(a)
    layer = _layers(ids, g)
    shift = min(layer.values(), default=0)
    layer = {n: v - shift for n, v in layer.items()}

    # long edges become chains through one dummy per crossed layer
    chains: dict[tuple[str, str], list[str]] = {}
    all_ids = list(ids)
    for a, b in dag:
        span = layer[b] - layer[a]
        if span <= 1:
            chains[(a, b)] = [a, b]
            continue
        chain = [a]
        for k in range(1, span):
            d = f"\0{a}\0{b}\0{k}"
            layer[d] = layer[a] + k
            sizes[d] = (0.0, 0.0)
            all_ids.append(d)
            chain.append(d)
        chain.append(b)
        chains[(a, b)] = chain
    h = _Graph(defaultdict(list), defaultdict(list))
    for chain in chains.values():
        for x, y in itertools.pairwise(chain):
            h.succ[x].append(y)
            h.pred[y].append(x)
    depth = max(layer.values(), default=-1) + 1
    rows = _order(_initial_rows(all_ids, h, layer, depth), h, sweeps)
    ys = _coordinates(rows, h, sizes, node_gap, passes)

    # x: each layer is a column as wide as its widest node
    col_w = [max((sizes[n][0] for n in row), default=0.0) for row in rows]
    col_x: list[float] = []
    x = margin
    for w in col_w:
        col_x.append(x)
        x += w + layer_gap
    top = min((ys[n] - sizes[n][1] / 2 for n in ys), default=0.0)
    centres = {n: (col_x[layer[n]] + col_w[layer[n]] / 2, ys[n] - top + margin) for n in ys}
    out = Layout(width=max(margin * 2, x - layer_gap + margin),
                 height=max((centres[n][1] + sizes[n][1] / 2 for n in centres), default=0.0) + margin,
                 layers=depth)
    out.centres = {n: centres[n] for n in ids}
    out.sizes = {n: sizes[n] for n in ids}
    for a, b in plain:
        rev = (a, b) in back
        chain = chains[(b, a) if rev else (a, b)]
        pts: list[Point] = []
        for k, n in enumerate(chain):
            cx, cy = centres[n]
            w = sizes[n][0]
            if k == 0:
                pts.append((cx + w / 2, cy))
            elif k == len(chain) - 1:
                pts.append((cx - w / 2, cy))
            else:  # a dummy crosses its whole column horizontally
                lx = col_x[layer[n]]
                pts.extend([(lx, cy), (lx + col_w[layer[n]], cy)])
        out.routes.append(Route(a, b, pts[::-1] if rev else pts, rev))
    for a, b in loops:
        out.routes.append(Route(a, b, [], False))
    return out


def _coordinates(rows: list[list[str]], g: _Graph, sizes: dict[str, tuple[float, float]], gap: float,
                 passes: int) -> dict[str, float]:
    """Centre positions along each layer: near the neighbours' mean, order and spacing kept."""

    def sep(a: str, b: str) -> float:
        dummy = a.startswith("\0") or b.startswith("\0")
        return (sizes[a][1] + sizes[b][1]) / 2 + (gap / 2 if dummy else gap)

    y: dict[str, float] = {}
    for row in rows:
        pos = 0.0
        for k, n in enumerate(row):
            if k:
                pos += sep(row[k - 1], n)
            y[n] = pos
    for p in range(passes):
        down = p % 2 == 0
        for row in (rows if down else rows[::-1]):
            if not row:
                continue
            offsets = [0.0]
            for a, b in itertools.pairwise(row):
                offsets.append(offsets[-1] + sep(a, b))
            targets, weights = [], []
            for n, off in zip(row, offsets, strict=True):
                near = [y[m] for m in (*g.pred[n], *g.succ[n])]
                want = sum(near) / len(near) if near else y[n]
                targets.append(want - off)
                weights.append(4.0 if n.startswith("\0") else 1.0)
            for n, z, off in zip(row, _isotonic(targets, weights), offsets, strict=True):
                y[n] = z + off
    return y
