"""Curating versions from Python: aliases, registries, retention, deletion, runs
(``artcli alias``, ``registry``, ``link``, ``ttl``, ``delete``, ``gc``, ``use``, ``run show``).

Each method is one call into ``artcli/ops/``; :class:`artcli.Repo` inherits them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from artcli.api.context import Context, RefLike, TtlLike, _duration, ttl_text
from artcli.api.progress import reporter

if TYPE_CHECKING:
    from artcli.ops.aliases import AliasResult
    from artcli.ops.delete import DeleteResult
    from artcli.ops.fsck import FsckReport
    from artcli.ops.gc import GcResult
    from artcli.ops.registry import LinkResult, RegistryResult, UnlinkResult
    from artcli.ops.runs import UseResult
    from artcli.ops.ttl import DefaultResult, TtlResult
    from artcli.results import AliasInfo, AliasMove, RegistryInfo, Report, TtlInfo
    from artcli.state.run import RunState


class Curation(Context):
    """Aliases, registries, retention, runs: the part of :class:`artcli.Repo` that curates versions."""

    # -- aliases -------------------------------------------------------------------------
    def alias(self, ref: RefLike, *aliases: str) -> AliasResult:
        """Put aliases on a version or collection version (``artcli alias add``)."""
        from artcli.ops.aliases import add_aliases

        return add_aliases(self._ctx(), self._ref(ref), list(aliases))

    def unalias(self, name: str, *aliases: str) -> list[AliasResult]:
        """Remove aliases from an artifact or collection (``artcli alias rm``)."""
        from artcli.ops.aliases import remove_aliases

        return remove_aliases(self._ctx(), self._ref(name), list(aliases))

    def aliases(self, name: str) -> list[AliasInfo]:
        """Every alias of an artifact or collection, ``latest`` first (``artcli alias ls``)."""
        from artcli.ops.aliases import list_aliases

        return list_aliases(self._ctx(), self._ref(name))

    def alias_history(self, ref: RefLike) -> list[AliasMove]:
        """Every alias move, oldest first (``artcli history``); a tag narrows it (``name:production``)."""
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

    def registries(self) -> list[RegistryInfo]:
        """Every registry (``artcli registry ls``)."""
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

    def fsck(self, *, read_data: bool = False) -> FsckReport:
        """Check that every live version is complete, and with ``read_data`` intact
        (``artcli debug fsck``); the findings are in the report, nothing is raised for them."""
        from artcli.ops.fsck import fsck

        return fsck(self._ctx(), read_data=read_data)
