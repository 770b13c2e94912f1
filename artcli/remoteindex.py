"""What a remote already holds, found with LISTs rather than a HEAD per file.

Packs: one LIST of ``packs/`` gives every complete pack (one with its ``.idx``); indexes not
seen before are fetched once and kept in the local index, since packs are immutable.
Loose blobs: one LIST per two-hex-digit fan-out folder that the wanted digests fall in; for
files offered one by one, :class:`LooseProbe`.
"""

from __future__ import annotations

import threading
from itertools import islice
from typing import TYPE_CHECKING

from artcli import layout
from artcli.errors import IntegrityError, NotFoundError
from artcli.packs import decode_index

if TYPE_CHECKING:
    from artcli.repo import Repo

#: concurrent LIST requests of find_loose
LIST_WORKERS = 8
#: find_loose tries one LIST of all of ``blobs/`` first when the digests span this many fan-out
#: folders: it saves that many requests on a small remote and wastes at most two on a big one
SMALL_REMOTE_MIN_FANS = 4


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
    """The subset of ``digests`` stored as loose blobs.

    On a cloud remote small enough for one LIST page of ``blobs/`` (see :func:`_all_if_small`)
    that page answers for every digest; otherwise the fan-out folders the digests fall in are
    listed, 8 at a time (100 large files fall in ~80 folders: 80 sequential LISTs took 0.4 s).
    """
    wanted = set(digests)
    fans = sorted({d[:2] for d in wanted})
    if len(fans) >= SMALL_REMOTE_MIN_FANS and (everything := _all_if_small(repo)) is not None:
        return wanted & everything

    def listed(fan: str) -> set[str]:
        keys = repo.store.list(f"{layout.BLOBS_PREFIX}{fan}/")
        return {d for info in keys if (d := layout.digest_from_key(info.key)) in wanted}

    if len(fans) < 2:
        return set().union(*map(listed, fans))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(LIST_WORKERS, len(fans))) as pool:
        return set().union(*pool.map(listed, fans))


def _all_if_small(repo: Repo) -> set[str] | None:
    """Every loose blob's digest, if a cloud remote holds no more than one LIST page of them
    (1,000 on S3 and GCS); else None, having spent at most two requests finding out. Local
    remotes answer None at once: a stat is cheaper than listing a folder tree."""
    store = repo.store
    if not store.networked:
        return None
    page = getattr(store, "list_page_size", 1000)
    found = {layout.digest_from_key(i.key) for i in islice(store.list(layout.BLOBS_PREFIX), page + 1)}
    return found if len(found) <= page else None


class LooseProbe:
    """"Is this blob stored?" for files offered one at a time (the eager uploads of ``log``).

    The first question tries :func:`_all_if_small`: on a small cloud remote that one LIST
    answers every later question. A bigger or local remote is asked once per digest, which a
    file large enough to be loose easily pays for. Thread-safe; answers are hints for
    deduplication, to be confirmed inside the writer lease (with :func:`find_loose`).
    """

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self._lock = threading.Lock()
        self._listed: set[str] | None = None
        self._tried = False

    def stored(self, digest: str) -> bool:
        with self._lock:
            if not self._tried:
                self._tried = True
                self._listed = _all_if_small(self._repo)
        if self._listed is not None:
            return digest in self._listed
        return self._repo.store.exists(layout.blob_key(digest))
