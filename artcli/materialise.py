"""Putting verified bytes in place under a target directory: shared by stored files and
references (``download``).

Every path is checked before anything is written (relative, inside the target, no symlinked
folder on the way, no file that is also a folder), every file appears under its final name
complete or not at all (:mod:`artcli.placing`: an unnamed file linked in, or a temp name
renamed), and the cache is copied from (reflink when the filesystem can), never linked into
the target.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat as statmod
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from artcli.errors import ArtcliError, ConflictError, IntegrityError
from artcli.hashing import digest_file
from artcli.localdb import StatKey, stat_key
from artcli.model import Entry
from artcli.placing import place, write_all

if TYPE_CHECKING:
    from artcli.cache import Cache
    from artcli.localdb import LocalDB

FICLONE = 0x40049409


# -- planning ------------------------------------------------------------------------------------
def default_root(name: str, version: int) -> Path:
    """Where ``download`` puts a version without ``--root`` (and where ``status`` looks):
    ``artifacts/<name>/v<N>``, no colon, so the path works in Make, scp and on Windows."""
    return Path("artifacts") / name / f"v{version}"


class LayoutCheck:
    """A path may not be both a file and a folder of another entry: checked over paths given
    in manifest order (sorted), in constant memory. ``chain`` holds the earlier paths that are
    prefixes (as strings) of the current one, each a prefix of the next: a file ``f`` that is a
    folder of a later path stays in it until that path comes (every path sorted between them
    starts with ``f``), so only the longest prefix has to be compared."""

    def __init__(self) -> None:
        self._chain: list[str] = []
        self._prev: str | None = None

    def add(self, path: str) -> None:
        if self._prev is not None and path <= self._prev:
            raise IntegrityError(f"manifest paths are not sorted at {path!r}")
        self._prev = path
        chain = self._chain
        while chain and not path.startswith(chain[-1]):
            chain.pop()
        if chain and path[len(chain[-1])] == "/":
            raise IntegrityError(f"manifest names {chain[-1]!r} as both a file and a folder")
        chain.append(path)


def check_layout(entries: list[Entry]) -> None:
    """A path may not be both a file and a folder of another entry (entries in any order)."""
    check = LayoutCheck()
    for p in sorted({e.path for e in entries}):
        check.add(p)


def final_path(root: Path, rel: str, checked: set[str]) -> str:
    """The target path for an entry; refuses anything that would land outside ``root``,
    including through a symlink planted in the target directory. ``checked`` remembers
    directories already verified (thousands of files share a few folders)."""
    parts = rel.split("/")
    cur = str(root)
    for part in parts[:-1]:
        cur = f"{cur}/{part}"
        if cur in checked:
            continue
        try:
            mode = os.lstat(cur).st_mode
        except FileNotFoundError:
            checked.add(cur)  # created by us, as a real directory
            continue
        if statmod.S_ISLNK(mode):  # planted to redirect writes: refused as unsafe
            raise IntegrityError(f"refusing to write {rel!r}: {cur} is a symlink")
        if not statmod.S_ISDIR(mode):  # the target holds something else there: a conflict
            raise ConflictError(f"refusing to write {rel!r}: {cur} is not a directory")
        checked.add(cur)
    final = f"{root}/{rel}"
    if not os.path.normpath(final).startswith(str(root).rstrip("/") + "/"):  # root: absolute, normalised
        raise IntegrityError(f"refusing to write {rel!r} outside {root}")
    return final


def make_target(target: Path) -> Path:
    """Create the download directory; a file in the way is a conflict, an unwritable place a
    plain error, each one line naming the path (not a traceback)."""
    try:
        target.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConflictError(f"download target {target} is not a directory",
                            hint="choose another --root") from None
    except OSError as exc:
        raise ArtcliError(f"cannot create download target {target}: {exc.strerror or exc}") from None
    return target.resolve()


def out_of_date(db: LocalDB, plans: list[tuple[Entry, str]], *, verify: bool = False,
                edited: list[tuple[Entry, str]] | None = None) -> list[tuple[Entry, str]]:
    """Entries whose target file is missing or differs (stat cache first, then hash).

    ``verify``: hash every existing file, also those the stat cache vouches for (a same-size
    edit with its mtime put back). ``edited`` collects the differing files that are not what
    artcli last wrote or hashed there: edited since, or never written by artcli (``download``
    refuses to overwrite those without ``--force``).
    """
    known = db.stat_lookup([p for _, p in plans])
    todo = []
    for e, p in plans:
        try:
            lst = os.lstat(p)
        except FileNotFoundError:
            todo.append((e, p))
            continue
        if not statmod.S_ISREG(lst.st_mode):
            todo.append((e, p))
            continue
        row = known.get(p)
        if row is not None and row[0] == stat_key(lst) and not verify:
            if row[1] != e.digest:
                todo.append((e, p))
            continue
        hashed = lst.st_size == e.size or (edited is not None and row is not None and lst.st_size == row[0][2])
        actual = digest_file(p) if hashed else None
        if actual == e.digest:
            continue
        todo.append((e, p))
        if edited is not None and (row is None or actual != row[1]):
            edited.append((e, p))
    return todo


# -- leftovers of killed runs --------------------------------------------------------------------
# Temp files written beside their final names, each naming the writing process:
# ``.<name>.artcli-<pid>-<random>.part`` (copy_into_place, write_bytes; ``.<name>.artcli-<pid>.part``
# before), ``.<hint>.artcli-<pid>-<uuid>.part``
# (--skip-cache; fsspec stores add ``.artcli-part-<tag>``) and the local store's copy of the latter.
_TEMP_NAMES = re.compile(r"^\.(?:.+\.artcli-(\d+)(?:-[0-9a-f]{12})?\.part"
                         r"|[0-9a-f]{0,16}\.artcli-(\d+)-[0-9a-f]{12}\.part(?:\.artcli-part-[0-9a-f]{8}(?:-\d+)?)?"
                         r"|artcli-tmp-[0-9a-f]{12}-\.[0-9a-f]{0,16}\.artcli-(\d+)-.*)$")


def sweep_temps(dirs: set[str]) -> None:
    """Remove temp files a killed artcli left where this download writes (their process is
    gone), so that re-running a killed download leaves exactly the version's files."""
    for d in dirs:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for entry in entries:
            m = _TEMP_NAMES.match(entry.name)
            if m and not _alive(int(next(g for g in m.groups() if g))) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, as someone else's
        return True
    return True


