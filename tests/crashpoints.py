"""Crash at every remote write (tests/test_crashpoints.py): the harness.

A scenario is a template remote (built in-process) and one command. The command runs as a real
``python -m artcli`` process with ``tests/crashpoint_site.py`` as its ``sitecustomize``, which
numbers the local store's mutating calls and calls ``os._exit(137)`` at the k-th, before it
or after it returned. A first run with no crash counts the calls (N) and is the reference
"uncrashed" result; then for k = 1..N, on a fresh copy of the template and a fresh home, the
command is crashed at k, the remote is checked, the same command is run again with the crashed
run's home, and the remote is checked again and compared with the reference.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artcli import checkpoints, layout
from artcli.eventlog import _parse
from artcli.store import Store, open_store

from clihelp import Cli, Result
from remote_state import check_visible_versions

SITE = Path(__file__).with_name("crashpoint_site.py")
CRASHED = 137
#: every run of a scenario is one job (a CI job retried): "re-running a command in the same run
#: writes nothing" (docs/format.md §5.4) is then part of what the final state is compared on
RUN_ID = "crashpoints"


def kind_of(key: str) -> str:
    """What a written key is, in words (for coverage and for messages)."""
    if key == "artcli-store.json":
        return "marker"
    if key.startswith(layout.WRITER_LEASES_PREFIX):
        return "writer lease"
    if key.startswith(layout.GC_LEASES_PREFIX):
        return "gc lease"
    if key.startswith(layout.BLOBS_PREFIX):
        return "blob"
    if key.startswith(layout.PACKS_PREFIX):
        return "pack index" if key.endswith(".idx") else "pack"
    if key.startswith(layout.MANIFESTS_PREFIX):
        return "manifest"
    where = ("catalogue" if "/catalogue/" in key else "artifact" if "/artifacts/" in key
             else "collection" if key.startswith("registries/") else "run" if key.startswith("runs/") else "other")
    return f"{where} checkpoint" if f"/{checkpoints.DIR}" in key else f"{where} event"


@dataclass(frozen=True)
class Call:
    n: int
    op: str
    key: str

    @property
    def kind(self) -> str:
        return kind_of(self.key)

    def __str__(self) -> str:
        return f"#{self.n} {self.op} {self.kind} ({self.key})"


@dataclass
class Crash:
    """One run under the crash harness."""

    code: int
    out: str
    err: str
    calls: list[Call]


class Rig:
    """Runs one command of a scenario against fresh copies of its template remote."""

    def __init__(self, tmp: Path, template: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.template = template
        self.argv = argv
        self.env = env or {}
        self._proc: subprocess.Popen[str] | None = None
        self.site = tmp / "site"
        self.site.mkdir(exist_ok=True)
        shutil.copyfile(SITE, self.site / "sitecustomize.py")

    def workspace(self, label: str) -> Cli:
        """A copy of the template remote and an empty home (config, cache) for a writer."""
        remote = self.tmp / label / "remote"
        # hard links: a local store never writes into an existing file (it renames or links a
        # new one over it, or unlinks it), so the template's files cannot change
        shutil.copytree(self.template, remote, copy_function=os.link)
        return Cli(self.tmp / label / "home", remote.as_uri(), env={"ARTCLI_RUN_ID": RUN_ID, **self.env})

    def reader(self, cli: Cli, label: str) -> Cli:
        """Another machine reading the same remote: its own empty cache."""
        return Cli(cli.home.parent / f"reader-{label}", cli.remote, env={"ARTCLI_RUN_ID": f"{RUN_ID}-reader"})

    def _server(self, cli: Cli) -> subprocess.Popen[str]:
        if self._proc is None:
            env = cli.proc_env({"CRASHPOINT_SERVE": "1", "PYTHONPATH": self._pythonpath()})
            self._proc = subprocess.Popen([sys.executable, "-m", "artcli", "crashpoint-server"], env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self._proc

    def _pythonpath(self) -> str:
        return os.pathsep.join(p for p in (str(self.site), os.environ.get("PYTHONPATH")) if p)

    def close(self) -> None:
        if self._proc is not None:
            self._proc.communicate(timeout=60)  # stdin closed: the server exits
            self._proc = None

    def _run(self, cli: Cli, env: dict[str, str]) -> Result:
        """``python -m artcli ARGV``: forked by the server, or (CRASHPOINT_FORK=0) started anew."""
        if os.environ.get("CRASHPOINT_FORK") == "0":
            return cli.run(*self.argv, env=env)
        server = self._server(cli)
        out, err = cli.home.parent / "stdout", cli.home.parent / "stderr"
        req = {"argv": self.argv, "env": cli.proc_env(env), "cwd": os.getcwd(), "stdout": str(out), "stderr": str(err)}
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(json.dumps(req) + "\n")
        server.stdin.flush()
        code = server.stdout.readline()
        assert code, "the crash-point server died"
        return Result(int(code), out.read_text(), err.read_text())

    def crash(self, cli: Cli, at: int, mode: str) -> Crash:
        """Run the command in a process that dies at its ``at``-th mutating call (0: never)."""
        trace = cli.home.parent / f"trace-{at}-{mode}"
        env = {"CRASHPOINT_MODE": mode, "CRASHPOINT_AT": str(at), "CRASHPOINT_TRACE": str(trace),
               "PYTHONPATH": self._pythonpath()}
        cli.home.parent.mkdir(parents=True, exist_ok=True)
        r = self._run(cli, env)
        calls = []
        if trace.exists():
            for line in trace.read_text().splitlines():
                n, op, key = line.split(" ", 2)
                calls.append(Call(int(n), op, key))
        return Crash(r.code, r.out, r.err, calls)


# -- invariants ----------------------------------------------------------------------------------
def check_checkpoints(store: Store) -> int:
    """Every checkpoint on the remote holds exactly the bytes of the event objects it covers;
    how many there are."""
    n = 0
    for info in store.list(""):
        head, sep, _ = info.key.partition(f"/{checkpoints.DIR}")
        if not sep or head.startswith(("blobs/", "packs/", "manifests/")):
            continue
        prefix = head + "/"
        seg = checkpoints.parse_key(prefix, info.key, info.size)
        assert seg is not None, f"a stray key among checkpoints: {info.key}"
        rows = checkpoints.decode(prefix, seg, store.get(info.key))
        for seq, body in rows:
            key = layout.new_event_key(prefix, seq)
            assert store.exists(key), f"{info.key} holds event {seq}, which is not stored"
            assert store.get(key) == body, f"{info.key} differs from event {seq}"
        n += 1
    return n


def ok_json(cli: Cli, *args: str) -> Any:
    r = cli(*args, "--json")
    assert r.code == 0, f"{' '.join(args)}: exit {r.code}: {r.err}"
    return r.json()


def check_views(cli: Cli, artifacts: list[str], visible: dict[str, list[int]]) -> None:
    """``ls``, ``ls NAME`` (the versions) and ``show NAME`` work and agree, and show only versions
    whose every object is stored (``visible``: from :func:`check_visible_versions`)."""
    listed = {a["name"]: a for a in ok_json(cli, "ls")}
    for name in artifacts:
        if not visible.get(name):  # no version was ever committed: not an artifact to anyone
            assert name not in listed, listed
            assert cli("ls", name, "--json").code == 3 and cli("show", name, "--json").code == 3
            continue
        versions = ok_json(cli, "ls", name)
        numbers = [int(v["version"][1:]) for v in versions]
        assert set(numbers) <= set(visible[name]), (numbers, visible[name])
        if not versions:
            assert listed.get(name, {}).get("versions", 0) == 0, listed
            continue
        assert listed[name]["versions"] == len(versions) and listed[name]["latest"] == f"v{max(numbers)}", \
            (listed[name], numbers)
        shown = ok_json(cli, "show", name)
        assert shown["version"] == f"v{max(numbers)}", (shown["version"], numbers)
        assert shown["digest"] == next(v for v in versions if v["version"] == shown["version"])["digest"]


def check_remote(store: Store, readers: list[Cli], artifacts: list[str]) -> dict[str, list[int]]:
    """The invariants that hold after any crash: nothing visible is broken (every live version
    complete, every checkpoint exact, ``debug fsck --read-data`` clean for the last reader:
    every live byte verified) and every reader's views agree. A remote whose marker was never
    written holds nothing at all. Returns each artifact's version numbers."""
    if not store.exists("artcli-store.json"):
        assert [i.key for i in store.list("")] == [], "objects on a remote whose marker was never written"
        for cli in readers:
            r = cli("ls", "--json")
            assert (r.code, r.out.strip()) in ((0, "[]"), (3, "")), (r.code, r.out, r.err)
        return {}
    visible = {name: check_visible_versions(store, name) for name in artifacts}
    check_checkpoints(store)
    for cli in readers:
        check_views(cli, artifacts, visible)
    fsck = readers[-1]("debug", "fsck", "--read-data", "--json")
    assert fsck.code == 0 and fsck.json()["ok"], fsck.out + fsck.err
    return visible


