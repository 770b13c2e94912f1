"""Reference entries (files that stay at their source) below the ops that use them.

``add-ref`` (and ``log --ref``) turn source URIs into manifest entries with a ``ref`` — the
source URI plus what pins it — with :func:`spill_references`, and log them like any file, so
naming, dedup (the content digest includes the pins), aliases and output are those of ``log``.

``download`` hands the reference entries to :func:`fetch_references`: each is fetched from its
source (by version id / generation when recorded), verified, kept in the local cache under its
BLAKE3 digest, and a small pointer file maps the entry's pin to that digest, so a second
download of the same pinned entry reads nothing from the source.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from artcli import canonical
from artcli.errors import IntegrityError, NotFoundError, UsageError
from artcli.hashing import digest_bytes
from artcli.localdb import stat_key
from artcli.manifest_stream import EntrySpill
from artcli.materialise import check_layout, copy_into_place, final_path, out_of_date
from artcli.model import DIGEST_RE, Entry, normalise_relpath
from artcli.progress import NoProgress, ProgressReporter
from artcli.sources import (
    DEFAULT_MAX_OBJECTS,
    SourceContext,
    fetch,
    is_pinned,
    iter_scan,
    location_entry,
    parse_location,
    scan,
)
from artcli.sources.policy import RefPolicy, build_policy

if TYPE_CHECKING:
    from artcli.repo import Repo

FETCH_WORKERS = 8


@dataclass
class RefDownloadStats:
    files: int = 0
    fetched_files: int = 0
    fetched_bytes: int = 0
    materialised: int = 0
    warnings: list[str] = field(default_factory=list)


def source_context(repo: Repo, policy: RefPolicy | None = None) -> SourceContext:
    return SourceContext(repo.settings.remote_url, repo.settings.options, db=repo.db, cache=repo.cache, policy=policy)


def download_policy(repo: Repo, allow_private: bool = False) -> RefPolicy:
    """What references a download of this repo may read (artcli/sources/policy.py)."""
    from artcli.config import config_dir, data_dir, merged_config

    return build_policy(merged_config().get("references", {}), remote_url=repo.settings.remote_url,
                        remote_options=repo.settings.options, allow_private=allow_private,
                        own_dirs=(str(config_dir()), str(data_dir()), str(repo.cache.root)))


# -- logging ------------------------------------------------------------------------------------
def spill_references(repo: Repo, uris: list[str], spill: EntrySpill, *, checksum: bool = True,
                     max_objects: int = DEFAULT_MAX_OBJECTS, name_as: str | None = None,
                     reporter: ProgressReporter | None = None) -> list[str]:
    """Add the manifest entries for ``uris`` to ``spill`` as the sources are listed, page by
    page (never a list of them in memory); returns the warnings to show (e.g. dropped URL secrets).

    Raises before anything is written: a missing source, an unusable key, or more than
    ``max_objects`` objects in all. Two URIs mapping to one path, or a path that is also a
    folder, is found when the spill is merged (``EntrySpill.records``), still before any write.
    """
    rep = reporter or NoProgress()
    if not uris:
        raise UsageError("no source URI given")
    prefix = "/".join(p for p in (name_as or "").replace("\\", "/").split("/") if p)
    if prefix:
        normalise_relpath(prefix)
    ctx = source_context(repo)
    warnings: list[str] = []
    n = 0
    try:
        for uri in dict.fromkeys(uris):
            loc = parse_location(uri)
            if loc.dropped:
                warnings.append(f"{loc.uri}: not recorded from the URL: {', '.join(loc.dropped)} "
                                "(credentials are never stored)")
            if not checksum:
                if n >= max_objects:
                    raise UsageError(f"more than {max_objects:,} objects to reference (the --max-objects limit)")
                found: Iterator[Entry] = iter([location_entry(loc)])
            else:
                rep.phase(f"listing {loc.scheme}", None, unit="objects")
                _single, found = iter_scan(ctx, loc, max_objects, rep.advance, already=n)
            for e in found:
                spill.add(Entry(f"{prefix}/{e.path}", e.size, e.digest, ref=e.ref) if prefix else e)
                n += 1
    finally:
        ctx.close()
    return warnings


# -- downloading --------------------------------------------------------------------------------
def pin_key(e: Entry) -> str:
    """The cache key of a pinned reference: BLAKE3 of its canonical pin (ref + size + digest)."""
    return digest_bytes(canonical.dumps({"digest": e.digest, "ref": e.ref, "size": e.size}))


def _pointer_path(repo: Repo, e: Entry) -> Path:
    k = pin_key(e)
    return repo.cache.root / "refs" / k[:2] / k[2:]


def _read_pointer(repo: Repo, e: Entry) -> str | None:
    try:
        text = _pointer_path(repo, e).read_text().strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return text if DIGEST_RE.fullmatch(text) else None


def _write_pointer(repo: Repo, e: Entry, digest: str) -> None:
    final = _pointer_path(repo, e)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = repo.cache.temp_path("ref")
    tmp.write_text(digest + "\n")
    os.replace(tmp, final)


def fetch_references(repo: Repo, refs: list[tuple[Entry, str]], target: Path,
                     reporter: ProgressReporter | None = None, allow_private: bool = False, *,
                     skip_cache: bool = False) -> RefDownloadStats:
    """Write each reference entry to its path under ``target`` (paths already checked by
    ``download``), fetching from the source only what neither the target nor the cache holds.
    Sources at internal addresses or in system places are refused unless ``allow_private``
    (or the configuration) says otherwise (artcli/sources/policy.py).

    ``skip_cache``: the cache is neither read nor written; every entry the target does not
    already hold is fetched from its source and verified, so a changed or unreachable source
    is an error even when the cache still has the old bytes."""
    rep = reporter or NoProgress()
    stats = RefDownloadStats()
    warn = stats.warnings.append
    ctx = source_context(repo, download_policy(repo, allow_private))
    if skip_cache:
        ctx.cache = None
    checked: set[str] = set()
    made: set[str] = set()
    try:
        plans: list[tuple[Entry, str]] = []
        for e, p in refs:
            ref = e.ref or {}
            if ref.get("directory"):
                warn(f"{e.path}: {ref.get('uri')} is a location-only reference (--no-checksum): "
                     "downloading what is there now, which may differ from when it was logged")
                expanded = _expand(ctx, e, rep)
                check_layout(expanded)
                plans.extend((x, final_path(target, x.path, checked)) for x in expanded)
            else:
                if not is_pinned(e):
                    warn(f"{e.path}: {ref.get('uri')} is a location-only reference (--no-checksum): "
                         "downloading what is there now")
                plans.append((e, p))
        stats.files = len(plans)

        digests: dict[int, str | None] = {}
        for i, (e, _p) in enumerate(plans):
            pointer = None if skip_cache else _read_pointer(repo, e)
            digests[i] = (e.digest or pointer) if is_pinned(e) else None
        known = [(Entry(e.path, e.size, digests[i]), p) for i, (e, p) in enumerate(plans) if digests[i]]
        stale = {p for _e, p in out_of_date(repo.db, known)}
        todo = [i for i, (_e, p) in enumerate(plans) if digests[i] is None or p in stale]

        need: dict[str, list[int]] = {}  # one fetch per distinct pin
        for i in todo:
            d = digests[i]
            if d is None or skip_cache or not repo.cache.valid(d):
                e = plans[i][0]
                need.setdefault(pin_key(e) if is_pinned(e) else f"unpinned:{i}", []).append(i)
        if need:
            rep.phase("fetching references", sum(plans[ix[0]][0].size for ix in need.values()))

        def one(ix: list[int]) -> tuple[list[int], str, int]:
            e = plans[ix[0]][0]
            tmp = _target_temp(target) if skip_cache else repo.cache.temp_path("ref")
            try:
                d = fetch(ctx, e, tmp, e.path, rep.advance)
                size = tmp.stat().st_size
                if skip_cache:  # verified: straight to every path that wants these bytes
                    for i in ix:
                        copy_into_place(str(tmp), plans[i][1], made)
                else:
                    repo.cache.adopt(tmp, d)
            finally:
                tmp.unlink(missing_ok=True)
            if is_pinned(e) and not skip_cache:
                _write_pointer(repo, e, d)
            return ix, d, size

        if need:
            with ThreadPoolExecutor(min(FETCH_WORKERS, len(need))) as pool:
                for ix, d, size in pool.map(one, list(need.values())):
                    for i in ix:
                        digests[i] = d
                    stats.fetched_files += 1
                    stats.fetched_bytes += size
        rows = []
        for i in todo:
            e, p = plans[i]
            d = digests[i]
            assert d is not None
            if not skip_cache:
                copy_into_place(str(repo.cache.path(d)), p, made)
            rows.append((p, stat_key(os.stat(p)), d))
        repo.db.stat_store(rows)
        stats.materialised = len(todo)
    finally:
        ctx.close()
    return stats


def _target_temp(target: Path) -> Path:
    """A temp file in the target (a name :func:`artcli.materialise.sweep_temps` knows)."""
    target.mkdir(parents=True, exist_ok=True)
    return target / f"..artcli-{os.getpid()}-{uuid.uuid4().hex[:12]}.part"


def _expand(ctx: SourceContext, e: Entry, rep: ProgressReporter) -> list[Entry]:
    """A location-only entry as the pinned entries its location holds now (docs/format.md §3.2):
    a location that is gone or holds no file is not found; one holding a name a version cannot
    hold (or two names equal once in NFC) is an integrity error naming it."""
    uri = str((e.ref or {}).get("uri", ""))
    try:
        loc = parse_location(uri)
    except UsageError as exc:
        raise IntegrityError(f"{e.path}: invalid location {uri!r}: {exc}") from None
    rep.phase(f"listing {loc.scheme}", None, unit="objects")
    try:
        single, found = scan(ctx, loc, DEFAULT_MAX_OBJECTS, rep.advance)
    except UsageError as exc:
        if loc.scheme == "file" and _holds_no_file(loc.key):
            raise NotFoundError(f"{e.path}: the location {uri} holds no file") from None
        raise IntegrityError(f"{e.path}: the location {uri} holds what a version cannot: {exc}") from None
    if single:
        return [Entry(e.path, x.size, x.digest, ref=x.ref) for x in found]
    return [Entry(f"{e.path}/{x.path}", x.size, x.digest, ref=x.ref) for x in found]


def _holds_no_file(path: str) -> bool:
    """No regular file under ``path`` as the expansion walks it (symlinked folders not entered)."""
    for root, _dirs, files in os.walk(path):
        if any(os.path.isfile(os.path.join(root, f)) for f in files):
            return False
    return not os.path.isfile(path)
