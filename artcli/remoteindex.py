"""What a remote already holds, found with LISTs rather than a HEAD per file.

Packs: a writer deduplicates against the packs it knows (the local index of packs it wrote or
read, the previous version's manifest, and every pack of a remote that holds only a few),
confirmed on the remote; it never lists or reads every pack of a big remote. Loose blobs: one LIST per two-hex-digit fan-out folder that the wanted digests fall in; for
files offered one by one, :class:`LooseProbe`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING

from artcli import layout
from artcli.errors import IntegrityError, NotFoundError
from artcli.packs import decode_index

if TYPE_CHECKING:
    from artcli.repo import Repo

#: where a batch of digests may be packed: digest -> (pack, offset), for some of them
Hints = Callable[[list[str]], dict[str, tuple[str, int]]]
#: concurrent LIST requests of find_loose (and HEADs of confirm_packs)
LIST_WORKERS = 8
#: confirm_packs checks this many packs with HEADs at most; more take one LIST of ``packs/``
CONFIRM_BY_HEAD = 16
#: a remote with at most this many packs has all their indexes read by a writer (cheap, and
#: deduplication across artifacts from a fresh cache)
FEW_PACKS = 32
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


def find_packed(repo: Repo, digests: list[str],
                hints: dict[str, tuple[str, int]] | None = None) -> dict[str, tuple[str, int]]:
    """digest -> (pack, offset) for digests stored in a complete pack this writer knows of: a
    pack this cache wrote or read an index of, one ``hints`` names (the previous version's
    manifest), and, on a remote with only a few packs, every pack there. It never lists all of
    ``packs/`` or fetches every index on a big remote: that grew with the remote (10,038
    requests for a first ``log`` next to 10,000 artifacts).

    Only packs confirmed on the remote now count (docs/format.md §7.1: after the writer's
    lease exists): the few-packs listing, else a HEAD of each candidate's index and pack, or
    one full LIST of ``packs/`` when that is cheaper. A digest packed by a writer this one
    never heard of, on a big remote, is uploaded again.
    """
    return PackFinder(repo, hints).find(digests)


class PackFinder:
    """:func:`find_packed` asked batch after batch (a log of a million files): the remote is
    looked at once (the few-packs listing), each candidate pack confirmed once."""

    def __init__(self, repo: Repo, hints: dict[str, tuple[str, int]] | Hints | None = None) -> None:
        """``hints``: where some digests may be packed, as a dict or a lookup of a batch."""
        self._repo = repo
        self._hints = hints or {}
        self._few: set[str] | None = None
        self._looked = False
        self._confirmed: dict[str, bool] = {}

    def find(self, digests: list[str]) -> dict[str, tuple[str, int]]:
        """digest -> (pack, offset) for those of ``digests`` in a complete pack (see find_packed)."""
        if not digests:
            return {}
        repo = self._repo
        if not self._looked:
            self._few = _packs_if_few(repo)
            self._looked = True
        options = repo.db.packed_candidates(repo.store.cache_id, digests)
        for d, hint in self._hint_batch(digests).items():
            options.setdefault(d, []).append(hint)
        candidates = {p for opts in options.values() for p, _ in opts}
        if self._few is not None:
            live = candidates & self._few
        else:
            ask = candidates - self._confirmed.keys()
            there = confirm_packs(repo, ask) if ask else set()
            self._confirmed.update((p, p in there) for p in ask)
            live = {p for p in candidates if self._confirmed[p]}
        out: dict[str, tuple[str, int]] = {}
        for d in digests:
            for p, off in options.get(d, ()):
                if p in live:
                    out[d] = (p, off)
                    break
        return out

    def _hint_batch(self, digests: list[str]) -> dict[str, tuple[str, int]]:
        if isinstance(self._hints, dict):
            return {d: h for d in digests if (h := self._hints.get(d)) is not None}
        return self._hints(digests)


def _packs_if_few(repo: Repo) -> set[str] | None:
    """Every complete pack, with its index loaded into the local cache, when the remote holds
    no more than ``FEW_PACKS`` (one LIST and at most that many GETs, once); else None."""
    listed = list(islice(repo.store.list(layout.PACKS_PREFIX), 2 * FEW_PACKS + 1))
    if len(listed) > 2 * FEW_PACKS:
        return None
    indexed = {layout.digest_from_key(i.key) for i in listed if i.key.endswith(".idx")}
    complete = {layout.digest_from_key(i.key) for i in listed if not i.key.endswith(".idx")} & indexed
    url = repo.store.cache_id
    for p in sorted(complete - repo.db.loaded_packs(url)):
        try:
            members = decode_index(p, repo.store.get(layout.pack_index_key(p)))
        except (NotFoundError, IntegrityError):  # gone, or an index this writer cannot use
            complete.discard(p)
            continue
        repo.db.add_pack(url, p, members)
    return complete


def confirm_packs(repo: Repo, packs: set[str]) -> set[str]:
    """The subset of ``packs`` that are on the remote with their index."""
    if not packs:
        return set()
    if len(packs) > CONFIRM_BY_HEAD:
        return packs & set(live_packs(repo))
    from concurrent.futures import ThreadPoolExecutor

    def complete(p: str) -> bool:
        return repo.store.exists(layout.pack_index_key(p)) and repo.store.exists(layout.pack_key(p))

    ordered = sorted(packs)
    with ThreadPoolExecutor(min(LIST_WORKERS, len(ordered))) as pool:
        return {p for p, ok in zip(ordered, pool.map(complete, ordered), strict=True) if ok}


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
