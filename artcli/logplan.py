"""What a ``log`` takes, below the ops that log: the local files a folder contributes (ignore
rules, symlink policy, ``--include``/``--exclude``), and, for an incremental version
(``log --from REF``), the entries kept from the base version's manifest.

An incremental version reads only the base's manifest: its kept entries point at the blobs
and pack members the base already stored, so only the new files are uploaded.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artcli import canonical, manifest
from artcli.errors import ConflictError, NotFoundError, UsageError
from artcli.hashing import digest_file
from artcli.inputs import InputFile, ScanReport, hash_files, iter_scan, known_digests, scan
from artcli.manifest_stream import EntrySpill, digest_lines
from artcli.model import Entry, Ref
from artcli.pathmatch import PathFilter, compile_patterns
from artcli.progress import ProgressReporter
from artcli.remoteindex import confirm_packs, find_loose

if TYPE_CHECKING:
    from artcli.fileplan import FilePlan
    from artcli.localdb import LocalDB
    from artcli.repo import Repo


@dataclass
class Gathered:
    ignored: int = 0
    warnings: list[str] = field(default_factory=list)


def gather(plan: FilePlan, paths: list[str], name_as: str | None, *, pfilter: PathFilter | None = None,
           follow_symlinks: bool = False, use_ignore: bool = True, db: LocalDB | None = None) -> Gathered:
    """Put the files ``log`` takes from ``paths`` into ``plan`` as the walk finds them (none
    is held: a million files cost what a few do); what it skipped is one warning. With the
    stat cache ``db``, a file it knows goes in with its digest (looked up a batch at a time)."""
    report = ScanReport()
    files: Iterable[InputFile] = iter_scan(paths, name_as, follow_symlinks=follow_symlinks, use_ignore=use_ignore,
                                           report=report)
    if pfilter:
        files = (f for f in files if pfilter.accepts(f.path))
    plan.add(_known_digests(files, db) if db is not None else files)
    if not plan.count:
        if pfilter and report.found:
            raise UsageError(f"nothing to log: no file of the given paths matches {pfilter.describe()}")
        raise UsageError("nothing to log: the given paths contain no files")
    warning = report.warning()
    return Gathered(report.ignored, [warning] if warning else [])


def _known_digests(files: Iterable[InputFile], db: LocalDB, batch: int = 512) -> Iterator[InputFile]:
    """The files, those the stat cache vouches for with their digest (``cached``)."""
    it = iter(files)
    while group := list(islice(it, batch)):
        known_digests(db, group)
        yield from group


def folder_entries(db: LocalDB, folder: str, *, read_data: bool = False, pfilter: PathFilter | None = None,
                   follow_symlinks: bool = False, use_ignore: bool = True,
                   known: Iterable[str] = ()) -> tuple[dict[str, Entry], list[str]]:
    """A local folder as ``log`` would take it (ignore rules, symlink policy, filters), hashed:
    path -> Entry, and the skipped-items warning. ``read_data``: hash every file, trusting no
    stat cache entry. ``known``: the paths of the version it is compared with, never left out
    by an ignore rule (a version may hold a ``.env`` that ``.artcliignore`` re-included)."""
    if not os.path.isdir(folder):
        raise NotFoundError(f"no such folder: {folder}")
    report = ScanReport()
    keep = set()
    for path in known:
        parts = path.split("/")
        keep.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    files = scan([folder], follow_symlinks=follow_symlinks, use_ignore=use_ignore, report=report, allow_empty=True,
                 keep=frozenset(keep))
    if pfilter:
        files = [f for f in files if pfilter.accepts(f.path)]
    if read_data:
        def one(f: InputFile) -> None:
            f.digest = digest_file(f.abspath)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, files))
    else:
        hash_files(files, db)
    warning = report.warning()
    return {f.path: Entry(f.path, f.size, f.digest) for f in files}, [warning] if warning else []


def identity(e: Entry) -> tuple[Any, ...]:
    """What makes two entries the same file: size and digest (a location-only reference, with no
    digest, by its size and source), never where the bytes are stored."""
    return (e.size, e.digest, None if e.digest else canonical.dumps(e.ref or {}))


@dataclass
class EntryDiff:
    added: list[Entry] = field(default_factory=list)
    removed: list[Entry] = field(default_factory=list)
    changed: list[tuple[Entry, Entry]] = field(default_factory=list)
    unchanged: int = 0


def compare(a: dict[str, Entry], b: dict[str, Entry]) -> EntryDiff:
    """Files added, removed and changed from ``a`` to ``b``, by path, in path order."""
    out = EntryDiff()
    for path in sorted(a.keys() | b.keys()):
        ea, eb = a.get(path), b.get(path)
        if ea is None and eb is not None:
            out.added.append(eb)
        elif eb is None and ea is not None:
            out.removed.append(ea)
        elif ea is not None and eb is not None:
            if identity(ea) == identity(eb):
                out.unchanged += 1
            else:
                out.changed.append((ea, eb))
    return out


@dataclass
class Base:
    """The version an incremental ``log --from`` starts from, and the entries it keeps."""

    ref: str
    entries: list[Entry]
    removed: int


def check_base_stored(repo: Repo, kept: list[Entry], where: str) -> None:
    """Inside the writer lease: the objects the kept base entries name are still on the remote.

    A gc cannot delete while the lease is held, but the base version may have been deleted and
    collected between resolving it and taking the lease; a version naming missing objects must
    never become visible. Costs a HEAD or two per pack (one LIST of packs for many) and the
    LISTs of the loose blobs' folders.
    """
    stored = [e for e in kept if e.ref is None]
    if not stored:
        return
    packs = {e.pack for e in stored if e.pack}
    loose = sorted({e.digest or "" for e in stored if not e.pack})
    gone = packs - confirm_packs(repo, packs)
    lost = set(loose) - (find_loose(repo, loose) if loose else set())
    if gone or lost:
        raise ConflictError(f"{len(gone) + len(lost)} object(s) of {where} are no longer on the remote "
                            "(deleted and garbage-collected meanwhile?); nothing was logged",
                            hint="log from a live version, or log the files themselves")


def base_entries(repo: Repo, ref: Ref, remove: list[str] | None, local: FilePlan) -> Base:
    """The base version's entries, minus those matching a ``--remove`` pattern and those a local
    file replaces (same path). A local file where the base has a folder, or under a base file,
    is refused: say ``--remove`` for it."""
    patterns = compile_patterns(remove, "--remove pattern")
    st, vs = repo.resolve(ref)
    man = repo.version_manifest(st, vs)  # the manifest only: never the base's bytes
    where = f"{st.project}/{st.name}:v{vs.version}"
    kept: list[Entry] = []
    removed = 0
    for e in man.entries:
        if any(p.matches_file(e.path) for p in patterns):
            removed += 1
        else:
            kept.append(e)
    if patterns and not removed:
        raise UsageError(f"no file of {where} matches --remove {' '.join(p.text for p in patterns)}")
    base_paths = {e.path for e in kept}
    for path in local.paths():
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in base_paths:
                raise UsageError(f"{path!r} would be inside {folder!r}, a file of {where}",
                                 hint=f"add --remove {folder}")
    folders = {"/".join(path.split("/")[:i]) for path in base_paths for i in range(1, path.count("/") + 1)}
    for path in sorted(folders):
        if path in local:
            raise UsageError(f"{path!r} is a folder in {where}", hint=f"add --remove '{path}/'")
    return Base(where, [e for e in kept if e.path not in local], removed)


@dataclass
class Assembled:
    """A version's entries, in memory (``entries``) or streaming (``spill``), and its identity."""

    entries: list[Entry]
    spill: EntrySpill | None
    count: int
    total: int
    cdigest: str
    #: base entries stored in packs (streaming): their manifest line, with the location
    located: dict[bytes, bytes] = field(default_factory=dict)


