"""Walk the paths given to ``log`` and hash their files, skipping files the stat cache knows."""

from __future__ import annotations

import heapq
import os
import stat as statmod
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from artcli.errors import ConflictError, IntegrityError, NotFoundError, UsageError
from artcli.hashing import digest_file
from artcli.localdb import LocalDB, StatKey, stat_key
from artcli.model import safe_relpath
from artcli.pathmatch import RuleSet, ignored, parse_ignore_text

IGNORE_FILE = ".artcliignore"
#: a file whose mtime or ctime is this recent when it is hashed may change again within the
#: same timestamp tick (a second or two on some filesystems) unseen: it is not remembered
RACY_SECONDS = 2.0
HASH_TASK = 32  # files per hashing task


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


#: what ``log`` leaves out of a folder unless ``--no-ignore`` (docs/ignore.md); an
#: ``.artcliignore`` may re-include any of them with ``!``
DEFAULT_IGNORES = (".git/", ".hg/", ".svn/", ".dvc/", ".venv/", "__pycache__/", "*.pyc", ".ipynb_checkpoints/",
                   ".DS_Store", ".env", IGNORE_FILE)
#: a folder holding one of these is the project root: ``.artcliignore`` files are read from the
#: logged folder up to it
ROOT_MARKERS = (".git", "artcli.toml")


@dataclass
class ScanReport:
    """What a folder walk left out: ``skipped`` (path, why) are told once as a warning;
    ``ignored`` counts what ignore rules (defaults, ``.artcliignore``) left out, silently."""

    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0
    found: int = 0  # files the walk yielded

    def warning(self, limit: int = 5) -> str | None:
        if not self.skipped:
            return None
        shown = "; ".join(f"{p} ({why})" for p, why in sorted(self.skipped)[:limit])
        more = f"; and {len(self.skipped) - limit} more" if len(self.skipped) > limit else ""
        return (f"skipped {len(self.skipped)} item{'s' if len(self.skipped) != 1 else ''} that "
                f"{'are' if len(self.skipped) != 1 else 'is'} not a regular file inside the folder: {shown}{more}")


@dataclass
class _Walk:
    report: ScanReport
    follow: bool
    use_ignore: bool
    root_real: str = ""
    keep: frozenset[str] = frozenset()  # paths (and their folders) no ignore rule leaves out


def _ignore_file(folder: str) -> RuleSet | None:
    try:
        with open(f"{folder}/{IGNORE_FILE}", encoding="utf-8", errors="replace") as fh:
            rules = parse_ignore_text(fh.read())
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
        return None
    return RuleSet(folder.rstrip("/") + "/", tuple(rules)) if rules else None


def upward_rules(folder: str) -> tuple[RuleSet, ...]:
    """The ``.artcliignore`` files above ``folder`` up to the project root (the nearest folder
    with ``.git`` or ``artcli.toml``), outermost first; none when there is no project root."""
    chain: list[str] = []
    cur = os.path.dirname(folder)
    while True:
        chain.append(cur)
        if any(os.path.exists(f"{cur}/{m}") for m in ROOT_MARKERS):
            break
        parent = os.path.dirname(cur)
        if parent == cur:
            return ()
        cur = parent
    if any(os.path.exists(f"{folder}/{m}") for m in ROOT_MARKERS):  # the folder is the root itself
        return ()
    return tuple(rs for d in reversed(chain) if (rs := _ignore_file(d)) is not None)


