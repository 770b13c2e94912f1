"""gc: what it keeps (live, shared, linked, young), what it removes, dry runs, leases and races."""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from artcli import canonical

from clihelp import Cli, make_tree, tree_bytes

T0 = "2030-01-01T00:00:00.000000Z"
LATER = "2030-01-03T00:00:00.000000Z"  # two days on: everything written today is past the 24h grace
BIG = 1 << 20  # the loose-blob threshold


def at(when: str) -> dict[str, str]:
    return {"ARTCLI_NOW": when}


def remote_keys(cli: Cli) -> dict[str, int]:
    """Every content object (manifests, packs, blobs) on the remote -> size, via the store."""
    from artcli.store import open_store

    store = open_store(cli.remote or "", {})
    try:
        return {i.key: i.size for p in ("manifests/", "packs/", "blobs/") for i in store.list(p)}
    finally:
        store.close()


def put_raw(cli: Cli, key: str, data: bytes) -> None:
    from artcli.store import open_store

    store = open_store(cli.remote or "", {})
    try:
        store.put(key, data)
    finally:
        store.close()


def fsck_ok(cli: Cli, *projects: str) -> None:
    for p in projects or ("default",):
        rep = cli.ok("debug", "fsck", "--read-data", "--json", "-p", p).json()
        assert rep["ok"], rep["problems"]


def test_gc_keeps_shared_and_live_removes_the_rest(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    shared_small, shared_big = b"shared\n", os.urandom(BIG + 1)
    v0 = make_tree(tmp_path / "v0", {"s.txt": shared_small, "b.bin": shared_big, "only0.txt": b"zero",
                                     "only0.bin": os.urandom(BIG + 2)})
    v1 = make_tree(tmp_path / "v1", {"s.txt": shared_small, "b.bin": shared_big, "only1.bin": os.urandom(BIG + 3)})
    scratch = make_tree(tmp_path / "scratch", {"x.txt": b"scratch", "x.bin": os.urandom(BIG + 4)})
    cli.ok("log", "ds", str(v0), env=at(T0))
    cli.ok("log", "ds", str(v1), env=at(T0))
    cli.ok("log", "tmp", str(scratch), "-p", "other", env=at(T0))
    before = remote_keys(cli)
    cli.ok("delete", "ds:v0", env=at(T0))
    cli.ok("delete", "other/tmp", env=at(T0))
    res = cli.ok("gc", "--json", env=at(LATER)).json()
    gone = {d["key"] for d in res["deleted"]}
    assert gone == set(before) - set(remote_keys(cli))  # it removed exactly what it reports
    kinds = sorted(d["kind"] for d in res["deleted"])
    # v0: its manifest and only0.bin (only0.txt shares a pack with s.txt, which v1 still uses);
    # tmp: its manifest, its pack and index, x.bin
    assert kinds == ["blob", "blob", "manifest", "manifest", "pack", "pack-index"]
    assert res["deleted_bytes"] == sum(before[k] for k in gone)
    assert res["live_versions"] == 1 and res["kept"]["young"] == 0
    out = tmp_path / "out"
    cli.ok("download", "ds", "--root", str(out))
    assert tree_bytes(out) == tree_bytes(v1)
    fsck_ok(cli, "default")
    again = cli.ok("gc", "--json", env=at(LATER)).json()  # nothing left to do
    assert again["deleted"] == [] and again["expired"] == []


def test_gc_grace_period_keeps_young_objects(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "a", {"a.txt": b"a", "a.bin": os.urandom(BIG)})))
    cli.ok("delete", "ds")
    res = cli.ok("gc", "--json").json()  # the real clock: everything is minutes old
    assert res["deleted"] == [] and res["kept"]["young"] == 3  # manifest, pack (+ its index), blob
    assert res["kept"]["young_bytes"] > BIG
    assert cli.ok("gc", "--grace", "2h", "--json", env=at(_hours_from_now(1))).json()["deleted"] == []
    res = cli.ok("gc", "--grace", "2h", "--json", env=at(_hours_from_now(3))).json()
    assert len(res["deleted"]) == 4 and remote_keys(cli) == {}
    assert cli("gc", "--grace", "soon").code == 2


