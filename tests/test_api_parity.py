"""The CLI and the Python API leave the same remote for the same operations.

One sequence (log, re-log, a new version with an input and a TTL, add-ref with and without
checksums, aliases, metadata, a registry link, a TTL, a run that uses, downloads and logs,
a delete) runs through the command line against one remote and through ``import artcli``
against another of the same kind; then ``ls``/``show``/``files`` JSON, every event of every log
(times, made-up run ids and command lines normalised) and the set of stored objects agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import artcli

from clihelp import Cli, make_tree
from fixtures_cli import S3_SLOW

TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
FRESH_RUN = re.compile(r"r-\d{8}T\d{6}Z-[0-9a-f]{8}")


def _inputs(root: Path) -> tuple[Path, Path]:
    data = make_tree(root / "data", {"a.txt": b"alpha", "sub/b.bin": bytes(range(256)) * 9,
                                     "big.bin": bytes(reversed(range(256))) * 6000})
    src = make_tree(root / "src", {"r1.txt": b"ref one", "deep/r2.txt": b"ref two"})
    return data, src


def via_cli(cli: Cli, data: Path, src: Path, out: Path) -> None:
    cli.ok("log", "ds", str(data), "--alias", "raw", "-m", "rows=3", "-m", "w:size=1KiB", "-m", "card.k=v")
    cli.ok("log", "ds", str(data))
    (data / "a.txt").write_bytes(b"alpha 2")
    cli.ok("log", "ds", str(data), "--input", "ds:raw", "-d", "second", "--ttl", "30d", "--type", "dataset")
    cli.ok("add-ref", "refs", src.as_uri(), "--alias", "pinned")
    cli.ok("add-ref", "locs", src.as_uri(), "--no-checksum")
    cli.ok("log", "mixed", str(data / "a.txt"), "--ref", (src / "r1.txt").as_uri())
    cli.ok("alias", "add", "ds:v1", "best", "prod")
    cli.ok("alias", "rm", "ds", "prod")
    cli.ok("metadata", "set", "ds:v1", "acc=0.9", "model_metrics.f1=0.8", "src:uri=s3://b/k")
    cli.ok("link", "ds:v1", "registry/datasets/churn", "--alias", "candidate")
    cli.ok("ttl", "set", "ds:v0", "7d")
    cli.ok("run", "start", "--id", "train-1", "--job-type", "train", "--name", "parity")
    cli.ok("use", "ds:raw", "--run", "train-1")
    cli.ok("download", "refs", "--root", str(out / "refs"), "--run", "train-1")
    cli.ok("log", "model", str(data / "sub"), "--type", "model", "--run", "train-1")
    cli.ok("metadata", "set", "--infer", "eval.loss=0.25", "weights:size=2KiB", "--run", "train-1")
    cli.ok("run", "finish", "train-1", "--status", "succeeded")
    cli.ok("delete", "locs:v0")


def via_api(url: str, data: Path, src: Path, out: Path) -> None:
    with artcli.open(url) as repo:
        repo.log("ds", [str(data)], aliases=["raw"], metadata={"rows": 3, "w:size": "1KiB", "card": {"k": "v"}})
        repo.log("ds", [str(data)])
        (data / "a.txt").write_bytes(b"alpha 2")
        repo.log("ds", [str(data)], inputs=["ds:raw"], description="second", ttl="30d", type="dataset")
        repo.add_ref("refs", [src.as_uri()], aliases=["pinned"])
        repo.add_ref("locs", [src.as_uri()], checksum=False)
        repo.log("mixed", [str(data / "a.txt")], refs=[(src / "r1.txt").as_uri()])
        repo.alias("ds:v1", "best", "prod")
        repo.unalias("ds", "prod")
        repo.metadata.set("ds:v1", {"acc": 0.9, "model_metrics": {"f1": 0.8}, "src:uri": "s3://b/k"})
        repo.link("ds:v1", "registry/datasets/churn", aliases=["candidate"])
        repo.ttl("ds:v0", "7d")
        with artcli.run("train", name="parity", remote=url, run_id="train-1") as run:
            run.use("ds:raw")
            run.download("refs", str(out / "refs"))
            run.log("model", [str(data / "sub")], type="model")
            run.log_metadata({"eval": {"loss": 0.25}, "weights:size": "2KiB"})
        repo.delete("locs:v0")


def _token(token: str, names: dict[str, str]) -> str:
    """The catalogue's random touch tokens, numbered in the order the log shows them."""
    return names.setdefault(f"touch {token}", f"<touch{sum(k.startswith('touch ') for k in names)}>")


