"""The benchmark steps, shared by run.py (artcli + peers) and smoke.py (artcli only).

A *step* (ingest, relog, push, download, large, startup, floor) is a function
``step_x(ctx) -> dict``.  Inside a step, each tool is a :class:`Variant`: a
function that gets a fresh directory, does its untimed setup and runs its
timed commands through :meth:`Run.cmd`.  Variants run alternately, repetition
by repetition (the starting tool rotates each repetition), so drift in the
machine's state hits every tool alike.  A variant whose tool is missing is
recorded as "not available"; a variant that fails records its error text and
the step goes on.

Timed results land in *buckets* ``(case, tool)``: a case is one row group of
the report (``"A"``, ``"B cold"``, ``"--help"``...).  In each case the tool
called ``artcli`` is the baseline of the ratios.
"""

from __future__ import annotations

import filecmp
import json
import os
import platform
import re
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from benchmarks.datasets import specs_for, tree_stats
from benchmarks.measure import CmdResult, run_cmd
from benchmarks.s3server import MotoServer

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
MAIN_PYTHON = REPO_DIR / ".venv" / "bin" / "python"
PEERS_BIN = BENCH_DIR / ".venv-peers" / "bin"
WANDB_SCRIPT = BENCH_DIR / "wandb_log.py"
FLOOR_SCRIPT = BENCH_DIR / "floor.py"
SCHEMA = "artcli-bench/1"
BUCKET = "bench"
RSS_TARGET_MIB = 200

STEP_ORDER: tuple[str, ...] = ("ingest", "relog", "push", "download", "large", "startup", "floor", "azure",
                               "incremental")
STEP_TITLES: dict[str, str] = {
    "ingest": "Ingest A and B to a local-folder remote",
    "relog": "Unchanged re-log of B",
    "push": "Push A and B to the S3 server",
    "download": "Download A and B, empty cache (cold) and warm cache",
    "large": "C: one large file up and down (peak RSS)",
    "startup": "Start-up",
    "floor": "The floor: read + BLAKE3 once (and + one copy)",
    "azure": "B pushed and pulled by artcli on Azure (Azurite) beside S3 (moto)",
    "incremental": "An incremental version: one new file added to A on S3",
}
SMOKE_STEPS: tuple[str, ...] = ("ingest", "relog", "download", "floor")
DEFAULT_TIMEOUTS: dict[str, float] = {"smoke": 300.0, "small": 1200.0, "full": 3600.0}


# --------------------------------------------------------------------------- tools


@dataclass
class Tools:
    artcli: list[str] | None = None
    artcli_note: str = "not checked"
    dvc: Path | None = None
    s5cmd: Path | None = None
    wandb_python: Path | None = None
    python: str = str(MAIN_PYTHON if MAIN_PYTHON.exists() else Path(sys.executable))
    blake3: bool = False
    versions: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def default_artcli_cmd() -> list[str]:
    exe = REPO_DIR / ".venv" / "bin" / "artcli"
    if exe.exists():
        return [str(exe)]
    return [str(MAIN_PYTHON if MAIN_PYTHON.exists() else sys.executable), "-m", "artcli"]


def _version_of(argv: list[str], timeout: float = 120.0) -> tuple[str | None, str]:
    r = run_cmd(argv, timeout=timeout)
    text = (r.stdout.strip() or (r.error or "")).strip()
    if not r.ok:
        return None, (r.error or text or f"exit {r.rc}").strip().splitlines()[-1][:300]
    return (text.splitlines()[-1].strip() if text else ""), ""


def detect_tools(artcli_cmd: list[str] | None, use_peers: bool = True) -> Tools:
    """Find what can run: artcli (via ``--version``), the peers, blake3 for the floor."""
    tools = Tools()
    if artcli_cmd:
        version, err = _version_of([*artcli_cmd, "--version"], timeout=60)
        if version is None:
            tools.artcli_note = f"`{' '.join(artcli_cmd)} --version` failed: {err}"
        else:
            tools.artcli = list(artcli_cmd)
            tools.artcli_note = version
            tools.versions["artcli"] = version
    else:
        tools.artcli_note = "no artcli command given"
    version, err = _version_of([tools.python, "-c", "import blake3; print(blake3.__version__)"])
    tools.blake3 = version is not None
    if version:
        tools.versions["blake3 (python)"] = version
    else:
        tools.notes["blake3"] = err
    tools.versions["python"] = platform.python_version()
    if not use_peers:
        return tools
    probes: list[tuple[str, list[str]]] = [
        ("dvc", [str(PEERS_BIN / "dvc"), "--version"]),
        ("s5cmd", [str(PEERS_BIN / "s5cmd"), "version"]),
        ("wandb", [str(PEERS_BIN / "python"), "-c", "import wandb; print(wandb.__version__)"]),
        ("moto", [str(PEERS_BIN / "python"), "-c", "import moto; print(moto.__version__)"]),
    ]
    for name, argv in probes:
        if not Path(argv[0]).exists():
            tools.notes[name] = "not installed (run benchmarks/setup_peers.py)"
            continue
        version, err = _version_of(argv)
        if version is None:
            tools.notes[name] = err
            continue
        tools.versions[name] = version
        if name == "dvc":
            tools.dvc = PEERS_BIN / "dvc"
        elif name == "s5cmd":
            tools.s5cmd = PEERS_BIN / "s5cmd"
        elif name == "wandb":
            tools.wandb_python = PEERS_BIN / "python"
    return tools


# --------------------------------------------------------------------------- context


