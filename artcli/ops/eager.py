"""Upload large files while the rest of a ``log`` still hashes.

Keys are content addresses, so a file cannot be uploaded before it is hashed; without this, a
push does all its hashing and then all its uploading. Here each large file that had to be
hashed is offered as soon as its digest is known:

* a read (:class:`~artcli.remoteindex.LooseProbe`: one LIST for a small remote, else a HEAD)
  asks whether its blob is stored; a stored blob is only remembered, and is confirmed inside
  the writer lease later like any other (docs/format.md §7.1), so content that is already on
  the remote (a re-log from a fresh clone) causes no write at all;
* an absent blob takes the writer lease (created once, on first need, after the format marker
  is checked) and is uploaded at once.

Files the stat cache knew are never offered: they were seen before, are most likely stored,
and an unchanged re-log must stay free of remote requests.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from artcli import layout
from artcli.errors import UsageError
from artcli.leases import LazyWriteSession
from artcli.remoteindex import LooseProbe

if TYPE_CHECKING:
    from artcli.inputs import InputFile
    from artcli.repo import Repo

#: files uploaded at once. A file under two upload chunks is read whole by s3fs/gcsfs, a bigger
#: one keeps at most 4 parts in flight, so memory stays under WORKERS x 32 MiB.
WORKERS = 4


def put_checked(repo: Repo, files: list[InputFile]) -> None:
    """Upload files as loose blobs; a file that changed meanwhile has its blob removed and fails."""
    repo.store.put_files([(f.abspath, layout.blob_key(f.digest)) for f in files])
    for f in files:
        st = os.stat(f.abspath)
        if (st.st_ino, st.st_size, st.st_mtime_ns) != f.st:
            repo.store.delete(layout.blob_key(f.digest))
            raise UsageError(f"{f.abspath} changed while it was being uploaded; try again")


class EagerUploads:
    """Probe and upload large files as they are hashed (see the module docstring)."""

    def __init__(self, repo: Repo, session: LazyWriteSession, min_size: int, workers: int = WORKERS) -> None:
        self._repo = repo
        self._session = session
        self._min_size = min_size
        self._probe = LooseProbe(repo)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="artcli-eager")
        self._lock = threading.Lock()
        self._offered: set[str] = set()
        self._futures: list[Future[None]] = []
        self._stopped = threading.Event()
        #: digest -> size of blobs this object uploaded (inside the lease)
        self.uploaded: dict[str, int] = {}
        #: digests the pre-lease probe found stored: a hint, to be confirmed inside the lease
        self.seen: set[str] = set()
        self._advance: Callable[[int], None] | None = None

    @property
    def offered(self) -> frozenset[str]:
        """Digests handed to this object (final once hashing has ended)."""
        with self._lock:
            return frozenset(self._offered)

    def report_to(self, advance: Callable[[int], None]) -> int:
        """Bytes uploaded so far; uploads that finish from now on are reported to ``advance``."""
        with self._lock:
            self._advance = advance
            return sum(self.uploaded.values())

    def offer(self, f: InputFile) -> None:
        """Called by the hashing threads for every file they hashed."""
        if f.size < self._min_size or self._stopped.is_set():
            return
        with self._lock:
            if f.digest in self._offered:
                return
            self._offered.add(f.digest)
            self._futures.append(self._pool.submit(self._one, f))

    def _one(self, f: InputFile) -> None:
        if self._stopped.is_set():
            return
        try:
            if self._probe.stored(f.digest):
                with self._lock:
                    self.seen.add(f.digest)
                return
            self._session.get()
            put_checked(self._repo, [f])
            with self._lock:
                self.uploaded[f.digest] = f.size
                advance = self._advance
            if advance is not None:
                advance(f.size)
        except BaseException:
            self._stopped.set()  # the rest is not started: the command is failing anyway
            raise

    def finish(self) -> None:
        """Wait for every offered file; raise the first failure."""
        try:
            for fut in list(self._futures):
                fut.result()
        finally:
            self.close()

    def close(self) -> None:
        """Stop: files not started are dropped, running uploads are waited for."""
        self._stopped.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
