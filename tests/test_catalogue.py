"""The project catalogue (docs/format.md §5.10): ``ls`` without reading every artifact's log,
never wrong for artifacts written by this artcli, and never a reason for gc to delete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from artcli import layout
from artcli.eventlog import EventLog, encode
from artcli.localdb import LocalDB
from artcli.state.catalogue import fold_catalogue
from artcli.store.local import LocalStore

from clihelp import Cli, make_tree

CAT = layout.catalogue_prefix("default")


@pytest.fixture
def lists(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every LIST prefix the in-process commands ask a folder remote for."""
    seen: list[str] = []
    real = LocalStore.list

    def list_(self, prefix, start_after=None):  # type: ignore[no-untyped-def]
        seen.append(prefix)
        return real(self, prefix, start_after)

    monkeypatch.setattr(LocalStore, "list", list_)
    return seen


def _artifact_reads(seen: list[str]) -> set[str]:
    return {p.split("/")[3] for p in seen if p.startswith("projects/default/artifacts/") and p.count("/") >= 4}


def _log(cli: Cli, tmp: Path, name: str, tag: str, *extra: str) -> None:
    cli.ok("log", name, str(make_tree(tmp / f"{name}-{tag}", {"f.txt": f"{name} {tag}\n".encode()})), *extra)


def _ls(cli: Cli, *args: str) -> dict[str, dict]:
    return {r["name"]: r for r in cli.ok("ls", "--json", *args).json()}


def test_ls_reads_the_catalogue_not_each_log(cli: Cli, tmp_path: Path, lists: list[str]) -> None:
    for name in ("a", "b", "c"):
        _log(cli, tmp_path, name, "1")
    _log(cli, tmp_path, "b", "2", "--type", "dataset")
    _log(cli, tmp_path, "m", "1", "--type", "model")
    fresh = Cli(tmp_path / "fresh", cli.remote)
    lists.clear()
    rows = _ls(fresh)
    assert {n: (r["versions"], r["latest"], r["type"]) for n, r in rows.items()} == {
        "a": (1, "v0", "dataset"), "b": (2, "v1", "dataset"), "c": (1, "v0", "dataset"), "m": (1, "v0", "model")}
    assert _artifact_reads(lists) == set()  # no artifact's own log was read
    assert set(_ls(fresh, "--type", "model")) == {"m"}
    assert fresh("ls", "a", "--type", "model").code == 2


def test_artifacts_the_catalogue_does_not_know_are_read_and_written_back(cli: Cli, tmp_path: Path,
                                                                         lists: list[str]) -> None:
    _log(cli, tmp_path, "known", "1")
    # an artifact written by an artcli from before catalogues: events only
    store = LocalStore(str(tmp_path / "remote"))
    db = LocalDB(tmp_path / "legacy.sqlite")
    legacy = EventLog(store, db, layout.artifact_prefix("default", "legacy"))
    shown = cli.ok("show", "known", "--json").json()
    legacy.append(lambda _e: {"type": "version_created", "version": 0, "digest": shown["digest"],
                              "manifest": _manifest_of(cli, "known"), "size": shown["size"], "files": shown["files"],
                              "artifact_type": "model", "aliases": [], "metadata": {}})
    fresh = Cli(tmp_path / "fresh", cli.remote)
    lists.clear()
    assert _ls(fresh)["legacy"]["type"] == "model"
    assert _artifact_reads(lists) == {"legacy"}
    lists.clear()
    again = Cli(tmp_path / "again", cli.remote)  # the first ls wrote its summary back
    assert set(_ls(again)) == {"known", "legacy"}
    assert _artifact_reads(lists) == set()


def _manifest_of(cli: Cli, name: str) -> str:
    rows = [json.loads(line) for line in cli.ok("debug", "events", name).out.splitlines()]
    return next(r["event"]["manifest"] for r in rows if r["event"] and r["event"]["type"] == "version_created")


def test_a_touch_without_summary_sends_ls_to_the_log(cli: Cli, tmp_path: Path, lists: list[str]) -> None:
    """A writer that died between its artifact event and its summary: ls is not fooled."""
    _log(cli, tmp_path, "ds", "1")
    store = LocalStore(str(tmp_path / "remote"))
    db = LocalDB(tmp_path / "crash.sqlite")
    EventLog(store, db, CAT).append(lambda _e: {"type": "artifact_touched", "name": "ds", "touch": "t1"})
    EventLog(store, db, layout.artifact_prefix("default", "ds")).append(
        lambda _e: {"type": "version_deleted", "version": 0, "reason": "deleted"})  # no summary follows
    fresh = Cli(tmp_path / "fresh", cli.remote)
    lists.clear()
    assert _ls(fresh)["ds"]["versions"] == 0
    assert _artifact_reads(lists) == {"ds"}


def test_an_old_touch_is_settled_by_a_reader(cli: Cli, tmp_path: Path, lists: list[str]) -> None:
    _log(cli, tmp_path, "ds", "1")
    store = LocalStore(str(tmp_path / "remote"))
    db = LocalDB(tmp_path / "crash.sqlite")
    cat = EventLog(store, db, CAT)
    seq = max(s for s, _ in db.events(f"{store.cache_id}|{CAT}")) + 1 if cat.read() else 0
    _ev, data = encode({"type": "artifact_touched", "name": "ds", "touch": "old"}, seq, None,
                       "2000-01-01T00:00:00.000000Z")
    store.put_if_absent(layout.event_key(CAT, seq), data)
    fresh = Cli(tmp_path / "fresh", cli.remote)
    lists.clear()
    assert _ls(fresh)["ds"]["versions"] == 1
    assert _artifact_reads(lists) == {"ds"}  # pending: read, and settled (the touch is hours old)
    lists.clear()
    assert _ls(Cli(tmp_path / "again", cli.remote))["ds"]["versions"] == 1
    assert _artifact_reads(lists) == set()