@dataclass
class Ctx:
    size: str
    workdir: Path
    data: dict[str, Path]
    tools: Tools
    s3: MotoServer | None = None
    azure: Any = None  # benchmarks.azure_step.AzuriteForBench when Azurite runs
    reps: int = 3
    startup_reps: int = 10
    timeout: float = 600.0
    drop_caches: bool = False
    keep: bool = False
    verbose: bool = True
    datasets: tuple[str, ...] | None = None  # --datasets: only these sets (None: every set of a step)
    only_tools: tuple[str, ...] | None = None  # --tools: only these tools (None: all)

    def sets(self, *names: str) -> tuple[str, ...]:
        """The data sets of ``names`` that ``--datasets`` selected."""
        return tuple(n for n in names if self.datasets is None or n in self.datasets)

    def discard(self, path: Path) -> None:
        """Remove a scratch tree without taxing the next timed command: a tree of many files is
        moved to ``trash/`` and deleted at the end of the run. (On a journal-less ext4, as on
        the benchmark machine, creating files within about a minute of deleting many others is
        quadratic: ext4 skips recently deleted inodes one by one, ``recently_deleted()`` in
        fs/ext4/ialloc.c. Measured here: 20,000 file creations took 17 s right after an
        ``rm -rf`` of 20,000 files, 2.3 s otherwise. That cost belongs to the harness's cleanup,
        not to whichever tool runs next.)"""
        if not path.exists():
            return
        n = 0
        for _, dirs, files in os.walk(path):
            n += len(dirs) + len(files)
            if n > 1000:
                trash = self.workdir / "trash"
                trash.mkdir(exist_ok=True)
                path.rename(trash / f"{len(list(trash.iterdir()))}-{path.name}")
                return
        shutil.rmtree(path, ignore_errors=True)

    def log(self, msg: str) -> None:
        if self.verbose:
            print(msg, file=sys.stderr, flush=True)

    def env(self, **extra: str | Path) -> dict[str, str]:
        """A clean child environment: dummy AWS credentials, no stray ARTCLI_/WANDB_/DVC_ settings."""
        drop = ("ARTCLI_", "AWS_", "WANDB_", "DVC_", "S3_", "AZURE_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        env.update(
            AWS_ACCESS_KEY_ID="artcli-bench",
            AWS_SECRET_ACCESS_KEY="artcli-bench-secret",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=str(self.workdir / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.workdir / "no-aws-credentials"),
            DVC_NO_ANALYTICS="1",
            NO_COLOR="1",
        )
        if self.s3 is not None:
            env["AWS_ENDPOINT_URL"] = self.s3.endpoint
        if self.azure is not None:
            env["AZURE_STORAGE_CONNECTION_STRING"] = self.azure.connection_string
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def missing(self, needs: Iterable[str]) -> str | None:
        """Why a variant needing ``needs`` cannot run, or None."""
        t = self.tools
        for need in needs:
            if need == "artcli" and t.artcli is None:
                return f"artcli not available ({t.artcli_note})"
            if need in ("dvc", "s5cmd") and getattr(t, need) is None:
                return f"{need} not available ({t.notes.get(need, 'peers disabled')})"
            if need == "wandb" and t.wandb_python is None:
                return f"wandb not available ({t.notes.get('wandb', 'peers disabled')})"
            if need == "s3" and self.s3 is None:
                return "no S3 server"
            if need == "azure" and self.azure is None:
                return "no Azurite (needs node and npm; see tests/azure_emulator.py)"
            if need == "blake3" and not t.blake3:
                return f"blake3 not importable by {t.python} ({t.notes.get('blake3', '')})"
        return None


class RunFailed(Exception):
    """A setup or timed command of one variant run failed (the message says which)."""


Bucket = tuple[str, str]  # (case, tool)


@dataclass
class Variant:
    """One tool in one group of cases.

    ``fn`` runs once per repetition in a fresh directory.  ``prepare``, if given,
    runs once before the first repetition (untimed) in a directory that the
    repetitions see as ``run.prepared`` -- for state that the timed part reads but
    does not change, such as an upload that cold/warm downloads then read.
    """

    tool: str
    fn: Callable[[Run], None]
    needs: tuple[str, ...] = ()
    buckets: list[Bucket] = field(default_factory=list)
    prepare: Callable[[Run], None] | None = None


class Run:
    """One repetition of one variant, in its own fresh directory."""

    def __init__(self, ctx: Ctx, variant: Variant, directory: Path, measure_server: bool = False) -> None:
        self.ctx = ctx
        self.variant = variant
        self.dir = directory
        self.measure_server = measure_server
        self.results: list[tuple[Bucket, CmdResult]] = []
        self.current: Bucket | None = None
        self.prepared: Path = directory  # the variant's prepare() directory, when it has one

    def cmd(
        self,
        argv: list[str | Path],
        *,
        label: str,
        bucket: Bucket | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        timed: bool = True,
    ) -> CmdResult:
        """Run a command; timed ones are recorded in ``bucket``.  Raises RunFailed on failure."""
        ctx = self.ctx
        r = run_cmd(
            [str(a) for a in argv],
            label=label,
            cwd=cwd or self.dir,
            env=env if env is not None else ctx.env(),
            timeout=ctx.timeout,
            server=ctx.s3 if timed and self.measure_server else None,
            drop_caches=ctx.drop_caches and timed,
        )
        if timed:
            key = bucket or self.variant.buckets[0]
            self.current = key
            self.results.append((key, r))
        if not r.ok:
            raise RunFailed(f"{'' if timed else 'setup: '}{label}: {r.error}")
        return r

    def setup(self, argv: list[str | Path], *, label: str, **kw: Any) -> CmdResult:
        return self.cmd(argv, label=label, timed=False, **kw)