def _hours_from_now(hours: float) -> str:
    from datetime import UTC, datetime, timedelta

    from artcli.clock import iso

    return iso(datetime.now(UTC) + timedelta(hours=hours))


def test_gc_expires_versions_past_their_ttl(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "a", {"a.bin": os.urandom(BIG)})), "--ttl", "1d", env=at(T0))
    cli.ok("log", "ds", str(make_tree(tmp_path / "b", {"b.bin": os.urandom(BIG)})), "--ttl", "3d", env=at(T0))
    cli.ok("log", "keep", str(make_tree(tmp_path / "c", {"c.bin": os.urandom(BIG)})), env=at(T0))
    dry = cli.ok("gc", "--dry-run", "--json", env=at(LATER)).json()
    assert dry["expired"] == [{"ref": "default/ds:v0", "expires": "2030-01-02T00:00:00.000000Z"}]
    res = cli.ok("gc", "--json", env=at(LATER)).json()
    assert res["expired"] == dry["expired"] and res["deleted"] == dry["deleted"]
    assert sorted(d["kind"] for d in res["deleted"]) == ["blob", "manifest"]
    last = json.loads(cli.ok("debug", "events", "ds").out.splitlines()[-1])["event"]
    assert (last["type"], last["version"], last["reason"]) == ("version_deleted", 0, "expired")
    r = cli("show", "ds:v0")
    assert r.code == 3 and "was deleted at 2030-01-03T00:00:00.000000Z" in r.err
    assert cli.ok("show", "ds", "--json", env=at(LATER)).json()["version"] == "v1"
    fsck_ok(cli)


def test_dry_run_deletes_nothing_and_lists_exactly_what_gc_deletes(cli: Cli, tmp_path: Path) -> None:
    for i in range(3):
        files = {f"f{j}.txt": f"{i}-{j}".encode() for j in range(3)} | {"big.bin": os.urandom(BIG + i)}
        cli.ok("log", "ds", str(make_tree(tmp_path / f"v{i}", files)), env=at(T0))
    cli.ok("ttl", "set", "ds:v1", "1d", env=at(T0))
    cli.ok("delete", "ds:v0", env=at(T0))
    put_raw(cli, "packs/blake3/ab/" + "c" * 62, b"an upload that crashed before its index")
    before = remote_keys(cli)
    events_before = cli.ok("debug", "events", "ds").out
    dry = cli.ok("gc", "--dry-run", "--json", env=at(LATER)).json()
    text = cli.ok("gc", "--dry-run", env=at(LATER)).out.splitlines()
    assert remote_keys(cli) == before and cli.ok("debug", "events", "ds").out == events_before
    assert dry["dry_run"] is True and dry["expired"] == [{"ref": "default/ds:v1", "expires": "2030-01-02T00:00:00.000000Z"}]
    assert text == ["version\tdefault/ds:v1\t-"] + [f"{d['kind']}\t{d['key']}\t{d['size']}" for d in dry["deleted"]]
    real = cli.ok("gc", "--json", env=at(LATER)).json()
    assert real["dry_run"] is False
    assert real["deleted"] == dry["deleted"] and real["expired"] == dry["expired"]
    assert set(before) - set(remote_keys(cli)) == {d["key"] for d in dry["deleted"]}
    assert "packs/blake3/ab/" + "c" * 62 in {d["key"] for d in dry["deleted"]}  # a pack without index
    assert [d["kind"] for d in dry["deleted"]] == sorted(
        (d["kind"] for d in dry["deleted"]), key=["manifest", "pack-index", "pack", "blob"].index)
    fsck_ok(cli)


