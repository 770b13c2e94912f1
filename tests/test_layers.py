"""The package's import rules, read from the source with ``ast``: one direction, no cycles, small modules.

Every import counts: module-level and function-local, ``import a.b``, ``from a import b``,
relative ``from . import x``, and ``importlib.import_module(...)`` with a literal name (an
f-string counts as importing every module under its constant prefix: that is how the CLI
registers its commands). Imports under ``if TYPE_CHECKING:`` count too: they never run, but a
module that names another's types depends on it all the same (issue 15 counted them).
The implicit import of a parent package's ``__init__`` is not an edge: Python has the parent
in ``sys.modules`` before the child runs, so it cannot close a cycle.

A new module must be placed in ``LAYERS``; the test says so when one is not.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Top to bottom. A module may import modules of its own layer or of a layer below it, never above.
# A pattern is a module name, or ``name.*`` for every module below that package.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("face", ("artcli.cli", "artcli.cli.*", "artcli.entry", "artcli.__main__",
              "artcli.site", "artcli.site.*")),  # the static catalogue: another face of the same data
    ("api", ("artcli", "artcli.api", "artcli.api.*")),  # the package itself re-exports the API (lazily)
    ("ops", ("artcli.ops", "artcli.ops.*")),
    ("repo and shared mechanisms", (
        "artcli.repo",                                     # the context every op takes: settings, store, cache, logs
        "artcli.leases",                                   # writer and gc leases
        "artcli.upload", "artcli.remoteindex",             # what a remote lacks, and sending it
        "artcli.references",                               # reference entries: scan, pin, fetch through sources
        "artcli.links", "artcli.aliasmoves",               # registry links, alias moves (written events)
        "artcli.components", "artcli.remoterefs",          # composite versions, versions on other remotes
        "artcli.renames",                                  # following an artifact's rename
        "artcli.runrecords", "artcli.lineagewalk",         # lineage records, and the walk over them
        "artcli.logplan",                                  # what a log takes: folder walk, filters, a base version
        "artcli.dryrun",                                   # dry runs: logs that collect their events, not write them
        "artcli.catalogue",                                # the project catalogue: noted by writers, read by ls
        "artcli.projectindex",                             # one summary per artifact of a project (ls and above)
    )),
    ("state, sources, local", (                            # nothing here knows the Repo
        "artcli.state", "artcli.state.*",                  # folds of event logs
        "artcli.sources", "artcli.sources.*",              # reference sources, one per scheme
        "artcli.runinfo",                                  # which job a command belongs to (CI, git)
        "artcli.materialise",                              # verified bytes put in place
        "artcli.placing",                                  # one file under its final name, atomically
        "artcli.cache", "artcli.inputs", "artcli.transfer",  # the local cache, hashing inputs, fetching entries
        "artcli.fileplan",                                 # the files of one log, in a temporary database
        "artcli.config",
    )),
    ("format, store", (
        "artcli.layout", "artcli.canonical", "artcli.manifest", "artcli.manifest_stream", "artcli.packs",
        "artcli.eventlog", "artcli.checkpoints", "artcli.hashing", "artcli.mdvalues",
        "artcli.notelog",  # appends that need no fold (catalogue notes): the log's end from its keys
        "artcli.marker",  # the format marker: the one reader and writer of artcli-store.json
        "artcli.store", "artcli.store.*",
        "artcli.localdb",  # the local sqlite index (stat cache, event cache, pack indexes): eventlog keeps its cursor there
    )),
    ("base", (
        "artcli.version", "artcli.errors", "artcli.clock", "artcli.durations", "artcli.model", "artcli.redact",
        "artcli.progress", "artcli.results",
        "artcli.pathmatch",  # gitignore-style patterns: --include/--exclude, .artcliignore
        "artcli.humanize",  # sizes, counts and times as people read them (one unit family)
    )),
]

# Packages whose modules may not import one another (shared mechanisms live one floor down).
NO_SIBLING_IMPORTS = ("artcli.ops",)

# Third-party packages only one part of artcli may import: the Store hides fsspec and the cloud
# SDKs (and translates their errors), hashing.py is the one producer of digests, the face alone
# parses with typer, and only the printer and its render modules draw with rich.
OWNED_IMPORTS: dict[str, tuple[str, ...]] = {
    **{sdk: ("artcli.store", "artcli.store.*") for sdk in (
        "fsspec", "s3fs", "gcsfs", "boto3", "botocore", "aiobotocore", "aiohttp", "google", "adlfs", "azure")},
    "blake3": ("artcli.hashing",),
    "sqlite3": ("artcli.localdb", "artcli.fileplan"),  # the local index; a log's temporary file plan
    **{lib: ("artcli.cli", "artcli.cli.*") for lib in ("typer", "click")},
    "rich": ("artcli.cli.output", "artcli.cli.render", "artcli.cli.render.*"),  # drawing lives with the printer
}

# Imports allowed to break the rules while a refactor is under way: (module, module or package
# imported); for a cycle, the edge taken as its back edge. The list may only shrink: the test fails
# on a violation not listed here, and on an entry that no longer breaks a rule or closes a cycle.
# Issue 15 emptied it.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()

MAX_LINES = 400
# module -> why it may be longer (kept short; each entry must still be over the limit)
LONG_MODULES: dict[str, str] = {}


# -- reading the imports -----------------------------------------------------------------------------
def module_files(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` (a folder under ``root``) by dotted name."""
    out: dict[str, Path] = {}
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