def _walk(w: _Walk, folder: str, rel: str, rules: tuple[RuleSet, ...], above: frozenset[str]) -> Iterator[InputFile]:
    """Depth-first over a folder with scandir (one stat per file), yielding its files in path
    order: each folder's items are visited sorted by their name inside the version with a
    ``/`` after a folder's, which is how a folder's whole paths sort among its siblings'.
    ``folder`` is the logical path (symlinks kept as named), ``rel`` the NFC prefix inside the
    version, ``above`` the real paths of the folders we are inside (a symlink back to one is a
    loop). Only one folder's items are held at a time, per level."""
    try:
        it = sorted(os.scandir(folder), key=lambda d: d.name)
    except PermissionError as exc:
        raise UsageError(f"cannot read directory {folder}: {exc.strerror}") from None
    if w.use_ignore and any(d.name == IGNORE_FILE for d in it) and (own := _ignore_file(folder)) is not None:
        rules = (*rules, own)
    items: list[tuple[str, str, os.stat_result | None]] = []  # (name in the version, path, stat or None: a folder)
    for d in it:
        path = f"{folder}/{d.name}"
        name = rel + _nfc(d.name)
        try:
            if d.is_symlink():
                try:
                    fst = os.stat(path)
                except (FileNotFoundError, NotADirectoryError):
                    w.report.skipped.append((name, "dangling symlink"))
                    continue
                except OSError as exc:  # ELOOP and friends
                    w.report.skipped.append((name, f"unreadable symlink: {exc.strerror}"))
                    continue
                real = os.path.realpath(path)
                if statmod.S_ISDIR(fst.st_mode):
                    if not w.follow:
                        w.report.skipped.append((name + "/", "symlink to a folder; --follow-symlinks follows it"))
                        continue
                    if real in above:
                        w.report.skipped.append((name + "/", "symlink loop"))
                        continue
                elif not w.follow and not (real == w.root_real or real.startswith(w.root_real + "/")):
                    w.report.skipped.append((name, "symlink out of the folder; --follow-symlinks follows it"))
                    continue
                is_dir = statmod.S_ISDIR(fst.st_mode)
            else:
                is_dir = d.is_dir(follow_symlinks=False)
                fst = None if is_dir else d.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed while walking
        if w.use_ignore and rules and ignored(rules, path, is_dir) and name not in w.keep:
            w.report.ignored += 1
            continue
        if is_dir:
            items.append((name + "/", path, None))
            continue
        assert fst is not None
        if statmod.S_ISREG(fst.st_mode):
            try:
                safe_relpath(name)
            except IntegrityError:
                raise UsageError(f"cannot version a file named {name!r}") from None
            items.append((name, path, fst))
        else:
            w.report.skipped.append((name, "not a regular file"))
    del it
    items.sort(key=lambda item: item[0])
    for name, path, fst in items:
        if fst is None:
            yield from _walk(w, path, name, rules, above | {os.path.realpath(path)} if w.follow else above)
        else:
            yield InputFile(name, path, fst.st_size, stat_key(fst))


def require_paths(paths: list[str]) -> None:
    """Every given local input exists: checked before anything contacts the remote, so a typo
    is reported at once, not after an unreachable remote's retries (issue 22)."""
    for given in paths:
        if not os.path.lexists(given):
            raise NotFoundError(f"no such file or directory: {given}")


def scan(paths: list[str], name_as: str | None = None, *, follow_symlinks: bool = False, use_ignore: bool = True,
         report: ScanReport | None = None, allow_empty: bool = False,
         keep: frozenset[str] = frozenset()) -> list[InputFile]:
    """Files under ``paths`` (:func:`iter_scan`), as a list; none is a UsageError unless ``allow_empty``."""
    files = list(iter_scan(paths, name_as, follow_symlinks=follow_symlinks, use_ignore=use_ignore, report=report,
                           keep=keep))
    if not files and not allow_empty:
        raise UsageError("nothing to log: the given paths contain no files")
    return files


def iter_scan(paths: list[str], name_as: str | None = None, *, follow_symlinks: bool = False, use_ignore: bool = True,
              report: ScanReport | None = None, keep: frozenset[str] = frozenset()) -> Iterator[InputFile]:
    """Files under ``paths``, in path order, one at a time: a directory contributes its
    contents, a file its own name.

    ``name_as`` places everything under that folder inside the version. In a folder, the
    default ignores and ``.artcliignore`` files leave things out (``use_ignore``), symlinks to
    files inside it are followed and every other symlink, FIFO or device is skipped and told
    in ``report`` (``follow_symlinks``: follow every symlink, loops excepted). A path given
    by name is always taken, and so are the paths in ``keep`` (inside the version; with every
    folder above them), whatever the ignore rules say (``status`` of a downloaded folder).
    Two inputs on one path are a UsageError.
    """
    rep = report if report is not None else ScanReport()
    prefix = tuple(p for p in (name_as or "").replace("\\", "/").split("/") if p)
    walks: list[Iterator[InputFile]] = []
    for given in paths:
        p = Path(given)
        try:
            st = p.stat()
        except FileNotFoundError:
            raise NotFoundError(f"no such file or directory: {given}") from None
        if statmod.S_ISREG(st.st_mode):
            walks.append(iter([InputFile(_to_rel((*prefix, p.name)), str(p.resolve()), st.st_size, stat_key(st))]))
        elif statmod.S_ISDIR(st.st_mode):
            folder = os.path.abspath(given).rstrip("/") or "/"
            real = os.path.realpath(folder)
            w = _Walk(rep, follow_symlinks, use_ignore, real, keep)
            rules = ((RuleSet(folder + "/", tuple(parse_ignore_text("\n".join(DEFAULT_IGNORES)))),
                      *upward_rules(folder)) if use_ignore else ())
            walks.append(_walk(w, folder, "".join(f"{_nfc(x)}/" for x in prefix), rules, frozenset({real})))
        else:
            raise UsageError(f"not a regular file or directory: {given}")
    last = None
    for f in heapq.merge(*walks, key=lambda f: f.path) if len(walks) > 1 else (walks[0] if walks else ()):
        if f.path == last:
            raise UsageError(f"two inputs map to the same path {f.path!r} in the version; use --name-as")
        last = f.path
        rep.found += 1
        yield f


