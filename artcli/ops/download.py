"""``download``: materialise a version into a directory, verified, never outside it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artcli.errors import IntegrityError, UsageError
from artcli.humanize import plural
from artcli.localdb import stat_key
from artcli.materialise import (
    LayoutCheck,
    TargetWriter,
    copy_into_place,
    final_path,
    make_target,
    out_of_date,
    sweep_temps,
)
from artcli.model import Entry, Ref
from artcli.progress import NoProgress, ProgressReporter
from artcli.references import fetch_references
from artcli.repo import Repo
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

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "warnings"}


def default_root(ref_name: str, version: int) -> Path:
    """``artifacts/<name>/v<N>``: no colon, so the path works in Make, scp and on Windows."""
    return Path("artifacts") / ref_name / f"v{version}"


def download(repo: Repo, ref: Ref, root: str | None = None, *, path_prefix: str | None = None,
             skip_cache: bool = False, reporter: ProgressReporter | None = None, track: bool = True,
             allow_private_refs: bool = False) -> DownloadResult:
    """Materialise a version into ``root``, verified; ``track`` records it as used by the current
    run when there is one (lineage: docs/lineage.md). References to internal addresses or system
    files are refused unless ``allow_private_refs`` (docs/references.md).

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

    def selected() -> Iterator[Entry]:
        return (e for e in man if not path_prefix or e.path == path_prefix
                or e.path.startswith(path_prefix.rstrip("/") + "/"))

    layout = LayoutCheck()
    files = size = 0
    for e in selected():  # first pass: everything checked before any write
        layout.add(e.path)
        files += 1
        size += e.size
    repo.check_event(st, vs, man, where)
    if path_prefix and not files:
        raise UsageError(f"no file of {where} is under {path_prefix!r}")
    target = Path(root) if root else default_root(st.name, vs.version)
    target = make_target(target)
    done = _Totals(warnings=list(st.warnings))
    checked: set[str] = set()
    many = files > CHUNK
    skip_cache = skip_cache or not repo.cache.writable  # an unwritable cache: straight into the target
    if many:
        rep.phase("downloading", None)
    for chunk in _batched(selected(), CHUNK):
        _materialise(repo, chunk, target, checked, skip_cache, rep, done, many, allow_private_refs)
    if track:
        record_input(repo, st, vs, via="download", requested=str(ref), warnings=done.warnings)
    rep.done(f"{where} -> {target} ({plural(done.written, 'file')} written)")
    return DownloadResult(where, str(target), files, size, done.fetched_files, done.fetched_bytes, done.written,
                          warnings=done.warnings)


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
                 rep: ProgressReporter, done: _Totals, many: bool, allow_private_refs: bool = False) -> None:
    """Put one chunk of entries in place: up-to-date files are left alone, the cache serves
    what it holds, the rest is fetched, verified and written."""
    plans = [(e, final_path(target, e.path, checked)) for e in entries]  # refuses escapes before any write
    stored = [(e, p) for e, p in plans if e.ref is None]
    todo = out_of_date(repo.db, stored)
    sweep_temps({os.path.dirname(p) for _, p in todo} | ({str(target)} if skip_cache else set()))
    made: set[str] = set()
    sink = TargetWriter(target, todo, made, None if skip_cache else repo.cache)
    # --skip-cache: straight from the remote into the target, no cache read or write
    need = list({e.digest: e for e, _ in todo}.values()) if skip_cache else _from_cache(repo, sink, todo)
    fetched_bytes = sum(e.size for e in need)
    if not many:
        rep.phase("downloading", fetched_bytes)
    fetch_stored(repo.store, sink, need, rep.advance)
    if not skip_cache:
        # every path of a digest stored loose (even one another entry names packed) comes from
        # the cache file the fetch left
        loose_digests = {e.digest for e, _ in todo if not e.pack}
        loose = [(e, p) for e, p in todo if e.digest in loose_digests]
        def copy_some(part: list[tuple[Entry, str]]) -> None:
            for e, p in part:
                copy_into_place(repo.cache.path(e.digest or ""), p, made)

        with ThreadPoolExecutor(WRITE_THREADS) as pool:
            list(pool.map(copy_some, _slices(loose, SMALL_TASK)))
    repo.db.stat_store((p, stat_key(os.stat(p)), e.digest or "") for e, p in todo)
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


def _from_cache(repo: Repo, sink: TargetWriter, todo: list[tuple[Entry, str]]) -> list[Entry]:
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
