"""What a download sweeps from the target before writing: temp files of artcli processes that
are gone, and nothing else — not a live process's, not this process's own, not a symlink that
only looks like a temp file; and probing whether a process lives never signals it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from artcli.materialise import TargetWriter, _alive, sweep_temps
from artcli.store.local import _tmp_name

DIGEST = "0123456789abcdef" * 4  # a download's temp names take a digest as their hint


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _in_dead_process(make: object) -> None:
    """Run ``make()`` in a forked child that then exits: what it leaves names a dead process,
    as a killed download's files do."""
    pid = os.fork()
    if pid == 0:  # the child: no pytest teardown, no atexit, no flushing of the parent's buffers
        code = 1
        try:
            make()  # type: ignore[operator]
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_sweep_removes_only_temp_files_of_dead_processes(tmp_path: Path) -> None:
    dead = _dead_pid()
    # a live process that exits 0 when its stdin closes, and dies if any signal reaches it
    live = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        outside = tmp_path / "outside.bin"
        outside.write_bytes(b"someone's file")
        d = tmp_path / "t"
        d.mkdir()
        gone = [d / f".a.bin.artcli-{dead}.part", d / f".a.bin.artcli-{dead}-0123456789ab.part",
                d / f".{DIGEST[:16]}.artcli-{dead}-0123456789ab.part"]
        kept = [d / f".b.bin.artcli-{live.pid}-0123456789ab.part",  # a concurrent download's
                d / f".c.bin.artcli-{os.getpid()}-0123456789ab.part",  # this process's own
                d / "notes.txt", d / ".a.bin"]
        for p in gone + kept:
            p.write_bytes(b"half")
        link = d / f".d.bin.artcli-{dead}-0123456789ab.part"  # named like a dead one's, but a symlink
        link.symlink_to(outside)
        sweep_temps({str(d)})
        assert [p.name for p in gone if p.exists()] == []
        assert [p.name for p in kept if not p.exists()] == []
        assert link.is_symlink() and outside.read_bytes() == b"someone's file"
    finally:
        live.stdin.close()  # type: ignore[union-attr]
        code = live.wait(timeout=120)
    assert code == 0, f"the live process whose temp file was looked at got signal {-code}"


def test_probing_a_process_never_signals_it() -> None:
    live = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        assert _alive(live.pid) and _alive(os.getpid()) and not _alive(_dead_pid())
    finally:
        live.stdin.close()  # type: ignore[union-attr]
        code = live.wait(timeout=120)
    assert code == 0, f"probing sent signal {-code} to a live process"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to become another user")
def test_another_users_live_process_counts_as_alive(tmp_path: Path) -> None:
    """The kernel answers EPERM when asked about another user's process: it exists, so its
    temp files are not swept (a shared download folder)."""
    r, w = os.pipe()
    parent = os.getpid()

    def probe() -> None:
        os.close(r)
        os.setgid(65534)
        os.setuid(65534)  # nobody: may not signal the test's (root's) process
        try:
            os.kill(parent, 0)
        except PermissionError:
            pass
        else:
            os.write(w, b"x")  # the premise failed: nobody could signal root
            return
        os.write(w, b"1" if _alive(parent) else b"0")

    _in_dead_process(probe)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        answer = f.read()
    assert answer != b"x", "this system let nobody signal root: the test proves nothing here"
    assert answer == b"1"


def test_a_killed_skip_cache_downloads_temp_files_are_swept(tmp_path: Path) -> None:
    """``--skip-cache`` fetches each blob to a temp name in the target (an fsspec store adds its
    own suffix while fetching, the local store copies to a temp name of its own): every such
    name a killed download leaves matches the sweep's pattern, so the re-run removes it."""
    d = tmp_path / "t"
    d.mkdir()

    def leave_temps() -> None:
        t = str(TargetWriter(d, [], set()).temp_path(DIGEST))
        for name in (t, f"{t}.artcli-part-0123abcd-0", _tmp_name(t)):
            Path(name).write_bytes(b"half")

    _in_dead_process(leave_temps)
    left = sorted(p.name for p in d.iterdir())
    assert len(left) == 3
    sweep_temps({str(d)})
    assert sorted(p.name for p in d.iterdir()) == [], f"not swept: {left}"
