"""The lineage walk: the graph of versions, the runs that produced them and the runs that used them.

Every step reads only the log of the node at hand: a version's artifact log names its
producing run (``version_created``'s ``actor.run``, plus runs that re-logged it) and every
run that used it (``used`` events); a run's log names its inputs and outputs. Registry
links come from the collections' logs (read once, only when a downstream walk needs them).

The walk is a breadth-first search with a visited set per direction, a depth limit counted
in runs, and a node cap, so it ends on any remote content, hand-edited cycles included.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from artcli.errors import UsageError
from artcli.model import Ref, parse_ref
from artcli.results import Result
from artcli.runinfo import valid_run_id
from artcli.state.artifact import ArtifactState, VersionState, resolve_in
from artcli.state.collection import CollectionState, link_in
from artcli.state.run import RunState

if TYPE_CHECKING:
    from artcli.repo import Repo

SCHEMA = "artcli.lineage/1"
DIRECTIONS = ("up", "down", "both")
MAX_NODES = 5000


def version_id(project: str, name: str, version: int) -> str:
    return f"{project}/{name}:v{version}"


def run_node_id(run_id: str) -> str:
    return f"run:{run_id}"


def link_node_id(registry: str, collection: str, version: int) -> str:
    return f"registry/{registry}/{collection}:v{version}"


@dataclass
class Graph(Result):
    """Nodes (versions, runs, registry links) and edges, as ``lineage --json`` prints them."""

    root: str
    direction: str
    depth: int | None
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: set[tuple[str, str, str]] = field(default_factory=set)
    truncated: bool = False

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def ordered_nodes(self) -> list[dict[str, Any]]:
        """The root first, then by id: the same graph always prints the same way."""
        return sorted(self.nodes.values(), key=lambda n: (n["id"] != self.root, n["id"]))

    def ordered_edges(self) -> list[tuple[str, str, str]]:
        return sorted(self.edges)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "root": self.root, "direction": self.direction, "depth": self.depth,
            "truncated": self.truncated,
            "nodes": self.ordered_nodes(),
            "edges": [{"from": a, "to": b, "kind": k} for a, b, k in self.ordered_edges()],
            "warnings": self.warnings,
        }

    def predecessors(self, node: str) -> list[tuple[str, str]]:
        return sorted((a, k) for a, b, k in self.edges if b == node)

    def successors(self, node: str) -> list[tuple[str, str]]:
        return sorted((b, k) for a, b, k in self.edges if a == node)


# -- reading the logs (each read once per walk) ----------------------------------------------------
@dataclass
class _Link:
    registry: str
    collection: str
    version: int
    source: tuple[str, str, int]
    aliases: list[str]
    linked: str | None
    live: bool


class Source:
    """Each log read once and folded once, however many walks ask (``site`` walks thousands)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self._artifacts: dict[tuple[str, str], ArtifactState] = {}
        self._runs: dict[str, RunState] = {}
        self._links: dict[tuple[str, str, int], list[_Link]] | None = None
        self._by_id: dict[str, _Link] = {}
        self._collections: list[CollectionState] | None = None

    def artifact(self, project: str, name: str) -> ArtifactState:
        key = (project, name)
        if key not in self._artifacts:
            self._artifacts[key] = self.repo.artifact_state(project, name, must_exist=False)
        return self._artifacts[key]

    def version(self, project: str, name: str, version: int) -> VersionState | None:
        return self.artifact(project, name).versions.get(version)

    def run(self, run_id: str) -> RunState:
        if run_id not in self._runs:
            self._runs[run_id] = self.repo.run_state(run_id, must_exist=False)
        return self._runs[run_id]

    def collections(self) -> list[CollectionState]:
        """Every collection's folded state: one LIST of ``registries/`` + one log per collection."""
        if self._collections is None:
            self._collections = self.repo.collections()
        return self._collections

    def links(self) -> dict[tuple[str, str, int], list[_Link]]:
        """Every registry link by source version (read once, only when a downstream walk needs them)."""
        if self._links is None:
            self._links = {}
            for cs in self.collections():
                for lk in cs.links.values():
                    item = _Link(cs.registry, cs.name, lk.version, lk.source, cs.aliases_of(lk.version),
                                 lk.created, lk.live)
                    self._links.setdefault(item.source, []).append(item)
                    self._by_id[link_node_id(cs.registry, cs.name, lk.version)] = item
        return self._links

    def remember_link(self, item: _Link) -> None:
        self._by_id[link_node_id(item.registry, item.collection, item.version)] = item

    def link(self, node: str) -> _Link | None:
        return self._by_id.get(node)


