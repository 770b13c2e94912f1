"""Read-only queries: ``ls``, ``show``, ``files``."""

from __future__ import annotations

from collections.abc import Iterator

from artcli import layout
from artcli.errors import IntegrityError
from artcli.model import Entry, Ref, check_name
from artcli.pathmatch import PathFilter
from artcli.projectindex import project_summaries
from artcli.repo import Repo
from artcli.results import ArtifactSummary, FileInfo, VersionDetail, VersionInfo
from artcli.state.artifact import version_summary


def list_artifacts(repo: Repo, artifact_type: str | None = None) -> list[ArtifactSummary]:
    """Every artifact of the project (of one type) with its type, version count, latest version
    and its size: from the project catalogue, plus the own log of each artifact it cannot vouch
    for. An artifact renamed away (``artcli rename``) is listed under its new name only."""
    return [ArtifactSummary(repo.project, s.name, s.type, s.live, s.latest, s.updated, s.size)
            for s in project_summaries(repo, repo.project)
            if (artifact_type is None or s.type == artifact_type) and s.renamed_to is None]


def list_versions(repo: Repo, name: str) -> list[VersionInfo]:
    check_name(name)
    st = repo.artifact_state(repo.project, name, history=False)
    return [VersionInfo.from_json(version_summary(st, v)) for v in st.live_versions()]


def show(repo: Repo, ref: Ref) -> VersionDetail:
    """One version's summary (``show``); the artifact log's skipped events are its warnings."""
    st, vs = repo.resolve(ref, history=False)
    return VersionDetail.from_json(version_summary(st, vs), warnings=list(st.warnings)).detail(vs)


def iter_files(repo: Repo, ref: Ref, *, include: list[str] | None = None,
               exclude: list[str] | None = None) -> Iterator[FileInfo]:
    """:func:`files`, one row at a time from the manifest file: memory does not grow with the
    number of files. The manifest is checked against its event (docs/format.md §5.8) when the
    last row has been given; a mismatch raises then, so consumers must not trust rows before.
    ``include``/``exclude``: only the files those gitignore-style patterns keep."""
    pfilter = PathFilter.of(include, exclude)
    st, vs = repo.resolve(ref, history=False)
    if not vs.manifest:
        raise IntegrityError(f"{st.project}/{st.name}:v{vs.version} has no manifest in its log")
    streamed = repo.manifest_file(vs.manifest, vs.files)
    for e in streamed:
        if not pfilter or pfilter.accepts(e.path):
            yield _file_row(repo, e)
    repo.check_event(st, vs, streamed)


def _file_row(repo: Repo, e: Entry) -> FileInfo:
    row = FileInfo(e.path, e.size, e.digest, None)
    if e.ref is not None:
        row.url = e.ref.get("uri")
        row.ref = e.ref
    elif e.pack:
        row.url = repo.store.public_url(layout.pack_key(e.pack))
        row.range = [e.offset or 0, (e.offset or 0) + e.size]
    else:
        row.url = repo.store.public_url(layout.blob_key(e.digest or ""))
    return row


def files(repo: Repo, ref: Ref, *, include: list[str] | None = None,
          exclude: list[str] | None = None) -> list[FileInfo]:
    """Each file of a version (those ``include``/``exclude`` keep): path, size, digest and
    where its bytes live."""
    return list(iter_files(repo, ref, include=include, exclude=exclude))
