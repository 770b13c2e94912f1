"""``debug cat`` / ``debug events``: a store's objects and event logs as they are, for debugging."""

from __future__ import annotations

from typing import Any

from artcli import manifest
from artcli.model import check_name
from artcli.repo import Repo


def object_bytes(repo: Repo, key: str) -> bytes:
    """An object's bytes (``.gz`` objects, manifests among them, decompressed — up to the hard
    limit of a manifest, so a planted bomb is exit 4, not gigabytes of memory)."""
    data = repo.store.get(key)
    return manifest.decompress(data, key) if key.endswith(".gz") else data


def events(repo: Repo, name: str) -> list[dict[str, Any]]:
    """An artifact's event log in order: ``{"key": ..., "event": ...}``, unparsable events as None."""
    return [{"key": key, "event": ev} for key, ev in repo.artifact_log(repo.project, check_name(name)).read()]
