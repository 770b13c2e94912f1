"""The markup of registry, collection and run pages."""

from __future__ import annotations

from artcli.cli.render.escape import esc
from artcli.site import html as h
from artcli.site import paths
from artcli.site.pages import Page
from artcli.site.templates import Body, Context, home, lineage_html, moves


def registry(page: Page, ctx: Context) -> Body:
    d = page.data
    facts = h.dl([("accepts", esc(", ".join(d["accept_types"] or ["any type"]))),
                  ("description", h.text_or_none(d["description"])),
                  ("created", h.when(d["created"]) if d["created"] else ("built in" if d["core"] else "—"))])
    rows = [[h.a(c["href"], c["name"], "mono"), esc(c["versions"]),
             h.version(c["latest"]) if c["latest"] else '<span class="none">—</span>',
             " ".join(f'{h.badge(a, "alias")} → {esc(v)}' for a, v in c["aliases"].items())
             or '<span class="none">—</span>'] for c in d["collections"]]
    table = h.table(["collection", "linked versions", "latest links", "aliases"], rows,
                    filter_label="Filter collections", empty="No collections yet.")
    return facts + h.section("Collections", table), [home(page), (f"registry {d['name']}", None)]


def collection(page: Page, ctx: Context) -> Body:
    d = page.data
    rows = [[esc(x["version"]), h.version(x["source"]), h.text_or_none(x["type"]), h.aliases(x["aliases"]),
             h.when(x["created"]), h.run(x["run"]),
             h.badge("unlinked", "deleted") + " " + h.when(x["unlinked"]) if x["unlinked"] else h.state("live")]
            for x in d["links"]]
    table = h.table(["version", "links to", "type", "aliases", "linked", "by run", "state"], rows,
                    filter_label="Filter versions", empty="Nothing linked.")
    body = h.section("Versions", table) + h.section("Alias history", moves(d["alias_history"]))
    return body, [home(page), (f"registry {d['registry']}", d["registry_href"]), (d["name"], None)]


def runs(page: Page, ctx: Context) -> Body:
    rows = [[h.a(r["href"], r["id"], "mono"), h.text_or_none(r["job_type"]), h.text_or_none(r["name"]),
             h.when(r["started"]), h.text_or_none(r["status"]) if r["finished"] else h.badge("open", "tag"),
             esc(r["inputs"]), esc(r["outputs"])] for r in page.data["runs"]]
    table = h.table(["run", "job type", "name", "started", "status", "used", "logged"], rows,
                    filter_label="Filter runs", empty="No runs recorded.")
    return table, [home(page), ("runs", None)]


def run(page: Page, ctx: Context) -> Body:
    d = page.data
    git = d["git"] or {}
    ci = d["ci"] or {}
    facts = [("job type", h.text_or_none(d["job_type"])), ("name", h.text_or_none(d["name"])),
             ("started", h.when(d["started"])), ("finished", h.when(d["finished"])),
             ("status", h.text_or_none(d["status"])), ("command", h.code(" ".join(d["command"] or [])) if d["command"]
                                                       else '<span class="none">—</span>'),
             ("host", h.text_or_none(d["host"])), ("user", h.text_or_none(d["user"])),
             ("directory", h.text_or_none(d["cwd"]))]
    if git:
        where = h.ext(git.get("remote")) if git.get("remote") else ""
        facts.append(("git", f'{h.code(git.get("commit") or "—", "digest")} {h.text_or_none(git.get("branch"))}'
                      f'{" " + h.badge("uncommitted changes", "expired") if git.get("dirty") else ""} {where}'))
    if ci:
        label = " · ".join(str(ci[k]) for k in ("provider", "workflow", "job") if ci.get(k))
        facts.append(("CI job", h.ext(ci.get("url"), label or ci.get("url")) if ci.get("url") else esc(label)))
    used = h.table(["version", "via", "asked for", "when"],
                   [[h.version(u), h.text_or_none(u["via"]), h.text_or_none(u["requested"]), h.when(u["time"])]
                    for u in d["used"]], empty="This run recorded no input.")
    logged = h.table(["version", "new", "when"],
                     [[h.version(x), esc("new version" if x["created"] else "same content as before"),
                       h.when(x["time"])] for x in d["logged"]], empty="This run logged nothing.")
    body = (h.dl(facts) + h.section("Lineage", lineage_html(d["lineage"], page.extra["graph"]), "lineage")
            + h.section("Used", used) + h.section("Logged", logged))
    return body, [home(page), ("runs", paths.rel(page.path, paths.RUNS)), (d["id"], None)]
