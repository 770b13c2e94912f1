"""Fast artcli-only benchmark smoke run, for CI (no peers, no S3 server).

Runs the same step code as run.py on the ``smoke`` data sets (A' 8 MiB in 8
files, B' 500 x 4 KiB, C' 32 MiB): ingest to a file:// remote, unchanged
re-log, download cold + warm, and the floor.  Takes a few seconds::

    from benchmarks.smoke import run_smoke, problems
    res = run_smoke(["artcli"], tmp_path)
    assert not problems(res)

or by hand: ``python benchmarks/smoke.py [--artcli CMD] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# run as a script (python benchmarks/X.py): make the `benchmarks` package importable
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.datasets import ensure_datasets
from benchmarks.steps import (
    SMOKE_STEPS,
    STEP_DATASETS,
    Ctx,
    build_results,
    default_artcli_cmd,
    detect_tools,
    run_steps,
)


def run_smoke(
    artcli_cmd: list[str],
    workdir: Path,
    *,
    reps: int = 1,
    steps: tuple[str, ...] = SMOKE_STEPS,
    timeout: float = 120.0,
    verbose: bool = False,
) -> dict[str, Any]:
    """Run artcli alone through the benchmark steps; return the run.py-schema results dict.

    ``workdir`` receives the generated data (``data/``) and scratch space (``runs/``).
    Errors never raise: they are in ``result["errors"]`` (and ``result["unavailable"]``
    when artcli itself cannot start); see :func:`problems`.
    """
    started = time.time()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    workdir = Path(workdir)
    needed = tuple(sorted({d for s in steps for d in STEP_DATASETS[s]}))
    data = ensure_datasets("smoke", workdir / "data", needed, log=verbose)
    tools = detect_tools(list(artcli_cmd), use_peers=False)
    scratch = workdir / "runs"
    scratch.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(
        size="smoke",
        workdir=scratch,
        data=data,
        tools=tools,
        reps=reps,
        startup_reps=reps,
        timeout=timeout,
        verbose=verbose,
    )
    results = run_steps(ctx, list(steps))
    return build_results(ctx, results, started, extra={"smoke": True, "loadavg_at_start": load_at_start})


PEER_TOOLS = frozenset({"dvc", "dvc add", "dvc status", "s5cmd", "wandb"})


def problems(result: dict[str, Any]) -> list[str]:
    """Everything that went wrong (empty when the smoke run is clean).

    All errors count; of the "not available" entries only those of artcli and
    the floor do (the peers are absent on purpose in a smoke run).
    """
    out = list(result.get("errors", []))
    for u in result.get("unavailable", []):
        parts = u.split(" / ", 2)
        tool = parts[2].split(":", 1)[0] if len(parts) == 3 else ""
        if tool not in PEER_TOOLS:
            out.append(u)
    return list(dict.fromkeys(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--artcli", default="", help="artcli command line")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args(argv)
    cmd = shlex.split(args.artcli) if args.artcli else default_artcli_cmd()
    with tempfile.TemporaryDirectory(prefix="artcli-smoke-") as tmp:
        t0 = time.monotonic()
        res = run_smoke(cmd, args.workdir or Path(tmp), reps=args.reps, verbose=True)
        from benchmarks.report import render

        print(render(res))
        bad = problems(res)
        print(json.dumps({"seconds": round(time.monotonic() - t0, 2), "problems": bad}, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
