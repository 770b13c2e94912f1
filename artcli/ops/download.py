"""``download``: materialise a version into a directory, verified, never outside it."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat as statmod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artcli.errors import IntegrityError, UsageError
from artcli.hashing import digest_file
from artcli.localdb import stat_key
from artcli.model import Entry, Ref
from artcli.progress import NullReporter, Reporter
from artcli.repo import Repo
from artcli.transfer import fetch_into_cache

FICLONE = 0x40049409


@dataclass
class DownloadResult:
    ref: str
    root: str
    files: int
    size: int
    fetched_files: int
    fetched_bytes: int
    materialised: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def default_root(ref_name: str, version: int) -> Path:
    return Path("artifacts") / f"{ref_name}:v{version}"


def download(repo: Repo, ref: Ref, root: str | None = None, *, path_prefix: str | None = None,
             skip_cache: bool = False, reporter: Reporter | None = None) -> DownloadResult:
    rep = reporter or NullReporter()
    repo.check_format()
    st, vs = repo.resolve(ref)
    man = repo.load_manifest(_manifest_digest(repo, st.project, st.name, vs.version))
    entries = [e for e in man.entries if not path_prefix or e.path == path_prefix
               or e.path.startswith(path_prefix.rstrip("/") + "/")]
    if path_prefix and not entries:
        raise UsageError(f"no file of {st.project}/{st.name}:v{vs.version} is under {path_prefix!r}")
    target = Path(root) if root else default_root(st.name, vs.version)
    _check_layout(entries)
    target.mkdir(parents=True, exist_ok=True)
    target = target.resolve()
    plans = [(e, _final_path(target, e.path)) for e in entries]  # refuses escapes before any write

    stored = [(e, p) for e, p in plans if e.ref is None]
    todo = _out_of_date(repo, stored)
    need = [e for e, _ in todo if skip_cache or not repo.cache.valid(e.digest or "")]
    fetched_bytes = sum(e.size for e in {e.digest: e for e in need}.values())
    rep.phase("downloading", fetched_bytes)
    fetch_into_cache(repo.store, repo.cache, list({e.digest: e for e in need}.values()), rep.advance)
    for e, p in todo:
        _materialise(repo.cache.path(e.digest or ""), p, target)
    repo.db.stat_store((str(p), *stat_key(p.stat()), e.digest or "") for e, p in todo)
    refs = [(e, p) for e, p in plans if e.ref is not None]
    if refs:
        from artcli.ops.refs import download_refs

        download_refs(repo, refs, target, rep)
    rep.done(f"{st.project}/{st.name}:v{vs.version} -> {target} ({len(todo)} files written)")
    return DownloadResult(f"{st.project}/{st.name}:v{vs.version}", str(target), len(entries),
                          sum(e.size for e in entries), len(need), fetched_bytes, len(todo))


def _manifest_digest(repo: Repo, project: str, name: str, version: int) -> str:
    for _key, ev in repo.artifact_log(project, name).read():
        if ev and ev.get("type") == "version_created" and ev.get("version") == version:
            return str(ev["manifest"])
    raise IntegrityError(f"{project}/{name}:v{version} has no manifest in its log")


def _check_layout(entries: list[Entry]) -> None:
    """A path may not be both a file and a folder of another entry."""
    paths = {e.path for e in entries}
    for p in paths:
        parts = p.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in paths:
                raise IntegrityError(f"manifest names {'/'.join(parts[:i])!r} as both a file and a folder")


def _final_path(root: Path, rel: str) -> Path:
    """The target path for an entry; refuses anything that would land outside ``root``,
    including through a symlink planted in the target directory."""
    cur = root
    parts = rel.split("/")
    for part in parts[:-1]:
        cur = cur / part
        try:
            mode = os.lstat(cur).st_mode
        except FileNotFoundError:
            continue
        if statmod.S_ISLNK(mode) or not statmod.S_ISDIR(mode):
            raise IntegrityError(f"refusing to write {rel!r}: {cur} is a symlink or not a directory")
    final = root / rel
    if os.path.commonpath([root, os.path.abspath(final)]) != str(root):
        raise IntegrityError(f"refusing to write {rel!r} outside {root}")
    return final


def _out_of_date(repo: Repo, plans: list[tuple[Entry, Path]]) -> list[tuple[Entry, Path]]:
    """Entries whose target file is missing or differs (stat cache first, then hash)."""
    known = repo.db.stat_lookup([str(p) for _, p in plans])
    todo = []
    for e, p in plans:
        try:
            lst = os.lstat(p)
        except FileNotFoundError:
            todo.append((e, p))
            continue
        if not statmod.S_ISREG(lst.st_mode) or lst.st_size != e.size:
            todo.append((e, p))
            continue
        row = known.get(str(p))
        if row is not None and row[:3] == stat_key(lst):
            if row[3] != e.digest:
                todo.append((e, p))
            continue
        if digest_file(p) != e.digest:
            todo.append((e, p))
    return todo


def _materialise(src: Path, dst: Path, root: Path) -> None:
    """Copy (reflink when the filesystem can) to a temp name beside ``dst``, then rename:
    a reader never sees a half-written file, and the cache is never linked into the target."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.artcli-{os.getpid()}.part")
    try:
        with open(src, "rb") as fi, open(tmp, "wb") as fo:
            try:
                fcntl.ioctl(fo.fileno(), FICLONE, fi.fileno())
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EBADF,
                                     errno.ENOSYS, errno.EPERM):
                    raise
                shutil.copyfileobj(fi, fo, 1 << 20) if os.fstat(fi.fileno()).st_size < (1 << 16) else \
                    _copy_range(fi.fileno(), fo.fileno())
        os.chmod(tmp, 0o644)
        if os.path.lexists(dst) and (os.path.islink(dst) or os.path.isdir(dst)):
            if os.path.isdir(dst) and not os.path.islink(dst):
                raise IntegrityError(f"refusing to replace directory {dst} with a file")
            os.unlink(dst)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()


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