def test_an_interrupted_gc_leaves_a_valid_store_and_a_rerun_finishes(cli: Cli, tmp_path: Path) -> None:
    shared = {"s.txt": b"shared", "s.bin": os.urandom(BIG)}
    cli.ok("log", "ds", str(make_tree(tmp_path / "v0", {**shared, "o.txt": b"0", "o.bin": os.urandom(BIG)})), env=at(T0))
    cli.ok("log", "ds", str(make_tree(tmp_path / "v1", {**shared, "n.txt": b"1"})), env=at(T0))
    cli.ok("log", "gone", str(make_tree(tmp_path / "g", {"g.txt": b"g"})), env=at(T0))
    cli.ok("delete", "ds:v0", env=at(T0))
    cli.ok("delete", "gone", env=at(T0))
    plan = cli.ok("gc", "--dry-run", "--json", env=at(LATER)).json()["deleted"]
    assert {d["kind"] for d in plan} == {"manifest", "pack-index", "pack", "blob"}
    # killed after the manifests and the indexes went (its lease left behind, long stale)
    root = tmp_path / "remote"
    for d in plan:
        if d["kind"] in ("manifest", "pack-index"):
            (root / d["key"]).unlink()
    put_raw(cli, "gc/running/killed.json", _lease("gc", 3600))
    fsck_ok(cli)
    cli.ok("download", "ds", "--root", str(tmp_path / "out"), "--skip-cache")
    cli.ok("log", "new", str(make_tree(tmp_path / "n", {"n.txt": b"n"})))  # the dead gc's lease blocks no writer
    rest = cli.ok("gc", "--json", env=at(LATER)).json()
    assert {d["key"] for d in rest["deleted"]} == {d["key"] for d in plan if d["kind"] in ("pack", "blob")}
    assert rest["stale_leases"] == 1
    fsck_ok(cli)


def test_gc_keeps_what_a_registry_link_reaches(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "m", str(make_tree(tmp_path / "m", {"m.bin": os.urandom(BIG)})), "--type", "model", env=at(T0))
    cli.ok("link", "m:v0", "registry/models/churn")
    before = remote_keys(cli)
    assert cli.ok("gc", "--json", env=at(LATER)).json()["deleted"] == []
    assert remote_keys(cli) == before
    cli.ok("unlink", "registry/models/churn:v0")
    cli.ok("delete", "m")
    assert len(cli.ok("gc", "--json", env=at(LATER)).json()["deleted"]) == 2