def _uncached(db: LocalDB, files: list[InputFile], progress: Callable[[int], None] | None) -> list[InputFile]:
    """Give ``files`` whose stat key the stat cache holds their recorded digest; return the
    others, which must be read."""
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
    return todo


def known_digests(db: LocalDB, files: list[InputFile]) -> list[InputFile]:
    """Give ``files`` the stat cache vouches for their digest (``cached``); the others, to be read."""
    return _uncached(db, files, None)


def hash_files(files: list[InputFile], db: LocalDB, progress: Callable[[int], None] | None = None,
                on_hashed: Callable[[InputFile], None] | None = None) -> int:
    """Fill in each file's digest; returns how many files had to be read.

    ``on_hashed`` is called, from the hashing threads, with each file that had to be read, as
    soon as its digest is known (``log`` starts uploading it then).
    """
    todo = _uncached(db, files, progress)

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

        def work_some(part: list[InputFile]) -> None:
            for f in part:
                work(f)

        # a few files per task and a bounded number of tasks in flight: one future per file
        # (pool.map submits them all) held ~1.3 KB per file, most of log's memory at 100,000
        with ThreadPoolExecutor(workers) as pool:
            inflight: list[Any] = []
            for i in range(0, len(todo), HASH_TASK):
                inflight.append(pool.submit(work_some, todo[i : i + HASH_TASK]))
                if len(inflight) >= workers * 4:
                    inflight.pop(0).result()
            for fut in inflight:
                fut.result()
        cutoff = (_now() - RACY_SECONDS) * 1e9
        db.stat_store((f.abspath, f.st, f.digest) for f in todo if max(f.st[3], f.st[4]) < cutoff)
    return len(todo)


def hash_stream(files: Iterable[InputFile], db: LocalDB, progress: Callable[[int], None] | None = None,
                on_hashed: Callable[[InputFile], None] | None = None, batch: int = 512) -> Iterator[InputFile]:
    """:func:`hash_files` for a stream: each file comes back with its digest, in the order
    given, while at most a few batches are held (the stat cache is asked ``batch`` paths at a
    time; files that must be read are hashed ``HASH_TASK`` per task on 4 threads, and what
    they learnt is remembered batch by batch). ``on_hashed`` as for :func:`hash_files`.
    """
    pending: deque[tuple[list[InputFile], list[InputFile], list[Future[None]]]] = deque()

    def work_some(part: list[InputFile]) -> None:
        for f in part:
            f.digest = digest_file(f.abspath)
            if stat_key(os.stat(f.abspath)) != f.st:
                raise ConflictError(f"{f.abspath} changed while it was being hashed; try again")
            if progress:
                progress(f.size)
            if on_hashed:
                on_hashed(f)

    def finish(group: list[InputFile], todo: list[InputFile], futs: list[Future[None]]) -> list[InputFile]:
        for fut in futs:
            fut.result()
        if todo:
            cutoff = (_now() - RACY_SECONDS) * 1e9
            db.stat_store((f.abspath, f.st, f.digest) for f in todo if max(f.st[3], f.st[4]) < cutoff)
        return group

    with ThreadPoolExecutor(4) as pool:
        try:
            it = iter(files)
            while group := list(islice(it, batch)):
                todo = _uncached(db, group, progress)
                futs = [pool.submit(work_some, todo[i : i + HASH_TASK]) for i in range(0, len(todo), HASH_TASK)]
                pending.append((group, todo, futs))
                while len(pending) > 2:
                    yield from finish(*pending.popleft())
            while pending:
                yield from finish(*pending.popleft())
        finally:
            for _group, _todo, futs in pending:  # a failure or an abandoned stream: nothing more starts
                for fut in futs:
                    fut.cancel()
