"""Read-only queries: ``ls``, ``show``, ``files``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from artcli import layout
from artcli.errors import IntegrityError
from artcli.model import Entry, Ref, check_name
from artcli.projectindex import project_summaries
from artcli.repo import Repo, check_against_event
from artcli.results import Report
from artcli.state.artifact import version_summary


def list_artifacts(repo: Repo, artifact_type: str | None = None) -> list[dict[str, Any]]:
    """Every artifact of the project (of one type) with its type, version count and latest
    version: from the project catalogue, plus the own log of each artifact it cannot vouch for."""
    return [s.row(repo.project) for s in project_summaries(repo, repo.project)
            if artifact_type is None or s.type == artifact_type]


def list_versions(repo: Repo, name: str) -> list[dict[str, Any]]:
    check_name(name)
    st = repo.artifact_state(repo.project, name, history=False)
    return [version_summary(st, v) for v in st.live_versions()]


def show(repo: Repo, ref: Ref) -> Report:
    """One version's summary (``show``); the artifact log's skipped events are its warnings."""
    st, vs = repo.resolve(ref, history=False)
    return Report(version_summary(st, vs), warnings=list(st.warnings))


def iter_files(repo: Repo, ref: Ref) -> Iterator[dict[str, Any]]:
    """:func:`files`, one row at a time from the manifest file: memory does not grow with the
    number of files. The manifest is checked against its event (docs/format.md §5.8) when the
    last row has been given; a mismatch raises then, so consumers must not trust rows before."""
    st, vs = repo.resolve(ref, history=False)
    if not vs.manifest:
        raise IntegrityError(f"{st.project}/{st.name}:v{vs.version} has no manifest in its log")
    streamed = repo.manifest_file(vs.manifest)
    for e in streamed:
        yield _file_row(repo, e)
    check_against_event(f"{st.project}/{st.name}:v{vs.version}", vs, streamed)


def _file_row(repo: Repo, e: Entry) -> dict[str, Any]:
    row: dict[str, Any] = {"path": e.path, "size": e.size, "digest": e.digest}
    if e.ref is not None:
        row["url"] = e.ref.get("uri")
        row["ref"] = e.ref
    elif e.pack:
        row["url"] = repo.store.public_url(layout.pack_key(e.pack))
        row["range"] = [e.offset, (e.offset or 0) + e.size]
    else:
        row["url"] = repo.store.public_url(layout.blob_key(e.digest or ""))
    return row


def files(repo: Repo, ref: Ref) -> list[dict[str, Any]]:
    """Each file of a version: path, size, digest and where its bytes live."""
    return list(iter_files(repo, ref))
