"""Push one data set to S3 with artcli and s5cmd in alternating pairs, and report paired ratios.

    python benchmarks/paired.py [--size full] [--data A] [--pairs 8]

The suite's medians of 3 repetitions cannot settle a comparison that is within ±10%: on a
shared 2-core machine the same push varies by 20–30% from one minute to the next. Here each
pair runs back to back against one moto server (so both tools meet the same conditions), and
the median of the per-pair ratios artcli/s5cmd is reported with its spread. Every push goes
to a fresh prefix with an empty artcli state, like the suite's step 3. Data sets come from
``benchmarks/.work/data`` (run ``make bench`` or ``python benchmarks/datasets.py`` first).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.s3server import MotoServer, find_moto_server
from benchmarks.steps import PEERS_BIN

BENCH = Path(__file__).resolve().parent
ARTCLI = BENCH.parent / ".venv" / "bin" / "artcli"


def _env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ARTCLI_", "S3_"))}
    env.update(AWS_ACCESS_KEY_ID="artcli-bench", AWS_SECRET_ACCESS_KEY="artcli-bench-secret",
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_ENDPOINT_URL=endpoint, ARTCLI_PROJECT="bench")
    return env


def _timed(argv: list[str], env: dict[str, str], server: MotoServer) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) of one command, which must succeed."""
    cpu = server.cpu_seconds()
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, server.cpu_seconds() - cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/paired.py", description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="full", help="data set size folder (default: full)")
    ap.add_argument("--data", default="A", help="data set name (default: A)")
    ap.add_argument("--pairs", type=int, default=8, help="alternating pairs (default 8)")
    args = ap.parse_args(argv)
    src = BENCH / ".work" / "data" / args.size / args.data
    s5cmd = PEERS_BIN / "s5cmd"
    moto = find_moto_server()
    for need, hint in ((src, "python benchmarks/datasets.py"), (s5cmd, "python benchmarks/setup_peers.py"),
                       (ARTCLI, "make install")):
        if not Path(need).exists():
            raise SystemExit(f"{need} is missing: run {hint}")
    if moto is None:
        raise SystemExit("moto_server is missing: run python benchmarks/setup_peers.py")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(BENCH.parent / "artcli")], check=True)
    work = Path(tempfile.mkdtemp(prefix="artcli-paired-"))
    server = MotoServer(moto, work / "moto.log")
    server.start()
    try:
        server.create_bucket("bench")
        env = _env(server.endpoint)
        rows: list[tuple[float, float, float, float]] = []
        for i in range(args.pairs):
            state = work / f"state-{i}"
            a_env = dict(env, ARTCLI_CACHE_DIR=str(state / "cache"), ARTCLI_CONFIG_DIR=str(state / "config"),
                         ARTCLI_DATA_DIR=str(state / "data"))
            order = [("artcli", [str(ARTCLI), "log", "d", str(src), "--remote", f"s3://bench/a-{uuid.uuid4().hex}"],
                      a_env),
                     ("s5cmd", [str(s5cmd), "--endpoint-url", server.endpoint, "cp", f"{src}/*",
                                f"s3://bench/s-{uuid.uuid4().hex}/"], env)]
            if i % 2:
                order.reverse()  # neither tool always goes first
            got = {name: _timed(cmd, e, server) for name, cmd, e in order}
            shutil.rmtree(state, ignore_errors=True)
            (aw, ac), (sw, sc) = got["artcli"], got["s5cmd"]
            rows.append((aw, sw, ac, sc))
            print(f"pair {i + 1}: artcli {aw:.2f} s (server CPU {ac:.2f} s)  "
                  f"s5cmd {sw:.2f} s (server CPU {sc:.2f} s)  ratio {aw / sw:.3f}", file=sys.stderr, flush=True)
        ratios = sorted(a / s for a, s, _, _ in rows)
        print(f"push {args.data} ({args.size}), {args.pairs} pairs against one moto server\n"
              f"artcli median {statistics.median(r[0] for r in rows):.2f} s, "
              f"s5cmd median {statistics.median(r[1] for r in rows):.2f} s\n"
              f"paired ratio artcli/s5cmd: median {statistics.median(ratios):.3f}, "
              f"range {ratios[0]:.3f}–{ratios[-1]:.3f}, artcli faster in "
              f"{sum(r < 1 for r in ratios)} of {len(ratios)} pairs")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
