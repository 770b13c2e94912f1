"""A cold read of a long log on a folder remote works under a low open-file limit.

Before the fix, a command with an empty cache held one open file per unread event and died
with "Too many open files" once the log passed ``ulimit -n``; nothing was cached until the
whole read succeeded, so every retry failed the same way.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from artcli import layout
from artcli.eventlog import EventLog
from artcli.localdb import LocalDB
from artcli.store.local import LocalStore

from clihelp import Cli, make_tree

LIMIT = 256
EVENTS = 320  # more than LIMIT, so one open file per event cannot work


def _low_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def _grow_log(remote_dir: Path, home: Path, n: int) -> None:
    """Append ``n`` metadata events through the real event-log writer (exclusive creates)."""
    db = LocalDB(home / "gen.sqlite")
    log = EventLog(LocalStore(str(remote_dir)), db, layout.artifact_prefix("default", "ds"))
    try:
        for i in range(n):
            log.append(lambda _events, i=i: {"type": "metadata_set", "version": 0,
                                              "entries": {"step": {"value": i, "type": None}}})
    finally:
        db.close()


def test_cold_show_and_download_under_low_ulimit(cli: Cli, tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src", {f"f{i}.txt": f"file {i}".encode() for i in range(5)})
    cli.ok("log", "ds", str(src))
    _grow_log(tmp_path / "remote", tmp_path / "gen", EVENTS)

    cold = Cli(tmp_path / "cold", cli.remote)  # an empty cache: every event must be read
    env = cold.proc_env()
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "artcli", *args], env=env, capture_output=True, text=True,
        preexec_fn=_low_nofile, timeout=300)
    shown = run("show", "ds:latest", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["metadata"]["step"] == EVENTS - 1

    got = run("download", "ds:v0", "--root", str(tmp_path / "out"))
    assert got.returncode == 0, got.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"f{i}.txt" for i in range(5)]
