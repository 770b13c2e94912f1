"""``debug cat`` / ``debug events``: a store's objects and event logs as they are, for debugging."""

from __future__ import annotations

import gzip
from typing import Any

from artcli.model import check_name
from artcli.repo import Repo


def object_bytes(repo: Repo, key: str) -> bytes:
    """An object's bytes (``.gz`` objects, manifests among them, decompressed)."""
    data = repo.store.get(key)
    return gzip.decompress(data) if key.endswith(".gz") else data


def events(repo: Repo, name: str) -> list[dict[str, Any]]:
    """An artifact's event log in order: ``{"key": ..., "event": ...}``, unparsable events as None."""
    return [{"key": key, "event": ev} for key, ev in repo.artifact_log(repo.project, check_name(name)).read()]
