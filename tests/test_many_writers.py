"""Many writers at once, as real processes, on a file://, an S3 and an Azure remote: nothing is lost.

One round starts WRITERS processes together — logs of new content, logs of one identical
content, ``alias add`` of one alias, ``metadata set`` of distinct keys and ``link`` into one
collection — then checks every guarantee against what each process printed:

* versions are consecutive (v0..vN), no gaps, no duplicates, one per distinct content;
* the alias is held by exactly one version and its history shows every move, chained;
* every metadata entry is there with its value; every link is there exactly once;
* every version downloads, verified, byte for byte what its writer logged.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from clihelp import Cli, make_tree, tree_bytes

COLLECTION = "registry/datasets/shared"


@dataclass
class Round:
    """What one round's writers did, for the checks."""

    logs: dict[str, Path] = field(default_factory=dict)  # writer id -> input dir
    same: list[str] = field(default_factory=list)  # writers that logged the shared identical content
    aliases: dict[str, int] = field(default_factory=dict)  # writer id -> version it put "best" on
    metadata: dict[str, str] = field(default_factory=dict)  # key -> value
    links: dict[str, int] = field(default_factory=dict)  # writer id -> source version linked


def _plan(tmp: Path, n: int, existing: int, tag: str) -> tuple[Round, list[tuple[str, list[str]]]]:
    """n commands: ~40% new-content logs, ~15% identical logs, the rest alias/metadata/link."""
    plan = Round()
    cmds: list[tuple[str, list[str]]] = []
    shared = make_tree(tmp / f"same-{tag}", {"same.txt": f"identical {tag}\n".encode(), "blob.bin": b"s" * 4096})
    kinds = ["log", "log", "same", "alias", "log", "meta", "link", "log", "same", "alias", "meta", "link"]
    for i in range(n):
        wid = f"{tag}-{i:02d}"
        kind = kinds[i % len(kinds)]
        if kind == "log":
            d = make_tree(tmp / f"in-{wid}", {"writer.txt": f"{wid}\n".encode(), "data.bin": os.urandom(3000),
                                              "common.bin": b"c" * 10_000})
            plan.logs[wid] = d
            cmds.append((wid, ["log", "ds", str(d), "--json"]))
        elif kind == "same":
            plan.same.append(wid)
            cmds.append((wid, ["log", "ds", str(shared), "--json"]))
        elif kind == "alias":
            plan.aliases[wid] = i % existing
            cmds.append((wid, ["alias", "add", f"ds:v{i % existing}", "best", "--json"]))
        elif kind == "meta":
            plan.metadata[f"w.{wid}"] = f"value-{wid}"
            cmds.append((wid, ["metadata", "set", "ds:v0", f"w.{wid}=value-{wid}", "--json"]))
        else:
            plan.links[wid] = i % existing
            cmds.append((wid, ["link", f"ds:v{i % existing}", COLLECTION, "--json"]))
    return plan, cmds


def _run_all(cli: Cli, cmds: list[tuple[str, list[str]]]) -> dict[str, dict]:
    """Start every command before waiting for any; all must succeed."""
    procs: list[tuple[str, subprocess.Popen[str]]] = [(wid, cli.spawn(*args)) for wid, args in cmds]
    out: dict[str, dict] = {}
    failures = []
    for wid, p in procs:
        stdout, stderr = p.communicate(timeout=300)
        if p.returncode != 0:
            failures.append(f"{wid} {p.args[3:]} exit {p.returncode}: {stderr.strip()}")
        else:
            out[wid] = json.loads(stdout)
    assert not failures, "\n".join(failures)
    return out


