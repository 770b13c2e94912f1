"""What a ``log`` asks the remote for does not grow with the remote (issue 24).

It used to list all of ``packs/`` on every ``log`` (100 sequential pages next to 100,000
packs) and, with an empty cache, fetch every pack index on the remote; it now deduplicates
against the packs it knows (its own, the previous version's manifest) with a HEAD each.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from artcli import layout
from artcli.hashing import digest_bytes
from artcli.packs import PackBuilder
from artcli.store.local import LocalStore

from clihelp import Cli, make_tree

FOREIGN_PACKS = 40  # more than remoteindex.FEW_PACKS: a big remote, whose indexes are not all read


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every LIST prefix and GET key the in-process commands ask a folder remote for."""
    calls: list[tuple[str, str]] = []
    real_list, real_get, real_ranges = LocalStore.list, LocalStore.get, LocalStore.get_ranges

    def list_(self, prefix, start_after=None):  # type: ignore[no-untyped-def]
        calls.append(("LIST", prefix))
        return real_list(self, prefix, start_after)

    def get(self, key):  # type: ignore[no-untyped-def]
        calls.append(("GET", key))
        return real_get(self, key)

    def get_ranges(self, key_ranges):  # type: ignore[no-untyped-def]
        calls.extend(("GET", k) for k, _, _ in key_ranges)
        return real_ranges(self, key_ranges)

    monkeypatch.setattr(LocalStore, "list", list_)
    monkeypatch.setattr(LocalStore, "get", get)
    monkeypatch.setattr(LocalStore, "get_ranges", get_ranges)
    return calls


def _foreign_packs(remote: Path, n: int) -> None:
    """Packs other writers left (complete, with indexes), nothing this machine has seen."""
    store = LocalStore(str(remote))
    rng = random.Random(7)
    for _ in range(n):
        b = PackBuilder()
        data = rng.randbytes(100)
        b.add(digest_bytes(data), data)
        pack, body, index = b.seal()
        store.put(layout.pack_key(pack), body)
        store.put(layout.pack_index_key(pack), index)


def test_log_reads_no_pack_it_has_no_reason_to(cli: Cli, tmp_path: Path, seen: list[tuple[str, str]]) -> None:
    v0 = make_tree(tmp_path / "v0", {f"f{i}.txt": f"file {i}\n".encode() for i in range(20)})
    cli.ok("log", "ds", str(v0))
    _foreign_packs(tmp_path / "remote", FOREIGN_PACKS)

    # a fresh machine logs v0's files plus one: the manifest of v0 says where they are packed
    fresh = Cli(tmp_path / "fresh", cli.remote)
    v1 = make_tree(tmp_path / "v1", {**{f"f{i}.txt": f"file {i}\n".encode() for i in range(20)}, "new.txt": b"new"})
    seen.clear()
    res = fresh.ok("log", "ds", str(v1), "--json").json()
    assert res["version"] == "v1" and res["uploaded_files"] == 1
    assert seen.count(("LIST", layout.PACKS_PREFIX)) <= 1  # one page, to learn the remote is not small
    assert not [k for op, k in seen if op == "GET" and k.endswith(".idx")]

    # a warm log of new small files: no listing of packs/, no index read, a handful of requests
    v2 = make_tree(tmp_path / "v2", {"other.txt": b"other"})
    seen.clear()
    res = fresh.ok("log", "ds", str(v2), "--json").json()
    assert res["version"] == "v2" and res["uploaded_files"] == 1
    assert seen.count(("LIST", layout.PACKS_PREFIX)) <= 1
    assert not [k for op, k in seen if op == "GET" and k.endswith(".idx")]
    assert len(seen) <= 12, seen
