"""``debug fsck``: check that every live version of a project is complete and intact."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artcli import layout
from artcli.errors import ArtcliError
from artcli.hashing import digest_bytes
from artcli.remoteindex import live_packs
from artcli.repo import Repo
from artcli.results import Result


@dataclass
class FsckReport(Result):
    versions: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)
    verified_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"versions": self.versions, "files": self.files, "verified_bytes": self.verified_bytes,
                "problems": self.problems, "ok": not self.problems}


def fsck(repo: Repo, *, read_data: bool = False) -> FsckReport:
    """Every live version's manifest loads and every object it names exists (one LIST per
    prefix); with ``read_data`` every byte is downloaded and checked against its digest."""
    rep = FsckReport()
    loose = {layout.digest_from_key(i.key): i.size for i in repo.store.list(layout.BLOBS_PREFIX)}
    packs = live_packs(repo)
    for name in repo.artifact_names(repo.project):
        st = repo.artifact_state(repo.project, name, must_exist=False)
        rep.problems += [f"{repo.project}/{name}: {w}" for w in st.warnings]
        rep.problems += [f"{repo.project}/{name}: {p}" for p in repo.artifact_log(repo.project, name).check_checkpoints()]
        for vs in st.live_versions():
            rep.versions += 1
            where = f"{repo.project}/{name}:v{vs.version}"
            try:
                man = repo.version_manifest(st, vs)
            except ArtcliError as exc:
                rep.problems.append(f"{where}: {exc}")
                continue
            for e in man.entries:
                rep.files += 1
                if e.ref is not None:
                    continue
                if e.pack:
                    if e.pack not in packs:
                        rep.problems.append(f"{where}: {e.path}: pack {e.pack} is missing or has no index")
                    elif (e.offset or 0) + e.size > packs[e.pack]:
                        rep.problems.append(f"{where}: {e.path}: pack {e.pack} is too short")
                elif e.digest not in loose:
                    rep.problems.append(f"{where}: {e.path}: blob {e.digest} is missing")
                elif loose[e.digest or ""] != e.size:
                    rep.problems.append(f"{where}: {e.path}: blob {e.digest} has the wrong size")
                elif read_data:
                    data = repo.store.get(layout.blob_key(e.digest or ""))
                    rep.verified_bytes += len(data)
                    if digest_bytes(data) != e.digest:
                        rep.problems.append(f"{where}: {e.path}: blob {e.digest} does not match its digest")
            if read_data:
                for e in man.entries:
                    if e.pack and e.pack in packs:
                        (piece,) = repo.store.get_ranges([(layout.pack_key(e.pack), e.offset or 0,
                                                           (e.offset or 0) + e.size)])
                        rep.verified_bytes += len(piece)
                        if digest_bytes(piece) != e.digest:
                            rep.problems.append(f"{where}: {e.path}: packed bytes do not match the digest")
    return rep