def test_gc_itself_keeps_a_linked_version_past_its_ttl(cli: Cli, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """What gc keeps, not what a helper says: a linked version whose TTL has passed (an older
    writer put one back after the link) keeps every object, in a dry run and a real one; a
    version that was linked once but is unlinked now expires and goes."""
    from artcli import layout
    from artcli.hashing import digest_bytes
    from artcli.repo import Repo

    data = [os.urandom(BIG) for _ in range(2)]
    for i, body in enumerate(data):
        cli.ok("log", "m", str(make_tree(tmp_path / f"m{i}", {f"w{i}.bin": body})), "--type", "model", env=at(T0))
    cli.ok("link", "m:v0", "registry/models/churn")
    cli.ok("link", "m:v1", "registry/models/churn")
    cli.ok("unlink", "registry/models/churn:v1")
    for k, v in cli.env.items():
        monkeypatch.setenv(k, v)
    repo = Repo.open()
    try:  # an older artcli ignores the rule: both versions get a TTL that passes before LATER
        for n in (0, 1):
            repo.artifact_log("default", "m").append(
                lambda _, n=n: {"type": "ttl_set", "version": n, "expires": "2030-01-02T00:00:00.000000Z"})
    finally:
        repo.close()
    kept, gone = (layout.blob_key(digest_bytes(body)) for body in data)
    dry = cli.ok("gc", "--dry-run", "--json", env=at(LATER)).json()
    assert dry["expired"] == [{"ref": "default/m:v1", "expires": "2030-01-02T00:00:00.000000Z"}]
    assert [c["ref"] for c in dry["ttl_cleared"]] == ["default/m:v0"]
    assert sorted(d["kind"] for d in dry["deleted"]) == ["blob", "manifest"]
    assert gone in {d["key"] for d in dry["deleted"]} and kept not in {d["key"] for d in dry["deleted"]}
    res = cli.ok("gc", "--json", env=at(LATER)).json()
    assert res["deleted"] == dry["deleted"] and res["expired"] == dry["expired"]
    assert kept in remote_keys(cli) and gone not in remote_keys(cli)
    cli.ok("download", "registry/models/churn", "--root", str(tmp_path / "out"), env=at(LATER))
    assert (tmp_path / "out" / "w0.bin").read_bytes() == data[0]


def test_gc_keeps_a_linked_version_past_its_ttl(cli: Cli, tmp_path: Path) -> None:
    """A linked version is a root even when it is not live. A link interrupted before it
    cleared the version's TTL leaves a linked version past its TTL: a dry run (which clears
    nothing) must keep its objects, and the real run clears the TTL and keeps them too."""
    from artcli import layout

    cli.ok("log", "m", str(make_tree(tmp_path / "m", {"m.txt": b"m", "m.bin": os.urandom(BIG)})),
           "--type", "model", "--ttl", "1d", env=at(T0))
    cli.ok("link", "m:v0", "registry/models/churn", env=at(T0))
    cleared = tmp_path / "remote" / layout.event_key(layout.artifact_prefix("default", "m"), 2)  # after its claim
    assert b'"ttl_set"' in cleared.read_bytes()
    cleared.unlink()  # as if the link had been killed before it cleared the TTL
    fresh = Cli(tmp_path / "fresh", cli.remote)  # a cache that never saw the removed event
    before = remote_keys(fresh)
    dry = fresh.ok("gc", "--dry-run", "--json", env=at(LATER)).json()
    assert dry["deleted"] == [] and dry["expired"] == [] and dry["live_versions"] == 1, dry
    assert [c["ref"] for c in dry["ttl_cleared"]] == ["default/m:v0"]
    real = fresh.ok("gc", "--json", env=at(LATER)).json()
    assert real["deleted"] == [] and real["expired"] == [] and remote_keys(fresh) == before
    fresh.ok("download", "registry/models/churn", "--root", str(tmp_path / "o"), "--skip-cache", env=at(LATER))
    fsck_ok(fresh)


def test_gc_keeps_what_a_link_to_a_deleted_version_reaches(cli: Cli, tmp_path: Path) -> None:
    """A link that outlived its version (a delete that raced the link, or an old store) still
    roots the version's objects: gc never deletes what a registry link can reach."""
    from artcli import layout

    cli.ok("log", "m", str(make_tree(tmp_path / "m", {"m.bin": os.urandom(BIG)})), "--type", "model", env=at(T0))
    cli.ok("link", "m:v0", "registry/models/churn", env=at(T0))
    before = remote_keys(cli)
    deleted = canonical.dumps({"type": "version_deleted", "version": 0, "reason": "deleted", "seq": 2, "time": T0,
                               "actor": {"user": "u", "host": "h", "run": None}})
    put_raw(cli, layout.event_key(layout.artifact_prefix("default", "m"), 2), deleted)  # after the link's claim
    assert cli("show", "m:v0").code == 3  # the version is gone
    res = cli.ok("gc", "--json", env=at(LATER)).json()
    assert res["deleted"] == [] and res["live_versions"] == 1 and remote_keys(cli) == before


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


@pytest.mark.parametrize("old", ["pack", "index"])
def test_pack_grace_counts_its_index(cli: Cli, tmp_path: Path, old: str) -> None:
    """A pack and its index go together, and only when both are past the grace period: a
    young index (a writer just wrote it) keeps an old pack, and a young pack its old index."""
    cli.ok("log", "ds", str(make_tree(tmp_path / "a", {f"s{i}.txt": f"small {i}".encode() for i in range(5)})))
    cli.ok("delete", "ds")
    root = tmp_path / "remote"
    packs = [p for p in root.glob("packs/**/*") if p.is_file()]
    index = next(p for p in packs if p.name.endswith(".idx"))
    pack = next(p for p in packs if not p.name.endswith(".idx"))
    for p in root.glob("manifests/**/*"):
        if p.is_file():
            _age(p, 2 * 86400)
    _age(pack if old == "pack" else index, 2 * 86400)
    res = cli.ok("gc", "--json").json()  # the real clock, the default grace of a day
    assert [d["kind"] for d in res["deleted"]] == ["manifest"], res["deleted"]
    assert pack.exists() and index.exists()
    assert res["kept"]["young"] == 1 and res["kept"]["young_bytes"] == pack.stat().st_size + index.stat().st_size
    _age(index if old == "pack" else pack, 2 * 86400)
    res = cli.ok("gc", "--json").json()
    assert sorted(d["kind"] for d in res["deleted"]) == ["pack", "pack-index"]
    assert not pack.exists() and not index.exists()


# -- leases: the protocol that makes dedup safe against a concurrent gc ---------------------------
def _lease(kind: str, age: float) -> bytes:
    from datetime import UTC, datetime, timedelta

    from artcli.clock import iso

    beat = iso(datetime.now(UTC) - timedelta(seconds=age))
    return canonical.dumps({"kind": kind, "id": "x", "started": beat, "heartbeat": beat, "lease": 120,
                            "actor": {"user": "u", "host": "h", "run": None}})


def test_lease_liveness_rules() -> None:
    from artcli.leases import lease_live as _lease_live

    assert _lease_live(_lease("writer", 0), None) and _lease_live(_lease("writer", 100), None)
    assert not _lease_live(_lease("writer", 130), None)
    assert not _lease_live(_lease("writer", -7200), None)  # a heartbeat from the future
    huge = json.loads(_lease("writer", 7200))
    assert not _lease_live(canonical.dumps({**huge, "lease": 10**30}), None)  # believed for an hour at most
    assert not _lease_live(canonical.dumps({**huge, "lease": "nan"}), time.time() - 3600)
    assert _lease_live(b"not json", time.time()) and not _lease_live(b"not json", time.time() - 600)


def test_a_heartbeat_from_the_future_is_believed_for_a_minute_at_most() -> None:
    """Clocks agree within a minute (format §7.1); a heartbeat further ahead is a broken clock
    or a planted object, and is not live: no lease blocks anyone for more than an hour and a
    minute of real time, whatever it claims."""
    from artcli.leases import lease_live as _lease_live

    assert _lease_live(_lease("gc", -30), None)  # 30 s ahead: skew within the bound
    assert not _lease_live(_lease("gc", -90), None)
    ahead = json.loads(_lease("gc", -50 * 60))
    assert not _lease_live(canonical.dumps({**ahead, "lease": 3600}), None)  # was live for 1 h 50 min


def test_a_planted_gc_lease_from_the_future_blocks_no_writer(cli: Cli, tmp_path: Path) -> None:
    ahead = json.loads(_lease("gc", -50 * 60))
    put_raw(cli, "gc/running/planted.json", canonical.dumps({**ahead, "lease": 3600}))
    proc = cli.spawn("log", "ds", str(make_tree(tmp_path / "a", {"a.txt": b"a"})))
    lines, reader = _stderr_lines(proc)
    deadline = time.monotonic() + 120  # a hang guard: the writer must not wait at all
    while proc.poll() is None and not any("waiting for a garbage collection" in ln for ln in lines):
        assert time.monotonic() < deadline, f"log neither finished nor waited: {lines}"
        time.sleep(0.02)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        pytest.fail(f"log waits for a gc lease from the future: {lines}")
    reader.join(timeout=60)
    assert proc.returncode == 0, lines
    assert cli.ok("gc", "--json").json()["stale_leases"] == 1
    assert not (tmp_path / "remote" / "gc" / "running" / "planted.json").exists()


def test_gc_waits_for_a_live_writer_and_ignores_a_stale_one(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "a", {"a.bin": os.urandom(BIG)})), env=at(T0))
    cli.ok("delete", "ds", env=at(T0))
    before = remote_keys(cli)
    put_raw(cli, "gc/writers/live.json", _lease("writer", 0))
    res = cli("gc", "--wait", "1s", env=at(LATER))
    assert res.code == 5 and "still in progress" in res.err and "nothing was deleted" in res.err
    assert remote_keys(cli) == before
    put_raw(cli, "gc/writers/live.json", _lease("writer", 3600))  # its holder died an hour ago
    put_raw(cli, "gc/running/old.json", _lease("gc", 3600))
    out = cli.ok("gc", "--wait", "1s", "--json", env=at(LATER)).json()
    assert len(out["deleted"]) == 2 and out["stale_leases"] == 2
    assert not (tmp_path / "remote" / "gc" / "writers" / "live.json").exists()


