"""The layered layout behind lineage pictures: edges flow left to right, nodes never overlap,
crossings are counted exactly and removed where an order without them exists, cycles end."""

from __future__ import annotations

import random
from collections import defaultdict
from itertools import combinations

from artcli.cli.render import layered


def _boxes_overlap(lay: layered.Layout, a: str, b: str) -> bool:
    (xa, ya), (wa, ha) = lay.centres[a], lay.sizes[a]
    (xb, yb), (wb, hb) = lay.centres[b], lay.sizes[b]
    return abs(xa - xb) * 2 < wa + wb and abs(ya - yb) * 2 < ha + hb


def _random_dag(rng: random.Random, n: int, m: int) -> tuple[list[tuple[str, float, float]], list[tuple[str, str]]]:
    nodes = [(f"n{i}", rng.randint(40, 200), rng.choice([30, 45])) for i in range(n)]
    edges: set[tuple[str, str]] = set()
    while len(edges) < min(m, n * (n - 1) // 2):
        a, b = sorted(rng.sample(range(n), 2))
        edges.add((f"n{a}", f"n{b}"))
    return nodes, sorted(edges)


def test_edges_flow_right_and_nodes_never_overlap() -> None:
    rng = random.Random(21)
    for _ in range(30):
        nodes, edges = _random_dag(rng, rng.randint(2, 40), rng.randint(1, 60))
        lay = layered.layout(nodes, edges)
        ids = [n for n, _, _ in nodes]
        assert set(lay.centres) == set(ids)
        assert not [(a, b) for a, b in combinations(ids, 2) if _boxes_overlap(lay, a, b)]
        for r in lay.routes:
            assert not r.reversed
            xs = [x for x, _ in r.points]
            assert xs == sorted(xs) and xs[0] < xs[-1], (r.source, r.target, r.points)
            assert r.points[0][1] == lay.centres[r.source][1] and r.points[-1][1] == lay.centres[r.target][1]
        for x, y in lay.centres.values():
            assert 0 <= x <= lay.width and 0 <= y <= lay.height


def test_crossings_are_counted_exactly() -> None:
    rng = random.Random(7)
    for _ in range(200):
        up = {f"u{i}": i for i in range(rng.randint(1, 7))}
        low = {f"l{i}": i for i in range(rng.randint(1, 7))}
        pairs = list({(rng.choice(list(up)), rng.choice(list(low))) for _ in range(rng.randint(1, 12))})
        brute = sum(1 for (a, b), (c, d) in combinations(pairs, 2)
                    if (up[a] - up[c]) * (low[b] - low[d]) < 0)
        assert layered._crossings(up, low, pairs) == brute


def test_barycentre_sweeps_untangle_a_permutation() -> None:
    """Two layers joined by a shuffled matching: an order without crossings exists and is found."""
    rng = random.Random(3)
    perm = list(range(8))
    rng.shuffle(perm)
    g = layered._Graph(defaultdict(list), defaultdict(list))
    for i, j in enumerate(perm):
        g.succ[f"t{i}"].append(f"b{j}")
        g.pred[f"b{j}"].append(f"t{i}")
    rows = [[f"t{i}" for i in range(8)], [f"b{j}" for j in range(8)]]
    assert layered._count_all(rows, g) > 0
    assert layered._count_all(layered._order(rows, g, 4), g) == 0


def test_cycles_and_self_loops_are_drawn_not_looped_forever() -> None:
    nodes = [(n, 60, 30) for n in "abcd"]
    edges = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "d")]
    lay = layered.layout(nodes, edges)
    assert len(lay.routes) == len(edges)
    back = [r for r in lay.routes if r.reversed]
    assert len(back) == 1 and back[0].points[0][0] > back[0].points[-1][0]  # drawn right to left
    assert [r.points for r in lay.routes if r.source == r.target == "d"] == [[]]


def test_same_graph_same_picture() -> None:
    nodes, edges = _random_dag(random.Random(5), 25, 40)
    assert layered.layout(nodes, edges) == layered.layout(list(nodes), list(edges))


def test_isotonic_regression_is_the_closest_ordered_sequence() -> None:
    assert layered._isotonic([1, 3, 2, 4], [1, 1, 1, 1]) == [1, 2.5, 2.5, 4]
    assert layered._isotonic([5, 1], [3, 1]) == [4, 4]
    out = layered._isotonic([3, 1, 2, 0, 5], [1] * 5)
    assert out == sorted(out)
