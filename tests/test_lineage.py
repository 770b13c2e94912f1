"""``lineage``: a three-stage pipeline run as separate processes, checked from each end; output
formats (json field by field, dot parsed by Graphviz, mermaid, tree, svg); hand-edited cyclic logs."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from artcli import canonical

from clihelp import Cli, make_tree

CI_VARS = ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "CIRCLECI", "BUILDKITE", "TF_BUILD", "ARTCLI_RUN_ID")
NO_CI = {v: "" for v in CI_VARS}  # the suite may itself run in CI: blank its job id for these processes
HAS_DOT = shutil.which("dot") is not None
LINK = "registry/models/churn:v0"


@dataclass
class Pipeline:
    cli: Cli
    runs: dict[str, str]  # stage -> run id

    def edges(self, *args: str) -> set[tuple[str, str, str]]:
        return {(e["from"], e["to"], e["kind"]) for e in self.graph(*args)["edges"]}

    def graph(self, *args: str) -> dict[str, Any]:
        return self.cli.ok("lineage", *args, "--format", "json").json()

    def all_edges(self) -> set[tuple[str, str, str]]:
        r = {k: f"run:{v}" for k, v in self.runs.items()}
        return {
            (r["ingest"], "default/raw:v0", "produced"),
            ("default/raw:v0", r["clean"], "used"),
            (r["clean"], "default/clean:v0", "produced"),
            ("default/clean:v0", r["train"], "used"),
            (r["train"], "default/model:v0", "produced"),
            ("default/model:v0", LINK, "linked"),
            ("default/model:v0", r["evaluate"], "used"),
            ("default/clean:v0", r["evaluate"], "used"),  # log --input
            (r["evaluate"], "default/eval:v0", "produced"),
        }


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """raw -> clean -> model -> evaluation: each stage one run, its commands separate processes."""
    tmp = tmp_path_factory.mktemp("pipeline")
    cli = Cli(tmp / "home", (tmp / "remote").as_uri(), env=NO_CI)
    ids: dict[str, str] = {}

    def stage(job: str, *commands: tuple[str, ...], name: str | None = None) -> None:
        ids[job] = cli.run("run", "start", "--job-type", job, *(["--name", name] if name else [])).check().out.strip()
        for cmd in commands:
            cli.run(*cmd, env={"ARTCLI_RUN_ID": ids[job]}).check()

    raw = make_tree(tmp / "raw", {"part-0.csv": b"id,x\n1,2\n1,2\n", "part-1.csv": b"id,x\n3,4\n"})
    clean = make_tree(tmp / "clean", {"train.csv": b"id,x\n1,2\n3,4\n"})
    model = make_tree(tmp / "model", {"model.bin": b"weights"})
    report = make_tree(tmp / "eval", {"metrics.json": b'{"auc": 0.9}'})
    stage("ingest", ("log", "raw", str(raw)))
    stage("clean", ("download", "raw", "--root", str(tmp / "in-raw")), ("log", "clean", str(clean)),
          name='dedupe "v2" <fast> & small')  # quotes and markup: dot and mermaid must escape them
    stage("train", ("download", "clean", "--root", str(tmp / "in-clean")), ("log", "model", str(model), "--type", "model"),
          ("link", "model", "registry/models/churn", "--alias", "candidate"))
    stage("evaluate", ("download", "model:latest", "--root", str(tmp / "in-model")),
          ("log", "eval", str(report), "--type", "evaluation", "--input", "clean:latest"))
    return Pipeline(cli, ids)


def test_upstream_of_the_evaluation_reaches_raw(pipeline: Pipeline) -> None:
    expected = pipeline.all_edges() - {("default/model:v0", LINK, "linked")}
    assert pipeline.edges("eval", "--direction", "up") == expected


def test_downstream_of_raw_reaches_the_evaluation(pipeline: Pipeline) -> None:
    expected = pipeline.all_edges() - {(f"run:{pipeline.runs['ingest']}", "default/raw:v0", "produced")}
    assert pipeline.edges("raw:v0", "--direction", "down") == expected


def test_both_directions_from_the_middle(pipeline: Pipeline) -> None:
    assert pipeline.edges("clean") == pipeline.all_edges()


def test_registry_reference_is_a_node_linked_to_its_source(pipeline: Pipeline) -> None:
    g = pipeline.graph("registry/models/churn:candidate", "--direction", "up")
    assert g["root"] == LINK
    link = g["nodes"][0]
    assert link == {"id": LINK, "kind": "link", "ref": LINK, "registry": "models", "collection": "churn",
                    "version": "v0", "source": "default/model:v0", "aliases": ["latest", "candidate"],
                    "linked": link["linked"], "state": "live", "depth": 0}
    r = {k: f"run:{v}" for k, v in pipeline.runs.items()}
    assert {(e["from"], e["to"], e["kind"]) for e in g["edges"]} == {
        ("default/model:v0", LINK, "linked"), (r["train"], "default/model:v0", "produced"),
        ("default/clean:v0", r["train"], "used"), (r["clean"], "default/clean:v0", "produced"),
        ("default/raw:v0", r["clean"], "used"), (r["ingest"], "default/raw:v0", "produced")}
    down = pipeline.edges(LINK, "--direction", "down")  # downstream, a registry ref stands for its source
    assert ("default/model:v0", r["evaluate"], "used") in down and (r["evaluate"], "default/eval:v0", "produced") in down


def test_depth_counts_runs(pipeline: Pipeline) -> None:
    r = {k: f"run:{v}" for k, v in pipeline.runs.items()}
    g = pipeline.graph("eval", "--direction", "up", "--depth", "1")
    assert {n["id"]: n["depth"] for n in g["nodes"]} == {
        "default/eval:v0": 0, r["evaluate"]: 1, "default/model:v0": 1, "default/clean:v0": 1}
    assert g["depth"] == 1
    assert [n["id"] for n in pipeline.graph("eval", "--depth", "0")["nodes"]] == ["default/eval:v0"]
    down = pipeline.graph("raw", "--direction", "down", "--depth", "1")
    assert {n["id"] for n in down["nodes"]} == {"default/raw:v0", r["clean"], "default/clean:v0"}
    assert pipeline.cli("lineage", "raw", "--depth", "-1").code == 2
    assert pipeline.cli("lineage", "raw", "--direction", "sideways").code == 2
    assert pipeline.cli("lineage", "raw", "--format", "png").code == 2
    assert pipeline.cli("lineage", "nope").code == 3


def test_json_schema_field_by_field(pipeline: Pipeline) -> None:
    cli = pipeline.cli
    g = pipeline.graph("eval", "--direction", "up")
    assert cli.ok("lineage", "eval", "--direction", "up", "--json").json() == g  # --json is --format json
    assert list(g) == ["schema", "root", "direction", "depth", "truncated", "nodes", "edges", "warnings"]
    assert (g["schema"], g["root"], g["direction"], g["depth"], g["truncated"], g["warnings"]) == \
        ("artcli.lineage/1", "default/eval:v0", "up", None, False, [])
    ids = [n["id"] for n in g["nodes"]]
    assert ids[0] == g["root"] and ids[1:] == sorted(ids[1:]) and len(ids) == 8
    assert g["edges"] == sorted(g["edges"], key=lambda e: (e["from"], e["to"], e["kind"]))
    nodes = {n["id"]: n for n in g["nodes"]}
    show = cli.ok("show", "eval", "--json").json()
    assert nodes["default/eval:v0"] == {
        "id": "default/eval:v0", "kind": "version", "ref": "default/eval:v0", "project": "default", "name": "eval",
        "version": "v0", "type": "evaluation", "digest": show["digest"], "created": show["created"],
        "run": pipeline.runs["evaluate"], "aliases": ["latest"], "description": None, "state": "live", "depth": 0}
    assert nodes["default/raw:v0"]["run"] == pipeline.runs["ingest"]
    # depth is the fewest runs away: clean is a direct input of the evaluation (log --input)
    assert {n: nodes[n]["depth"] for n in ("default/model:v0", "default/clean:v0", "default/raw:v0")} == \
        {"default/model:v0": 1, "default/clean:v0": 1, "default/raw:v0": 2}
    run = nodes[f"run:{pipeline.runs['evaluate']}"]
    assert set(run) == {"id", "kind", "run", "job_type", "name", "started", "finished", "status", "host", "user",
                        "command", "git", "ci", "state", "depth"}
    assert (run["kind"], run["run"], run["job_type"], run["name"], run["state"], run["depth"]) == \
        ("run", pipeline.runs["evaluate"], "evaluate", None, "recorded", 1)
    assert run["host"] == socket.gethostname() and run["user"] and run["started"] <= show["created"]
    assert (run["finished"], run["status"], run["ci"]) == (None, None, None)
    assert run["command"] == ["artcli", "run", "start", "--job-type", "evaluate"]
    assert run["git"] is None or set(run["git"]) >= {"commit", "branch", "dirty"}
    assert nodes[f"run:{pipeline.runs['clean']}"]["name"] == 'dedupe "v2" <fast> & small'


def test_dot_and_mermaid_text(pipeline: Pipeline) -> None:
    g = pipeline.graph("clean")
    dot = pipeline.cli.ok("lineage", "clean", "--format", "dot").out
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == len(g["edges"]) and '\\"v2\\"' in dot
    mer = pipeline.cli.ok("lineage", "clean", "--format", "mermaid").out.splitlines()
    assert mer[0] == "flowchart LR"
    assert sum("-->|" in ln for ln in mer) == len(g["edges"]) and sum("-->|linked|" in ln for ln in mer) == 1
    assert not any('"v2"' in ln for ln in mer) and any("#quot;v2#quot;" in ln for ln in mer)
    tree = pipeline.cli.ok("lineage", "clean", "--format", "tree").out
    assert tree.splitlines()[0].startswith("default/clean:v0") and "upstream" in tree and "downstream" in tree
    for node in g["nodes"]:
        assert node["id"].removeprefix("run:") in tree


def test_dot_parses_with_graphviz(pipeline: Pipeline, tmp_path: Path) -> None:
    if not HAS_DOT:
        pytest.skip("Graphviz 'dot' is not installed")
    g = pipeline.graph("clean")
    dot = pipeline.cli.ok("lineage", "clean", "--format", "dot").out
    res = subprocess.run(["dot", "-Tjson"], input=dot, capture_output=True, text=True, timeout=60, check=True)
    parsed = json.loads(res.stdout)
    assert {o["name"] for o in parsed["objects"]} == {n["id"] for n in g["nodes"]}
    assert len(parsed["edges"]) == len(g["edges"])
    png = tmp_path / "lineage.png"
    assert pipeline.cli.ok("lineage", "clean", "--output", str(png)).out.strip() == str(png)
    assert png.read_bytes().startswith(b"\x89PNG")


def test_png_without_graphviz_is_a_clear_error(pipeline: Pipeline, tmp_path: Path) -> None:
    """.png and .pdf need Graphviz (an .svg does not: the built-in layout draws it, test_site.py)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    r = pipeline.cli("lineage", "clean", "--output", str(tmp_path / "x.png"), env={"PATH": str(empty)})
    assert r.code == 1 and "Graphviz 'dot' is not installed" in r.err and "--format dot" in r.err
    assert not (tmp_path / "x.png").exists()
    out = tmp_path / "g.mmd"
    assert pipeline.cli.ok("lineage", "clean", "--format", "mermaid", "-o", str(out)).out.strip() == str(out)
    assert out.read_text().startswith("flowchart LR")


