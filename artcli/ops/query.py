"""Read-only queries: ``ls``, ``show``, ``files``."""

from __future__ import annotations

from typing import Any

from artcli import layout
from artcli.model import Ref, check_name
from artcli.repo import Repo
from artcli.results import Report
from artcli.state.artifact import version_summary


def list_artifacts(repo: Repo) -> list[dict[str, Any]]:
    """Every artifact of the project with its type, version count and latest version."""
    out = []
    for name in repo.artifact_names(repo.project):
        st = repo.artifact_state(repo.project, name, must_exist=False, follow=False)
        if st.renamed_to is not None:  # listed under its new name
            continue
        latest = st.latest_live()
        out.append({"project": repo.project, "name": name, "type": st.type,
                    "versions": len(st.live_versions()),
                    "latest": f"v{latest.version}" if latest else None,
                    "updated": max((v.created for v in st.versions.values()), default=None)})
    return out


def list_versions(repo: Repo, name: str) -> list[dict[str, Any]]:
    check_name(name)
    st = repo.artifact_state(repo.project, name)
    return [version_summary(st, v) for v in st.live_versions()]


def show(repo: Repo, ref: Ref) -> Report:
    """One version's summary (``show``); the artifact log's skipped events are its warnings."""
    st, vs = repo.resolve(ref)
    info = version_summary(st, vs)
    info["components"] = [{"path": c["path"], "ref": f"{c['project']}/{c['name']}:v{c['version']}",
                           "digest": c["digest"]} for c in vs.components]
    info["origin"] = dict(vs.origin) if vs.origin else None
    info["remote_inputs"] = [dict(r) for r in vs.remote_inputs]
    return Report(info, warnings=list(st.warnings))


def files(repo: Repo, ref: Ref) -> list[dict[str, Any]]:
    """Each file of a version: path, size, digest and where its bytes live."""

    st, vs = repo.resolve(ref)
    man = repo.version_manifest(st, vs)
    out = []
    for e in man.entries:
        row: dict[str, Any] = {"path": e.path, "size": e.size, "digest": e.digest}
        if e.ref is not None:
            row["url"] = e.ref.get("uri")
            row["ref"] = e.ref
        elif e.pack:
            row["url"] = repo.store.public_url(layout.pack_key(e.pack))
            row["range"] = [e.offset, (e.offset or 0) + e.size]
        else:
            row["url"] = repo.store.public_url(layout.blob_key(e.digest or ""))
        out.append(row)
    return out
