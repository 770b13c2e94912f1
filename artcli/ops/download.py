"""``download``: materialise a version into a directory, verified, never outside it."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat as statmod
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artcli.cache import Cache
from artcli.errors import IntegrityError, UsageError
from artcli.hashing import digest_file
from artcli.localdb import stat_key
from artcli.model import Entry, Ref
from artcli.progress import NullReporter, Reporter
from artcli.repo import Repo
from artcli.transfer import fetch

FICLONE = 0x40049409
WRITE_THREADS = 2


@dataclass
class DownloadResult:
    ref: str
    root: str
    files: int
    size: int
    fetched_files: int
    fetched_bytes: int
    materialised: int
    #: events of the artifact's log that were skipped (printed on stderr, not part of the JSON)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "warnings"}


def default_root(ref_name: str, version: int) -> Path:
    return Path("artifacts") / f"{ref_name}:v{version}"


def download(repo: Repo, ref: Ref, root: str | None = None, *, path_prefix: str | None = None,
             skip_cache: bool = False, reporter: Reporter | None = None, track: bool = True) -> DownloadResult:
    """Materialise a version into ``root``, verified; ``track`` records it as used by the current
    run when there is one (lineage: docs/lineage.md)."""
    rep = reporter or NullReporter()
    repo.check_format()
    st, vs = repo.resolve(ref)
    man = repo.version_manifest(st, vs)
    entries = [e for e in man.entries if not path_prefix or e.path == path_prefix
               or e.path.startswith(path_prefix.rstrip("/") + "/")]
    if path_prefix and not entries:
        raise UsageError(f"no file of {st.project}/{st.name}:v{vs.version} is under {path_prefix!r}")
    target = Path(root) if root else default_root(st.name, vs.version)
    _check_layout(entries)
    target.mkdir(parents=True, exist_ok=True)
    target = target.resolve()
    checked: set[str] = set()
    plans = [(e, _final_path(target, e.path, checked)) for e in entries]  # refuses escapes before any write

    stored = [(e, p) for e, p in plans if e.ref is None]
    todo = _out_of_date(repo, stored)
    _sweep_temps({os.path.dirname(p) for _, p in todo} | ({str(target)} if skip_cache and todo else set()))
    made: set[str] = set()
    sink = _TargetSink(target, todo, made, None if skip_cache else repo.cache)
    # --skip-cache: straight from the remote into the target, no cache read or write
    need = list({e.digest: e for e, _ in todo}.values()) if skip_cache else _from_cache(repo, sink, todo)
    fetched_bytes = sum(e.size for e in need)
    rep.phase("downloading", fetched_bytes)
    fetch(repo.store, sink, need, rep.advance)
    if not skip_cache:
        # every path of a digest stored loose (even one another entry names packed) comes from
        # the cache file the fetch left
        loose_digests = {e.digest for e, _ in todo if not e.pack}
        loose = [(e, p) for e, p in todo if e.digest in loose_digests]
        with ThreadPoolExecutor(WRITE_THREADS) as pool:
            list(pool.map(lambda ep: _materialise(repo.cache.path(ep[0].digest or ""), ep[1], made), loose))
    repo.db.stat_store((p, *stat_key(os.stat(p)), e.digest or "") for e, p in todo)
    refs = [(e, p) for e, p in plans if e.ref is not None]
    if refs:
        from artcli.ops.refs import download_refs

        rs = download_refs(repo, refs, target, rep)
        fetched_files, fetched_bytes, written = rs.fetched_files, fetched_bytes + rs.fetched_bytes, rs.materialised
    else:
        fetched_files, written = 0, 0
    fetched_files += len(need)
    written += len(todo)
    if track:
        from artcli.ops.runs import record_input

        record_input(repo, st, vs, via="download", requested=str(ref))
    rep.done(f"{st.project}/{st.name}:v{vs.version} -> {target} ({written} files written)")
    return DownloadResult(f"{st.project}/{st.name}:v{vs.version}", str(target), len(entries),
                          sum(e.size for e in entries), fetched_files, fetched_bytes, written, list(st.warnings))


def _from_cache(repo: Repo, sink: _TargetSink, todo: list[tuple[Entry, str]]) -> list[Entry]:
    """Write what the cache holds (verified) to the target; return the entries still to fetch,
    one per digest. Loose files are materialised after the fetch, packed ones right here."""
    need: dict[str, Entry] = {}
    packed: dict[str, Entry] = {}
    for e, _ in todo:
        d = e.digest or ""
        if e.pack:
            packed.setdefault(d, e)
        elif d not in need and not repo.cache.valid(d):
            need[d] = e

    def one(e: Entry) -> Entry | None:
        data = repo.cache.get_packed(e)
        if data is None:
            return e
        sink.write_targets(e.digest or "", data)
        return None

    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        for miss in pool.map(one, packed.values()):
            if miss is not None:
                need.setdefault(miss.digest or "", miss)
    return list(need.values())


class _TargetSink:
    """A transfer sink that writes verified bytes to every target path wanting that digest.

    With a ``cache``, loose blobs are adopted into it (and materialised later) and packed
    files are also written to the cache's copy of their pack; without one (``--skip-cache``)
    everything goes straight to the target."""

    def __init__(self, target: Path, todo: list[tuple[Entry, str]], made: set[str],
                 cache: Cache | None = None) -> None:
        self.tmpdir = target
        self.made = made
        self.cache = cache
        self.paths: dict[str, list[str]] = {}
        for e, p in todo:
            self.paths.setdefault(e.digest or "", []).append(p)

    def temp_path(self, hint: str = "") -> Path:
        if self.cache is not None:
            return self.cache.temp_path(hint)
        return self.tmpdir / f".{hint[:16]}.artcli-{os.getpid()}-{uuid.uuid4().hex[:12]}.part"

    def adopt(self, tmp: Path, digest: str) -> None:
        if self.cache is not None:
            self.cache.adopt(tmp, digest)
            return
        for p in self.paths.get(digest, []):
            _materialise(str(tmp), p, self.made)
        tmp.unlink(missing_ok=True)

    def put_packed(self, entry: Entry, data: bytes | memoryview) -> None:
        if self.cache is not None:
            self.cache.put_packed(entry, data)
        self.write_targets(entry.digest or "", data)

    def write_targets(self, digest: str, data: bytes | memoryview) -> None:
        for p in self.paths.get(digest, []):
            _write_bytes(p, data, self.made)


def _open_temp(dst: str) -> tuple[str, int]:
    """A new temp file beside ``dst`` for one write: the pid (for the sweep) and a random part,
    created with O_EXCL, so no two writers, threads or processes in other PID namespaces, ever
    share one (names are cut at 80 characters, so long names with a common prefix would)."""
    parent, name = os.path.split(dst)
    tmp = f"{parent}/.{name[:80]}.artcli-{os.getpid()}-{uuid.uuid4().hex[:12]}.part"
    return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)


def _write_bytes(dst: str, data: bytes | memoryview, made: set[str]) -> None:
    parent = os.path.dirname(dst)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    tmp, fd = _open_temp(dst)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, dst)
    except IsADirectoryError:
        raise IntegrityError(f"refusing to replace directory {dst} with a file") from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


# Temp files download writes beside their final names, each naming the writing process:
# ``.<name>.artcli-<pid>-<random>.part`` (_materialise, _write_bytes; ``.<name>.artcli-<pid>.part``
# before), ``.<hint>.artcli-<pid>-<uuid>.part``
# (--skip-cache; fsspec stores add ``.artcli-part-<tag>``) and the local store's copy of the latter.
_TEMP_NAMES = re.compile(r"^\.(?:.+\.artcli-(\d+)(?:-[0-9a-f]{12})?\.part"
                         r"|[0-9a-f]{0,16}\.artcli-(\d+)-[0-9a-f]{12}\.part(?:\.artcli-part-[0-9a-f]{8}(?:-\d+)?)?"
                         r"|artcli-tmp-[0-9a-f]{12}-\.[0-9a-f]{0,16}\.artcli-(\d+)-.*)$")


def _sweep_temps(dirs: set[str]) -> None:
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


def _check_layout(entries: list[Entry]) -> None:
    """A path may not be both a file and a folder of another entry."""
    paths = {e.path for e in entries}
    for p in paths:
        parts = p.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in paths:
                raise IntegrityError(f"manifest names {'/'.join(parts[:i])!r} as both a file and a folder")


def _final_path(root: Path, rel: str, checked: set[str]) -> str:
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
        if statmod.S_ISLNK(mode) or not statmod.S_ISDIR(mode):
            raise IntegrityError(f"refusing to write {rel!r}: {cur} is a symlink or not a directory")
        checked.add(cur)
    final = f"{root}/{rel}"
    if os.path.commonpath([str(root), os.path.abspath(final)]) != str(root):
        raise IntegrityError(f"refusing to write {rel!r} outside {root}")
    return final


def _out_of_date(repo: Repo, plans: list[tuple[Entry, str]]) -> list[tuple[Entry, str]]:
    """Entries whose target file is missing or differs (stat cache first, then hash)."""
    known = repo.db.stat_lookup([p for _, p in plans])
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
        row = known.get(p)
        if row is not None and row[:3] == stat_key(lst):
            if row[3] != e.digest:
                todo.append((e, p))
            continue
        if digest_file(p) != e.digest:
            todo.append((e, p))
    return todo


def _materialise(src: str, dst: str, made: set[str]) -> None:
    """Copy (reflink when the filesystem can) to a temp name beside ``dst``, then rename:
    a reader never sees a half-written file, and the cache is never linked into the target.
    ``rename`` replaces a symlink at ``dst`` itself, never what it points to."""
    parent = os.path.dirname(dst)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    tmp = ""
    try:
        with open(src, "rb") as fi:
            size = os.fstat(fi.fileno()).st_size
            tmp, fd = _open_temp(dst)
            try:
                if size < (1 << 16):
                    os.write(fd, fi.read())
                else:
                    try:
                        fcntl.ioctl(fd, FICLONE, fi.fileno())
                    except OSError as exc:
                        if exc.errno not in _NO_CLONE:
                            raise
                        _copy_range(fi.fileno(), fd)
            finally:
                os.close(fd)
        try:
            os.replace(tmp, dst)
        except IsADirectoryError:
            raise IntegrityError(f"refusing to replace directory {dst} with a file") from None
    finally:
        if tmp and os.path.lexists(tmp):
            os.unlink(tmp)


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