class StepCollector:
    def __init__(self, ctx: Ctx, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self.cases: dict[str, dict[str, dict[str, Any]]] = {}
        self.notes: list[str] = []
        self.remote = ""
        self.uses_s3 = False  # measure the S3 server's CPU around timed commands
        self.t0 = time.monotonic()

    def bucket(self, key: Bucket) -> dict[str, Any]:
        case, tool = key
        return self.cases.setdefault(case, {}).setdefault(
            tool, {"tool": tool, "label": "", "unavailable": None, "runs": []}
        )

    def result(self) -> dict[str, Any]:
        cases = []
        for case, tools in self.cases.items():
            rows = []
            for b in tools.values():
                b["summary"] = summarize(b["runs"])
                rows.append(b)
            base = tools.get("artcli", {}).get("summary", {}).get("median_s")
            for b in rows:
                peer = b["summary"].get("median_s")
                if b["tool"] != "artcli" and base and peer:
                    b["ratio"] = round(base / peer, 4)  # artcli / peer: < 1 means artcli faster
                    b["speedup"] = round(peer / base, 4)  # > 1 means artcli is that many x faster
            cases.append({"case": case, "tools": rows})
        return {
            "step": self.name,
            "number": STEP_ORDER.index(self.name) + 1,
            "title": STEP_TITLES[self.name],
            "remote": self.remote,
            "seconds": round(time.monotonic() - self.t0, 2),
            "notes": self.notes,
            "cases": cases,
        }


def _safe(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("_") or "x"


def run_group(
    ctx: Ctx,
    col: StepCollector,
    variants: list[Variant],
    reps: int,
    before: Callable[[], None] | None = None,
) -> None:
    """Run ``variants`` alternately for ``reps`` repetitions, filling the collector.

    ``before`` runs once first (e.g. a fresh S3 bucket), then each variant's
    ``prepare``; a variant whose prepare fails gets that error in every bucket.
    """
    runnable: list[Variant] = []
    for v in variants:
        reason = ctx.missing(v.needs)
        if ctx.only_tools is not None and v.tool.split()[0] not in ctx.only_tools:
            reason = "not selected (--tools)"
        for key in v.buckets:
            col.bucket(key)  # keep the declared row order
            if reason:
                col.bucket(key)["unavailable"] = reason
        if reason:
            ctx.log(f"[{col.name}] {v.tool}: skipped, {reason}")
        else:
            runnable.append(v)
    if not runnable:
        return
    if before is not None:
        before()
    prepared: dict[int, Path] = {}
    for v in list(runnable):
        if v.prepare is None:
            continue
        d = ctx.workdir / col.name / _safe(v.buckets[0][0]) / _safe(v.tool) / "prepared"
        error = _call(v.prepare, Run(ctx, v, _fresh_dir(ctx, d)))
        if error is None:
            prepared[id(v)] = d
            continue
        ctx.log(f"[{col.name}] {v.tool}: prepare failed: {error.splitlines()[0][:200]}")
        runnable.remove(v)
        for key in v.buckets:
            col.bucket(key)["runs"].append(_record(0, [], f"prepare: {error}"))
    try:
        for rep in range(reps):
            k = rep % len(runnable) if runnable else 0
            for v in runnable[k:] + runnable[:k]:
                _run_one(ctx, col, v, rep, prepared.get(id(v)))
    finally:
        if not ctx.keep:
            for d in prepared.values():
                ctx.discard(d)


def _fresh_dir(ctx: Ctx, d: Path) -> Path:
    ctx.discard(d)
    d.mkdir(parents=True)
    return d


def _call(fn: Callable[[Run], None], run: Run) -> str | None:
    """Run ``fn(run)``; return the error text, or None if it succeeded."""
    try:
        fn(run)
    except RunFailed as exc:
        return str(exc)
    except Exception as exc:  # a harness or environment problem: record it, go on
        return f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
    return None


def _run_one(ctx: Ctx, col: StepCollector, v: Variant, rep: int, prepared: Path | None) -> None:
    d = _fresh_dir(ctx, ctx.workdir / col.name / _safe(v.buckets[0][0]) / _safe(v.tool) / f"rep{rep}")
    run = Run(ctx, v, d, measure_server=col.uses_s3)
    if prepared is not None:
        run.prepared = prepared
    try:
        error = _call(v.fn, run)
    finally:
        if not ctx.keep:
            ctx.discard(d)
    by_bucket: dict[Bucket, list[CmdResult]] = {}
    for key, r in run.results:
        by_bucket.setdefault(key, []).append(r)
    keys = list(v.buckets) + [k for k in by_bucket if k not in v.buckets]
    for key in keys:
        cmds = by_bucket.get(key, [])
        err: str | None = None
        if error is not None:
            if key == run.current or run.current is None:
                err = error
            elif not cmds:
                err = f"not reached: {error}"
        rec = _record(rep, cmds, err)
        b = col.bucket(key)
        b["runs"].append(rec)
        if rec["ok"] and not b["label"]:
            b["label"] = " + ".join(dict.fromkeys(c.label for c in cmds))
        what = (
            f"{rec['wall_s']:.3f}s rss {rec['maxrss_kib'] / 1024:.0f} MiB"
            if rec["ok"]
            else f"ERROR {str(rec['error']).splitlines()[0][:200] if rec['error'] else ''}"
        )
        ctx.log(f"[{col.name}] {key[0]} / {key[1]} rep{rep}: {what}")


def _record(rep: int, cmds: list[CmdResult], err: str | None) -> dict[str, Any]:
    ok = bool(cmds) and all(c.ok for c in cmds) and err is None
    server = [c.server_cpu_s for c in cmds if c.server_cpu_s is not None]
    inner = [c.extra["inner_s"] for c in cmds if "inner_s" in c.extra]
    rec: dict[str, Any] = {
        "rep": rep,
        "ok": ok,
        "wall_s": round(sum(c.wall_s for c in cmds), 4),
        "user_s": round(sum(c.user_s for c in cmds), 4),
        "sys_s": round(sum(c.sys_s for c in cmds), 4),
        "maxrss_kib": max((c.maxrss_kib for c in cmds), default=0),
        "server_cpu_s": round(sum(server), 3) if server else None,
        "cmds": [c.to_json() for c in cmds],
        "error": err if err is not None else next((c.error for c in cmds if not c.ok), None),
    }
    if inner:
        rec["inner_s"] = round(sum(inner), 4)
    if not cmds and rec["error"] is None:
        rec["error"] = "no timed command ran"
    return rec


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in runs if r["ok"]]
    errors = list(dict.fromkeys(str(r["error"]) for r in runs if not r["ok"] and r["error"]))
    s: dict[str, Any] = {"n": len(runs), "n_ok": len(ok), "errors": errors}
    if not ok:
        return s
    walls = [r["wall_s"] for r in ok]
    s.update(
        median_s=round(median(walls), 4),
        min_s=round(min(walls), 4),
        max_s=round(max(walls), 4),
        user_s=round(median(r["user_s"] for r in ok), 4),
        sys_s=round(median(r["sys_s"] for r in ok), 4),
        maxrss_mib=round(max(r["maxrss_kib"] for r in ok) / 1024, 1),
    )
    server = [r["server_cpu_s"] for r in ok if r["server_cpu_s"] is not None]
    s["server_cpu_s"] = round(median(server), 3) if server else None
    inner = [r["inner_s"] for r in ok if "inner_s" in r]
    if inner:
        s["inner_s"] = round(median(inner), 4)
    parts: dict[str, list[float]] = {}
    for r in ok:
        for c in r["cmds"]:
            parts.setdefault(c["label"], []).append(c["wall_s"])
    if len(parts) > 1:
        s["parts"] = {k: round(median(v), 4) for k, v in parts.items()}
    return s


# --------------------------------------------------------------------------- helpers


def file_url(path: Path) -> str:
    return "file://" + str(path.resolve())


def s3_url(prefix: str) -> str:
    return f"s3://{BUCKET}/{prefix}"


def verify_tree(src: Path, dst: Path, full_limit: int = 256 * 1024 * 1024) -> None:
    """Raise RunFailed unless ``dst`` holds the same relative paths, sizes and bytes as ``src``.

    Byte comparison is complete up to ``full_limit`` bytes; above that, the first
    and last MiB of every file are compared.
    """

    def listing(root: Path) -> dict[str, int]:
        out: dict[str, int] = {}
        for dirpath, _dirs, names in os.walk(root):
            for n in names:
                p = os.path.join(dirpath, n)
                out[os.path.relpath(p, root)] = os.stat(p).st_size
        return out

    if not dst.is_dir():
        raise RunFailed(f"verify: {dst} was not created")
    a, b = listing(src), listing(dst)
    if a != b:
        missing = sorted(set(a) - set(b))[:3]
        extra = sorted(set(b) - set(a))[:3]
        sized = sorted(k for k in set(a) & set(b) if a[k] != b[k])[:3]
        raise RunFailed(
            f"verify: {dst} differs from {src}: {len(a)} vs {len(b)} files; "
            f"missing {missing}, unexpected {extra}, size differs {sized}"
        )
    total = sum(a.values())
    for rel, size in a.items():
        if total <= full_limit:
            same = filecmp.cmp(src / rel, dst / rel, shallow=False)
        else:
            same = all(_read_at(src / rel, off) == _read_at(dst / rel, off) for off in (0, max(0, size - (1 << 20))))
        if not same:
            raise RunFailed(f"verify: content of {rel} differs")


def _read_at(path: Path, offset: int, n: int = 1 << 20) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(n)


# --------------------------------------------------------------------------- per-tool building blocks


def artcli_env(run: Run, state: Path) -> dict[str, str]:
    return run.ctx.env(
        ARTCLI_CACHE_DIR=state / "cache",
        ARTCLI_CONFIG_DIR=state / "config",
        ARTCLI_DATA_DIR=state / "data",
        ARTCLI_PROJECT="bench",
    )


def parse_ref(stdout: str, name: str) -> str:
    """``name:vN`` from ``artcli log --json`` output (or a printed ``project/name:vN``)."""
    text = stdout.strip()
    try:
        data = json.loads(text)
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int):
            return f"{name}:v{version}"
        if isinstance(version, str) and version:
            return f"{name}:{version if version.startswith('v') else 'v' + version}"
    except ValueError:
        pass
    m = re.findall(r":(v\d+)\b", text)
    return f"{name}:{m[-1]}" if m else name