def _stderr_lines(proc: subprocess.Popen[str]) -> tuple[list[str], threading.Thread]:
    """Collect ``proc``'s stderr lines as they come (a thread reads to EOF)."""
    lines: list[str] = []
    assert proc.stderr is not None
    stream = proc.stderr

    def read() -> None:
        for line in stream:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


def test_a_writer_waits_while_gc_runs(cli: Cli, tmp_path: Path) -> None:
    put_raw(cli, "gc/running/g.json", _lease("gc", 0))
    src = make_tree(tmp_path / "a", {"a.txt": b"a"})
    proc = cli.spawn("log", "ds", str(src))
    lines, reader = _stderr_lines(proc)
    # the writer says it waits; a generous deadline is only a hang guard
    deadline = time.monotonic() + 120
    while not any("waiting for a garbage collection" in ln for ln in lines):
        assert proc.poll() is None, f"the writer ended (exit {proc.returncode}) without waiting: {lines}"
        assert time.monotonic() < deadline, f"the writer never said it waits: {lines}"
        time.sleep(0.02)
    assert proc.poll() is None  # still waiting
    assert not list((tmp_path / "remote").glob("packs/**/*.idx"))  # and it has written no content
    (tmp_path / "remote" / "gc" / "running" / "g.json").unlink()
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(timeout=120)
    reader.join(timeout=120)
    err = "".join(lines)
    assert proc.returncode == 0 and out.strip() == "default/ds:v0", err
    assert not list((tmp_path / "remote" / "gc" / "writers").iterdir())  # its lease is gone


