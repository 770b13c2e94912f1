"""mutmut's wall-clock timeouts, made safe against pid reuse.

mutmut 3.8 registers every mutant's test process for a SIGXCPU at its wall deadline and never
cancels the entry: a process that finished early is still signalled when its deadline comes.
By then the kernel may have given that pid to another process (pid_max is 32,768 here, and a
mutation run starts thousands of processes), which then dies of SIGXCPU (exit 152). We saw it:
``make -s`` in ``tests/test_examples.py``, run beside a mutation session, failed with "Error 152",
and inside a session a stray signal can kill another mutant's test process, which mutmut then
scores "timeout", i.e. killed — a bug the suite did not catch counted as caught.

:func:`install` remembers each registered process's start time (``/proc/<pid>/stat`` field 22)
and signals a pid only while that same process still holds it. ``tests/mutation.py`` runs mutmut
through :func:`main`, so the patch is in place before mutmut forks its workers.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_born: dict[int, bytes | None] = {}


def start_time(pid: int) -> bytes | None:
    """The kernel's start time of the process holding ``pid`` (None: no such process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2:].split()[19]  # fields after the name start at field 3


def remember(pid: int) -> None:
    _born[pid] = start_time(pid)


def guarded_kill(pid: int, sig: int) -> None:
    """``os.kill`` for a remembered pid, skipped once another process holds that pid."""
    if pid in _born and start_time(pid) != _born.pop(pid):
        return  # the process registered under this pid is gone; the pid is someone else's now
    os.kill(pid, sig)


class _GuardedOs:
    """The ``os`` that mutmut's timeout thread sees: every name as in ``os`` but ``kill``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    kill = staticmethod(guarded_kill)


def install() -> None:
    from mutmut.workers import isolation, timeout

    register = timeout.register_timeout

    def register_timeout(pid: int, timeout_s: float) -> None:
        remember(pid)
        register(pid, timeout_s)

    timeout.os = _GuardedOs()  # type: ignore[assignment]
    isolation.register_timeout = register_timeout  # type: ignore[assignment]


def main() -> None:
    """``python tests/mutmut_guard.py run ...``: mutmut's own command line, guarded."""
    install()
    from mutmut.__main__ import cli

    sys.argv[0] = "mutmut"
    cli()


if __name__ == "__main__":
    main()