def artcli_log(
    run: Run,
    name: str,
    src: Path,
    remote: str,
    state: Path,
    *,
    timed: bool = True,
    label: str = "artcli log",
    bucket: Bucket | None = None,
) -> str:
    argv: list[str | Path] = [*(run.ctx.tools.artcli or []), "log", name, src, "--remote", remote, "--json"]
    r = run.cmd(argv, label=label, bucket=bucket, env=artcli_env(run, state), timed=timed)
    ref = parse_ref(r.stdout, name)
    r.extra["ref"] = ref
    return ref


def artcli_download(
    run: Run,
    ref: str,
    root: Path,
    remote: str,
    state: Path,
    *,
    label: str = "artcli download",
    bucket: Bucket | None = None,
) -> CmdResult:
    argv: list[str | Path] = [*(run.ctx.tools.artcli or []), "download", ref, "--root", root, "--remote", remote]
    return run.cmd(argv, label=label, bucket=bucket, env=artcli_env(run, state))


def dvc_repo(run: Run, src: Path, remote: str, s3: bool) -> Path:
    """A fresh ``dvc init --no-scm`` repo holding a copy of ``src`` as ``data/`` (untimed)."""
    repo = run.dir / "repo"
    repo.mkdir()
    shutil.copytree(src, repo / "data")
    dvc = run.ctx.tools.dvc
    assert dvc is not None
    run.setup([dvc, "init", "--no-scm", "-q"], label="dvc init", cwd=repo)
    lines = [
        "[core]",
        "    no_scm = True",
        "    analytics = false",
        "    remote = bench",
        f"    site_cache_dir = {run.dir / 'dvc-site-cache'}",
        "['remote \"bench\"']",
        f"    url = {remote}",
    ]
    if s3:
        assert run.ctx.s3 is not None
        lines.append(f"    endpointurl = {run.ctx.s3.endpoint}")
    (repo / ".dvc" / "config").write_text("\n".join(lines) + "\n")
    return repo


