"""``projects``: the projects of a remote, each with how many artifacts it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from artcli.repo import Repo
from artcli.results import Result


@dataclass
class ProjectList(Result):
    rows: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return self.rows


def list_projects(repo: Repo) -> ProjectList:
    """Every project with at least one artifact log, in name order, with its artifact count.
    (A project with only settings — a default TTL — and no artifact is not listed.)"""
    counts: dict[str, int] = {}
    for project, _name in repo.all_artifacts():
        counts[project] = counts.get(project, 0) + 1
    return ProjectList([{"project": p, "artifacts": n} for p, n in sorted(counts.items())])
