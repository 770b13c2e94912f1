"""A linked version does not expire while it is linked — for every reader, not only gc
(docs/format.md §5.1) — including after a ``ttl set`` raced a ``link`` and left a TTL behind.

The interleaving is forced in-process (the TTL check runs, then the link lands, then the TTL is
written and its writer dies before it can clear it again), and also left to chance with real
processes; either way every command must agree that the version is live.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from artcli.model import parse_ref
from artcli.ops import ttl as ttl_ops
from artcli.ops.registry import link
from artcli.repo import Repo

from clihelp import Cli, make_tree

T0 = {"ARTCLI_NOW": "2026-03-01T10:00:00Z"}
LATER = {"ARTCLI_NOW": "2026-03-09T10:00:00Z"}  # past every TTL below


def _everyone_sees_it_live(cli: Cli, ref: str, link: str, tmp_path: Path) -> None:
    assert cli.ok("show", ref, "--json", env=LATER).json()["ref"] == f"default/{ref}"
    name, tag = ref.split(":")
    assert tag in [v["version"] for v in cli.ok("ls", name, "--json", env=LATER).json()]
    cli.ok("download", ref, "--root", str(tmp_path / "a"), env=LATER)
    cli.ok("download", link, "--root", str(tmp_path / "b"), env=LATER)
    cli.ok("metadata", "set", ref, "checked=1", env=LATER)
    cli.ok("alias", "add", ref, "kept", env=LATER)
    dry = cli.ok("gc", "--dry-run", "--json", env=LATER).json()
    assert [x["ref"] for x in dry["expired"]] == []
    cli.ok("gc", "--grace", "0s", env=LATER)
    assert cli.ok("show", ref, "--json", env=LATER).json()["expires"] is None  # gc cleared the TTL
    cli.ok("download", link, "--root", str(tmp_path / "c"), env=LATER)


@pytest.mark.parametrize("writer_dies", [True, False])
def test_ttl_set_racing_link(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer_dies: bool) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "d", {"f.txt": b"racing\n"})), env=T0)
    real = ttl_ops.links_by_version
    calls: list[int] = []

    def stale(repo: Any) -> dict[tuple[str, str, int], list[str]]:
        calls.append(1)
        if len(calls) == 1:  # ttl set looked: no link yet; another writer's link lands right after
            other = Repo.open()
            try:
                link(other, parse_ref("ds:v0", "default"), parse_ref("registry/datasets/keep", "default"))
            finally:
                other.close()
            return {}
        return real(repo)

    monkeypatch.setattr(ttl_ops, "links_by_version", stale)
    if writer_dies:  # it wrote its TTL and died before it could take it back
        monkeypatch.setattr(ttl_ops, "_undo_if_linked", lambda repo, res: None)
    cli.ok("ttl", "set", "ds:v0", "1d", env=T0)
    monkeypatch.setattr(ttl_ops, "links_by_version", real)
    shown = cli.ok("show", "ds:v0", "--json", env=T0).json()
    assert (shown["expires"] is not None) == writer_dies  # the TTL stayed only if nobody took it back
    _everyone_sees_it_live(cli, "ds:v0", "registry/datasets/keep", tmp_path)


def test_ttl_set_and_link_in_parallel(cli: Cli, tmp_path: Path) -> None:
    """Real processes, started together in a seeded order: whatever the interleaving, each
    version ends linked and live."""
    pairs = 4
    for i in range(pairs):
        cli.ok("log", f"ds{i}", str(make_tree(tmp_path / f"d{i}", {"f.txt": f"{i}\n".encode()})), env=T0)
    rng = random.Random(20)
    jobs = []
    for i in range(pairs):
        cmds = [("ttl", "set", f"ds{i}:v0", "1d"), ("link", f"ds{i}:v0", f"registry/datasets/c{i}")]
        rng.shuffle(cmds)
        jobs += [(cmd, cli.spawn(*cmd, env=T0)) for cmd in cmds]
    for cmd, proc in jobs:
        _out, err = proc.communicate(timeout=300)
        allowed = (0, 5) if cmd[0] == "ttl" else (0,)  # ttl set is refused once it sees the link
        assert proc.returncode in allowed, f"{cmd}: exit {proc.returncode}\n{err}"
    for i in range(pairs):
        cli.ok("show", f"ds{i}:v0", env=LATER)
        cli.ok("download", f"registry/datasets/c{i}", "--root", str(tmp_path / f"out{i}"), env=LATER)
    dry = cli.ok("gc", "--dry-run", "--json", env=LATER).json()
    assert dry["expired"] == []
    assert os.listdir(tmp_path / "out0")
