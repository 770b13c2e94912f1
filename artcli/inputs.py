"""Walk the paths given to ``log`` and hash their files, skipping files the stat cache knows."""

from __future__ import annotations

import os
import stat as statmod
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from artcli.errors import ConflictError, IntegrityError, NotFoundError, UsageError
from artcli.hashing import digest_file
from artcli.localdb import LocalDB, StatKey, stat_key
from artcli.model import safe_relpath

#: a file whose mtime or ctime is this recent when it is hashed may change again within the
#: same timestamp tick (a second or two on some filesystems) unseen: it is not remembered
RACY_SECONDS = 2.0


def _now() -> float:
    """The time the racy window is measured from (a test runs "a few seconds later" with it)."""
    return time.time()


@dataclass(slots=True)
class InputFile:  # slots: a million of them are held by log
    path: str  # relative, POSIX, as it goes into the manifest
    abspath: str
    size: int
    st: StatKey  # (device, inode, size, mtime_ns, ctime_ns) when scanned
    digest: str = ""
    #: the digest came from the stat cache, not from reading the file in this command
    cached: bool = False


def _to_rel(parts: tuple[str, ...]) -> str:
    rel = "/".join(p if unicodedata.is_normalized("NFC", p) else unicodedata.normalize("NFC", p) for p in parts)
    try:
        return safe_relpath(rel)
    except IntegrityError:
        raise UsageError(f"cannot version a file named {rel!r}") from None


def _nfc(name: str) -> str:
    return name if unicodedata.is_normalized("NFC", name) else unicodedata.normalize("NFC", name)


def _walk(root: str, rel: str, found: dict[str, InputFile]) -> None:
    """Depth-first over a directory with scandir: one stat per file, symlinked files followed,
    symlinked directories not (no loops). ``rel`` is the NFC prefix inside the version."""
    try:
        it = sorted(os.scandir(root), key=lambda d: d.name)
    except PermissionError as exc:
        raise UsageError(f"cannot read directory {root}: {exc.strerror}") from None
    for d in it:
        name = rel + _nfc(d.name)
        try:
            if d.is_dir(follow_symlinks=False):
                _walk(d.path, name + "/", found)
                continue
            fst = d.stat()
        except FileNotFoundError:
            continue  # dangling symlink, or removed while walking
        if statmod.S_ISREG(fst.st_mode):
            try:
                safe_relpath(name)
            except IntegrityError:
                raise UsageError(f"cannot version a file named {name!r}") from None
            _add(found, InputFile(name, d.path, fst.st_size, stat_key(fst)))


def require_paths(paths: list[str]) -> None:
    """Every given local input exists: checked before anything contacts the remote, so a typo
    is reported at once, not after an unreachable remote's retries (issue 22)."""
    for given in paths:
        if not os.path.lexists(given):
            raise NotFoundError(f"no such file or directory: {given}")


def scan(paths: list[str], name_as: str | None = None) -> list[InputFile]:
    """Files under ``paths``: a directory contributes its contents, a file its own name.

    ``name_as`` places everything under that folder inside the version.
    """
    found: dict[str, InputFile] = {}
    prefix = tuple(p for p in (name_as or "").replace("\\", "/").split("/") if p)
    for given in paths:
        p = Path(given)
        try:
            st = p.stat()
        except FileNotFoundError:
            raise NotFoundError(f"no such file or directory: {given}") from None
        if statmod.S_ISREG(st.st_mode):
            _add(found, InputFile(_to_rel((*prefix, p.name)), str(p.resolve()), st.st_size, stat_key(st)))
        elif statmod.S_ISDIR(st.st_mode):
            _walk(str(p.resolve()), "".join(f"{_nfc(x)}/" for x in prefix), found)
        else:
            raise UsageError(f"not a regular file or directory: {given}")
    if not found:
        raise UsageError("nothing to log: the given paths contain no files")
    return [found[k] for k in sorted(found)]


def _add(found: dict[str, InputFile], f: InputFile) -> None:
    if f.path in found:
        raise UsageError(f"two inputs map to the same path {f.path!r} in the version; use --name-as")
    found[f.path] = f


def hash_files(files: list[InputFile], db: LocalDB, progress: Callable[[int], None] | None = None,
                on_hashed: Callable[[InputFile], None] | None = None) -> int:
    """Fill in each file's digest; returns how many files had to be read.

    ``on_hashed`` is called, from the hashing threads, with each file that had to be read, as
    soon as its digest is known (``log`` starts uploading it then).
    """
    known = db.stat_lookup([f.abspath for f in files])
    todo = []
    for f in files:
        row = known.get(f.abspath)
        if row is not None and row[0] == f.st:
            f.digest = row[1]
            f.cached = True
            if progress:
                progress(f.size)
        else:
            todo.append(f)

    def work(f: InputFile) -> InputFile:
        f.digest = digest_file(f.abspath)
        after = stat_key(os.stat(f.abspath))
        if after != f.st:
            raise ConflictError(f"{f.abspath} changed while it was being hashed; try again")
        if progress:
            progress(f.size)
        if on_hashed:
            on_hashed(f)
        return f

    if todo:
        workers = min(4, len(todo))
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, todo))
        cutoff = (_now() - RACY_SECONDS) * 1e9
        db.stat_store((f.abspath, f.st, f.digest) for f in todo if max(f.st[3], f.st[4]) < cutoff)
    return len(todo)
