"""The public Python API: :func:`open` a remote, or start a :func:`run`; see docs/python.md.

Everything here is re-exported by the ``artcli`` package itself (``artcli.open``,
``artcli.run``, ``artcli.VersionInfo``, ...); ``artcli.api`` is where it lives.
"""

from __future__ import annotations

from artcli.api.metadata import Metadata
from artcli.api.progress import Progress, ProgressCallback
from artcli.api.repo import Repo, open
from artcli.api.runs import Run, run
from artcli.errors import (
    ArtcliError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    RemoteError,
    UnsafeRemoteError,
    UsageError,
)
from artcli.lineagewalk import Graph
from artcli.ops.aliases import AliasResult
from artcli.ops.delete import DeleteResult
from artcli.ops.diff import DiffResult
from artcli.ops.download import DownloadResult
from artcli.ops.fsck import FsckReport
from artcli.ops.gc import GcItem, GcResult
from artcli.ops.metadata import SetResult
from artcli.ops.registry import LinkResult, RegistryResult, UnlinkResult
from artcli.ops.runs import StartResult, UseResult
from artcli.ops.ttl import DefaultResult, TtlResult
from artcli.results import (
    AddRefResult,
    AliasInfo,
    AliasMove,
    ArtifactSummary,
    FileInfo,
    LogResult,
    MetadataValue,
    RegistryInfo,
    Report,
    Result,
    TtlInfo,
    VersionInfo,
)
from artcli.state.run import RunRecord, RunState

__all__ = [
    "AddRefResult", "AliasInfo", "AliasMove", "AliasResult", "ArtcliError", "ArtifactSummary", "ConflictError", "DefaultResult",
    "DeleteResult", "DiffResult", "DownloadResult", "FileInfo", "FsckReport", "GcItem", "GcResult", "Graph", "IntegrityError",
    "LinkResult", "LogResult", "Metadata", "MetadataValue", "NotFoundError", "Progress", "ProgressCallback",
    "RegistryInfo", "RegistryResult", "RemoteError", "Repo", "Report", "Result", "Run", "RunRecord", "RunState", "SetResult",
    "StartResult", "TtlInfo", "TtlResult", "UnlinkResult", "UnsafeRemoteError", "UsageError", "UseResult",
    "VersionInfo", "open", "run",
]
