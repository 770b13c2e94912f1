"""``cat REF PATH``: one file of a version, verified, for stdout (``artcli cat model:prod
config.json | jq .``).

A packed file is one ranged read out of its pack; a loose one one GET; a reference is fetched
from its source. Nothing reaches the caller before its digest is checked; what was fetched is
kept in the local cache, so a second ``cat`` reads nothing from the remote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from artcli import layout
from artcli.errors import IntegrityError, NotFoundError, UsageError
from artcli.hashing import digest_bytes, digest_file
from artcli.model import Entry, Ref
from artcli.references import source_context
from artcli.repo import Repo
from artcli.results import Result
from artcli.sources import fetch, is_pinned


@dataclass
class CatResult(Result):
    ref: str
    path: str
    size: int
    digest: str | None
    #: where the verified bytes came from: cache, pack, blob or reference
    source: str
    #: a packed file's verified bytes, or None
    data: bytes | None = None
    #: a verified file in the local cache holding the bytes (loose blobs, references), or None
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "path": self.path, "size": self.size, "digest": self.digest, "source": self.source}


def cat(repo: Repo, ref: Ref, path: str) -> CatResult:
    """The verified bytes of the file at ``path`` in the version ``ref`` names."""
    st, vs = repo.resolve(ref)
    where = f"{st.project}/{st.name}:v{vs.version}"
    want = path.strip("/")
    man = repo.version_manifest(st, vs)
    entry = next((e for e in man.entries if e.path == want), None)
    if entry is None:
        if any(e.path.startswith(want + "/") for e in man.entries):
            raise UsageError(f"{want!r} is a folder in {where}, not a file",
                             hint=f"artcli files {where} --include '{want}/**' lists its files")
        raise NotFoundError(f"no file {want!r} in {where}", hint=f"artcli files {where} lists its files")
    out = CatResult(where, entry.path, entry.size, entry.digest, "cache", warnings=list(st.warnings))
    if entry.ref is not None:
        out.source, out.file = "reference", _reference(repo, entry, where)
    elif entry.pack:
        data = repo.cache.get_packed(entry)
        if data is None:
            out.source, data = "pack", _packed(repo, entry, where)
        out.data = data
    else:
        out.file = repo.cache.path(entry.digest or "")
        if not repo.cache.valid(entry.digest or ""):
            out.source, out.file = "blob", _loose(repo, entry, where)
    return out


def _packed(repo: Repo, e: Entry, where: str) -> bytes:
    key = layout.pack_key(e.pack or "")
    off = e.offset or 0
    try:
        (data,) = repo.store.get_ranges([(key, off, off + e.size)])
    except NotFoundError:
        raise IntegrityError(f"{where}: {e.path}: pack {key} is missing from the remote") from None
    if len(data) != e.size or digest_bytes(data) != e.digest:
        raise IntegrityError(f"{where}: {e.path}: pack {key} is corrupt or truncated at offset {off} (digest mismatch)")
    repo.cache.put_packed(e, data)
    return data


def _loose(repo: Repo, e: Entry, where: str) -> str:
    key = layout.blob_key(e.digest or "")
    tmp = repo.cache.temp_path(e.digest or "")
    try:
        try:
            repo.store.get_files([(key, str(tmp))])
        except NotFoundError:
            raise IntegrityError(f"{where}: {e.path}: remote object {key} is missing") from None
        if tmp.stat().st_size != e.size or digest_file(tmp) != e.digest:
            raise IntegrityError(f"{where}: {e.path}: remote object {key} is corrupt (digest mismatch)")
        return repo.cache.adopt(tmp, e.digest or "")
    finally:
        tmp.unlink(missing_ok=True)


def _reference(repo: Repo, e: Entry, where: str) -> str:
    if e.digest and repo.cache.valid(e.digest):
        return repo.cache.path(e.digest)
    if not is_pinned(e):
        raise UsageError(f"{where}: {e.path} is a location-only reference (--no-checksum) to "
                         f"{(e.ref or {}).get('uri')}: read it there")
    ctx = source_context(repo)
    tmp = repo.cache.temp_path("ref")
    try:
        d = fetch(ctx, e, tmp, e.path)
        if e.digest and d != e.digest:
            raise IntegrityError(f"{where}: {e.path}: its source's bytes do not match the recorded digest")
        return repo.cache.adopt(tmp, d)
    finally:
        tmp.unlink(missing_ok=True)
        ctx.close()
