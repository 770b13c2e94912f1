"""``diff REF_A REF_B``: which files and which metadata differ between two versions.

Files are compared by path on what identifies their content (size, digest, reference
source and pins), never by where the bytes are stored, so a re-packed file is unchanged.
Metadata is compared on each key's latest value and type.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from artcli import canonical, manifest
from artcli.errors import IntegrityError
from artcli.model import Entry, Ref
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


def _compare_files(res: DiffResult, a: Iterable[Entry], b: Iterable[Entry]) -> None:
    """Merge two path-sorted manifests: memory holds the differences, not the files."""
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
            fa, fb = _file(ea), _file(eb)
            if fa == fb:
                res.unchanged += 1
            else:
                res.changed.append({"path": ea.path, "a": fa, "b": fb})
            ea, eb = next(ia, None), next(ib, None)


def diff_versions(repo: Repo, ref_a: Ref, ref_b: Ref) -> DiffResult:
    """Files added / removed / changed from A to B, and metadata keys that differ."""
    st_a, vs_a = repo.resolve(ref_a)
    st_b, vs_b = repo.resolve(ref_b)
    res = DiffResult(f"{st_a.project}/{st_a.name}:v{vs_a.version}", f"{st_b.project}/{st_b.name}:v{vs_b.version}",
                     vs_a.digest == vs_b.digest)
    if not res.same_content:  # equal content digests mean equal files: skip the manifests
        man_a, man_b = _streamed(repo, st_a, vs_a), _streamed(repo, st_b, vs_b)
        _compare_files(res, man_a, man_b)
        repo.check_event(st_a, vs_a, man_a, res.a)
        repo.check_event(st_b, vs_b, man_b, res.b)
    else:
        res.unchanged = vs_a.files
    md_a = {r["key"]: r for r in latest_rows(vs_a)}
    md_b = {r["key"]: r for r in latest_rows(vs_b)}
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