def s5cmd_argv(run: Run, *args: str | Path) -> list[str | Path]:
    assert run.ctx.tools.s5cmd is not None and run.ctx.s3 is not None
    return [run.ctx.tools.s5cmd, "--endpoint-url", run.ctx.s3.endpoint, *args]


def wandb_env(run: Run) -> dict[str, str]:
    d = run.dir
    return run.ctx.env(
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_DIR=d / "wandb",
        WANDB_CACHE_DIR=d / "wandb-cache",
        WANDB_CONFIG_DIR=d / "wandb-config",
        WANDB_DATA_DIR=d / "wandb-data",
        WANDB_ARTIFACT_DIR=d / "wandb-artifacts",
        WANDB_DISABLE_GIT="true",
        WANDB_DISABLE_CODE="true",
        WANDB_CONSOLE="off",
    )


def _inner(r: CmdResult) -> None:
    """Copy an in-process ``seconds`` figure printed as JSON by floor.py / wandb_log.py."""
    try:
        r.extra["inner_s"] = float(json.loads(r.stdout.strip().splitlines()[-1])["seconds"])
    except (ValueError, KeyError, IndexError, TypeError):
        pass


def _fresh_bucket(run: Run) -> None:
    if run.ctx.s3 is not None:
        run.ctx.s3.fresh_bucket(BUCKET)


# --------------------------------------------------------------------------- step 1: ingest


def _ingest_variants(ctx: Ctx, ds: str) -> list[Variant]:
    src = ctx.data[ds]
    name = f"data-{ds}"

    def artcli(run: Run) -> None:
        artcli_log(run, name, src, file_url(run.dir / "remote"), run.dir / "state")

    def dvc(run: Run) -> None:
        repo = dvc_repo(run, src, str(run.dir / "remote"), s3=False)
        run.cmd([ctx.tools.dvc or "dvc", "add", "data"], label="dvc add", cwd=repo)
        run.cmd([ctx.tools.dvc or "dvc", "push"], label="dvc push", cwd=repo)

    def wandb(run: Run) -> None:
        r = run.cmd(
            [ctx.tools.wandb_python or "python", WANDB_SCRIPT, name, src, run.dir],
            label="wandb log_artifact (offline)",
            env=wandb_env(run),
        )
        _inner(r)

    return [
        Variant("artcli", artcli, ("artcli",), [(ds, "artcli")]),
        Variant("dvc", dvc, ("dvc",), [(ds, "dvc")]),
        Variant("wandb", wandb, ("wandb",), [(ds, "wandb")]),
    ]


def step_ingest(ctx: Ctx) -> dict[str, Any]:
    col = StepCollector(ctx, "ingest")
    col.remote = "local folder (file://)"
    for ds in ctx.sets("A", "B"):
        run_group(ctx, col, _ingest_variants(ctx, ds), ctx.reps)
    col.notes.append("wandb offline does not upload: it stages a full copy and writes the run file.")
    return col.result()


# --------------------------------------------------------------------------- step 2: relog


def _relog_variants(ctx: Ctx, ds: str) -> list[Variant]:
    src = ctx.data[ds]
    name = f"data-{ds}"

    def artcli_prepare(run: Run) -> None:
        ref = artcli_log(run, name, src, file_url(run.dir / "remote"), run.dir / "state", timed=False)
        (run.dir / "ref.txt").write_text(ref)

    def artcli(run: Run) -> None:
        p = run.prepared
        again = artcli_log(run, name, src, file_url(p / "remote"), p / "state", label="artcli log (unchanged)")
        run.results[-1][1].extra["same_version"] = (p / "ref.txt").read_text() == again

    def dvc_prepare(run: Run) -> None:
        repo = dvc_repo(run, src, str(run.dir / "remote"), s3=False)
        run.setup([ctx.tools.dvc or "dvc", "add", "data"], label="dvc add", cwd=repo)
        run.setup([ctx.tools.dvc or "dvc", "push"], label="dvc push", cwd=repo)

    def dvc(run: Run) -> None:
        dvc_exe, repo = ctx.tools.dvc or "dvc", run.prepared / "repo"
        run.cmd([dvc_exe, "add", "data"], label="dvc add (unchanged)", cwd=repo, bucket=(ds, "dvc add"))
        run.cmd([dvc_exe, "status"], label="dvc status", cwd=repo, bucket=(ds, "dvc status"))

    return [
        Variant("artcli", artcli, ("artcli",), [(ds, "artcli")], prepare=artcli_prepare),
        Variant("dvc", dvc, ("dvc",), [(ds, "dvc add"), (ds, "dvc status")], prepare=dvc_prepare),
    ]


def step_relog(ctx: Ctx) -> dict[str, Any]:
    col = StepCollector(ctx, "relog")
    col.remote = "local folder (file://)"
    run_group(ctx, col, _relog_variants(ctx, "B"), ctx.reps)
    col.notes.append(
        "B is logged (artcli) / added + pushed (dvc) once, untimed; each repetition then times the unchanged re-run."
    )
    return col.result()


