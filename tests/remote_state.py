"""The remote's state read with the Store API, for crash tests (tests/test_crashes.py,
tests/test_crashpoints.py): what is stored, and whether every visible version is complete."""

from __future__ import annotations

from artcli import layout, manifest
from artcli.eventlog import _parse
from artcli.packs import decode_index
from artcli.store import Store


def stored(store: Store) -> tuple[dict[str, int], set[str]]:
    """(loose blob digest -> size, digests in complete packs, i.e. packs with an index)."""
    loose = {layout.digest_from_key(i.key): i.size for i in store.list(layout.BLOBS_PREFIX)}
    keys = {i.key: i.size for i in store.list(layout.PACKS_PREFIX)}
    packed: set[str] = set()
    for key in keys:
        if key.endswith(".idx") and key[: -len(".idx")] in keys:
            pack = layout.digest_from_key(key)
            packed |= {d for d, _, _ in decode_index(pack, store.get(key))}
    return loose, packed


def check_visible_versions(store: Store, name: str = "ds", project: str = "default") -> list[int]:
    """Every version_created event names a complete version (its manifest, and every loose
    blob with its size, pack and pack index its entries name), unless a later version_deleted
    took it back (gc may then have collected its objects); versions are consecutive. Returns
    their numbers, deleted ones included."""
    keys = {i.key: i.size for prefix in (layout.BLOBS_PREFIX, layout.PACKS_PREFIX, layout.MANIFESTS_PREFIX)
            for i in store.list(prefix)}
    created: list[dict] = []
    deleted: set[int] = set()
    for info in store.list(layout.events_prefix(layout.artifact_prefix(project, name))):
        ev = _parse(store.get(info.key))
        assert ev is not None, f"unparsable event {info.key}"
        if ev["type"] == "version_created":
            created.append(ev)
        elif ev["type"] == "version_deleted":
            deleted.add(ev["version"])
    for ev in created:
        if ev["version"] in deleted:
            continue
        mkey = layout.manifest_key(ev["manifest"])
        assert mkey in keys, f"v{ev['version']} is visible but its manifest {mkey} is missing"
        man = manifest.decode(manifest.decompress(store.get(mkey), mkey), ev["manifest"])
        for e in man.entries:
            if e.pack:
                pkey = layout.pack_key(e.pack)
                assert pkey in keys and layout.pack_index_key(e.pack) in keys, f"{e.path}: pack or index missing"
                assert (e.offset or 0) + e.size <= keys[pkey], f"{e.path}: pack too short"
            else:
                assert keys.get(layout.blob_key(e.digest or "")) == e.size, f"{e.path}: blob missing or short"
    versions = [ev["version"] for ev in created]
    assert versions == list(range(len(versions))), versions
    return versions
