"""Markdown for CI summaries (``$GITHUB_STEP_SUMMARY``, merge-request notes): ``show``,
``ls``, ``diff`` and ``lineage`` (a Mermaid block) with ``--format markdown``.

Cells are escaped so a hostile description cannot break a table, start a link or inject
HTML (summaries render inline HTML), and a code fence is always longer than any run of
backticks inside it, so text cannot close it early.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from artcli.cli.render.escape import clean
from artcli.mdvalues import format_size, raw

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~<>&])")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def cell(value: Any) -> str:
    """One table cell: no line breaks, Markdown punctuation escaped, HTML characters as entities."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    text = " ".join(clean(value).split())
    return _SPECIAL.sub(lambda m: _ENTITIES.get(m.group(1), "\\" + m.group(1)), text)


def code(value: Any) -> str:
    """Inline code that no backtick inside can end early."""
    text = " ".join(clean(value).split())
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0) + 1
    fence = "`" * ticks
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}" if text else "—"


def fence(body: str, info: str = "") -> str:
    ticks = max(3, max((len(m) for m in re.findall(r"`{3,}", body)), default=0) + 1)
    return f"{'`' * ticks}{info}\n{body.rstrip(chr(10))}\n{'`' * ticks}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows of already-escaped cells."""
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    out.extend("| " + " | ".join(r) + " |" for r in rows)
    return "\n".join(out)


def size(n: Any) -> str:
    return format_size(n) if isinstance(n, int) and not isinstance(n, bool) else "—"


def show(info: dict[str, Any]) -> str:
    """One version (the data of ``show --json``)."""
    rows = [("type", cell(info.get("type"))), ("digest", code(info.get("digest") or "")),
            ("size", f"{size(info.get('size'))} ({info.get('size')} bytes)"), ("files", cell(info.get("files"))),
            ("aliases", cell(info.get("aliases"))), ("created", cell(info.get("created"))),
            ("description", cell(info.get("description"))), ("run", cell(info.get("run"))),
            ("expires", cell(info.get("expires") or "never"))]
    out = [f"### {code(info['ref'])}", "", table(["field", "value"], [list(r) for r in rows])]
    md = info.get("metadata") or {}
    if md:
        out += ["", "#### Metadata", "", table(["key", "value"], [[code(k), cell(raw(v))] for k, v in sorted(md.items())])]
    return "\n".join(out) + "\n"


def ls_artifacts(rows: list[dict[str, Any]], project: str) -> str:
    body = table(["artifact", "type", "versions", "latest", "updated"],
                 [[code(r["name"]), cell(r["type"]), cell(r["versions"]), cell(r["latest"]), cell(r["updated"])]
                  for r in rows]) if rows else "_No artifacts._"
    return f"### Artifacts in {code(project)}\n\n{body}\n"


def ls_versions(rows: list[dict[str, Any]], name: str) -> str:
    body = table(["version", "aliases", "files", "size", "created", "digest"],
                 [[code(r["ref"]), cell(r["aliases"]), cell(r["files"]), size(r["size"]), cell(r["created"]),
                   code(r["digest"][:12])] for r in rows]) if rows else "_No live versions._"
    return f"### Versions of {code(name)}\n\n{body}\n"


def ls_collection(rows: list[dict[str, Any]], ref: str) -> str:
    body = table(["version", "aliases", "source", "type", "linked"],
                 [[code(r["ref"]), cell(r["aliases"]), code(r["source"]), cell(r["type"]), cell(r["linked"])]
                  for r in rows]) if rows else "_No linked versions._"
    return f"### Versions of {code(ref)}\n\n{body}\n"


def diff(d: dict[str, Any]) -> str:
    """Two versions compared (the data of ``diff --json``)."""
    f, m = d["files"], d["metadata"]
    head = (f"### {code(d['a'])} → {code(d['b'])}\n\n"
            f"{len(f['added'])} added, {len(f['removed'])} removed, {len(f['changed'])} changed, "
            f"{f['unchanged']} unchanged files; "
            f"{len(m['added']) + len(m['removed']) + len(m['changed'])} metadata keys differ.\n")
    out = [head]
    rows = ([["added", code(x["path"]), "—", size(x["size"])] for x in f["added"]]
            + [["removed", code(x["path"]), size(x["size"]), "—"] for x in f["removed"]]
            + [["changed", code(x["path"]), size(x["a"]["size"]), size(x["b"]["size"])] for x in f["changed"]])
    if rows:
        out += ["#### Files", "", table(["change", "path", "size before", "size after"], rows), ""]
    mrows = ([["added", code(x["key"]), "—", cell(x["display"])] for x in m["added"]]
             + [["removed", code(x["key"]), cell(x["display"]), "—"] for x in m["removed"]]
             + [["changed", code(x["key"]), cell(x["a"]["display"]), cell(x["b"]["display"])] for x in m["changed"]])
    if mrows:
        out += ["#### Metadata", "", table(["change", "key", "before", "after"], mrows), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def lineage(graph: Any, mermaid: str) -> str:
    """The graph as a Mermaid flowchart (GitHub and GitLab draw it), with a one-line summary."""
    n, e = len(graph.nodes), len(graph.edges)
    note = " (truncated)" if graph.truncated else ""
    return (f"### Lineage of {code(graph.root)}\n\n{n} nodes, {e} edges, direction {cell(graph.direction)}{note}.\n\n"
            f"{fence(mermaid, 'mermaid')}\n")