# -- the walk ------------------------------------------------------------------------------------
class _Walker:
    def __init__(self, repo: Repo, graph: Graph, max_nodes: int, source: Source | None = None) -> None:
        self.src = source or Source(repo)
        self.g = graph
        self.max_nodes = max_nodes
        self.keys: dict[str, tuple[str, Any]] = {}  # node id -> (kind, key)

    # nodes -------------------------------------------------------------------------------------
    def _add(self, node: str, kind: str, key: Any, depth: int, attrs: Any) -> bool:
        """Add a node (attributes built lazily); False when the node cap stops the walk."""
        if node in self.g.nodes:
            self.g.nodes[node]["depth"] = min(self.g.nodes[node]["depth"], depth)
            return True
        if len(self.g.nodes) >= self.max_nodes:
            self.g.truncated = True
            return False
        self.g.nodes[node] = {"id": node, "kind": kind, **attrs(), "depth": depth}
        self.keys[node] = (kind, key)
        return True

    def add_version(self, project: str, name: str, version: int, depth: int) -> str | None:
        node = version_id(project, name, version)
        return node if self._add(node, "version", (project, name, version), depth,
                                 lambda: self._version_attrs(project, name, version)) else None

    def _version_attrs(self, project: str, name: str, version: int) -> dict[str, Any]:
        st = self.src.artifact(project, name)
        vs = st.versions.get(version)
        out: dict[str, Any] = {"ref": version_id(project, name, version), "project": project, "name": name,
                               "version": f"v{version}", "type": st.type, "digest": None, "created": None,
                               "run": None, "aliases": [], "description": None, "state": "missing"}
        if vs is None:
            self.g.warn(f"{version_id(project, name, version)} is named in a log but does not exist")
            return out
        state = "deleted" if vs.deleted else "expired" if st.has_expired(vs) else "live"
        out.update(digest=vs.digest, created=vs.created, run=vs.run, description=vs.description,
                   aliases=st.aliases_of(vs.version) if state == "live" else [], state=state)
        return out

    def add_remote(self, remote: str, ref: str, digest: Any, depth: int) -> str | None:
        """A version on another remote (``remote_inputs``, a copy's ``origin``): named, not walked
        (this walk reads one remote); its id is ``<remote URL>#<project/name:vN>``."""
        node = f"{remote}#{ref}"
        return node if self._add(node, "version", None, depth, lambda: {
            "ref": node, "project": None, "name": None, "version": ref.rpartition(":")[2] or None, "type": None,
            "digest": digest if isinstance(digest, str) else None, "created": None, "run": None, "aliases": [],
            "description": None, "state": "remote", "remote": remote}) else None

    def add_run(self, run_id: str, depth: int) -> str | None:
        node = run_node_id(run_id)
        return node if self._add(node, "run", run_id, depth, lambda: self._run_attrs(run_id)) else None

    def _run_attrs(self, run_id: str) -> dict[str, Any]:
        rs = self.src.run(run_id)
        self.g.warnings.extend(f"run {run_id}: {w}" for w in rs.warnings if f"run {run_id}: {w}" not in self.g.warnings)
        if not rs.exists:
            self.g.warn(f"run {run_id} is named in a log but has no log of its own")
        return {"run": run_id, "job_type": rs.attr("job_type"), "name": rs.attr("name"),
                "started": rs.started, "finished": rs.finished, "status": rs.status,
                "host": rs.attr("host"), "user": rs.attr("user"), "command": rs.attr("command"),
                "git": rs.attr("git"), "ci": rs.attr("ci"), "state": "recorded" if rs.exists else "missing"}

    def add_link(self, item: _Link, depth: int) -> str | None:
        node = link_node_id(item.registry, item.collection, item.version)
        self.src.remember_link(item)
        return node if self._add(node, "link", item, depth, lambda: {
            "ref": node, "registry": item.registry, "collection": item.collection,
            "version": f"v{item.version}", "source": version_id(*item.source), "aliases": item.aliases,
            "linked": item.linked, "state": "live" if item.live else "unlinked"}) else None

    def edge(self, a: str | None, b: str | None, kind: str) -> None:
        if a is not None and b is not None:
            self.g.edges.add((a, b, kind))

    # expansion ---------------------------------------------------------------------------------
    def _run_ok(self, rid: Any, where: str) -> bool:
        if valid_run_id(rid):
            return True
        if rid is not None:
            self.g.warn(f"{where} names an invalid run id {rid!r}; ignored")
        return False

    def _pinned(self, text: Any, where: str) -> tuple[str, str, int] | None:
        try:
            ref = parse_ref(str(text), "default")
        except UsageError:
            ref = None
        if ref is None or ref.registry is not None or ref.version is None or "/" not in str(text):
            self.g.warn(f"{where} names an invalid input {text!r}; ignored")
            return None
        return ref.project, ref.name, ref.version

    def walk(self, start: str, direction: str, limit: int | None) -> None:
        queue: deque[tuple[str, int]] = deque([(start, 0)])
        seen: set[str] = {start}

        def push(node: str | None, depth: int) -> None:
            if node is not None and node not in seen:
                seen.add(node)
                queue.append((node, depth))

        def within(depth: int) -> bool:
            return limit is None or depth <= limit

        while queue:
            node, depth = queue.popleft()
            kind, key = self.keys[node]
            if kind == "version" and key is None:  # on another remote: not walked
                continue
            if kind == "version":
                project, name, version = key
                vs = self.src.version(project, name, version)
                if vs is None:
                    continue
                where = version_id(project, name, version)
                if direction == "up":
                    self._up_version(where, vs, project, name, depth, within, push)
                else:
                    self._down_version(where, vs, project, name, depth, within, push)
            elif kind == "run":
                rs = self.src.run(key)
                records = rs.inputs if direction == "up" else rs.outputs
                for rec in records:
                    other = self.add_version(rec.project, rec.name, rec.version, depth)
                    if direction == "up":
                        self.edge(other, node, "used")
                    else:
                        self.edge(node, other, "produced")
                    push(other, depth)
            elif kind == "link":
                item: _Link = key
                if direction == "up" or node == start:  # a registry ref stands for its source downstream
                    src = self.add_version(*item.source, depth)
                    self.edge(src, node, "linked")
                    push(src, depth)

    def _up_version(self, where: str, vs: VersionState, project: str, name: str, depth: int,
                    within: Any, push: Any) -> None:
        # runs that re-logged identical content also produced it
        relogged = [r["run"] for r in vs.relogged_by]
        producers = [r for r in dict.fromkeys([vs.run, *relogged]) if self._run_ok(r, where)]
        if not within(depth + 1):
            return
        for rid in producers:
            run = self.add_run(rid, depth + 1)
            self.edge(run, where, "produced")
            push(run, depth + 1)
        creator = run_node_id(vs.run) if self._run_ok(vs.run, where) else None
        for text in vs.inputs:
            parts = self._pinned(text, where)
            if parts is None:
                continue
            other = self.add_version(*parts, depth + 1)
            if creator is not None and creator in self.g.nodes:
                self.edge(other, creator, "used")
            else:  # the producing run is unknown: keep the version-to-version fact
                self.edge(other, where, "derived")
            push(other, depth + 1)
        for r in vs.remote_inputs:  # versions on other remotes (log --input REMOTE:ref)
            far = self.add_remote(str(r.get("remote")), str(r.get("ref")), r.get("digest"), depth + 1)
            self.edge(far, creator if creator is not None and creator in self.g.nodes else where,
                      "used" if creator is not None and creator in self.g.nodes else "derived")
        if vs.origin:  # a copy: the version it was copied from
            o = vs.origin
            far = self.add_remote(str(o.get("remote")), f"{o.get('project')}/{o.get('name')}:v{o.get('version')}",
                                  o.get("digest"), depth + 1)
            self.edge(far, where, "copied")

    def _down_version(self, where: str, vs: VersionState, project: str, name: str, depth: int,
                      within: Any, push: Any) -> None:
        for link in self.src.links().get((project, name, vs.version), []):
            self.edge(where, self.add_link(link, depth), "linked")
        if not within(depth + 1):
            return
        for rid in dict.fromkeys(u.get("run") for u in vs.used_by):
            if self._run_ok(rid, where):
                run = self.add_run(str(rid), depth + 1)
                self.edge(where, run, "used")
                push(run, depth + 1)


