"""``status REF [DIR]``: a local folder against a version: files added, removed and modified
(the folder taken as ``log`` would take it), so a Makefile can ask "is data/ equal to
ds:production?" without writing anything."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from artcli.logplan import compare, folder_entries
from artcli.materialise import default_root
from artcli.model import Entry, Ref
from artcli.pathmatch import PathFilter
from artcli.repo import Repo
from artcli.results import Result


@dataclass
class StatusResult(Result):
    ref: str
    folder: str
    added: list[Entry] = field(default_factory=list)  # in the folder, not in the version
    removed: list[Entry] = field(default_factory=list)  # in the version, not in the folder
    modified: list[tuple[Entry, Entry]] = field(default_factory=list)  # (version's, folder's)
    unchanged: int = 0

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.modified)

    def to_json(self) -> dict[str, Any]:
        def one(e: Entry) -> dict[str, Any]:
            return {"path": e.path, "size": e.size, "digest": e.digest}

        return {"ref": self.ref, "folder": self.folder, "identical": self.identical,
                "added": [one(e) for e in self.added], "removed": [one(e) for e in self.removed],
                "modified": [{"path": v.path, "version": {"size": v.size, "digest": v.digest},
                              "folder": {"size": f.size, "digest": f.digest}} for v, f in self.modified],
                "unchanged": self.unchanged}


def status(repo: Repo, ref: Ref, folder: str | None = None, *, read_data: bool = False,
           include: list[str] | None = None, exclude: list[str] | None = None,
           follow_symlinks: bool = False, use_ignore: bool = True) -> StatusResult:
    """Compare ``folder`` (default: where ``download`` puts the version) with the version.

    Files are hashed through the stat cache (``read_data``: every file is read again); nothing
    is fetched but the manifest and nothing is written but the local stat cache.
    """
    pfilter = PathFilter.of(include, exclude)
    st, vs = repo.resolve(ref)
    where = f"{st.project}/{st.name}:v{vs.version}"
    target = folder if folder is not None else str(default_root(st.name, vs.version))
    man = repo.version_manifest(st, vs)
    version = {e.path: e for e in man.entries if not pfilter or pfilter.accepts(e.path)}
    local, warnings = folder_entries(repo.db, target, read_data=read_data, pfilter=pfilter,
                                     follow_symlinks=follow_symlinks, use_ignore=use_ignore, known=version)
    d = compare(version, local)
    return StatusResult(where, os.path.abspath(target), d.added, d.removed, d.changed, d.unchanged,
                        warnings=[*st.warnings, *warnings])
