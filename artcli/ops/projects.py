"""``projects``: the projects of a remote, each with how many artifacts it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artcli import layout
from artcli.model import NAME_RE
from artcli.repo import Repo
from artcli.results import Result


@dataclass
class ProjectList(Result):
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return self.rows


def list_projects(repo: Repo) -> ProjectList:
    """Every project with at least one artifact, in name order, with its artifact count: one
    delimited LIST of ``projects/`` and one per project (never a listing of every event).
    (A project with only settings — a default TTL — and no artifact is not listed.)"""
    rows = []
    for project in sorted(repo.store.list_dirs(layout.PROJECTS_ROOT)):
        if not NAME_RE.fullmatch(project):
            continue
        count = len(repo.artifact_names(project))
        if count:
            rows.append({"project": project, "artifacts": count})
    return ProjectList(rows)
