"""Object keys on a remote. docs/format.md is the spec; this module is its one implementation."""

from __future__ import annotations

from artcli.errors import IntegrityError

FORMAT = 2
HASH = "blake3"
MARKER_KEY = "artcli-store.json"


def _fan(digest: str) -> str:
    return f"{digest[:2]}/{digest[2:]}"


def blob_key(digest: str) -> str:
    return f"blobs/{HASH}/{_fan(digest)}"


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


PROJECTS_ROOT = "projects/"
REGISTRIES_ROOT = "registries/"


def artifact_prefix(project: str, name: str) -> str:
    return f"projects/{project}/artifacts/{name}/"


def artifacts_root(project: str) -> str:
    return f"projects/{project}/artifacts/"


def artifact_of_key(key: str) -> tuple[str, str] | None:
    """(project, name) when ``key`` is an event of an artifact's log, else None."""
    parts = key.split("/")  # projects/<p>/artifacts/<n>/events/<seq>.json
    if len(parts) == 6 and parts[0] == "projects" and parts[2] == "artifacts" and parts[4] == "events":
        return parts[1], parts[3]
    return None


def catalogue_prefix(project: str) -> str:
    """A project's catalogue log: a summary of each artifact for ``ls`` (docs/format.md §5.10)."""
    return f"projects/{project}/catalogue/"


def settings_prefix(project: str) -> str:
    """A project's settings log (its default TTL)."""
    return f"projects/{project}/settings/"


def events_prefix(log_prefix: str) -> str:
    return f"{log_prefix}events/"


def event_key(log_prefix: str, seq: int) -> str:
    return f"{log_prefix}events/{seq:012d}.json"


#: the highest sequence number, as event keys have 12 digits: writers stop there
#: (:func:`new_event_key`), readers skip an event whose ``seq`` is above (state/events.py)
MAX_SEQ = 10**12 - 1


def new_event_key(log_prefix: str, seq: int) -> str:
    """The key a writer may create for event ``seq``: never one readers reject (docs/format.md §5)."""
    if seq > MAX_SEQ:
        raise IntegrityError(f"cannot append to {log_prefix}: {event_key(log_prefix, seq - 1)} "
                             "holds the highest sequence number there is", kind="seq-gap")
    return event_key(log_prefix, seq)


def registry_prefix(registry: str) -> str:
    return f"registries/{registry}/"


def collection_prefix(registry: str, collection: str) -> str:
    return f"registries/{registry}/collections/{collection}/"


def registry_log_of_key(key: str) -> tuple[str, str | None] | None:
    """(registry, None) for an event of a registry's settings log, (registry, collection) for
    an event of a collection's log, else None."""
    parts = key.split("/")  # registries/<r>/events/<seq> or registries/<r>/collections/<c>/events/<seq>
    if parts[0] != "registries":
        return None
    if len(parts) == 4 and parts[2] == "events":
        return parts[1], None
    if len(parts) == 6 and parts[2] == "collections" and parts[4] == "events":
        return parts[1], parts[3]
    return None


def run_prefix(run_id: str) -> str:
    return f"runs/{run_id}/"


#: leases of writers and of garbage collections (docs/format.md §7)
WRITER_LEASES_PREFIX = "gc/writers/"
GC_LEASES_PREFIX = "gc/running/"


def lease_key(prefix: str, lease_id: str) -> str:
    return f"{prefix}{lease_id}.json"
