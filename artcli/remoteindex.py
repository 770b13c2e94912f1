"""What a remote already holds, found with LISTs (never a HEAD per file).

Packs: one LIST of ``packs/`` gives every complete pack (one with its ``.idx``); indexes not
seen before are fetched once and kept in the local index, since packs are immutable.
Loose blobs: one LIST per two-hex-digit fan-out folder that the wanted digests fall in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artcli import layout
from artcli.errors import IntegrityError, NotFoundError
from artcli.packs import decode_index

if TYPE_CHECKING:
    from artcli.repo import Repo


def live_packs(repo: Repo) -> dict[str, int]:
    """pack digest -> size, for packs whose index is present."""
    sizes: dict[str, int] = {}
    indexed: set[str] = set()
    for info in repo.store.list(layout.PACKS_PREFIX):
        if info.key.endswith(".idx"):
            indexed.add(layout.digest_from_key(info.key))
        else:
            sizes[layout.digest_from_key(info.key)] = info.size
    return {p: s for p, s in sizes.items() if p in indexed}


def find_packed(repo: Repo, digests: list[str], packs: dict[str, int] | None = None) -> dict[str, tuple[str, int]]:
    """digest -> (pack, offset) for digests already stored in a complete pack."""
    if not digests:
        return {}
    packs = live_packs(repo) if packs is None else packs
    url = repo.store.url
    usable = set(packs)
    missing = sorted(usable - repo.db.loaded_packs(url))
    if missing:
        keys = [layout.pack_index_key(p) for p in missing]
        bodies = [_get_index(repo, k) for k in keys] if len(keys) < 4 else _get_all(repo, keys)
        for p, body in zip(missing, bodies, strict=True):
            try:
                members = decode_index(p, body) if body is not None else None
            except IntegrityError:
                members = None
            if members is None:  # gone (GC) or damaged: costs only deduplication against that pack
                usable.discard(p)
                continue
            repo.db.add_pack(url, p, members)
    return repo.db.find_packed(url, digests, usable)


def _get_index(repo: Repo, key: str) -> bytes | None:
    try:
        return repo.store.get(key)
    except NotFoundError:
        return None


def _get_all(repo: Repo, keys: list[str]) -> list[bytes | None]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda k: _get_index(repo, k), keys))


def find_loose(repo: Repo, digests: list[str]) -> set[str]:
    """The subset of ``digests`` stored as loose blobs."""
    wanted = set(digests)
    found: set[str] = set()
    for fan in sorted({d[:2] for d in wanted}):
        for info in repo.store.list(f"{layout.BLOBS_PREFIX}{fan}/"):
            d = layout.digest_from_key(info.key)
            if d in wanted:
                found.add(d)
    return found