# -- hand-edited logs --------------------------------------------------------------------------------
def _event(root: Path, prefix: str, seq: int, body: dict[str, Any] | None, run: str | None = None) -> None:
    path = root / prefix / "events" / f"{seq:012d}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if body is None:
        path.write_bytes(b"{not json")
        return
    ev = {"seq": seq, "time": f"2030-01-01T00:00:{seq:02d}.000000Z", "actor": {"user": "u", "host": "h", "run": run},
          **body}
    path.write_bytes(canonical.dumps(ev))


def _created(version: int, inputs: list[str] | None = None) -> dict[str, Any]:
    return {"type": "version_created", "version": version, "digest": "0" * 64, "manifest": "1" * 64, "size": 1,
            "files": 1, "artifact_type": "dataset", "description": None, "aliases": [], "metadata": {},
            "inputs": inputs or []}


@pytest.fixture
def cyclic(cli: Cli) -> Cli:
    """a:v0 and b:v0, each made by a run that used the other (and a:v0 used by its own run),
    plus garbage: an unsafe run id, a missing version, an unparsable input, a corrupt event."""
    assert cli.remote is not None
    root = Path(urlparse(cli.remote).path)
    root.mkdir(parents=True, exist_ok=True)
    (root / "artcli-store.json").write_bytes(b'{"format":2,"hash":"blake3"}')  # an artcli remote (format.md §2.1)
    a, b = "projects/default/artifacts/a/", "projects/default/artifacts/b/"
    _event(root, a, 0, _created(0, ["default/b:v0", "default/ghost:v3", "not a ref", "default/a:v0"]), "run-a")
    _event(root, a, 1, {"type": "used", "version": 0, "run": "run-b"})
    _event(root, a, 2, {"type": "used", "version": 0, "run": "../../etc"})
    _event(root, a, 3, {"type": "used", "version": 0, "run": "run-a"})
    _event(root, b, 0, _created(0), "run-b")
    _event(root, b, 1, {"type": "used", "version": 0, "run": "run-a"})
    ra, rb = "runs/run-a/", "runs/run-b/"
    _event(root, ra, 0, {"type": "run_started", "attributes": {"job_type": "loop"}}, "run-a")
    _event(root, ra, 1, {"type": "input", "project": "default", "name": "b", "version": 0}, "run-a")
    _event(root, ra, 2, {"type": "output", "project": "default", "name": "a", "version": 0}, "run-a")
    _event(root, ra, 3, {"type": "input", "project": "default", "name": "a", "version": 0}, "run-a")
    _event(root, ra, 4, None)
    _event(root, rb, 0, {"type": "input", "project": "default", "name": "a", "version": 0}, "run-b")
    _event(root, rb, 1, {"type": "output", "project": "default", "name": "b", "version": 0}, "run-b")
    _event(root, rb, 2, {"type": "output", "project": "../x", "name": "a", "version": 0}, "run-b")
    return cli


