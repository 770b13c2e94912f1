"""A warm ``log`` asks the remote only what it must (issue 24: at most 30 requests on a
100,000-event artifact; it made 34).

It used to list the artifact's log three times (the read, again right before the exclusive
create, again for the catalogue summary) and to fold the project catalogue for each of its two
notes (a LIST each, and with an empty cache a GET of every catalogue event). Now the log is
listed once: the create tries the number after what the read saw (a lost race lists and
decides again), the summary comes from the writer's own cache, and the notes are appended from
keys alone (artcli/notelog.py). Counted per call on a folder remote, each call one request on S3.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from artcli import checkpoints, layout
from artcli.eventlog import encode
from artcli.localdb import LocalDB
from artcli.notelog import END_HINT, NoteLog
from artcli.state.catalogue import fold_catalogue
from artcli.store.local import LocalStore

from clihelp import Cli, make_tree

ART = layout.events_prefix(layout.artifact_prefix("default", "ds"))
CAT = layout.events_prefix(layout.catalogue_prefix("default"))
K = 150  # catalogue events other writers added: more than a warm log may fetch, two blocks and more
#: every call a warm ``log`` of one new small file makes on a folder remote whose catalogue this
#: machine has not written to yet (as the scale benchmark's): marker; the artifact's log;
#: settings; lease, gc listing; packs listing, the previous version's pack index, pack + index;
#: manifest PUT; catalogue checkpoints + events LIST, touch; the event; summary; lease DELETE;
#: run record LIST + PUT. It was 24 (three LISTs of the artifact's log, one LIST and a fold of
#: the catalogue per note), then 19 (a HEAD before the manifest's PUT); a second ``log`` from
#: here skips the checkpoints LIST.
WARM_LOG_CALLS = 18


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every call the in-process commands make on a folder remote: (operation, key or prefix)."""
    seen: list[tuple[str, str]] = []

    def wrap(name: str, op: str, many: bool = False) -> None:
        real = getattr(LocalStore, name)

        def counted(self: LocalStore, first: Any, *args: Any, **kw: Any) -> Any:
            if many:
                seen.extend((op, item[0]) for item in first)
            else:
                seen.append((op, first))
            return real(self, first, *args, **kw)

        monkeypatch.setattr(LocalStore, name, counted)

    for name, op in (("get", "GET"), ("open", "GET"), ("info", "HEAD"), ("exists", "HEAD"), ("list", "LIST"),
                     ("list_dirs", "LIST"), ("put", "PUT"), ("put_if_absent", "PUT"), ("delete", "DELETE")):
        wrap(name, op)
    for name, op in (("get_ranges", "GET"), ("get_files", "GET"), ("put_files", "PUT")):
        wrap(name, op, many=True)
    return seen


def _grow_catalogue(remote: Path, n: int) -> None:
    """Other writers' notes: touches and summaries of other artifacts, behind this cache's back."""
    store = LocalStore(str(remote))
    start = sum(1 for _ in store.list(CAT))
    for seq in range(start, start + n):
        body = {"type": "artifact_touched", "name": f"other{seq}", "touch": f"{seq:016x}"}
        assert store.put_if_absent(layout.event_key(layout.catalogue_prefix("default"), seq), encode(body, seq, None)[1])


def _catalogue(remote: Path) -> list[int]:
    return [int(i.key.rsplit("/", 1)[1][:-5]) for i in LocalStore(str(remote)).list(CAT)]


def test_a_warm_log_lists_its_log_once_and_fetches_no_catalogue_event(cli: Cli, tmp_path: Path,
                                                                       calls: list[tuple[str, str]]) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "v0", {"a.txt": b"a\n"})))
    _grow_catalogue(tmp_path / "remote", K)
    cli.ok("show", "ds")  # warm: the artifact's log is cached (the catalogue is not read)
    calls.clear()
    res = cli.ok("log", "ds", str(make_tree(tmp_path / "v1", {"b.txt": b"b\n"})), "--json").json()
    assert res["version"] == "v1"

    assert calls.count(("LIST", ART)) == 1, calls  # the read; no LIST before the create, none for the summary
    assert [k for op, k in calls if op == "GET" and k.startswith(CAT)] == []  # the notes fold nothing
    assert calls.count(("LIST", CAT)) == 1, calls  # the touch finds the end; the summary follows it
    assert calls.count(("LIST", checkpoints.prefix(layout.catalogue_prefix("default")))) == 1  # cold here
    notes = [k for op, k in calls if op == "PUT" and k.startswith(CAT)]
    assert notes == [layout.event_key(layout.catalogue_prefix("default"), s) for s in (K + 2, K + 3)]
    assert len(calls) == WARM_LOG_CALLS, "\n".join(map(str, calls))

    # the notes say what they always said: the summary of v1, the touch resolved
    store = LocalStore(str(tmp_path / "remote"))
    events = [(i.key, __import__("json").loads(store.get(i.key))) for i in store.list(CAT)]
    st = fold_catalogue("default", events)
    assert (st.artifacts["ds"].latest, st.artifacts["ds"].live, st.artifacts["ds"].pending) == (1, 2, [])
    assert _catalogue(tmp_path / "remote") == list(range(K + 4))
    assert [r["latest"] for r in cli.ok("ls", "--json").json() if r["name"] == "ds"] == ["v1"]

    # the next log from this machine starts the catalogue's listing where its last note was
    _grow_catalogue(tmp_path / "remote", 3)
    calls.clear()
    assert cli.ok("log", "ds", str(make_tree(tmp_path / "v2", {"c.txt": b"c\n"})), "--json").json()["version"] == "v2"
    assert [c for c in calls if c[0] == "LIST" and "catalogue" in c[1]] == [("LIST", CAT)]
    assert calls.count(("LIST", ART)) == 1
    assert len(calls) <= WARM_LOG_CALLS - 1, "\n".join(map(str, calls))
    assert _catalogue(tmp_path / "remote") == list(range(K + 4 + 3 + 2))


