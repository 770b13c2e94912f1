"""The public :class:`Repo`: one remote and project, every operation the command line has.

Each method is one call into ``artcli/ops/`` with the same arguments the CLI passes, so a
script and a shell step write the same events; it returns the op's typed result (the object
``--json`` prints with ``to_json()``) and raises the ``artcli.errors`` hierarchy.

One Repo may be shared by threads (artcli/api/context.py). Curating methods (aliases,
registries, TTLs, runs) come from artcli/api/curation.py; folders, single files and catalogue
curation (status, cat, describe, copy, rename) from artcli/api/catalogue.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from artcli.api.catalogue import Catalogue, _patterns
from artcli.api.context import RefLike, TtlLike, ttl_text
from artcli.api.curation import Curation
from artcli.api.progress import ProgressCallback, reporter
from artcli.config import resolve
from artcli.errors import UsageError
from artcli.runinfo import current_run_id

if TYPE_CHECKING:
    from artcli.lineagewalk import Graph
    from artcli.ops.diff import DiffResult
    from artcli.ops.download import DownloadResult
    from artcli.results import AddRefResult, ArtifactSummary, FileInfo, LogResult, VersionInfo


class Repo(Curation, Catalogue):
    """A remote and a project. Make one with :func:`artcli.open`."""

    # -- logging -------------------------------------------------------------------------
    @overload
    def log(self, name: str, paths: Sequence[str], *, type: str | None = ..., description: str | None = ...,
            aliases: Sequence[str] = ..., metadata: Mapping[str, Any] | None = ..., ttl: TtlLike | None = ...,
            inputs: Sequence[RefLike] = ..., refs: None = ..., name_as: str | None = ...,
            include: Sequence[str] | None = ..., exclude: Sequence[str] | None = ..., base: RefLike | None = ...,
            remove: Sequence[str] | None = ..., components: Sequence[str] | None = ...,
            follow_symlinks: bool = ..., use_ignore: bool = ..., dry_run: bool = ...) -> LogResult: ...

    @overload
    def log(self, name: str, paths: Sequence[str], *, type: str | None = ..., description: str | None = ...,
            aliases: Sequence[str] = ..., metadata: Mapping[str, Any] | None = ..., ttl: TtlLike | None = ...,
            inputs: Sequence[RefLike] = ..., refs: Sequence[str], name_as: str | None = ...,
            include: Sequence[str] | None = ..., exclude: Sequence[str] | None = ..., base: RefLike | None = ...,
            remove: Sequence[str] | None = ..., components: Sequence[str] | None = ...,
            follow_symlinks: bool = ..., use_ignore: bool = ..., dry_run: bool = ...) -> AddRefResult: ...

    def log(self, name: str, paths: Sequence[str], *, type: str | None = None, description: str | None = None,
            aliases: Sequence[str] = (), metadata: Mapping[str, Any] | None = None, ttl: TtlLike | None = None,
            inputs: Sequence[RefLike] = (), refs: Sequence[str] | None = None,
            name_as: str | None = None, include: Sequence[str] | None = None,
            exclude: Sequence[str] | None = None, base: RefLike | None = None, remove: Sequence[str] | None = None,
            components: Sequence[str] | None = None, follow_symlinks: bool = False, use_ignore: bool = True,
            dry_run: bool = False) -> LogResult | AddRefResult:
        """Log files and folders as a new version of ``name`` (``artcli log``); identical content
        reuses the existing version. ``refs``: also reference these URIs without uploading
        them (``log --ref``). ``metadata``: ``{"key": value, "card": {"key": value},
        "weights:size": "1.5GiB"}``. ``ttl``: ``"30d"``, a timedelta, a datetime or ``"never"``.
        ``base`` (``--from``): start from that version's files, ``remove`` patterns dropped,
        ``paths`` added; ``components``: ``[FOLDER=]REF`` versions held without copying;
        ``include``/``exclude``/``use_ignore``/``follow_symlinks``: what folders give;
        ``dry_run``: write nothing, say what would be."""
        from artcli.mdvalues import flatten
        from artcli.ops.log import add_ref, log_artifact

        if isinstance(paths, str):
            paths = [paths]
        md = flatten(dict(metadata)) if metadata else None
        opts: dict[str, Any] = dict(artifact_type=type, description=description, aliases=list(aliases), metadata=md,
                                    name_as=name_as, inputs=list(inputs), ttl=ttl_text(ttl),
                                    reporter=reporter(self._progress), include=_patterns(include),
                                    exclude=_patterns(exclude), follow_symlinks=follow_symlinks,
                                    use_ignore=use_ignore, base=self._ref(base) if base else None,
                                    remove=_patterns(remove), components=_patterns(components), dry_run=dry_run)
        if refs:
            return add_ref(self._ctx(), name, list(refs), paths=list(paths), **opts)
        return log_artifact(self._ctx(), name, list(paths), **opts)

    def add_ref(self, name: str, uris: Sequence[str], *, checksum: bool = True, max_objects: int | None = None,
                paths: Sequence[str] = (), type: str | None = None, description: str | None = None,
                aliases: Sequence[str] = (), metadata: Mapping[str, Any] | None = None, ttl: TtlLike | None = None,
                inputs: Sequence[RefLike] = (), name_as: str | None = None) -> AddRefResult:
        """Log objects that stay where they are (S3, GCS, Azure, HTTP, files) by reference
        (``artcli add-ref``). ``checksum=False`` records locations only; ``max_objects``
        refuses (writing nothing) when the URIs hold more objects than that."""
        from artcli.mdvalues import flatten
        from artcli.ops.log import add_ref
        from artcli.sources import DEFAULT_MAX_OBJECTS

        if isinstance(uris, str):
            uris = [uris]
        return add_ref(self._ctx(), name, list(uris), paths=list(paths), checksum=checksum,
                       max_objects=DEFAULT_MAX_OBJECTS if max_objects is None else max_objects,
                       name_as=name_as, artifact_type=type, description=description, aliases=list(aliases),
                       metadata=flatten(dict(metadata)) if metadata else None, inputs=list(inputs),
                       ttl=ttl_text(ttl), reporter=reporter(self._progress))

    # -- reading -------------------------------------------------------------------------
    def download(self, ref: RefLike, root: str | None = None, *, path_prefix: str | None = None,
                 skip_cache: bool = False, track: bool = True, include: Sequence[str] | None = None,
                 exclude: Sequence[str] | None = None, force: bool = False, verify: bool = False,
                 dry_run: bool = False) -> DownloadResult:
        """Download a version into ``root`` (default ``./artifacts/<name>:v<N>``), verified;
        with a run, ``track`` records it as used (``artcli download``)."""
        from artcli.ops.download import download

        return download(self._ctx(), self._ref(ref), root, path_prefix=path_prefix, skip_cache=skip_cache,
                        reporter=reporter(self._progress), track=track, include=_patterns(include),
                        exclude=_patterns(exclude), force=force, verify=verify, dry_run=dry_run)

    @overload
    def ls(self, name: None = None, *, type: str | None = None) -> list[ArtifactSummary]: ...

    @overload
    def ls(self, name: str) -> list[VersionInfo]: ...

    def ls(self, name: str | None = None, *, type: str | None = None) -> list[ArtifactSummary] | list[VersionInfo]:
        """The project's artifacts (of one ``type``), or with ``name`` its live versions (``artcli ls``)."""
        from artcli.ops import query

        if name is None:
            return query.list_artifacts(self._ctx(), type)
        if type is not None:
            raise UsageError("type filters the list of artifacts: give it without a name")
        return query.list_versions(self._ctx(), name)

    def versions(self, name: str, *, where: Sequence[str] = (), sort: str | None = None) -> list[VersionInfo]:
        """Live versions of ``name`` whose metadata matches every ``where`` (``"acc>=0.9"``),
        sorted by a metadata key (``"-acc"``: descending) (``artcli ls NAME --where --sort``)."""
        from artcli.ops import query
        from artcli.ops.metadata import select_versions

        if not where and sort is None:
            return query.list_versions(self._ctx(), name)
        return select_versions(self._ctx(), name, list(where), sort)

    def show(self, ref: RefLike) -> VersionInfo:
        """One version (``artcli show``)."""
        from artcli.ops import query

        return query.show(self._ctx(), self._ref(ref))

    def files(self, ref: RefLike, *, include: Sequence[str] | None = None,
              exclude: Sequence[str] | None = None) -> list[FileInfo]:
        """A version's files (those ``include``/``exclude`` keep) and where their bytes live
        (``artcli files``)."""
        from artcli.ops import query

        return query.files(self._ctx(), self._ref(ref), include=_patterns(include), exclude=_patterns(exclude))

    def iter_files(self, ref: RefLike) -> Iterator[FileInfo]:
        """:meth:`files` one at a time, memory flat whatever the number of files; the manifest is
        checked against its event after the last row (an ``IntegrityError`` raises then)."""
        from artcli.ops import query

        return query.iter_files(self._ctx(), self._ref(ref))

    def diff(self, a: RefLike, b: RefLike) -> DiffResult:
        """Files and metadata that differ from ``a`` to ``b`` (``artcli diff``)."""
        from artcli.ops.diff import diff_versions

        return diff_versions(self._ctx(), self._ref(a), self._ref(b))

    def lineage(self, ref: RefLike, *, direction: Literal["up", "down", "both"] = "both",
                depth: int | None = None) -> Graph:
        """Versions and runs around ``ref`` (``artcli lineage``)."""
        from artcli.ops.lineage import lineage

        return lineage(self._ctx(), self._ref(ref), direction=direction, depth=depth)


def open(remote: str | None = None, project: str | None = None, *, options: Mapping[str, str] | None = None,
         run: str | None = None, progress: ProgressCallback | None = None) -> Repo:
    """Open a remote (a name from the configuration or a URL; default as the CLI chooses:
    ``ARTCLI_REMOTE``, ``artcli.toml``, user config, the embedded store) and project.

    ``options``: backend options such as ``{"endpoint_url": ...}`` (never credentials).
    ``run``: record lineage for this run id (default: ``ARTCLI_RUN_ID``, then the CI job).
    ``progress``: called with :class:`artcli.Progress` as operations advance (default: off).
    Nothing is read from the remote until the first call.
    """
    settings = resolve(remote, project)
    if options:
        settings.options = {**settings.options, **{str(k): str(v) for k, v in options.items()}}
    return Repo(settings, current_run_id(run), progress)
