"""Metadata values as people read them, with the kind of value said in words.

A ``size`` is shown in KiB/MiB/GiB with the exact byte count beside it; a ``uri`` is a link
when a browser can follow it (http/https), code otherwise (``s3://``); a ``dtype`` and a
``path`` are code; numbers keep their digits; objects and lists are shown as indented JSON.
"""

from __future__ import annotations

import json
from typing import Any

from artcli.cli.render.escape import esc, safe_link, truncate
from artcli.mdvalues import format_size
from artcli.site.html import badge, code, ext, when

MAX_JSON_CHARS = 4000


def kind_of(value: Any, type_name: str | None) -> str:
    if type_name:
        return type_name
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "link" if safe_link(value) else "text"
    if value is None:
        return "null"
    return "list" if isinstance(value, list) else "object"


def value_html(value: Any, type_name: str | None) -> str:
    """The value's markup (escaped), by its stored type, else by its JSON kind."""
    if type_name == "size" and isinstance(value, int) and not isinstance(value, bool):
        return f'<span class="v-size">{esc(format_size(value))}</span> <span class="exact">({value:,} bytes)</span>'
    if type_name == "uri":
        return ext(value)
    if type_name in ("path", "dtype"):
        return code(value, f"v-{type_name}")
    if isinstance(value, bool) or value is None:
        return code(json.dumps(value))
    if isinstance(value, int | float):
        return f'<span class="v-num">{esc(json.dumps(value))}</span>'
    if isinstance(value, str):
        return ext(value) if safe_link(value) else f'<span class="v-text">{esc(value)}</span>'
    text = truncate(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True), MAX_JSON_CHARS)
    return f'<pre class="v-json">{esc(text)}</pre>'


def cards_html(groups: list[dict[str, Any]]) -> str:
    """Metadata grouped as cards (``model_metrics.accuracy`` is ``accuracy`` on ``model_metrics``)."""
    if not groups:
        return '<p class="none">No metadata.</p>'
    out = ['<div class="cards">']
    for g in groups:
        title = g["card"] if g["card"] is not None else "General"
        rows = "".join(
            f'<dt>{esc(e["name"] if g["card"] is not None else e["key"])} {badge(kind_of(e["value"], e["type"]), "kind")}'
            f'</dt><dd>{value_html(e["value"], e["type"])}'
            f'<span class="set">set {when(e.get("time"))}</span></dd>'
            for e in g["entries"])
        out.append(f'<article class="card"><h3>{esc(title)}</h3><dl>{rows}</dl></article>')
    out.append("</div>")
    return "".join(out)
