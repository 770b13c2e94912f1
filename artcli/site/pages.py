"""What each page shows, as plain JSON-able data, and the digest that decides its rewriting.

A page's data holds everything that ends up on it, links already resolved (a link is None
when its target is not part of the site) — but not its files, which come from the immutable
manifest its digest names. So two builds give a page the same digest exactly when they would
write the same bytes, and an incremental build rewrites just the pages whose logs changed
what they show (a new version touches its artifact, project and index pages, the version
that lost ``latest``, and the pages its lineage reaches).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from artcli import canonical
from artcli.cli.render.lineage import node_label
from artcli.lineagewalk import Graph, version_lineage
from artcli.redact import looks_secret, redact_text
from artcli.site import paths
from artcli.site.gather import Catalogue
from artcli.state.artifact import ArtifactState, VersionState
from artcli.state.collection import CollectionState
from artcli.state.metadata import latest_rows

MAX_ALIAS_HISTORY = 200


@dataclass
class Page:
    path: str
    kind: str
    title: str
    data: dict[str, Any]
    #: objects the templates need that are derived from ``data`` (so not part of the digest)
    extra: dict[str, Any] = field(default_factory=dict)

    def digest(self, fingerprint: str) -> str:
        body = canonical.dumps({"renderer": fingerprint, "kind": self.kind, "title": self.title, "data": self.data})
        return hashlib.sha256(body).hexdigest()


class SiteMap:
    """The set of pages the site has: links to anything else are left out, never dangling."""

    def __init__(self, cat: Catalogue) -> None:
        self.cat = cat
        self.pages: set[str] = {paths.INDEX, paths.RUNS}
        for p in cat.projects:
            self.pages.add(paths.project(p))
        for (p, n), st in cat.artifacts.items():
            self.pages.add(paths.artifact(p, n))
            self.pages.update(paths.version(p, n, v) for v in st.versions)
        self.pages.update(paths.registry(r) for r in cat.registries)
        self.pages.update(paths.collection(r, c) for r, c in cat.collections)
        self.pages.update(paths.run(rid) for rid in cat.runs)

    def link(self, here: str, target: str | None) -> str | None:
        if target is None or target.partition("#")[0] not in self.pages:
            return None
        return paths.rel(here, target)

    def run(self, here: str, rid: Any) -> dict[str, Any] | None:
        if not isinstance(rid, str) or not rid:
            return None
        return {"id": rid, "href": self.link(here, paths.run(rid)) if rid in self.cat.runs else None}

    def version(self, here: str, project: str, name: str, version: int) -> dict[str, Any]:
        return {"ref": f"{project}/{name}:v{version}", "href": self.link(here, paths.version(project, name, version))}


def shown(value: Any) -> Any:
    """A value as a published page may show it: any credential-like text inside replaced by
    ``***`` (write paths refuse them, but a log may come from anywhere, and a site is often
    read by more people than the bucket)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [shown(v) for v in value]
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    return value


def state_of(vs: VersionState) -> str:
    return "deleted" if vs.deleted else "expired" if vs.expired() else "live"


def alias_moves(history: list[dict[str, Any]], version: int | None = None) -> list[dict[str, Any]]:
    rows = [{"alias": h["alias"], "from": None if h["from"] is None else f"v{h['from']}",
             "to": None if h["to"] is None else f"v{h['to']}", "time": h.get("time"),
             "run": (h.get("actor") or {}).get("run") if isinstance(h.get("actor"), dict) else None}
            for h in history if version is None or version in (h["from"], h["to"])]
    return rows[::-1][:MAX_ALIAS_HISTORY]


def links_by_source(cat: Catalogue) -> dict[tuple[str, str, int], list[tuple[CollectionState, Any]]]:
    out: dict[tuple[str, str, int], list[tuple[CollectionState, Any]]] = {}
    for cs in cat.collections.values():
        for lk in cs.links.values():
            out.setdefault((lk.project, lk.name, lk.source_version), []).append((cs, lk))
    return out


# -- artifacts ---------------------------------------------------------------------------------
def project_page(sm: SiteMap, project: str) -> Page:
    here = paths.project(project)
    rows = []
    for (p, _n), st in sorted(sm.cat.artifacts.items()):
        if p == project:
            rows.append(artifact_row(sm, here, st))
    return Page(here, "project", f"Project {project}", {
        "project": project, "default_ttl": sm.cat.default_ttl.get(project), "artifacts": rows})


def artifact_row(sm: SiteMap, here: str, st: ArtifactState) -> dict[str, Any]:
    latest = st.latest_live()
    return {"project": st.project, "name": st.name, "href": sm.link(here, paths.artifact(st.project, st.name)),
            "type": st.type, "versions": len(st.live_versions()), "all_versions": len(st.versions),
            "latest": None if latest is None else f"v{latest.version}",
            "size": None if latest is None else latest.size,
            "updated": max((h for v in st.versions.values() for h in (v.created, v.deleted) if h), default=None)}


