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
from artcli.ops.copy import CopyResult
from artcli.ops.delete import DeleteArtifactResult, DeleteResult
from artcli.ops.describe import DescribeResult
from artcli.ops.diff import DiffResult
from artcli.ops.download import DownloadResult
from artcli.ops.fsck import FsckReport
from artcli.ops.gc import GcItem, GcResult
from artcli.ops.metadata import SetResult
from artcli.ops.projects import ProjectList
from artcli.ops.registry import CollectionListing, LinkResult, RegistryResult, UnlinkResult
from artcli.ops.rename import RenameResult
from artcli.ops.runs import StartResult, UseResult
from artcli.ops.status import StatusResult
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
    "AddRefResult",
    "AliasInfo",
    "AliasMove",
    "AliasResult",
    "ArtcliError",
    "ArtifactSummary",
    "CollectionListing",
    "ConflictError",
    "CopyResult",
    "DefaultResult",
    "DeleteArtifactResult",
    "DeleteResult",
    "DescribeResult",
    "DiffResult",
    "DownloadResult",
    "FileInfo",
    "FsckReport",
    "GcItem",
    "GcResult",
    "Graph",
    "IntegrityError",
    "LinkResult",
    "LogResult",
    "Metadata",
    "MetadataValue",
    "NotFoundError",
    "Progress",
    "ProgressCallback",
    "ProjectList",
    "RegistryInfo",
    "RegistryResult",
    "RemoteError",
    "RenameResult",
    "Repo",
    "Report",
    "Result",
    "Run",
    "RunRecord",
    "RunState",
    "SetResult",
    "StartResult",
    "StatusResult",
    "TtlInfo",
    "TtlResult",
    "UnlinkResult",
    "UnsafeRemoteError",
    "UsageError",
    "UseResult",
    "VersionInfo",
    "open",
    "run",
]