def test_expired_ttl_is_seen_without_a_new_event(cli: Cli, tmp_path: Path) -> None:
    _log(cli, tmp_path, "ds", "1")
    _log(cli, tmp_path, "ds", "2", "--ttl", "1d")
    assert _ls(cli)["ds"]["versions"] == 2
    later = {"ARTCLI_NOW": "2999-01-01T00:00:00Z"}
    row = {r["name"]: r for r in cli.ok("ls", "--json", env=later).json()}["ds"]
    assert (row["versions"], row["latest"]) == (1, "v0")


def test_gc_ignores_a_lying_catalogue(cli: Cli, tmp_path: Path) -> None:
    _log(cli, tmp_path, "ds", "1")
    store = LocalStore(str(tmp_path / "remote"))
    db = LocalDB(tmp_path / "liar.sqlite")
    EventLog(store, db, CAT).append(lambda _e: {"type": "artifacts_summarised", "artifacts": [
        {"name": "ds", "seq": 10**6, "type": "dataset", "live": 0, "latest": None, "updated": None, "expiring": []}]})
    assert _ls(Cli(tmp_path / "fresh", cli.remote))["ds"]["versions"] == 0  # ls believes it...
    cli.ok("gc", "--grace", "0s")  # ...gc does not: it reads every artifact's own log
    out = tmp_path / "out"
    cli.ok("download", "ds:v0", "--root", str(out))
    assert (out / "f.txt").read_text() == "ds 1\n"


def test_concurrent_writers_of_different_artifacts_all_reach_the_catalogue(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    procs = []
    for i in range(6):
        d = make_tree(tmp_path / f"in{i}", {"f.txt": f"writer {i}\n".encode()})
        procs.append(cli.spawn("log", f"art{i}", str(d), "--json"))
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    store_url = cli.remote
    assert store_url is not None
    fresh = Cli(tmp_path / "fresh", store_url)
    rows = _ls(fresh)
    assert {n: r["latest"] for n, r in rows.items()} == {f"art{i}": "v0" for i in range(6)}
    from artcli.store import open_store

    store = open_store(store_url)
    events = [(i.key, json.loads(store.get(i.key))) for i in store.list(layout.events_prefix(CAT))]
    st = fold_catalogue("default", events)
    assert sorted(st.artifacts) == [f"art{i}" for i in range(6)]
    assert all(not s.pending and s.live == 1 for s in st.artifacts.values())


def test_the_newest_summary_wins_whatever_the_order() -> None:
    def ev(seq: int, kind: str, **f: object) -> tuple[str, dict]:
        return layout.event_key(CAT, seq), {"seq": seq, "type": kind, "time": "2026-01-01T00:00:00.000000Z", **f}

    def summary(seq: int, live: int) -> dict:
        return {"name": "a", "seq": seq, "type": "dataset", "live": live, "latest": live - 1, "updated": None,
                "expiring": []}

    st = fold_catalogue("default", [
        ev(0, "artifact_touched", name="a", touch="x"), ev(1, "artifact_touched", name="a", touch="y"),
        ev(2, "artifacts_summarised", artifacts=[summary(7, 2)], resolves={"a": ["y"]}),
        ev(3, "artifacts_summarised", artifacts=[summary(5, 1)], resolves={"a": ["x"]}),  # older, noted later
        ev(4, "artifacts_summarised", artifacts=[{"name": "bad"}]),  # malformed: skipped whole
    ])
    a = st.artifacts["a"]
    assert (a.seq, a.live, a.pending) == (7, 2, [])
    assert "bad" not in st.artifacts and st.warnings


def test_project_summaries_give_size_count_latest_and_time_from_the_catalogue(
        cli: Cli, tmp_path: Path, lists: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The API other listings build on: per artifact the latest live version's size, the live
    count and the newest creation time, all from the catalogue on a cold cache."""
    from artcli.projectindex import project_summaries
    from artcli.repo import Repo

    _log(cli, tmp_path, "a", "1")
    cli.ok("log", "b", str(make_tree(tmp_path / "b1", {"x": b"1" * 10})))
    cli.ok("log", "b", str(make_tree(tmp_path / "b2", {"x": b"2" * 10, "y": b"3" * 25})))
    shown = {n: cli.ok("show", n, "--json").json() for n in ("a", "b")}
    fresh = Cli(tmp_path / "fresh", cli.remote)
    for k, v in fresh.env.items():
        monkeypatch.setenv(k, v)
    lists.clear()
    got = {s.name: (s.size, s.live, s.latest, s.updated) for s in project_summaries(Repo.open(), "default")}
    assert got == {n: (shown[n]["size"], 1 + (n == "b"), int(shown[n]["version"][1:]), shown[n]["created"])
                   for n in ("a", "b")}
    assert got["b"][0] == 35
    assert _artifact_reads(lists) == set()
