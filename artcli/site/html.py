"""Markup helpers: the page frame, tables, links, times and sizes.

Every helper escapes what it is given unless its name says the argument is markup
(``*_html``); the templates build pages only from these, so no string from a remote reaches
a page unescaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from artcli import clock
from artcli.cli.render.escape import esc, safe_link
from artcli.mdvalues import format_size
from artcli.site import paths
from artcli.version import __version__

FILTER_FROM = 8  # rows: a shorter table needs no filter box
Crumbs = Sequence[tuple[str, str | None]]


def a(href: str | None, text: Any, cls: str | None = None) -> str:
    """A link inside the site (``href`` already relative), or plain text when it has no page."""
    c = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(href)}"{c}>{esc(text)}</a>' if href else f"<span{c}>{esc(text)}</span>"


def ext(url: Any, text: Any = None) -> str:
    """A link out of the site (http/https only, opened without giving the page a handle on the
    site), else the URL as code."""
    safe = safe_link(url)
    label = esc(text if text is not None else url)
    if safe is None:
        return f"<code>{label}</code>"
    return f'<a href="{esc(safe)}" rel="noopener noreferrer nofollow" class="ext">{label}</a>'


def code(text: Any, cls: str | None = None) -> str:
    c = f' class="{esc(cls)}"' if cls else ""
    return f"<code{c}>{esc(text)}</code>"


def machine_time(iso: Any) -> str | None:
    """An event time as HTML's ``datetime`` wants it (milliseconds at most), None if unparsable."""
    try:
        dt = clock.parse_iso(iso)
    except (ValueError, TypeError, AttributeError):
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def when(iso: Any) -> str:
    """A time as people read it (UTC, to the minute), the exact value machine-readable."""
    exact = machine_time(iso)
    if exact is None:
        return f'<span class="none">{esc(iso) if isinstance(iso, str) and iso else "—"}</span>'
    return f'<time datetime="{exact}">{exact[:10]} {exact[11:16]} UTC</time>'


def expires(iso: Any, state: str | None = None) -> str:
    """The expiry time; the script adds how long remains, measured when the page is read (a
    static page cannot know, and rebuilding every page every day to say it would be churn)."""
    exact = machine_time(iso)
    if exact is None:
        return '<span class="none">never</span>'
    return f'<span class="ttl" data-expires="{exact}">{when(iso)}</span>'


def size(n: Any) -> str:
    if not isinstance(n, int) or isinstance(n, bool):
        return '<span class="none">—</span>'
    return f'<span class="nw" title="{n:,} bytes">{esc(format_size(n))}</span>'


def badge(text: Any, kind: str = "tag") -> str:
    """A word in a box: status and type labels (the word is the meaning; colour only repeats it)."""
    return f'<span class="badge b-{esc(kind)}">{esc(text)}</span>'


def state(st: str | None) -> str:
    return badge(st or "live", st or "live")


def aliases(names: Sequence[str]) -> str:
    return " ".join(badge(n, "alias") for n in names) or '<span class="none">—</span>'


def run(ref: dict[str, Any] | None) -> str:
    return a(ref["href"], ref["id"], "mono") if ref else '<span class="none">—</span>'


def version(ref: dict[str, Any] | None) -> str:
    return a(ref["href"], ref["ref"], "mono") if ref else '<span class="none">—</span>'


def text_or_none(value: Any) -> str:
    return esc(value) if isinstance(value, str) and value else '<span class="none">—</span>'


def table(headers: Sequence[str], rows_html: Sequence[Sequence[str]], *, caption: str | None = None,
          filter_label: str | None = None, cls: str = "", empty: str = "None.") -> str:
    """A table of already-escaped cells; ``filter_label`` adds a filter box (a few lines of JS)."""
    if not rows_html:
        return f'<p class="none">{esc(empty)}</p>'
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows_html)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    box = ""
    if filter_label and len(rows_html) > FILTER_FROM:
        box = (f'<label class="filter">{esc(filter_label)} <input type="search" data-filter '
               f'placeholder="type to filter" autocomplete="off"></label>')
    return (f'{box}<div class="scroll"><table class="{esc(cls)}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def dl(pairs: Sequence[tuple[str, str]]) -> str:
    """A definition list of (label, markup) pairs."""
    return '<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def section(title: str, body_html: str, sid: str | None = None) -> str:
    ident = f' id="{esc(sid)}"' if sid else ""
    return f"<section{ident}><h2>{esc(title)}</h2>{body_html}</section>"


def frame(path: str, title: str, body_html: str, crumbs: Crumbs, *, remote: str) -> str:
    """The whole document: head, breadcrumb navigation, main content, footer."""
    up = paths.rel(path, paths.INDEX)
    nav = " <span aria-hidden=\"true\">›</span> ".join(
        a(href, label) if href else f'<span aria-current="page">{esc(label)}</span>' for label, href in crumbs)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="artcli {esc(__version__)}">\n'
        f"<title>{esc(title)} · artcli catalogue</title>\n"
        f'<link rel="stylesheet" href="{esc(paths.rel(path, paths.CSS))}">\n'
        f'<script src="{esc(paths.rel(path, paths.JS))}" defer></script>\n'
        "</head>\n<body>\n"
        f'<header><a class="home" href="{esc(up)}">artcli catalogue</a>'
        f'<nav aria-label="Breadcrumb">{nav}</nav></header>\n'
        f"<main>\n<h1>{esc(title)}</h1>\n{body_html}\n</main>\n"
        f'<footer>A static catalogue of <code>{esc(remote)}</code>, written by '
        f"<code>artcli site</code> {esc(__version__)}.</footer>\n"
        "</body>\n</html>\n"
    )
