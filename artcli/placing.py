"""Putting one file's verified bytes under its final name, atomically, in as few system calls
as the filesystem allows (``download`` writes every target file through here).

On Linux the bytes go into an unnamed file in the destination folder (``O_TMPFILE``) that is
linked in under its final name once complete: a reader never sees a half-written file, a
killed download leaves nothing behind (the kernel frees an unnamed file), and a new file costs
one name instead of a temp name created and then renamed. Where that does not work (another
OS, a filesystem without ``O_TMPFILE`` such as NFS, no ``/proc``), or when something is already
at the final name (an out-of-date file, a symlink: replaced, never followed), the file gets a
temp name of its own beside the final one (``.<name>.artcli-<pid>-<random>.part``, created with
O_EXCL) and is renamed over it.

Each function returns the new file's stat key (taken from the open file after it got its name,
so the download records it without another ``stat``).
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable

from artcli.errors import ConflictError, local_write
from artcli.localdb import StatKey, stat_key

#: False once ``O_TMPFILE`` or linking through ``/proc/self/fd`` failed here: temp names after that
_unnamed = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
_UNSUPPORTED = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.EXDEV, errno.ENOENT}


def temp_name(dst: str) -> str:
    """A fresh temp name beside ``dst``: the pid (for the sweep of killed runs) and a random part
    (names are cut at 80 characters, so long names with a common prefix would otherwise meet)."""
    parent, name = os.path.split(dst)
    return f"{parent}/.{name[:80]}.artcli-{os.getpid()}-{uuid.uuid4().hex[:12]}.part"


def place(dst: str, fill: Callable[[int], object]) -> StatKey:
    """Create ``dst`` with the bytes ``fill(fd)`` writes, atomically (see the module docstring)."""
    global _unnamed
    if _unnamed:
        try:
            fd = os.open(os.path.dirname(dst), os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED or exc.errno == errno.ENOENT:
                raise
            _unnamed = False
        else:
            try:
                with local_write(dst, "the download target"):
                    fill(fd)
                if _link_in(fd, dst):
                    return stat_key(os.fstat(fd))
            finally:
                os.close(fd)
    tmp = temp_name(dst)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        try:
            with local_write(dst, "the download target"):
                fill(fd)
            _replace(tmp, dst)
            return stat_key(os.fstat(fd))
        finally:
            os.close(fd)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _link_in(fd: int, dst: str) -> bool:
    """Give the unnamed file ``fd`` its final name; False if linking through /proc cannot work
    here (the caller writes it again under a temp name)."""
    global _unnamed
    src = f"/proc/self/fd/{fd}"
    try:  # src_dir_fd makes CPython call linkat (AT_SYMLINK_FOLLOW); an absolute src ignores it
        os.link(src, dst, src_dir_fd=fd, follow_symlinks=True)
        return True
    except FileExistsError:  # an out-of-date file (or a symlink) is there: replace it, atomically
        tmp = temp_name(dst)
        os.link(src, tmp, src_dir_fd=fd, follow_symlinks=True)
        try:
            _replace(tmp, dst)
        except BaseException:
            os.unlink(tmp)
            raise
        return True
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        _unnamed = False
        return False


def _replace(tmp: str, dst: str) -> None:
    try:
        os.replace(tmp, dst)
    except IsADirectoryError:
        raise ConflictError(f"refusing to replace directory {dst} with a file") from None


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
