"""One exception hierarchy; each class carries the exit code the CLI returns for it."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager


class ArtcliError(Exception):
    """Base of every error artcli reports to a user; the message is one line."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(ArtcliError):
    """Bad arguments: an unparsable reference, duration, option or path."""

    exit_code = 2


class NotFoundError(ArtcliError):
    """A reference, alias, version, file or object that does not exist."""

    exit_code = 3


class IntegrityError(ArtcliError):
    """Bytes that do not match their digest, a changed reference source, a corrupt object.

    ``kind`` names a format rule that was broken (a consistency finding of docs/format.md §8,
    e.g. ``manifest-not-canonical``) when the raiser knows it."""

    exit_code = 4

    def __init__(self, message: str, *, hint: str | None = None, kind: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind


class ConflictError(ArtcliError):
    """A rule about shared state was broken (alias rules, registry types) or a race was not resolved."""

    exit_code = 5


class RemoteError(ArtcliError):
    """The remote cannot be reached, refuses access, or cannot do what artcli needs."""

    exit_code = 6


class UnsafeRemoteError(RemoteError):
    """The backend cannot create objects exclusively, so concurrent writers would be unsafe."""



class DiskFullError(ArtcliError):
    """A local write failed for want of room: a full disk, a quota, or a file-size limit
    (``ulimit -f``). Exit 1, not "remote error" (6): the message names the path and the disk."""

    os_error: OSError | None = None


#: errnos of a write that found no room
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


def mount_point(path: str) -> str:
    """The mount point of the disk holding ``path`` (or where it would be created)."""
    p = os.path.abspath(path)
    while not os.path.ismount(p):
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return p


def disk_full(exc: OSError, path: str, what: str) -> DiskFullError:
    """One line for a write that found no room: which path, which disk, and why."""
    limit = exc.errno == errno.EFBIG
    why = "a file-size limit (ulimit -f) was reached" if limit else (exc.strerror or "no space left").lower()
    hint = ("raise the limit (ulimit -f unlimited)" if limit else
            "free space on that disk" + (", or set ARTCLI_CACHE_DIR to another disk" if what == "the cache" else ""))
    err = DiskFullError(f"cannot write {path} ({what}): {why} on the disk mounted at {mount_point(path)}", hint=hint)
    err.os_error = exc
    return err


@contextmanager
def local_write(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Report a full disk (or a file-size limit) met while writing under ``path`` as a
    :class:`DiskFullError` naming it; every other error passes through."""
    try:
        yield
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            raise disk_full(exc, os.fspath(path), what) from None
        raise
