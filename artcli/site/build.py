"""Build (or refresh) the site: gather, lay out every page's data, write what changed.

The state file (``.artcli-site.json`` beside the pages) maps each page to the digest of the
data it shows and each log to the last sequence number the build saw. A page whose digest
is unchanged and whose file is still there is not rendered again, so a refresh after one
``log`` costs one read of each log (warm: one LIST each) and the few pages that event
changed. A page whose subject left the site (``--project`` narrowed, say) is removed.
When the logs say nothing changed at all (every log at the position the state file saw, same
options and renderer, no expiry passed since, every file there), no page's data is worked out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artcli import canonical, clock
from artcli.redact import redact_text
from artcli.repo import Repo
from artcli.site import assets, paths
from artcli.site import org_pages as org
from artcli.site import org_templates as org_t
from artcli.site import pages as pg
from artcli.site import templates as tpl
from artcli.site.gather import Catalogue, gather
from artcli.site.html import frame
from artcli.version import __version__

SCHEMA = "artcli.site/1"
STATE_SCHEMA = "artcli.site-state/1"
BATCH = 256
DEFAULT_DEPTH = 1
DEFAULT_MAX_NODES = 40

_TEMPLATES = {"index": tpl.index, "project": tpl.project, "artifact": tpl.artifact, "version": tpl.version,
              "registry": org_t.registry, "collection": org_t.collection, "runs": org_t.runs, "run": org_t.run}


@dataclass
class SiteResult:
    remote: str
    target: str
    index: str
    pages: int = 0
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    logs: int = 0
    logs_changed: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "remote": self.remote, "target": self.target, "index": self.index,
                "pages": self.pages, "written": len(self.written), "unchanged": self.unchanged,
                "removed": len(self.removed), "written_pages": self.written, "removed_pages": self.removed,
                "logs": self.logs, "logs_changed": self.logs_changed, "warnings": self.warnings}


def fingerprint() -> str:
    """Changes whenever the markup could: artcli's version and the source of the renderers."""
    h = hashlib.sha256(__version__.encode())
    for folder in (Path(__file__).parent, Path(__file__).parent.parent / "cli" / "render"):
        for src in sorted(folder.glob("*.py")):
            h.update(src.name.encode() + b"\0" + src.read_bytes())
    return h.hexdigest()[:32]


def all_pages(cat: Catalogue, depth: int | None, max_nodes: int) -> Iterator[pg.Page]:
    """Every page of the site, lazily (a version page's lineage is walked only when reached)."""
    sm = pg.SiteMap(cat)
    links = pg.links_by_source(cat)
    yield org.index_page(sm)
    yield org.runs_page(sm)
    for p in cat.projects:
        yield pg.project_page(sm, p)
    for _, st in sorted(cat.artifacts.items()):
        yield pg.artifact_page(sm, st, links)
        for _, vs in sorted(st.versions.items()):
            yield pg.version_page(sm, st, vs, links, depth, max_nodes)
    for _, reg in sorted(cat.registries.items()):
        yield org.registry_page(sm, reg)
    for _, cs in sorted(cat.collections.items()):
        yield org.collection_page(sm, cs)
    for _, rs in sorted(cat.runs.items()):
        yield org.run_page(sm, rs)


def _manifest_rows(repo: Repo) -> Any:
    def rows(digest: str) -> list[dict[str, Any]]:
        return [{"path": e.path, "size": e.size, "digest": e.digest, "ref": e.ref}
                for e in repo.load_manifest(digest).entries]
    return rows


def _old_state(target: Any) -> dict[str, Any]:
    raw = target.read(paths.STATE)
    try:
        state = canonical.loads(raw) if raw else {}
    except ValueError:
        state = {}
    if not isinstance(state, dict) or state.get("schema") != STATE_SCHEMA:
        return {"pages": {}, "logs": {}, "build": None, "until": None}
    pages_, logs = state.get("pages"), state.get("logs")
    return {"pages": pages_ if isinstance(pages_, dict) else {}, "logs": logs if isinstance(logs, dict) else {},
            "build": state.get("build"), "until": state.get("until")}


def _next_expiry(cat: Catalogue) -> str | None:
    """The first moment a page can change with no event: a live version expiring (its state,
    and maybe which version is ``latest``, change then)."""
    now = clock.now()
    times = [clock.parse_iso(vs.expires) for st in cat.artifacts.values() for vs in st.versions.values()
             if vs.expires and not vs.deleted and clock.parse_iso(vs.expires) > now]
    return clock.iso(min(times)) if times else None


def _nothing_changed(old: dict[str, Any], build: dict[str, Any], cat: Catalogue, existing: set[str]) -> bool:
    """The logs say nothing changed: same logs at the same positions, same options and renderer,
    no expiry passed since, every page still there. Then no page's data needs working out."""
    if old["build"] != build or old["logs"] != cat.positions or not old["pages"]:
        return False
    until = old["until"]
    if until is not None and (not isinstance(until, str) or clock.now() >= clock.parse_iso(until)):
        return False
    return all(p in existing for p in old["pages"])


def build_site(repo: Repo, target: Any, *, projects: list[str] | None = None, depth: int | None = DEFAULT_DEPTH,
               max_nodes: int = DEFAULT_MAX_NODES, force: bool = False) -> SiteResult:
    """Write the catalogue of ``repo``'s remote into ``target`` (a DirTarget or StoreTarget)."""
    cat = gather(repo, projects)
    remote = redact_text(cat.url)
    res = SiteResult(remote, target.label, target.url_of(paths.INDEX), warnings=list(cat.warnings))
    old = _old_state(target)
    res.logs = len(cat.positions)
    res.logs_changed = sum(1 for k, v in cat.positions.items() if k not in old["logs"] or old["logs"][k] != v)
    existing = target.existing()
    fp = fingerprint()
    build = {"renderer": fp, "projects": cat.projects, "depth": depth, "max_nodes": max_nodes}
    if not force and _nothing_changed(old, build, cat, existing):
        res.pages = res.unchanged = len(old["pages"])
        return res
    ctx = tpl.Context(remote, _manifest_rows(repo))
    digests: dict[str, str] = {}
    batch: dict[str, bytes] = {}

    def put(path: str, digest: str, make: Any) -> None:
        digests[path] = digest
        if not force and old["pages"].get(path) == digest and path in existing:
            res.unchanged += 1
            return
        batch[path] = make()
        res.written.append(path)
        if len(batch) >= BATCH:
            target.write(batch)
            batch.clear()

    for name, text in ((paths.CSS, assets.CSS), (paths.JS, assets.JS)):
        put(name, hashlib.sha256(text.encode()).hexdigest(), lambda text=text: text.encode())
    for page in all_pages(cat, depth, max_nodes):
        put(page.path, page.digest(fp), lambda page=page: _render(page, ctx))
    if batch:
        target.write(batch)
    res.pages = len(digests)
    res.removed = sorted(p for p in old["pages"] if p not in digests and p in existing)
    if res.removed:
        target.delete(res.removed)
    state = {"schema": STATE_SCHEMA, "remote": remote, "build": build, "until": _next_expiry(cat),
             "logs": cat.positions, "pages": digests}
    target.write({paths.STATE: json.dumps(state, indent=0, sort_keys=True).encode()})
    return res


def _render(page: pg.Page, ctx: tpl.Context) -> bytes:
    body, crumbs = _TEMPLATES[page.kind](page, ctx)
    return frame(page.path, page.title, body, crumbs, remote=ctx.remote).encode("utf-8")
