"""``download``: materialise a version into a directory, verified, never outside it."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artcli.errors import ConflictError, UsageError
from artcli.localdb import stat_key
from artcli.materialise import (
    TargetWriter,
    check_layout,
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
             force: bool = False, verify: bool = False, dry_run: bool = False) -> DownloadResult:
    """Materialise a version into ``root``, verified; ``track`` records it as used by the current
    run when there is one (lineage: docs/lineage.md).

    ``path_prefix`` (several: any of them), ``include``/``exclude``: only those files. A file
    in the target that differs from the version and is not what artcli last wrote there (edited
    since, or never written by artcli) stops the download before any write (ConflictError,
    exit 5, naming them) unless ``force``. ``verify``: re-hash the files already there, even
    those the stat cache vouches for. ``dry_run``: write nothing, list what would be written.
    """
    rep = reporter or NoProgress()
    repo.check_format()
    st, vs = repo.resolve(ref)
    man = repo.version_manifest(st, vs)
    where = f"{st.project}/{st.name}:v{vs.version}"
    accept, what = _selector(path_prefix, include, exclude)
    entries = [e for e in man.entries if accept is None or accept(e.path)]
    if accept is not None and not entries:
        raise UsageError(f"no file of {where} matches {what}")
    target = Path(root) if root else default_root(st.name, vs.version)
    check_layout(entries)
    target = target.resolve() if dry_run else make_target(target)
    checked: set[str] = set()
    plans = [(e, final_path(target, e.path, checked)) for e in entries]  # refuses escapes before any write

    stored = [(e, p) for e, p in plans if e.ref is None]
    edited: list[tuple[Entry, str]] = []
    todo = out_of_date(repo.db, stored, verify=verify, edited=edited)
    refs_known = [(e, p) for e, p in plans if e.ref is not None and e.digest]
    if refs_known:
        out_of_date(repo.db, refs_known, verify=verify, edited=edited)
    overwritten = sorted(e.path for e, _ in edited)
    if edited and not force and not dry_run:
        shown = ", ".join(overwritten[:10]) + (f" and {len(overwritten) - 10} more" if len(overwritten) > 10 else "")
        raise ConflictError(f"{len(overwritten)} file(s) in {target} differ from {where} and were not written by "
                            f"artcli (edited locally?): {shown}",
                            hint=f"artcli status {where} {target} shows them; --force overwrites them")
    if dry_run:
        would = sorted({e.path for e, _ in todo} | {e.path for e, _ in plans if e.ref is not None
                                                   and (not e.digest or e.path in {x.path for x, _ in edited})})
        rep.done(f"dry run: {where} -> {target}: would write {len(would)} files"
                 + (f"; {len(overwritten)} edited locally (--force to overwrite)" if overwritten else ""))
        return DownloadResult(where, str(target), len(entries), sum(e.size for e in entries), 0, 0, 0,
                              warnings=list(st.warnings), dry_run=True, would_write=would, overwritten=overwritten)
    sweep_temps({os.path.dirname(p) for _, p in todo} | ({str(target)} if skip_cache and todo else set()))
    made: set[str] = set()
    sink = TargetWriter(target, todo, made, None if skip_cache else repo.cache)
    # --skip-cache: straight from the remote into the target, no cache read or write
    need = list({e.digest: e for e, _ in todo}.values()) if skip_cache else _from_cache(repo, sink, todo)
    fetched_bytes = sum(e.size for e in need)
    rep.phase("downloading", fetched_bytes)
    fetch_stored(repo.store, sink, need, rep.advance)
    if not skip_cache:
        # every path of a digest stored loose (even one another entry names packed) comes from
        # the cache file the fetch left
        loose_digests = {e.digest for e, _ in todo if not e.pack}
        loose = [(e, p) for e, p in todo if e.digest in loose_digests]
        with ThreadPoolExecutor(WRITE_THREADS) as pool:
            list(pool.map(lambda ep: copy_into_place(repo.cache.path(ep[0].digest or ""), ep[1], made), loose))
    repo.db.stat_store((p, *stat_key(os.stat(p)), e.digest or "") for e, p in todo)
    warnings = list(st.warnings)
    refs = [(e, p) for e, p in plans if e.ref is not None]
    if refs:
        rs = fetch_references(repo, refs, target, rep)
        fetched_files, fetched_bytes, written = rs.fetched_files, fetched_bytes + rs.fetched_bytes, rs.materialised
        warnings += rs.warnings
    else:
        fetched_files, written = 0, 0
    fetched_files += len(need)
    written += len(todo)
    if track:
        record_input(repo, st, vs, via="download", requested=str(ref), warnings=warnings)
    rep.done(f"{where} -> {target} ({written} files written)")
    return DownloadResult(where, str(target), len(entries), sum(e.size for e in entries), fetched_files,
                          fetched_bytes, written, warnings=warnings, overwritten=overwritten)


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
