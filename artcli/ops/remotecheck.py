"""``remote check``: prove, on the user's own store, what artcli's concurrency rests on.

Everything shared is an append-only log written with exclusive creates, so a store that lets
two writers both create one key loses data silently (S3-compatible stores that ignore
``If-None-Match`` exist). This probe runs once, under a throw-away prefix of the remote, and
reports a verdict per capability:

* ``exclusive_create`` (required): for each of ``trials`` keys, ``writers`` racers — threads,
  spread over ``processes`` processes — create the key at once with different bytes; exactly
  one may win and the key must hold the winner's bytes;
* ``read_after_write`` (required): a new object reads back at once, an overwrite too;
* ``list_after_write`` (required): new objects are listed at once, in order, ``start_after``
  works, a deleted object disappears;
* ``ranged_reads`` (required): byte ranges and a seeking stream return the right bytes;
* ``conditional_delete`` (reported, not required today): a delete conditioned on the object's
  ETag/generation is refused once the object changed.

The prefix is always removed at the end, whatever happened.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from artcli.errors import ArtcliError, UnsafeRemoteError, UsageError
from artcli.store import Store, open_store

PREFIX = "artcli-check"
OK, FAILED, NOT_OFFERED, ERROR = "ok", "failed", "not offered", "error"
REQUIRED = ("exclusive_create", "read_after_write", "list_after_write", "ranged_reads")


@dataclass
class Capability:
    """One capability's verdict; ``detail`` says what was seen, in one line."""

    name: str
    verdict: str
    required: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "verdict": self.verdict, "required": self.required, "detail": self.detail}


@dataclass
class RemoteCheck:
    url: str
    prefix: str
    writers: int
    processes: int
    trials: int
    capabilities: list[Capability] = field(default_factory=list)
    cleaned: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def safe(self) -> bool:
        """Safe for concurrent writers: every required capability is ``ok``."""
        got = {c.name: c.verdict for c in self.capabilities}
        return all(got.get(name) == OK for name in REQUIRED)

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "safe": self.safe, "prefix": self.prefix, "writers": self.writers,
                "processes": self.processes, "trials": self.trials,
                "capabilities": [c.to_json() for c in self.capabilities], "cleaned": self.cleaned,
                "warnings": self.warnings}


# -- the race ---------------------------------------------------------------------------------
def _race_in_threads(store: Store, keys: Sequence[str], idents: Sequence[str], nonce: str,
                     before_start: Callable[[], None] = lambda: None) -> tuple[dict[str, list[str]], list[str]]:
    """``idents`` threads create every key in turn, all at once (a barrier per key)."""
    won: dict[str, list[str]] = {k: [] for k in keys}
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(idents))

    def racer(ident: str) -> None:
        for key in keys:
            try:
                barrier.wait(timeout=300)
            except threading.BrokenBarrierError:
                return
            try:
                if store.put_if_absent(key, payload(ident, key, nonce)):
                    with lock:
                        won[key].append(ident)
            except Exception as exc:  # one racer's failure ends the race for all (none waits forever)
                with lock:
                    errors.append(f"{ident} on {key}: {exc}")
                barrier.abort()
                return

    threads = [threading.Thread(target=racer, args=(i,), daemon=True) for i in idents]
    before_start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won, errors


def payload(ident: str, key: str, nonce: str) -> bytes:
    """Each racer writes its own bytes: a loser can never mistake the winner's object for its own."""
    return f"artcli remote check {nonce} {key} by {ident}\n".encode()


_CHILD = "from artcli.ops.remotecheck import child_main; child_main()"


def child_main() -> None:
    """A racer process: reads its job on stdin, says ``ready``, races on ``go``, prints the result.

    stdin/stdout here are pipes to the parent probe, not a terminal.
    """
    job = json.loads(sys.stdin.readline())
    store = open_store(job["url"], job["options"])
    out: dict[str, Any] = {"won": {}, "errors": []}
    try:
        store.exists(f"{job['prefix']}/warm-up")  # connect before the start signal

        def wait_go() -> None:
            sys.stdout.write("ready\n")
            sys.stdout.flush()
            sys.stdin.readline()

        out["won"], out["errors"] = _race_in_threads(store, job["keys"], job["idents"], job["nonce"], wait_go)
    except ArtcliError as exc:
        out["errors"].append(str(exc))
    finally:
        store.close()
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def _start_children(url: str, options: Mapping[str, str], prefix: str, keys: Sequence[str],
                    groups: Sequence[Sequence[str]], nonce: str) -> list[subprocess.Popen[str]]:
    children = []
    for idents in groups:
        proc = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({"url": url, "options": dict(options), "prefix": prefix, "keys": list(keys),
                                     "idents": list(idents), "nonce": nonce}) + "\n")
        proc.stdin.flush()
        children.append(proc)
    return children


