"""The field rules of every event type (docs/format.md §5.6), at their edges: each check
accepts exactly what the spec admits, a required field is required, an optional one may be
absent, and a type the log's fold does not interpret gets the common checks only.
"""

from __future__ import annotations

from typing import Any

import pytest

from artcli.layout import MAX_SEQ
from artcli.state import events
from artcli.state.events import MAX_COUNT, MAX_VERSION, check

D = "d" * 64
T = "2026-01-01T00:00:00Z"
SOURCE = {"project": "p", "name": "n", "version": 0, "digest": D, "manifest": D}
COMPONENT = {"path": "sub", "project": "p", "name": "n", "version": 1, "digest": D}
ORIGIN = {"remote": "s3://b", "project": "p", "name": "n", "version": 2, "digest": D}

#: a valid event of each type, with its required fields only
VALID: dict[str, dict[str, Any]] = {
    "version_created": {"version": 0, "digest": D, "manifest": D, "size": 0, "files": 0, "artifact_type": "dataset"},
    "version_reused": {"version": 0},
    "description_set": {"version": 0, "description": None},
    "artifact_renamed": {"from": "p/a", "to": "p/b"},
    "alias_set": {"alias": "best", "version": 0},
    "alias_removed": {"alias": "anything at all"},
    "metadata_set": {"version": 0, "entries": {}},
    "ttl_set": {"version": 0, "expires": None},
    "version_deleted": {"version": 0},
    "used": {"version": 0},
    "linking": {"version": 0, "registry": "models", "collection": "c"},
    "registry_created": {},
    "linked": {"version": 0, "source": SOURCE},
    "unlinked": {"version": 0},
    "run_started": {},
    "input": {"project": "p", "name": "n", "version": 0},
    "output": {"project": "p", "name": "n", "version": 0},
    "run_finished": {},
    "default_ttl_set": {"seconds": None},
    "artifact_touched": {"name": "n", "touch": "logged"},
    "artifacts_summarised": {"artifacts": []},
}
ALL = frozenset(events.FIELDS)


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"seq": 0, "type": kind, "time": T, **VALID[kind], **fields}


def ok(ev: dict[str, Any], known: frozenset[str] = ALL) -> bool:
    try:
        check(ev, known)
    except ValueError:
        return False
    return True


def test_every_type_has_a_valid_example_and_needs_each_required_field() -> None:
    assert set(VALID) == ALL
    for kind, (required, _optional) in events.FIELDS.items():
        assert ok(event(kind)), kind
        for name in [*required, "seq", "type", "time"]:
            ev = event(kind)
            del ev[name]
            assert not ok(ev), (kind, name)


@pytest.mark.parametrize(("field", "good", "bad"), [
    ("seq", [0, MAX_SEQ], [-1, MAX_SEQ + 1, True, 1.0, "1", None]),
    ("time", [T, "2026-01-01T00:00:00.123456+02:00"], ["2026-01-01", "yesterday", None, 5, "2026-13-01T00:00:00Z"]),
    ("actor", [{}, {"run": None}, {"run": "r", "user": 5}], [None, [], "me", {"run": 5}, {"run": ["r"]}]),
])
def test_common_fields(field: str, good: list[Any], bad: list[Any]) -> None:
    for kind in ("alias_removed", "run_started", "a_future_type"):
        base = event(kind) if kind in VALID else {"seq": 0, "type": kind, "time": T}
        for value in good:
            assert ok({**base, field: value}, frozenset({kind})), (kind, value)
        for value in bad:
            assert not ok({**base, field: value}, frozenset({kind})), (kind, value)
            assert not ok({**base, field: value}, frozenset()), (kind, value)  # common to every type
    assert not ok({"seq": 0, "type": 5, "time": T})


