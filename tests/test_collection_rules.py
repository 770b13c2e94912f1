"""The collection and registry folds (docs/format.md §5.3, §5.7), event by event: what a link
records, which events are skipped and why, and which link a registry reference names.

A hypothesis test folds random link / unlink / alias logs and compares the result with a
plain model of the rules; the examples pin the edges the model does not reach (fields of a
link, registry settings, how a reference resolves and how it fails).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artcli.errors import IntegrityError, NotFoundError, UsageError
from artcli.model import REGISTRY_PROJECT, Ref, parse_ref
from artcli.state.collection import CollectionState, Link, fold_collection, fold_registry, link_in
from artcli.state.events import MAX_VERSION


def ev(seq: int, kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    body = {"seq": seq, "type": kind, "time": f"2026-02-03T04:05:{seq:02d}Z",
            "actor": {"user": "u", "host": "h", "run": f"run{seq}"}, **fields}
    return f"registry/r/c/events/{seq:012d}.json", body


def source(version: int, *, name: str = "ds", **extra: Any) -> dict[str, Any]:
    return {"project": "p", "name": name, "version": version, "digest": dg(version),
            "manifest": f"{version + 100:02x}" * 32, **extra}


def dg(version: int) -> str:
    """The content digest of source version ``version``: its first 9 digits tell it apart."""
    return f"{version + 10:02x}" * 32


def linked(seq: int, n: int, src: int | None = None, **extra: Any) -> tuple[str, dict[str, Any]]:
    return ev(seq, "linked", version=n, source=source(n if src is None else src), **extra)


def kinds(st_: Any) -> list[tuple[str, int]]:
    return [(i.kind, int(i.key[-17:-5])) for i in st_.issues]


def test_a_link_records_its_source_time_seq_and_run() -> None:
    s = fold_collection("r", "c", [linked(0, 0, src=3, aliases=["prod"]),
                                   ev(1, "linked", version=1, source=source(5, name="m", artifact_type="model"))])
    assert (s.registry, s.name, s.ref) == ("r", "c", "registry/r/c")
    lk = s.links[0]
    assert (lk.version, lk.source, lk.digest, lk.manifest) == (0, ("p", "ds", 3), dg(3), "67" * 32)
    assert (lk.artifact_type, lk.created, lk.seq, lk.run, lk.unlinked) == (
        None, "2026-02-03T04:05:00.000000Z", 0, "run0", None)
    assert lk.source_json() == {"ref": "p/ds:v3", "project": "p", "name": "ds", "version": "v3",
                                "digest": dg(3), "manifest": "67" * 32, "type": None}
    assert s.links[1].source_json()["type"] == "model" and s.links[1].run == "run1"
    assert s.aliases == {"prod": 0} and s.latest == 1 and s.last_seq == 1 and s.claimed == 1
    assert [(h["alias"], h["from"], h["to"], h["seq"]) for h in s.latest_history] == [
        ("latest", None, 0, 0), ("latest", 0, 1, 1)]
    assert s.issues == [] and s.warnings == []


def test_a_link_without_an_actor_or_run_has_no_run() -> None:
    key, body = linked(0, 0)
    del body["actor"]
    key1, body1 = linked(1, 1)
    body1["actor"] = {"user": "u"}
    s = fold_collection("r", "c", [(key, body), (key1, body1)])
    assert s.links[0].run is None and s.links[1].run is None and sorted(s.links) == [0, 1]


def test_numbering_rules_duplicates_out_of_order_and_gaps() -> None:
    s = fold_collection("r", "c", [linked(0, 0), linked(1, 2, src=7), linked(2, 2), linked(3, 1), linked(4, 3)])
    assert sorted(s.links) == [0, 2, 3] and s.links[2].source == ("p", "ds", 7)
    # a gap is applied and noted (fsck reports it), a duplicate and a number below the top are skipped
    assert kinds(s) == [("version-gap", 1), ("version-duplicate", 2), ("version-out-of-order", 3)]
    assert [i.message for i in s.issues] == ["collection version v2 follows v0",
                                             "collection version v2 was linked by an earlier event",
                                             "collection version v1 is linked after v2"]
    assert len(s.warnings) == 2 and all("registry/r/c/events/00000000000" in w for w in s.warnings)
    assert s.claimed == 3 and s.next_version() == 4


def test_unlink_and_aliases_name_only_live_links() -> None:
    s = fold_collection("r", "c", [
        linked(0, 0, aliases=["a"]), linked(1, 1, aliases=["b"]),
        ev(2, "alias_set", alias="c", version=0),
        ev(3, "unlinked", version=0),             # takes "a" and "c" with it
        ev(4, "unlinked", version=0),             # twice: deleted-version
        ev(5, "unlinked", version=7),             # never linked: unknown-version
        ev(6, "alias_set", alias="d", version=0),  # onto an unlinked one
        ev(7, "alias_set", alias="e", version=9),  # onto one never linked
        ev(8, "alias_removed", alias="b"),
        ev(9, "alias_removed", alias="zz"),       # nothing to remove: a quiet no-op
        ev(10, "something_newer", version=0),     # unknown types are ignored
    ])
    assert s.links[0].unlinked == "2026-02-03T04:05:03.000000Z" and s.links[1].live
    assert s.aliases == {}
    assert kinds(s) == [("deleted-version", 4), ("unknown-version", 5), ("deleted-version", 6),
                        ("unknown-version", 7)]
    assert [(h["alias"], h["from"], h["to"], h["seq"]) for h in s.alias_history] == [
        ("a", None, 0, 0), ("b", None, 1, 1), ("c", None, 0, 2), ("a", 0, None, 3), ("c", 0, None, 3),
        ("b", 1, None, 8)]
    assert [lk.version for lk in s.live_links()] == [1] and s.latest_live() is s.links[1]


def test_latest_falls_back_to_the_newest_live_link() -> None:
    s = fold_collection("r", "c", [linked(0, 0), linked(1, 1), linked(2, 2), ev(3, "unlinked", version=2)])
    assert s.latest == 2 and s.latest_live() is s.links[1]
    assert s.aliases_of(1) == ["latest"] and s.aliases_of(2) == []
    s = fold_collection("r", "c", [linked(0, 0), ev(1, "unlinked", version=0)])
    assert s.live_links() == [] and s.latest_live() is None


def test_by_source_finds_only_a_live_link_of_that_exact_version() -> None:
    s = fold_collection("r", "c", [linked(0, 0, src=4), linked(1, 1, src=5), linked(2, 2, src=4),
                                   ev(3, "unlinked", version=0)])
    assert s.by_source("p", "ds", 4) is s.links[2]
    assert s.by_source("p", "ds", 5) is s.links[1]
    assert s.by_source("p", "ds", 6) is None and s.by_source("p", "other", 5) is None
    assert s.by_source("q", "ds", 5) is None


def test_next_version_refuses_after_an_unreadable_claim_and_at_the_limit() -> None:
    key, body = linked(1, 1)
    body["version"] = "one"
    s = fold_collection("r", "c", [linked(0, 0), (key, body)])
    with pytest.raises(IntegrityError, match="collection version of registry/r/c"):
        s.next_version()
    s = fold_collection("r", "c", [linked(0, MAX_VERSION)])
    with pytest.raises(IntegrityError, match="collection version of registry/r/c"):
        s.next_version()
    assert fold_collection("r", "c", []).next_version() == 0


def test_events_of_other_logs_are_checked_as_unknown_types() -> None:
    """A ``version_created`` in a collection's log is not a collection event: ignored, though
    its number is not a claim of this log either."""
    s = fold_collection("r", "c", [ev(0, "version_created", version=5), linked(1, 0)])
    assert sorted(s.links) == [0] and s.issues == [] and s.claimed == 0


def test_core_and_custom_registries() -> None:
    models = fold_registry("models", [ev(0, "registry_created", accept_types=["x"])])
    assert (models.core, models.exists, models.accept_types, models.created) == (True, True, ["model"], None)
    assert models.description == "Core registry of models."
    assert models.accepts("model") and not models.accepts("dataset") and not models.accepts(None)
    datasets = fold_registry("datasets", [])
    assert datasets.accept_types == ["dataset"] and datasets.core
    datasets.accept_types.append("x")  # a fold's state is its own: the next fold starts from the table
    assert fold_registry("datasets", []).accept_types == ["dataset"]

    ghost = fold_registry("shelf", [])
    assert not ghost.exists and not ghost.core and ghost.accepts("anything") and ghost.created is None
    shelf = fold_registry("shelf", [
        ev(0, "unlinked", version=0),  # not a registry event: ignored
        ev(1, "registry_created", accept_types=["model", "dataset"], description="a shelf"),
        ev(2, "registry_created", accept_types=["x"], description="later ones are ignored"),
    ])
    assert shelf.exists and not shelf.core and shelf.accept_types == ["model", "dataset"]
    assert (shelf.description, shelf.created, shelf.actor["run"]) == ("a shelf", "2026-02-03T04:05:01.000000Z",
                                                                       "run1")
    assert shelf.accepts("dataset") and not shelf.accepts("x")
    anything = fold_registry("shelf", [ev(0, "registry_created", accept_types=None)])
    assert anything.accept_types is None and anything.exists and anything.description is None
    assert anything.actor == {"user": "u", "host": "h", "run": "run0"}
    bad = fold_registry("shelf", [ev(0, "registry_created", accept_types="model"),
                                  ev(1, "registry_created", description="the first valid one")])
    assert bad.description == "the first valid one" and bad.accept_types is None
    assert [i.kind for i in bad.issues] == ["event-invalid"]


def _coll() -> CollectionState:
    return fold_collection("r", "c", [linked(0, 0, src=0), linked(1, 1, src=1, aliases=["prod"]),
                                      linked(2, 2, src=2), ev(3, "unlinked", version=2)])


def ref(tag: str) -> Any:
    return parse_ref(f"registry/r/c{tag}", "default")


def test_link_in_resolves_each_kind_of_tag() -> None:
    s = _coll()
    assert link_in(s, ref(":v0")) is s.links[0]
    assert link_in(s, ref(":prod")) is s.links[1]
    assert link_in(s, ref("")) is s.links[1]  # latest live: v2 was unlinked
    assert link_in(s, ref(":latest")) is s.links[1]
    # a Ref made in code rather than parsed may spell latest out
    assert link_in(s, Ref(REGISTRY_PROJECT, "c", alias="latest", registry="r")) is s.links[1]
    assert link_in(s, ref(f"@{dg(0)[:9]}")) is s.links[0]


def test_link_in_failures_say_what_there_is() -> None:
    s = _coll()
    with pytest.raises(NotFoundError, match=r"registry/r/c has no version v7") as e:
        link_in(s, ref(":v7"))
    assert e.value.hint == "versions: v0, v1"
    with pytest.raises(NotFoundError) as e:
        link_in(fold_collection("r", "c", []), ref(":v0"))
    assert e.value.hint == "versions: none"
    with pytest.raises(NotFoundError, match="registry/r/c:v2 was unlinked at 2026-02-03T04:05:03"):
        link_in(s, ref(":v2"))
    with pytest.raises(NotFoundError, match="unknown alias 'staging'; aliases of registry/r/c: prod"):
        link_in(s, ref(":staging"))
    two = fold_collection("r", "c", [linked(0, 0, aliases=["prod", "best"])])
    with pytest.raises(NotFoundError, match=r"aliases of registry/r/c: best, prod$"):
        link_in(two, ref(":staging"))
    with pytest.raises(NotFoundError, match="aliases of registry/r/c: none"):
        link_in(fold_collection("r", "c", [linked(0, 0)]), ref(":staging"))
    with pytest.raises(NotFoundError, match="has no linked version"):
        link_in(fold_collection("r", "c", [linked(0, 0), ev(1, "unlinked", version=0)]), ref(""))
    with pytest.raises(NotFoundError, match=f"registry/r/c@{dg(2)[:9]} is v2, which is no longer live"):
        link_in(s, ref(f"@{dg(2)[:9]}"))
    both = fold_collection("r", "c", [linked(0, 0, src=0), linked(1, 1, src=0)])
    with pytest.raises(UsageError, match=rf"registry/r/c@{dg(0)[:9]} is ambiguous: v0 \({dg(0)[:16]}\), v1 "):
        link_in(both, ref(f"@{dg(0)[:9]}"))


def test_the_hint_lists_the_last_five_live_links() -> None:
    s = fold_collection("r", "c", [*(linked(i, i) for i in range(8)), ev(8, "unlinked", version=6)])
    with pytest.raises(NotFoundError) as e:
        link_in(s, ref(":v9"))
    assert e.value.hint == "versions: v2, v3, v4, v5, v7"


# -- the fold against a plain model of its rules -----------------------------------------------
OPS = st.lists(st.tuples(st.sampled_from(["link", "link", "unlink", "alias", "unalias"]), st.integers(0, 6),
                         st.sampled_from(["a", "b", "c"]), st.lists(st.sampled_from(["a", "b"]), max_size=2)),
               max_size=25)


def model(ops: list[tuple[str, int, str, list[str]]]) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    """The events of ``ops`` and what the rules say they fold to."""
    events: list[tuple[str, dict[str, Any]]] = []
    live: dict[int, bool] = {}
    aliases: dict[str, int] = {}
    latest, skipped, top = None, 0, -1
    for seq, (op, n, alias, new) in enumerate(ops):
        if op == "link":
            events.append(linked(seq, n, aliases=new))
            if n in live or n < top:
                skipped += 1
                continue
            live[n], latest, top = True, n, n
            aliases.update(dict.fromkeys(new, n))
        elif op == "unlink":
            events.append(ev(seq, "unlinked", version=n))
            if not live.get(n):
                skipped += 1
                continue
            live[n] = False
            aliases = {a: v for a, v in aliases.items() if v != n}
        elif op == "alias":
            events.append(ev(seq, "alias_set", alias=alias, version=n))
            if not live.get(n):
                skipped += 1
                continue
            aliases[alias] = n
        else:
            events.append(ev(seq, "alias_removed", alias=alias))
            aliases.pop(alias, None)
    alive = [n for n in sorted(live) if live[n]]
    latest_live = latest if latest is not None and live[latest] else (alive[-1] if alive else None)
    return events, {"aliases": aliases, "live": alive, "latest": latest_live, "skipped": skipped,
                    "next": max([-1, *(n for op, n, _, _ in ops if op == "link")]) + 1}


@settings(max_examples=150, deadline=None, derandomize=True)
@given(OPS)
def test_the_fold_follows_the_rules(ops: list[tuple[str, int, str, list[str]]]) -> None:
    events, want = model(ops)
    s = fold_collection("r", "c", events)
    assert s.aliases == want["aliases"]
    assert [lk.version for lk in s.live_links()] == want["live"]
    assert (None if s.latest_live() is None else s.latest_live().version) == want["latest"]
    assert len(s.warnings) == want["skipped"]
    assert s.next_version() == want["next"]
    for alias, n in s.aliases.items():
        assert link_in(s, ref(f":{alias}")) is s.links[n]
    for n in want["live"]:
        assert isinstance(s.links[n], Link) and link_in(s, ref(f":v{n}")).version == n
