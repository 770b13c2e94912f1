"""``download``: materialise a version into a directory, verified, never outside it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artcli.errors import ConflictError, IntegrityError, UsageError
from artcli.humanize import plural
from artcli.localdb import stat_key
from artcli.materialise import (
    LayoutCheck,
    TargetWriter,
    copy_into_place,
    default_root,
    final_path,
    make_target,
    out_of_date,
    sweep_temps,
)
from artcli.model import Entry, Ref
from artcli.pathmatch import PathFilter, has_glob
from artcli.progress import NoProgress, ProgressReporter
from artcli.references import fetch_references
from artcli.repo import Repo, check_against_event
from artcli.results import Result
from artcli.runrecords import record_input
from artcli.transfer import fetch_stored

WRITE_THREADS = 2


@dataclass
class DownloadResult(Result):
    ref: str
    root: str
    files: int
    size: int
    fetched_files: int
    fetched_bytes: int
    materialised: int
    #: skipped events of the artifact's log, location-only references, a use not recorded
    #: (printed on stderr, not part of the JSON)
    #: ``--dry-run``: nothing written; ``would_write`` are the paths a real run would write
    dry_run: bool = False
    would_write: list[str] = field(default_factory=list)
    #: locally edited files overwritten (``--force``) or, in a dry run, that would stop it
    overwritten: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("warnings", "dry_run", "would_write", "overwritten")}
        if self.dry_run:
            out.update(dry_run=True, would_write=self.would_write)
        if self.overwritten:
            out["overwritten"] = self.overwritten
        return out


def _selector(path_prefix: str | list[str] | None, include: list[str] | None,
              exclude: list[str] | None) -> tuple[Callable[[str], bool] | None, str]:
    """Which paths a download takes: under any ``--path-prefix`` (one with glob characters is a
    gitignore-style pattern), and kept by ``--include``/``--exclude``; and how to say so."""
    prefixes = [path_prefix] if isinstance(path_prefix, str) else list(path_prefix or [])
    literal = [p.strip("/") for p in prefixes if not has_glob(p)]
    globs = PathFilter.of([p for p in prefixes if has_glob(p)])
    pfilter = PathFilter.of(include, exclude)
    if not prefixes and not pfilter:
        return None, ""

    def accept(path: str) -> bool:
        if prefixes and not (any(path == p or path.startswith(p + "/") for p in literal)
                             or (globs and globs.accepts(path))):
            return False
        return pfilter.accepts(path)

    what = " ".join([*(f"--path-prefix {p}" for p in prefixes), pfilter.describe()]).strip()
    return accept, what


def download(repo: Repo, ref: Ref, root: str | None = None, *, path_prefix: str | list[str] | None = None,
             include: list[str] | None = None, exclude: list[str] | None = None,
             skip_cache: bool = False, reporter: ProgressReporter | None = None, track: bool = True,
             force: bool = False, verify: bool = False, dry_run: bool = False,
             allow_private_refs: bool = False) -> DownloadResult:
    """Materialise a version into ``root``, verified; ``track`` records it as used by the current
    run when there is one (lineage: docs/lineage.md). References to internal addresses or system
    files are refused unless ``allow_private_refs`` (docs/references.md).

    ``path_prefix`` (several: any of them), ``include``/``exclude``: only those files. A file
    in the target that differs from the version and is not what artcli last wrote there (edited
    since, or never written by artcli) stops the download before any write (ConflictError,
    exit 5, naming them) unless ``force``. ``verify``: re-hash the files already there, even
    those the stat cache vouches for. ``dry_run``: write nothing, list what would be written.

    The manifest is read twice from the local cache, never whole in memory: a first pass checks
    every entry, the layout and the event's claims (docs/format.md §5.8) before anything is
    written; the second materialises ``CHUNK`` entries at a time, so memory does not grow
    with the number of files (a version of a million files)."""
    rep = reporter or NoProgress()
    repo.check_format()
    st, vs = repo.resolve(ref, history=False)
    where = f"{st.project}/{st.name}:v{vs.version}"
    if not vs.manifest:
        raise IntegrityError(f"{where} has no manifest in its log")
    man = repo.manifest_file(vs.manifest, vs.files)

    accept, what = _selector(path_prefix, include, exclude)

    kept: list[Entry] | None = None  # the first pass's entries, when they fit in one chunk

    def selected() -> Iterator[Entry]:
        if kept is not None:  # a version of at most CHUNK files is parsed once, not once per pass
            return iter(kept)
        return (e for e in man if accept is None or accept(e.path))

    layout = LayoutCheck()
    files = size = 0
    first: list[Entry] | None = []
    with repo.judging_event(st, vs):  # a bad event is not kept in the cache
        for e in selected():  # first pass: everything checked before any write
            layout.add(e.path)
            files += 1
            size += e.size
            if first is not None:
                first.append(e)
                if len(first) > CHUNK:
                    first = None
        check_against_event(where, vs, man)
    kept = first
    if accept is not None and not files:
        raise UsageError(f"no file of {where} matches {what}")
    target = (Path(root) if root else default_root(st.name, vs.version)).resolve()
    pre = _Survey()
    occupied = target.is_dir() and any(os.scandir(target))
    if dry_run or occupied:  # files may be in the way
        for chunk in _batched(selected(), CHUNK):
            pre.add(repo, chunk, target, verify, dry_run)
    overwritten = sorted(pre.edited)
    if overwritten and not force and not dry_run:
        shown = ", ".join(overwritten[:10]) + (f" and {len(overwritten) - 10} more" if len(overwritten) > 10 else "")
        raise ConflictError(f"{len(overwritten)} file(s) in {target} differ from {where} and were not written by "
                            f"artcli (edited locally?): {shown}",
                            hint=f"artcli status {where} {target} shows them; --force overwrites them")
    if dry_run:
        rep.done(f"dry run: {where} -> {target}: would write {len(pre.would)} files"
                 + (f"; {len(overwritten)} edited locally (--force to overwrite)" if overwritten else ""))
        return DownloadResult(where, str(target), files, size, 0, 0, 0, warnings=list(st.warnings), dry_run=True,
                              would_write=sorted(pre.would), overwritten=overwritten)
    target = make_target(target)
    done = _Totals(warnings=list(st.warnings))
    checked: set[str] = set()
    many = files > CHUNK
    skip_cache = skip_cache or not repo.cache.writable  # an unwritable cache: straight into the target
    if many:
        rep.phase("downloading", None)
    for chunk in _batched(selected(), CHUNK):
        _materialise(repo, chunk, target, checked, skip_cache, rep, done, many, pre.stale, allow_private_refs,
                     verify, fresh=not occupied)
    if track:
        record_input(repo, st, vs, via="download", requested=str(ref), warnings=done.warnings)
    rep.done(f"{where} -> {target} ({plural(done.written, 'file')} written)")
    return DownloadResult(where, str(target), files, size, done.fetched_files, done.fetched_bytes, done.written,
                          warnings=done.warnings, overwritten=overwritten)


@dataclass
class _Survey:
    """What is already in the target, before anything is written: files edited locally (or not
    written by artcli) that differ from the version, existing files out of date (``verify``
    may find some the stat cache vouches for), and, for a dry run, every path it would write."""

    edited: list[str] = field(default_factory=list)
    stale: set[str] = field(default_factory=set)
    would: list[str] = field(default_factory=list)

    def add(self, repo: Repo, entries: list[Entry], target: Path, verify: bool, listing: bool) -> None:
        checked: set[str] = set()
        plans = [(e, final_path(target, e.path, checked)) for e in entries]  # refuses escapes, writes nothing
        edited: list[tuple[Entry, str]] = []
        todo = out_of_date(repo.db, [(e, p) for e, p in plans if e.ref is None], verify=verify, edited=edited)
        out_of_date(repo.db, [(e, p) for e, p in plans if e.ref is not None and e.digest], verify=verify,
                    edited=edited)
        self.edited += [e.path for e, _ in edited]
        self.stale.update(p for _, p in todo if os.path.lexists(p))
        if listing:
            mine = {e.path for e, _ in edited}
            self.would += [e.path for e, _ in todo]
            self.would += [e.path for e, _ in plans if e.ref is not None and (not e.digest or e.path in mine)]


def _batched(items: Iterator[Entry], n: int) -> Iterator[list[Entry]]:
    while batch := list(itertools.islice(items, n)):
        yield batch


#: entries materialised at a time: bounds memory (a few KB each in flight)
CHUNK = 20_000


@dataclass
class _Totals:
    fetched_files: int = 0
    fetched_bytes: int = 0
    written: int = 0
    warnings: list[str] = field(default_factory=list)


def _materialise(repo: Repo, entries: list[Entry], target: Path, checked: set[str], skip_cache: bool,
                 rep: ProgressReporter, done: _Totals, many: bool, stale: set[str],
                 allow_private_refs: bool = False, verify: bool = False, *, fresh: bool = False) -> None:
    """Put one chunk of entries in place: up-to-date files are left alone, the cache serves
    what it holds, the rest is fetched, verified and written. ``stale``: existing files the
    survey found out of date (with ``--verify``, some the stat cache would vouch for).
    ``fresh``: the target was empty when the download began, so there is nothing to compare
    and no killed run's temp file to sweep (20,000 ``lstat`` calls and index lookups saved)."""
    plans = [(e, final_path(target, e.path, checked)) for e in entries]  # refuses escapes before any write
    stored = [(e, p) for e, p in plans if e.ref is None]
    if fresh:
        todo = stored
    else:
        todo = out_of_date(repo.db, stored)
        if stale:
            have = {p for _, p in todo}
            todo += [(e, p) for e, p in stored if p in stale and p not in have]
        sweep_temps({os.path.dirname(p) for _, p in todo} | ({str(target)} if skip_cache else set()))
    made: set[str] = set()
    sink = TargetWriter(target, todo, made, None if skip_cache else repo.cache)
    # --skip-cache: straight from the remote into the target, no cache read or write
    need = list({e.digest: e for e, _ in todo}.values()) if skip_cache else _from_cache(repo, sink, todo, verify)
    fetched_bytes = sum(e.size for e in need)
    if not many:
        rep.phase("downloading", fetched_bytes)
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        copies = []
        if not skip_cache:
            # every path of a digest the cache holds loose (even one another entry names packed)
            # is copied from it, meanwhile; fetched blobs are copied as each arrives (TargetWriter)
            fetching = {e.digest for e in need}
            loose_digests = {e.digest for e, _ in todo if not e.pack} - fetching
            hits = [(e, p) for e, p in todo if e.digest in loose_digests]

            def copy_some(part: list[tuple[Entry, str]]) -> None:
                for e, p in part:
                    sink.keys[p] = copy_into_place(repo.cache.path(e.digest or ""), p, made)

            copies = [pool.submit(copy_some, part) for part in _tasks(hits)]
        fetch_stored(repo.store, sink, need, rep.advance)
        for c in copies:
            c.result()
    keys = sink.keys
    repo.db.stat_store((p, keys.get(p) or stat_key(os.stat(p)), e.digest or "") for e, p in todo)
    refs = [(e, p) for e, p in plans if e.ref is not None]
    if refs:
        rs = fetch_references(repo, refs, target, rep, allow_private_refs, skip_cache=skip_cache)
        done.fetched_files += rs.fetched_files
        fetched_bytes += rs.fetched_bytes
        done.written += rs.materialised
        done.warnings += rs.warnings
    done.fetched_files += len(need)
    done.fetched_bytes += fetched_bytes
    done.written += len(todo)


