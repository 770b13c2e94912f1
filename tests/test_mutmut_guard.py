"""The mutation harness's guard against signalling a reused pid (tests/mutmut_guard.py)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import mutmut_guard


def _live() -> subprocess.Popen[bytes]:
    """A process that exits 0 when its stdin closes, and dies if any signal reaches it."""
    return subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)


def _finish(p: subprocess.Popen[bytes]) -> int:
    if p.stdin:
        p.stdin.close()
    return p.wait(timeout=120)


def test_a_pid_now_held_by_another_process_is_not_signalled() -> None:
    p = _live()
    mutmut_guard._born[p.pid] = b"0"  # as if a process that started at boot had held this pid
    try:
        mutmut_guard.guarded_kill(p.pid, signal.SIGXCPU)
    finally:
        code = _finish(p)
    assert code == 0, f"the process now holding the pid got signal {-code}"
    assert p.pid not in mutmut_guard._born


def test_the_registered_process_itself_is_signalled() -> None:
    p = _live()
    mutmut_guard.remember(p.pid)
    mutmut_guard.guarded_kill(p.pid, signal.SIGTERM)
    assert _finish(p) == -signal.SIGTERM


def test_start_time_reads_past_a_process_name_with_parentheses(tmp_path: Path) -> None:
    odd = tmp_path / "a) (b c"
    odd.symlink_to("/bin/sleep" if os.path.exists("/bin/sleep") else "/usr/bin/sleep")
    p = subprocess.Popen([str(odd), "600"])
    try:
        with open(f"/proc/{p.pid}/stat", "rb") as f:
            fields = f.read().split()
        assert mutmut_guard.start_time(p.pid) == mutmut_guard.start_time(p.pid) is not None
        assert mutmut_guard.start_time(p.pid) == fields[21 + 2]  # the name's two spaces split it in three
    finally:
        p.kill()
        p.wait(timeout=120)