def _round(cli: Cli, tmp: Path, n: int, tag: str, inputs: dict[int, dict[str, bytes]]) -> None:
    """One round of n concurrent writers, then every check. ``inputs``: version -> files, grows."""
    before = cli.ok("ls", "ds", "--json").json()
    existing = len(before)
    plan, cmds = _plan(tmp, n, existing, tag)
    results = _run_all(cli, cmds)

    # versions: consecutive, one per distinct content, each writer told the truth
    versions = cli.ok("ls", "ds", "--json").json()
    numbers = [int(v["version"][1:]) for v in versions]
    assert numbers == list(range(len(numbers))), numbers
    assert len(numbers) == existing + len(plan.logs) + (1 if plan.same else 0)
    by_version = {int(v["version"][1:]): v for v in versions}
    logged = {wid: int(results[wid]["version"][1:]) for wid in plan.logs}
    assert len(set(logged.values())) == len(logged), "two writers got the same version"
    assert all(results[w]["created"] for w in plan.logs)
    same_versions = {int(results[w]["version"][1:]) for w in plan.same}
    assert len(same_versions) <= 1 and sum(results[w]["created"] for w in plan.same) == (1 if plan.same else 0)
    for wid, n_ in logged.items():
        assert by_version[n_]["digest"] == results[wid]["digest"]
        inputs[n_] = tree_bytes(plan.logs[wid])
    for n_ in same_versions:
        inputs[n_] = tree_bytes(tmp / f"same-{tag}")

    # the alias: held by exactly one version; the history has every move, each from the last one
    holders = [v for v in versions if "best" in v["aliases"]]
    if plan.aliases:
        assert len(holders) == 1, holders
        moves = [h for h in cli.ok("history", "ds", "--json").json() if h["alias"] == "best"]
        for prev, cur in itertools.pairwise(moves):
            assert cur["from"] == prev["to"], moves
        assert holders[0]["version"] == moves[-1]["to"]
        assert {f"v{k}" for k in plan.aliases.values()} <= {m["to"] for m in moves}, "an alias move was lost"
        assert all(results[w]["ref"].endswith(f":v{k}") for w, k in plan.aliases.items())

    # metadata: every key, with its value
    entries = {e["key"]: e["value"] for e in cli.ok("metadata", "ls", "ds:v0", "--json").json()["entries"]}
    for key, value in plan.metadata.items():
        assert entries.get(key) == value, key

    # links: each linked source version is in the collection exactly once, numbered consecutively
    if plan.links:
        reg = cli.ok("registry", "show", "datasets", "--json").json()
        coll = next(c for c in reg["collections"] if c["name"] == COLLECTION.rsplit("/", 1)[1])
        sources = [lk["source"] for lk in coll["links"]]
        assert [lk["version"] for lk in coll["links"]] == [f"v{i}" for i in range(len(sources))]
        assert len(sources) == len(set(sources)), sources
        assert {f"default/ds:v{k}" for k in plan.links.values()} <= set(sources)

    # every version downloads, verified, byte for byte
    reader = Cli(tmp / f"reader-{tag}", cli.remote)
    for n_, files in inputs.items():
        out = tmp / f"out-{tag}-v{n_}"
        reader.ok("download", f"ds:v{n_}", "--root", str(out))
        assert tree_bytes(out) == files, f"v{n_}"


def _seed(cli: Cli, tmp: Path) -> dict[int, dict[str, bytes]]:
    """v0 and v1 exist before the first round, so alias/link/metadata writers have targets."""
    inputs = {}
    for i in range(2):
        d = make_tree(tmp / f"seed{i}", {"seed.txt": f"seed {i}\n".encode()})
        cli.ok("log", "ds", str(d))
        inputs[i] = tree_bytes(d)
    return inputs


def test_sixteen_writers(writers_cli: Cli, tmp_path: Path) -> None:
    inputs = _seed(writers_cli, tmp_path)
    _round(writers_cli, tmp_path, 16, "r0", inputs)


@pytest.mark.slow
def test_many_writers_heavy(writers_cli: Cli, tmp_path: Path) -> None:
    inputs = _seed(writers_cli, tmp_path)
    for r, n in enumerate([32, 32, 24]):
        _round(writers_cli, tmp_path, n, f"r{r}", inputs)