@pytest.mark.parametrize(("kind", "field", "good", "bad"), [
    ("version_created", "version", [0, MAX_VERSION], [-1, MAX_VERSION + 1, False, "v1", 1.5]),
    ("version_created", "size", [0, MAX_COUNT], [-1, MAX_COUNT + 1, True, None]),
    ("version_created", "files", [0, MAX_COUNT], [-1, MAX_COUNT + 1, True]),
    ("version_created", "digest", [D, "0" * 64], ["D" * 64, D[:-1], D + "0", None]),
    ("version_created", "manifest", [D], [D.upper(), "x" * 64]),
    ("version_created", "artifact_type", ["dataset", "a" * 128, "A-1._x"], ["", "-a", "a" * 129, "a b", None, 1]),
    ("version_created", "description", [None, "", "any text"], [1, ["x"]]),
    ("version_created", "aliases", [[], ["best", "v", "v1a", "Latest"]],
     [["latest"], ["v1"], ["v0123"], ["a b"], "best", [None], None, ["best", "latest"]]),
    ("version_created", "metadata", [{}, {"k": 1}], [[], None, "x"]),
    ("version_created", "expires", [None, T], ["soon", 0]),
    ("version_created", "inputs", [[], ["p/n:v0"]], [[1], "p/n:v0", None, ["p/n:v0", 1]]),
    ("version_created", "components", [[], [COMPONENT]],
     [[{**COMPONENT, "path": ""}], [{**COMPONENT, "path": 1}], [{k: v for k, v in COMPONENT.items() if k != "path"}],
      [{**COMPONENT, "project": "a b"}], [{**COMPONENT, "name": None}], [{**COMPONENT, "version": -1}],
      [{**COMPONENT, "digest": "x"}], ["sub"], None, [COMPONENT, "sub"]]),
    ("version_created", "origin", [None, ORIGIN, {**ORIGIN, "created": T, "run": "r"}],
     [{**ORIGIN, "remote": None}, {k: v for k, v in ORIGIN.items() if k != "remote"}, {**ORIGIN, "project": ""},
      {**ORIGIN, "name": "a/b"}, {**ORIGIN, "version": True}, {**ORIGIN, "digest": None},
      {**ORIGIN, "created": "then"}, {**ORIGIN, "run": 1}, "s3://b", []]),
    ("version_created", "remote_inputs",
     [[], [{"remote": "s3://b", "ref": "p/n:v0"}], [{"remote": "s3://b", "ref": "p/n:v0", "digest": None}],
      [{"remote": "s3://b", "ref": "p/n:v0", "digest": D}]],
     [[{"remote": 1, "ref": "p/n:v0"}], [{"ref": "p/n:v0"}], [{"remote": "s3://b"}], [{"remote": "s", "ref": None}],
      [{"remote": "s", "ref": "r", "digest": "abc"}], ["s3://b"], None]),
    ("artifact_renamed", "from", ["p/a", "P-1/a.b"], ["p", "p/a/b", "/a", "p/", "p/a b", None, 1]),
    ("artifact_renamed", "to", ["q/b"], ["q", "q/b/c"]),
    ("alias_set", "alias", ["best", "v"], ["latest", "v12", "", None, "a/b"]),
    ("alias_removed", "alias", ["", "latest", "v1"], [None, 1]),
    ("ttl_set", "expires", [None, T], ["", "tomorrow"]),
    ("ttl_set", "reason", [None, "why"], [1]),
    ("used", "run", [None, "r"], [1]),
    ("registry_created", "accept_types", [None, [], ["model", "dataset"]],
     [["a b"], "model", [None], [1], ["model", None]]),
    ("linked", "source", [SOURCE, {**SOURCE, "artifact_type": None}, {**SOURCE, "artifact_type": "model"}],
     [{k: v for k, v in SOURCE.items() if k != key} for key in SOURCE]
     + [{**SOURCE, "project": "a b"}, {**SOURCE, "name": ""}, {**SOURCE, "version": -1}, {**SOURCE, "digest": "x"},
        {**SOURCE, "manifest": D.upper()}, {**SOURCE, "artifact_type": 1}, None, []]),
    ("linked", "aliases", [[], ["prod"]], [["latest"], ["v3"]]),
    ("output", "created", [True, False], [None, 0, "yes"]),
    ("input", "digest", [None, D], ["x"]),
    ("input", "command", [[], ["artcli", "log"]], [[1], "artcli log"]),
    ("default_ttl_set", "seconds", [None, 1, MAX_COUNT], [0, -1, MAX_COUNT + 1, True, "1"]),
    ("artifact_touched", "name", ["n"], ["", "a b"]),
    ("artifact_touched", "touch", ["", "x"], [None, 1]),
    ("artifacts_summarised", "artifacts", [[], [{}]], [[1], {}, None]),
    ("artifacts_summarised", "resolves", [{}], [[], None]),
])
def test_type_fields(kind: str, field: str, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        assert ok(event(kind, **{field: value})), value
    for value in bad:
        assert not ok(event(kind, **{field: value})), value
        # the fields of a type the log's fold does not interpret are not checked
        assert ok(event(kind, **{field: value}), frozenset()), value


def test_optional_fields_may_be_absent_and_extra_fields_are_ignored() -> None:
    for kind, (_required, optional) in events.FIELDS.items():
        ev = event(kind, extra_field={"anything": [1]})
        assert all(name not in ev for name in optional), kind
        assert ok(ev), kind


def test_numbering_types() -> None:
    assert {"version_created", "linked"} == events.NUMBERING