def _check_exclusive_create(store: Store, url: str, options: Mapping[str, str], prefix: str, writers: int,
                            processes: int, trials: int, rng: random.Random) -> Capability:
    name = "exclusive_create"
    if not store.atomic_create:
        return Capability(name, NOT_OFFERED, True, "this backend has no exclusive create (writes refused, "
                                                   "or only with unsafe_writes=true)")
    nonce = f"{rng.getrandbits(64):016x}"
    keys = [f"{prefix}/race/{i:04d}" for i in range(trials)]
    idents = [f"p{i % processes}w{i}" for i in range(writers)]
    groups = [[x for x in idents if x.startswith(f"p{p}w")] for p in range(processes)]
    children = _start_children(url, options, prefix, keys, groups[1:], nonce)
    errors: list[str] = []
    won: dict[str, list[str]] = {k: [] for k in keys}
    try:
        for proc in children:  # every process connected before anyone starts
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                why = "; ".join(json.loads(line)["errors"]) if line.startswith("{") else _stderr_line(proc)
                return Capability(name, ERROR, True, f"a racer process could not start: {why}")

        def go() -> None:
            for proc in children:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()

        mine, errors = _race_in_threads(store, keys, groups[0], nonce, go)
        _merge(won, mine)
        for proc in children:
            out, err = proc.communicate(timeout=600)
            lines = [line for line in out.splitlines() if line.strip()]
            if proc.returncode != 0 or not lines:
                errors.append(f"racer process exited {proc.returncode}: {_last_line(err)}")
                continue
            result = json.loads(lines[-1])
            _merge(won, result["won"])
            errors += result["errors"]
    finally:
        for proc in children:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if errors:
        return Capability(name, ERROR, True, f"{len(errors)} racer error(s), first: {errors[0]}")
    several = {k: w for k, w in won.items() if len(w) > 1}
    none = [k for k, w in won.items() if not w]
    wrong = [k for k, w in won.items() if len(w) == 1 and store.get(k) != payload(w[0], k, nonce)]
    racers = f"{writers} writers in {processes} process(es), {trials} keys"
    if several:
        worst = max(len(w) for w in several.values())
        return Capability(name, FAILED, True, f"{len(several)} of {trials} keys were created by several writers "
                                              f"(up to {worst} of {writers} 'won'): {racers}")
    if none or wrong:
        return Capability(name, FAILED, True, f"{len(none)} keys had no winner and {len(wrong)} held another "
                                              f"writer's bytes: {racers}")
    return Capability(name, OK, True, f"exactly one winner on every key: {racers}")


def _merge(won: dict[str, list[str]], more: Mapping[str, Sequence[str]]) -> None:
    for key, idents in more.items():
        won[key].extend(idents)


def _last_line(text: str) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def _stderr_line(proc: subprocess.Popen[str]) -> str:
    proc.kill()
    _, err = proc.communicate()
    return _last_line(err)


# -- the other capabilities -------------------------------------------------------------------
def _check_read_after_write(store: Store, prefix: str, rng: random.Random) -> Capability:
    name = "read_after_write"
    bad = []
    for i in range(5):
        key = f"{prefix}/raw/{i}"
        first, second = rng.randbytes(1000 + i), rng.randbytes(3000 + i)
        if store.exists(key):
            bad.append(f"{key} exists before it was written")
        store.put(key, first)
        if store.get(key) != first or store.info(key).size != len(first):
            bad.append(f"{key} did not read back right after it was written")
        store.put(key, second)
        if store.get(key) != second:
            bad.append(f"{key} read old bytes right after an overwrite")
    if bad:
        return Capability(name, FAILED, True, f"{len(bad)} problem(s), first: {bad[0]}")
    return Capability(name, OK, True, "new objects and overwrites read back at once (5 keys)")


def _check_list_after_write(store: Store, prefix: str, rng: random.Random) -> Capability:
    name = "list_after_write"
    base = f"{prefix}/list/"
    keys = sorted(f"{base}{rng.getrandbits(32):08x}" for _ in range(7))
    for key in rng.sample(keys, len(keys)):  # written out of order
        store.put(key, key.encode())
    problems = []
    listed = [o.key for o in store.list(base)]
    if listed != keys:
        problems.append(f"listed {len(listed)} of {len(keys)} new objects, or out of order")
    after = [o.key for o in store.list(base, start_after=keys[2])]
    if after != keys[3:]:
        problems.append("start_after did not skip exactly the keys before it")
    store.delete(keys[0])
    if [o.key for o in store.list(base)] != keys[1:]:
        problems.append("a deleted object was still listed")
    if problems:
        return Capability(name, FAILED, True, "; ".join(problems))
    return Capability(name, OK, True, "new objects listed at once and in order; start_after; deletes")


