"""Azurite, the Azure Storage emulator, for the test suite and the benchmarks.

Azurite comes from the npm registry, pinned by ``tests/azurite/package.json`` and its
``package-lock.json``; ``npm ci`` installs it into ``tests/azurite/node_modules`` (git-ignored),
offline first (from npm's cache), once per lock file: a stamp file records which lock was
installed, and a file lock keeps parallel pytest workers from installing at the same time.
``make test`` installs it before pytest runs; the fixture installs it too when it is missing.

Each :class:`Azurite` is one ``azurite-blob`` process on a free 127.0.0.1 port with its own
data directory. Clients reach it with :attr:`Azurite.connection_string`, a path-style
connection string using Azurite's published development account and key (not a secret).
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

AZURITE_DIR = Path(__file__).resolve().parent / "azurite"
BIN = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
STAMP = AZURITE_DIR / "node_modules" / ".artcli-installed"
ACCOUNT = "devstoreaccount1"
#: Azurite's well-known development key, published in its documentation
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class AzuriteUnavailable(RuntimeError):
    """Node/npm are missing or the install failed: Azure tests skip with this message."""


def _lock_digest() -> str:
    return hashlib.sha256((AZURITE_DIR / "package-lock.json").read_bytes()).hexdigest()


def missing_tools() -> str | None:
    """Why Azurite cannot run here, or None."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if absent:
        return (f"{' and '.join(absent)} not found: the Azure tests need Node.js >= 20 with npm "
                "(e.g. apt-get install nodejs npm, or https://nodejs.org)")
    return None


def ensure_installed(timeout: float = 900.0) -> Path:
    """``npm ci`` the pinned Azurite unless this lock file is already installed; the binary."""
    reason = missing_tools()
    if reason:
        raise AzuriteUnavailable(reason)
    digest = _lock_digest()
    if STAMP.exists() and STAMP.read_text().strip() == digest and BIN.exists():
        return BIN
    with open(AZURITE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing: wait for it
        if STAMP.exists() and STAMP.read_text().strip() == digest and BIN.exists():
            return BIN
        errors = []
        for mode in ("--offline", "--prefer-offline"):  # npm's cache first, the registry if needed
            proc = subprocess.run(
                ["npm", "ci", mode, "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=AZURITE_DIR, capture_output=True, text=True, timeout=timeout, check=False,
            )
            if proc.returncode == 0 and BIN.exists():
                STAMP.write_text(digest + "\n")
                return BIN
            errors.append(f"npm ci {mode}: exit {proc.returncode}: {proc.stderr.strip()[-800:]}")
        raise AzuriteUnavailable("could not install Azurite with npm ci:\n" + "\n".join(errors))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Azurite:
    """One ``azurite-blob`` process; :meth:`start` waits until its port accepts connections."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                f"BlobEndpoint={self.endpoint};")

    def start(self, deadline_s: float = 120.0) -> Azurite:
        binary = ensure_installed()
        self.location.mkdir(parents=True, exist_ok=True)
        log_path = self.location.parent / f"{self.location.name}.log"
        for _attempt in range(3):  # the free port can be taken between probe and bind
            self.port = _free_port()
            with open(log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                     "--location", str(self.location), "--skipApiVersionCheck", "--disableTelemetry",
                     "--silent"],
                    stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
                )
            if self._wait(deadline_s):
                return self
            self.stop()
        raise RuntimeError(f"Azurite did not start:\n{log_path.read_text(errors='replace')[-2000:]}")

    def _wait(self, deadline_s: float) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def create_container(self, name: str) -> None:
        """Create a container with the sync SDK (the suite's equivalent of a fresh bucket)."""
        from azure.storage.blob import BlobServiceClient

        with BlobServiceClient.from_connection_string(self.connection_string) as client:
            client.create_container(name)


if __name__ == "__main__":  # `python tests/azure_emulator.py`: install only (the Makefile's step)
    import sys

    try:
        print(ensure_installed())
    except AzuriteUnavailable as exc:
        print(f"Azurite not installed: {exc}", file=sys.stderr)
        sys.exit(0 if missing_tools() else 1)
