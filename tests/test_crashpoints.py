"""Crash at every remote write, deterministically (the systematic twin of tests/test_crashes.py).

Each command below runs as a real ``artcli`` process that dies (``os._exit(137)``: no cleanup)
at its k-th write to the remote, for every k, once *before* the write and once *after* it
landed (a lost acknowledgement). After each crash: no visible version is broken, every
checkpoint is exact, ``debug fsck --read-data`` is clean, ``ls``/``ls NAME``/``show`` agree for
the crashed writer and a fresh reader; then the same command runs again with the crashed run's
home and must finish, uploading exactly what the remote lacks, and leave what an uncrashed run
leaves: the same versions, content objects and events (docs/reliability.md, "Round 7: crash at
every write"). The harness is tests/crashpoints.py.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from artcli import layout
from artcli.checkpoints import BLOCK
from artcli.hashing import digest_bytes
from artcli.store import Store

from clihelp import Cli, Result, make_tree
from crashpoints import RUN_ID, Scenario, log_events, run_scenario
from remote_state import stored

MODES = ["before", "after"]
DS = layout.artifact_prefix("default", "ds")
COLL = layout.collection_prefix("datasets", "coll")
RUN = layout.run_prefix(RUN_ID)


def dataset(seed: int, shared: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """One file of just over 1 MiB (a loose blob) and three small ones (one pack), plus ``shared``."""
    rng = random.Random(seed)
    files = {"big.bin": rng.randbytes((1 << 20) + 7)}
    files |= {f"small/{i}.txt": rng.randbytes(50 + i) for i in range(3)}
    return files | (shared or {})


def log_checks(files: dict[str, bytes], base: int) -> dict[str, Any]:
    """The re-run of a crashed ``log`` uploads exactly the files the remote lacks (loose blobs, or
    members of packs that have an index), and makes the version only if the crash came before
    its ``version_created`` landed: either way the version is v``base`` (the template has
    ``base`` versions)."""
    digests = {digest_bytes(b): len(b) for b in files.values()}

    def before(store: Store, _tmp: Path) -> tuple[dict[str, int], int]:
        loose, packed = stored(store)
        return {d: n for d, n in digests.items() if d not in loose and d not in packed}, len(versions(store))

    def after(again: Result, expect: tuple[dict[str, int], int]) -> None:
        missing, had = expect
        res = again.json()
        assert (res["uploaded_files"], res["uploaded_bytes"]) == (len(missing), sum(missing.values())), \
            (res, missing)
        # the version the crashed run committed is the one the re-run finds: never a second one
        assert (res["version"], res["created"]) == (f"v{base}", had == base), (res, had)

    return {"before_rerun": before, "after_rerun": after}


def versions(store: Store) -> list[int]:
    """The version numbers of ds's ``version_created`` events."""
    return [ev["version"] for ev in log_events(store, DS) if ev["type"] == "version_created"]


def _log_fresh(tmp: Path) -> Scenario:
    files = dataset(1)
    make_tree(tmp / "data", files)

    def setup(cli: Cli, _tmp: Path) -> None:
        pass  # an empty folder: the log stamps the format marker too

    return Scenario("log (new remote)", setup, ["log", "ds", str(tmp / "data"), "--json"], ["ds"], [DS, RUN],
                    **log_checks(files, 0))


def _log_checkpoint(tmp: Path) -> Scenario:
    """The new version's event is seq 63 of its log, and its catalogue touch and summary are
    seq 62 and 63 of the project catalogue: both complete a checkpoint block, which the
    writer stores right after its event. Two of v0's small files are logged again (found in
    v0's pack through the latest version's manifest), the rest is new."""
    v0 = dataset(2)
    files = dataset(3, {k: v for k, v in v0.items() if k in ("small/0.txt", "small/1.txt")} | {"more.txt": b"x"})
    make_tree(tmp / "v0", v0)
    make_tree(tmp / "data", files)

    def setup(cli: Cli, tmp_: Path) -> None:
        cli.ok("log", "ds", str(tmp_ / "v0"))  # artifact event 0; catalogue 0, 1
        ttls = (BLOCK - 4) // 2  # each: an artifact event and two catalogue events
        for i in range(ttls):
            cli.ok("ttl", "set", "ds:v0", f"{30 + i % 2}d")
        for i in range(BLOCK - 2 - ttls):  # artifact events only
            cli.ok("alias", "add", "ds:v0", f"a{i}")

    return Scenario("log (checkpoints)", setup, ["log", "ds", str(tmp / "data"), "--json"], ["ds"], [DS, RUN],
                    **log_checks(files, 1))


def _with_v0_v1(cli: Cli, tmp: Path) -> None:
    make_tree(tmp / "v0", dataset(4))
    make_tree(tmp / "v1", dataset(5))
    cli.ok("log", "ds", str(tmp / "v0"), "--ttl", "30d")
    cli.ok("log", "ds", str(tmp / "v1"))


def _alias(tmp: Path) -> Scenario:
    return Scenario("alias add", _with_v0_v1, ["alias", "add", "ds:v0", "best"], ["ds"], [DS])


def _link(tmp: Path) -> Scenario:
    """A claim in the artifact's log, the link, then the version's TTL cleared (and noted in
    the catalogue)."""
    return Scenario("link", _with_v0_v1, ["link", "ds:v0", "registry/datasets/coll"], ["ds"], [DS, COLL])


def _ttl(tmp: Path) -> Scenario:
    return Scenario("ttl set", _with_v0_v1, ["ttl", "set", "ds:v1", "2031-01-01T00:00:00Z"], ["ds"], [DS])


def _gc(tmp: Path) -> Scenario:
    """gc of a store with a deleted version (its manifest, pack, index and blob are garbage),
    one past its TTL (gc marks it deleted, then collects it too) and a live one."""

    def setup(cli: Cli, tmp_: Path) -> None:
        _with_v0_v1(cli, tmp_)  # v0 expires in 30 days, seen from the gc's clock below: expired
        make_tree(tmp_ / "v2", dataset(6))
        cli.ok("log", "ds", str(tmp_ / "v2"))
        cli.ok("delete", "ds:v1")

    # v0's 30-day TTL has passed for this gc (leases keep the real clock)
    return Scenario("gc", setup, ["gc", "--grace", "0s"], ["ds"], [DS], env={"ARTCLI_NOW": "2099-01-01T00:00:00Z"})


SCENARIOS = {"log-new-remote": _log_fresh, "log-checkpoints": _log_checkpoint, "alias": _alias,
             "link": _link, "ttl": _ttl, "gc": _gc}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_crash_at_every_write(tmp_path: Path, scenario: str, mode: str) -> None:
    sc = SCENARIOS[scenario](tmp_path)
    done = run_scenario(tmp_path, sc, mode)
    print(f"{sc.name} ({mode}): {done['writes']} writes: {', '.join(done['kinds'])}")