def _check_ranged_reads(store: Store, prefix: str, rng: random.Random) -> Capability:
    name = "ranged_reads"
    key = f"{prefix}/ranges"
    data = rng.randbytes(300_000)
    store.put(key, data)
    wanted = [(0, 10), (5, 6), (1000, 70_000), (150_000, 300_000), (299_999, 300_000), (42, 42)]
    got = store.get_ranges([(key, s, e) for s, e in wanted])
    wrong = [f"[{s}, {e})" for (s, e), g in zip(wanted, got, strict=True) if g != data[s:e]]
    with store.open(key) as f:
        f.seek(123_456)
        if f.read(1000) != data[123_456:124_456]:
            wrong.append("seek+read")
    if wrong:
        return Capability(name, FAILED, True, "wrong bytes for " + ", ".join(wrong))
    return Capability(name, OK, True, f"{len(wanted)} ranges and a seeking stream read right")


def _check_conditional_delete(store: Store, prefix: str) -> Capability:
    name = "conditional_delete"
    if not store.conditional_delete:
        return Capability(name, NOT_OFFERED, False, "no conditional delete on this backend (not needed today)")
    key = f"{prefix}/cond-delete"
    store.put(key, b"first")
    old = store.version_tag(key)
    store.put(key, b"second, longer")
    if store.delete_if_unchanged(key, old) or not store.exists(key):
        return Capability(name, FAILED, False, "a delete conditioned on an outdated tag removed the newer object")
    if not store.delete_if_unchanged(key, store.version_tag(key)) or store.exists(key):
        return Capability(name, FAILED, False, "a delete conditioned on the current tag did not delete")
    return Capability(name, OK, False, "a stale tag is refused, the current one deletes")


def _clean(store: Store, prefix: str) -> bool:
    for _attempt in range(3):
        keys = [o.key for o in store.list(prefix + "/")]
        for key in keys:
            store.delete(key)
        if not keys:
            return True
    return not any(True for _ in store.list(prefix + "/"))


def check_remote(url: str, options: Mapping[str, str] | None = None, *, writers: int = 8, processes: int = 2,
                 trials: int = 20, seed: int | None = None) -> RemoteCheck:
    """Probe the store at ``url``; always removes its prefix. Errors reaching the store raise."""
    if writers < 2:
        raise UsageError("--writers must be at least 2 (a race needs two)")
    if not 1 <= processes <= writers:
        raise UsageError("--processes must be between 1 and the number of writers")
    if trials < 1:
        raise UsageError("--trials must be at least 1")
    options = dict(options or {})
    rng = random.Random(seed if seed is not None else int.from_bytes(os.urandom(8), "big"))
    report = RemoteCheck(url=url, prefix="", writers=writers, processes=processes, trials=trials)
    if url.startswith("memory://") and processes > 1:
        report.processes = processes = 1
        report.warnings.append("a memory:// store lives in one process: racing with threads only")
    store = open_store(url, options)
    report.url = store.url
    report.prefix = prefix = f"{PREFIX}/{uuid.UUID(int=rng.getrandbits(128)).hex}"
    try:
        store.exists(f"{prefix}/warm-up")  # unreachable or denied: exit 6 before anything is written
    except ArtcliError:
        store.close()
        raise
    try:
        report.capabilities.append(_guarded("exclusive_create", lambda: _check_exclusive_create(
            store, url, options, prefix, writers, processes, trials, rng)))
        report.capabilities.append(_guarded("read_after_write", lambda: _check_read_after_write(store, prefix, rng)))
        report.capabilities.append(_guarded("list_after_write", lambda: _check_list_after_write(store, prefix, rng)))
        report.capabilities.append(_guarded("ranged_reads", lambda: _check_ranged_reads(store, prefix, rng)))
        report.capabilities.append(_guarded("conditional_delete", lambda: _check_conditional_delete(store, prefix)))
    finally:
        try:
            report.cleaned = _clean(store, prefix)
        except ArtcliError as exc:
            report.warnings.append(f"could not remove {store.url}/{prefix}/: {exc}")
        finally:
            store.close()
    if not report.cleaned and not report.warnings:
        report.warnings.append(f"objects are left under {store.url}/{prefix}/")
    return report


def _guarded(name: str, check: Callable[[], Capability]) -> Capability:
    """Run one check; a store error becomes its ``error`` verdict (the store was reachable)."""
    try:
        return check()
    except UnsafeRemoteError as exc:
        return Capability(name, NOT_OFFERED, name in REQUIRED, str(exc))
    except ArtcliError as exc:
        return Capability(name, ERROR, name in REQUIRED, str(exc))
