"""Copied as ``sitecustomize.py`` into a temp dir on a crash-point subprocess's PYTHONPATH
(tests/crashpoints.py): it wraps the local store's mutating calls and kills the process at
the k-th one. Test-only: nothing in artcli knows about it.

With ``CRASHPOINT_SERVE=1`` the process started as ``python -m artcli`` is a fork server
instead: it imports artcli's CLI once, then for each request (a JSON line on stdin: argv,
environment, cwd, files for stdout and stderr) forks a child that takes that environment and
those arguments and *returns* from this module, so the interpreter goes on starting up and
runs ``-m artcli`` as a freshly started ``python -m artcli ARGV`` would; the server answers
each request with the child's exit code. A run then costs a fork, not ~0.2 s of imports
(a hundred runs per test file).

Environment:

* ``CRASHPOINT_AT``: k (1-based); 0 or unset counts only;
* ``CRASHPOINT_MODE``: ``before`` (die instead of making call k) or ``after`` (call k
  returned: the write landed, the process dies before it learns so, a lost acknowledgement);
* ``CRASHPOINT_TRACE``: a file that gets one line ``<n> <op> <key>`` per call, written and
  flushed before the call is made.

Every mutating call (put, put_if_absent, delete, delete_if_unchanged, and each pair of a
put_files, one at a time; a lease's heartbeats after its first put are not counted: they depend
on time) holds one lock while it runs, so calls are numbered in the order they
happen and, in ``after`` mode, exactly k of them have landed when the process dies, whatever
its threads were doing. ``os._exit`` is a real crash: no ``finally`` block, no ``atexit``, no
flush of anything.
"""

from __future__ import annotations

import os
import threading

CRASH_CODE = 137


def _install() -> None:
    from artcli.store.local import LocalStore

    at = int(os.environ.get("CRASHPOINT_AT") or 0)
    mode = os.environ.get("CRASHPOINT_MODE", "before")
    trace_path = os.environ.get("CRASHPOINT_TRACE")
    trace = open(trace_path, "a", buffering=1) if trace_path else None  # noqa: SIM115 - lives as long as the process
    lock = threading.RLock()
    count = [0]

    def step(op: str, key: str, call):  # type: ignore[no-untyped-def]
        with lock:
            count[0] += 1
            n = count[0]
            if trace is not None:
                trace.write(f"{n} {op} {key}\n")
            if n == at and mode == "before":
                os._exit(CRASH_CODE)
            result = call()
            if n == at and mode == "after":
                os._exit(CRASH_CODE)
            return result

    put, put_if_absent, put_files = LocalStore.put, LocalStore.put_if_absent, LocalStore.put_files
    delete, delete_if_unchanged = LocalStore.delete, LocalStore.delete_if_unchanged

    leases: set[str] = set()

    def w_put(self, key, data):  # type: ignore[no-untyped-def]
        if key.startswith("gc/"):
            if key in leases:  # a heartbeat (every 15 s): not counted, so that N does not
                return put(self, key, data)  # depend on how long a run takes
            leases.add(key)
        return step("put", key, lambda: put(self, key, data))

    def w_put_if_absent(self, key, data):  # type: ignore[no-untyped-def]
        return step("put_if_absent", key, lambda: put_if_absent(self, key, data))

    def w_put_files(self, pairs):  # type: ignore[no-untyped-def]
        for src, key in pairs:  # one numbered write per object
            step("put_files", key, lambda s=src, k=key: put_files(self, [(s, k)]))

    def w_delete(self, key):  # type: ignore[no-untyped-def]
        return step("delete", key, lambda: delete(self, key))

    def w_delete_if_unchanged(self, key, tag):  # type: ignore[no-untyped-def]
        return step("delete_if_unchanged", key, lambda: delete_if_unchanged(self, key, tag))

    LocalStore.put = w_put  # type: ignore[method-assign]
    LocalStore.put_if_absent = w_put_if_absent  # type: ignore[method-assign]
    LocalStore.put_files = w_put_files  # type: ignore[method-assign]
    LocalStore.delete = w_delete  # type: ignore[method-assign]
    LocalStore.delete_if_unchanged = w_delete_if_unchanged  # type: ignore[method-assign]


def _serve() -> None:
    import json
    import sys

    import artcli.cli.app  # what every run imports, imported once
    import artcli.store.local  # noqa: F401

    answers = os.fdopen(os.dup(1), "w", buffering=1)
    for line in sys.stdin.buffer:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: becomes `python -m artcli ARGV`, freshly started
            os.environ.clear()
            os.environ.update(req["env"])
            os.chdir(req["cwd"])
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            for fd, path in ((1, req["stdout"]), (2, req["stderr"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            sys.argv[1:] = req["argv"]
            if os.environ.get("CRASHPOINT_MODE"):
                _install()
            return
        _, status = os.waitpid(pid, 0)
        answers.write(f"{os.waitstatus_to_exitcode(status)}\n")
    os._exit(0)


if os.environ.get("CRASHPOINT_SERVE") == "1":
    _serve()
elif os.environ.get("CRASHPOINT_MODE"):
    _install()
