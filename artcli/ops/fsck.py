"""``debug fsck``: every consistency finding of docs/format.md §8, each with its own kind.

It checks the marker, every log of the project (artifacts, settings), every registry,
collection and run log, the links of every collection, and every live version's manifest
and objects. Findings about logs come from the folds themselves (the same reader rules every
command applies, ``artcli/state/fold.py``), plus what only a fresh listing shows: keys that
are not events, and missing sequence numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artcli import layout, marker
from artcli.errors import ArtcliError
from artcli.hashing import digest_bytes
from artcli.remoteindex import live_packs
from artcli.repo import Repo
from artcli.results import Result
from artcli.state.artifact import ArtifactState
from artcli.state.collection import CORE_REGISTRIES, CollectionState
from artcli.state.fold import Issue, seq_of_key
from artcli.state.run import fold_run
from artcli.state.settings import fold_settings


@dataclass
class FsckReport(Result):
    versions: int = 0
    files: int = 0
    findings: list[Issue] = field(default_factory=list)
    verified_bytes: int = 0

    def add(self, kind: str, key: str, message: str) -> None:
        self.findings.append(Issue(kind, key, message))

    @property
    def problems(self) -> list[str]:
        return [f"{f.key}: {f.message}" for f in self.findings]

    def to_json(self) -> dict[str, Any]:
        return {"versions": self.versions, "files": self.files, "verified_bytes": self.verified_bytes,
                "findings": [{"kind": f.kind, "key": f.key, "message": f.message} for f in self.findings],
                "problems": self.problems, "ok": not self.findings}


def fsck(repo: Repo, *, read_data: bool = False) -> FsckReport:
    """Check the remote ``repo`` points at (opened without the marker check, so that a damaged
    marker is a finding, not a refusal); with ``read_data`` every byte is downloaded and checked
    against its digest."""
    rep = FsckReport()
    m = marker.inspect(repo.store)
    if m.problem:
        rep.add(m.state, marker.KEY, m.message)
        if m.state != marker.MISSING:  # a newer format, another hash, a malformed marker: nothing else can be read
            return rep
    names = _logs(repo, rep, layout.artifacts_root(repo.project))
    artifacts = [repo.artifact_state(repo.project, n, must_exist=False) for n in names]
    for st in artifacts:
        rep.findings += st.issues
        for kind, key, message in repo.artifact_log(repo.project, st.name).check_checkpoints():
            rep.add(kind, key, message)
    settings = layout.settings_prefix(repo.project)
    if _keys(repo, rep, settings):
        rep.findings += fold_settings(repo.settings_log(repo.project).read()).issues
    _registries(repo, rep)
    for run_id in _logs(repo, rep, "runs/"):
        rep.findings += fold_run(run_id, repo.run_log(run_id).read()).issues
    _versions(repo, rep, artifacts, read_data)
    return rep


def _keys(repo: Repo, rep: FsckReport, prefix: str) -> bool:
    """Report keys under ``prefix``events/ that are not events, and missing sequence numbers;
    True when the log has any event."""
    prev = -1
    for info in repo.store.list(layout.events_prefix(prefix)):
        seq = seq_of_key(info.key)
        if seq is None or "/" in info.key[len(layout.events_prefix(prefix)):]:
            rep.add("stray-key", info.key, "not an event: its name is not <12 digits>.json (readers ignore it)")
            continue
        if seq > prev + 1:
            missing = f"{prev + 1}" if seq == prev + 2 else f"{prev + 1} to {seq - 1}"
            rep.add("seq-gap", info.key, f"sequence number(s) {missing} are missing before it")
        prev = seq
    return prev >= 0


def _logs(repo: Repo, rep: FsckReport, root: str) -> list[str]:
    """The names of the logs directly under ``root`` (``<root><name>/events/…``), their keys checked."""
    names = sorted({info.key[len(root):].split("/", 1)[0] for info in repo.store.list(root)
                    if "/events/" in info.key[len(root):]})
    for n in names:
        _keys(repo, rep, f"{root}{n}/")
    return names


def _registries(repo: Repo, rep: FsckReport) -> None:
    exists: dict[str, bool] = {}
    for reg in repo.registry_names():
        if reg in CORE_REGISTRIES:
            exists[reg] = True
            continue
        _keys(repo, rep, layout.registry_prefix(reg))
        st = repo.registry_state(reg, must_exist=False)
        rep.findings += st.issues
        exists[reg] = st.exists
    sources: dict[tuple[str, str], ArtifactState] = {}
    for reg, coll in repo.collection_names():
        prefix = layout.collection_prefix(reg, coll)
        _keys(repo, rep, prefix)
        cs = repo.collection_state(reg, coll, must_exist=False)
        rep.findings += cs.issues
        if not exists.get(reg):
            first = next(iter(repo.store.list(layout.events_prefix(prefix)))).key
            rep.add("orphan-collection", first, f"a collection of registry {reg!r}, which does not exist: "
                                                "readers ignore it and its links")
            continue
        _links(repo, rep, cs, sources)


def _links(repo: Repo, rep: FsckReport, cs: CollectionState, sources: dict[tuple[str, str], ArtifactState]) -> None:
    prefix = layout.collection_prefix(cs.registry, cs.name)
    for lk in cs.live_links():
        key = layout.event_key(prefix, lk.seq)
        if (lk.project, lk.name) not in sources:
            sources[(lk.project, lk.name)] = repo.artifact_state(lk.project, lk.name, must_exist=False)
        src = sources[(lk.project, lk.name)]
        vs = src.versions.get(lk.source_version)
        if vs is None or vs.deleted:
            why = "does not exist" if vs is None else f"was deleted at {vs.deleted}"
            rep.add("link-dangling", key, f"{cs.ref}:v{lk.version} links {lk.source_ref}, which {why}")
        elif (lk.digest, lk.manifest) != (vs.digest, vs.manifest):
            rep.add("link-mismatch", key, f"{cs.ref}:v{lk.version} records digests of {lk.source_ref} "
                                          "that are not that version's")


def _versions(repo: Repo, rep: FsckReport, artifacts: list[ArtifactState], read_data: bool) -> None:
    """Every live version's manifest loads and matches its event, and every object it names exists
    (one LIST per prefix)."""
    loose = {layout.digest_from_key(i.key): i.size for i in repo.store.list(layout.BLOBS_PREFIX)}
    packs = live_packs(repo)
    for st in artifacts:
        for vs in st.live_versions():
            rep.versions += 1
            where = f"{st.project}/{st.name}:v{vs.version}"
            try:
                man = repo.version_manifest(st, vs)
            except ArtcliError as exc:
                kind = getattr(exc, "kind", None) or "manifest-invalid"
                key = layout.event_key(layout.artifact_prefix(st.project, st.name), vs.seq) \
                    if kind == "event-manifest-mismatch" else layout.manifest_key(vs.manifest or "")
                rep.add(kind, key, f"{where}: {exc}")
                continue
            for e in man.entries:
                rep.files += 1
                if e.ref is not None:
                    continue
                if e.pack:
                    if e.pack not in packs:
                        rep.add("pack-missing", layout.pack_key(e.pack), f"{where}: {e.path}: the pack is missing "
                                                                          "or has no index")
                    elif (e.offset or 0) + e.size > packs[e.pack]:
                        rep.add("pack-short", layout.pack_key(e.pack), f"{where}: {e.path}: the pack is too short")
                    elif read_data:
                        (piece,) = repo.store.get_ranges([(layout.pack_key(e.pack), e.offset or 0,
                                                           (e.offset or 0) + e.size)])
                        rep.verified_bytes += len(piece)
                        if digest_bytes(piece) != e.digest:
                            rep.add("data-corrupt", layout.pack_key(e.pack),
                                    f"{where}: {e.path}: packed bytes do not match the digest")
                elif e.digest not in loose:
                    rep.add("blob-missing", layout.blob_key(e.digest or ""), f"{where}: {e.path}: the blob is missing")
                elif loose[e.digest or ""] != e.size:
                    rep.add("blob-size", layout.blob_key(e.digest or ""), f"{where}: {e.path}: the blob has the "
                                                                          "wrong size")
                elif read_data:
                    data = repo.store.get(layout.blob_key(e.digest or ""))
                    rep.verified_bytes += len(data)
                    if digest_bytes(data) != e.digest:
                        rep.add("data-corrupt", layout.blob_key(e.digest or ""),
                                f"{where}: {e.path}: the blob does not match its digest")
