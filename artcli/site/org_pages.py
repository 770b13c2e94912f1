"""Data of the pages above and beside artifacts: the index, registries, collections and runs."""

from __future__ import annotations

from typing import Any

from artcli.lineagewalk import Graph, run_node_id, version_id
from artcli.redact import redact_argv, redact_text
from artcli.site import paths
from artcli.site.pages import Page, SiteMap, alias_moves, artifact_row, lineage_data, state_of
from artcli.state.collection import CollectionState, RegistryState
from artcli.state.run import RunState

RECENT = 15


def index_page(sm: SiteMap) -> Page:
    here = paths.INDEX
    cat = sm.cat
    projects = []
    for p in cat.projects:
        mine = [st for (q, _), st in cat.artifacts.items() if q == p]
        projects.append({"name": p, "href": sm.link(here, paths.project(p)), "artifacts": len(mine),
                         "versions": sum(len(st.live_versions()) for st in mine)})
    recent = sorted(((vs.created, st, vs) for st in cat.artifacts.values() for vs in st.versions.values()),
                    key=lambda t: (t[0], t[1].project, t[1].name, t[2].version), reverse=True)[:RECENT]
    return Page(here, "index", "Catalogue", {
        "remote": redact_text(cat.url), "projects": projects,
        "artifacts": [artifact_row(sm, here, st) for _, st in sorted(cat.artifacts.items())],
        "registries": [registry_row(sm, here, reg) for _, reg in sorted(cat.registries.items())],
        "recent": [{**sm.version(here, st.project, st.name, vs.version), "type": st.type, "created": created,
                    "state": state_of(vs), "size": vs.size} for created, st, vs in recent],
        "runs": {"count": len(cat.runs), "href": sm.link(here, paths.RUNS)}})


def registry_row(sm: SiteMap, here: str, reg: RegistryState) -> dict[str, Any]:
    colls = [c for (r, c) in sm.cat.collections if r == reg.name]
    return {"name": reg.name, "href": sm.link(here, paths.registry(reg.name)), "description": reg.description,
            "accept_types": reg.accept_types, "core": reg.core, "collections": len(colls)}


def registry_page(sm: SiteMap, reg: RegistryState) -> Page:
    here = paths.registry(reg.name)
    rows = []
    for (r, c), cs in sorted(sm.cat.collections.items()):
        if r != reg.name:
            continue
        latest = cs.latest_live()
        rows.append({"name": c, "href": sm.link(here, paths.collection(r, c)), "versions": len(cs.live_links()),
                     "latest": None if latest is None else {
                         "version": f"v{latest.version}", **sm.version(here, latest.project, latest.name,
                                                                       latest.source_version)},
                     "aliases": {a: f"v{v}" for a, v in sorted(cs.aliases.items())}})
    return Page(here, "registry", f"Registry {reg.name}", {
        **registry_row(sm, here, reg), "created": reg.created, "collections": rows})


def collection_page(sm: SiteMap, cs: CollectionState) -> Page:
    here = paths.collection(cs.registry, cs.name)
    links = []
    for lk in sorted(cs.links.values(), key=lambda x: -x.version):
        links.append({"version": f"v{lk.version}", "source": sm.version(here, lk.project, lk.name, lk.source_version),
                      "type": lk.artifact_type, "digest": lk.digest, "aliases": cs.aliases_of(lk.version),
                      "created": lk.created, "run": sm.run(here, lk.run), "unlinked": lk.unlinked})
    return Page(here, "collection", cs.ref, {
        "ref": cs.ref, "registry": cs.registry, "name": cs.name,
        "registry_href": sm.link(here, paths.registry(cs.registry)), "links": links,
        "alias_history": alias_moves(cs.alias_history)})


def _run_row(sm: SiteMap, here: str, rs: RunState) -> dict[str, Any]:
    return {"id": rs.id, "href": sm.link(here, paths.run(rs.id)), "job_type": rs.attr("job_type"),
            "name": rs.attr("name"), "started": rs.started, "finished": rs.finished, "status": rs.status,
            "inputs": len(rs.inputs), "outputs": len(rs.outputs)}


def runs_page(sm: SiteMap) -> Page:
    here = paths.RUNS
    runs = sorted(sm.cat.runs.values(), key=lambda r: (r.started or "", r.id), reverse=True)
    return Page(here, "runs", "Runs", {"runs": [_run_row(sm, here, rs) for rs in runs]})


def _ci(ci: Any) -> dict[str, Any] | None:
    if not isinstance(ci, dict):
        return None
    return {str(k): redact_text(v) if isinstance(v, str) else v for k, v in ci.items() if isinstance(v, str | int)}


def run_page(sm: SiteMap, rs: RunState) -> Page:
    here = paths.run(rs.id)
    git = rs.attr("git") if isinstance(rs.attr("git"), dict) else None
    command = rs.attr("command")
    data = {
        **_run_row(sm, here, rs), "last_event": rs.last_event, "host": rs.attr("host"), "user": rs.attr("user"),
        "cwd": redact_text(rs.attr("cwd")) if isinstance(rs.attr("cwd"), str) else None,
        "command": redact_argv([str(c) for c in command]) if isinstance(command, list) else None,
        "git": None if git is None else {k: redact_text(v) if isinstance(v, str) else v for k, v in git.items()
                                         if k in ("commit", "branch", "dirty", "remote")},
        "ci": _ci(rs.attr("ci")),
        "used": [{**sm.version(here, r.project, r.name, r.version), "via": r.via, "requested": r.requested,
                  "time": r.time} for r in rs.inputs],
        "logged": [{**sm.version(here, r.project, r.name, r.version), "created": r.created, "time": r.time}
                   for r in rs.outputs],
    }
    graph = run_graph(sm, rs)
    data["lineage"] = lineage_data(sm, here, graph)
    return Page(here, "run", f"Run {rs.id}", data, {"graph": graph})


def run_graph(sm: SiteMap, rs: RunState) -> Graph:
    """A run between what it used and what it logged (the same nodes ``lineage`` draws)."""
    root = run_node_id(rs.id)
    g = Graph(root, "both", 0)
    g.nodes[root] = {"id": root, "kind": "run", "run": rs.id, "job_type": rs.attr("job_type"),
                     "name": rs.attr("name"), "command": rs.attr("command"), "started": rs.started,
                     "git": rs.attr("git") if isinstance(rs.attr("git"), dict) else {},
                     "state": "recorded", "depth": 0}
    for rec, used in [(r, True) for r in rs.inputs] + [(r, False) for r in rs.outputs]:
        node = version_id(rec.project, rec.name, rec.version)
        st = sm.cat.artifacts.get((rec.project, rec.name))
        vs = st.versions.get(rec.version) if st else None
        g.nodes.setdefault(node, {
            "id": node, "kind": "version", "ref": node, "project": rec.project, "name": rec.name,
            "version": f"v{rec.version}", "type": st.type if st else None,
            "aliases": st.aliases_of(rec.version) if st and vs and state_of(vs) == "live" else [],
            "state": state_of(vs) if vs else "missing", "depth": 1})
        g.edges.add((node, root, "used") if used else (root, node, "produced"))
    return g
