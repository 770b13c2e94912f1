"""The artifact fold and the fold loop (docs/format.md §5.1, §5.6, §5.7), event by event: what
each event type changes and records, which events are skipped and with which finding, what a
writer may number next, and how references resolve and fail.

tests/test_state.py holds the first examples and a property test; this module pins every
field and every edge (the mutation run of issue 23 named the ones nothing checked).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from artcli.errors import IntegrityError, NotFoundError, UsageError
from artcli.model import Ref, parse_ref
from artcli.state.artifact import ArtifactState, fold, resolve_in, version_summary
from artcli.state.fold import Issue, LogState, Skip, fold_into, seq_of_key

D = "d" * 64
M = "e" * 64


def ev(seq: int, kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    body = {"seq": seq, "type": kind, "time": f"2026-01-01T00:00:{seq:02d}+00:00",
            "actor": {"user": "u", "host": "h", "run": f"run{seq}"}, **fields}
    return f"p/n/events/{seq:012d}.json", body


def dg(version: int) -> str:
    return f"{version + 10:02x}" * 32


def created(seq: int, version: int, **extra: Any) -> tuple[str, dict[str, Any]]:
    return ev(seq, "version_created", version=version, digest=dg(version), manifest=M, size=10 + version,
              files=1 + version, artifact_type="dataset", **extra)


def found(st: LogState) -> list[tuple[str, int]]:
    return [(i.kind, seq_of_key(i.key) or -1) for i in st.issues]


# -- the fold loop -------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "seq"), [
    ("events/000000000007.json", 7), ("000000000012.json", 12), ("a/b.json/events/999999999999.json", 999999999999),
    ("events/00000000007.json", None), ("events/0000000000007.json", None), ("events/000000000007.jsonx", None),
    ("events/000000000007", None), ("events/000000000007.JSON", None), ("events/00000000000a.json", None),
    ("events/-00000000001.json", None), ("events/000000000001.json/", None), ("", None),
])
def test_seq_of_key(key: str, seq: int | None) -> None:
    assert seq_of_key(key) == seq


def test_unreadable_and_invalid_events_are_skipped_with_their_finding() -> None:
    k1, seq_off = created(1, 1)
    seq_off["seq"] = 5
    k3, no_digest = created(3, 2)
    del no_digest["digest"]
    s = fold("p", "n", [created(0, 0), (k1, seq_off), ("p/n/events/000000000002.json", None), (k3, no_digest),
                        ("p/n/events/000000000004.json", None), created(6, 1)])
    assert found(s) == [("seq-mismatch", 1), ("event-corrupt", 2), ("event-invalid", 3), ("event-corrupt", 4)]
    assert [i.message for i in s.issues][:3] == ["its seq field says 5", "not a JSON object with a string type",
                                                 "version_created lacks the required field 'digest'"]
    assert sorted(s.versions) == [0, 1] and s.versions[1].seq == 6
    assert s.last_seq == 6  # skipped events do not count
    assert s.unclaimable == "p/n/events/000000000002.json"  # the first one that cannot be read
    assert s.claimed == 2  # claims are taken before any check: v1 (seq off) and v2 (no digest)
    assert s.warnings == [f"skipped {'corrupt' if k == 'event-corrupt' else 'invalid'} event "
                          f"p/n/events/{q:012d}.json: {i.message}" for (k, q), i in zip(found(s), s.issues, strict=True)]
    with pytest.raises(IntegrityError, match=r"p/n/events/000000000002\.json"):
        s.next_version()


def test_claims_and_what_a_writer_numbers_next() -> None:
    assert fold("p", "n", []).next_version() == 0
    s = fold("p", "n", [created(0, 0), created(1, 7), created(2, 3)])
    assert s.claimed == 7 and s.next_version() == 8  # an out-of-order v3 is skipped, not a lower claim
    for bad in ("7", True, 1.5, None):
        k, body = created(1, 1)
        body["version"] = bad
        s = fold("p", "n", [created(0, 0), (k, body)])
        assert s.unclaimable == k, bad
        with pytest.raises(IntegrityError, match="version of p/n"):
            s.next_version()
    k, body = ev(1, "alias_set", alias="a", version="x")  # not a numbering event: no claim to read
    assert fold("p", "n", [created(0, 0), (k, body)]).next_version() == 1
    # the highest number there is, and one below it
    assert fold("p", "n", [created(0, 999_999_998)]).next_version() == 999_999_999
    with pytest.raises(IntegrityError, match="v999999999 is the highest"):
        fold("p", "n", [created(0, 999_999_999)]).next_version()
    st = LogState(claimed=4)
    assert st.next_number("x", limit=5) == 5
    with pytest.raises(IntegrityError):
        st.next_number("x", limit=4)


def test_fold_into_records_skips_and_malformed_applications_and_where_they_were() -> None:
    seen: list[str] = []

    def apply(st: LogState, e: dict[str, Any]) -> None:
        seen.append(st.current)
        if e["type"] == "skip_me":
            raise Skip("my-kind", "because")
        if e["type"] == "broken":
            raise {"key": KeyError, "type": TypeError, "attr": AttributeError, "over": OverflowError,
                   "value": ValueError}[e["how"]]("bad field")
        st.note("noted", "applied anyway")

    log = [ev(0, "fine"), ev(1, "skip_me"), *(ev(2 + i, "broken", how=h)
                                              for i, h in enumerate(["key", "type", "attr", "over", "value"]))]
    st = fold_into(LogState(), log, apply, frozenset())
    assert seen == [k for k, _ in log] and st.current == ""
    assert st.issues[0] == Issue("noted", "p/n/events/000000000000.json", "applied anyway")
    assert found(st)[1:] == [("my-kind", 1), *(("event-invalid", q) for q in range(2, 7))]
    assert st.issues[1].message == "because" and st.issues[2].message == "'bad field'"
    assert st.last_seq == 6 and len(st.warnings) == 6


# -- what each event records -----------------------------------------------------------------------
def test_a_created_version_records_every_field() -> None:
    comp = {"path": "sub", "project": "p", "name": "c", "version": 0, "digest": D}
    origin = {"remote": "s3://b", "project": "q", "name": "n", "version": 3, "digest": D}
    remote = {"remote": "gs://b", "ref": "p/x:v1"}
    events = [created(0, 0, description="first", aliases=["best"], expires="2030-01-01T01:00:00+01:00",
                      inputs=["p/a:v0"], components=[comp], origin=origin, remote_inputs=[remote],
                      metadata={"acc": 0.5, "cfg": {"value": {"lr": 1}, "type": "json"}, "raw": {"x": 1}})]
    s = fold("p", "n", events)
    vs = s.versions[0]
    assert (vs.version, vs.digest, vs.size, vs.files, vs.manifest, vs.seq, vs.run) == (0, dg(0), 10, 1, M, 0, "run0")
    assert (vs.created, vs.expires) == ("2026-01-01T00:00:00.000000Z", "2030-01-01T00:00:00.000000Z")
    assert (vs.inputs, vs.components, vs.origin, vs.remote_inputs) == (["p/a:v0"], [comp], origin, [remote])
    body = events[0][1]
    assert vs.components[0] is not body["components"][0] and vs.origin is not body["origin"]
    assert vs.remote_inputs[0] is not body["remote_inputs"][0] and vs.inputs is not body["inputs"]
    assert vs.description == "first"
    assert vs.description_history == [{"description": "first", "time": body["time"], "seq": 0, "actor": body["actor"]}]
    assert vs.metadata == {"acc": {"value": 0.5, "type": None}, "cfg": {"value": {"lr": 1}, "type": "json"},
                           "raw": {"value": {"x": 1}, "type": None}}
    assert vs.metadata_history[0] == {"key": "acc", "value": 0.5, "type": None, "time": body["time"], "seq": 0,
                                      "run": "run0"}
    assert s.type == "dataset" and s.latest == 0 and s.aliases == {"best": 0}
    assert (vs.deleted, vs.delete_reason, vs.used_by, vs.relogged_by) == (None, None, [], [])
    plain = fold("p", "n", [created(0, 0)]).versions[0]
    assert (plain.description, plain.description_history, plain.expires, plain.origin) == (None, [], None, None)
    assert (plain.inputs, plain.components, plain.remote_inputs, plain.metadata) == ([], [], [], {})


def test_the_first_version_sets_the_type_and_gaps_are_noted() -> None:
    k, other = created(1, 2)
    other["artifact_type"] = "model"
    s = fold("p", "n", [created(0, 0), (k, other), created(2, 6), created(3, 6), created(4, 5)])
    assert s.type == "dataset" and sorted(s.versions) == [0, 2, 6]
    assert [(i.kind, i.message) for i in s.issues] == [
        ("version-gap", "v2 follows v0: v1 do not exist"), ("version-gap", "v6 follows v2: v3 to v5 do not exist"),
        ("version-duplicate", "v6 was created by an earlier event"),
        ("version-out-of-order", "v5 is created after v6: numbers must increase")]
    assert fold("p", "n", [created(0, 1)]).issues[0].message == "v1 follows v-1: v0 do not exist"
    assert fold("p", "n", [created(0, 0), created(1, 3)]).issues[0].message == "v3 follows v0: v1 to v2 do not exist"


def test_reuse_moves_latest_and_records_the_run() -> None:
    k, anon = ev(4, "version_reused", version=0)
    anon["actor"] = {"user": "u"}
    s = fold("p", "n", [created(0, 0, description="d0"), created(1, 1),
                        ev(2, "version_reused", version=0, aliases=["a", "b"], metadata={"m": 1}),
                        ev(3, "version_reused", version=0, description="d0"),
                        (k, anon), ev(5, "version_reused", version=0, description="new"),
                        ev(6, "version_deleted", version=1), ev(7, "version_reused", version=1),
                        ev(8, "version_reused", version=9)])
    vs = s.versions[0]
    assert s.latest == 0 and s.aliases == {"a": 0, "b": 0} and vs.metadata == {"m": {"value": 1, "type": None}}
    assert [(h["from"], h["to"], h["seq"]) for h in s.latest_history] == [(None, 0, 0), (0, 1, 1), (1, 0, 2)]
    assert vs.relogged_by == [{"run": f"run{q}", "seq": q, "time": f"2026-01-01T00:00:{q:02d}+00:00"}
                              for q in (2, 3, 5)]
    assert vs.logged_by("run0") == 0 and vs.logged_by("run3") == 3 and vs.logged_by("run1") is None
    assert [h["description"] for h in vs.description_history] == ["d0", "new"] and vs.description == "new"
    assert found(s) == [("deleted-version", 7), ("unknown-version", 8)]


def test_aliases_metadata_ttl_and_descriptions_on_live_and_deleted_versions() -> None:
    s = fold("p", "n", [
        created(0, 0, aliases=["a"]), created(1, 1),
        ev(2, "version_deleted", version=0, reason="gone"),
        ev(3, "alias_set", alias="b", version=0),                  # deleted: skipped
        ev(4, "metadata_set", version=0, entries={"k": "v"}),      # recorded on a deleted one
        ev(5, "ttl_set", version=0, expires="2031-01-01T00:00:00Z"),
        ev(6, "description_set", version=0, description="x"),     # deleted: skipped
        ev(7, "version_deleted", version=0),                       # twice: skipped
        ev(8, "alias_set", alias="b", version=1), ev(9, "alias_removed", alias="b"),
        ev(10, "description_set", version=1, description=None),
        ev(11, "ttl_set", version=1, expires="2031-01-01T00:00:00Z"), ev(12, "ttl_set", version=1, expires=None),
        ev(13, "used", version=0), ev(14, "used", version=1, run="r9"), ev(15, "linking", version=1, registry="m",
                                                                            collection="c"),
    ])
    v0, v1 = s.versions[0], s.versions[1]
    assert (v0.deleted, v0.delete_reason) == ("2026-01-01T00:00:02.000000Z", "gone")
    assert v0.metadata["k"] == {"value": "v", "type": None} and v0.expires == "2031-01-01T00:00:00.000000Z"
    assert v0.description is None and v1.description is None and len(v1.description_history) == 1
    assert v1.expires is None and s.aliases == {}
    assert v0.used_by == [{"run": "run13", "time": "2026-01-01T00:00:13+00:00"}]
    assert v1.used_by == [{"run": "r9", "time": "2026-01-01T00:00:14+00:00"}]
    assert found(s) == [("deleted-version", 3), ("deleted-version", 6), ("deleted-version", 7)]
    assert [(h["alias"], h["from"], h["to"], h["seq"]) for h in s.alias_history] == [
        ("a", None, 0, 0), ("a", 0, None, 2), ("b", None, 1, 8), ("b", 1, None, 9)]
    assert s.alias_history[1]["actor"]["run"] == "run2" and s.alias_history[1]["time"].endswith(":02+00:00")


def test_renames_are_read_from_both_sides() -> None:
    events = [created(0, 0), ev(1, "artifact_renamed", **{"from": "p/old", "to": "p/n"}),
              ev(2, "artifact_renamed", **{"from": "p/n", "to": "p/n"}),
              ev(3, "artifact_renamed", **{"from": "p/x", "to": "p/y"})]
    s = fold("p", "n", events)
    assert s.renamed_from == ["p/old"] and s.renamed_to is None and s.latest_live() is s.versions[0]
    s = fold("p", "n", [*events, ev(4, "artifact_renamed", **{"from": "p/n", "to": "q/m"})])
    assert s.renamed_to == "q/m" and s.live_versions() == [] and s.latest_live() is None
    assert not s.is_live(s.versions[0])


# -- liveness, expiry and links ---------------------------------------------------------------------
def test_expiry_is_judged_at_now_and_a_link_keeps_a_version() -> None:
    s = fold("p", "n", [created(0, 0, expires="2030-01-01T00:00:00Z"), created(1, 1)])
    v0 = s.versions[0]
    at = datetime(2030, 1, 1, tzinfo=UTC)
    assert v0.expired(at) and not v0.expired(datetime(2029, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert not s.versions[1].expired(at) and not v0.expired()  # the real clock is before 2030
    assert [v.version for v in s.live_versions(at)] == [1] and s.live_versions() == [v0, s.versions[1]]
    assert s.by_digest(dg(0)) is v0 and s.by_digest(dg(0), at) is None and s.by_digest(D) is None
    calls = []
    s.linked = lambda: calls.append(1) or {0}
    assert s.is_linked(0) and not s.is_linked(1) and not s.has_expired(v0, at)
    assert [v.version for v in s.live_versions(at)] == [0, 1] and calls == [1]  # asked once
    assert not fold("p", "n", []).is_linked(0)


def test_latest_live_and_aliases_of() -> None:
    s = fold("p", "n", [created(0, 0, aliases=["z", "a"]), created(1, 1), created(2, 2, expires="2000-01-01T00:00:00Z"),
                        ev(3, "version_deleted", version=1)])
    assert s.latest == 2 and s.latest_live() is s.versions[0]
    assert s.aliases_of(0) == ["latest", "a", "z"] and s.aliases_of(2) == []
    assert s.latest_live(datetime(1999, 1, 1, tzinfo=UTC)) is s.versions[2]
    # latest, and the fallback when latest is gone, are both judged at the `now` asked about
    then = datetime(1999, 1, 1, tzinfo=UTC)
    s = fold("p", "n", [created(0, 0, expires="2000-01-01T00:00:00Z"), created(1, 1),
                        ev(2, "version_reused", version=0)])
    assert s.latest == 0 and s.latest_live(then) is s.versions[0] and s.latest_live() is s.versions[1]
    assert s.is_live(s.versions[0], then) and not s.is_live(s.versions[0])
    s = fold("p", "n", [created(0, 0), created(1, 1, expires="2000-01-01T00:00:00Z"), created(2, 2),
                        ev(3, "version_deleted", version=2)])
    assert s.latest_live(then) is s.versions[1] and s.latest_live() is s.versions[0]


# -- references ------------------------------------------------------------------------------------
def ref(tag: str) -> Any:
    return parse_ref(f"p/n{tag}", "default")


def test_resolve_each_kind_of_tag() -> None:
    s = fold("p", "n", [created(0, 0, aliases=["prod"]), created(1, 1), created(2, 2)])
    assert resolve_in(s, ref(":v1")) is s.versions[1]
    assert resolve_in(s, ref(":prod")) is s.versions[0]
    assert resolve_in(s, ref("")) is s.versions[2] and resolve_in(s, ref(":latest")) is s.versions[2]
    assert resolve_in(s, Ref("p", "n", alias="latest")) is s.versions[2]  # made in code, latest spelt out
    assert resolve_in(s, ref(f"@{dg(1)[:8]}")) is s.versions[1]


def test_resolve_failures_say_why() -> None:
    s = fold("p", "n", [*(created(i, i) for i in range(8)), ev(8, "version_deleted", version=6),
                        ev(9, "alias_set", alias="old", version=5), ev(10, "ttl_set", version=5,
                                                                         expires="2000-01-01T00:00:00Z")])
    with pytest.raises(NotFoundError, match="p/n has no version v9") as e:
        resolve_in(s, ref(":v9"))
    assert e.value.hint == "versions: v1, v2, v3, v4, v7"  # the last five live
    with pytest.raises(NotFoundError, match=r"p/n:v6 was deleted at 2026-01-01T00:00:08\.000000Z"):
        resolve_in(s, ref(":v6"))
    with pytest.raises(NotFoundError, match=r"p/n:v5 expired at 2000-01-01T00:00:00\.000000Z"):
        resolve_in(s, ref(":old"))
    s.linked = lambda: {5}
    assert resolve_in(s, ref(":old")) is s.versions[5] and resolve_in(s, ref(":v5")) is s.versions[5]
    gone = fold("p", "n", [created(0, 0), ev(1, "version_deleted", version=0)])
    with pytest.raises(NotFoundError, match=r"the newest, v0, was deleted at 2026-01-01T00:00:01.000000Z\)"):
        resolve_in(gone, ref(""))
    expired = fold("p", "n", [created(0, 0, expires="2000-01-01T00:00:00Z"), created(1, 1),
                              ev(2, "version_deleted", version=1)])
    with pytest.raises(NotFoundError, match=r"the newest, v1, was deleted"):
        resolve_in(expired, ref(""))
    only = fold("p", "n", [created(0, 0, expires="2000-01-01T00:00:00Z")])
    with pytest.raises(NotFoundError, match=r"the newest, v0, was expired at 2000-01-01T00:00:00.000000Z\)"):
        resolve_in(only, ref(""))
    with pytest.raises(NotFoundError) as e:
        resolve_in(gone, ref(":v3"))
    assert e.value.hint == "versions: none live"


def test_unknown_aliases_hint_at_the_known_ones() -> None:
    def hint(aliases: list[str], asked: str) -> str | None:
        s = fold("p", "n", [created(0, 0, aliases=aliases)])
        with pytest.raises(NotFoundError, match=f"unknown alias '{asked}' of p/n") as e:
            resolve_in(s, ref(f":{asked}"))
        return e.value.hint

    assert hint([], "prod") == "n has no alias yet"
    assert hint(["best"], "prod") == "aliases: best"
    assert hint([f"a{i}" for i in range(8)], "prod") == f"aliases: {', '.join(f'a{i}' for i in range(8))}"
    assert hint([f"a{i}" for i in range(9)], "prod") == "list them with: artcli alias ls n"
    assert hint(["production"], "prodution") == "did you mean 'production'?"


def test_digest_prefixes_are_unique_live_matches() -> None:
    twins = [ev(i, "version_created", version=i, digest=f"{i:01x}" + "a" * 63, manifest=M, size=1, files=1,
                artifact_type="d") for i in range(2)]
    many = [ev(i, "version_created", version=i, digest="ab" + f"{i:062x}", manifest=M, size=1, files=1,
               artifact_type="d") for i in range(12)]
    s = fold("p", "n", many)
    with pytest.raises(UsageError, match=r"p/n@ab000000 is ambiguous: v0 \(ab00000000000000\), v1 ") as e:
        resolve_in(s, ref("@ab000000"))
    assert e.value.hint == "give more digits of the digest" and str(e.value).count("(ab") == 10
    s = fold("p", "n", [*twins, ev(2, "version_deleted", version=0)])
    with pytest.raises(NotFoundError, match=r"p/n@0aaaaaaa is v0, which is no longer live"):
        resolve_in(s, ref("@0aaaaaaa"))
    with pytest.raises(NotFoundError, match="p/n has no live version whose content digest starts with 2aaaaaaa") as e:
        resolve_in(s, ref("@2aaaaaaa"))
    assert "ls --json" in (e.value.hint or "")


def test_version_summary_is_the_shape_show_and_ls_print() -> None:
    s = fold("p", "n", [created(0, 0, aliases=["prod"], description="d", metadata={"acc": 0.9}),
                        ev(1, "ttl_set", version=0, expires="2030-01-01T00:00:00Z")])
    assert version_summary(s, s.versions[0]) == {
        "project": "p", "name": "n", "type": "dataset", "version": "v0", "ref": "p/n:v0", "digest": dg(0),
        "manifest": M, "size": 10, "files": 1, "created": "2026-01-01T00:00:00.000000Z",
        "aliases": ["latest", "prod"], "description": "d", "run": "run0", "expires": "2030-01-01T00:00:00.000000Z",
        "metadata": {"acc": 0.9}}


def test_next_version_names_the_artifact() -> None:
    k, body = created(0, 0)
    body["version"] = -1
    assert isinstance(fold("p", "n", [(k, body)]), ArtifactState)
    with pytest.raises(IntegrityError, match="cannot number a new version of p/n"):
        fold("p", "n", [(k, {**body, "version": "x"})]).next_version()