# --------------------------------------------------------------------------- step 3: push to S3


def _push_variants(ctx: Ctx, ds: str) -> list[Variant]:
    src = ctx.data[ds]
    name = f"data-{ds}"

    def artcli(run: Run) -> None:
        _fresh_bucket(run)
        artcli_log(run, name, src, s3_url("artcli"), run.dir / "state", label="artcli log (s3)")

    def s5cmd(run: Run) -> None:
        _fresh_bucket(run)
        run.cmd(s5cmd_argv(run, "cp", f"{src}/*", s3_url("s5cmd/")), label="s5cmd cp")

    def dvc(run: Run) -> None:
        _fresh_bucket(run)
        repo = dvc_repo(run, src, s3_url("dvc"), s3=True)
        run.cmd([ctx.tools.dvc or "dvc", "add", "data"], label="dvc add", cwd=repo)
        run.cmd([ctx.tools.dvc or "dvc", "push"], label="dvc push", cwd=repo)

    return [
        Variant("artcli", artcli, ("artcli", "s3"), [(ds, "artcli")]),
        Variant("s5cmd", s5cmd, ("s5cmd", "s3"), [(ds, "s5cmd")]),
        Variant("dvc", dvc, ("dvc", "s3"), [(ds, "dvc")]),
    ]


def step_push(ctx: Ctx) -> dict[str, Any]:
    col = StepCollector(ctx, "push")
    col.remote = "S3 (moto server)"
    col.uses_s3 = ctx.s3 is not None
    for ds in ctx.sets("A", "B"):
        run_group(ctx, col, _push_variants(ctx, ds), ctx.reps)
    col.notes.append("artcli log hashes and uploads; s5cmd only uploads; dvc = add (hash) + push.")
    return col.result()


# --------------------------------------------------------------------------- step 4: download


def _download_variants(ctx: Ctx, ds: str) -> list[Variant]:
    src = ctx.data[ds]
    name = f"data-{ds}"
    cold, warm = f"{ds} cold", f"{ds} warm"
    use_s3 = ctx.s3 is not None

    def artcli_remote(prepared: Path) -> str:
        return s3_url("artcli") if use_s3 else file_url(prepared / "remote")

    def artcli_prepare(run: Run) -> None:
        ref = artcli_log(run, name, src, artcli_remote(run.dir), run.dir / "state-up", timed=False)
        (run.dir / "ref.txt").write_text(ref)

    def artcli(run: Run) -> None:
        remote, ref = artcli_remote(run.prepared), (run.prepared / "ref.txt").read_text()
        state = run.dir / "state-down"  # empty cache, config and data dirs
        artcli_download(run, ref, run.dir / "out-cold", remote, state, bucket=(cold, "artcli"))
        verify_tree(src, run.dir / "out-cold")
        artcli_download(run, ref, run.dir / "out-warm", remote, state, bucket=(warm, "artcli"))
        verify_tree(src, run.dir / "out-warm")

    def dvc_prepare(run: Run) -> None:
        remote = s3_url("dvc") if use_s3 else str(run.dir / "remote")
        repo = dvc_repo(run, src, remote, s3=use_s3)
        run.setup([ctx.tools.dvc or "dvc", "add", "data"], label="dvc add", cwd=repo)
        run.setup([ctx.tools.dvc or "dvc", "push"], label="dvc push", cwd=repo)

    def dvc(run: Run) -> None:
        dvc_exe, repo = ctx.tools.dvc or "dvc", run.prepared / "repo"
        for p in (repo / "data", repo / ".dvc" / "cache", run.prepared / "dvc-site-cache"):
            ctx.discard(p)
        run.cmd([dvc_exe, "pull"], label="dvc pull", cwd=repo, bucket=(cold, "dvc"))
        verify_tree(src, repo / "data")
        ctx.discard(repo / "data")
        run.cmd([dvc_exe, "pull"], label="dvc pull (cache warm)", cwd=repo, bucket=(warm, "dvc"))
        verify_tree(src, repo / "data")

    def s5cmd_prepare(run: Run) -> None:
        run.setup(s5cmd_argv(run, "cp", f"{src}/*", s3_url("s5cmd/")), label="s5cmd cp up")

    def s5cmd(run: Run) -> None:
        for case, out in ((cold, "out-cold"), (warm, "out-warm")):
            run.cmd(
                s5cmd_argv(run, "cp", s3_url("s5cmd/*"), f"{run.dir / out}/"),
                label="s5cmd cp" if case == cold else "s5cmd cp (no cache: same download)",
                bucket=(case, "s5cmd"),
            )
            verify_tree(src, run.dir / out)

    return [
        Variant("artcli", artcli, ("artcli",), [(cold, "artcli"), (warm, "artcli")], prepare=artcli_prepare),
        Variant("dvc", dvc, ("dvc",), [(cold, "dvc"), (warm, "dvc")], prepare=dvc_prepare),
        Variant("s5cmd", s5cmd, ("s5cmd", "s3"), [(cold, "s5cmd"), (warm, "s5cmd")], prepare=s5cmd_prepare),
    ]


def step_download(ctx: Ctx) -> dict[str, Any]:
    col = StepCollector(ctx, "download")
    col.remote = "S3 (moto server)" if ctx.s3 is not None else "local folder (file://)"
    col.uses_s3 = ctx.s3 is not None
    fresh = (lambda: ctx.s3.fresh_bucket(BUCKET)) if ctx.s3 is not None else None
    for ds in ctx.sets("A", "B"):
        run_group(ctx, col, _download_variants(ctx, ds), ctx.reps, before=fresh)
    col.notes.append(
        "Each tool uploads A / B once (untimed, own prefix); then per repetition "
        "cold: empty artcli cache/state dirs, or dvc workspace + .dvc/cache + site cache removed; "
        "warm: a second download into a new directory with that cache kept (dvc: workspace removed)."
    )
    return col.result()