def test_cyclic_hand_edited_logs_terminate(cyclic: Cli) -> None:
    r = cyclic.run("lineage", "a:v0", "--format", "json", env=NO_CI, timeout=60).check()
    g = r.json()
    assert {n["id"]: n["state"] for n in g["nodes"]} == {
        "default/a:v0": "live", "default/b:v0": "live", "default/ghost:v3": "missing",
        "run:run-a": "recorded", "run:run-b": "recorded"}
    edges = {(e["from"], e["to"], e["kind"]) for e in g["edges"]}
    assert {("run:run-a", "default/a:v0", "produced"), ("default/a:v0", "run:run-a", "used"),
            ("default/b:v0", "run:run-a", "used"), ("run:run-b", "default/b:v0", "produced"),
            ("default/a:v0", "run:run-b", "used"), ("default/ghost:v3", "run:run-a", "used")} <= edges
    text = "\n".join(g["warnings"])
    for needle in ("'../../etc'", "ghost:v3", "'not a ref'", "corrupt event", "invalid event"):
        assert needle in text, needle
    for direction in ("up", "down"):
        for depth in ("0", "1", "50"):
            res = cyclic.ok("lineage", "b", "--direction", direction, "--depth", depth, "--format", "json").json()
            assert res["nodes"][0]["id"] == "default/b:v0" and not res["truncated"]
    assert "(see above)" in cyclic.ok("lineage", "a:v0", "--format", "tree").out


