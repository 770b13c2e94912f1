"""The everyday verbs and the catalogue from Python: local folders against versions, one
file's bytes, descriptions, projects, renames, copies between remotes, whole-artifact
deletion and collection listings (``artcli status``, ``cat``, ``describe``, ``projects``,
``rename``, ``copy``, ``delete --all``, ``ls registry/<r>/<c>``).

Each method is one call into ``artcli/ops/``; :class:`artcli.Repo` inherits them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from artcli.api.context import Context, RefLike
from artcli.api.progress import reporter

if TYPE_CHECKING:
    from artcli.ops.copy import CopyResult
    from artcli.ops.delete import DeleteArtifactResult
    from artcli.ops.describe import DescribeResult
    from artcli.ops.projects import ProjectList
    from artcli.ops.registry import CollectionListing
    from artcli.ops.rename import RenameResult
    from artcli.ops.status import StatusResult


def _patterns(items: Sequence[str] | str | None) -> list[str] | None:
    if items is None:
        return None
    return [items] if isinstance(items, str) else list(items)


class Catalogue(Context):
    """Folders, single files and catalogue curation: the part of :class:`artcli.Repo` behind
    ``status``, ``cat``, ``describe``, ``projects``, ``rename``, ``copy`` and ``delete --all``."""

    def status(self, ref: RefLike, folder: str | None = None, *, read_data: bool = False,
               include: Sequence[str] | None = None, exclude: Sequence[str] | None = None,
               follow_symlinks: bool = False, use_ignore: bool = True) -> StatusResult:
        """A local folder against a version: files added, removed and modified
        (``artcli status``); ``read_data`` re-hashes instead of trusting the stat cache."""
        from artcli.ops.status import status

        return status(self._ctx(), self._ref(ref), folder, read_data=read_data, include=_patterns(include),
                      exclude=_patterns(exclude), follow_symlinks=follow_symlinks, use_ignore=use_ignore)

    def cat(self, ref: RefLike, path: str) -> bytes:
        """The verified bytes of one file of a version (``artcli cat``)."""
        from pathlib import Path

        from artcli.ops.cat import cat

        res = cat(self._ctx(), self._ref(ref), path)
        return res.data if res.data is not None else Path(res.file or "").read_bytes()

    def describe(self, ref: RefLike, text: str | None = None, *, clear: bool = False) -> DescribeResult:
        """Set (``text``), clear or, with neither, read a version's description and its
        history (``artcli describe``)."""
        from artcli.ops.describe import describe

        return describe(self._ctx(), self._ref(ref), text, clear=clear)

    def projects(self) -> ProjectList:
        """Every project of the remote with its artifact count (``artcli projects``)."""
        from artcli.ops.projects import list_projects

        return list_projects(self._ctx())

    def rename(self, name: str, new_name: str) -> RenameResult:
        """Rename an artifact; references to the old name keep resolving (``artcli rename``)."""
        from artcli.ops.rename import rename_artifact

        return rename_artifact(self._ctx(), self._ref(name), new_name)

    def copy(self, ref: RefLike, to: Context, *, project: str | None = None, name: str | None = None,
             aliases: Sequence[str] = (), keep_aliases: bool = False) -> CopyResult:
        """Copy a version, its bytes, manifest, description and metadata, to the remote of
        another Repo (``artcli copy``): idempotent, sends only what ``to`` lacks."""
        from artcli.ops.copy import copy_version

        return copy_version(self._ctx(), self._ref(ref), to._ctx(), project=project, name=name,
                            aliases=list(aliases), keep_aliases=keep_aliases, reporter=reporter(self._progress))

    def delete_artifact(self, name: str, *, force: bool = False, dry_run: bool = False) -> DeleteArtifactResult:
        """Delete every live version of an artifact, with ``delete``'s protections checked
        for all of them first (``artcli delete NAME --all``); ``dry_run`` writes nothing and
        sets ``would_write``."""
        from artcli.ops.delete import delete_artifact

        return delete_artifact(self._ctx(), self._ref(name), force=force, dry_run=dry_run)

    def collection(self, ref: RefLike) -> CollectionListing:
        """A registry collection's versions, each with the version it links
        (``artcli ls registry/<r>/<c>``)."""
        from artcli.ops.registry import list_collection

        return list_collection(self._ctx(), self._ref(ref))
