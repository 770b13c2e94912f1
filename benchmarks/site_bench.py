"""How long ``artcli site`` takes on a large remote, and how little a refresh rewrites.

    .venv/bin/python benchmarks/site_bench.py [--artifacts 1000] [--versions 10] [--remote URL]

1. **Generate** (skipped when the remote already has the data: ``--reuse``): ``artifacts`` x
   ``versions`` versions, each recorded through the real command line, in process (the Typer
   app's own command, so every byte goes through the real write path: hashing, manifests, run
   records, exclusive-create events). Each version is ``artcli add-ref`` of a folder of two
   small local files: the site reads events and manifests, never file bytes, and a plain
   ``log`` of small files would put each version in a pack of its own, and every ``log``
   LISTs every pack on the remote (``remoteindex.live_packs``), so 10,000 packed logs take
   hours here (the 3,000th took 0.4 s on tmpfs, growing linearly). Artifacts
   come in pipelines of ten (each version of artifact *i* is logged with ``--input`` the same
   round's version of artifact *i-1*), in four projects, by one run per pipeline and round,
   with typed metadata; every 50th artifact is linked into a registry collection.
   Generation runs on ``--scratch`` (tmpfs by default: the local store fsyncs every object,
   which on a VM disk makes 10,000 logs take half an hour); the remote is then copied to
   ``--work`` on disk, where everything below is measured.
2. **Build** the site with an empty cache (every event read from the remote), then into a
   fresh folder with the cache that build left (warm: one LIST per log), each a separate
   process measured for wall time, CPU and peak RSS (``benchmarks/measure.py``).
3. **Refresh** with nothing changed, then after one new ``artcli log``: the pages rewritten
   are counted and listed.

Results go to ``benchmarks/results/site-<artifacts>x<versions>-<UTC time>.json`` and a Markdown
summary on stdout. Scratch data in ``benchmarks/.work/site/`` (git-ignored), kept for ``--reuse``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.measure import run_cmd  # noqa: E402

GROUP = 10  # artifacts per pipeline
PROJECTS = 4


_COMMAND: Any = None


def _artcli_in_process(argv: list[str]) -> str:
    """The real command line, in this process; the Typer app is turned into its click command
    once (building it costs ~130 ms, more than a small log)."""
    global _COMMAND
    import typer.main

    from artcli import runinfo
    from artcli.cli.app import app
    from artcli.cli.commands.common import close_repos

    if _COMMAND is None:
        _COMMAND = typer.main.get_command(app)
    runinfo.ARGV = list(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            _COMMAND.main(args=argv, prog_name="artcli", standalone_mode=False)
        finally:
            close_repos()
    return out.getvalue()


def project_of(i: int) -> str:
    return f"team{(i // GROUP) % PROJECTS}"


def generate(work: Path, artifacts: int, versions: int) -> dict[str, Any]:
    """Record every version in process; returns counts and the time it took."""
    data = work / "data"
    t0 = time.perf_counter()
    logged = 0
    for r in range(versions):
        for i in range(artifacts):
            folder = data / f"a{i}" / f"r{r}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "part-0.csv").write_text(f"artifact,{i}\nround,{r}\n")
            (folder / "schema.json").write_text('{"columns": ["artifact", "round"]}\n')
            argv = ["add-ref", f"art-{i:04d}", folder.as_uri(), "--project", project_of(i),
                    "--type", "model" if i % GROUP == GROUP - 1 else "dataset",
                    "--run", f"job-r{r}-p{i // GROUP}", "-m", f"rows={r * 100 + i}",
                    "-m", f"metrics.score={(i * 7 + r) % 100 / 100}", "-m", "weights:size=1.5GiB",
                    "-d", f"round {r} of artifact {i}"]
            if i % GROUP:
                argv += ["--input", f"{project_of(i - 1)}/art-{i - 1:04d}:v{r}"]
            _artcli_in_process(argv)
            logged += 1
        print(f"  round {r + 1}/{versions}: {logged} versions, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    for i in range(GROUP - 1, artifacts, 5 * GROUP):  # the pipelines' models (the registry takes models)
        _artcli_in_process(["link", f"{project_of(i)}/art-{i:04d}", f"registry/models/c{i:04d}",
                            "--alias", "production"])
    return {"versions": logged, "seconds": round(time.perf_counter() - t0, 1),
            "per_version_ms": round((time.perf_counter() - t0) / max(1, logged) * 1000, 1)}


def site(out: Path, env: dict[str, str], label: str) -> dict[str, Any]:
    res = run_cmd([sys.executable, "-m", "artcli", "site", "--out", str(out), "--json"], label=label,
                  env=env, timeout=3600)
    if not res.ok:
        raise RuntimeError(f"{label} failed: {res.error}")
    doc = json.loads(res.stdout)
    return {"label": label, "wall_s": round(res.wall_s, 2), "cpu_s": round(res.user_s + res.sys_s, 2),
            "peak_rss_mib": round(res.maxrss_kib / 1024, 1), "pages": doc["pages"], "written": doc["written"],
            "unchanged": doc["unchanged"], "logs": doc["logs"], "logs_changed": doc["logs_changed"],
            "written_pages": doc["written_pages"] if doc["written"] <= 50 else doc["written_pages"][:10]}


def _env(home: Path, remote: Path) -> dict[str, str]:
    env = {**os.environ, "ARTCLI_REMOTE": remote.as_uri(), "ARTCLI_CACHE_DIR": str(home / "cache"),
           "ARTCLI_CONFIG_DIR": str(home / "config"), "ARTCLI_DATA_DIR": str(home / "data-dir")}
    for var in ("ARTCLI_RUN_ID", "ARTCLI_PROJECT", "GITHUB_ACTIONS", "GITLAB_CI"):
        env.pop(var, None)
    return env


def _use(env: dict[str, str]) -> None:
    """Point this process's in-process artcli at the same remote and cache as ``env``."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("ARTCLI_")})
    for var in ("ARTCLI_RUN_ID", "ARTCLI_PROJECT"):
        os.environ.pop(var, None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--artifacts", type=int, default=1000)
    ap.add_argument("--versions", type=int, default=10)
    ap.add_argument("--work", type=Path, default=HERE / ".work" / "site")
    ap.add_argument("--scratch", type=Path, default=Path("/dev/shm/artcli-site-bench"),
                    help="where the remote is generated before it is copied to --work (default: tmpfs)")
    ap.add_argument("--reuse", action="store_true", help="keep the remote of an earlier run with the same size")
    ap.add_argument("--results", type=Path, default=HERE / "results", help="where the JSON result goes")
    args = ap.parse_args()
    size = f"{args.artifacts}x{args.versions}"
    work = args.work / size
    remote = work / "remote"
    if not args.reuse and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"artifacts": args.artifacts, "versions_each": args.versions,
                              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "machine": f"{os.cpu_count()} cores", "load_average": os.getloadavg()}
    if not (remote / "projects").exists():
        scratch = args.scratch / size if args.scratch.parent.is_dir() else work / "scratch"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        print(f"generating {args.artifacts} x {args.versions} versions in {scratch}", file=sys.stderr)
        _use(_env(scratch, scratch / "remote"))
        report["generate"] = generate(scratch, args.artifacts, args.versions)
        shutil.copytree(scratch / "remote", remote)
        shutil.rmtree(scratch)
    env = _env(work, remote)
    _use(env)
    shutil.rmtree(work / "cache", ignore_errors=True)
    builds = []
    for out in (work / "site-warm", work / "site-cold"):
        shutil.rmtree(out, ignore_errors=True)
    builds.append(site(work / "site-cold", env, "first build, empty cache"))
    builds.append(site(work / "site-warm", env, "first build, warm cache"))
    builds.append(site(work / "site-warm", env, "refresh, nothing changed"))
    folder = work / "data" / "extra"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-0.csv").write_text(f"one more,{time.time()}\n")
    i = args.artifacts // 2
    _artcli_in_process(["log", f"art-{i:04d}", str(folder), "--project", project_of(i), "--run", "job-extra",
                        "--input", f"{project_of(i - 1)}/art-{i - 1:04d}:v0"])
    builds.append(site(work / "site-warm", env, "refresh after one new log"))
    report["builds"] = builds
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    dest = args.results / f"site-{args.artifacts}x{args.versions}-{stamp}.json"
    dest.write_text(json.dumps(report, indent=1) + "\n")
    print("| run | wall s | CPU s | peak RSS MiB | pages | written | logs changed |\n| --- | --- | --- | --- | --- | --- | --- |")
    for b in builds:
        print(f"| {b['label']} | {b['wall_s']} | {b['cpu_s']} | {b['peak_rss_mib']} | {b['pages']} | {b['written']} "
              f"| {b['logs_changed']} of {b['logs']} |")
    print(f"\nwritten after one new log: {builds[-1]['written_pages']}\nresults: {dest}")


if __name__ == "__main__":
    main()