# --------------------------------------------------------------------------- step 5: large file


def _large_variants(ctx: Ctx) -> list[Variant]:
    src = ctx.data["C"]
    use_s3 = ctx.s3 is not None
    up, down = "C upload", "C download (cold)"

    def artcli(run: Run) -> None:
        _fresh_bucket(run)
        remote = s3_url("artcli") if use_s3 else file_url(run.dir / "remote")
        ref = artcli_log(run, "data-C", src, remote, run.dir / "state-up", label="artcli log", bucket=(up, "artcli"))
        artcli_download(run, ref, run.dir / "out", remote, run.dir / "state-down", bucket=(down, "artcli"))
        verify_tree(src, run.dir / "out")

    def s5cmd(run: Run) -> None:
        _fresh_bucket(run)
        run.cmd(s5cmd_argv(run, "cp", f"{src}/*", s3_url("s5cmd/")), label="s5cmd cp up", bucket=(up, "s5cmd"))
        run.cmd(
            s5cmd_argv(run, "cp", s3_url("s5cmd/*"), f"{run.dir / 'out'}/"),
            label="s5cmd cp down",
            bucket=(down, "s5cmd"),
        )
        verify_tree(src, run.dir / "out")

    return [
        Variant("artcli", artcli, ("artcli",), [(up, "artcli"), (down, "artcli")]),
        Variant("s5cmd", s5cmd, ("s5cmd", "s3"), [(up, "s5cmd"), (down, "s5cmd")]),
    ]


def step_large(ctx: Ctx) -> dict[str, Any]:
    col = StepCollector(ctx, "large")
    col.remote = "S3 (moto server)" if ctx.s3 is not None else "local folder (file://)"
    col.uses_s3 = ctx.s3 is not None
    run_group(ctx, col, _large_variants(ctx), ctx.reps)
    col.notes.append(f"Target: artcli peak RSS < {RSS_TARGET_MIB} MiB whatever the file size.")
    return col.result()


# --------------------------------------------------------------------------- step 6: start-up


def _startup_variants(ctx: Ctx) -> list[Variant]:
    def artcli(run: Run) -> None:
        env = artcli_env(run, run.dir / "state")
        for flag in ("--version", "--help"):
            run.cmd([*(ctx.tools.artcli or []), flag], label=f"artcli {flag}", env=env, bucket=(flag, "artcli"))
        # the Python API's entry: `import artcli` must cost <= IMPORT_BUDGET_MS over bare Python
        _inner(run.cmd([ctx.tools.python, "-c", IMPORT_PROBE], label="python -c 'import artcli'", env=env,
                       bucket=(IMPORT_CASE, "artcli")))

    def dvc(run: Run) -> None:
        for flag in ("--version", "--help"):
            run.cmd([ctx.tools.dvc or "dvc", flag], label=f"dvc {flag}", bucket=(flag, "dvc"))

    def python(run: Run) -> None:
        run.cmd([ctx.tools.python, "-c", "pass"], label="python -c pass", bucket=("--version", "python (bare)"))
        run.cmd([ctx.tools.python, "-c", "pass"], label="python -c pass", bucket=(IMPORT_CASE, "python (bare)"))

    return [
        Variant("artcli", artcli, ("artcli",), [("--version", "artcli"), ("--help", "artcli"),
                                                (IMPORT_CASE, "artcli")]),
        Variant("dvc", dvc, ("dvc",), [("--version", "dvc"), ("--help", "dvc")]),
        Variant("python", python, (), [("--version", "python (bare)"), (IMPORT_CASE, "python (bare)")]),
    ]


IMPORT_CASE = "import artcli"
IMPORT_BUDGET_MS = 30.0
# the process's wall time, plus the import alone timed inside it (free of process start-up noise)
IMPORT_PROBE = ("import json, time; t = time.perf_counter(); import artcli; "
                "print(json.dumps({'seconds': time.perf_counter() - t}))")


def import_cost_note(result: dict[str, Any]) -> str | None:
    """'import artcli' over bare Python, from the medians of one run (None when either is missing)."""
    case = next((c for c in result["cases"] if c["case"] == IMPORT_CASE), None)
    sums = {t["tool"]: t.get("summary", {}) for t in (case or {}).get("tools", [])}
    art, bare = sums.get("artcli", {}), sums.get("python (bare)", {})
    if not art.get("median_s") or not bare.get("median_s"):
        return None
    over = (art["median_s"] - bare["median_s"]) * 1000
    cpu = {k: (v.get("user_s") or 0) + (v.get("sys_s") or 0) for k, v in (("a", art), ("b", bare))}
    verdict = "within" if over <= IMPORT_BUDGET_MS else "OVER"
    return (f"`import artcli`: {art['median_s'] * 1000:.1f} ms vs bare Python {bare['median_s'] * 1000:.1f} ms: "
            f"{over:+.1f} ms wall, ratio {art['median_s'] / bare['median_s']:.2f} ({verdict} the "
            f"{IMPORT_BUDGET_MS:.0f} ms budget); CPU {cpu['a'] * 1000:.1f} vs {cpu['b'] * 1000:.1f} ms "
            f"({(cpu['a'] - cpu['b']) * 1000:+.1f} ms), the steadier figure on a loaded machine"
            + (f"; the import alone, timed inside the process: {art['inner_s'] * 1000:.1f} ms."
               if art.get("inner_s") is not None else "."))


def step_startup(ctx: Ctx) -> dict[str, Any]:
    col = StepCollector(ctx, "startup")
    col.remote = "none"
    run_group(ctx, col, _startup_variants(ctx), max(ctx.startup_reps, 1))
    col.notes.append("'python (bare)' is the interpreter's own start-up, for reference.")
    result = col.result()
    note = import_cost_note(result)
    if note:
        result["notes"].append(note)
    return result


