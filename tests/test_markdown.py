"""``--format markdown`` on show, ls, diff and lineage: CI summaries that render as tables and a
Mermaid block, whatever the strings in the remote hold (rendered here with markdown-it, the
CommonMark parser rich already depends on, with inline HTML on, as GitHub allows it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from clihelp import Cli, make_tree

HOSTILE = 'a | b <img src=x onerror=alert(1)> ``` [l](javascript:x) *em*\nsecond line'
RUN_NAME = "stage ``` <script>x</script> | name"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    tmp = tmp_path_factory.mktemp("md")
    c = Cli(tmp / "home", (tmp / "remote").as_uri(), env={"ARTCLI_RUN_ID": ""})
    make_tree(tmp / "d", {"a.txt": b"a", "b.txt": b"b"})
    c.ok("run", "start", "--id", "r1", "--name", RUN_NAME)
    c.ok("log", "ds", str(tmp / "d"), "-d", HOSTILE, "-m", "note=x|y", "-m", "w:size=1GiB", "--run", "r1")
    make_tree(tmp / "d", {"b.txt": b"bb", "c.txt": b"c"})
    (tmp / "d" / "a.txt").unlink()
    c.ok("log", "ds", str(tmp / "d"), "-m", "note=<b>z</b>", "--input", "ds:v0")
    return c


def _html(text: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def _cells(html: str) -> list[list[str]]:
    return [re.findall(r"<t[dh]>(.*?)</t[dh]>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)]


def _safe(html: str) -> None:
    assert "<img" not in html and "<script" not in html and "<b>" not in html
    assert 'href="javascript' not in html


def test_show(cli: Cli) -> None:
    text = cli.ok("show", "ds:v0", "--format", "markdown").out
    html = _html(text)
    _safe(html)
    assert html.count("<table>") == 2 and "<h3><code>default/ds:v0</code></h3>" in html
    rows = _cells(html)
    assert all(len(r) == 2 for r in rows)  # the | in the description and in a value stay inside their cells
    desc = next(r[1] for r in rows if r[0] == "description")
    assert "a | b &lt;img src=x onerror=alert(1)&gt;" in desc and "second line" in desc
    assert ["<code>w</code>", "1073741824"] in rows and ["<code>note</code>", "x|y"] in rows


def test_ls(cli: Cli) -> None:
    html = _html(cli.ok("ls", "--format", "markdown").out)
    assert _cells(html)[1][:3] == ["<code>ds</code>", "dataset", "2"]
    versions = _cells(_html(cli.ok("ls", "ds", "--format", "markdown").out))
    assert [r[0] for r in versions] == ["version", "<code>default/ds:v0</code>", "<code>default/ds:v1</code>"]
    assert versions[2][1] == "latest"


def test_diff(cli: Cli) -> None:
    html = _html(cli.ok("diff", "ds:v0", "ds:v1", "--format", "markdown").out)
    _safe(html)
    files, md = [_cells(t) for t in re.findall(r"<table>.*?</table>", html, re.S)]
    assert sorted(r[:2] for r in files[1:]) == [["added", "<code>c.txt</code>"], ["changed", "<code>b.txt</code>"],
                                                ["removed", "<code>a.txt</code>"]]
    assert ["changed", "<code>note</code>", "x|y", "&lt;b&gt;z&lt;/b&gt;"] in md
    assert ["removed", "<code>w</code>", "1 GiB", "—"] in md


def test_lineage_is_one_mermaid_block(cli: Cli) -> None:
    text = cli.ok("lineage", "ds:v1", "--format", "markdown").out
    html = _html(text)
    _safe(html)
    blocks = re.findall(r'<pre><code class="language-mermaid">(.*?)</code></pre>', html, re.S)
    assert len(blocks) == 1 and blocks[0].startswith("flowchart LR") and "style n0 stroke-width:3px" in blocks[0]
    assert "run r1" in blocks[0]  # the run's name, backticks and all, stayed inside the block
    assert html.count("<pre>") == 1 and "<h3>Lineage of <code>default/ds:v1</code></h3>" in html


def test_format_json_is_json(cli: Cli, tmp_path: Path) -> None:
    assert cli.ok("show", "ds", "--format", "json").json() == cli.ok("show", "ds", "--json").json()
    assert cli("show", "ds", "--format", "yaml").code == 2
    assert cli("ls", "--json", "--format", "markdown").code == 2


def test_fences_and_code_spans_outlast_backticks_inside() -> None:
    from artcli.cli.render.markdown import code, fence

    body = "flowchart LR\n```\n  n0 --> n1\n````"
    html = _html(fence(body, "mermaid"))
    assert html.count("<pre>") == 1 and "n0 --&gt; n1\n````" in html
    assert _html(code("a `b` ``c``")) == "<p><code>a `b` ``c``</code></p>\n"
