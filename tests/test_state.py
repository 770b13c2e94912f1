"""The fold: an artifact's state is a pure function of its event log."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from artcli.state.artifact import fold

D = "d" * 64


def ev(seq: int, kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    body = {"seq": seq, "type": kind, "time": f"2026-01-01T00:00:{seq:02d}.000000Z",
            "actor": {"user": "u", "host": "h", "run": f"run{seq}"}, **fields}
    return f"events/{seq:012d}.json", body


def created(seq: int, version: int, **extra: Any) -> tuple[str, dict[str, Any]]:
    return ev(seq, "version_created", version=version, digest=f"{version:064d}", manifest=D, size=10 * version,
              files=1, artifact_type="dataset", **extra)


def test_versions_latest_and_aliases() -> None:
    s = fold("p", "n", [created(0, 0, aliases=["best"]), created(1, 1), ev(2, "alias_set", alias="best", version=1),
                        ev(3, "version_reused", version=0, aliases=["prod"])])
    assert sorted(s.versions) == [0, 1]
    assert s.type == "dataset"
    assert s.latest == 0  # the reuse moved latest back
    assert s.aliases == {"best": 1, "prod": 0}
    assert s.aliases_of(0) == ["latest", "prod"]
    moves = [(h["alias"], h["from"], h["to"]) for h in s.alias_history]
    assert moves == [("best", None, 0), ("best", 0, 1), ("prod", None, 0)]
    assert s.versions[1].run == "run1"


def test_delete_removes_aliases_and_latest_falls_back() -> None:
    s = fold("p", "n", [created(0, 0), created(1, 1, aliases=["best"]), ev(2, "version_deleted", version=1, reason="x")])
    assert s.aliases == {}
    assert s.latest_live().version == 0
    assert [v.version for v in s.live_versions()] == [0]


def test_metadata_latest_wins_history_kept() -> None:
    s = fold("p", "n", [created(0, 0, metadata={"acc": {"value": 0.5, "type": None}}),
                        ev(1, "metadata_set", version=0, entries={"acc": {"value": 0.9, "type": None}})])
    assert s.versions[0].metadata["acc"]["value"] == 0.9
    assert [h["value"] for h in s.versions[0].metadata_history] == [0.5, 0.9]
    assert [(h["key"], h["seq"], h["time"]) for h in s.versions[0].metadata_history] == [
        ("acc", 0, "2026-01-01T00:00:00.000000Z"), ("acc", 1, "2026-01-01T00:00:01.000000Z")]


def test_ttl_and_expiry() -> None:
    s = fold("p", "n", [created(0, 0), ev(1, "ttl_set", version=0, expires="2000-01-01T00:00:00.000000Z")])
    assert s.versions[0].expired() and s.latest_live() is None


def test_bad_events_are_skipped_not_fatal() -> None:
    s = fold("p", "n", [created(0, 0), ("events/000000000001.json", None), ev(2, "alias_set", alias="x", version=9),
                        created(3, 0), ev(4, "from_the_future", anything=1), created(5, 1)])
    assert sorted(s.versions) == [0, 1]
    assert len(s.warnings) == 3  # unparsable, alias on unknown version, duplicate version
    assert s.last_seq == 5


@given(st.lists(st.tuples(st.sampled_from(["create", "alias", "unalias", "delete", "reuse"]),
                          st.integers(0, 5), st.sampled_from(["a", "b"])), max_size=30))
def test_fold_never_crashes_and_aliases_are_unique(ops: list[tuple[str, int, str]]) -> None:
    events = []
    version = 0
    for seq, (op, n, alias) in enumerate(ops):
        if op == "create":
            events.append(created(seq, version))
            version += 1
        elif op == "alias":
            events.append(ev(seq, "alias_set", alias=alias, version=n))
        elif op == "unalias":
            events.append(ev(seq, "alias_removed", alias=alias))
        elif op == "delete":
            events.append(ev(seq, "version_deleted", version=n))
        else:
            events.append(ev(seq, "version_reused", version=n, aliases=[alias]))
    s = fold("p", "n", events)
    for alias, v in s.aliases.items():
        assert v in s.versions and s.versions[v].deleted is None, alias
    # folding is deterministic
    assert fold("p", "n", events).aliases == s.aliases


def test_a_second_removal_of_an_alias_is_a_quiet_no_op() -> None:
    """Two `alias rm` racing both write ``alias_removed``: the second finds nothing to remove,
    which is neither an error nor a move in the history."""
    s = fold("p", "n", [created(0, 0, aliases=["best"]), ev(1, "alias_removed", alias="best"),
                        ev(2, "alias_removed", alias="best")])
    assert s.aliases == {} and s.warnings == []
    assert [(h["alias"], h["from"], h["to"], h["seq"]) for h in s.alias_history] == [
        ("best", None, 0, 0), ("best", 0, None, 1)]
    assert s.alias_history[-1]["actor"]["run"] == "run1" and s.alias_history[-1]["time"].endswith(":01.000000Z")
