"""Registries, collections, link / unlink and registry references, on file:// and real S3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clihelp import Cli, make_tree, tree_bytes

WRITERS = 8


@pytest.fixture(params=["file", pytest.param("s3", marks=[pytest.mark.s3, pytest.mark.slow])])
def rules_cli(request: pytest.FixtureRequest) -> Cli:
    """Each rule on file:// and on the real S3 server; the S3 variant is slow (about 0.3 s of
    CPU per in-process S3 command), the concurrency tests below run on S3 by default."""
    return request.getfixturevalue({"file": "cli", "s3": "s3_cli"}[request.param])


def log_versions(cli: Cli, tmp_path: Path, n: int, name: str = "churn-model", kind: str = "model") -> None:
    for i in range(n):
        d = make_tree(tmp_path / f"{name}-in{i}", {"model.bin": f"{name} weights {i}\n".encode()})
        cli.ok("log", name, str(d), "--type", kind)


def collection(cli: Cli, registry: str, name: str) -> dict[str, Any]:
    colls = {c["name"]: c for c in cli.ok("registry", "show", registry, "--json").json()["collections"]}
    return colls[name]


def test_core_registries_exist_on_an_empty_remote(shared_cli: Cli) -> None:
    cli = shared_cli
    rows = {r["name"]: r for r in cli.ok("registry", "ls", "--json").json()}
    assert set(rows) == {"models", "datasets"}
    assert rows["models"]["accept_types"] == ["model"] and rows["models"]["core"] is True
    assert rows["datasets"]["accept_types"] == ["dataset"] and rows["datasets"]["collections"] == 0
    show = cli.ok("registry", "show", "models", "--json").json()
    assert show["ref"] == "registry/models" and show["collections"] == []
    assert cli("registry", "show", "nope").code == 3


def test_link_numbers_versions_and_resolves_to_the_source(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 3)
    # the collection does not exist until the first link; it numbers links in link order
    refs = [cli.ok("link", f"churn-model:v{i}", "registry/models/churn").out.strip() for i in (2, 0, 1)]
    assert refs == ["registry/models/churn:v0", "registry/models/churn:v1", "registry/models/churn:v2"]
    assert cli.ok("show", "registry/models/churn:v0", "--json").json()["ref"] == "default/churn-model:v2"
    latest = cli.ok("show", "registry/models/churn", "--json").json()
    assert latest["version"] == "v1"  # latest in a collection is the most recently linked
    assert cli.ok("show", "registry/models/churn:latest", "--json").json() == latest
    out = tmp_path / "out"
    assert cli.ok("download", "registry/models/churn:v0", "--root", str(out)).out.strip() == str(out.resolve())
    assert tree_bytes(out) == {"model.bin": b"churn-model weights 2\n"}
    files = cli.ok("files", "registry/models/churn:v1", "--json").json()
    assert [f["path"] for f in files] == ["model.bin"]
    # the link records the source: project, name, version, content digest, manifest digest
    res = cli.ok("link", "churn-model:v1", "registry/models/churn", "--json").json()
    src = res["source"]
    assert res["created"] is False and res["ref"] == "registry/models/churn:v2"
    assert (src["project"], src["name"], src["version"]) == ("default", "churn-model", "v1")
    assert src["digest"] == cli.ok("show", "churn-model:v1", "--json").json()["digest"]
    assert len(src["manifest"]) == 64
    coll = collection(cli, "models", "churn")
    assert coll["versions"] == 3 and coll["latest"] == "v2" and coll["source"] == "default/churn-model:v1"
    assert cli("show", "registry/models/churn:v9").code == 3
    assert cli("show", "registry/models/nope").code == 3
    assert cli("show", "registry/nope/churn").code == 3


def test_relinking_is_a_no_op_that_can_move_aliases(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 2)
    cli.ok("link", "churn-model:v0", "registry/models/churn", "--alias", "production")
    cli.ok("link", "churn-model:v1", "registry/models/churn")
    again = cli.ok("link", "churn-model:v0", "registry/models/churn")
    assert again.out.strip() == "registry/models/churn:v0" and "already linked" in again.err
    coll = collection(cli, "models", "churn")
    assert coll["versions"] == 2 and coll["latest"] == "v1" and coll["aliases"] == {"production": "v0"}
    res = cli.ok("link", "churn-model:latest", "registry/models/churn", "--alias", "production", "--json").json()
    assert res["ref"] == "registry/models/churn:v1" and res["created"] is False
    assert res["aliases"] == ["latest", "production"]
    assert collection(cli, "models", "churn")["versions"] == 2


def test_registry_types_are_enforced(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 1, "train", "dataset")
    log_versions(cli, tmp_path, 1)
    refused = cli("link", "train", "registry/models/train")
    assert refused.code == 5 and "model" in refused.err and "dataset" in refused.err
    assert cli.ok("link", "train", "registry/datasets/train").out.strip() == "registry/datasets/train:v0"
    assert cli("link", "train", "registry/evals/x").code == 3  # no such registry
    assert cli.ok("registry", "create", "evals", "--accept-type", "report", "--accept-type", "model",
                  "--description", "Evaluation reports").out.strip() == "registry/evals"
    refused = cli("link", "train", "registry/evals/x")
    assert refused.code == 5 and "model, report" in refused.err
    assert cli.ok("link", "churn-model", "registry/evals/x").out.strip() == "registry/evals/x:v0"
    # re-creating with the same types is a no-op; other types are refused
    same = cli.ok("registry", "create", "evals", "-t", "model", "-t", "report", "--json").json()
    assert same["created_now"] is False and same["accept_types"] == ["model", "report"]
    assert cli("registry", "create", "evals", "-t", "model").code == 5
    assert cli("registry", "create", "models").code == 5  # core: fixed to model
    cli.ok("registry", "create", "scratch")  # no --accept-type: any type
    cli.ok("link", "train", "registry/scratch/anything")
    cli.ok("link", "churn-model", "registry/scratch/anything")
    rows = {r["name"]: r for r in cli.ok("registry", "ls", "--json").json()}
    assert set(rows) == {"models", "datasets", "evals", "scratch"}
    assert rows["scratch"]["accept_types"] is None and rows["scratch"]["collections"] == 1
    assert rows["evals"]["description"] == "Evaluation reports" and rows["evals"]["core"] is False
    assert cli("registry", "create", "bad/name").code == 2


def test_collection_aliases_live_in_the_collection(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 3)
    for i in range(3):
        cli.ok("link", f"churn-model:v{i}", "registry/models/churn")
    assert cli.ok("alias", "add", "registry/models/churn:v1", "production").out.strip() == "registry/models/churn:v1"
    cli.ok("alias", "add", "registry/models/churn:v2", "production")
    out = tmp_path / "prod"
    cli.ok("download", "registry/models/churn:production", "--root", str(out))
    assert tree_bytes(out) == {"model.bin": b"churn-model weights 2\n"}
    rows = cli.ok("alias", "ls", "registry/models/churn", "--json").json()
    assert [(r["alias"], r["version"], r["source"]) for r in rows] == [
        ("latest", "v2", "default/churn-model:v2"), ("production", "v2", "default/churn-model:v2")]
    hist = cli.ok("history", "registry/models/churn:production", "--json").json()
    assert [(r["from"], r["to"]) for r in hist] == [(None, "v1"), ("v1", "v2")]
    # the artifact's own aliases are untouched
    assert [r["alias"] for r in cli.ok("alias", "ls", "churn-model", "--json").json()] == ["latest"]
    cli.ok("alias", "rm", "registry/models/churn", "production", env={"ARTCLI_RUN_ID": "retire-1",
                                                                     "ARTCLI_NOW": "2030-01-05T00:00:00Z"})
    assert cli("show", "registry/models/churn:production").code == 3
    gone = cli.ok("history", "registry/models/churn", "--json").json()[-1]  # the removal is a move to nothing
    assert (gone["alias"], gone["from"], gone["to"], gone["run"], gone["time"]) == (
        "production", "v2", None, "retire-1", "2030-01-05T00:00:00.000000Z")
    assert gone["user"] and gone["host"]
    assert cli("alias", "rm", "registry/models/churn", "production").code == 3  # nothing left to remove


def test_unlink(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 2)
    cli.ok("link", "churn-model:v0", "registry/models/churn")
    cli.ok("link", "churn-model:v1", "registry/models/churn", "--alias", "production")
    res = cli.ok("unlink", "registry/models/churn:v1", "--json").json()
    assert res["ref"] == "registry/models/churn:v1" and res["unlinked_now"] is True
    assert res["removed_aliases"] == ["production"] and res["source"]["ref"] == "default/churn-model:v1"
    assert res["source"]["type"] == "model" and res["source"]["version"] == "v1"
    assert cli("show", "registry/models/churn:v1").code == 3
    assert cli("show", "registry/models/churn:production").code == 3
    assert cli.ok("show", "registry/models/churn", "--json").json()["version"] == "v0"  # latest falls back
    assert cli.ok("show", "churn-model:v1", "--json").json()["version"] == "v1"  # the source is untouched
    again = cli.ok("unlink", "registry/models/churn:v1")
    assert again.out.strip() == "registry/models/churn:v1" and "already" in again.err
    assert cli("unlink", "registry/models/churn").code == 2  # needs :vN
    assert cli("unlink", "registry/models/churn:v5").code == 3
    # linking the source again makes a new collection version
    assert cli.ok("link", "churn-model:v1", "registry/models/churn").out.strip() == "registry/models/churn:v2"


def test_a_link_records_when_it_was_made(rules_cli: Cli, tmp_path: Path) -> None:
    cli = rules_cli
    log_versions(cli, tmp_path, 1)
    cli.ok("link", "churn-model:v0", "registry/models/churn", env={"ARTCLI_NOW": "2030-02-03T04:05:06Z"})
    coll = collection(cli, "models", "churn")
    assert [(lk["version"], lk["source"], lk["linked"]) for lk in coll["links"]] == [
        ("v0", "default/churn-model:v0", "2030-02-03T04:05:06.000000Z")]
    assert coll["updated"] == "2030-02-03T04:05:06.000000Z"


def test_linking_clears_a_ttl(cli: Cli, tmp_path: Path) -> None:
    d = make_tree(tmp_path / "in", {"model.bin": b"w"})
    cli.ok("log", "churn-model", str(d), "--type", "model", "--ttl", "1d")
    assert cli.ok("show", "churn-model", "--json").json()["expires"] is not None
    res = cli.ok("link", "churn-model", "registry/models/churn", "--json").json()
    assert res["ttl_cleared"] is True  # a linked version never expires
    assert cli.ok("show", "registry/models/churn", "--json").json()["expires"] is None
    assert cli.ok("link", "churn-model", "registry/models/churn", "--json").json()["ttl_cleared"] is False


def test_link_arguments_are_checked(cli: Cli, tmp_path: Path) -> None:
    log_versions(cli, tmp_path, 1)
    assert cli("link", "churn-model", "registry/models/churn:v1").code == 2
    assert cli("link", "churn-model", "registry/models/churn:prod").code == 2
    assert cli("link", "churn-model", "other").code == 2
    assert cli("link", "churn-model", "registry/models/churn", "--alias", "latest").code == 2
    assert cli("link", "nope", "registry/models/churn").code == 3
    assert cli("registry", "show", "models", "--json").json()["collections"] == []


def test_deleted_source_is_reported_through_the_link(cli: Cli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from artcli.repo import Repo

    log_versions(cli, tmp_path, 1)
    cli.ok("link", "churn-model", "registry/models/churn")
    for k, v in cli.env.items():
        monkeypatch.setenv(k, v)
    repo = Repo.open()
    try:  # another feature (GC/TTL) deletes versions; here the event is written directly
        repo.artifact_log("default", "churn-model").append(
            lambda _: {"type": "version_deleted", "version": 0, "reason": "test"})
    finally:
        repo.close()
    res = cli("download", "registry/models/churn:v0", "--root", str(tmp_path / "x"))
    assert res.code == 3 and "registry/models/churn:v0" in res.err and "deleted" in res.err


def _concurrent_links(cli: Cli, tmp_path: Path) -> None:
    log_versions(cli, tmp_path, WRITERS)
    procs = [cli.spawn("link", f"churn-model:v{i}", "registry/models/churn", "--alias", "production", "--json")
             for i in range(WRITERS)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert all(r["created"] for r in results)
    assert sorted(int(r["version"][1:]) for r in results) == list(range(WRITERS))  # distinct, consecutive
    by_version = {r["version"]: r["source"]["ref"] for r in results}
    assert sorted(by_version.values()) == sorted(f"default/churn-model:v{i}" for i in range(WRITERS))
    coll = collection(cli, "models", "churn")  # none lost: the log holds each link as its writer saw it
    assert {lk["version"]: lk["source"] for lk in coll["links"]} == by_version
    assert coll["versions"] == WRITERS
    # each link moved production to itself: it ends on the last one, which is also latest
    last = f"v{WRITERS - 1}"
    assert coll["aliases"] == {"production": last} and coll["latest"] == last
    out = tmp_path / "prod"
    cli.ok("download", "registry/models/churn:production", "--root", str(out))
    src_version = int(by_version[last].rsplit(":v", 1)[1])
    assert tree_bytes(out) == {"model.bin": f"churn-model weights {src_version}\n".encode()}


def test_concurrent_links_file(cli: Cli, tmp_path: Path) -> None:
    _concurrent_links(cli, tmp_path)


@pytest.mark.s3
@pytest.mark.slow  # make test races links into one collection on S3 in tests/test_many_writers.py
def test_concurrent_links_s3(s3_cli: Cli, tmp_path: Path) -> None:
    _concurrent_links(s3_cli, tmp_path)
