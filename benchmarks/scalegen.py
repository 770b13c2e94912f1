"""Generated remotes for the scale suite, in the real format, written fast.

Writing 100,000 events through ``artcli`` commands would take hours (each command starts a
process and appends one event), so the suite generates its remotes as folders:

* **Real content first**: ``artcli log`` (the real command) logs a few small versions, so every
  manifest, pack and blob a generated event names exists and downloads verify.
* **Bulk events** are built by artcli's own event encoder (:func:`artcli.eventlog.encode`:
  canonical JSON with seq, time and actor) at consecutive sequence numbers, and written as files
  at the keys :mod:`artcli.layout` gives, exactly what ``EventLog.append`` writes minus the
  exclusive-create dance (one generator, no race). Times step back from now by a minute each.
* The event mix of a long log, seeded: 25% ``version_created`` (a fresh content digest; the
  manifest, size and file count of one of the real versions, so any version downloads), 40%
  ``metadata_set`` on the newest version, 20% ``alias_set`` (four aliases moving between recent
  versions), 15% ``used``.
* **Many artifacts**: each gets one ``version_created`` naming a real manifest, alternating
  types ``dataset`` and ``model``.
* **Many packs**: real packs built by :class:`artcli.packs.PackBuilder` (four 256-byte members
  each) with their indexes.

What current artcli writes beside a log to keep reads short (checkpoints, the project
catalogue) is written by artcli's own code for that (see :func:`finish`), as real writers and
readers would have left it. Older artcli versions ignore
those objects, so the baseline reads the very same remote.

The folder is then loaded into the counting S3 server as it is (``countserver.load_dir``).
"""

from __future__ import annotations

import os
import random
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from artcli import canonical, clock, layout
from artcli.eventlog import encode
from artcli.packs import PackBuilder

ALIASES = ("best", "production", "staging", "candidate")


def _write(remote: Path, key: str, data: bytes) -> None:
    path = remote / key
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as fh:
        fh.write(data)


def read_events(remote: Path, project: str, name: str) -> list[dict[str, Any]]:
    return read_log(remote, layout.artifact_prefix(project, name))


def log_real_versions(artcli: list[str], env: dict[str, str], remote: Path, project: str, name: str,
                      scratch: Path, count: int) -> list[dict[str, Any]]:
    """``count`` real versions of a few small files each, logged by the real ``artcli log``."""
    for v in range(count):
        src = scratch / f"src-{name}-{v}"
        src.mkdir(parents=True, exist_ok=True)
        for i in range(4):
            (src / f"part-{i}.txt").write_text(f"{name} version {v} part {i}\n" * 20)
        subprocess.run([*artcli, "log", name, str(src), "--remote", remote.as_uri(), "--project", project,
                        "--json"], env=env, check=True, capture_output=True, cwd=scratch)
    return [e for e in read_events(remote, project, name) if e["type"] == "version_created"]


def grow_log(remote: Path, project: str, name: str, total: int, seed: int = 0) -> int:
    """Append generated events until the artifact's log holds ``total``; returns how many were written."""
    existing = read_events(remote, project, name)
    real = [e for e in existing if e["type"] == "version_created"]
    if not real:
        raise ValueError(f"{project}/{name} needs real versions first")
    rng = random.Random(f"artcli-scale:{seed}:{name}")
    prefix = layout.artifact_prefix(project, name)
    start = datetime.now(UTC) - timedelta(minutes=total + 1)
    newest = max(e["version"] for e in real)
    written = 0
    for seq in range(len(existing), total):
        when = clock.iso(start + timedelta(minutes=seq))
        r = rng.random()
        run = f"ci-{seq // 40:06d}"
        if r < 0.25:
            base = rng.choice(real)
            newest += 1
            body: dict[str, Any] = {
                "type": "version_created", "version": newest, "digest": rng.randbytes(32).hex(),
                "manifest": base["manifest"], "size": base["size"], "files": base["files"],
                "artifact_type": base["artifact_type"], "description": None, "aliases": [],
                "metadata": {"step": {"value": seq, "type": None}},
            }
        elif r < 0.65:
            body = {"type": "metadata_set", "version": newest,
                    "entries": {"loss": {"value": round(rng.random(), 6), "type": None}}}
        elif r < 0.85:
            body = {"type": "alias_set", "alias": rng.choice(ALIASES), "version": max(0, newest - rng.randrange(4))}
        else:
            body = {"type": "used", "version": newest, "run": f"job-{seq:08d}"}
        _ev, data = encode(body, seq, run, when)
        _write(remote, layout.event_key(prefix, seq), data)
        written += 1
    return written


