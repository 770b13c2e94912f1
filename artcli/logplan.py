"""What a ``log`` takes, below the ops that log: the local files a folder contributes (ignore
rules, symlink policy, ``--include``/``--exclude``), and, for an incremental version
(``log --from REF``), the entries kept from the base version's manifest.

An incremental version reads only the base's manifest: its kept entries point at the blobs
and pack members the base already stored, so only the new files are uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from artcli.errors import UsageError
from artcli.inputs import InputFile, ScanReport, scan
from artcli.model import Entry, Ref
from artcli.pathmatch import PathFilter, compile_patterns

if TYPE_CHECKING:
    from artcli.repo import Repo


@dataclass
class Gathered:
    files: list[InputFile]
    ignored: int = 0
    warnings: list[str] = field(default_factory=list)


def gather(paths: list[str], name_as: str | None, *, pfilter: PathFilter | None = None,
           follow_symlinks: bool = False, use_ignore: bool = True) -> Gathered:
    """The files ``log`` takes from ``paths``; what it skipped is one warning."""
    report = ScanReport()
    files = scan(paths, name_as, follow_symlinks=follow_symlinks, use_ignore=use_ignore, report=report)
    if pfilter:
        files = [f for f in files if pfilter.accepts(f.path)]
        if not files:
            raise UsageError(f"nothing to log: no file of the given paths matches {pfilter.describe()}")
    warning = report.warning()
    return Gathered(files, report.ignored, [warning] if warning else [])


@dataclass
class Base:
    """The version an incremental ``log --from`` starts from, and the entries it keeps."""

    ref: str
    entries: list[Entry]
    removed: int


def base_entries(repo: Repo, ref: Ref, remove: list[str] | None, local: list[InputFile]) -> Base:
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
    replaced = {f.path for f in local}
    base_paths = {e.path for e in kept}
    for path in replaced:
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in base_paths:
                raise UsageError(f"{path!r} would be inside {folder!r}, a file of {where}",
                                 hint=f"add --remove {folder}")
    folders = {"/".join(path.split("/")[:i]) for path in base_paths for i in range(1, path.count("/") + 1)}
    for path in replaced & folders:
        raise UsageError(f"{path!r} is a folder in {where}", hint=f"add --remove '{path}/'")
    return Base(where, [e for e in kept if e.path not in replaced], removed)
