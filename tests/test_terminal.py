"""The CLI on a real terminal: progress bar while working, a clean screen after, tables for people.

pexpect gives the command a pseudo-terminal and captures the raw byte stream (where the
transient progress bar shows); tmux renders the final screen, which must not keep the bar.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clihelp import Cli, make_tree

pexpect = pytest.importorskip("pexpect")

# an SGR sequence that sets a colour (NO_COLOR removes bold too: tests/test_readable_output.py checks every style)
ANSI_COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BOX = re.compile("[\u2500-\u257f\u2580-\u259f\u2501\u2578-\u257b]")


def tty_run(cli: Cli, *args: str, env: dict[str, str] | None = None, cols: int = 120) -> str:
    """Run ``artcli ARGS`` on a pseudo-terminal; the raw output (stdout and stderr together)."""
    child = pexpect.spawn(sys.executable, ["-m", "artcli", *args], env=cli.proc_env({"COLUMNS": str(cols),
                          "TERM": "xterm-256color", **(env or {})}), dimensions=(40, cols), timeout=120,
                          encoding="utf-8", codec_errors="replace")
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    return out


@pytest.fixture
def big(tmp_path: Path) -> Path:
    # enough bytes that hashing and uploading take a few refreshes of the bar
    return make_tree(tmp_path / "big", {f"part{i}.bin": os.urandom(8 << 20) for i in range(4)})


def test_progress_bar_then_table(cli: Cli, big: Path) -> None:
    raw = tty_run(cli, "log", "bigdata", str(big), "--alias", "best")
    assert "default/bigdata:v0" in raw  # the reference, on stdout
    assert re.search(r"(hashing|uploading)", raw), raw[-500:]  # the bar was drawn
    assert re.search(r"\d+(\.\d+)?/\d+(\.\d+)? (MiB|GiB|KiB)", raw), raw[-500:]  # with the transfer counts, in IEC units
    table = ANSI.sub("", tty_run(cli, "ls", "bigdata"))
    assert re.search(r"version\s+.*aliases", table) and "v0" in table and "best" in table
    assert "32.0 MiB" in table


def test_quiet_prints_only_data(cli: Cli, big: Path, tmp_path: Path) -> None:
    raw = tty_run(cli, "--quiet", "log", "bigdata", str(big))
    assert raw.strip() == "default/bigdata:v0"
    raw = tty_run(cli, "-q", "download", "bigdata", "--root", str(tmp_path / "out"))
    assert raw.strip() == str((tmp_path / "out").resolve())


def test_no_color_and_dumb_terminal(cli: Cli, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "d", {"a.txt": b"x"})
    cli.ok("log", "ds", str(data), "--alias", "raw")
    fancy = tty_run(cli, "ls", "ds")
    assert BOX.search(fancy)  # the default is a rich table: proves the check below bites
    no_color = tty_run(cli, "ls", "ds", env={"NO_COLOR": "1"})
    assert "v0" in no_color and not ANSI_COLOUR.search(no_color)
    dumb = tty_run(cli, "ls", "ds", env={"TERM": "dumb"})
    assert "v0" in dumb and not BOX.search(dumb) and not ANSI_COLOUR.search(dumb)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_final_screen_is_clean(cli: Cli, big: Path, tmp_path: Path) -> None:
    """After the command the transient bar is gone: only the summary and the reference remain."""
    sock = str(tmp_path / "tmux.sock")
    env = {**cli.proc_env({"TERM": "xterm-256color"})}
    done = tmp_path / "done"
    cmd = f"{sys.executable} -m artcli log bigdata {big}; touch {done}; sleep 60"
    subprocess.run(["tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "30", cmd],
                   env=env, check=True)
    try:
        deadline = time.monotonic() + 120
        while not done.exists():
            assert time.monotonic() < deadline, "artcli log did not finish under tmux"
            time.sleep(0.1)
        screen = subprocess.run(["tmux", "-S", sock, "capture-pane", "-p"], capture_output=True, text=True,
                                check=True).stdout
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], capture_output=True)
    lines = [ln for ln in screen.splitlines() if ln.strip()]
    assert lines[-1].strip() == "default/bigdata:v0", screen
    assert any(ln.startswith("logged default/bigdata:v0") for ln in lines), screen
    assert not re.search(r"hashing|uploading|━", screen), screen
