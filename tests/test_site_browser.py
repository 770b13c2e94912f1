"""The generated site in a real browser (headless Chromium over the DevTools protocol), from
``file://``: the lineage picture draws every node and edge, its nodes open their pages, the
scripts work, a phone-width screen needs no sideways scrolling, and no page reaches the
network (the browser's proxy is a closed port and every host name fails to resolve, and
every request a page makes is recorded)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import sitedata
from browser import Browser, find_chromium, png_colours

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="chromium is not installed: `make test` installs Debian's chromium package when run as root "
           "(elsewhere: apt-get install chromium); these tests need a real browser")

NODE_FILLS = {"version": (0xE8, 0xF0, 0xFE), "run": (0xFF, 0xF3, 0xDC), "link": (0xE5, 0xF4, 0xE9)}
GRAPH_JS = """(() => {
  const svg = document.querySelector('figure.graph svg');
  const box = (el) => { const b = el.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; };
  return {
    nodes: [...svg.querySelectorAll('g.node')].map(g => [g.dataset.id, ...box(g)]),
    edges: [...svg.querySelectorAll('path.edge')].map(p => p.getTotalLength()),
    links: [...svg.querySelectorAll('a')].map(a => a.getAttribute('href')),
    figure: box(svg.closest('figure')),
  };
})()"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[sitedata.Catalogue, Path]:
    cat = sitedata.make(tmp_path_factory.mktemp("browse"))
    out = cat.root / "site"
    cat.cli.ok("site", "--out", str(out))
    return cat, out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    try:
        yield b
    finally:
        b.close()


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_lineage_picture_draws_every_node_and_edge(site: tuple[sitedata.Catalogue, Path], browser: Browser,
                                                   tmp_path: Path) -> None:
    cat, out = site
    graph = cat.cli.ok("lineage", "model:v0", "--depth", "1", "--format", "json").json()
    browser.open((out / "p/default/a/model/v0.html").as_uri(), 1400, 1000)
    seen = browser.eval(GRAPH_JS)
    assert sorted(n[0] for n in seen["nodes"]) == sorted(n["id"] for n in graph["nodes"])
    assert len(seen["edges"]) == len(graph["edges"]) and all(length > 10 for length in seen["edges"])
    boxes = [n[1:] for n in seen["nodes"]]
    assert all(w > 40 and h > 20 for _, _, w, h in boxes)
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]), "nodes drawn on each other"
    # painted, not only laid out: a screenshot of the figure holds each kind of node's fill colour
    x, y, w, h = seen["figure"]
    shot = browser.call("Page.captureScreenshot", {"format": "png", "clip": {
        "x": x, "y": y, "width": min(w, 1400), "height": h, "scale": 1}})
    import base64

    png = base64.b64decode(shot["data"])
    (tmp_path / "graph.png").write_bytes(png)
    _, _, colours = png_colours(png)
    kinds = {n["kind"] for n in graph["nodes"]}
    assert kinds == {"version", "run", "link"}
    for kind in kinds:
        assert NODE_FILLS[kind] in colours, f"no {kind} node painted"


def test_a_node_opens_its_page(site: tuple[sitedata.Catalogue, Path], browser: Browser) -> None:
    cat, out = site
    browser.open((out / "p/default/a/model/v0.html").as_uri(), 1400, 1000)
    run_id = cat.runs["train"]
    x, y = browser.eval(f"""(() => {{
      const g = document.querySelector('svg g.node[data-id="run:{run_id}"]');
      g.scrollIntoView({{block: 'center', inline: 'center'}});
      const b = g.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; }})()""")
    mark = len(browser.events)
    for kind in ("mousePressed", "mouseReleased"):  # a real click at the node's centre
        browser.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})
    browser.wait_for("Page.loadEventFired", mark)
    assert browser.eval("location.href") == (out / f"run/{run_id}.html").as_uri()
    assert browser.eval("document.querySelector('h1').textContent") == f"Run {run_id}"


def test_filter_box_and_time_left(site: tuple[sitedata.Catalogue, Path], browser: Browser) -> None:
    _, out = site
    browser.open((out / "p/default/a/many/index.html").as_uri())
    rows = "document.querySelectorAll('table.versions tbody tr:not([hidden])').length"
    assert browser.eval(rows) == sitedata.MANY
    browser.eval("document.querySelector('input[data-filter]').focus()")
    browser.call("Input.insertText", {"text": "v1"})  # typed: v1, v10, v11
    assert browser.eval(rows) == 3
    left = browser.eval("[...document.querySelectorAll('.ttl-left')].map(e => e.textContent)")
    assert len(left) == 1 and re.fullmatch(r" \(in (9|10) days\)", left[0]), left
    assert not browser.exceptions()


def test_phone_width_needs_no_sideways_scrolling(site: tuple[sitedata.Catalogue, Path], browser: Browser,
                                                 tmp_path: Path) -> None:
    _, out = site
    for page in ("index.html", "p/default/a/model/v0.html", "p/default/a/many/index.html", "run/train-1.html"):
        browser.open((out / page).as_uri(), 375, 740, mobile=True)
        wide = browser.eval("[document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1], f"{page}: {wide[0]} px wide on a {wide[1]} px screen"
        browser.screenshot(tmp_path / (page.replace("/", "_") + ".png"))


def test_no_page_reaches_the_network(site: tuple[sitedata.Catalogue, Path], browser: Browser,
                                     tmp_path: Path) -> None:
    _, out = site
    pages = ["index.html", "p/default/a/raw/v0.html", "p/default/a/evil/v0.html", "r/models/c/churn.html",
             "run/index.html", "run/hostile-1.html"]
    for page in pages:
        mark = len(browser.events)
        browser.open((out / page).as_uri())
        urls = [ev["params"]["request"]["url"] for ev in browser.events[mark:]
                if ev.get("method") == "Network.requestWillBeSent"]
        assert urls and all(u.startswith("file://") for u in urls), (page, urls)
    assert not browser.exceptions()
    # the check sees a page that does reach out: a planted image and stylesheet are caught
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    planted = copy / "index.html"
    planted.write_text(planted.read_text().replace(
        "</head>", '<link rel="stylesheet" href="https://cdn.example.invalid/x.css"></head>').replace(
        "</main>", '<img src="http://example.invalid/pixel.png" alt=""></main>'))
    mark = len(browser.events)
    browser.open(planted.as_uri())
    outside = [ev["params"]["request"]["url"] for ev in browser.events[mark:]
               if ev.get("method") == "Network.requestWillBeSent"
               and not ev["params"]["request"]["url"].startswith("file://")]
    assert sorted(outside) == ["http://example.invalid/pixel.png", "https://cdn.example.invalid/x.css"]
    failed = [ev["params"].get("errorText") for ev in browser.events[mark:] if ev.get("method") == "Network.loadingFailed"]
    assert len(failed) >= 2  # and neither got through
