"""A store in a local (or NFS) directory, written with plain ``os`` calls.

It does not go through fsspec on purpose: the embedded default store is the common case and
must start fast (fsspec alone costs ~100 ms to import), and every write here needs POSIX
primitives fsspec does not expose: a temp file + ``os.replace`` so readers never see a partial
object, and a temp file + ``os.link`` for an exclusive create that is atomic even on NFS (fsspec's
local ``pipe_file(mode="create")`` checks then writes, which loses races).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from artcli.store.base import ObjectInfo, Store
from artcli.store.errors import downloading_into, translate
from artcli.store.keys import TMP_MARK, check_key, check_prefix, check_sources

#: parallel file copies in get_files/put_files; local disks gain little beyond this
_WORKERS = 8
#: threads reading small objects in get_ranges (each holds one open file at a time)
_READ_WORKERS = 8
# errnos meaning "this filesystem cannot hard-link": fall back to O_EXCL
_NO_LINK = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def _tmp_name(final: str) -> str:
    head, tail = os.path.split(final)
    return os.path.join(head, f"{TMP_MARK}{uuid.uuid4().hex[:12]}-{tail[:40]}")


def _write_tmp(final: str, data: bytes, *, fsync: bool) -> str:
    """Write ``data`` to a fresh temp file beside ``final`` and return its path."""
    os.makedirs(os.path.dirname(final), exist_ok=True)
    tmp = _tmp_name(final)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(path: str) -> None:
    """Make a new directory entry durable; best effort (not every filesystem allows it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_atomic(src: str, dst: str) -> None:
    """Copy ``src`` to ``dst`` through a temp file, so ``dst`` is absent or complete."""
    os.makedirs(os.path.dirname(dst) or ".", exist_ok=True)
    tmp = _tmp_name(dst)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        _unlink_quietly(tmp)
        raise


class LocalStore(Store):
    """Objects are files under ``root``; key ``a/b/c`` is ``root/a/b/c``."""

    atomic_create = True

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(root))
        self.url = Path(self.root).as_uri()  # percent-encoded, so open_store(url) round-trips
        # not created here: a read of a mistyped path must not leave a directory behind; the
        # first write creates it (every write makes its parent directories)
        with translate(self.url):
            if os.path.exists(self.root) and not os.path.isdir(self.root):
                raise NotADirectoryError(self.root)

    @property
    def absent(self) -> bool:
        """The directory does not exist (yet): nothing was ever written here."""
        return not os.path.isdir(self.root)

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *check_key(key).split("/"))

    # -- reads ---------------------------------------------------------------------------
    def get(self, key: str) -> bytes:
        path = self._path(key)
        with translate(self.public_url(key)), open(path, "rb") as f:
            return f.read()

    def get_ranges(self, key_ranges: Sequence[tuple[str, int, int]]) -> list[bytes]:
        """Each object is opened once, read, and closed before the next one is opened.

        A cold read of a long event log asks for thousands of small objects at once: holding
        them all open hit the open-file limit ("Too many open files" at ~1,000 events with
        ``ulimit -n 1024``). Objects are read on a few threads (an NFS round trip each), so at
        most ``_WORKERS`` files are open at any time.
        """
        out: list[bytes] = [b""] * len(key_ranges)
        by_key: dict[str, list[int]] = {}
        for i, (key, _start, _end) in enumerate(key_ranges):
            by_key.setdefault(key, []).append(i)

        def read_key(key: str) -> None:
            with open(self._path(key), "rb") as f:
                fd = f.fileno()
                for i in by_key[key]:
                    _k, start, end = key_ranges[i]
                    out[i] = os.pread(fd, end - start, start) if end > start else b""

        self._parallel([(key, lambda k=key: read_key(k)) for key in by_key], workers=_READ_WORKERS)
        return out

    def get_files(self, pairs: Sequence[tuple[str, str]]) -> None:
        if pairs:
            with downloading_into(os.path.dirname(os.path.abspath(pairs[0][1]))):
                self._parallel([(key, lambda k=key, d=dst: _copy_atomic(self._path(k), d)) for key, dst in pairs])

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        with translate(self.public_url(key)):
            return open(path, "rb")

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def info(self, key: str) -> ObjectInfo:
        path = self._path(key)
        with translate(self.public_url(key)):
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                raise FileNotFoundError(path)
        return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime)

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Walk only the directory the prefix points into, in exact key (code point) order.

        Sorting entries by name, with "/" appended to directory names, yields keys in the same
        order a flat string sort would (``a.txt`` < ``a/b`` < ``a0``), without sorting everything.
        """
        check_prefix(prefix)
        dir_part, _, _ = prefix.rpartition("/")
        base_key = dir_part + "/" if dir_part else ""
        start = os.path.join(self.root, *dir_part.split("/")) if dir_part else self.root
        with translate(self.public_url(prefix)):
            yield from self._walk(start, base_key, prefix, start_after or "")

    def list_dirs(self, prefix: str) -> Iterator[str]:
        check_prefix(prefix)
        if prefix and not prefix.endswith("/"):
            raise ValueError(f"list_dirs needs a folder prefix, got {prefix!r}")
        path = os.path.join(self.root, *prefix.rstrip("/").split("/")) if prefix else self.root
        with translate(self.public_url(prefix)):
            try:
                names = sorted((e.name for e in os.scandir(path)
                                if e.is_dir(follow_symlinks=True) and not e.name.startswith(TMP_MARK)),
                               key=lambda n: n + "/")  # key order, as a flat listing has them
            except (FileNotFoundError, NotADirectoryError):
                return
        yield from names

    @staticmethod
    def _kept(entries: Iterator[os.DirEntry[str]], base_key: str, prefix: str,
              after: str) -> list[tuple[str, bool, os.DirEntry[str]]]:
        """Entries that can hold keys of the listing; files at or before ``after`` are dropped
        before the sort (a warm read of a long log wants the few events after its cursor)."""
        named = []
        for e in entries:
            if e.name.startswith(TMP_MARK):
                continue
            is_dir = e.is_dir(follow_symlinks=True)
            key = base_key + e.name + ("/" if is_dir else "")
            if not is_dir and (key <= after or not key.startswith(prefix)):
                continue
            named.append((key, is_dir, e))
        return named

    def _walk(self, path: str, base_key: str, prefix: str, after: str) -> Iterator[ObjectInfo]:
        try:
            entries = os.scandir(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        with entries:  # streamed, not a list: 100,000 entries held at once were 25 MiB
            named = self._kept(entries, base_key, prefix, after)
        named.sort(key=lambda t: t[0])
        for key, is_dir, entry in named:
            if is_dir:
                # prune subtrees that cannot hold a key matching the prefix or past start_after
                if not (key.startswith(prefix) or prefix.startswith(key)):
                    continue
                if after and key < after and not after.startswith(key):
                    continue
                yield from self._walk(entry.path, key, prefix, after)
            elif key.startswith(prefix) and key > after:
                try:
                    st = entry.stat()
                except FileNotFoundError:  # deleted while we listed
                    continue
                yield ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime)

    # -- writes --------------------------------------------------------------------------
    def put(self, key: str, data: bytes) -> None:
        final = self._path(key)
        with translate(self.public_url(key)):
            tmp = _write_tmp(final, data, fsync=True)
            try:
                os.replace(tmp, final)
            except BaseException:
                _unlink_quietly(tmp)
                raise

    def put_files(self, pairs: Sequence[tuple[str, str]]) -> None:
        check_sources(pairs)
        self._parallel([(key, lambda s=src, k=key: _copy_atomic(s, self._path(k))) for src, key in pairs])

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Write a complete temp file, then ``os.link`` it to the final name.

        ``link`` fails with EEXIST if the name exists, atomically, also on NFS; readers only ever
        see the finished file. Filesystems without hard links fall back to ``O_EXCL``, still
        exclusive, but a reader may briefly see a partial object there.
        """
        final = self._path(key)
        with translate(self.public_url(key)):
            tmp = _write_tmp(final, data, fsync=True)
            try:
                try:
                    os.link(tmp, final)
                except FileExistsError:
                    return self._same_bytes(final, data)
                except OSError as exc:
                    if exc.errno not in _NO_LINK:
                        raise
                    return self._create_excl(final, data)
            finally:
                _unlink_quietly(tmp)
            _fsync_dir(os.path.dirname(final))
            return True

    def _create_excl(self, final: str, data: bytes) -> bool:
        try:
            with open(final, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except FileExistsError:
            return self._same_bytes(final, data)
        return True

    @staticmethod
    def _same_bytes(final: str, data: bytes) -> bool:
        """An existing object counts as ours when it holds exactly our bytes (idempotent retry)."""
        try:
            if os.path.getsize(final) != len(data):
                return False
            with open(final, "rb") as f:
                return f.read() == data
        except FileNotFoundError:  # deleted in between: it existed when we tried, so we lost
            return False

    def delete(self, key: str) -> None:
        path = self._path(key)
        with translate(self.public_url(key)):
            try:
                os.unlink(path)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                pass

    # -- helpers -------------------------------------------------------------------------
    def _parallel(self, jobs: Sequence[tuple[str, Callable[[], None]]], workers: int = _WORKERS) -> None:
        """Run jobs on a few threads; the first failure (in job order) is raised naming its key."""
        if not jobs:
            return
        if len(jobs) == 1:
            key, job = jobs[0]
            with translate(self.public_url(key)):
                job()
            return
        with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            futures = [(key, pool.submit(job)) for key, job in jobs]
            first: tuple[str, BaseException] | None = None
            for key, fut in futures:
                exc = fut.exception()
                if exc is not None and first is None:
                    first = (key, exc)
        if first is not None:
            key, exc = first
            with translate(self.public_url(key)):
                raise exc
