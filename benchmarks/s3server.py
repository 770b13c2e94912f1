"""A moto S3 server in its own process on 127.0.0.1, with CPU accounting.

The server's CPU time is read from ``/proc/<pid>/stat`` (utime + stime of all
its threads) so each benchmark step can report what it cost the server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from benchmarks.measure import proc_cpu_seconds, proc_status_kib

MAIN_VENV_BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"
PEERS_VENV_BIN = Path(__file__).resolve().parent / ".venv-peers" / "bin"


def find_moto_server() -> Path | None:
    for cand in (MAIN_VENV_BIN / "moto_server", PEERS_VENV_BIN / "moto_server"):
        if cand.exists():
            return cand
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MotoServer:
    """``moto_server -H 127.0.0.1 -p PORT`` as a child process."""

    def __init__(self, exe: Path, log_path: Path) -> None:
        self.exe = exe
        self.log_path = log_path
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> None:
        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            self.argv(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                self._request("GET", "/moto-api/")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not answer within {timeout:.0f}s")

    def argv(self) -> list[str]:
        return [str(self.exe), "-H", "127.0.0.1", "-p", str(self.port)]

    def _request(self, method: str, path: str, timeout: float = 30.0) -> int:
        req = urllib.request.Request(
            self.endpoint + path, method=method, data=b"" if method in ("PUT", "POST") else None
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return int(resp.status)

    def reset(self) -> None:
        """Forget every bucket and object (frees the server's memory between runs)."""
        self._request("POST", "/moto-api/reset", timeout=300)

    def create_bucket(self, name: str) -> None:
        self._request("PUT", f"/{name}")

    def fresh_bucket(self, name: str) -> None:
        self.reset()
        self.create_bucket(name)

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid) if self.proc else 0.0

    def peak_rss_kib(self) -> int:
        return proc_status_kib(self.pid, "VmHWM") if self.proc else 0

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> MotoServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
