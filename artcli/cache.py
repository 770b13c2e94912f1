"""The local content-addressed cache: files by BLAKE3 digest, verified on every use.

Writes go to a temp file in the cache's own tmp dir, are verified, then renamed into place,
so a crash or a concurrent artcli never leaves a partial file under a digest name.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from artcli.hashing import digest_bytes, digest_file
from artcli.localdb import LocalDB


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "files"
        self.tmp = root / "tmp"
        self.manifests = root / "manifests"
        for d in (self.files, self.tmp, self.manifests):
            d.mkdir(parents=True, exist_ok=True)
        self._db: LocalDB | None = None
        self._files = str(self.files)
        self._dirs: set[str] = set()

    @property
    def db(self) -> LocalDB:
        if self._db is None:
            self._db = LocalDB(self.root / "index.sqlite")
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

    def valid(self, digest: str) -> bool:
        """True if the cache holds this digest intact; a corrupt copy is removed."""
        p = self.path(digest)
        if not os.path.exists(p):
            return False
        if digest_file(p) == digest:
            self.touch(p)
            return True
        os.unlink(p)
        return False

    @staticmethod
    def touch(path: str) -> None:
        """Mark a cache file used, for LRU pruning: relatime/noatime mounts do not do it for us
        (at most once an hour, so a warm download does not rewrite thousands of inodes)."""
        st = os.stat(path)
        now = time.time()
        if now - st.st_atime > 3600:
            os.utime(path, (now, st.st_mtime))

    def adopt(self, tmp: Path | str, digest: str) -> str:
        """Move a verified temp file into the cache under its digest."""
        self._fan_dir(digest)
        final = self.path(digest)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        return final

    def put_bytes(self, digest: str, data: bytes | memoryview) -> str:
        """Store bytes already verified by the caller."""
        final = self.path(digest)
        if os.path.exists(final):
            return final
        self._fan_dir(digest)
        tmp = f"{final}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, final)
        return final

    # -- manifests -----------------------------------------------------------------------
    def manifest_path(self, digest: str) -> Path:
        return self.manifests / f"{digest}.jsonl"

    def get_manifest(self, digest: str) -> bytes | None:
        p = self.manifest_path(digest)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            return None
        if digest_bytes(data) != digest:
            p.unlink(missing_ok=True)
            return None
        return data

    def put_manifest(self, digest: str, data: bytes) -> None:
        tmp = self.temp_path(digest)
        tmp.write_bytes(data)
        os.replace(tmp, self.manifest_path(digest))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
