"""The format marker (docs/format.md §2.1): the one check every command makes before it reads
or writes a remote, and the only producer of the marker's bytes.

One rule for reads and writes alike: a valid marker, or no marker on a remote holding nothing,
lets the command go on; anything else is an integrity error (exit 4) — a marker deleted from a
remote that holds artcli objects, a newer format, another hash, a marker that is not an object
with an integer ``format`` and a string ``hash``. ``debug fsck`` reports the same states as
findings instead of stopping.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from artcli import canonical, layout
from artcli.errors import IntegrityError, NotFoundError

if TYPE_CHECKING:
    from artcli.store.base import Store

KEY = layout.MARKER_KEY
#: where artcli objects live: a remote with any key under these is not empty
CONTENT_PREFIXES = ("projects/", "registries/", "runs/", "manifests/", "packs/", "blobs/")
OK, EMPTY = "ok", "empty"
MISSING, INVALID, NEWER, OTHER_HASH = "marker-missing", "marker-invalid", "marker-newer-format", "marker-unknown-hash"


@dataclass(frozen=True)
class Marker:
    """What a remote's marker says: ``state`` is ok, empty, or a finding kind (§8)."""

    state: str
    message: str = ""
    format: int | None = None
    #: the store's identity: the marker's ``id``; for a marker without one (written before ids
    #: existed) a stable stand-in made from its bytes; None for an empty remote (no marker yet)
    identity: str | None = None

    @property
    def problem(self) -> bool:
        return self.state not in (OK, EMPTY)


ID_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")


def new_id() -> str:
    """A new store's id: 32 random hex digits."""
    return uuid.uuid4().hex


def body(store_id: str | None = None) -> bytes:
    """The marker a writer creates on an empty remote, with a new random ``id`` (§2.1)."""
    return canonical.dumps({"format": layout.FORMAT, "hash": layout.HASH, "id": store_id or new_id()})


def _identity(obj: dict[str, Any], data: bytes) -> str:
    sid = obj.get("id")
    if isinstance(sid, str) and ID_RE.fullmatch(sid):
        return f"id:{sid}"
    from artcli.hashing import digest_bytes

    return f"marker:{digest_bytes(data)[:32]}"  # an older marker: the same store keeps the same bytes


def parse(data: bytes, where: str) -> Marker:
    """Judge a marker's bytes (§2.1); unknown fields are ignored."""
    bad = f"{KEY} on {where} is malformed"
    try:
        obj: Any = canonical.loads(data)
    except ValueError:
        return Marker(INVALID, f"{bad}: not JSON")
    if not isinstance(obj, dict):
        return Marker(INVALID, f"{bad}: not a JSON object")
    fmt, algo = obj.get("format"), obj.get("hash")
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        return Marker(INVALID, f"{bad}: format {str(fmt)[:20]!r} is not a positive integer")
    if not isinstance(algo, str):
        return Marker(INVALID, f"{bad}: hash is not a string")
    if fmt > layout.FORMAT:
        return Marker(NEWER, f"{where} uses store format {fmt}; this artcli reads up to format {layout.FORMAT}: "
                             "upgrade artcli", fmt)
    if algo != layout.HASH:
        return Marker(OTHER_HASH, f"{where} uses hash {algo[:20]!r}; artcli verifies {layout.HASH} only", fmt)
    return Marker(OK, "", fmt, _identity(obj, data))


def holds_objects(store: Store) -> str | None:
    """The first artcli object key on the remote, or None when it holds none (a few cheap LISTs)."""
    for prefix in CONTENT_PREFIXES:
        for info in store.list(prefix):
            return info.key
    return None


def inspect(store: Store) -> Marker:
    """Read and judge the marker (one GET; LISTs only when it is missing)."""
    try:
        data = store.get(KEY)
    except NotFoundError:
        first = holds_objects(store)
        if first is None:
            return Marker(EMPTY)
        try:  # a first writer may have stamped the marker between our GET and LIST: look again
            return parse(store.get(KEY), store.url)
        except NotFoundError:
            pass
        return Marker(MISSING, f"{KEY} is missing from {store.url}, which holds artcli objects ({first}): "
                               "the marker was deleted")
    return parse(data, store.url)


def require(store: Store) -> Marker:
    """:func:`inspect`, raising the integrity error every command stops with on a problem."""
    m = inspect(store)
    if m.problem:
        hint = None
        if m.state == MISSING:
            hint = f"if this remote is yours, restore {KEY} with the bytes {body().decode()}"
        raise IntegrityError(m.message, hint=hint)
    return m