def walk_lineage(repo: Repo, ref: Ref, *, direction: str = "both", depth: int | None = None,
                 max_nodes: int = MAX_NODES) -> Graph:
    """The lineage graph around the version (or registry collection version) ``ref`` names.

    ``depth`` counts runs: 0 is the version alone (and its registry links), 1 adds the runs
    that produced/used it and those runs' other inputs/outputs, and so on. None: no limit.
    """
    if direction not in DIRECTIONS:
        raise UsageError(f"invalid direction {direction!r}: use up, down or both")
    if depth is not None and depth < 0:
        raise UsageError("--depth must be 0 or more")
    g = Graph("", direction, depth)
    w = _Walker(repo, g, max(1, max_nodes))
    if ref.registry is not None:
        root = _start_link(repo, w, ref)
    else:
        st = repo.artifact_state(ref.project, ref.name)
        # an explicit vN may be deleted or expired: its history is still worth showing
        explicit = ref.version is not None and ref.version in st.versions
        vs = st.versions[ref.version] if explicit else resolve_in(st, ref)  # type: ignore[index]
        root = w.add_version(st.project, st.name, vs.version, 0)
    assert root is not None
    return _finish(w, root, direction, depth, max_nodes)


def version_lineage(source: Source, project: str, name: str, version: int, *, direction: str = "both",
                    depth: int | None = None, max_nodes: int = MAX_NODES) -> Graph:
    """The graph around one version, from logs ``source`` has read (or reads once): many
    graphs from one read of the remote."""
    g = Graph("", direction, depth)
    w = _Walker(source.repo, g, max(1, max_nodes), source)
    root = w.add_version(project, name, version, 0)
    assert root is not None
    return _finish(w, root, direction, depth, max_nodes)


def _finish(w: _Walker, root: str, direction: str, depth: int | None, max_nodes: int) -> Graph:
    g = w.g
    g.root = root
    for d in (("up", "down") if direction == "both" else (direction,)):
        w.walk(root, d, depth)
    if g.truncated:
        g.warn(f"stopped at {max_nodes} nodes; narrow the walk with --depth or --direction")
    return g


def _start_link(repo: Repo, w: _Walker, ref: Ref) -> str | None:
    assert ref.registry is not None
    cs = repo.collection_state(ref.registry, ref.name)
    explicit = ref.version is not None and ref.version in cs.links  # unlinked ones keep their history
    lk = cs.links[ref.version] if explicit else link_in(cs, ref)  # type: ignore[index]
    item = _Link(ref.registry, ref.name, lk.version, (lk.project, lk.name, lk.source_version),
                 cs.aliases_of(lk.version), lk.created, lk.live)
    return w.add_link(item, 0)
