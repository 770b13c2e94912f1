"""Golden bytes of every object kind artcli writes (docs/format.md): a producer that changes one
byte fails here.

The corpus generator (tests/format_corpus/generate.py) drives artcli's real command line with a
pinned clock, user, host and writer version; regenerating every case must give the committed
``remote/`` trees byte for byte: the marker, manifests (compared decompressed: gzip's output is
not part of the format), packs and their indexes, loose blobs, and the events of artifact,
settings, registry, collection and run logs — every event type (checked below). Leases are
deleted by their holders, so they are pinned separately in ``format_corpus/golden/``.
"""

from __future__ import annotations

import gzip
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from artcli import canonical

CORPUS = Path(__file__).resolve().parent / "format_corpus"
GOLDEN = CORPUS / "golden"
sys.path.insert(0, str(CORPUS))
import generate  # noqa: E402

EVENT_TYPES = {  # every type a revision-2 writer produces, by the log it lives in
    "artifact": {"version_created", "version_reused", "alias_set", "alias_removed", "metadata_set", "ttl_set",
                 "version_deleted", "used", "linking", "description_set", "artifact_renamed"},
    "settings": {"default_ttl_set"},
    "registry": {"registry_created"},
    "collection": {"linked", "unlinked", "alias_set", "alias_removed"},
    "run": {"run_started", "input", "output", "run_finished"},
}


def _log_kind(key: str) -> str:
    if key.startswith("runs/"):
        return "run"
    if "/collections/" in key:
        return "collection"
    if key.startswith("registries/"):
        return "registry"
    return "settings" if "/settings/" in key else "artifact"


def _tree(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name != ".keep":
            data = p.read_bytes()
            out[p.relative_to(root).as_posix()] = gzip.decompress(data) if p.name.endswith(".gz") else data
    return out


def test_regenerating_gives_the_committed_bytes(tmp_path: Path) -> None:
    """One test for all cases: generating them once is the cost (a few seconds)."""
    generate.generate(list(generate.CASES), tmp_path)
    for case in sorted(generate.CASES):
        want = _tree(CORPUS / case / "remote")
        got = _tree(tmp_path / case / "remote")
        assert sorted(got) == sorted(want), f"{case}: other objects than committed"
        changed = [k for k in want if got[k] != want[k]]
        assert not changed, f"{case}: bytes changed in {changed[:5]}: {got[changed[0]][:300]!r}"


def test_the_golden_remotes_hold_every_event_type() -> None:
    seen: dict[str, set[str]] = {k: set() for k in EVENT_TYPES}
    for case in ("basic", "latest-by-number", "curation"):  # remotes written by artcli alone, no edits
        for p in (CORPUS / case / "remote").rglob("events/*.json"):
            key = p.relative_to(CORPUS / case / "remote").as_posix()
            seen[_log_kind(key)].add(json.loads(p.read_bytes())["type"])
    assert seen == EVENT_TYPES


def test_golden_remote_objects_are_canonical() -> None:
    """Every JSON object a writer made is canonical JSON (JSON Lines for manifests and indexes)."""
    root = CORPUS / "basic" / "remote"
    for key, data in _tree(root).items():
        if key.startswith(("blobs/", "packs/")) and not key.endswith(".idx"):
            continue
        lines = data.split(b"\n")
        if key.endswith((".idx", ".jsonl.gz")):
            assert lines[-1] == b"", key
            lines = lines[:-1]
        for line in lines:
            assert canonical.dumps(canonical.loads(line)) == line, key


LEASE_TIME = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("role", ["writers", "running"])
def test_lease_golden_bytes(role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from artcli import layout, leases
    from artcli.store.memory import MemoryStore

    monkeypatch.setattr(leases, "_wall", lambda: LEASE_TIME)
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=0x0123456789ABCDEF0123456789ABCDEF))
    monkeypatch.setattr("socket.gethostname", lambda: generate.HOST)
    monkeypatch.setenv("USER", generate.USER)
    monkeypatch.setenv("LOGNAME", generate.USER)
    store = MemoryStore(f"memory://golden-lease-{role}")
    prefix, kind = (layout.WRITER_LEASES_PREFIX, "writer") if role == "writers" else (layout.GC_LEASES_PREFIX, "gc")
    lease = leases.Lease(store, prefix, kind, run_id="gen")
    lease._put()
    key = f"gc/{role}/0123456789abcdef0123456789abcdef.json"
    assert lease.key == key
    assert store.get(key) == (GOLDEN / f"lease-{kind}.json").read_bytes()
