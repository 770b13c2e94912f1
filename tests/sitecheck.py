"""Checks over a generated static site, in pure Python: links, network references, markup.

* every relative ``href``/``src`` resolves to a file inside the site, and a ``#fragment`` to
  an element id on the target page (no 404 within the site);
* nothing is loaded from outside: ``src`` is always relative; absolute links are http(s) only,
  carry ``rel="noopener"``, and no ``javascript:``/``data:`` URL appears anywhere;
* the markup is balanced (every non-void element closed, in order), ids are unique per page,
  every page declares its language and has one ``<h1>``, and every ``<svg>`` has a ``<title>``.
"""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, dict[str, str | None]]] = []  # (tag, attr, value) for href/src
        self.ids: list[str] = []
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.h1 = 0
        self.lang: str | None = None
        self.svgs = 0
        self.svg_titles = 0
        self._in_svg_root = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)  # SVG's <rect/>: opened and closed at once

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "h1":
            self.h1 += 1
        if tag == "svg":
            self.svgs += 1
        if tag == "title" and self.stack and self.stack[-1] == "svg":
            self.svg_titles += 1
        if a.get("id"):
            self.ids.append(str(a["id"]))
        for key in ("href", "src", "xlink:href", "action", "formaction", "poster", "srcset"):
            if key in a:
                self.urls.append((tag, key, a))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def check_site(root: Path) -> list[str]:
    """Every problem found in the site under ``root``, as 'page: problem' lines (empty: all good)."""
    root = root.resolve()
    pages = {p.relative_to(root).as_posix(): parse(p) for p in sorted(root.rglob("*.html"))}
    problems: list[str] = []
    for name, page in pages.items():
        def bad(msg: str, name: str = name) -> None:
            problems.append(f"{name}: {msg}")

        if not page.lang:
            bad("no <html lang>")
        if page.h1 != 1:
            bad(f"{page.h1} <h1> elements")
        if page.svgs != page.svg_titles:
            bad(f"{page.svgs} <svg> but {page.svg_titles} with a <title>")
        for p in page.problems:
            bad(p)
        if page.stack:
            bad(f"unclosed elements: {page.stack}")
        dupes = {i for i in page.ids if page.ids.count(i) > 1}
        if dupes:
            bad(f"duplicate ids {sorted(dupes)}")
        for tag, key, attrs in page.urls:
            url = str(attrs[key] or "")
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//"):
                if key != "href" or parts.scheme not in ("http", "https"):
                    bad(f"<{tag} {key}={url!r}>: only relative URLs may load anything or be followed")
                elif "noopener" not in str(attrs.get("rel") or "").split():
                    bad(f"<{tag} href={url!r}> leaves the site without rel=noopener")
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), unquote(parts.path))) \
                if parts.path else name
            if target.startswith("../") or target == "..":
                bad(f"<{tag} {key}={url!r}> points outside the site")
                continue
            if not (root / target).is_file():
                bad(f"<{tag} {key}={url!r}> is dangling: no {target}")
                continue
            if parts.fragment and target in pages and parts.fragment not in pages[target].ids:
                bad(f"<{tag} {key}={url!r}>: {target} has no id {parts.fragment!r}")
    return problems