def content_keys(store: Store) -> set[str]:
    return {i.key for p in (layout.BLOBS_PREFIX, layout.PACKS_PREFIX, layout.MANIFESTS_PREFIX) for i in store.list(p)}


_VOLATILE = {"time", "seq", "actor", "created", "updated", "claim", "heartbeat", "started", "id"}


def _stable(obj: Any) -> Any:
    """``obj`` without what differs between two runs of the same command (times, ids)."""
    if isinstance(obj, dict):
        return {k: _stable(v) for k, v in obj.items() if k not in _VOLATILE}
    if isinstance(obj, list):
        return [_stable(v) for v in obj]
    return obj


def log_events(store: Store, prefix: str) -> list[dict[str, Any]]:
    """A log's events without times and ids; a ``linking`` claim left by a crashed ``link``
    right before another is one claim (a claim no ``linked`` answers is abandoned by design,
    docs/format.md §5.3)."""
    out: list[dict[str, Any]] = []
    for info in store.list(layout.events_prefix(prefix)):
        ev = _parse(store.get(info.key))
        assert ev is not None, info.key
        ev = _stable(ev)
        if not (ev["type"] == "linking" and out and out[-1] == ev):
            out.append(ev)
    return out


@dataclass
class Final:
    """What two runs of a command must agree on once finished: every artifact as ``ls NAME``
    shows it, the content objects, the artifact, collection and run logs' events."""

    views: dict[str, Any]
    content: set[str]
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def final_state(store: Store, reader: Cli, artifacts: list[str], logs: list[str]) -> Final:
    views = {name: _stable(ok_json(reader, "ls", name)) for name in artifacts}
    return Final(views, content_keys(store), {p: log_events(store, p) for p in logs})