def _race(cli: Cli, tmp_path: Path, rounds: int, seed: int = 0) -> None:
    """Each round: old content becomes garbage, then `log` of the same content (which dedups
    against the old objects) runs at the same time as `gc --grace 0s` that wants them gone.
    Who starts first, and how much later the other does, comes from a seeded generator."""
    rng = random.Random(seed)
    for i in range(rounds):
        files = {f"s{j}.txt": f"round {i} small {j}".encode() for j in range(20)}
        files["big.bin"] = os.urandom(BIG + i)
        src = make_tree(tmp_path / f"old{i}", files)
        cli.ok("log", f"old{i}", str(src))
        cli.ok("delete", f"old{i}")
        make_tree(src, {"new.bin": os.urandom(8 * BIG)})  # a new file: uploading it widens the window
        # either may start first: gc then waits for the writer, or the writer for gc, or both
        # back off (when each sees the other's lease) and one goes first
        delay = rng.uniform(-0.4, 0.4)
        if delay >= 0:
            gc = cli.spawn("gc", "--grace", "0s", "--json")
            time.sleep(delay)
            writer = cli.spawn("log", f"new{i}", str(src))
        else:
            writer = cli.spawn("log", f"new{i}", str(src))
            time.sleep(-delay)
            gc = cli.spawn("gc", "--grace", "0s", "--json")
        _, w_err = writer.communicate(timeout=120)
        _, g_err = gc.communicate(timeout=120)
        assert writer.returncode == 0, w_err
        assert gc.returncode == 0, g_err
        out = tmp_path / f"out{i}"
        cli.ok("download", f"new{i}", "--root", str(out), "--skip-cache")
        assert tree_bytes(out) == tree_bytes(src)
    fsck_ok(cli)
    assert cli.ok("gc", "--grace", "0s", "--json").json()["live_versions"] == rounds


def test_log_concurrent_with_gc_loses_nothing(cli: Cli, tmp_path: Path) -> None:
    _race(cli, tmp_path, rounds=4)


@pytest.mark.slow
def test_log_concurrent_with_gc_loses_nothing_many_rounds(shared_cli: Cli, tmp_path: Path) -> None:
    _race(shared_cli, tmp_path, rounds=12 if (shared_cli.remote or "").startswith("file:") else 5, seed=1)


def test_two_gcs_at_once_leave_a_valid_store(cli: Cli, tmp_path: Path) -> None:
    for i in range(3):
        cli.ok("log", f"ds{i}", str(make_tree(tmp_path / f"a{i}", {"a.txt": f"{i}".encode(), "a.bin": os.urandom(BIG)})))
    cli.ok("delete", "ds0")
    cli.ok("delete", "ds2")
    procs = [cli.spawn("gc", "--grace", "0s", "--json") for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    deleted = [{d["key"] for d in json.loads(out)["deleted"]} for out, _ in results]
    assert len(deleted[0] | deleted[1]) == 8  # ds0's and ds2's manifest, pack, index and blob
    assert len(remote_keys(cli)) == 4
    fsck_ok(cli)
    cli.ok("download", "ds1", "--root", str(tmp_path / "o"), "--skip-cache")
