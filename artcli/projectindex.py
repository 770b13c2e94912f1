"""One summary per artifact of a project, in a few requests: the project catalogue
(docs/format.md §5.10) where it vouches for an artifact, the artifact's own log elsewhere.

:func:`project_summaries` is the one entry point for anything that lists artifacts with
their type, live version count, latest version, its size and the time of the newest version
(``ls``; summaries across artifacts and projects build on it). What it had to fold itself it
writes back to the catalogue (best effort), so the next cold reader does not.
"""

from __future__ import annotations

from artcli import catalogue
from artcli.repo import Repo
from artcli.state.catalogue import Summary, summary_of


def project_summaries(repo: Repo, project: str) -> list[Summary]:
    """Every artifact of ``project`` with at least one event, sorted by name. Nothing that
    deletes may use this (gc reads every artifact's own log)."""
    cat = catalogue.read(repo.store, repo.db, project)
    out: list[Summary] = []
    folded = []
    for name in repo.artifact_names(project):
        summary = cat.artifacts.get(name)
        if summary is None or not summary.current():
            st, seq = repo.artifact_log(project, name).folded_at(repo.artifact_fold(project, name, history=False))
            if seq < 0:  # a folder without events
                continue
            folded.append((st, seq))
            summary = summary_of(catalogue.summarise(st, seq))
        out.append(summary)
    if folded:
        catalogue.write_back(repo.store, repo.db, project, folded, cat, repo.run_id)
    return sorted(out, key=lambda s: s.name)
