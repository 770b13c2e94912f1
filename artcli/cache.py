"""The local content-addressed cache: files by BLAKE3 digest, verified on every use.

Loose files live under ``files/<d[:2]>/<d[2:]>``. Writes go to a temp file in the cache's own
tmp dir, are verified, then renamed into place, so a crash or a concurrent artcli never leaves
a partial file under a digest name.

Packed files (remote packs, docs/format.md) are cached in a sparse local copy of their pack,
``packs/<pack>``: each verified member is written at its own offset, so 20,000 small files
cost a few cache files instead of 20,000 inodes (creating inodes is what a many-small-files
download spends its time on). The manifest entry says where a member lives, so no index is
needed; every read is verified against the member's digest, and a hole, a torn write or a
damaged byte simply reads as a miss.

A loose file is hashed once, when it enters the cache; its stat key (device, inode, size,
mtime and ctime in nanoseconds) is then kept in the index, and a later use trusts a file whose
key is unchanged instead of hashing it again (a warm download of 1 GiB would otherwise hash
1 GiB). Any write, truncation, chmod or replacement changes the ctime, which no program can set
back, so a changed file is hashed again (and removed if it no longer matches);
``download --verify`` hashes every cache file it uses.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from artcli.errors import ArtcliError, local_write
from artcli.hashing import digest_bytes, digest_file
from artcli.localdb import LocalDB, stat_key
from artcli.model import DIGEST_RE, Entry

LOCK_NAME = "lock"


def _lock_file(root: Path) -> int:
    return os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)


def hold_shared(root: Path) -> int:
    """Take the cache's shared lock for as long as the returned fd is open: every command that
    uses the cache holds it, so ``cache prune`` (which takes it exclusively) never removes a
    file from under one. A POSIX record lock: per process (a prune never waits for its own
    process), released by the kernel when a process dies, and honoured over NFS. -1 when the
    lock file cannot be used (the cache then works unlocked)."""
    try:
        fd = _lock_file(root)
    except OSError:
        return -1
    try:
        fcntl.lockf(fd, fcntl.LOCK_SH)  # waits only while a prune runs
    except OSError:
        os.close(fd)
        return -1
    return fd


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "files"
        self.tmp = root / "tmp"
        self.manifests = root / "manifests"
        self.packs = root / "packs"
        #: what the cache could not do, said once by the CLI (warnings): it is only a cache
        self.notices: list[str] = []
        #: False when the cache directory cannot be written: commands then work without it
        #: (download writes straight into the target, temp files go to the system's temp dir)
        self.writable = True
        try:
            for d in (self.files, self.tmp, self.manifests, self.packs):
                d.mkdir(parents=True, exist_ok=True)
            probe = self.temp_path("probe")
            probe.touch(exist_ok=False)
            probe.unlink()
        except OSError as exc:  # ARTCLI_CACHE_DIR in a place one cannot write
            self.writable = False
            self.tmp = Path(tempfile.mkdtemp(prefix="artcli-"))
            self.notices.append(f"the cache directory {root} cannot be written ({exc.strerror or exc}): working "
                                "without a cache (set ARTCLI_CACHE_DIR to a writable directory)")
        self._lock_fd = hold_shared(root) if self.writable else -1
        self._db: LocalDB | None = None
        self._files = str(self.files)
        self._dirs: set[str] = set()
        self._pack_fds: dict[str, int] = {}  # pack -> fd open for read and write; -1: no local copy
        self._pack_lock = threading.Lock()

    @property
    def db(self) -> LocalDB:
        if self._db is None:
            self._db = LocalDB(self.root / "index.sqlite", self.notices, writable=self.writable)
        return self._db

    def path(self, digest: str) -> str:
        """Where a digest lives (a str: this runs once per file, pathlib costs add up)."""
        return f"{self._files}/{digest[:2]}/{digest[2:]}"

    def temp_path(self, hint: str = "") -> Path:
        return self.tmp / f"{hint[:16]}.{os.getpid()}.{uuid.uuid4().hex[:12]}.part"

    def _fan_dir(self, digest: str) -> None:
        fan = digest[:2]
        if fan not in self._dirs:
            os.makedirs(f"{self._files}/{fan}", exist_ok=True)
            self._dirs.add(fan)

    def valid(self, digest: str, *, rehash: bool = False) -> bool:
        """True if the cache holds this digest intact; a corrupt copy is removed.

        A file whose stat key is the one recorded when it was last hashed is trusted without
        reading it (see the module docstring); ``rehash`` hashes it anyway."""
        p = self.path(digest)
        try:
            st = os.stat(p)
        except OSError:
            return False
        if not rehash and self._trusted(p, st, digest):
            self.touch(p, st, digest)
            return True
        if digest_file(p) == digest:
            after = os.stat(p)
            if stat_key(after) == stat_key(st):  # not changed while it was read: remember it
                self._store(p, after, digest)
            self.touch(p, after, digest)
            return True
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
        return False

    def _trusted(self, path: str, st: os.stat_result, digest: str) -> bool:
        row = self.db.stat_lookup([path]).get(path)
        return row is not None and row[1] == digest and row[0] == stat_key(st)

    def remember(self, path: str, digest: str) -> None:
        """Record that the cache file at ``path`` holds ``digest``: artcli wrote it from bytes
        it verified as they were written, and renamed it into place (its temp name is its own,
        so no other writer touched it)."""
        try:
            self._store(path, os.stat(path), digest)
        except OSError:
            pass

    def _store(self, path: str, st: os.stat_result, digest: str) -> None:
        self.db.stat_store([(path, stat_key(st), digest)])

    def touch(self, path: str, st: os.stat_result | None = None, digest: str = "") -> None:
        """Mark a cache file used, for LRU pruning: relatime/noatime mounts do not do it for us
        (at most once an hour, so a warm download does not rewrite thousands of inodes).
        Setting the times changes the ctime: a trusted file (``digest``) is recorded again."""
        st = st or os.stat(path)
        now = time.time_ns()
        if now - st.st_atime_ns > 3600 * 10**9:
            os.utime(path, ns=(now, st.st_mtime_ns))
            if digest and self._trusted(path, st, digest):
                self.remember(path, digest)

    def adopt(self, tmp: Path | str, digest: str) -> str:
        """Move a verified temp file into the cache under its digest."""
        if not self.writable:
            raise ArtcliError(f"the cache directory {self.root} cannot be written, and this needs it",
                              hint="set ARTCLI_CACHE_DIR to a writable directory")
        self._fan_dir(digest)
        final = self.path(digest)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        self.remember(final, digest)  # verified by the caller: trusted while its stat key holds
        return final

    # -- packed files --------------------------------------------------------------------
    def _pack_fd(self, pack: str, create: bool) -> int:
        """The open local copy of ``pack`` (-1 when there is none and ``create`` is false)."""
        with self._pack_lock:
            fd = self._pack_fds.get(pack)
            if fd is not None and (fd >= 0 or not create):
                return fd
            if not DIGEST_RE.fullmatch(pack):  # names come from manifests: never a path
                raise ValueError(f"invalid pack name {pack!r}")
            path = f"{self.packs}/{pack}"
            try:
                fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
            except FileNotFoundError:
                fd = -1
            else:
                self.touch(path)
            self._pack_fds[pack] = fd
            return fd

    def get_packed(self, e: Entry) -> bytes | None:
        """A packed file's verified bytes from the local copy of its pack, or None."""
        assert e.pack is not None and e.offset is not None
        fd = self._pack_fd(e.pack, create=False)
        if fd < 0:
            return None
        data = os.pread(fd, e.size, e.offset)
        return data if len(data) == e.size and digest_bytes(data) == e.digest else None

    def put_packed(self, e: Entry, data: bytes | memoryview) -> None:
        """Store a packed file's bytes, already verified by the caller, at its offset in the
        local copy of its pack. Concurrent writers write the same bytes at the same place."""
        assert e.pack is not None and e.offset is not None
        fd = self._pack_fd(e.pack, create=True)
        view = memoryview(data)
        off = e.offset
        with local_write(f"{self.packs}/{e.pack}", "the cache"):
            while view:
                n = os.pwrite(fd, view, off)
                view, off = view[n:], off + n

    # -- manifests -----------------------------------------------------------------------
    def manifest_path(self, digest: str) -> Path:
        return self.manifests / f"{digest}.jsonl"

    def get_manifest(self, digest: str) -> bytes | None:
        p = self.manifest_path(digest)
        try:
            data = p.read_bytes()
        except OSError:  # absent, or no cache to read (an unwritable cache dir)
            return None
        if digest_bytes(data) != digest:
            p.unlink(missing_ok=True)
            return None
        return data

    def put_manifest(self, digest: str, data: bytes) -> None:
        if not self.writable:
            return
        tmp = self.temp_path(digest)
        try:
            with local_write(tmp, "the cache"):
                tmp.write_bytes(data)
            os.replace(tmp, self.manifest_path(digest))
        finally:
            tmp.unlink(missing_ok=True)

    def adopt_manifest(self, digest: str, tmp: Path) -> None:
        """Keep a verified manifest written to a temp file (nothing when the cache is unwritable)."""
        if self.writable:
            os.replace(tmp, self.manifest_path(digest))

    def close(self) -> None:
        if not self.writable:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the shared lock: a waiting prune may go on
            self._lock_fd = -1
        with self._pack_lock:
            for fd in self._pack_fds.values():
                if fd >= 0:
                    os.close(fd)
            self._pack_fds.clear()
        if self._db is not None:
            self._db.close()
            self._db = None

