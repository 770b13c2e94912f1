"""``diff A B``: which files and which metadata differ between two versions, or between a
version and a local folder (either side), or two folders.

Files are compared by path on what identifies their content (size, digest, reference
source and pins), never by where the bytes are stored, so a re-packed file is unchanged.
Metadata is compared on each key's latest value and type.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from artcli import canonical, manifest
from artcli.errors import IntegrityError
from artcli.logplan import folder_entries, identity
from artcli.model import Entry, Ref
from artcli.pathmatch import PathFilter
from artcli.repo import Repo
from artcli.results import Result
from artcli.state.artifact import ArtifactState, VersionState
from artcli.state.metadata import latest_rows


@dataclass
class DiffResult(Result):
    a: str
    b: str
    same_content: bool
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    md_added: list[dict[str, Any]] = field(default_factory=list)
    md_removed: list[dict[str, Any]] = field(default_factory=list)
    md_changed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.md_added or self.md_removed
                    or self.md_changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b, "same_content": self.same_content,
            "files": {"added": self.added, "removed": self.removed, "changed": self.changed,
                      "unchanged": self.unchanged},
            "metadata": {"added": self.md_added, "removed": self.md_removed, "changed": self.md_changed},
        }


def _file(e: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"size": e.size, "digest": e.digest}
    if e.ref is not None:
        out["ref"] = e.ref
    return out


def _streamed(repo: Repo, st: ArtifactState, vs: VersionState) -> manifest.Streamed:
    if not vs.manifest:
        raise IntegrityError(f"{st.project}/{st.name}:v{vs.version} has no manifest in its log")
    return repo.manifest_file(vs.manifest, vs.files)


def _compare_files(res: DiffResult, a: Iterable[Entry], b: Iterable[Entry],
                   same: Callable[[Entry], Any] = _file) -> None:
    """Merge two path-sorted entry streams: memory holds the differences, not the files."""
    ia, ib = iter(a), iter(b)
    ea, eb = next(ia, None), next(ib, None)
    while ea is not None or eb is not None:
        if eb is None or (ea is not None and ea.path < eb.path):
            assert ea is not None
            res.removed.append({"path": ea.path, **_file(ea)})
            ea = next(ia, None)
        elif ea is None or eb.path < ea.path:
            res.added.append({"path": eb.path, **_file(eb)})
            eb = next(ib, None)
        else:
            if same(ea) == same(eb):
                res.unchanged += 1
            else:
                res.changed.append({"path": ea.path, "a": _file(ea), "b": _file(eb)})
            ea, eb = next(ia, None), next(ib, None)


@dataclass
class Folder:
    """A local folder as one side of a diff (taken as ``log`` would take it)."""

    path: str


Side = Ref | Folder


def diff_versions(repo: Repo, ref_a: Side, ref_b: Side, *, include: list[str] | None = None,
                  exclude: list[str] | None = None, read_data: bool = False) -> DiffResult:
    """Files added / removed / changed from A to B, and metadata keys that differ.

    Either side may be a :class:`Folder` (files compared by content; no metadata), hashed
    through the stat cache unless ``read_data``. ``include``/``exclude`` limit the files
    compared. Manifests are streamed: memory holds the differences (and a folder's files).
    """
    pfilter = PathFilter.of(include, exclude)
    warnings: list[str] = []
    versions: dict[int, tuple[str, ArtifactState, VersionState]] = {}
    for i, side in enumerate((ref_a, ref_b)):
        if not isinstance(side, Folder):
            st, vs = repo.resolve(side)
            warnings += st.warnings
            versions[i] = (f"{st.project}/{st.name}:v{vs.version}", st, vs)
    both = len(versions) == 2
    if both and versions[0][2].digest == versions[1][2].digest and not pfilter:
        # equal content digests mean equal files: skip the manifests
        res = DiffResult(versions[0][0], versions[1][0], True, unchanged=versions[0][2].files, warnings=warnings)
    else:
        streams = {i: _streamed(repo, st, vs) for i, (_label, st, vs) in versions.items()}
        known = {e.path for m in streams.values() for e in m} if len(versions) < 2 else set()
        sides: list[Iterable[Entry]] = []
        labels: list[str] = []
        for i, side in enumerate((ref_a, ref_b)):
            if isinstance(side, Folder):  # a folder's files the version holds are never ignored
                got, warns = folder_entries(repo.db, side.path, read_data=read_data, pfilter=pfilter, known=known)
                warnings += warns
                sides.append(sorted(got.values(), key=lambda e: e.path))
                labels.append(os.path.abspath(side.path))
            else:
                sides.append(e for e in streams[i] if not pfilter or pfilter.accepts(e.path))
                labels.append(versions[i][0])
        res = DiffResult(labels[0], labels[1], False, warnings=warnings)
        _compare_files(res, sides[0], sides[1], _file if both else identity)
        for i, (label, st, vs) in versions.items():
            repo.check_event(st, vs, streams[i], label)
        res.same_content = not (res.added or res.removed or res.changed)
    if not both:
        return res
    md_a = {r["key"]: r for r in latest_rows(versions[0][2])}
    md_b = {r["key"]: r for r in latest_rows(versions[1][2])}
    for key in sorted(md_a.keys() | md_b.keys()):
        ra, rb = md_a.get(key), md_b.get(key)
        if ra is None and rb is not None:
            res.md_added.append(_md(key, rb))
        elif rb is None and ra is not None:
            res.md_removed.append(_md(key, ra))
        elif ra is not None and rb is not None and _identity(ra) != _identity(rb):
            res.md_changed.append({"key": key, "a": _md(key, ra, with_key=False), "b": _md(key, rb, with_key=False)})
    return res


def _identity(row: dict[str, Any]) -> bytes:
    """Type-exact equality: JSON ``true``, ``1`` and ``1.0`` are three different values."""
    return canonical.dumps([row["value"], row["type"]])


def _md(key: str, row: dict[str, Any], with_key: bool = True) -> dict[str, Any]:
    out = {"value": row["value"], "type": row["type"], "display": row["display"]}
    return {"key": key, **out} if with_key else out