def assemble(files: FilePlan, extra: list[Entry] | EntrySpill | None, kept: list[Entry],
             cleanup: ExitStack, tmp_dir: Path, stream_min: int, rep: ProgressReporter) -> Assembled:
    """Local files + ready-made entries (references) + a base's kept entries, checked (no path
    twice): in memory, or, past ``stream_min`` entries or when ``extra`` is a spill, streaming
    (the content digest is of plain lines; the manifest gets the located ones)."""
    spill = extra if isinstance(extra, EntrySpill) else None
    if spill is None and files.count + len(extra or ()) + len(kept) > stream_min:
        spill = cleanup.enter_context(EntrySpill(tmp_dir))
        spill.extend(extra or ())
    if spill is not None:  # streaming: the files join the spill; its merge checks every path
        located: dict[bytes, bytes] = {}
        spill.extend(files.entries())
        for e in kept:
            spill.add(Entry(e.path, e.size, e.digest, ref=e.ref) if e.pack else e)
            if e.pack:
                located[e.path.encode()] = manifest.entry_line(e)
        if not spill.count:
            raise UsageError("nothing to log")
        rep.phase("checking the manifest", None, unit="entries")
        cdigest = digest_lines(spill.lines())  # no pack locations in it: the content digest
        return Assembled([], spill, spill.count, spill.size, cdigest, located)
    entries = list(files.entries())  # no more than stream_min
    others = [*(extra or ()), *kept]
    if others:
        seen = {e.path for e in entries}
        for e in others:
            if e.path in seen:
                raise UsageError(f"two inputs map to the same path {e.path!r} in the version")
            seen.add(e.path)
        entries = sorted(entries + others, key=lambda e: e.path)
    if not entries:
        raise UsageError("nothing to log")
    return Assembled(entries, None, len(entries), sum(e.size for e in entries), manifest.content_digest(entries))