class _Imports(ast.NodeVisitor):
    """Names a module imports (absolute, before mapping onto modules)."""

    def __init__(self, package: str) -> None:
        self.package = package  # the package relative imports start from
        self.names: list[tuple[str, str | None]] = []  # (module, imported name or None)
        self.prefixes: list[str] = []  # import_module(f"prefix{...}")

    def visit_Import(self, node: ast.Import) -> None:
        self.names.extend((a.name, None) for a in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[:len(base) - (node.level - 1)]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        self.names.extend((module, a.name) for a in node.names)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name == "import_module" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self.names.append((arg.value, None))
            elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                self.prefixes.append(str(arg.values[0].value))
        self.generic_visit(node)


def _owner(name: str, modules: Iterable[str]) -> str | None:
    """The deepest module that ``name`` is or lies in (``a.b.func`` -> ``a.b``)."""
    known = set(modules)
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _read(mod: str, path: Path) -> _Imports:
    visitor = _Imports(mod if path.name == "__init__.py" else mod.rpartition(".")[0])
    visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return visitor


def read_external(root: Path, package: str) -> dict[str, set[str]]:
    """module -> the top-level names of the packages outside ``package`` it imports."""
    return {mod: {name.partition(".")[0] for name, _ in _read(mod, path).names
                  if name and name.partition(".")[0] != package.partition(".")[0]}
            for mod, path in module_files(root, package).items()}


def read_imports(root: Path, package: str) -> dict[str, set[str]]:
    """module -> the modules of ``package`` it imports (itself and third-party modules left out)."""
    files = module_files(root, package)
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        visitor = _read(mod, path)
        deps: set[str] = set()
        for module, name in visitor.names:
            if name is not None and f"{module}.{name}" in files:  # from pkg import submodule
                deps.add(f"{module}.{name}")
            elif (owner := _owner(module, files)) is not None:
                deps.add(owner)
        for prefix in visitor.prefixes:
            deps.update(m for m in files if m.startswith(prefix) and m != prefix.rstrip("."))
        deps.discard(mod)
        graph[mod] = deps
    return graph


# -- the rules ---------------------------------------------------------------------------------------
def _matches(module: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        return module.startswith(pattern[:-1])
    return module == pattern


def layer_of(module: str, layers: list[tuple[str, tuple[str, ...]]]) -> int | None:
    hits = {i for i, (_, patterns) in enumerate(layers) for p in patterns if _matches(module, p)}
    return hits.pop() if len(hits) == 1 else None


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan, iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return sorted(cycles)


def cycle_path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One shortest cycle through the first module of a strongly connected component, start repeated at the end."""
    start, members = component[0], set(component)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for dep in sorted(graph.get(node, ())):
                if dep == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*reversed(path), start]
                if dep in members and dep not in parent:
                    parent[dep] = node
                    nxt.append(dep)
        frontier = nxt
    return [start]


@dataclass
class Report:
    graph: dict[str, set[str]]
    pruned: dict[str, set[str]] = field(default_factory=dict)  # the graph without the allowed edges
    unplaced: list[str] = field(default_factory=list)
    upward: list[tuple[str, str]] = field(default_factory=list)
    siblings: list[tuple[str, str]] = field(default_factory=list)
    foreign: list[tuple[str, str]] = field(default_factory=list)  # (module, third-party package it may not import)
    cycles: list[list[str]] = field(default_factory=list)

    def violations(self) -> set[tuple[str, str]]:
        return set(self.upward) | set(self.siblings) | set(self.foreign)

    def closes_cycle(self, edge: tuple[str, str]) -> bool:
        """Is ``edge`` (a -> b) in the graph, with a path back from b to a?"""
        a, b = edge
        if b not in self.graph.get(a, ()):
            return False
        seen, todo = {b}, [b]
        while todo:
            for nxt in self.graph.get(todo.pop(), ()):
                if nxt == a:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False


def check(graph: dict[str, set[str]], layers: list[tuple[str, tuple[str, ...]]],
          no_siblings: Iterable[str] = (), allowed: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset(),
          external: dict[str, set[str]] | None = None, owned: dict[str, tuple[str, ...]] | None = None) -> Report:
    """Every broken rule in ``graph``; ``allowed`` edges are reported but left out of the cycle search."""
    rep = Report(graph)
    for mod, names in sorted((external or {}).items()):
        for name in sorted(names):
            owners = (owned or {}).get(name)
            if owners is not None and not any(_matches(mod, p) for p in owners):
                rep.foreign.append((mod, name))
    rep.unplaced = sorted(m for m in graph if layer_of(m, layers) is None)
    for mod, deps in sorted(graph.items()):
        for dep in sorted(deps):
            a, b = layer_of(mod, layers), layer_of(dep, layers)
            if a is not None and b is not None and b < a:
                rep.upward.append((mod, dep))
            for pkg in no_siblings:
                if mod.startswith(pkg + ".") and dep.startswith(pkg + "."):
                    rep.siblings.append((mod, dep))
    rep.pruned = {m: {d for d in deps if (m, d) not in allowed} for m, deps in graph.items()}
    rep.cycles = find_cycles(rep.pruned)
    return rep


def _show(edges: Iterable[tuple[str, str]]) -> str:
    return "\n".join(f"  {a} -> {b}" for a, b in sorted(edges))


# -- the package -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report() -> Report:
    return check(read_imports(ROOT, "artcli"), LAYERS, NO_SIBLING_IMPORTS, KNOWN_VIOLATIONS,
                 read_external(ROOT, "artcli"), OWNED_IMPORTS)


def test_every_module_is_placed_in_a_layer(report: Report) -> None:
    assert not report.unplaced, ("place these modules in exactly one layer of LAYERS in tests/test_layers.py:\n  "
                                 + "\n  ".join(report.unplaced))


def test_imports_run_one_way(report: Report) -> None:
    new = report.violations() - KNOWN_VIOLATIONS
    order = " -> ".join(name for name, _ in LAYERS)
    assert not new, (f"imports against the layer order ({order}), between two ops modules, or of a third-party "
                     "package outside its owner (OWNED_IMPORTS):\n" + _show(new))


def test_known_violations_only_shrink(report: Report) -> None:
    gone = {e for e in KNOWN_VIOLATIONS if e not in report.violations() and not report.closes_cycle(e)}
    assert not gone, "fixed, so remove from KNOWN_VIOLATIONS in tests/test_layers.py:\n" + _show(gone)


def test_no_import_cycles(report: Report) -> None:
    shown = [f"  {', '.join(c)}\n    for example: {' -> '.join(cycle_path(report.pruned, c))}" for c in report.cycles]
    assert not report.cycles, "import cycles (function-local imports count):\n" + "\n".join(shown)


def test_no_module_over_the_line_limit() -> None:
    lengths = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in module_files(ROOT, "artcli").items()}
    long = {m: n for m, n in lengths.items() if n > MAX_LINES}
    assert not set(long) - set(LONG_MODULES), (
        f"modules over {MAX_LINES} lines (split them by job):\n"
        + "\n".join(f"  {m}: {n}" for m, n in sorted(long.items()) if m not in LONG_MODULES))
    stale = sorted(set(LONG_MODULES) - set(long))
    assert not stale, "no longer over the limit, so remove from LONG_MODULES: " + ", ".join(stale)


def test_the_architecture_doc_names_every_module() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = sorted(str(p.relative_to(ROOT)) for p in module_files(ROOT, "artcli").values() if p.name not in doc)
    assert not missing, "add a line for each to the tree in docs/architecture.md: " + ", ".join(missing)


# -- the checker itself can fail ---------------------------------------------------------------------
def _fake_package(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for rel, text in {"pkg/__init__.py": "", **files}.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return read_imports(tmp_path, "pkg")


def test_every_import_form_is_read(tmp_path: Path) -> None:
    graph = _fake_package(tmp_path, {
        "pkg/a.py": ("from typing import TYPE_CHECKING\nimport importlib\nimport os\n"
                     "from . import b\nfrom .sub.c import thing\nimport pkg.d\n"
                     "if TYPE_CHECKING:\n    from pkg import e\n"
                     "def f(name):\n    from pkg.f import g\n    importlib.import_module('pkg.h')\n"
                     "    importlib.import_module(f'pkg.plugins.{name}')\n"),
        "pkg/b.py": "", "pkg/sub/__init__.py": "", "pkg/sub/c.py": "from .. import d\nfrom ..sub import c2\n",
        "pkg/sub/c2.py": "", "pkg/d.py": "", "pkg/e.py": "", "pkg/f.py": "", "pkg/h.py": "",
        "pkg/plugins/__init__.py": "", "pkg/plugins/p1.py": "", "pkg/plugins/p2.py": "",
    })
    assert graph["pkg.a"] == {"pkg.b", "pkg.sub.c", "pkg.d", "pkg.e", "pkg.f", "pkg.h", "pkg.plugins.p1", "pkg.plugins.p2"}
    assert graph["pkg.sub.c"] == {"pkg.d", "pkg.sub.c2"}


def test_a_planted_cycle_fails(tmp_path: Path) -> None:
    """A cycle closed by a function-local import, three modules long, is found; cutting it clears it."""
    graph = _fake_package(tmp_path, {
        "pkg/a.py": "from pkg import b\n",
        "pkg/b.py": "import pkg.c\n",
        "pkg/c.py": "def later():\n    from pkg.a import something\n",
        "pkg/d.py": "from pkg import a\n",
    })
    layers = [("all", ("pkg", "pkg.*"))]
    assert check(graph, layers).cycles == [["pkg.a", "pkg.b", "pkg.c"]]
    rep = check(graph, layers, allowed={("pkg.c", "pkg.a")})
    assert rep.cycles == [] and rep.closes_cycle(("pkg.c", "pkg.a")) and not rep.closes_cycle(("pkg.d", "pkg.a"))
    with pytest.raises(AssertionError, match=r"pkg\.a -> pkg\.b -> pkg\.c -> pkg\.a"):
        test_no_import_cycles(check(graph, layers))


def test_an_upward_sibling_or_foreign_import_fails(tmp_path: Path) -> None:
    graph = _fake_package(tmp_path, {
        "pkg/face.py": "from pkg.ops import x\n",
        "pkg/ops/__init__.py": "", "pkg/ops/x.py": "from pkg.ops import y\n",
        "pkg/ops/y.py": "def f():\n    from pkg import face\n",
        "pkg/base.py": "import json\ndef f():\n    from boto3.session import Session\n", "pkg/stray.py": "",
    })
    layers = [("face", ("pkg.face",)), ("ops", ("pkg.ops", "pkg.ops.*")), ("base", ("pkg", "pkg.base"))]
    external = read_external(tmp_path, "pkg")
    assert external["pkg.base"] == {"boto3", "json"}
    rep = check(graph, layers, no_siblings=("pkg.ops",), external=external, owned={"boto3": ("pkg.store",)})
    assert rep.foreign == [("pkg.base", "boto3")]
    assert rep.upward == [("pkg.ops.y", "pkg.face")]
    assert rep.siblings == [("pkg.ops.x", "pkg.ops.y")]
    assert rep.unplaced == ["pkg.stray"]
    assert rep.cycles == [["pkg.face", "pkg.ops.x", "pkg.ops.y"]]
