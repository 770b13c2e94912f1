"""Benchmark artcli against DVC, s5cmd and W&B offline.  See benchmarks/README.md.

    python benchmarks/run.py [--size smoke|small|full] [--only STEP,...] [--reps N]

Steps (names or numbers for --only): 1 ingest, 2 relog, 3 push, 4 download,
5 large, 6 startup, 7 floor, 8 azure, 9 incremental.  Results go to benchmarks/results/<size>-<UTC
timestamp>.json and .md, plus benchmarks/results/latest-<size>.md (latest-<size>-<steps>.md
for a run with --only); the Markdown
table is printed to stdout at the end (progress goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

# run as a script (python benchmarks/X.py): make the `benchmarks` package importable
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import datasets
from benchmarks.measure import drop_os_caches
from benchmarks.report import render
from benchmarks.s3server import MotoServer, find_moto_server
from benchmarks.setup_peers import setup_peers
from benchmarks.steps import (
    DEFAULT_TIMEOUTS,
    S3_STEPS,
    STEP_DATASETS,
    STEP_ORDER,
    Ctx,
    build_results,
    default_artcli_cmd,
    detect_tools,
    parse_only,
    run_steps,
)

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".work"
RESULTS_DIR = BENCH_DIR / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Benchmark artcli against dvc, s5cmd and wandb (offline).",
    )
    ap.add_argument("--size", choices=datasets.SIZES, default="smoke", help="data set scale (default: smoke)")
    ap.add_argument("--only", default="", help="comma-separated steps: " + ",".join(STEP_ORDER)
                    + f" (or numbers 1-{len(STEP_ORDER)})")
    ap.add_argument("--reps", type=int, default=3, help="repetitions per step (default 3)")
    ap.add_argument("--startup-reps", type=int, default=10, help="repetitions of the start-up step (default 10)")
    ap.add_argument(
        "--artcli", default="", help="artcli command line (default: .venv/bin/artcli, else python -m artcli)"
    )
    ap.add_argument("--datasets", default="", help="comma-separated data sets (A,B,C) for the steps that loop over sets")
    ap.add_argument("--tools", default="", help="comma-separated tools to run (artcli,dvc,s5cmd,wandb,...); default all")
    ap.add_argument("--no-peers", action="store_true", help="measure artcli only (no dvc/s5cmd/wandb)")
    ap.add_argument("--no-s3", action="store_true", help="do not start the S3 server (skips S3 steps)")
    ap.add_argument("--no-azure", action="store_true", help="do not start Azurite (skips the Azure rows)")
    ap.add_argument("--skip-setup", action="store_true", help="do not check/install the peers venv (use what is there)")
    ap.add_argument(
        "--drop-caches",
        action="store_true",
        help="sync + drop the OS page cache before every timed command (needs root)",
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=0.0,
        help="per-command timeout in seconds (default: 300 smoke, 1200 small, 3600 full)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the per-run scratch directories")
    ap.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    ap.add_argument("--data-root", type=Path, default=datasets.DEFAULT_ROOT)
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return ap.parse_args(argv)


def latest_name(size: str, only: str) -> str:
    """``latest-<size>.md`` for a run of every step; a partial run (``--only``) is
    ``latest-<size>-<steps>.md``, so it never replaces the last complete report."""
    if not only:
        return f"latest-{size}.md"
    return f"latest-{size}-{'-'.join(parse_only(only))}.md"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        steps = parse_only(args.only)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    started = time.time()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(started))

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    setup_report: dict[str, object] = {}
    if not args.no_peers and not args.skip_setup:
        log("== peers: checking benchmarks/.venv-peers")
        try:
            setup_report = dict(setup_peers())
        except Exception as exc:  # peers are optional
            setup_report = {"error": f"{type(exc).__name__}: {exc}"}
            log(f"peers setup failed: {exc}")

    artcli_cmd = shlex.split(args.artcli) if args.artcli else default_artcli_cmd()
    # Byte-compile the work tree's artcli, as pip does when it installs a wheel: with
    # PYTHONDONTWRITEBYTECODE set (as in many CI images), every edited module would otherwise be
    # compiled again by every timed command (~40 ms for a dozen modules; seen on the re-log step).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parent.parent / "artcli")],
                   check=False)
    tools = detect_tools(artcli_cmd, use_peers=not args.no_peers)
    log(f"== tools: {json.dumps(tools.versions)}")
    if tools.artcli is None:
        log(f"   artcli: {tools.artcli_note}")
    for name, note in tools.notes.items():
        log(f"   {name}: {note}")

    if args.drop_caches:
        err = drop_os_caches()
        if err:
            log(f"--drop-caches ignored: {err}")
            args.drop_caches = False

    chosen_sets = tuple(d.strip().upper() for d in args.datasets.split(",") if d.strip()) or None
    needed = tuple(sorted({d for s in steps for d in STEP_DATASETS[s] if chosen_sets is None or d in chosen_sets}))
    data = datasets.ensure_datasets(args.size, args.data_root, needed, log=not args.quiet)

    workdir = WORK_DIR / "runs" / f"{args.size}-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = Ctx(
        size=args.size,
        workdir=workdir,
        data=data,
        tools=tools,
        reps=max(1, args.reps),
        startup_reps=max(1, args.startup_reps),
        timeout=args.timeout or DEFAULT_TIMEOUTS[args.size],
        drop_caches=args.drop_caches,
        keep=args.keep,
        verbose=not args.quiet,
        datasets=chosen_sets,
        only_tools=tuple(t.strip().lower() for t in args.tools.split(",") if t.strip()) or None,
    )

    server: MotoServer | None = None
    extra: dict[str, object] = {"peers_setup": setup_report}
    if not args.no_s3 and S3_STEPS.intersection(steps):
        exe = find_moto_server()
        if exe is None:
            log("no moto_server found: S3 steps will report 'no S3 server'")
        else:
            server = MotoServer(exe, workdir / "moto.log")
            try:
                server.start()
                ctx.s3 = server
                log(f"== S3 server: {exe} at {server.endpoint} (pid {server.pid})")
            except Exception as exc:
                log(f"S3 server failed to start: {exc}")
                extra["s3_server_error"] = str(exc)
                server = None
    azurite = None
    if not args.no_azure and "azure" in steps:
        from benchmarks.azure_step import AzuriteForBench

        try:
            azurite = AzuriteForBench(workdir / "azurite")
            azurite.start()
            ctx.azure = azurite
            log(f"== Azurite at {azurite.server.endpoint} (pid {azurite.pid})")
        except Exception as exc:  # node/npm missing or install failed: the Azure rows say so
            log(f"Azurite not available: {exc}")
            extra["azure_error"] = str(exc).splitlines()[0]
            azurite = None
    try:
        results = run_steps(ctx, steps)
    finally:
        if azurite is not None:
            azurite.stop()
        if server is not None:
            extra["s3_server"] = {
                "exe": str(server.exe),
                "cpu_s_total": round(server.cpu_seconds(), 2),
                "peak_rss_mib": round(server.peak_rss_kib() / 1024, 1),
            }
            server.stop()
    extra["loadavg_at_start"] = load_at_start
    res = build_results(ctx, results, started, extra=extra)
    md = render(res)

    args.results_dir.mkdir(parents=True, exist_ok=True)
    base = args.results_dir / f"{args.size}-{stamp}"
    base.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    base.with_suffix(".md").write_text(md + "\n")
    shutil.copyfile(base.with_suffix(".md"), args.results_dir / latest_name(args.size, args.only))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    log(f"== wrote {base}.json and .md")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