def many_artifacts(remote: Path, project: str, template: dict[str, Any], n: int, seed: int = 0) -> None:
    """``n`` artifacts ``a000000``… with one version each, naming ``template``'s manifest."""
    rng = random.Random(f"artcli-scale:{seed}:artifacts")
    start = datetime.now(UTC) - timedelta(minutes=n + 1)
    for i in range(n):
        body = {"type": "version_created", "version": 0, "digest": rng.randbytes(32).hex(),
                "manifest": template["manifest"], "size": template["size"], "files": template["files"],
                "artifact_type": "dataset" if i % 2 == 0 else "model", "description": None, "aliases": [],
                "metadata": {"index": {"value": i, "type": None}}}
        _ev, data = encode(body, 0, f"ci-{i:06d}", clock.iso(start + timedelta(minutes=i)))
        _write(remote, layout.event_key(layout.artifact_prefix(project, f"a{i:06d}"), 0), data)


def many_packs(remote: Path, n: int, seed: int = 0) -> None:
    """``n`` real packs (four random 256-byte members each) with their indexes."""
    from artcli.hashing import digest_bytes

    rng = random.Random(f"artcli-scale:{seed}:packs")
    for _ in range(n):
        b = PackBuilder()
        for _m in range(4):
            data = rng.randbytes(256)
            b.add(digest_bytes(data), data)
        digest, data, index = b.seal()
        _write(remote, layout.pack_key(digest), data)
        _write(remote, layout.pack_index_key(digest), index)


def small_files(root: Path, n: int, size: int = 1024, seed: int = 0) -> Path:
    """``n`` distinct files of ``size`` bytes, 1,000 per folder (kept if already complete)."""
    done = root / ".complete"
    if done.exists() and done.read_text() == f"{n} {size} {seed}":
        return root
    block = random.Random(f"artcli-scale:{seed}:files").randbytes(1 << 20)
    for i in range(n):
        d = root / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            d.mkdir(parents=True, exist_ok=True)
        off = (i * 4099) % (len(block) - size)
        (d / f"f{i:07d}.bin").write_bytes(i.to_bytes(8, "big") + block[off : off + size - 8])
    done.write_text(f"{n} {size} {seed}")
    return root


def large_files(root: Path, mib: int, file_mib: int = 32, seed: int = 0) -> Path:
    """``mib`` MiB of seeded random bytes in files of ``file_mib`` MiB (kept if already complete)."""
    done = root / ".complete"
    if done.exists() and done.read_text() == f"{mib} {file_mib} {seed}":
        return root
    rng = random.Random(f"artcli-scale:{seed}:large")
    root.mkdir(parents=True, exist_ok=True)
    for i in range(max(1, mib // file_mib)):
        with open(root / f"part-{i:03d}.bin", "wb") as fh:
            for _ in range(file_mib):
                fh.write(rng.randbytes(1 << 20))
    done.write_text(f"{mib} {file_mib} {seed}")
    return root


def finish(remote: Path, project: str, scratch: Path) -> dict[str, Any]:
    """Leave what current artcli keeps beside the logs, with its own code, as writers and
    readers would have: checkpoints of every long artifact log (written by artcli's reader,
    :meth:`EventLog.read`, which checkpoints what it had to fetch one by one), and the project
    catalogue a writer notes per change (a touch and a summary per artifact, in artcli's own
    event encoding and summary), with its checkpoints. Returns what was written."""
    from artcli.catalogue import summarise
    from artcli.eventlog import EventLog
    from artcli.localdb import LocalDB
    from artcli.state.artifact import fold
    from artcli.store.local import LocalStore

    store = LocalStore(str(remote))
    db = LocalDB(scratch / f"finish-{os.getpid()}.sqlite")
    root = remote / layout.artifacts_root(project)
    names = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    cat = layout.catalogue_prefix(project)
    seq = len(read_log(remote, cat))
    start = datetime.now(UTC) - timedelta(minutes=1)
    checkpointed = 0
    for name in names:
        prefix = layout.artifact_prefix(project, name)
        events = [(layout.event_key(prefix, e["seq"]), e) for e in read_log(remote, prefix)]
        if len(events) >= 64:
            EventLog(store, db, prefix).read()
            checkpointed += 1
        st = fold(project, name, events)
        when = clock.iso(start)
        for body in ({"type": "artifact_touched", "name": name, "touch": f"gen{seq:08d}"},
                     {"type": "artifacts_summarised", "artifacts": [summarise(st, len(events) - 1)],
                      "resolves": {name: [f"gen{seq:08d}"]}}):
            _write(remote, layout.event_key(cat, seq), encode(body, seq, None, when)[1])
            seq += 1
    EventLog(store, db, cat).read()  # the catalogue's own checkpoints
    db.close()
    return {"checkpointed_logs": checkpointed, "catalogue_events": seq}


def read_log(remote: Path, prefix: str) -> list[dict[str, Any]]:
    folder = remote / layout.events_prefix(prefix)
    return [canonical.loads(p.read_bytes()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