@dataclass
class Scenario:
    """One command crashed at each of its writes."""

    name: str
    #: builds the template remote in-process with the given CLI (its remote is the template)
    setup: Callable[[Cli, Path], None]
    argv: list[str]
    #: artifacts whose versions are checked; logs (prefixes) compared with the uncrashed run
    artifacts: list[str]
    logs: list[str]
    #: after the crash, before the re-run: returns what the re-run is checked against
    before_rerun: Callable[[Store, Path], Any] | None = None
    #: the re-run's result and what before_rerun returned
    after_rerun: Callable[[Result, Any], None] | None = None
    #: environment of the command's runs (not of the setup or the readers)
    env: dict[str, str] = field(default_factory=dict)


def run_scenario(tmp: Path, sc: Scenario, mode: str) -> dict[str, Any]:
    """Crash ``sc``'s command at every write in ``mode``; returns what was done, for the report."""
    template = tmp / "template"
    template.mkdir()
    setup_cli = Cli(tmp / "setup-home", template.as_uri(), env={"ARTCLI_RUN_ID": "setup"})
    sc.setup(setup_cli, tmp)
    rig = Rig(tmp, template, sc.argv, sc.env)
    try:
        return _crash_each(tmp, sc, mode, rig)
    finally:
        rig.close()


def _crash_each(tmp: Path, sc: Scenario, mode: str, rig: Rig) -> dict[str, Any]:

    ref_cli = rig.workspace("reference")
    ref = rig.crash(ref_cli, 0, mode)
    assert ref.code == 0, ref.err
    ref_store = open_store(ref_cli.remote or "")
    check_remote(ref_store, [ref_cli], sc.artifacts)
    want = final_state(ref_store, rig.reader(ref_cli, "final"), sc.artifacts, sc.logs)
    total = len(ref.calls)
    assert total > 0, "the command wrote nothing: no crash point"

    kinds: list[str] = []
    for k in range(1, total + 1):
        cli = rig.workspace(f"k{k}")
        got = rig.crash(cli, k, mode)
        where = f"{sc.name}, crash {mode} write {k} of {total}"
        assert got.code == CRASHED, f"{where}: exit {got.code} (fewer writes than the uncrashed run?)\n{got.err}"
        assert len(got.calls) == k, (where, got.calls)
        point = got.calls[-1]
        where += f": {point}"
        kinds.append(point.kind)
        store = open_store(cli.remote or "")
        try:
            check_remote(store, [cli, rig.reader(cli, "after-crash")], sc.artifacts)
            expect = sc.before_rerun(store, tmp) if sc.before_rerun else None
            again = cli(*sc.argv)
            assert again.code == 0, again.err
            if sc.after_rerun:
                sc.after_rerun(again, expect)
            final_reader = rig.reader(cli, "final")
            check_remote(store, [cli, final_reader], sc.artifacts)
            have = final_state(store, final_reader, sc.artifacts, sc.logs)
            assert have.views == want.views, "the versions differ from an uncrashed run's"
            assert have.content == want.content, ("content objects differ from an uncrashed run's",
                                                  sorted(have.content ^ want.content))
            for p in sc.logs:
                assert have.logs[p] == want.logs[p], (f"log {p} differs from an uncrashed run's",
                                                      json.dumps(have.logs[p]), json.dumps(want.logs[p]))
        except Exception as exc:
            raise AssertionError(f"{where}: {exc!r}") from exc
        shutil.rmtree(cli.home.parent)
    return {"writes": total, "kinds": kinds, "reference": [str(c) for c in ref.calls]}