def artifact_page(sm: SiteMap, st: ArtifactState, links: dict[tuple[str, str, int], list[Any]]) -> Page:
    here = paths.artifact(st.project, st.name)
    latest = st.latest_live()
    versions = []
    for vs in sorted(st.versions.values(), key=lambda v: -v.version):
        versions.append({
            "version": f"v{vs.version}", "href": sm.link(here, paths.version(st.project, st.name, vs.version)),
            "state": state_of(vs), "aliases": st.aliases_of(vs.version), "size": vs.size, "files": vs.files,
            "created": vs.created, "run": sm.run(here, vs.run), "expires": vs.expires,
            "description": shown(vs.description)})
    coll = []
    for v in sorted(st.versions):
        for cs, lk in links.get((st.project, st.name, v), []):
            coll.append({"ref": f"{cs.ref}:v{lk.version}", "href": sm.link(here, paths.collection(cs.registry, cs.name)),
                         "source": f"v{v}", "aliases": cs.aliases_of(lk.version), "live": lk.live})
    return Page(here, "artifact", f"{st.project}/{st.name}", {
        "project": st.project, "name": st.name, "type": st.type,
        "project_href": sm.link(here, paths.project(st.project)),
        "description": shown(latest.description) if latest else None,
        "aliases": {a: f"v{v}" for a, v in sorted(st.aliases.items())},
        "versions": versions, "alias_history": alias_moves(st.alias_history), "links": coll})


def _metadata(vs: VersionState) -> list[dict[str, Any]]:
    cards: dict[str | None, list[dict[str, Any]]] = {}
    for r in latest_rows(vs):
        entry = {k: r[k] for k in ("key", "name", "type", "time", "run")}
        entry["value"] = "***" if looks_secret(r["key"], r["value"]) else shown(r["value"])
        cards.setdefault(r["card"], []).append(entry)
    return [{"card": c, "entries": e} for c, e in cards.items()]


def version_page(sm: SiteMap, st: ArtifactState, vs: VersionState, links: dict[tuple[str, str, int], list[Any]],
                 depth: int | None, max_nodes: int) -> Page:
    p, n, v = st.project, st.name, vs.version
    here = paths.version(p, n, v)
    reused = [r["run"] for r in vs.relogged_by]
    graph = version_lineage(sm.cat.source, p, n, v, direction="both", depth=depth, max_nodes=max_nodes)
    others = sorted(st.versions)
    at = others.index(v)
    inputs = []
    for text in vs.inputs:
        proj, _, rest = text.partition("/")
        name, _, tag = rest.partition(":v")
        inputs.append({"ref": text, "href": sm.link(here, paths.version(proj, name, int(tag)))
                       if tag.isdigit() else None})
    data = {
        "ref": f"{p}/{n}:v{v}", "project": p, "name": n, "version": f"v{v}", "type": st.type,
        "state": state_of(vs), "deleted": vs.deleted, "delete_reason": vs.delete_reason,
        "digest": vs.digest, "manifest": vs.manifest, "size": vs.size, "files": vs.files, "created": vs.created,
        "description": shown(vs.description), "expires": vs.expires, "run": sm.run(here, vs.run),
        "relogged_by": [r for rid in dict.fromkeys(reused) if rid != vs.run and (r := sm.run(here, rid))],
        "aliases": st.aliases_of(v), "alias_history": alias_moves(st.alias_history, v),
        "metadata": _metadata(vs), "metadata_changes": len(vs.metadata_history) - len(vs.metadata),
        "inputs": inputs,
        "used_by": [{"run": sm.run(here, u.get("run")), "time": u.get("time")} for u in vs.used_by],
        "links": [{"ref": f"{cs.ref}:v{lk.version}", "href": sm.link(here, paths.collection(cs.registry, cs.name)),
                   "aliases": cs.aliases_of(lk.version), "live": lk.live}
                  for cs, lk in links.get((p, n, v), [])],
        "lineage": lineage_data(sm, here, graph),
        "nav": {"project": sm.link(here, paths.project(p)), "artifact": sm.link(here, paths.artifact(p, n)),
                "prev": sm.link(here, paths.version(p, n, others[at - 1])) if at > 0 else None,
                "next": sm.link(here, paths.version(p, n, others[at + 1])) if at + 1 < len(others) else None},
    }
    return Page(here, "version", f"{p}/{n}:v{v}", data, {"graph": graph})


def lineage_data(sm: SiteMap, here: str, graph: Graph) -> dict[str, Any]:
    """What the picture shows, and nothing else: a run finishing or a host name does not
    rewrite every page whose picture has that run in it, a changed label does."""
    nodes = graph.ordered_nodes()
    return {"root": graph.root, "truncated": graph.truncated,
            "nodes": [{"id": nd["id"], "kind": nd["kind"], "state": nd.get("state"), "label": node_label(nd)}
                      for nd in nodes],
            "edges": [{"from": a, "to": b, "kind": k} for a, b, k in graph.ordered_edges()],
            "hrefs": {nd["id"]: sm.link(here, node_page(nd)) for nd in nodes}}


def node_page(node: dict[str, Any]) -> str | None:
    """The page a lineage node stands for."""
    if node["kind"] == "version":
        proj, name, version = node.get("project"), node.get("name"), str(node.get("version") or "")
        return paths.version(proj, name, int(version[1:])) if proj and name and version[1:].isdigit() else None
    if node["kind"] == "run":
        return paths.run(node["run"]) if node.get("run") else None
    if node["kind"] == "link":
        parts = str(node.get("ref", "")).partition(":")[0].split("/")
        return paths.collection(parts[1], parts[2]) if len(parts) == 3 else None
    return None
