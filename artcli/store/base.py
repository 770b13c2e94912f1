"""The Store contract: the only thing above this package that knows about remotes.

Keys are POSIX-style relative strings (``projects/default/artifacts/ds/events/000000000000.json``).
Every method raises only :mod:`artcli.errors` classes; cloud exceptions are translated in
:mod:`artcli.store.errors` and never escape.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True)
class ObjectInfo:
    """What a LIST returns for one object."""

    key: str
    size: int
    mtime: float | None = None  # seconds since the epoch, when the backend reports it


class Store(abc.ABC):
    """A flat key/value object store with one concurrency primitive: exclusive create."""

    #: the URL the store was opened with (never carries credentials)
    url: str
    #: True when :meth:`put_if_absent` is a real exclusive create on this backend
    atomic_create: bool = True
    #: True when every call is a network request (S3, GCS): callers then prefer one LIST to
    #: many HEADs; a local folder answers a stat faster than a listing
    networked: bool = False
    #: True when :meth:`delete_if_unchanged` is a real conditional delete on this backend
    conditional_delete: bool = False
    #: where the URL is served from, when the URL alone does not say (an S3/GCS endpoint, an
    #: Azure account): two servers may each have a bucket of the same name
    endpoint: str = ""
    #: what identifies the store behind the URL (docs/format.md §2.1: the marker's ``id``), set
    #: by whoever read the marker; empty until then
    identity: str = ""

    @property
    def cache_id(self) -> str:
        """What local caches of this store's objects are keyed by: endpoint, URL and identity."""
        return f"{self.endpoint}|{self.url}|{self.identity}"

    # -- reads ---------------------------------------------------------------------------
    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The whole object; NotFoundError when absent."""

    @abc.abstractmethod
    def get_ranges(self, key_ranges: Sequence[tuple[str, int, int]]) -> list[bytes]:
        """Byte ranges ``[start, end)`` of objects, fetched concurrently where the backend can."""

    @abc.abstractmethod
    def get_files(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Download ``(key, local_path)`` pairs concurrently, streaming (never whole in memory).

        Each file is written under a temporary name beside ``local_path`` and renamed when
        complete; the first failure is raised naming its key. Parent directories are created.
        """

    def get_files_hashed(self, jobs: Sequence[tuple[str, str, int | None]],
                         done: Callable[[int, str], object] | None = None) -> list[str]:
        """:meth:`get_files` for ``(key, local_path, size or None)``, returning each file's
        BLAKE3 digest. This default reads each file back once it is down; backends that stream
        hash the bytes as they arrive instead (a 1 GiB data set is then written once and never
        read back to be verified). ``done(i, digest)`` is called as soon as job ``i``'s file is
        complete at its ``local_path`` (from any thread, in any order), so the caller can use it
        while the others are still arriving; it must return quickly."""
        from artcli.hashing import digest_file

        self.get_files([(key, dst) for key, dst, _size in jobs])
        digests = []
        for i, (_key, dst, _size) in enumerate(jobs):
            digests.append(digest_file(dst))
            if done is not None:
                done(i, digests[-1])
        return digests

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A streaming reader."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def info(self, key: str) -> ObjectInfo:
        """Size and mtime of one object; NotFoundError when absent."""

    @abc.abstractmethod
    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order, after ``start_after``.

        ``prefix`` is a plain string prefix (may end mid-name or with "/"); listing is recursive,
        keys are relative to the store root, an absent prefix lists nothing. Lazy: cloud backends
        fetch one page at a time.
        """

    def list_dirs(self, prefix: str) -> Iterator[str]:
        """The names of the "folders" right under ``prefix`` (which ends with "/"): each name
        ``n`` such that some key starts with ``prefix + n + "/"``, each once, in the order of those
        keys (``b.c`` before ``b``, as ``b.c/`` < ``b/``).

        This default walks every key below ``prefix``; backends that can list with a delimiter
        (one entry per folder) override it.
        """
        last = None
        for info in self.list(prefix):
            head, sep, _ = info.key[len(prefix):].partition("/")
            if sep and head != last:
                last = head
                yield head

    # -- writes --------------------------------------------------------------------------
    @abc.abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Create or replace an object; readers never see a partial object."""

    @abc.abstractmethod
    def put_files(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Upload ``(local_path, key)`` pairs concurrently, streaming."""

    @abc.abstractmethod
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Exclusive create: True if this call created the object, False if it already existed.

        Of any number of concurrent callers on one key writing different bytes, exactly one gets
        True. An existing object holding exactly ``data`` also gives True: that makes the call
        idempotent, so a request retried after its first attempt landed (lost response) is not
        mistaken for a lost race. Objects are never visible partially written.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; absent objects are not an error."""

    def version_tag(self, key: str) -> str:
        """An opaque token for the object's current content (ETag, generation); NotFoundError when absent.

        Only backends with :attr:`conditional_delete` have one.
        """
        from artcli.errors import UnsafeRemoteError

        raise UnsafeRemoteError(f"{self.url} has no conditional delete")

    def delete_if_unchanged(self, key: str, tag: str) -> bool:
        """Delete ``key`` only while it still has ``tag``: True if deleted, False if it changed or is gone.

        The store checks the condition itself, in the same request (S3 ``If-Match``, GCS
        ``ifGenerationMatch``, Azure ``If-Match``), so no writer's newer object is ever removed.
        """
        from artcli.errors import UnsafeRemoteError

        raise UnsafeRemoteError(f"{self.url} has no conditional delete")

    def public_url(self, key: str) -> str:
        """The full URL of ``key`` (for ``artcli files``)."""
        return f"{self.url.rstrip('/')}/{key}"

    def prepare_transfers(self) -> None:  # noqa: B027 - optional hook
        """Build now what file transfers will need (a backend's second, asynchronous client),
        e.g. on a thread while files hash; backends that build nothing ahead of time ignore it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def bare_endpoint(url: str | None) -> str:
    """An endpoint URL reduced to scheme, host, port and path (no user-info, query or fragment:
    nothing secret goes into a cache key)."""
    if not url:
        return ""
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"
