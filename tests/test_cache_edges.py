"""The cache's local pack copies at the edges: artcli started with stdin closed (cron, ``<&-``)
opens a pack as fd 0 and must still read it; a file-size limit met while writing a pack copy
is a disk-full error naming the pack, not an internal error. Each runs in a forked child (one
thread, its own fds and limits), which reports back through a pipe."""

from __future__ import annotations

import os
import pickle
import resource
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from artcli.cache import Cache
from artcli.hashing import digest_bytes
from artcli.model import Entry

MEMBERS = [b"first member\n" * 10, b"second\n" * 30]
PACK = digest_bytes(b"".join(MEMBERS))


def _entries() -> list[Entry]:
    out, off = [], 0
    for i, m in enumerate(MEMBERS):
        out.append(Entry(f"f{i}", len(m), digest_bytes(m), pack=PACK, offset=off))
        off += len(m)
    return out


def _in_child(work: Callable[[], Any]) -> Any:
    """``work()``'s result (or the exception it raised), computed in a forked child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            try:
                out: Any = ("ok", work())
            except BaseException as exc:  # reported, not raised, in the child
                out = ("raised", f"{type(exc).__name__}: {exc}")
            os.write(w, pickle.dumps(out))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and data
    return pickle.loads(data)


def test_a_local_pack_opened_as_fd_0_is_read(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    for e, m in zip(_entries(), MEMBERS, strict=True):
        cache.put_packed(e, m)
    cache.close()

    def read_with_stdin_closed() -> tuple[list[bytes | None], int]:
        c = Cache(tmp_path / "cache")  # its lock file takes an fd first
        os.close(0)
        got = [c.get_packed(e) for e in _entries()]
        return got, c._pack_fds[PACK]

    status, (got, fd) = _in_child(read_with_stdin_closed)
    assert status == "ok" and fd == 0, "the premise: the pack was opened as fd 0"
    assert got == MEMBERS
    cache = Cache(tmp_path / "cache")  # and with stdin open, as usual (mutmut sees the calls it runs here)
    try:
        assert [cache.get_packed(e) for e in _entries()] == MEMBERS
    finally:
        cache.close()


@pytest.mark.parametrize("short", [False, True], ids=["at-the-limit", "across-it"])
def test_a_file_size_limit_met_writing_a_pack_copy_is_disk_full(tmp_path: Path, short: bool) -> None:
    """Past the limit the write fails (EFBIG); across it, the first write is short and the
    rest, written where the first stopped, fails."""
    limit = 4096

    def write_past_the_limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        c = Cache(tmp_path / "cache")
        m = MEMBERS[0]
        c.put_packed(Entry("far", len(m), digest_bytes(m), pack=PACK, offset=limit - 10 if short else limit), m)

    cache = Cache(tmp_path / "cache")  # within no limit the same write lands (and mutmut sees it here)
    try:
        m = MEMBERS[0]
        e = Entry("far", len(m), digest_bytes(m), pack=PACK, offset=limit - 10 if short else limit)
        cache.put_packed(e, m)
        assert cache.get_packed(e) == m
    finally:
        cache.close()
    (tmp_path / "cache" / "packs" / PACK).unlink()
    status, message = _in_child(write_past_the_limit)
    assert status == "raised" and message.startswith("DiskFullError"), message
    assert f"{tmp_path / 'cache' / 'packs' / PACK}" in message
