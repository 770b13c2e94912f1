"""``cache info`` / ``cache prune``: the local cache's size, and removing what was used least recently.

The cache (artcli/cache.py) holds file contents under ``files/<d[:2]>/<d[2:]>``, small files in
sparse local copies of remote packs under ``packs/`` (each counted by the disk space it really
uses, and pruned as a whole), manifests under ``manifests/`` and partial downloads under ``tmp/``. Everything in it can be fetched
again, so pruning only costs bandwidth. "Last used" is the later of a file's access and
modification times (every use reads and verifies the file, which updates the access time
on filesystems mounted with ``relatime``, the Linux default).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from artcli import clock
from artcli.cache import LOCK_NAME
from artcli.errors import UsageError
from artcli.results import Result

TMP_MIN_AGE = 3600  # a partial file younger than this may belong to a download in progress
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(text: str) -> int:
    """Bytes in ``10G``, ``500MiB``, ``1.5GB``, ``1000``: K/M/G/T and KiB/MiB/... are powers of
    1024, KB/MB/GB/TB powers of 1000, a bare number is bytes."""
    m = _SIZE_RE.fullmatch((text or "").strip())
    if m is None or (m.group(3).lower() in ("i", "ib") and not m.group(2)):
        raise UsageError(f"invalid size {text!r}", hint="use e.g. 10G, 500MiB, 2GB or a number of bytes")
    number, prefix, suffix = float(m.group(1)), m.group(2).lower(), m.group(3).lower()
    base = 1000 if suffix == "b" and prefix else 1024
    return int(number * base ** _POWERS[prefix])


@dataclass
class _Item:
    path: str
    size: int
    used: float  # epoch seconds
    kind: str  # file, pack, manifest, tmp


def _scan(root: Path) -> list[_Item]:
    out = []
    for kind, sub in (("file", "files"), ("pack", "packs"), ("manifest", "manifests"), ("tmp", "tmp")):
        base = root / sub
        if not base.is_dir():
            continue
        for dirpath, _, names in os.walk(base):
            for nm in names:
                p = os.path.join(dirpath, nm)
                try:
                    st = os.stat(p)
                except FileNotFoundError:  # removed by another artcli meanwhile
                    continue
                partial = kind == "tmp" or nm.endswith(".part")
                size = min(st.st_size, st.st_blocks * 512) if kind == "pack" else st.st_size  # sparse
                out.append(_Item(p, size, max(st.st_atime, st.st_mtime), "tmp" if partial else kind))
    return out


def _total(items: list[_Item]) -> dict[str, int]:
    return {"count": len(items), "bytes": sum(i.size for i in items)}


def cache_info(root: Path) -> dict[str, Any]:
    """Counts and sizes per part of the cache, and the oldest and newest use."""
    items = _scan(root)
    index = sum(p.stat().st_size for p in root.glob("index.sqlite*") if p.is_file())
    used = [i.used for i in items if i.kind != "tmp"]
    return {
        "root": str(root),
        "files": _total([i for i in items if i.kind == "file"]),
        "packs": _total([i for i in items if i.kind == "pack"]),
        "manifests": _total([i for i in items if i.kind == "manifest"]),
        "tmp": _total([i for i in items if i.kind == "tmp"]),
        "index_bytes": index,
        "total_bytes": sum(i.size for i in items) + index,
        "oldest_use": clock.iso(datetime.fromtimestamp(min(used), UTC)) if used else None,
        "newest_use": clock.iso(datetime.fromtimestamp(max(used), UTC)) if used else None,
    }


@dataclass
class PruneResult(Result):
    root: str
    dry_run: bool
    removed: list[dict[str, Any]] = field(default_factory=list)  # {path, kind, size, last_used}
    kept_count: int = 0
    kept_bytes: int = 0

    @property
    def removed_bytes(self) -> int:
        return sum(r["size"] for r in self.removed)

    def to_json(self) -> dict[str, Any]:
        return {"root": self.root, "dry_run": self.dry_run, "removed_count": len(self.removed),
                "removed_bytes": self.removed_bytes, "kept_count": self.kept_count, "kept_bytes": self.kept_bytes,
                "removed": self.removed}


def prune(root: Path, *, max_size: int | None = None, older_than: int | None = None,
          dry_run: bool = False, on_wait: Callable[[str], None] | None = None) -> PruneResult:
    """Remove cache entries not used for ``older_than`` seconds, then the least recently used
    ones until files, packs and manifests fit in ``max_size`` bytes. Partial files older than an hour
    always go (younger ones may be downloads in progress).

    Holds the cache's lock exclusively while it works, so it first waits for every other
    command using the cache to finish (``on_wait`` is told once), and they wait for it."""
    if max_size is None and older_than is None:
        raise UsageError("say what to prune: --max-size SIZE and/or --older-than DURATION",
                         hint="e.g. artcli cache prune --max-size 10G")
    if max_size is not None and max_size < 0:
        raise UsageError("--max-size must not be negative")
    if dry_run or not root.is_dir():  # deletes nothing: no need to wait for anyone
        return _prune(root, max_size, older_than, dry_run)
    with _exclusive(root, on_wait):
        return _prune(root, max_size, older_than, dry_run)


@contextmanager
def _exclusive(root: Path, on_wait: Callable[[str], None] | None) -> Iterator[None]:
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if on_wait:
                on_wait(f"waiting for the artcli commands using the cache at {root} to finish")
            fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _prune(root: Path, max_size: int | None, older_than: int | None, dry_run: bool) -> PruneResult:
    now = clock.now().timestamp()
    items = _scan(root)
    doomed = [i for i in items if i.kind == "tmp" and i.used < min(now, time.time()) - TMP_MIN_AGE]
    entries = sorted((i for i in items if i.kind != "tmp"), key=lambda i: (i.used, i.path))  # LRU first
    if older_than is not None:
        cutoff = now - older_than
        doomed += [i for i in entries if i.used < cutoff]
        entries = [i for i in entries if i.used >= cutoff]
    if max_size is not None:
        size = sum(i.size for i in entries)
        while entries and size > max_size:
            victim = entries.pop(0)
            doomed.append(victim)
            size -= victim.size
    res = PruneResult(str(root), dry_run)
    for i in doomed:
        if not dry_run:
            try:
                os.unlink(i.path)
            except FileNotFoundError:  # another prune got there first
                pass
        res.removed.append({"path": i.path, "kind": i.kind, "size": i.size,
                            "last_used": clock.iso(datetime.fromtimestamp(i.used, UTC))})
    gone = {i.path for i in doomed}
    kept = [i for i in items if i.path not in gone]
    res.kept_count, res.kept_bytes = len(kept), sum(i.size for i in kept)
    return res