def test_node_cap_truncates(cyclic: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from artcli.model import parse_ref
    from artcli.ops.lineage import lineage
    from artcli.repo import Repo

    for k, v in cyclic.env.items():
        monkeypatch.setenv(k, v)
    repo = Repo.open()
    try:
        g = lineage(repo, parse_ref("a:v0", "default"), max_nodes=3)
    finally:
        repo.close()
    assert g.truncated and len(g.nodes) == 3 and any("stopped at 3 nodes" in w for w in g.warnings)


def test_tree_on_a_terminal_prints_labels_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run names are free text: the rich tree must not read them as markup."""
    from artcli.cli import output

    cli = Cli(tmp_path / "home", (tmp_path / "remote").as_uri(), env=NO_CI)
    rid = cli.ok("run", "start", "--job-type", "train", "--name", "[red]first [bold]try").out.strip()
    cli.ok("log", "ds", str(make_tree(tmp_path / "d", {"a.txt": b"a"})), env={"ARTCLI_RUN_ID": rid})
    monkeypatch.setattr(output, "stdout_tty", lambda: True)
    tree = cli.ok("lineage", "ds", env={"COLUMNS": "200"}).out
    assert tree.startswith("default/ds:v0") and "├── upstream" in tree
    assert f"← produced: run {rid} — train · [red]first [bold]try" in tree


def test_registry_reference_tree_shows_its_sources_downstream(pipeline: Pipeline) -> None:
    """The tree (not only the JSON) of a registry reference's downstream lists the consuming run:
    it used to print an empty downstream, the edge going version → link."""
    tree = pipeline.cli.ok("lineage", "registry/models/churn:latest", "--direction", "down", "--format", "tree").out
    lines = tree.splitlines()
    assert lines[0].startswith(LINK) and lines[1].endswith("downstream")
    assert "= links: default/model:v0" in lines[2]
    assert any(f"run {pipeline.runs['evaluate']}" in ln for ln in lines[3:])
    assert any("default/eval:v0" in ln for ln in lines[3:])


def test_registry_reference_tree_downstream_on_file_and_s3(shared_cli: Cli, tmp_path: Path) -> None:
    """The registry tree fix on each remote the concurrency rules are proven on: a run that
    downloads ``registry/models/churn:latest`` is the link's downstream in the tree too."""
    cli = shared_cli
    model = make_tree(tmp_path / "model", {"model.bin": b"weights"})
    cli.ok("log", "model", str(model), "--type", "model")
    cli.ok("link", "model", "registry/models/churn")
    rid = cli.run("run", "start", "--job-type", "evaluate", env=NO_CI).check().out.strip()
    cli.run("download", "registry/models/churn:latest", "--root", str(tmp_path / "in"),
            env={**NO_CI, "ARTCLI_RUN_ID": rid}).check()
    cli.run("run", "finish", rid, env=NO_CI).check()
    tree = cli.run("lineage", "registry/models/churn:latest", "--direction", "down", "--format", "tree",
                   env=NO_CI).check().out
    lines = tree.splitlines()
    assert lines[1].endswith("downstream") and any(f"run {rid}" in ln for ln in lines[2:]), tree
