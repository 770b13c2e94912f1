"""``log`` of many files holds no per-file list (issue 24: 1,000,000 files in at most 256 MiB).

Measuring a real million files takes minutes (benchmarks/scale.py does it); here the walk is
replaced by a generator of N files that all name one real 1-byte file (the stat cache knows
its digest), so every per-file stage still runs for each of the N paths: the file plan, the
stat cache lookups, the digests recorded, the distinct contents, the pack placed, the
manifest's sorted runs, its merge and its streamed write. Python's peak allocation is
measured with tracemalloc for N and 10 × N: a list of the files (or of their entries,
digests or lines) anywhere in the pipeline grows by hundreds of bytes per file, tens of MiB
between the two runs; the pipeline itself grows by a few batches' worth at most.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import artcli
from artcli import manifest, manifest_stream
from artcli.errors import UsageError
from artcli.hashing import digest_file
from artcli.inputs import InputFile, iter_scan, scan
from artcli.localdb import stat_key
from artcli.model import Entry
from artcli.ops import log as oplog

SMALL, LARGE = 2_000, 50_000
#: allowed growth of the peak from SMALL to LARGE files (about 1 MiB measured: the spill's
#: merge levels): a list of the 48,000 extra files as InputFile objects is ~14 MiB, of their
#: manifest entries ~9 MiB, of bare digests ~5 MiB
GROWTH_LIMIT = 3 << 20


def _path(i: int, tag: str) -> str:
    return f"{tag}{i // 1000:04d}/f{i:07d}.bin"


def _log_many(tmp_path: Path, n: int, tag: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, int]:
    """Log ``n`` generated files (their folders named after ``tag``) as artifact ``many-<tag>``;
    (the result, Python's peak allocation during the log)."""
    one = tmp_path / "one.bin"
    if not one.exists():
        one.write_bytes(b"x")
    st = stat_key(os.stat(one))

    def walk(paths: list[str], name_as: str | None = None, **_kw: Any) -> Iterator[InputFile]:
        for i in range(n):
            yield InputFile(_path(i, tag), str(one), st[2], st)

    monkeypatch.setattr("artcli.logplan.iter_scan", walk)
    monkeypatch.setattr(oplog, "STREAM_MIN_ENTRIES", 0)  # the streamed manifest at every size
    monkeypatch.setattr(manifest_stream, "RUN_SIZE", SMALL)  # its in-memory buffer: a small constant
    monkeypatch.setattr(manifest_stream, "FAN_IN", 4)  # its open runs (log4 N levels of at most 4)
    monkeypatch.setattr(manifest_stream, "_BUFFER", 1 << 12)  # and each run's buffer
    monkeypatch.setattr(manifest_stream, "CHUNK", 1 << 16)  # bytes hashed and compressed at a time
    monkeypatch.setattr("artcli.inputs._now", lambda: time.time() + 60)  # one.bin is remembered once hashed
    for var in ("CACHE", "CONFIG", "DATA"):
        monkeypatch.setenv(f"ARTCLI_{var}_DIR", str(tmp_path / var.lower()))
    with artcli.open((tmp_path / "remote").as_uri(), "p") as repo:
        tracemalloc.start()
        try:
            res = repo.log(f"many-{tag}", [str(tmp_path)])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return res, peak


def test_log_memory_does_not_grow_with_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a first log, so that both measured logs do the same things (find the one content packed)
    first, _ = _log_many(tmp_path, SMALL, "w", monkeypatch)
    small, small_peak = _log_many(tmp_path, SMALL, "s", monkeypatch)
    large, large_peak = _log_many(tmp_path, LARGE, "l", monkeypatch)
    assert (small.files, large.files) == (SMALL, LARGE)
    assert (first.uploaded_files, small.uploaded_files, large.uploaded_files) == (1, 0, 0)
    digest = digest_file(str(tmp_path / "one.bin"))
    # the streamed pipeline's content digest is the in-memory one's (manifest.content_digest)
    assert large.digest == manifest.content_digest([Entry(_path(i, "l"), 1, digest) for i in range(LARGE)])
    growth = large_peak - small_peak
    print(f"peak {small_peak / 2**20:.2f} MiB for {SMALL} files, {large_peak / 2**20:.2f} MiB for {LARGE}")
    assert growth < GROWTH_LIMIT, (f"log's peak grew {growth / 2**20:.1f} MiB from {SMALL} to {LARGE} files "
                                   f"({small_peak / 2**20:.1f} -> {large_peak / 2**20:.1f} MiB): something holds every file")


def _tree(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(name.encode())


def test_walk_yields_files_in_path_order(tmp_path: Path) -> None:
    """The walk is streamed into the plan in the manifest's order: a folder's files come where
    its path sorts among its siblings' ("a-b" and "a.txt" before "a/x"), across given paths too."""
    names = ["a/x", "a-b", "a.txt", "a0/y", "b/c/d", "b/c-d", "b.c", "z", "a/x-y/1", "a/x.y"]
    _tree(tmp_path / "one", names)
    _tree(tmp_path / "two", ["a/w", "a0", "c"])
    got = [f.path for f in iter_scan([str(tmp_path / "one"), str(tmp_path / "two")])]
    assert got == sorted([*names, "a/w", "a0", "c"])
    assert [f.path for f in scan([str(tmp_path / "one")], "in/side")] == sorted(f"in/side/{n}" for n in names)
    _tree(tmp_path / "three", ["a.txt"])
    with pytest.raises(UsageError, match=r"two inputs map to the same path 'a\.txt'"):
        list(iter_scan([str(tmp_path / "one"), str(tmp_path / "three")]))


def test_walk_holds_one_folder_per_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first file comes before the other folders are read: the walk holds the folders on
    the way down, never the whole tree."""
    _tree(tmp_path / "data", [f"d{i:02d}/sub/f{j}" for i in range(20) for j in range(3)])
    read: list[str] = []
    real = os.scandir

    def scandir(path: Any) -> Any:
        read.append(str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    walk = iter_scan([str(tmp_path / "data")])
    assert next(walk).path == "d00/sub/f0"
    assert [Path(p).relative_to(tmp_path).as_posix() for p in read] == ["data", "data/d00", "data/d00/sub"]
    assert sum(1 for _ in walk) == 59
