"""artcli: version datasets, models and results on any object store, from the shell or Python.

``import artcli`` is cheap: the names below are loaded from :mod:`artcli.api` on first use,
and cloud libraries only when a remote of theirs is touched. The public API is what
``__all__`` lists (docs/python.md, "What is public"); everything else is internal.
"""

from __future__ import annotations

from artcli.version import __version__

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing would double this module's cost
if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ loads the same names lazily
    from artcli import errors
    from artcli.api import (
        AddRefResult,
        AliasInfo,
        AliasMove,
        AliasResult,
        ArtcliError,
        ArtifactSummary,
        CollectionListing,
        ConflictError,
        CopyResult,
        DefaultResult,
        DeleteArtifactResult,
        DeleteResult,
        DescribeResult,
        DiffResult,
        DownloadResult,
        FileInfo,
        FsckReport,
        GcItem,
        GcResult,
        Graph,
        IntegrityError,
        LinkResult,
        LogResult,
        Metadata,
        MetadataValue,
        NotFoundError,
        Progress,
        ProgressCallback,
        ProjectList,
        RegistryInfo,
        RegistryResult,
        RemoteError,
        RenameResult,
        Repo,
        Report,
        Result,
        Run,
        RunRecord,
        RunState,
        SetResult,
        StartResult,
        StatusResult,
        TtlInfo,
        TtlResult,
        UnlinkResult,
        UnsafeRemoteError,
        UsageError,
        UseResult,
        VersionInfo,
        open,
        run,
    )

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
    "__version__",
    "errors",
    "open",
    "run",
]


def __getattr__(name: str) -> object:
    """PEP 562: load the public API on first use of one of its names."""
    if name == "errors":
        import importlib

        return importlib.import_module("artcli.errors")
    if name in __all__:
        import importlib

        value = getattr(importlib.import_module("artcli.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'artcli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
