"""Object keys on a remote. docs/format.md is the spec; this module is its one implementation."""

from __future__ import annotations

FORMAT = 2
HASH = "blake3"
MARKER_KEY = "artcli-store.json"


def _fan(digest: str) -> str:
    return f"{digest[:2]}/{digest[2:]}"


def blob_key(digest: str) -> str:
    return f"blobs/{HASH}/{_fan(digest)}"


def blob_prefix(digest: str) -> str:
    return f"blobs/{HASH}/{digest[:2]}/"


def pack_key(digest: str) -> str:
    return f"packs/{HASH}/{_fan(digest)}"


def pack_index_key(digest: str) -> str:
    return f"packs/{HASH}/{_fan(digest)}.idx"


PACKS_PREFIX = f"packs/{HASH}/"
BLOBS_PREFIX = f"blobs/{HASH}/"
MANIFESTS_PREFIX = f"manifests/{HASH}/"


def manifest_key(digest: str) -> str:
    return f"manifests/{HASH}/{_fan(digest)}.jsonl.gz"


def digest_from_key(key: str) -> str:
    """The digest a blob/pack/manifest key names."""
    parts = key.split("/")
    tail = parts[-1].split(".")[0]
    return parts[-2] + tail


def artifact_prefix(project: str, name: str) -> str:
    return f"projects/{project}/artifacts/{name}/"


def artifacts_root(project: str) -> str:
    return f"projects/{project}/artifacts/"


def events_prefix(log_prefix: str) -> str:
    return f"{log_prefix}events/"


def event_key(log_prefix: str, seq: int) -> str:
    return f"{log_prefix}events/{seq:012d}.json"


def registry_prefix(registry: str) -> str:
    return f"registries/{registry}/"


def collection_prefix(registry: str, collection: str) -> str:
    return f"registries/{registry}/collections/{collection}/"


def run_prefix(run_id: str) -> str:
    return f"runs/{run_id}/"
