"""What every :class:`artcli.Repo` method stands on: the settings, the run id, and one internal
context per thread (store client, local index connection, the run id a ``log`` makes up).

Thread safety: a Repo may be shared by threads. Each thread works through its own context,
created on that thread's first call; the remote needs no lock (every write is an exclusive
create, docs/format.md) and the local cache is shared by processes already. :meth:`close` after
the threads are done.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Self

from artcli import clock
from artcli.api.progress import ProgressCallback
from artcli.config import Settings
from artcli.durations import format_duration
from artcli.errors import ArtcliError, UsageError
from artcli.model import Ref, parse_ref
from artcli.repo import Repo as _Context

if TYPE_CHECKING:
    from artcli.api.metadata import Metadata

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


class Context:
    """A remote, a project, a run id; the per-thread contexts of a :class:`artcli.Repo`."""

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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"artcli.Repo(remote={self.remote!r}, project={self.project!r})"
