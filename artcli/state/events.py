"""The fields of every event type (docs/format.md §5.6): which are required, which optional,
and what each must hold. Every fold checks an event here before it applies it, so a folded
state only ever holds well-typed values and every reader skips the same events.

Unknown types pass with their common fields checked (a newer artcli may write them; the folds
ignore them); fields a type does not list are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from artcli import clock
from artcli.layout import MAX_SEQ
from artcli.model import DIGEST_RE, NAME_RE

Check = Callable[[Any], bool]

MAX_VERSION = 999_999_999  # versions stay nameable as vN (model.VERSION_RE)
MAX_COUNT = 2**63 - 1


def _int(lo: int, hi: int) -> Check:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _time(v: Any) -> bool:
    try:
        clock.parse_time(v)
    except (ValueError, OverflowError):
        return False
    return True


def _or_null(check: Check) -> Check:
    return lambda v: v is None or check(v)


def _list(check: Check) -> Check:
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


def _alias(v: Any) -> bool:
    return _name(v) and v != "latest" and not re.fullmatch(r"v[0-9]+", v)


def _name(v: Any) -> bool:
    return isinstance(v, str) and NAME_RE.fullmatch(v) is not None


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _obj(v: Any) -> bool:
    return isinstance(v, dict)


def _digest(v: Any) -> bool:
    return isinstance(v, str) and DIGEST_RE.fullmatch(v) is not None


def _actor(v: Any) -> bool:
    return isinstance(v, dict) and _or_null(_str)(v.get("run"))


VERSION = _int(0, MAX_VERSION)
COUNT = _int(0, MAX_COUNT)
_SOURCE_REQUIRED = {"project": _name, "name": _name, "version": VERSION, "digest": _digest, "manifest": _digest}


def _qualified(v: Any) -> bool:
    """``project/name``."""
    return isinstance(v, str) and v.count("/") == 1 and all(_name(p) for p in v.split("/"))


def _component(v: Any) -> bool:
    """An entry of ``version_created.components``: where it sits and which version it is."""
    return (isinstance(v, dict) and isinstance(v.get("path"), str) and bool(v["path"]) and _name(v.get("project"))
            and _name(v.get("name")) and VERSION(v.get("version")) and _digest(v.get("digest")))


def _remote_ref(v: Any) -> bool:
    """A version on another remote: its remote's URL and ``project/name:vN`` there."""
    return (isinstance(v, dict) and isinstance(v.get("remote"), str) and isinstance(v.get("ref"), str)
            and _or_null(_digest)(v.get("digest")))


def _origin(v: Any) -> bool:
    """Where a copy came from: the source remote's URL and the version there."""
    return (isinstance(v, dict) and isinstance(v.get("remote"), str) and _name(v.get("project"))
            and _name(v.get("name")) and VERSION(v.get("version")) and _digest(v.get("digest"))
            and _or_null(_time)(v.get("created")) and _or_null(_str)(v.get("run")))


def _source(v: Any) -> bool:
    return (isinstance(v, dict) and all(k in v and ok(v[k]) for k, ok in _SOURCE_REQUIRED.items())
            and _or_null(_str)(v.get("artifact_type")))


#: every event: required fields, then optional ones
COMMON_REQUIRED: dict[str, Check] = {"seq": _int(0, MAX_SEQ), "type": _str, "time": _time}
COMMON_OPTIONAL: dict[str, Check] = {"actor": _actor}

#: type -> (required, optional)
FIELDS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    # artifact logs
    "version_created": ({"version": VERSION, "digest": _digest, "manifest": _digest, "size": COUNT, "files": COUNT,
                         "artifact_type": _name},
                        {"description": _or_null(_str), "aliases": _list(_alias), "metadata": _obj,
                         "expires": _or_null(_time), "inputs": _list(_str), "components": _list(_component),
                         "origin": _or_null(_origin), "remote_inputs": _list(_remote_ref)}),
    "version_reused": ({"version": VERSION}, {"aliases": _list(_alias), "metadata": _obj,
                                              "description": _or_null(_str)}),
    "description_set": ({"version": VERSION, "description": _or_null(_str)}, {}),
    "artifact_renamed": ({"from": _qualified, "to": _qualified}, {}),
    "alias_set": ({"alias": _alias, "version": VERSION}, {}),
    "alias_removed": ({"alias": _str}, {}),
    "metadata_set": ({"version": VERSION, "entries": _obj}, {}),
    "ttl_set": ({"version": VERSION, "expires": _or_null(_time)}, {"reason": _or_null(_str)}),
    "version_deleted": ({"version": VERSION}, {"reason": _or_null(_str)}),
    "used": ({"version": VERSION}, {"run": _or_null(_str)}),
    "linking": ({"version": VERSION, "registry": _name, "collection": _name}, {}),  # ordered against deletion (§5.3)
    # registry and collection logs
    "registry_created": ({}, {"accept_types": _or_null(_list(_name)), "description": _or_null(_str)}),
    "linked": ({"version": VERSION, "source": _source}, {"aliases": _list(_alias)}),
    "unlinked": ({"version": VERSION}, {}),
    # run logs
    "run_started": ({}, {"attributes": _obj}),
    "input": ({"project": _name, "name": _name, "version": VERSION},
              {"digest": _or_null(_digest), "via": _str, "requested": _str, "command": _list(_str),
               "attributes": _obj}),
    "output": ({"project": _name, "name": _name, "version": VERSION},
               {"digest": _or_null(_digest), "created": lambda v: isinstance(v, bool), "command": _list(_str),
                "attributes": _obj}),
    "run_finished": ({}, {"status": _or_null(_str)}),
    # project settings logs
    "default_ttl_set": ({"seconds": _or_null(_int(1, MAX_COUNT))}, {}),
    # project catalogues (§5.10)
    "artifact_touched": ({"name": _name, "touch": _str}, {}),
    "artifacts_summarised": ({"artifacts": _list(_obj)}, {"resolves": _obj}),
}

#: the types that create a number in their log (version numbers of artifacts and collections)
NUMBERING = frozenset({"version_created", "linked"})


def check(ev: dict[str, Any], known: frozenset[str]) -> None:
    """Raise ValueError naming the first field that breaks §5.6 (for a type in ``known``: the
    types the log's fold interprets; others get the common checks only)."""
    required, optional = FIELDS.get(ev.get("type"), ({}, {})) if ev.get("type") in known else ({}, {})
    for fields, needed in ((COMMON_REQUIRED, True), (required, True), (COMMON_OPTIONAL, False), (optional, False)):
        for name, ok in fields.items():
            if name not in ev:
                if needed:
                    raise ValueError(f"{ev.get('type')} lacks the required field {name!r}")
                continue
            if not ok(ev[name]):
                raise ValueError(f"{ev.get('type')} has an invalid {name!r}: {str(ev[name])[:60]!r}")
