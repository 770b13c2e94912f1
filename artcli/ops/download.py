"""``download``: materialise a version into a directory, verified, never outside it."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artcli.errors import UsageError
from artcli.localdb import stat_key
from artcli.materialise import (
    TargetWriter,
    check_layout,
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
    return Path("artifacts") / f"{ref_name}:v{version}"


def download(repo: Repo, ref: Ref, root: str | None = None, *, path_prefix: str | None = None,
             skip_cache: bool = False, reporter: ProgressReporter | None = None, track: bool = True,
             allow_private_refs: bool = False) -> DownloadResult:
    """Materialise a version into ``root``, verified; ``track`` records it as used by the current
    run when there is one (lineage: docs/lineage.md). References to internal addresses or system
    files are refused unless ``allow_private_refs`` (docs/references.md)."""
    rep = reporter or NoProgress()
    repo.check_format()
    st, vs = repo.resolve(ref)
    man = repo.version_manifest(st, vs)
    entries = [e for e in man.entries if not path_prefix or e.path == path_prefix
               or e.path.startswith(path_prefix.rstrip("/") + "/")]
    if path_prefix and not entries:
        raise UsageError(f"no file of {st.project}/{st.name}:v{vs.version} is under {path_prefix!r}")
    target = Path(root) if root else default_root(st.name, vs.version)
    check_layout(entries)
    target = make_target(target)
    checked: set[str] = set()
    plans = [(e, final_path(target, e.path, checked)) for e in entries]  # refuses escapes before any write

    stored = [(e, p) for e, p in plans if e.ref is None]
    todo = out_of_date(repo.db, stored)
    skip_cache = skip_cache or not repo.cache.writable  # an unwritable cache: straight into the target
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
        rs = fetch_references(repo, refs, target, rep, allow_private_refs)
        fetched_files, fetched_bytes, written = rs.fetched_files, fetched_bytes + rs.fetched_bytes, rs.materialised
        warnings += rs.warnings
    else:
        fetched_files, written = 0, 0
    fetched_files += len(need)
    written += len(todo)
    if track:
        record_input(repo, st, vs, via="download", requested=str(ref), warnings=warnings)
    rep.done(f"{st.project}/{st.name}:v{vs.version} -> {target} ({written} files written)")
    return DownloadResult(f"{st.project}/{st.name}:v{vs.version}", str(target), len(entries),
                          sum(e.size for e in entries), fetched_files, fetched_bytes, written, warnings=warnings)


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
