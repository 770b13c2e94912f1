"""The markup of each kind of page, from the page's data (see pages.py and org_pages.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from artcli.cli.render import lineage_svg
from artcli.cli.render.escape import esc
from artcli.cli.render.lineage import node_label
from artcli.site import html as h
from artcli.site import paths
from artcli.site.pages import Page
from artcli.site.values import cards_html

MAX_FILES = 2000


@dataclass
class Context:
    remote: str
    #: manifest digest -> list of file rows (path, size, digest, ref); raises when unreadable
    files: Callable[[str], list[dict[str, Any]]]


Crumbs = list[tuple[str, str | None]]
Body = tuple[str, Crumbs]


def home(page: Page) -> tuple[str, str | None]:
    return ("Catalogue", paths.rel(page.path, paths.INDEX))


# -- index, projects, artifacts --------------------------------------------------------------
def _artifact_rows(rows: list[dict[str, Any]], with_project: bool) -> list[list[str]]:
    return [([esc(r["project"])] if with_project else []) + [
        h.a(r["href"], r["name"], "mono"), h.text_or_none(r["type"]), esc(r["versions"]),
        h.text_or_none(r["latest"]), h.size(r["size"]), h.when(r["updated"])] for r in rows]


def index(page: Page, ctx: Context) -> Body:
    d = page.data
    projects = h.table(["project", "artifacts", "live versions"],
                       [[h.a(p["href"], p["name"], "mono"), esc(p["artifacts"]), esc(p["versions"])]
                        for p in d["projects"]], empty="No projects yet.")
    registries = h.table(["registry", "accepts", "collections", "description"],
                         [[h.a(r["href"], r["name"], "mono"), esc(", ".join(r["accept_types"] or ["any type"])),
                           esc(r["collections"]), h.text_or_none(r["description"])] for r in d["registries"]])
    artifacts = h.table(["project", "artifact", "type", "versions", "latest", "size", "last update"],
                        _artifact_rows(d["artifacts"], True), filter_label="Filter artifacts",
                        empty="No artifacts yet.")
    recent = h.table(["version", "type", "state", "size", "created"],
                     [[h.version(r), h.text_or_none(r["type"]), h.state(r["state"]), h.size(r["size"]),
                       h.when(r["created"])] for r in d["recent"]], empty="Nothing logged yet.")
    runs = d["runs"]
    body = (h.section("Projects", projects) + h.section("Artifacts", artifacts)
            + h.section("Recently logged", recent) + h.section("Registries", registries)
            + h.section("Runs", f"<p>{h.a(runs['href'], str(runs['count']) + ' runs')} recorded what they used "
                        "and logged.</p>"))
    return body, [("Catalogue", None)]


def project(page: Page, ctx: Context) -> Body:
    d = page.data
    ttl = d["default_ttl"]
    facts = h.dl([("default TTL", esc(f"{ttl // 86400} days" if ttl and ttl % 86400 == 0 else f"{ttl} seconds")
                   if ttl else '<span class="none">none: versions do not expire by default</span>')])
    table = h.table(["artifact", "type", "versions", "latest", "size", "last update"],
                    _artifact_rows(d["artifacts"], False), filter_label="Filter artifacts")
    return facts + h.section("Artifacts", table), [home(page), (d["project"], None)]


def artifact(page: Page, ctx: Context) -> Body:
    d = page.data
    facts = h.dl([("type", h.text_or_none(d["type"])), ("description", h.text_or_none(d["description"])),
                  ("aliases", " ".join(f'{h.badge(a, "alias")} → {esc(v)}' for a, v in d["aliases"].items())
                   or '<span class="none">—</span>')])
    versions = h.table(
        ["version", "state", "aliases", "size", "files", "created", "run", "expires", "description"],
        [[h.a(v["href"], v["version"], "mono"), h.state(v["state"]), h.aliases(v["aliases"]), h.size(v["size"]),
          esc(v["files"]), h.when(v["created"]), h.run(v["run"]), h.expires(v["expires"]),
          h.text_or_none(v["description"])] for v in d["versions"]],
        filter_label="Filter versions", cls="versions")
    links = h.table(["collection version", "of", "aliases", "linked"],
                    [[h.a(x["href"], x["ref"], "mono"), esc(x["source"]), h.aliases(x["aliases"]),
                      h.state("live" if x["live"] else "unlinked")] for x in d["links"]],
                    empty="Not linked into any registry.")
    body = (facts + h.section("Versions", versions) + h.section("Registry links", links)
            + h.section("Alias history", moves(d["alias_history"])))
    return body, [home(page), (d["project"], d["project_href"]), (d["name"], None)]


def moves(rows: list[dict[str, Any]]) -> str:
    return h.table(["alias", "from", "to", "when", "run"],
                   [[h.badge(m["alias"], "alias"), h.text_or_none(m["from"]), h.text_or_none(m["to"]) if m["to"]
                     else h.badge("removed", "deleted"), h.when(m["time"]), h.text_or_none(m["run"])] for m in rows],
                   empty="No alias was ever set or moved.")


# -- versions ------------------------------------------------------------------------------------
def version(page: Page, ctx: Context) -> Body:
    d = page.data
    status = h.state(d["state"])
    if d["deleted"]:
        status += f' at {h.when(d["deleted"])}' + (f" ({esc(d['delete_reason'])})" if d["delete_reason"] else "")
    facts = h.dl([
        ("state", status), ("type", h.text_or_none(d["type"])), ("aliases", h.aliases(d["aliases"])),
        ("size", f'{h.size(d["size"])} in {esc(d["files"])} file{"s" * (d["files"] != 1)}'),
        ("created", h.when(d["created"])), ("run", h.run(d["run"])),
        ("expires", h.expires(d["expires"], d["state"])), ("description", h.text_or_none(d["description"])),
        ("digest", h.code(d["digest"], "digest")),
        ("inputs", ", ".join(h.a(i["href"], i["ref"], "mono") for i in d["inputs"]) or '<span class="none">—</span>'),
    ] + ([("also logged by", ", ".join(h.run(r) for r in d["relogged_by"]))] if d["relogged_by"] else []))
    nav = d["nav"]
    pager = ('<p class="pager">' + (h.a(nav["prev"], "← previous version") if nav["prev"] else "")
             + (" · " if nav["prev"] and nav["next"] else "") + (h.a(nav["next"], "next version →") if nav["next"] else "")
             + "</p>")
    more = f" ({d['metadata_changes']} earlier values in the log)" if d["metadata_changes"] else ""
    used = h.table(["run", "when"], [[h.run(u["run"]), h.when(u["time"])] for u in d["used_by"]],
                   empty="No run recorded using this version.")
    links = h.table(["collection version", "aliases", "linked"],
                    [[h.a(x["href"], x["ref"], "mono"), h.aliases(x["aliases"]),
                      h.state("live" if x["live"] else "unlinked")] for x in d["links"]],
                    empty="Not linked into any registry.")
    body = (facts + pager + h.section("Lineage", lineage_html(d["lineage"], page.extra["graph"]), "lineage")
            + h.section("Metadata" + more, cards_html(d["metadata"]))
            + h.section("Files", _files(d, ctx)) + h.section("Used by", used)
            + h.section("Registry links", links) + h.section("Alias history", moves(d["alias_history"])))
    return body, [home(page), (d["project"], nav["project"]), (d["name"], nav["artifact"]), (d["version"], None)]


def _files(d: dict[str, Any], ctx: Context) -> str:
    if not d["manifest"]:
        return '<p class="none">This version names no manifest.</p>'
    try:
        rows = ctx.files(d["manifest"])
    except Exception as exc:  # a deleted version's manifest may be gone: the page still stands
        return f'<p class="none">The file list is not available: {esc(exc)}</p>'
    cells = []
    for r in rows[:MAX_FILES]:
        where = h.ext(r["ref"].get("uri")) if r.get("ref") else h.code(r.get("digest") or "—", "digest")
        cells.append([h.code(r["path"], "path"), h.size(r["size"]), where])
    note = ""
    if len(rows) > MAX_FILES:
        note = (f'<p class="note">Showing the first {MAX_FILES:,} of {len(rows):,} files; '
                f"<code>artcli files {esc(d['ref'])}</code> lists them all.</p>")
    return h.table(["path", "size", "digest or source"], cells, filter_label="Filter files",
                   empty="No files.") + note


def lineage_html(data: dict[str, Any], graph: Any) -> str:
    """The picture, a legend in words, and the same graph as a list for screen readers."""
    hrefs = data["hrefs"]
    svg = lineage_svg.render(graph, node_label, href=lambda n: hrefs.get(n["id"]), standalone=False,
                             title=f"Lineage of {data['root']}")
    legend = ('<p class="legend">Rectangles are versions, rounded pills are runs, cut-corner boxes are registry '
              "links. A thick border marks the subject of this page; a dashed outline marks a deleted, expired, "
              "missing or unlinked node. Dotted arrows lead to registry links; dashed arrows join an input to "
              "its result when no run is known. Click a node to open its page.</p>")
    items = []
    for e in data["edges"]:
        items.append(f"<li>{_node_ref(e['from'], hrefs)} {esc(lineage_svg.EDGE_WORDS.get(e['kind'], e['kind']))} "
                     f"{_node_ref(e['to'], hrefs)}</li>")
    listing = (f"<details><summary>The graph as a list ({len(items)} edges)</summary><ul>{''.join(items)}</ul>"
               "</details>") if items else '<p class="none">No runs or links recorded around this version.</p>'
    trunc = '<p class="note">The picture stops at its node limit: <code>artcli lineage</code> shows all.</p>' \
        if data.get("truncated") else ""
    return f'{legend}<figure class="graph"><div class="scroll">{svg}</div></figure>{trunc}{listing}'


def _node_ref(node: str, hrefs: dict[str, str | None]) -> str:
    return h.a(hrefs.get(node), node.removeprefix("run:") if node.startswith("run:") else node, "mono")
