"""``cache prune`` while downloads run never pulls a file from under them (issue 23, item 12):
commands that use the cache hold a shared lock on it, prune takes it exclusively.

Real processes sharing one cache; prunes with ``max_size=0`` (remove everything) run back to
back, from the test's own process, for as long as the downloads run. Before the lock, 9 of 12 such downloads failed with
"internal error: FileNotFoundError".
"""

from __future__ import annotations

import fcntl
import os
import random
import subprocess
import sys
from pathlib import Path

from artcli.cache import Cache
from artcli.ops.cachemgmt import prune

from clihelp import Cli, make_tree, tree_bytes


def test_prune_during_downloads_breaks_none(cli: Cli, tmp_path: Path) -> None:
    rng = random.Random(12)
    files = {f"big/{i:02d}.bin": rng.randbytes((1 << 20) + rng.randrange(1 << 16)) for i in range(24)}
    files |= {f"small/{i:03d}.txt": rng.randbytes(rng.randrange(1, 4000)) for i in range(200)}
    data = make_tree(tmp_path / "d", files)
    cli.ok("log", "ds", str(data))
    want = tree_bytes(data)
    downloads = [cli.spawn("download", "ds", "--root", str(tmp_path / f"o{i}")) for i in range(8)]
    prunes = 0
    while any(p.poll() is None for p in downloads):  # prune (everything) for as long as any download runs
        prune(cli.home / "cache", max_size=0)
        prunes += 1
    pr = cli.spawn("cache", "prune", "--max-size", "0")  # and the command itself, once
    assert pr.wait(timeout=300) == 0
    results = [(p.returncode, *p.communicate(timeout=300)) for p in downloads]
    failed = [(code, err) for code, _out, err in results if code != 0]
    assert not failed, f"{len(failed)} of {len(downloads)} downloads failed after {prunes} prunes: {failed[:2]}"
    for i in range(len(downloads)):
        assert tree_bytes(tmp_path / f"o{i}") == want
    assert prunes >= 1


def test_prune_waits_for_a_command_holding_the_cache(tmp_path: Path) -> None:
    """A Cache in use (this process) makes a prune in another process wait; it finishes as soon
    as the cache is closed. Checked by condition (the prune has said it waits), not by time."""
    root = tmp_path / "cache"
    cache = Cache(root)
    (root / "files" / "ab").mkdir(parents=True)
    (root / "files" / "ab" / "cdef").write_bytes(b"x")
    code = ("import sys; from pathlib import Path; from artcli.ops.cachemgmt import prune; "
            "r = prune(Path(sys.argv[1]), max_size=0, on_wait=lambda m: print('WAIT', m, flush=True)); "
            "print('DONE', len(r.removed), flush=True)")
    p = subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    first = p.stdout.readline()
    assert first.startswith("WAIT") and str(root) in first, first
    assert (root / "files" / "ab" / "cdef").exists(), "nothing removed while the cache is held"
    cache.close()
    rest = p.stdout.read()
    assert p.wait(timeout=300) == 0 and "DONE 1" in rest, rest
    assert not (root / "files" / "ab" / "cdef").exists()


def test_prune_in_a_process_holding_the_cache_does_not_wait_for_itself(tmp_path: Path) -> None:
    """The lock is per process (POSIX record locks): a prune never waits for a Cache its own
    process holds, and a closed Cache leaves the lock free."""
    root = tmp_path / "cache"
    cache = Cache(root)
    (root / "files" / "ab").mkdir(parents=True)
    (root / "files" / "ab" / "cdef").write_bytes(b"x")
    waited: list[str] = []
    try:
        assert len(prune(root, max_size=0, on_wait=waited.append).removed) == 1 and not waited
    finally:
        cache.close()
    fd = os.open(root / "lock", os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free
    finally:
        os.close(fd)
