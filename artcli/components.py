"""Composite versions (``log NAME --component REF``): a version holding other versions' files
under folders, without copying a byte (W&B's component artifacts).

A component's manifest entries are copied into the composite's manifest under the component's
folder, pointing at the same packs and loose blobs (docs/format.md §4: a manifest may point at
any stored copy), so ``download`` brings the components and ``files`` lists their entries with
nothing special. The ``version_created`` event records each component (``components``, §5.6),
and its reference joins ``inputs``, so lineage shows components as inputs. A live composite
keeps its components: ``delete`` refuses to delete one (:func:`composites_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artcli.errors import ConflictError, UsageError
from artcli.model import Entry, Ref, normalise_relpath, parse_ref

if TYPE_CHECKING:
    from artcli.repo import Repo


@dataclass(frozen=True)
class Component:
    """One component of a composite: the folder it sits under and the version it is."""

    path: str
    project: str
    name: str
    version: int
    digest: str  # the component's content digest (docs/format.md §3.1)

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.name}:v{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "project": self.project, "name": self.name, "version": self.version,
                "digest": self.digest}


def parse_spec(text: str, default_project: str) -> tuple[str | None, Ref]:
    """``[FOLDER=]REF``: the folder inside the composite (default: the component's name)."""
    folder, sep, ref = text.partition("=")
    if not sep:
        folder, ref = "", text
    parsed = parse_ref(ref, default_project)
    if parsed.registry is None and parsed.project == "registry":
        raise UsageError(f"invalid component {text!r}")
    return (folder or None), parsed


def resolve(repo: Repo, specs: list[str]) -> tuple[list[Component], list[Entry]]:
    """Each ``[FOLDER=]REF`` resolved now (pinned to its vN) with its entries under its folder.

    Two components in one folder, or one inside another's folder, are refused before anything
    is written; a component's own manifest is checked against its event as every reader does."""
    comps: list[Component] = []
    entries: list[Entry] = []
    for spec in specs:
        folder, ref = parse_spec(spec, repo.project)
        st, vs = repo.resolve(ref)
        path = normalise_relpath(folder or st.name)
        for other in comps:
            if path == other.path or path.startswith(other.path + "/") or other.path.startswith(path + "/"):
                raise UsageError(f"components {other.ref} and {st.project}/{st.name}:v{vs.version} would share "
                                 f"the folder {path!r}: give one a folder (--component FOLDER=REF)")
        man = repo.version_manifest(st, vs)
        comps.append(Component(path, st.project, st.name, vs.version, vs.digest))
        entries.extend(Entry(f"{path}/{e.path}", e.size, e.digest, e.pack, e.offset, e.ref) for e in man.entries)
    return comps, entries


def check_still_live(repo: Repo, comps: list[Component]) -> None:
    """Right before the composite is committed (inside the writer's lease): every component is
    still live, so gc keeps the objects the composite points at (docs/format.md §7.1)."""
    for c in comps:
        st = repo.artifact_state(c.project, c.name, must_exist=False)
        vs = st.versions.get(c.version)
        if vs is None or not st.is_live(vs):
            raise ConflictError(f"component {c.ref} was deleted or expired while logging; nothing logged")


def composites_of(repo: Repo, project: str, name: str, versions: set[int]) -> dict[int, list[str]]:
    """Which of ``versions`` of ``project/name`` live composite versions hold as components:
    version -> the composites' references. Reads every artifact's log (one LIST of the remote's
    projects, one read per artifact): deletions are rare and must not miss one."""
    out: dict[int, list[str]] = {}
    for p, n in repo.all_artifacts():
        st = repo.artifact_state(p, n, must_exist=False, history=False, follow=False)
        for vs in st.live_versions():
            for c in vs.components:
                if (c.get("project"), c.get("name")) == (project, name) and c.get("version") in versions:
                    out.setdefault(c["version"], []).append(f"{p}/{n}:v{vs.version}")
    return out