def _from_cache(repo: Repo, sink: TargetWriter, todo: list[tuple[Entry, str]], verify: bool = False) -> list[Entry]:
    """Write what the cache holds (verified) to the target; return the entries still to fetch,
    one per digest. Loose files are copied while the fetch runs, packed ones right here.
    ``verify``: hash cache files even when their stat key vouches for them."""
    need: dict[str, Entry] = {}
    packed: dict[str, Entry] = {}
    for e, _ in todo:
        d = e.digest or ""
        if e.pack:
            packed.setdefault(d, e)
        elif d not in need and not repo.cache.valid(d, rehash=verify):
            need[d] = e

    def some(part: list[Entry]) -> list[Entry]:
        missed = []
        for e in part:
            data = repo.cache.get_packed(e)
            if data is None:
                missed.append(e)
            else:
                sink.write_targets(e.digest or "", data)
        return missed

    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        for misses in pool.map(some, _slices(list(packed.values()), SMALL_TASK)):
            for miss in misses:
                need.setdefault(miss.digest or "", miss)
    return list(need.values())


#: files per task handed to the write threads: one task per small file cost more in thread
#: hand-offs (futex calls: 13 per file) than the writes themselves, mostly system time
SMALL_TASK = 256


def _slices(items: list[Any], n: int) -> list[list[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


#: bytes per copy task: large files are shared out between the write threads (a warm download
#: of 100 files of 10 MiB was one task, so one thread copied the whole GiB while the other idled)
COPY_TASK_BYTES = 32 << 20


def _tasks(hits: list[tuple[Entry, str]]) -> list[list[tuple[Entry, str]]]:
    """Copies in tasks of at most ``SMALL_TASK`` files and about ``COPY_TASK_BYTES`` bytes."""
    tasks: list[list[tuple[Entry, str]]] = []
    cur: list[tuple[Entry, str]] = []
    held = 0
    for e, p in hits:
        if cur and (len(cur) >= SMALL_TASK or held + e.size > COPY_TASK_BYTES):
            tasks.append(cur)
            cur, held = [], 0
        cur.append((e, p))
        held += e.size
    if cur:
        tasks.append(cur)
    return tasks