def _normalise(obj: Any, runs: dict[str, str], root: str) -> Any:
    """Times, made-up run ids, the catalogue's random touch tokens and the remote's own URL
    replaced by placeholders."""
    if isinstance(obj, dict):
        if "touch" in obj:
            obj = {**obj, "touch": _token(obj["touch"], runs)}
        if isinstance(obj.get("resolves"), dict):
            obj = {**obj, "resolves": {k: [_token(t, runs) for t in v] for k, v in obj["resolves"].items()}}
        return {k: _normalise(v, runs, root) for k, v in obj.items()
                if k not in ("attributes", "command")}  # the command line: `artcli ...` vs `python ...`
    if isinstance(obj, list):
        return [_normalise(v, runs, root) for v in obj]
    if isinstance(obj, str):
        obj = obj.replace(root, "<remote>")
        obj = FRESH_RUN.sub(lambda m: runs.setdefault(
            m.group(0), f"<run{sum(not k.startswith('touch ') for k in runs)}>"), obj)
        return TIME.sub("<time>", obj)
    return obj


def remote_state(url: str) -> tuple[dict[str, list[Any]], set[str]]:
    """Every log's events (normalised) and every other key, artifact logs first so made-up run
    ids are numbered in the order the versions name them."""
    from artcli.store import open_store

    store = open_store(url, {})
    try:
        keys = [info.key for info in store.list("")]
        logs: dict[str, list[Any]] = {}
        others: set[str] = set()
        runs: dict[str, str] = {}
        order = sorted(keys, key=lambda k: (not k.startswith("projects/"), not k.startswith("registries/"), k))
        for key in order:
            if "/events/" in key:
                log, _, _ = key.partition("/events/")
                logs.setdefault(log, []).append(json.loads(store.get(key)))
            elif not key.startswith(("gc/", "leases/")):
                others.add(key)
        return ({_normalise(k, runs, url): _normalise(v, runs, url) for k, v in logs.items()},
                {_normalise(k, runs, url) for k in others})
    finally:
        store.close()


def _reads(cli: Cli, url: str) -> dict[str, Any]:
    runs: dict[str, str] = {}
    out: dict[str, Any] = {"ls": cli.ok("ls", "--json").json()}
    for name in ("ds", "refs", "mixed", "model"):
        out[f"ls {name}"] = cli.ok("ls", name, "--json").json()
        out[f"files {name}"] = cli.ok("files", name, "--json").json()
    for ref in ("ds:v0", "ds:best", "refs:pinned", "registry/datasets/churn:candidate", "model"):
        out[f"show {ref}"] = cli.ok("show", ref, "--json").json()
    out["run"] = cli.ok("run", "show", "train-1", "--json").json()
    out["lineage"] = cli.ok("lineage", "model", "--json").json()
    out = _normalise(out, runs, url)
    for part in ("nodes", "edges"):  # ordered by id, and made-up run ids are random: order after naming them
        out["lineage"][part].sort(key=lambda item: json.dumps(item, sort_keys=True))
    return out


@pytest.mark.parametrize("kind", ["file", S3_SLOW])
def test_cli_and_api_leave_the_same_remote(kind: str, tmp_path: Path,
                                           make_remote: Callable[[str], tuple[str, dict[str, str]]]) -> None:
    url_cli, _ = make_remote(kind)
    url_api, _ = make_remote(kind)
    cli = Cli(tmp_path / "home", url_cli)
    # both sides read their inputs from the same paths (references record their source URI)
    data, src = _inputs(tmp_path / "side")
    via_cli(cli, data, src, tmp_path / "cli-out")
    (tmp_path / "side").rename(tmp_path / "side.cli")
    data, src = _inputs(tmp_path / "side")
    via_api(url_api, data, src, tmp_path / "api-out")

    reads_cli = _reads(cli, url_cli)
    reads_api = _reads(Cli(tmp_path / "home", url_api), url_api)
    for key in reads_cli:
        assert reads_api[key] == reads_cli[key], key
    logs_cli, objects_cli = remote_state(url_cli)
    logs_api, objects_api = remote_state(url_api)
    assert sorted(logs_api) == sorted(logs_cli)
    for log in logs_cli:
        assert [e["type"] for e in logs_api[log]] == [e["type"] for e in logs_cli[log]], log
        assert logs_api[log] == logs_cli[log], log
    assert objects_api == objects_cli
    assert (tmp_path / "api-out" / "refs" / "deep" / "r2.txt").read_bytes() == b"ref two"
