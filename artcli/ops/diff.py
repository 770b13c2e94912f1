"""``diff A B``: which files and which metadata differ between two versions, or between a
version and a local folder (either side), or two folders.

Files are compared by path on what identifies their content (size, digest, reference
source and pins), never by where the bytes are stored, so a re-packed file is unchanged.
Metadata is compared on each key's latest value and type.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from artcli import canonical
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


def _manifest(repo: Repo, st: ArtifactState, vs: VersionState) -> dict[str, Entry]:
    man = repo.version_manifest(st, vs)
    return {e.path: e for e in man.entries}


@dataclass
class Folder:
    """A local folder as one side of a diff (taken as ``log`` would take it)."""

    path: str


Side = Ref | Folder


def diff_versions(repo: Repo, ref_a: Side, ref_b: Side, *, include: list[str] | None = None,
                  exclude: list[str] | None = None, read_data: bool = False) -> DiffResult:
    """Files added / removed / changed from A to B, and metadata keys that differ.

    Either side may be a :class:`Folder` (files compared by content; no metadata), hashed
    through the stat cache unless ``read_data``. ``include``/``exclude`` limit the files compared.
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
        files: list[dict[str, Entry]] = []
        labels: list[str] = []
        for i in versions:
            label, st, vs = versions[i]
            files.append(_kept(_manifest(repo, st, vs), pfilter))
            labels.append(label)
        known = {p for f in files for p in f}  # a folder's files the versions hold are never ignored
        for i, side in enumerate((ref_a, ref_b)):
            if isinstance(side, Folder):
                got, warns = folder_entries(repo.db, side.path, read_data=read_data, pfilter=pfilter, known=known)
                warnings += warns
                files.insert(i, got)
                labels.insert(i, os.path.abspath(side.path))
        res = DiffResult(labels[0], labels[1], False, warnings=warnings)
        same = _file if both else identity
        files_a, files_b = files
        for path in sorted(files_a.keys() | files_b.keys()):
            ea, eb = files_a.get(path), files_b.get(path)
            if ea is None and eb is not None:
                res.added.append({"path": path, **_file(eb)})
            elif eb is None and ea is not None:
                res.removed.append({"path": path, **_file(ea)})
            elif ea is not None and eb is not None:
                if same(ea) == same(eb):
                    res.unchanged += 1
                else:
                    res.changed.append({"path": path, "a": _file(ea), "b": _file(eb)})
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


def _kept(files: dict[str, Entry], pfilter: PathFilter) -> dict[str, Entry]:
    return {p: e for p, e in files.items() if pfilter.accepts(p)} if pfilter else files


def _identity(row: dict[str, Any]) -> bytes:
    """Type-exact equality: JSON ``true``, ``1`` and ``1.0`` are three different values."""
    return canonical.dumps([row["value"], row["type"]])


def _md(key: str, row: dict[str, Any], with_key: bool = True) -> dict[str, Any]:
    out = {"value": row["value"], "type": row["type"], "display": row["display"]}
    return {"key": key, **out} if with_key else out
