"""The floor: read every file of a tree once and BLAKE3-hash it (optionally write a copy).

Run with the project's interpreter (it needs ``blake3``)::

    python benchmarks/floor.py hash SRC
    python benchmarks/floor.py hashcopy SRC DST

Files are read in 16 MiB chunks into one reused buffer and hashed with
``blake3(max_threads=blake3.AUTO)``; ``hashcopy`` also writes each chunk to
``DST/<relpath>``.  Prints one JSON line: seconds (in-process, start-up excluded),
files, bytes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

CHUNK = 16 * 1024 * 1024


def walk(root: Path) -> list[str]:
    out: list[str] = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(dirpath, root)
        out.extend(n if rel == "." else os.path.join(rel, n) for n in sorted(names))
    return out


def run(src: Path, dst: Path | None) -> dict[str, float | int]:
    from blake3 import blake3  # imported here: the harness itself stays stdlib-only

    t0 = time.perf_counter()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    nbytes = 0
    files = walk(src)
    made: set[str] = set()
    for rel in files:
        h = blake3(max_threads=blake3.AUTO)
        out = None
        if dst is not None:
            target = dst / rel
            parent = str(target.parent)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            out = open(target, "wb")  # noqa: SIM115
        with open(src / rel, "rb", buffering=0) as fh:
            while n := fh.readinto(buf):
                h.update(view[:n])
                if out is not None:
                    out.write(view[:n])
                nbytes += n
        if out is not None:
            out.close()
        h.digest()
    return {"seconds": round(time.perf_counter() - t0, 4), "files": len(files), "bytes": nbytes}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("hash", "hashcopy") or (argv[0] == "hashcopy") != (len(argv) == 3):
        print(__doc__, file=sys.stderr)
        return 2
    dst = Path(argv[2]) if argv[0] == "hashcopy" else None
    print(json.dumps(run(Path(argv[1]), dst)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
