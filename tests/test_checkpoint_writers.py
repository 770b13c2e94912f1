"""Many writers on one log while checkpoints are written: every acknowledged version is there,
numbered consecutively, and every checkpoint holds exactly the events of the log."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from artcli import checkpoints, layout, marker
from artcli.eventlog import EventLog, encode
from artcli.localdb import LocalDB
from artcli.state.artifact import ArtifactState
from artcli.state.folds import ArtifactFold
from artcli.store import open_store
from artcli.store.base import Store

from clihelp import Cli, make_tree

PREFIX = layout.artifact_prefix("default", "ds")
PREFILL = checkpoints.BLOCK - 16  # the writers cross the first checkpoint boundary


def _version(n: int) -> dict[str, Any]:
    return {"type": "version_created", "version": n, "digest": f"{n:064x}", "manifest": "e" * 64, "size": n,
            "files": 1, "artifact_type": "dataset", "description": None, "aliases": [], "metadata": {}}


def _prefill(store: Store, n: int) -> None:
    """``n`` events of a store made as a first writer makes it: the marker first (a remote that
    holds objects without one is refused, docs/format.md §2.1)."""
    assert store.put_if_absent(marker.KEY, marker.body())
    for seq in range(n):
        assert store.put_if_absent(layout.event_key(PREFIX, seq), encode(_version(seq), seq, None)[1])


def _check_checkpoints(store: Store, total: int) -> None:
    """Every checkpoint decodes and holds the log's own bytes; the first block has one."""
    segs = [s for i in store.list(checkpoints.prefix(PREFIX))
            if (s := checkpoints.parse_key(PREFIX, i.key, i.size)) is not None]
    assert (0, checkpoints.BLOCK) in {(s.start, s.end) for s in segs}
    for seg in segs:
        assert seg.end <= total
        for seq, body in checkpoints.decode(PREFIX, seg, store.get(seg.key)):
            assert store.get(layout.event_key(PREFIX, seq)) == body


@pytest.mark.parametrize("kind", ["file", "s3", pytest.param("azure", marks=pytest.mark.azure)])
def test_threads_append_across_a_checkpoint(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if kind == "azure":  # the connection string is in the environment (the azurite fixture)
        url = f"az://{request.getfixturevalue('azure_container')}/a"
    else:
        url = (tmp_path / "remote").as_uri() if kind == "file" else f"s3://{request.getfixturevalue('s3_bucket')}/a"
    _prefill(open_store(url), PREFILL)
    writers, each = 8, 5
    got: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(i: int) -> None:
        store, db = open_store(url), LocalDB(tmp_path / f"db{i}.sqlite")  # a machine of its own
        log = EventLog(store, db, PREFIX)
        try:
            for _ in range(each):
                ev = log.append_folded(ArtifactFold("default", "ds", history=False),
                                       lambda st: _version(st.next_version()))
                assert ev is not None
                with lock:
                    got.append(ev["version"])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    total = PREFILL + writers * each
    assert sorted(got) == list(range(PREFILL, total))  # all acknowledged, consecutive, none twice
    store = open_store(url)
    _check_checkpoints(store, total)
    fresh = LocalDB(tmp_path / "fresh.sqlite")  # a cold reader goes through the checkpoint
    st: ArtifactState = EventLog(store, fresh, PREFIX).folded(ArtifactFold("default", "ds", history=False))
    assert sorted(st.versions) == list(range(total)) and not st.warnings


@pytest.mark.slow
def test_sixteen_processes_twenty_versions_each_on_s3(s3_cli: Cli, tmp_path: Path) -> None:
    """The issue's target: 16 concurrent writers x 20 versions on S3 (the serialising wrapper)."""
    cli = s3_cli
    assert cli.remote is not None
    _prefill(open_store(cli.remote), PREFILL)
    script = ("import json, subprocess, sys\n"
              "for j in range(20):\n"
              "    r = subprocess.run([sys.executable, '-m', 'artcli', 'log', 'ds', sys.argv[1] + f'/v{j}', '--json'],"
              " capture_output=True, text=True)\n"
              "    print(json.dumps(json.loads(r.stdout)) if r.returncode == 0 else 'ERROR ' + r.stderr.strip(), flush=True)\n")
    procs = []
    for i in range(16):
        base = tmp_path / f"w{i}"
        for j in range(20):
            make_tree(base / f"v{j}", {"data.txt": f"writer {i} version {j}\n".encode()})
        env = cli.proc_env({"ARTCLI_CACHE_DIR": str(base / "cache")})  # 16 machines
        procs.append(subprocess.Popen([sys.executable, "-c", script, str(base)], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    versions = []
    for p in procs:
        out, err = p.communicate(timeout=3600)
        assert p.returncode == 0, err
        for line in out.splitlines():
            assert not line.startswith("ERROR"), line
            versions.append(int(json.loads(line)["version"][1:]))
    total = PREFILL + 16 * 20
    assert sorted(versions) == list(range(PREFILL, total))
    _check_checkpoints(open_store(cli.remote), total)