# --------------------------------------------------------------------------- step 7: floor


def _floor_variants(ctx: Ctx, ds: str) -> list[Variant]:
    src = ctx.data[ds]

    def floor(run: Run) -> None:
        _inner(run.cmd([ctx.tools.python, FLOOR_SCRIPT, "hash", src], label="read + BLAKE3"))

    def floor_copy(run: Run) -> None:
        _inner(
            run.cmd(
                [ctx.tools.python, FLOOR_SCRIPT, "hashcopy", src, run.dir / "copy"],
                label="read + BLAKE3 + write a copy",
            )
        )

    return [
        Variant("floor", floor, ("blake3",), [(ds, "floor")]),
        Variant("floor + copy", floor_copy, ("blake3",), [(ds, "floor + copy")]),
    ]


def step_floor(ctx: Ctx) -> dict[str, Any]:
    col = StepCollector(ctx, "floor")
    col.remote = "none"
    for ds in ctx.sets("A", "B", "C"):
        if ds in ctx.data:
            run_group(ctx, col, _floor_variants(ctx, ds), ctx.reps)
    col.notes.append(
        "16 MiB reads, blake3(max_threads=AUTO), one hasher per file; "
        "times include interpreter start-up (in-process time in the JSON as inner_s)."
    )
    return col.result()


def step_azure(ctx: Ctx) -> dict[str, Any]:
    from benchmarks.azure_step import step_azure as run

    return run(ctx)


def step_incremental(ctx: Ctx) -> dict[str, Any]:
    from benchmarks.incremental_step import step_incremental as run

    return run(ctx)


STEPS: dict[str, Callable[[Ctx], dict[str, Any]]] = {
    "ingest": step_ingest,
    "relog": step_relog,
    "push": step_push,
    "download": step_download,
    "large": step_large,
    "startup": step_startup,
    "floor": step_floor,
    "azure": step_azure,
    "incremental": step_incremental,
}
STEP_DATASETS: dict[str, tuple[str, ...]] = {
    "ingest": ("A", "B"),
    "relog": ("B",),
    "push": ("A", "B"),
    "download": ("A", "B"),
    "large": ("C",),
    "startup": (),
    "floor": ("A", "B", "C"),
    "azure": ("B",),
    "incremental": ("A",),
}
S3_STEPS = frozenset({"push", "download", "large", "azure", "incremental"})


def parse_only(only: str | None) -> list[str]:
    """``"1,3,download"`` -> step names in canonical order."""
    if not only:
        return list(STEP_ORDER)
    chosen: set[str] = set()
    for item in only.split(","):
        item = item.strip().lower()
        if not item:
            continue
        if item.isdigit() and 1 <= int(item) <= len(STEP_ORDER):
            chosen.add(STEP_ORDER[int(item) - 1])
        elif item in STEPS:
            chosen.add(item)
        else:
            raise ValueError(f"unknown step {item!r}; steps are {', '.join(STEP_ORDER)} (or 1-{len(STEP_ORDER)})")
    return [s for s in STEP_ORDER if s in chosen]


def run_steps(ctx: Ctx, steps: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in steps:
        ctx.log(f"== step {STEP_ORDER.index(name) + 1}: {STEP_TITLES[name]}")
        try:
            out.append(STEPS[name](ctx))
        except Exception as exc:  # a step crashing must not lose the others
            out.append(
                {
                    "step": name,
                    "number": STEP_ORDER.index(name) + 1,
                    "title": STEP_TITLES[name],
                    "remote": "",
                    "seconds": 0.0,
                    "notes": [],
                    "cases": [],
                    "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}",
                }
            )
    return out


def machine_info() -> dict[str, Any]:
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def build_results(
    ctx: Ctx, steps: list[dict[str, Any]], started: float, *, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    specs = specs_for(ctx.size)
    datasets: dict[str, Any] = {}
    for n, p in ctx.data.items():
        files, total = tree_stats(p)
        datasets[n] = {"describe": specs[n].describe(), "files": files, "bytes": total, "seed": specs[n].seed}
    res: dict[str, Any] = {
        "schema": SCHEMA,
        "size": ctx.size,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": machine_info(),
        "versions": ctx.tools.versions,
        "tool_notes": ctx.tools.notes,
        "artcli": {"cmd": ctx.tools.artcli, "note": ctx.tools.artcli_note},
        "config": {
            "reps": ctx.reps,
            "startup_reps": ctx.startup_reps,
            "timeout_s": ctx.timeout,
            "drop_caches": ctx.drop_caches,
        },
        "datasets": datasets,
        "steps": steps,
        "errors": collect_errors(steps),
        "unavailable": collect_unavailable(steps),
    }
    if extra:
        res.update(extra)
    return res


def collect_unavailable(steps: list[dict[str, Any]]) -> list[str]:
    """Every (step, case, tool) that could not run, with the reason."""
    out: list[str] = []
    for st in steps:
        for case in st.get("cases", []):
            for t in case["tools"]:
                if t.get("unavailable"):
                    out.append(f"{st['step']} / {case['case']} / {t['tool']}: {t['unavailable']}")
    return out


def collect_errors(steps: list[dict[str, Any]]) -> list[str]:
    """Every distinct error text, prefixed with step / case / tool."""
    errs: list[str] = []
    for st in steps:
        if st.get("error"):
            errs.append(f"{st['step']}: {st['error']}")
        for case in st.get("cases", []):
            for t in case["tools"]:
                for e in t.get("summary", {}).get("errors", []):
                    errs.append(f"{st['step']} / {case['case']} / {t['tool']}: {e}")
    return errs
