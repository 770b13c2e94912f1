"""Hostile input: parsers and loaders fail only with the documented error classes, and crafted
manifests and events are refused before anything is written.

The documented error classes (docs/reliability.md):

* text a person typed (references, durations, metadata) -> :class:`artcli.errors.UsageError`
* bytes that came from a remote (manifests, pack indexes, paths inside manifests)
  -> :class:`artcli.errors.IntegrityError`
* event logs never raise: an unparsable event is ``None`` (``eventlog._parse``) and ``fold``
  skips invalid events with a warning naming the object, leaving a well-typed state.

Fuzz budgets: ``FAST`` hypothesis examples per property in the normal suite, ``SLOW`` under
``make test-slow``; an atheris run of the same loaders is in the slow form when atheris installs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artcli import canonical, clock, durations, layout, manifest, packs
from artcli.errors import IntegrityError, UsageError
from artcli.eventlog import _parse
from artcli.hashing import digest_bytes
from artcli.model import DIGEST_RE, MAX_ENTRY_SIZE, NAME_RE, Entry, Manifest, Ref, parse_ref, safe_relpath
from artcli.state.artifact import fold, version_summary
from artcli.state.collection import fold_collection
from artcli.store import open_store

from clihelp import Cli, make_tree

FAST = 150
SLOW = 2000
ATHERIS_RUNS = 300_000
BUDGETS = [pytest.param(FAST, id="fast"), pytest.param(SLOW, id="slow", marks=pytest.mark.slow)]
HEX = st.text("0123456789abcdef", min_size=64, max_size=64)


def run_property(strategy: st.SearchStrategy[Any], check: Callable[[Any], None], examples: int) -> None:
    """Run ``check`` on ``examples`` values drawn from ``strategy`` (no deadline: CI is busy)."""

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(strategy)
    def prop(value: Any) -> None:
        check(value)

    prop()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# texts that look like the real thing more often than uniform text would
REFISH = st.one_of(
    st.text(max_size=40),
    st.text("abcv0123456789:/._-registry ", max_size=40),
    st.builds(lambda a, b, c: f"{a}/{b}:{c}", st.text(max_size=10), st.text(max_size=10), st.text(max_size=10)),
)


# -- references ----------------------------------------------------------------------------
def _check_ref(text: str) -> None:
    try:
        ref = parse_ref(text, "default")
    except UsageError as exc:
        assert "\n" not in str(exc).strip() or "\n" in text
        return
    assert isinstance(ref, Ref)
    assert NAME_RE.fullmatch(ref.project) and NAME_RE.fullmatch(ref.name)
    assert ref.version is None or ref.version >= 0
    assert ref.alias is None or (NAME_RE.fullmatch(ref.alias) and ref.alias != "latest")
    assert parse_ref(str(ref), "default") == ref  # what we print parses back to the same thing


@pytest.mark.parametrize("examples", BUDGETS)
def test_parse_ref_only_raises_usage_error(examples: int) -> None:
    run_property(REFISH, _check_ref, examples)


# -- durations (artcli/durations.py) -------------------------------------------------------
def _check_duration(text: str) -> None:
    try:
        seconds = durations.parse_duration(text)
    except UsageError:
        pass
    else:
        assert isinstance(seconds, int) and seconds >= 0
        assert durations.parse_duration(durations.format_duration(seconds)) == seconds
    now = datetime(2026, 1, 1, tzinfo=clock.UTC)
    try:
        when = durations.parse_expiry(text, now)
    except UsageError:
        return
    assert when is None or (when.tzinfo is not None and when > now)


DURATIONISH = st.one_of(st.text(max_size=30), st.text("0123456789wdhms", max_size=30),
                        st.from_regex(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}([+-]\d{2}:\d{2}|Z)?)?", fullmatch=True))


@pytest.mark.parametrize("examples", BUDGETS)
def test_durations_only_raise_usage_error(examples: int) -> None:
    run_property(DURATIONISH, _check_duration, examples)


@pytest.mark.parametrize(("text", "message"), [
    ("0001-01-01T00:00:00+01:00", "invalid date"),  # year 0 in UTC
    ("9999-12-31T23:59:59-05:00", "invalid date"),  # year 10000 in UTC
    ("999999999w999999999d", "too far in the future"),
    ("", "invalid TTL"),
    ("1.5d", "invalid TTL"),
    ("3 days", "invalid TTL"),
    ("none", "invalid TTL"),
    ("0s", "not in the future"),
    ("2000-01-01", "not in the future"),
])
def test_duration_edge_cases_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        durations.parse_expiry(text, datetime(2026, 1, 1, tzinfo=clock.UTC))
    assert message in str(info.value) and repr(text) in str(info.value)


def test_duration_edge_cases_that_parse() -> None:
    now = datetime(2026, 1, 1, tzinfo=clock.UTC)
    assert durations.parse_expiry("never", now) is None
    assert durations.parse_expiry("999999999s", now) == datetime(2057, 9, 9, 1, 46, 39, tzinfo=clock.UTC)
    assert durations.parse_expiry("2030-01-01T00:00:00-05:00", now) == datetime(2030, 1, 1, 5, tzinfo=clock.UTC)
    assert durations.parse_duration("999999999w") == 999999999 * 604800


# -- metadata values (artcli/mdvalues.py) --------------------------------------------------
def _check_assignment(text: str) -> None:
    from artcli import mdvalues

    try:
        key, entry = mdvalues.parse_assignment(text)
    except UsageError:
        return
    assert mdvalues.check_key(key) == key
    assert set(entry) == {"value", "type"} and entry["type"] in (None, *mdvalues.TYPES)
    assert len(canonical.dumps(entry["value"])) <= mdvalues.MAX_VALUE_BYTES  # storable, canonical
    mdvalues.display(entry)
    mdvalues.raw(entry["value"])


ASSIGNMENTS = st.one_of(
    st.text(max_size=60),
    st.builds(lambda k, t, v: f"{k}{t}={v}", st.text(max_size=12),
              st.sampled_from(["", ":size", ":uri", ":path", ":dtype", ":str", ":json", ":bogus"]),
              st.one_of(st.text(max_size=30), JSON.map(json.dumps))),
)


@pytest.mark.parametrize("examples", BUDGETS)
def test_metadata_assignments_only_raise_usage_error(examples: int) -> None:
    run_property(ASSIGNMENTS, _check_assignment, examples)


def _check_flatten(obj: Any) -> None:
    from artcli import mdvalues

    try:
        entries = mdvalues.flatten(obj)
    except UsageError:
        return
    for key, entry in entries.items():
        mdvalues.check_key(key)
        canonical.dumps(entry)
        mdvalues.display(entry)


@pytest.mark.parametrize("examples", BUDGETS)
def test_metadata_json_files_only_raise_usage_error(examples: int) -> None:
    run_property(JSON | st.dictionaries(st.text(max_size=12), JSON, max_size=5), _check_flatten, examples)


def test_metadata_hostile_values() -> None:
    from artcli import mdvalues

    for text in ["a=" + "[" * 100_000, "a:json=" + "[" * 100_000, "a=1e400", "a:size=1e400GB", "a:size=-1",
                 "a:uri=https://u:p@h/x", "a:uri=s3://b/k?X-Amz-Signature=abc", "a:dtype=" + "x" * 10_000,
                 "a=" + "x" * (2 << 20), "\x00=1", "a.=1", ".a=1"]:
        try:
            _key, entry = mdvalues.parse_assignment(text)
        except UsageError:
            continue
        canonical.dumps(entry)


# -- paths ---------------------------------------------------------------------------------
def _check_path(path: str) -> None:
    try:
        safe_relpath(path)
    except IntegrityError:
        return
    root = "/srv/root"
    joined = os.path.normpath(os.path.join(root, path))
    assert joined.startswith(root + "/"), path
    assert ".." not in path.split("/") and not path.startswith("/") and "\\" not in path
    path.encode("utf-8")  # storable: no lone surrogates


PATHISH = st.one_of(st.text(max_size=60), st.text("./\\:aC\x00\n", max_size=30),
                    st.lists(st.sampled_from(["a", "..", ".", "", "C:", "é", "\ud800"]), max_size=8).map("/".join))


@pytest.mark.parametrize("examples", BUDGETS)
def test_manifest_paths_never_escape(examples: int) -> None:
    run_property(PATHISH, _check_path, examples)


# -- manifests -----------------------------------------------------------------------------
def _decode_any(data: bytes) -> None:
    """Any bytes, as their own digest (so the digest check passes and the parser is reached)."""
    try:
        man = manifest.decode(data, digest_bytes(data))
    except IntegrityError:
        return
    paths = [e.path for e in man.entries]
    assert paths == sorted(set(paths))
    for e in man.entries:
        safe_relpath(e.path)
        assert 0 <= e.size <= MAX_ENTRY_SIZE
        assert e.digest is None or DIGEST_RE.fullmatch(e.digest)


def _decompress_any(blob: bytes) -> None:
    try:
        manifest.decompress(blob, "fuzz")
    except IntegrityError:
        pass


ENTRY = st.builds(
    lambda path, size, digest, pack: Entry(path, size, digest, pack, 0 if pack else None),
    st.from_regex(r"[a-z]{1,6}(/[a-z0-9._-]{1,6}){0,3}", fullmatch=True), st.integers(0, 2**40), HEX,
    st.none() | HEX,
)
VALID_MANIFEST = st.lists(ENTRY, max_size=6, unique_by=lambda e: e.path).map(
    lambda es: manifest.encode(Manifest(es))[1])


@st.composite
def mutated_manifest(draw: st.DrawFn) -> bytes:
    """A valid manifest with one structured change: a field replaced/removed, a line dropped,
    duplicated, swapped or replaced by random JSON or bytes."""
    lines = draw(VALID_MANIFEST).split(b"\n")[:-1]
    i = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["field", "drop", "dup", "swap", "json", "bytes", "trailing"]))
    if how == "field":
        obj = json.loads(lines[i])
        key = draw(st.sampled_from([*obj.keys(), "pack", "offset", "ref", "extra"]))
        if draw(st.booleans()):
            obj.pop(key, None)
        else:
            obj[key] = draw(JSON | st.sampled_from(["../x", "/abs", "C:/x", "a/../../b", "", 2**60, -1]))
        lines[i] = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    elif how == "drop":
        del lines[i]
    elif how == "dup":
        lines.insert(i, lines[i])
    elif how == "swap":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif how == "json":
        lines[i] = json.dumps(draw(JSON)).encode()
    elif how == "bytes":
        lines[i] = draw(st.binary(max_size=40))
    else:
        return b"\n".join(lines)  # no final newline: truncated
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("examples", BUDGETS)
def test_manifest_decode_random_bytes(examples: int) -> None:
    run_property(st.binary(max_size=300), _decode_any, examples)


@pytest.mark.parametrize("examples", BUDGETS)
def test_manifest_decode_mutations(examples: int) -> None:
    run_property(mutated_manifest(), _decode_any, examples)


@pytest.mark.parametrize("examples", BUDGETS)
def test_manifest_decompress_random_bytes(examples: int) -> None:
    run_property(st.binary(max_size=200) | st.binary(max_size=200).map(lambda b: b"\x1f\x8b\x08\x00" + b),
                 _decompress_any, examples)


def test_manifest_round_trip_and_hostile_shapes() -> None:
    entries = [Entry("a/b.txt", 3, "a" * 64), Entry("c", 0, "b" * 64, "c" * 64, 10)]
    digest, data = manifest.encode(Manifest(entries))
    assert manifest.decode(data, digest).entries == entries
    header = manifest.header_line()
    deep = b"[" * 100_000 + b"]" * 100_000
    for bad in [header + deep + b"\n", deep + b"\n", header + b'{"path":"x","size":1e400,"digest":"' + b"a" * 64 + b'"}\n',
                header + b'{"path":"' + b"a/" * 10_000 + b'f","size":1,"digest":"' + b"a" * 64 + b'"}\n',
                header + b'{"path":"\\ud800","size":1,"digest":"' + b"a" * 64 + b'"}\n', b"", b"\n"]:
        with pytest.raises(IntegrityError):
            manifest.decode(bad, digest_bytes(bad))
    with pytest.raises(IntegrityError, match="larger than"):  # a zip bomb stops at the limit
        manifest.MAX_MANIFEST_BYTES, old = 1 << 20, manifest.MAX_MANIFEST_BYTES
        try:
            manifest.decompress(manifest.compress(b"\n" * (2 << 20)), "bomb")
        finally:
            manifest.MAX_MANIFEST_BYTES = old


# -- pack indexes --------------------------------------------------------------------------
PACK = "e" * 64


def _decode_index_any(data: bytes) -> None:
    try:
        members = packs.decode_index(PACK, data)
    except IntegrityError:
        return
    for d, o, n in members:
        assert DIGEST_RE.fullmatch(d) and isinstance(o, int) and isinstance(n, int) and o >= 0 and n >= 0


@st.composite
def mutated_index(draw: st.DrawFn) -> bytes:
    members = draw(st.lists(st.tuples(HEX, st.integers(0, 2**40), st.integers(0, 2**20)), max_size=5))
    lines = packs.encode_index(PACK, members).split(b"\n")[:-1]
    i = draw(st.integers(0, len(lines) - 1))
    obj = json.loads(lines[i])
    obj[draw(st.sampled_from(["digest", "offset", "size", "pack", "artcli"]))] = draw(JSON)
    lines[i] = json.dumps(obj).encode() if draw(st.booleans()) else draw(st.binary(max_size=30))
    return b"\n".join(lines) + b"\n"


@pytest.mark.parametrize("examples", BUDGETS)
def test_pack_index_decode(examples: int) -> None:
    run_property(st.binary(max_size=200) | mutated_index(), _decode_index_any, examples)


# -- events and the fold -------------------------------------------------------------------
TIME = "2026-01-01T00:00:00.000000Z"
SOURCE = {"project": "p", "name": "n", "version": 0, "digest": "a" * 64, "manifest": "b" * 64}
# a valid event of each type (fields besides seq/time/actor); mutations start from these
TEMPLATES: dict[str, dict[str, Any]] = {
    "version_created": {"version": 0, "digest": "a" * 64, "manifest": "b" * 64, "size": 1, "files": 1,
                        "artifact_type": "dataset", "description": None, "aliases": ["best"], "metadata": {}},
    "version_reused": {"version": 0, "aliases": ["prod"], "metadata": {"k": {"value": 1, "type": None}}},
    "alias_set": {"alias": "best", "version": 1}, "alias_removed": {"alias": "best"},
    "metadata_set": {"version": 0, "entries": {"k": {"value": 2, "type": None}}},
    "ttl_set": {"version": 0, "expires": TIME}, "version_deleted": {"version": 1, "reason": "x"},
    "used": {"version": 0, "run": "r"}, "linked": {"version": 0, "source": SOURCE, "aliases": ["prod"]},
    "unlinked": {"version": 0}, "default_ttl_set": {"seconds": 60}, "from_the_future": {"anything": 1},
}
HOSTILE: list[Any] = ["../../../victim", "garbage", "0001-01-01T00:00:00+01:00", -1, 10**30, 2**63, True, 1.5,
                      [], {}, ["x"], {"run": 5}, None, ""]
HOSTILE_VALUES = st.sampled_from(HOSTILE)


@st.composite
def event_logs(draw: st.DrawFn) -> list[tuple[str, dict[str, Any] | None]]:
    """Logs of valid events with a few fields replaced or removed, unparsable events (None) and
    arbitrary objects with a known type."""
    out: list[tuple[str, dict[str, Any] | None]] = []
    for seq in range(draw(st.integers(0, 8))):
        key = f"events/{seq:012d}.json"
        kind = draw(st.integers(0, 9))
        if kind == 0:
            out.append((key, None))
            continue
        etype = draw(st.sampled_from(sorted(TEMPLATES)))
        if kind == 1:
            ev = draw(st.dictionaries(st.text(max_size=8), JSON, max_size=5))
        else:
            ev = {**TEMPLATES[etype], "seq": seq, "time": TIME, "actor": {"user": "u", "host": "h", "run": "r"}}
            ev["version"] = draw(st.integers(0, 2)) if "version" in ev else None
            for field in draw(st.lists(st.sampled_from([*sorted(ev), "extra"]), max_size=2, unique=True)):
                if draw(st.integers(0, 3)) == 0:
                    ev.pop(field, None)
                else:
                    ev[field] = draw(HOSTILE_VALUES | JSON)
            if ev.get("version", 0) is None:
                ev.pop("version")
        ev["type"] = etype
        out.append((key, ev))
    return out


def _check_fold(events: list[tuple[str, dict[str, Any] | None]]) -> None:
    state = fold("p", "n", events)
    for n, vs in state.versions.items():
        assert n == vs.version and isinstance(n, int) and n >= 0
        assert isinstance(vs.size, int) and isinstance(vs.files, int) and DIGEST_RE.fullmatch(vs.digest)
        assert vs.expires is None or clock.parse_iso(vs.expires)
        assert all(isinstance(m, dict) and "value" in m for m in vs.metadata.values())
        assert vs.run is None or isinstance(vs.run, str)
    assert all(isinstance(a, str) and v in state.versions for a, v in state.aliases.items())
    assert state.latest is None or state.latest in state.versions
    live = state.live_versions()
    state.latest_live()
    for vs in live:
        json.dumps(version_summary(state, vs))  # what show/ls print
        state.aliases_of(vs.version)
    coll = fold_collection("models", "c", events)
    coll.live_links()
    coll.latest_live()


@pytest.mark.parametrize("examples", BUDGETS)
def test_fold_never_raises_and_keeps_a_well_typed_state(examples: int) -> None:
    run_property(event_logs(), _check_fold, examples)


@pytest.mark.parametrize("etype", sorted(TEMPLATES))
def test_fold_regressions(etype: str) -> None:
    """Each field of each event type set to each hostile value, after a valid v0 (the slow fuzz
    found ``"actor": ["x"]`` crashing the collection fold)."""
    first = ("events/000000000000.json", {**TEMPLATES["version_created"], "seq": 0, "time": TIME,
                                          "type": "version_created"})
    for field in [*TEMPLATES[etype], "actor", "time", "seq", "expires"]:
        for value in HOSTILE:
            ev = {**TEMPLATES[etype], "seq": 1, "time": TIME, "actor": {"run": "r"}, "type": etype, field: value}
            _check_fold([first, ("events/000000000001.json", ev)])


def _check_parse(data: bytes) -> None:
    ev = _parse(data)
    assert ev is None or (isinstance(ev, dict) and isinstance(ev.get("type"), str))
    if ev is not None:
        fold("p", "n", [("events/000000000000.json", ev)])


@pytest.mark.parametrize("examples", BUDGETS)
def test_event_parse_random_bytes(examples: int) -> None:
    run_property(st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()), _check_parse, examples)


def test_event_parse_hostile_shapes() -> None:
    for data in [b"[" * 100_000, b'{"type":"x","a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", b'{"type":1e400}',
                 b'{"type":"version_created","version":NaN}', b"\xff\xfe", b'{"type":"x"}' * 2]:
        assert _parse(data) is None


# -- crafted remotes: refused before any write ---------------------------------------------
def _line(obj: dict[str, Any]) -> bytes:
    # ensure_ascii keeps lone surrogates writable; the manifest digest is of whatever bytes we write
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def plant(cli: Cli, lines: list[dict[str, Any]] | bytes, name: str = "evil", event: dict[str, Any] | None = None) -> str:
    """Store a manifest made of ``lines`` and a version_created event naming it, as a hostile
    remote would; returns the manifest digest."""
    store = open_store(cli.remote or "")
    data = lines if isinstance(lines, bytes) else manifest.header_line() + b"".join(_line(o) for o in lines)
    digest = digest_bytes(data)
    store.put(layout.manifest_key(digest), manifest.compress(data))
    sizes = [o.get("size") for o in lines] if not isinstance(lines, bytes) else [1]
    total = sum(x for x in sizes if isinstance(x, int))  # what the manifest holds, as a writer would claim
    content = digest  # §3.1: the content digest drops pack locations
    if not isinstance(lines, bytes):
        try:
            content = digest_bytes(manifest.header_line() + b"".join(
                canonical.dumps({k: v for k, v in o.items() if k not in ("pack", "offset")}) + b"\n" for o in lines))
        except (UnicodeEncodeError, ValueError, TypeError):  # lines no reader gets past anyway
            pass
    ev = {"type": "version_created", "version": 0, "digest": content, "manifest": digest, "size": total,
          "files": len(sizes), "artifact_type": "dataset", "seq": 0, "time": "2026-01-01T00:00:00.000000Z",
          "actor": {"user": "x", "host": "y", "run": None}, **(event or {})}
    store.put(layout.event_key(layout.artifact_prefix("default", name), 0), canonical.dumps(ev))
    if not store.exists(layout.MARKER_KEY):
        store.put(layout.MARKER_KEY, canonical.dumps({"format": layout.FORMAT, "hash": layout.HASH}))
    return digest


def _nothing_written(target: Path, outside: Path) -> None:
    assert not target.exists() or not any(target.rglob("*")), sorted(target.rglob("*"))
    assert sorted(p.name for p in outside.iterdir()) == ["target", "victim.txt"]
    assert (outside / "victim.txt").read_bytes() == b"keep me\n"


@pytest.fixture
def arena(tmp_path: Path) -> tuple[Path, Path]:
    """``outside/`` holds a file an escape would overwrite, and the download target."""
    outside = tmp_path / "arena"
    outside.mkdir()
    (outside / "victim.txt").write_bytes(b"keep me\n")
    target = outside / "target"
    target.mkdir()
    return outside, target


D1 = digest_bytes(b"1")
HOSTILE_PATHS = [
    "../victim.txt", "a/../../victim.txt", "/abs/victim.txt", str(Path("/tmp/victim.txt")), "C:/victim.txt",
    "c:victim.txt", "C:\\victim.txt", "..\\victim.txt", "a/./b", "a//b", "./a", "a/", "", "a\x00b", "a\nb",
    "\ud800", "a/" * 10_000 + "f", "a/" * 300 + "f", "x" * 256, "y" * 5000,
]


@pytest.mark.parametrize("path", HOSTILE_PATHS, ids=lambda p: repr(p)[:24])
def test_hostile_path_refused_before_any_write(cli: Cli, arena: tuple[Path, Path], path: str) -> None:
    outside, target = arena
    plant(cli, [{"digest": D1, "path": "aaa-first.txt", "size": 1}, {"digest": D1, "path": path, "size": 1}])
    r = cli("download", "evil", "--root", str(target))
    assert r.code == 4, r.err
    assert "manifest" in r.err and "Traceback" not in r.err and len(r.err.strip().splitlines()) <= 2
    _nothing_written(target, outside)


@pytest.mark.parametrize("entry", [
    {"size": MAX_ENTRY_SIZE + 1}, {"size": -1}, {"size": 1.5}, {"size": True}, {"digest": "../x"},
    {"pack": "../x", "offset": 0}, {"pack": "e" * 64, "offset": -5}, {"ref": "s3://b/k"}, {"digest": None},
])
def test_hostile_entry_fields_refused(cli: Cli, arena: tuple[Path, Path], entry: dict[str, Any]) -> None:
    outside, target = arena
    plant(cli, [{"digest": D1, "path": "a.txt", "size": 1}, {"digest": D1, "path": "b.txt", "size": 1, **entry}])
    r = cli("download", "evil", "--root", str(target))
    assert r.code == 4, r.err
    _nothing_written(target, outside)


def test_huge_sizes_are_caught_by_verification(cli: Cli, arena: tuple[Path, Path], tmp_path: Path) -> None:
    """Sizes up to 2^50 are allowed by the format; a lie about one is caught before the target is touched."""
    outside, target = arena
    make_tree(tmp_path / "d", {"small.txt": b"s", "big.bin": os.urandom((1 << 20) + 1)})
    cli.ok("log", "ds", str(tmp_path / "d"))
    store = open_store(cli.remote or "")
    pack = next(i.key for i in store.list(layout.PACKS_PREFIX) if not i.key.endswith(".idx"))
    big = digest_bytes((tmp_path / "d" / "big.bin").read_bytes())
    small = digest_bytes(b"s")
    for i, entry in enumerate([
        {"digest": big, "size": MAX_ENTRY_SIZE},  # loose blob, claimed 1 PiB
        {"digest": small, "size": MAX_ENTRY_SIZE, "pack": layout.digest_from_key(pack), "offset": 0},
        {"digest": small, "size": 1, "pack": layout.digest_from_key(pack), "offset": MAX_ENTRY_SIZE},
    ]):
        plant(cli, [{"path": "f.bin", **entry}], name=f"huge{i}")
        r = cli("download", f"huge{i}", "--root", str(target))
        assert r.code == 4, r.err
        assert "f.bin" in r.err
        _nothing_written(target, outside)


def test_enormous_manifest_with_one_bad_line_writes_nothing(cli: Cli, arena: tuple[Path, Path]) -> None:
    """50,000 good entries, then one that escapes: the whole manifest is refused before any write."""
    outside, target = arena
    good = b"".join(_line({"digest": D1, "path": f"f/{i:06d}", "size": 1}) for i in range(50_000))
    plant(cli, manifest.header_line() + good + _line({"digest": D1, "path": "../victim.txt", "size": 1}),
          event={"files": 50_001, "size": 50_001})  # what it holds: within the bound the event sets
    r = cli("download", "evil", "--root", str(target))
    assert r.code == 4 and "unsafe path" in r.err
    _nothing_written(target, outside)


def test_file_and_folder_clash_deep(cli: Cli, arena: tuple[Path, Path]) -> None:
    outside, target = arena
    plant(cli, [{"digest": D1, "path": "a/b", "size": 1}, {"digest": D1, "path": "a/b.txt", "size": 1},
                {"digest": D1, "path": "a/b/c/d", "size": 1}])
    r = cli("download", "evil", "--root", str(target))
    assert r.code == 4 and "both a file and a folder" in r.err
    _nothing_written(target, outside)


def test_symlinks_planted_in_the_target(cli: Cli, arena: tuple[Path, Path], tmp_path: Path) -> None:
    """A symlinked folder anywhere on the way is refused; a symlink at a file's own path is
    replaced by the file, and what it pointed to is left alone."""
    outside, target = arena
    make_tree(tmp_path / "d", {"sub/deeper/f.txt": b"inside\n", "g.txt": b"g\n"})
    cli.ok("log", "nested", str(tmp_path / "d"))
    (target / "sub").mkdir()
    (target / "sub" / "deeper").symlink_to(outside)
    r = cli("download", "nested", "--root", str(target))
    assert r.code == 4 and "symlink" in r.err
    assert sorted(p.name for p in outside.iterdir()) == ["target", "victim.txt"]
    assert not (target / "g.txt").exists(), "refused before any write"
    (target / "sub" / "deeper").unlink()
    (target / "g.txt").symlink_to(outside / "victim.txt")
    cli.ok("download", "nested", "--root", str(target))
    assert not (target / "g.txt").is_symlink() and (target / "g.txt").read_bytes() == b"g\n"
    assert (outside / "victim.txt").read_bytes() == b"keep me\n"


@pytest.mark.parametrize("event", [
    {"manifest": "../../../../victim"}, {"manifest": "/etc/passwd"}, {"version": -1}, {"version": "0"},
    {"version": 10**30}, {"digest": ["x"]}, {"time": "garbage"}, {"actor": ["x"]}, {"aliases": "best"},
    {"expires": "0001-01-01T00:00:00+01:00"}, {"metadata": [1, 2]},
])
def test_crafted_events_are_skipped_and_never_followed(cli: Cli, arena: tuple[Path, Path],
                                                       event: dict[str, Any]) -> None:
    outside, target = arena
    plant(cli, [{"digest": D1, "path": "a.txt", "size": 1}], event=event)
    r = cli("download", "evil", "--root", str(target))
    assert r.code in (3, 4), r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    assert "000000000000.json" in r.err  # the warning names the skipped object
    _nothing_written(target, outside)
    assert cli("ls", "--json").code == 0  # the rest of the store stays readable


def test_manifest_digest_from_an_event_never_names_a_path(cli: Cli, tmp_path: Path) -> None:
    """The cache must not read or delete files named by a crafted manifest digest."""
    from artcli.repo import Repo

    cache = Path(cli.env["ARTCLI_CACHE_DIR"])
    victim = cache / "victim.jsonl"
    cache.mkdir(parents=True)
    victim.write_bytes(b"keep me\n")
    old = dict(os.environ)
    os.environ.update(cli.env)
    try:
        repo = Repo.open()
        for bad in ["../victim", "../../victim", "/etc/passwd", "A" * 64, "a" * 63]:
            with pytest.raises(IntegrityError):
                repo.load_manifest(bad)
        repo.close()
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert victim.read_bytes() == b"keep me\n"


# -- atheris (slow form, optional) ---------------------------------------------------------
ATHERIS_HARNESS = textwrap.dedent('''
    import sys
    import atheris
    with atheris.instrument_imports():
        from artcli import manifest, packs
        from artcli.errors import IntegrityError
        from artcli.eventlog import _parse
        from artcli.hashing import digest_bytes
        from artcli.state.collection import fold_collection
        from artcli.state.artifact import fold

    PACK = "e" * 64
    PREFIXES = [b"", manifest.header_line(), packs.encode_index(PACK, []), b'{"type":"version_created",',
                b'{"type":"linked","source":{']

    def one(data: bytes) -> None:
        if not data:
            return
        data = PREFIXES[data[0] % len(PREFIXES)] + data[1:]  # most inputs start past the header
        try:
            manifest.decode(data, digest_bytes(data))
        except IntegrityError:
            pass
        try:
            packs.decode_index(PACK, data)
        except IntegrityError:
            pass
        try:
            manifest.decompress(data, "fuzz")
        except IntegrityError:
            pass
        ev = _parse(data)
        if ev is not None:
            fold("p", "n", [("k", ev)])
            fold_collection("r", "c", [("k", ev)])

    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
''')
ATHERIS_DICT = [b'"path":', b'"size":', b'"digest":', b'"pack":', b'"offset":', b'"ref":', b'"uri":', b'"version":',
                b'"actor":', b'"time":', b'"seq":', b'"aliases":', b'"source":', b'"expires":', b'"..', b'"/', b'"C:',
                b'"' + b"a" * 64 + b'"', b"1e400", b"[[[[", b"\\u0000", b"\\ud800", b'"2026-01-01T00:00:00Z"']


@pytest.mark.slow
def test_atheris_fuzz_of_the_loaders(tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is not installed (pip install atheris; needs clang)")
    harness = tmp_path / "fuzz_loaders.py"
    harness.write_text(ATHERIS_HARNESS)
    words = tmp_path / "json.dict"
    words.write_bytes(b"".join(b'"' + "".join(f"\\x{b:02x}" for b in w).encode() + b'"\n' for w in ATHERIS_DICT))
    r = subprocess.run([sys.executable, str(harness), f"-runs={ATHERIS_RUNS}", "-max_len=4096", "-seed=1",
                        f"-dict={words}"], capture_output=True, text=True, timeout=1800, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"Done {ATHERIS_RUNS} runs" in r.stderr
