"""Seeded, deterministic benchmark data sets.

========  ===========================  ====================  =================
set       full                         small                 smoke
========  ===========================  ====================  =================
A         1 GiB in 100 files (flat)    128 MiB in 100 files  8 MiB in 8 files
B         20,000 x 4 KiB, nested       5,000 x 4 KiB         500 x 4 KiB
C         one 2 GiB file               one 256 MiB file      one 32 MiB file
========  ===========================  ====================  =================

Bytes come from ``random.Random(f"artcli-bench:{seed}:{set}:{index}")``, one
generator per file, written in 16 MiB chunks, so a file's content depends only
on the seed, the set and its index (never on the machine or the order).  The
data are incompressible and every file is distinct (no accidental dedup).

A data set is regenerated only when its spec changes: a small marker
``<root>/<set>.json`` beside the directory records the spec it was built from.

Usage::

    python benchmarks/datasets.py --size smoke [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
CHUNK = 16 * MiB
DEFAULT_SEED = 20261123
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_ROOT = BENCH_DIR / ".work" / "data"
SIZES = ("smoke", "small", "full")


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # "A", "B" or "C"
    layout: str  # "flat", "nested" or "single"
    files: int
    total_bytes: int
    seed: int = DEFAULT_SEED

    def file_size(self, index: int) -> int:
        base, extra = divmod(self.total_bytes, self.files)
        return base + (1 if index < extra else 0)

    def relpath(self, index: int) -> str:
        if self.layout == "single":
            return "big.bin"
        if self.layout == "flat":
            return f"part-{index:04d}.bin"
        # nested: 1000 files per top directory, 100 per sub directory
        return f"d{index // 1000:02d}/s{(index // 100) % 10}/f{index:05d}.bin"

    def describe(self) -> str:
        size = self.total_bytes
        human = f"{size / GiB:.4g} GiB" if size >= GiB else f"{size / MiB:.4g} MiB"
        if self.layout == "nested":
            return f"{self.files:,} x {self.file_size(0) // KiB} KiB, nested ({human})"
        return f"{human} in {self.files:,} file{'s' if self.files > 1 else ''}"


def specs_for(size: str, seed: int = DEFAULT_SEED) -> dict[str, DatasetSpec]:
    if size == "full":
        a, b, c = (1 * GiB, 100), 20_000, 2 * GiB
    elif size == "small":
        a, b, c = (128 * MiB, 100), 5_000, 256 * MiB
    elif size == "smoke":
        a, b, c = (8 * MiB, 8), 500, 32 * MiB
    else:
        raise ValueError(f"unknown size {size!r}; expected one of {SIZES}")
    return {
        "A": DatasetSpec("A", "flat", a[1], a[0], seed),
        "B": DatasetSpec("B", "nested", b, b * 4 * KiB, seed),
        "C": DatasetSpec("C", "single", 1, c, seed),
    }


def write_file(path: Path, nbytes: int, rng: random.Random) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        left = nbytes
        while left > 0:
            n = min(CHUNK, left)
            fh.write(rng.randbytes(n))
            left -= n


def _is_complete(spec: DatasetSpec, target: Path, marker: Path) -> bool:
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    if recorded != asdict(spec) or not target.is_dir():
        return False
    # cheap sanity check: the last file exists with the right size
    last = target / spec.relpath(spec.files - 1)
    return last.is_file() and last.stat().st_size == spec.file_size(spec.files - 1)


def generate(spec: DatasetSpec, root: Path, log: bool = True) -> Path:
    """Make ``root/<name>`` match ``spec`` (no-op when it already does)."""
    target = root / spec.name
    marker = root / f"{spec.name}.json"
    if _is_complete(spec, target, marker):
        return target
    t0 = time.monotonic()
    if log:
        print(f"[data] generating {spec.name}: {spec.describe()} -> {target}", file=sys.stderr, flush=True)
    marker.unlink(missing_ok=True)
    if target.exists():
        shutil.rmtree(target)
    tmp = root / f".{spec.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    for i in range(spec.files):
        rng = random.Random(f"artcli-bench:{spec.seed}:{spec.name}:{i}")
        write_file(tmp / spec.relpath(i), spec.file_size(i), rng)
    os.replace(tmp, target)
    marker.write_text(json.dumps(asdict(spec), indent=1))
    if log:
        print(f"[data] {spec.name} done in {time.monotonic() - t0:.1f}s", file=sys.stderr, flush=True)
    return target


def ensure_datasets(
    size: str,
    root: Path = DEFAULT_ROOT,
    names: tuple[str, ...] = ("A", "B", "C"),
    seed: int = DEFAULT_SEED,
    log: bool = True,
) -> dict[str, Path]:
    """Generate the requested sets of ``size`` under ``root/<size>``; return their dirs."""
    specs = specs_for(size, seed)
    base = root / size
    base.mkdir(parents=True, exist_ok=True)
    return {n: generate(specs[n], base, log=log) for n in names}


def tree_stats(path: Path) -> tuple[int, int]:
    """(number of files, total bytes) below ``path``."""
    files = total = 0
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            files += 1
            total += os.lstat(os.path.join(dirpath, n)).st_size
    return files, total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="generate the benchmark data sets")
    ap.add_argument("--size", choices=SIZES, default="smoke")
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--only", default="A,B,C", help="comma-separated subset of A,B,C")
    args = ap.parse_args(argv)
    names = tuple(n.strip().upper() for n in args.only.split(",") if n.strip())
    for name, path in ensure_datasets(args.size, args.root, names).items():
        files, total = tree_stats(path)
        print(f"{name}: {path} ({files} files, {total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