def test_a_commit_that_loses_the_race_it_did_not_list_for_decides_again(cli: Cli, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The create is tried without a LIST right before it: another writer's version landing in
    between takes that number, and this one must list, fold it, and come after it (v2), not
    lose its version or write v1 twice."""
    cli.ok("log", "ds", str(make_tree(tmp_path / "v0", {"a.txt": b"a\n"})))
    other = Cli(tmp_path / "other", cli.remote)
    theirs = make_tree(tmp_path / "theirs", {"t.txt": b"theirs\n"})
    real = LocalStore.put_if_absent
    raced: list[str] = []

    def racing(self: LocalStore, key: str, data: bytes) -> bool:
        if key.startswith(ART) and not raced:
            raced.append(key)
            r = other.run("log", "ds", str(theirs), "--json")  # a real second process commits first
            assert r.code == 0 and '"v1"' in r.out, (r.out, r.err)
        return real(self, key, data)

    monkeypatch.setattr(LocalStore, "put_if_absent", racing)
    res = cli.ok("log", "ds", str(make_tree(tmp_path / "v1", {"b.txt": b"b\n"})), "--json").json()
    assert raced == [layout.event_key(layout.artifact_prefix("default", "ds"), 1)]
    assert res["version"] == "v2"
    monkeypatch.setattr(LocalStore, "put_if_absent", real)
    listed = cli.ok("ls", "ds", "--json").json()
    assert sorted(v["version"] for v in listed) == ["v0", "v1", "v2"], listed
    assert cli.ok("files", "ds:v2", "--json").json()[0]["path"] == "b.txt"
    assert cli.ok("files", "ds:v1", "--json").json()[0]["path"] == "t.txt"
    assert [r["versions"] for r in other.ok("ls", "--json").json() if r["name"] == "ds"] == [3]


def _notelog(tmp_path: Path, n: int) -> tuple[NoteLog, LocalStore]:
    store = LocalStore(str(tmp_path / "remote"))
    store.identity = "test-store"
    prefix = layout.catalogue_prefix("p")
    for seq in range(n):
        body = {"type": "artifact_touched", "name": "x", "touch": f"{seq:016x}"}
        assert store.put_if_absent(layout.event_key(prefix, seq), encode(body, seq, None)[1])
    return NoteLog(store, LocalDB(tmp_path / "db.sqlite"), prefix), store


def _seqs(store: LocalStore) -> list[int]:
    prefix = layout.events_prefix(layout.catalogue_prefix("p"))
    return [int(i.key.rsplit("/", 1)[1][:-5]) for i in store.list(prefix)]


def test_a_note_never_lands_past_a_gap_under_a_stale_hint(tmp_path: Path) -> None:
    log, store = _notelog(tmp_path, 3)
    log.db.put_snapshot(log._log_id, END_HINT, 500, b"")  # e.g. the remote restored from an older backup
    assert log.append_note({"type": "artifact_touched", "name": "y", "touch": "1" * 16}) == 3
    assert _seqs(store) == [0, 1, 2, 3]


def test_a_note_never_lands_past_a_gap_under_a_stray_checkpoint_key(tmp_path: Path) -> None:
    log, store = _notelog(tmp_path, 5)
    prefix = layout.catalogue_prefix("p")
    store.put(checkpoints.key(prefix, 0, 1024, "0" * 64), b"not a checkpoint")  # keys alone are believed by no one
    assert log.append_note({"type": "artifact_touched", "name": "y", "touch": "1" * 16}) == 5
    assert _seqs(store) == [0, 1, 2, 3, 4, 5]


def test_notes_from_many_writers_are_all_kept_and_consecutive(tmp_path: Path) -> None:
    """Concurrent notes (threads, each its own cache) lose nothing: exclusive create and a
    listing after each lost race; the blocks they complete are checkpointed."""
    import threading

    _log, store = _notelog(tmp_path, 60)
    rng = random.Random(24)
    names = [f"w{i}" for i in range(6)]
    errors: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            log = NoteLog(store, LocalDB(tmp_path / f"db{i}.sqlite"), layout.catalogue_prefix("p"))
            at = None
            for j in range(5):
                at = log.append_note({"type": "artifact_touched", "name": names[i], "touch": f"{i:08x}{j:08x}"},
                                     at if rng.random() < 0.5 else None)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _seqs(store) == list(range(90))
    segs = [sg for i in store.list(checkpoints.prefix(layout.catalogue_prefix("p")))
            if (sg := checkpoints.parse_key(layout.catalogue_prefix("p"), i.key, i.size))]
    assert (0, 64) in [(sg.start, sg.end) for sg in segs]
