"""The local content-addressed cache: files by BLAKE3 digest, verified on every use.

Writes go to a temp file in the cache's own tmp dir, are verified, then renamed into place,
so a crash or a concurrent artcli never leaves a partial file under a digest name.
"""

from __future__ import annotations

import os
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

    @property
    def db(self) -> LocalDB:
        if self._db is None:
            self._db = LocalDB(self.root / "index.sqlite")
        return self._db

    def path(self, digest: str) -> Path:
        return self.files / digest[:2] / digest[2:]

    def temp_path(self, hint: str = "") -> Path:
        return self.tmp / f"{hint[:16]}.{os.getpid()}.{uuid.uuid4().hex[:12]}.part"

    def valid(self, digest: str) -> bool:
        """True if the cache holds this digest intact; a corrupt copy is removed."""
        p = self.path(digest)
        if not p.exists():
            return False
        if digest_file(p) == digest:
            return True
        p.unlink(missing_ok=True)
        return False

    def adopt(self, tmp: Path, digest: str) -> Path:
        """Move a verified temp file into the cache under its digest."""
        final = self.path(digest)
        final.parent.mkdir(exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        return final

    def put_bytes(self, digest: str, data: bytes) -> Path:
        """Store bytes already verified by the caller."""
        final = self.path(digest)
        if final.exists():
            return final
        tmp = self.temp_path(digest)
        with open(tmp, "wb") as fh:
            fh.write(data)
        return self.adopt(tmp, digest)

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