# -- writing -------------------------------------------------------------------------------------
def _parent(dst: str, made: set[str]) -> str:
    parent = os.path.dirname(dst)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    return parent


def write_bytes(dst: str, data: bytes | memoryview, made: set[str]) -> StatKey:
    """Write verified bytes to ``dst`` atomically (:func:`artcli.placing.place`); its stat key."""
    _parent(dst, made)
    return place(dst, lambda fd: write_all(fd, data))


def copy_into_place(src: str, dst: str, made: set[str]) -> StatKey:
    """Copy a file (reflink when the filesystem can, else in the kernel) to ``dst`` atomically:
    the cache is never linked into the target, so editing a downloaded file cannot change it.
    A symlink at ``dst`` is replaced, never followed. Returns the new file's stat key."""
    _parent(dst, made)
    with open(src, "rb", buffering=0) as fi:
        size = os.fstat(fi.fileno()).st_size

        def fill(fd: int) -> None:
            if size < (1 << 16):
                write_all(fd, fi.read())
                return
            try:
                fcntl.ioctl(fd, FICLONE, fi.fileno())
            except OSError as exc:
                if exc.errno not in _NO_CLONE:
                    raise
                _copy_range(fi.fileno(), fd)

        return place(dst, fill)


def move_into_place(src: str, dst: str, made: set[str]) -> None:
    """Rename a verified temp file of the target tree to ``dst`` (a copy when ``dst`` is on
    another filesystem, under a folder mounted inside the target)."""
    _parent(dst, made)
    try:
        os.replace(src, dst)
    except IsADirectoryError:
        raise ConflictError(f"refusing to replace directory {dst} with a file") from None
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        copy_into_place(src, dst, made)


_NO_CLONE = {errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EBADF, errno.ENOSYS, errno.EPERM}


def _copy_range(fin: int, fout: int) -> None:
    size = os.fstat(fin).st_size
    sent = 0
    try:
        while sent < size:
            n = os.copy_file_range(fin, fout, size - sent)
            if n == 0:
                break
            sent += n
    except OSError:
        os.lseek(fin, sent, 0)
        os.lseek(fout, sent, 0)
        while chunk := os.read(fin, 1 << 20):
            os.write(fout, chunk)


class TargetWriter:
    """Where :func:`artcli.transfer.fetch_stored` hands verified bytes during a download: every
    target path wanting a digest gets them.

    With a ``cache``, loose blobs are adopted into it (and copied into place later) and packed
    files are also written to the cache's copy of their pack; without one (``--skip-cache``)
    everything goes straight to the target."""

    def __init__(self, target: Path, todo: list[tuple[Entry, str]], made: set[str],
                 cache: Cache | None = None) -> None:
        self.tmpdir = target
        self.made = made
        self.cache = cache
        self.paths: dict[str, list[str]] = {}
        #: path -> stat key of each file written, for the stat cache (no second ``stat``)
        self.keys: dict[str, StatKey] = {}
        for e, p in todo:
            self.paths.setdefault(e.digest or "", []).append(p)

    def temp_path(self, hint: str = "") -> Path:
        if self.cache is not None:
            return self.cache.temp_path(hint)
        return self.tmpdir / f".{hint[:16]}.artcli-{os.getpid()}-{uuid.uuid4().hex[:12]}.part"

    def adopt(self, tmp: Path, digest: str) -> None:
        """A verified loose blob: into the cache, then copied to every path that wants it (on
        the fetch's write threads, while other blobs are still arriving); without a cache the
        temp file itself becomes the last such path (renamed, not copied: written once)."""
        paths = self.paths.get(digest, [])
        if self.cache is not None:
            final = self.cache.adopt(tmp, digest)
            for p in paths:
                self.keys[p] = copy_into_place(final, p, self.made)
            return
        try:
            for p in paths[:-1]:
                self.keys[p] = copy_into_place(str(tmp), p, self.made)
            if paths:
                move_into_place(str(tmp), paths[-1], self.made)
        finally:
            tmp.unlink(missing_ok=True)

    def put_packed(self, entry: Entry, data: bytes | memoryview) -> None:
        if self.cache is not None:
            self.cache.put_packed(entry, data)
        self.write_targets(entry.digest or "", data)

    def write_targets(self, digest: str, data: bytes | memoryview) -> None:
        for p in self.paths.get(digest, []):
            self.keys[p] = write_bytes(p, data, self.made)
