"""Run one command and measure it: wall time, CPU, peak RSS, S3-server CPU.

Every command the harness runs goes through :func:`run_cmd`: it starts the tiny
wrapper ``rusage_wrap.py`` in a new session, and the wrapper spawns the command
and reaps it with ``os.wait4``.  The rusage that ``wait4`` returns covers the
command *and every descendant it reaped itself* (Linux folds a dead child's
counters into its parent's), so ``maxrss_kib`` is the peak resident set of the
largest process in the tree (max, not sum) and ``user_s``/``sys_s`` are the CPU
of the whole reaped tree.  A daemon that detaches and is never waited for is not
counted; leftovers are killed with the session when the command ends.  The
wrapper (not the harness) forks the command because a child's ``ru_maxrss``
starts at its forking parent's RSS; the wrapper's is ~8 MiB.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

DROP_CACHES = Path("/proc/sys/vm/drop_caches")
WRAPPER = Path(__file__).resolve().parent / "rusage_wrap.py"
ERROR_TAIL = 2000


class CpuProbe(Protocol):
    """Anything that reports the CPU seconds a server process has used so far."""

    def cpu_seconds(self) -> float: ...


@dataclass
class CmdResult:
    label: str
    argv: list[str]
    rc: int
    wall_s: float
    user_s: float = 0.0
    sys_s: float = 0.0
    maxrss_kib: int = 0
    server_cpu_s: float | None = None
    timed_out: bool = False
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    stdout: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("stdout")
        for key in ("wall_s", "user_s", "sys_s"):
            data[key] = round(data[key], 4)
        if data["server_cpu_s"] is not None:
            data["server_cpu_s"] = round(data["server_cpu_s"], 3)
        if not data["extra"]:
            data.pop("extra")
        return data


def drop_os_caches() -> str | None:
    """``sync; echo 3 > /proc/sys/vm/drop_caches``.  Returns an error text or None."""
    try:
        os.sync()
        DROP_CACHES.write_text("3\n")
    except OSError as exc:
        return f"cannot drop caches: {exc}"
    return None


def _read_tail(fh: Any, limit: int) -> str:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - limit))
    return fh.read().decode("utf-8", "replace")


def run_cmd(
    argv: list[str],
    *,
    label: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600.0,
    server: CpuProbe | None = None,
    drop_caches: bool = False,
    keep_stdout: int = 1 << 20,
) -> CmdResult:
    """Run ``argv`` to completion (or ``timeout``) and return its measurements.

    Never raises for a failing command: a non-zero exit, a timeout or a missing
    executable all come back as a ``CmdResult`` with ``rc != 0`` and ``error`` set.
    """
    label = label or " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv))
    if drop_caches:
        drop_os_caches()
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile(prefix="rusage-", suffix=".txt") as res,
    ):
        wrapped = [sys.executable, "-S", "-E", str(WRAPPER), res.name, *[str(a) for a in argv]]
        cpu0 = server.cpu_seconds() if server else None
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(
                wrapped,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        except OSError as exc:
            return CmdResult(label, argv, 127, time.perf_counter() - t0, error=str(exc))
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            _killpg(proc.pid)

        timer = threading.Timer(timeout, _kill)
        timer.daemon = True
        timer.start()
        try:
            while True:
                try:
                    _, status, ru = os.wait4(proc.pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        rc = os.waitstatus_to_exitcode(status)
        proc.returncode = rc  # already reaped: keep Popen from waiting again
        _killpg(proc.pid)  # leftover daemons of this command's session
        server_cpu = (server.cpu_seconds() - cpu0) if server and cpu0 is not None else None
        user, system, maxrss = ru.ru_utime, ru.ru_stime, ru.ru_maxrss
        try:  # the wrapper's own figures exclude its start-up and its own RSS
            fields = Path(res.name).read_text().split()
            wall, user, system = float(fields[0]), float(fields[1]), float(fields[2])
            maxrss, rc = int(fields[3]), int(fields[4])
        except (OSError, ValueError, IndexError):
            pass  # killed (timeout) before it could write: keep the outer figures
        stdout = _read_tail(out, keep_stdout)
        error = None
        if timed_out.is_set():
            error = f"timeout after {timeout:.0f}s"
            rc = rc if rc != 0 else 124
        elif rc != 0:
            error = _read_tail(err, ERROR_TAIL).strip() or stdout[-ERROR_TAIL:].strip() or f"exit code {rc}"
        return CmdResult(
            label=label,
            argv=[str(a) for a in argv],
            rc=rc,
            wall_s=wall,
            user_s=user,
            sys_s=system,
            maxrss_kib=maxrss,
            server_cpu_s=server_cpu,
            timed_out=timed_out.is_set(),
            error=error,
            stdout=stdout,
        )


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (all its threads), from /proc/<pid>/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, key: str) -> int:
    """A ``kB`` value (VmRSS, VmHWM, ...) from /proc/<pid>/status, 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0
