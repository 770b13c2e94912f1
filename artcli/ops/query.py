"""Read-only queries: ``ls``, ``show``, ``files``."""

from __future__ import annotations

from artcli import layout
from artcli.model import Ref, check_name
from artcli.repo import Repo
from artcli.results import ArtifactSummary, FileInfo, VersionInfo
from artcli.state.artifact import version_summary


def list_artifacts(repo: Repo) -> list[ArtifactSummary]:
    """Every artifact of the project with its type, version count and latest version."""
    out = []
    for name in repo.artifact_names(repo.project):
        st = repo.artifact_state(repo.project, name, must_exist=False)
        latest = st.latest_live()
        out.append(ArtifactSummary(repo.project, name, st.type, len(st.live_versions()),
                                   latest.version if latest else None,
                                   max((v.created for v in st.versions.values()), default=None)))
    return out


def list_versions(repo: Repo, name: str) -> list[VersionInfo]:
    check_name(name)
    st = repo.artifact_state(repo.project, name)
    return [VersionInfo.from_json(version_summary(st, v)) for v in st.live_versions()]


def show(repo: Repo, ref: Ref) -> VersionInfo:
    """One version's summary (``show``); the artifact log's skipped events are its warnings."""
    st, vs = repo.resolve(ref)
    return VersionInfo.from_json(version_summary(st, vs), warnings=st.warnings)


def files(repo: Repo, ref: Ref) -> list[FileInfo]:
    """Each file of a version: path, size, digest and where its bytes live."""

    st, vs = repo.resolve(ref)
    man = repo.version_manifest(st, vs)
    out = []
    for e in man.entries:
        row = FileInfo(e.path, e.size, e.digest, None)
        if e.ref is not None:
            row.url = e.ref.get("uri")
            row.ref = e.ref
        elif e.pack:
            row.url = repo.store.public_url(layout.pack_key(e.pack))
            row.range = [e.offset or 0, (e.offset or 0) + e.size]
        else:
            row.url = repo.store.public_url(layout.blob_key(e.digest or ""))
        out.append(row)
    return out
