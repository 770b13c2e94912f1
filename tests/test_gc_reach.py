"""What gc's mark and expiry reach, in the shapes whole-store tests rarely build: a manifest
that mixes references and stored files, manifests whose events claim another file count, the
versions of a renamed artifact, and a TTL left on a linked version. Written against the
survivors of ``make mutate GROUPS=gc`` (docs/reliability.md, round 5): each test failed with
one of them planted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from artcli import canonical, layout

from clihelp import Cli, make_tree, tree_bytes

T0 = "2030-01-01T00:00:00.000000Z"
LATER = "2030-01-03T00:00:00.000000Z"  # past the default 24 h grace for everything written "today"
EXPIRES = "2030-01-02T00:00:00.000000Z"
BIG = 1 << 20  # stored as a loose blob; smaller files go into packs


def at(when: str) -> dict[str, str]:
    return {"ARTCLI_NOW": when}


def _store(cli: Cli):  # a Store
    from artcli.store import open_store

    return open_store(cli.remote or "", {})


def content_keys(cli: Cli) -> set[str]:
    store = _store(cli)
    try:
        return {i.key for p in ("manifests/", "packs/", "blobs/") for i in store.list(p)}
    finally:
        store.close()


def rewrite_created(cli: Cli, name: str, **fields: object) -> None:
    """Change fields of an artifact's ``version_created`` event in place, as a buggy or hostile
    writer could have written it (readers must use a cache that never saw the original)."""
    store = _store(cli)
    try:
        for info in store.list(layout.events_prefix(layout.artifact_prefix("default", name))):
            ev = canonical.loads(store.get(info.key))
            if ev.get("type") == "version_created":
                store.delete(info.key)
                store.put(info.key, canonical.dumps({**ev, **fields}))
                return
    finally:
        store.close()
    raise AssertionError(f"no version_created for {name}")


def fresh(cli: Cli, tmp_path: Path, tag: str) -> Cli:
    """Another machine on the same remote: a cache that saw nothing."""
    return Cli(tmp_path / f"fresh-{tag}", cli.remote)


# -- the mark -------------------------------------------------------------------------------------
def test_files_after_a_reference_in_one_manifest_stay_live(cli: Cli, tmp_path: Path) -> None:
    """A reference entry (bytes elsewhere) sorts before stored files in the same manifest: gc
    must still mark the pack and the blob of every file after it."""
    ref = make_tree(tmp_path / "elsewhere", {"a-weights.pt": b"referenced, not stored"}) / "a-weights.pt"
    data = {"z-big.bin": os.urandom(BIG), "z-small.txt": b"packed\n"}
    cli.ok("log", "m", str(make_tree(tmp_path / "m", data)), "--ref", str(ref), env=at(T0))
    files = cli.ok("files", "m", "--json").json()
    assert files[0]["path"] == "a-weights.pt" and files[0]["url"], files  # the reference comes first
    cli.ok("log", "m", str(make_tree(tmp_path / "m2", {"gone.bin": os.urandom(BIG)})), env=at(T0))
    cli.ok("delete", "m:v1", env=at(T0))
    before = content_keys(cli)
    res = cli.ok("gc", "--json", env=at(LATER)).json()
    assert {d["kind"] for d in res["deleted"]} == {"manifest", "blob"} and res["live_versions"] == 1
    assert content_keys(cli) == before - {d["key"] for d in res["deleted"]}
    out = tmp_path / "out"
    fresh(cli, tmp_path, "dl").ok("download", "m", "--root", str(out), "--skip-cache", env=at(LATER))
    assert tree_bytes(out) == {**data, "a-weights.pt": b"referenced, not stored"}


def test_a_manifest_holding_more_files_than_its_event_claims_stops_gc(cli: Cli, tmp_path: Path) -> None:
    """Each manifest is read bounded by the file count its event claims, down to zero: one
    holding more (a bomb, or a forged event) stops gc before it deletes anything (exit 4)."""
    cli.ok("log", "ds", str(make_tree(tmp_path / "a", {"f.txt": b"one file"})), env=at(T0))
    cli.ok("log", "ds", str(make_tree(tmp_path / "b", {"g.bin": os.urandom(BIG)})), env=at(T0))
    cli.ok("delete", "ds:v1", env=at(T0))
    rewrite_created(cli, "ds", files=0)
    before = content_keys(cli)
    for args in (["--dry-run"], []):
        r = fresh(cli, tmp_path, "gc" + "".join(args))("gc", *args, env=at(LATER))
        assert r.code == 4 and "1 files its event claims" not in r.err, (r.code, r.err)
        assert "0 files its event claims" in r.err or "larger than" in r.err, r.err
    assert content_keys(cli) == before


def test_a_manifest_shared_by_two_artifacts_is_bounded_by_the_larger_claim(cli: Cli, tmp_path: Path) -> None:
    """Two artifacts of the same content share one manifest. gc bounds it by the most files any
    live event claims, so a second event that claims fewer (here the one gc reads last) does
    not stop gc from keeping what the first reaches."""
    tree = {"x.txt": b"x", "y.txt": b"y"}
    for name in ("aa", "zz"):
        cli.ok("log", name, str(make_tree(tmp_path / name, tree)), env=at(T0))
    assert cli.ok("show", "aa", "--json").json()["manifest"] == cli.ok("show", "zz", "--json").json()["manifest"]
    rewrite_created(cli, "zz", files=1)
    res = fresh(cli, tmp_path, "gc").ok("gc", "--dry-run", "--json", env=at(LATER)).json()
    assert res["live_versions"] == 2 and res["deleted"] == []


# -- expiry ---------------------------------------------------------------------------------------
def test_gc_expires_a_renamed_artifacts_versions_under_the_new_name_only(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "old", str(make_tree(tmp_path / "a", {"a.bin": os.urandom(BIG)})), "--ttl", "1d", env=at(T0))
    cli.ok("log", "old", str(make_tree(tmp_path / "b", {"b.txt": b"b"})), env=at(T0))
    cli.ok("rename", "old", "new", env=at(T0))
    dry = cli.ok("gc", "--dry-run", "--json", env=at(LATER)).json()
    assert dry["expired"] == [{"ref": "default/new:v0", "expires": EXPIRES}]
    res = cli.ok("gc", "--json", env=at(LATER)).json()
    assert res["expired"] == dry["expired"] and res["live_versions"] == 1
    store = _store(cli)
    try:  # the old name's log is left as the rename closed it: nothing appended there
        old = [canonical.loads(store.get(i.key))["type"]
               for i in store.list(layout.events_prefix(layout.artifact_prefix("default", "old")))]
    finally:
        store.close()
    assert "version_deleted" not in old


@pytest.mark.parametrize("dry_run", [True, False])
def test_gc_clears_a_ttl_left_on_a_linked_version_only_when_it_is_not_a_dry_run(
        cli: Cli, tmp_path: Path, dry_run: bool) -> None:
    """A TTL put back on a linked version (an older writer's ``ttl_set`` after the link): gc
    keeps the version, reports the TTL it clears with the links that keep it, and clears it
    with a ``ttl_set`` to null only in a real run."""
    from artcli.repo import Repo

    cli.ok("log", "m", str(make_tree(tmp_path / "m", {"w.bin": os.urandom(BIG)})), "--type", "model", env=at(T0))
    cli.ok("link", "m:v0", "registry/models/churn", env=at(T0))
    cli.ok("link", "m:v0", "registry/models/best", env=at(T0))
    saved = {k: os.environ.get(k) for k in cli.env}
    os.environ.update(cli.env)
    try:
        repo = Repo.open()
        try:
            repo.artifact_log("default", "m").append(
                lambda _: {"type": "ttl_set", "version": 0, "expires": EXPIRES})
        finally:
            repo.close()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    assert cli.ok("show", "m:v0", "--json").json()["expires"] == EXPIRES
    res = cli.ok("gc", *(["--dry-run"] if dry_run else []), "--json", env=at(LATER)).json()
    assert res["ttl_cleared"] == [{"ref": "default/m:v0", "expires": EXPIRES,
                                   "linked": ["registry/models/best:v0", "registry/models/churn:v0"]}]
    assert res["expired"] == [] and res["deleted"] == []
    after = cli.ok("show", "m:v0", "--json", env=at(LATER)).json()
    assert after["expires"] == (EXPIRES if dry_run else None)


# -- the sweep ------------------------------------------------------------------------------------
def _remote_root(cli: Cli) -> Path:
    from urllib.parse import urlsplit

    return Path(urlsplit(cli.remote or "").path)


def _three_versions_one_deleted(cli: Cli, tmp_path: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """v0 and v2 live and v1 deleted, each a manifest, a pack (with its index) and a loose blob,
    from seeded bytes (so the keys, and their order in a listing, are the same on every run).
    Returns (live: kind -> sorted keys, dead: kind -> key)."""
    import random

    rnd = random.Random(23)
    for v in (0, 1, 2):
        tree = {f"small{v}.txt": rnd.randbytes(100), f"big{v}.bin": rnd.randbytes(BIG)}
        cli.ok("log", "ds", str(make_tree(tmp_path / f"v{v}", tree)), env=at(T0))
    keys = content_keys(cli)
    cli.ok("delete", "ds:v1", env=at(T0))
    dead = {d["kind"]: d["key"] for d in cli.ok("gc", "--dry-run", "--json", env=at(LATER)).json()["deleted"]}
    assert set(dead) == {"manifest", "pack-index", "pack", "blob"}
    live = {kind: sorted(k for k in keys - set(dead.values()) if _kind(k) == kind) for kind in dead}
    return live, dead


def _kind(key: str) -> str:
    if key.startswith("manifests/"):
        return "manifest"
    if key.startswith("packs/"):
        return "pack-index" if key.endswith(".idx") else "pack"
    return "blob"


def test_gc_deletes_every_unreachable_object_and_nothing_it_does_not_own(cli: Cli, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Objects under gc's prefixes that are not at the key of a digest (a copy, a name that is
    no digest) are not gc's to delete, and they do not stop it considering the objects listed
    after them; what it keeps is counted, kind by kind; it deletes each object once, manifests
    first and loose blobs last (an interrupted gc leaves no manifest naming a missing object)."""
    from artcli.store.local import LocalStore

    live, dead = _three_versions_one_deleted(cli, tmp_path)
    # the seeded keys sort a live pack and blob before the dead ones: a sweep that stopped at
    # the first object it keeps would leave the dead ones behind
    assert live["pack"][0] < dead["pack"] and live["blob"][0] < dead["blob"]
    h = "0" * 64
    strays = [f"manifests/blake3/00/{h[2:]}.copy.jsonl.gz", "manifests/blake3/00/nothex.jsonl.gz",
              "packs/blake3/00/nothex", "packs/blake3/00/nothex.idx", f"packs/blake3/00/{h[2:]}.copy",
              "blobs/blake3/00/nothex", f"blobs/blake3/00/{h[2:]}.copy"]
    root = _remote_root(cli)
    for key in strays:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(b"not gc's")
    assert all(s < dead[_kind(s)] for s in strays)  # listed before what gc must still find
    deleted: list[str] = []
    real_delete = LocalStore.delete

    def recording(self: LocalStore, key: str) -> None:
        deleted.append(key)
        real_delete(self, key)

    monkeypatch.setattr(LocalStore, "delete", recording)
    res = cli.ok("gc", "--json", env=at(LATER)).json()
    assert {d["key"] for d in res["deleted"]} == set(dead.values()) and res["now"] == LATER
    assert [_kind(k) for k in deleted if not k.startswith("gc/")] == ["manifest", "pack-index", "pack", "blob"]
    assert [d["kind"] for d in res["deleted"]] == ["manifest", "pack-index", "pack", "blob"]  # in this order
    assert res["kept"] == {"manifests": 2, "packs": 2, "blobs": 2, "young": 0, "young_bytes": 0}
    assert content_keys(cli) == {k for keys in live.values() for k in keys} | set(strays)


def test_an_object_exactly_grace_old_is_old(cli: Cli, tmp_path: Path) -> None:
    """The grace period is a closed bound: an unreachable object whose mtime is exactly
    ``grace`` before gc's ``now`` goes, one a second younger stays (and is counted young)."""
    from artcli import clock

    _, dead = _three_versions_one_deleted(cli, tmp_path)
    now = clock.parse_iso(LATER).timestamp()
    root = _remote_root(cli)
    ages = {"manifest": 100, "pack-index": 99, "pack": 99, "blob": 100}
    for kind, key in dead.items():
        os.utime(root / key, (now - ages[kind], now - ages[kind]))
    res = cli.ok("gc", "--grace", "100s", "--json", env=at(LATER)).json()
    assert sorted(d["kind"] for d in res["deleted"]) == ["blob", "manifest"]
    assert res["kept"]["young"] == 1  # a pack and its index are judged together
