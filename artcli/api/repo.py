"""The public :class:`Repo`: one remote and project, every operation the command line has.

Each method is one call into ``artcli/ops/`` with the same arguments the CLI passes, so a
script and a shell step write the same events; it returns the op's typed result (the object
``--json`` prints with ``to_json()``) and raises the ``artcli.errors`` hierarchy.

Thread safety: a Repo may be shared by threads. Each thread works through its own internal
context (store client, local index connection, the run id a ``log`` makes up), created on that
thread's first call; the remote needs no lock (every write is an exclusive create, docs/format.md)
and the local cache is shared by processes already. :meth:`close` after the threads are done.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, overload

from artcli import clock
from artcli.api.progress import ProgressCallback, reporter
from artcli.config import Settings, resolve
from artcli.durations import format_duration
from artcli.errors import ArtcliError, UsageError
from artcli.model import Ref, parse_ref
from artcli.repo import Repo as _Context
from artcli.runinfo import current_run_id

if TYPE_CHECKING:
    from artcli.api.metadata import Metadata
    from artcli.lineagewalk import Graph
    from artcli.ops.aliases import AliasResult
    from artcli.ops.delete import DeleteResult
    from artcli.ops.diff import DiffResult
    from artcli.ops.download import DownloadResult
    from artcli.ops.gc import GcResult
    from artcli.ops.log import AddRefResult, LogResult
    from artcli.ops.registry import LinkResult, RegistryResult, UnlinkResult
    from artcli.ops.runs import UseResult
    from artcli.ops.ttl import DefaultResult, TtlResult
    from artcli.results import ArtifactSummary, FileInfo, Report, TtlInfo, VersionInfo
    from artcli.state.run import RunState

RefLike = str
TtlLike = str | timedelta | datetime


def ttl_text(ttl: TtlLike | None) -> str | None:
    """A TTL as the command line spells it: a duration, an ISO date, or ``never``."""
    if ttl is None or isinstance(ttl, str):
        return ttl
    if isinstance(ttl, timedelta):
        seconds = ttl.total_seconds()
        if seconds < 1 or seconds != int(seconds):
            raise UsageError(f"invalid TTL {ttl!r}: use a whole, positive number of seconds")
        return format_duration(int(seconds))
    if isinstance(ttl, datetime):
        if ttl.tzinfo is None:
            raise UsageError(f"invalid TTL {ttl!r}: give a timezone-aware datetime")
        return clock.iso(ttl)
    raise UsageError(f"invalid TTL {ttl!r}: a duration ('30d'), a timedelta, a datetime or 'never'")


def _duration(value: str | timedelta | int | float) -> float:
    from artcli.durations import parse_duration

    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    return float(parse_duration(value))


class Repo:
    """A remote and a project. Make one with :func:`artcli.open`."""

    def __init__(self, settings: Settings, run_id: str | None = None,
                 progress: ProgressCallback | None = None) -> None:
        self._settings = settings
        self._run_id = run_id
        self._progress = progress
        self._local = threading.local()
        self._contexts: list[_Context] = []
        self._lock = threading.Lock()
        self._closed = False

    # -- identity and lifetime -----------------------------------------------------------
    @property
    def remote(self) -> str:
        """The remote's URL."""
        return self._settings.remote_url

    @property
    def project(self) -> str:
        return self._settings.project

    @property
    def run_id(self) -> str | None:
        """The run this Repo records lineage for (None: each ``log`` makes up its own)."""
        return self._run_id

    @property
    def metadata(self) -> Metadata:
        """Typed, grouped metadata of versions: ``get``, ``set``, ``ls``, ``history``."""
        from artcli.api.metadata import Metadata

        return Metadata(self)

    def _ctx(self) -> _Context:
        ctx: _Context | None = getattr(self._local, "ctx", None)
        if self._closed:
            raise ArtcliError("this Repo is closed")
        if ctx is None:
            with self._lock:
                if self._closed:
                    raise ArtcliError("this Repo is closed")
                ctx = _Context(self._settings, self._run_id)
                self._contexts.append(ctx)
            self._local.ctx = ctx
        return ctx

    def _ref(self, ref: RefLike) -> Ref:
        return parse_ref(ref, self.project)

    def close(self) -> None:
        """Close every thread's store client and index connection; the Repo is unusable after."""
        with self._lock:
            self._closed = True
            contexts, self._contexts = self._contexts, []
        for ctx in contexts:
            ctx.close()

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"artcli.Repo(remote={self.remote!r}, project={self.project!r})"

    # -- logging -------------------------------------------------------------------------
    @overload
    def log(self, name: str, paths: Sequence[str], *, type: str | None = ..., description: str | None = ...,
            aliases: Sequence[str] = ..., metadata: Mapping[str, Any] | None = ..., ttl: TtlLike | None = ...,
            inputs: Sequence[RefLike] = ..., refs: None = ..., name_as: str | None = ...) -> LogResult: ...

    @overload
    def log(self, name: str, paths: Sequence[str], *, type: str | None = ..., description: str | None = ...,
            aliases: Sequence[str] = ..., metadata: Mapping[str, Any] | None = ..., ttl: TtlLike | None = ...,
            inputs: Sequence[RefLike] = ..., refs: Sequence[str], name_as: str | None = ...) -> AddRefResult: ...

    def log(self, name: str, paths: Sequence[str], *, type: str | None = None, description: str | None = None,
            aliases: Sequence[str] = (), metadata: Mapping[str, Any] | None = None, ttl: TtlLike | None = None,
            inputs: Sequence[RefLike] = (), refs: Sequence[str] | None = None,
            name_as: str | None = None) -> LogResult | AddRefResult:
        """Log files and folders as a new version of ``name`` (``artcli log``); identical content
        reuses the existing version. ``refs``: also reference these URIs without uploading
        them (``log --ref``). ``metadata``: ``{"key": value, "card": {"key": value},
        "weights:size": "1.5GiB"}``. ``ttl``: ``"30d"``, a timedelta, a datetime or ``"never"``."""
        from artcli.mdvalues import flatten
        from artcli.ops.log import add_ref, log_artifact

        if isinstance(paths, str):
            paths = [paths]
        md = flatten(dict(metadata)) if metadata else None
        opts: dict[str, Any] = dict(artifact_type=type, description=description, aliases=list(aliases), metadata=md,
                                    name_as=name_as, inputs=list(inputs), ttl=ttl_text(ttl),
                                    reporter=reporter(self._progress))
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
                 skip_cache: bool = False, track: bool = True) -> DownloadResult:
        """Download a version into ``root`` (default ``./artifacts/<name>:v<N>``), verified;
        with a run, ``track`` records it as used (``artcli download``)."""
        from artcli.ops.download import download

        return download(self._ctx(), self._ref(ref), root, path_prefix=path_prefix, skip_cache=skip_cache,
                        reporter=reporter(self._progress), track=track)

    @overload
    def ls(self, name: None = None) -> list[ArtifactSummary]: ...

    @overload
    def ls(self, name: str) -> list[VersionInfo]: ...

    def ls(self, name: str | None = None) -> list[ArtifactSummary] | list[VersionInfo]:
        """The project's artifacts, or with ``name`` its live versions (``artcli ls``)."""
        from artcli.ops import query

        if name is None:
            return query.list_artifacts(self._ctx())
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

    def files(self, ref: RefLike) -> list[FileInfo]:
        """A version's files and where their bytes live (``artcli files``)."""
        from artcli.ops import query

        return query.files(self._ctx(), self._ref(ref))

    def diff(self, a: RefLike, b: RefLike) -> DiffResult:
        """Files and metadata that differ from ``a`` to ``b`` (``artcli diff``)."""
        from artcli.ops.diff import diff_versions

        return diff_versions(self._ctx(), self._ref(a), self._ref(b))

    def lineage(self, ref: RefLike, *, direction: Literal["up", "down", "both"] = "both",
                depth: int | None = None) -> Graph:
        """Versions and runs around ``ref`` (``artcli lineage``)."""
        from artcli.ops.lineage import lineage

        return lineage(self._ctx(), self._ref(ref), direction=direction, depth=depth)

    # -- aliases -------------------------------------------------------------------------
    def alias(self, ref: RefLike, *aliases: str) -> AliasResult:
        """Put aliases on a version or collection version (``artcli alias add``)."""
        from artcli.ops.aliases import add_aliases

        return add_aliases(self._ctx(), self._ref(ref), list(aliases))

    def unalias(self, name: str, *aliases: str) -> list[AliasResult]:
        """Remove aliases from an artifact or collection (``artcli alias rm``)."""
        from artcli.ops.aliases import remove_aliases

        return remove_aliases(self._ctx(), self._ref(name), list(aliases))

    def aliases(self, name: str) -> list[dict[str, Any]]:
        """Every alias of an artifact or collection, ``latest`` first (``artcli alias ls --json`` rows)."""
        from artcli.ops.aliases import list_aliases

        return list_aliases(self._ctx(), self._ref(name))

    def alias_history(self, ref: RefLike) -> list[dict[str, Any]]:
        """Every alias move, oldest first (``artcli history --json`` rows)."""
        from artcli.ops.aliases import history

        return history(self._ctx(), self._ref(ref), "latest" if ref.endswith(":latest") else None)

    # -- registries ----------------------------------------------------------------------
    def link(self, ref: RefLike, target: str, *, aliases: Sequence[str] = ()) -> LinkResult:
        """Link a version into ``registry/<registry>/<collection>`` (``artcli link``)."""
        from artcli.ops.registry import link

        return link(self._ctx(), self._ref(ref), self._ref(target), list(aliases))

    def unlink(self, target: str) -> UnlinkResult:
        """Remove ``registry/<r>/<c>:vN`` from its collection (``artcli unlink``)."""
        from artcli.ops.registry import unlink

        return unlink(self._ctx(), self._ref(target))

    def create_registry(self, name: str, *, accept_types: Sequence[str] = (),
                        description: str | None = None) -> RegistryResult:
        """Create a custom registry (``artcli registry create``)."""
        from artcli.ops.registry import create_registry

        return create_registry(self._ctx(), name, list(accept_types) or None, description)

    def registries(self) -> list[dict[str, Any]]:
        """Every registry (``artcli registry ls --json`` rows)."""
        from artcli.ops.registry import list_registries

        return list_registries(self._ctx())

    def registry(self, name: str) -> Report:
        """A registry and its collections (``artcli registry show``)."""
        from artcli.ops.registry import show_registry

        return show_registry(self._ctx(), name)

    # -- retention -----------------------------------------------------------------------
    def ttl(self, ref: RefLike, value: TtlLike, *, upstream: bool = False, downstream: bool = False) -> TtlResult:
        """Set when a version expires: ``"30d"``, a timedelta, a datetime, or ``"never"`` (``artcli ttl set``)."""
        from artcli.ops.ttl import set_ttl

        return set_ttl(self._ctx(), self._ref(ref), ttl_text(value) or "never", upstream=upstream,
                       downstream=downstream)

    def ttl_info(self, ref: RefLike) -> TtlInfo:
        """When a version expires and what keeps it (``artcli ttl show``)."""
        from artcli.ops.ttl import show_ttl

        return show_ttl(self._ctx(), self._ref(ref))

    def default_ttl(self, value: str | timedelta) -> DefaultResult:
        """The TTL versions logged from now on get (``artcli ttl default``); ``"never"`` clears it."""
        from artcli.ops.ttl import set_default_ttl

        return set_default_ttl(self._ctx(), self.project, ttl_text(value) or "never")

    def delete(self, ref: RefLike, *, force: bool = False) -> DeleteResult:
        """Delete a version (``artcli delete``); gc frees its bytes later."""
        from artcli.ops.delete import delete_version

        return delete_version(self._ctx(), self._ref(ref), force=force)

    def gc(self, *, dry_run: bool = False, grace: str | timedelta = "24h",
           wait: str | timedelta = "10m") -> GcResult:
        """Expire versions past their TTL and delete what nothing live needs (``artcli gc``)."""
        from artcli.ops.gc import gc

        return gc(self._ctx(), dry_run=dry_run, grace=int(_duration(grace)), wait=_duration(wait),
                  reporter=reporter(self._progress))

    # -- runs ----------------------------------------------------------------------------
    def use(self, ref: RefLike) -> UseResult:
        """Record that this Repo's run uses a version, without downloading it (``artcli use``)."""
        from artcli.ops.runs import use

        return use(self._ctx(), self._ref(ref))

    def run_info(self, run_id: str | None = None) -> RunState:
        """A run's record: who, where, what it used and logged (``artcli run show``)."""
        from artcli.ops.runs import show_run

        return show_run(self._ctx(), run_id)


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
