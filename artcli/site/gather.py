"""Read a remote once for the site: every artifact, collection and run log, folded.

Two LISTs find the logs (``projects/`` and ``runs/``; registries are found by the lineage
source's one LIST of ``registries/``), then each log is read once (warm: one LIST, events
from the local cache) on a few threads. The lineage source keeps what it read, so the
thousands of small graphs drawn on version pages cost no further request.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from artcli import canonical
from artcli.lineagewalk import Source
from artcli.model import NAME_RE, REGISTRY_PROJECT
from artcli.repo import Repo
from artcli.runinfo import valid_run_id
from artcli.state.artifact import ArtifactState
from artcli.state.collection import CollectionState, RegistryState
from artcli.state.run import RunState


@dataclass
class Catalogue:
    """Everything the pages show, folded from the logs; ``positions`` is each log's last
    sequence number (what the state file compares to say which logs changed)."""

    url: str
    projects: list[str]
    artifacts: dict[tuple[str, str], ArtifactState]
    registries: dict[str, RegistryState]
    collections: dict[tuple[str, str], CollectionState]
    runs: dict[str, RunState]
    default_ttl: dict[str, int | None]
    source: Source
    positions: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _scan_projects(repo: Repo, warnings: list[str]) -> tuple[set[str], set[tuple[str, str]]]:
    """Projects (with artifacts or settings) and artifacts: one LIST of ``projects/``."""
    projects: set[str] = set()
    artifacts: set[tuple[str, str]] = set()
    bad: set[str] = set()
    for info in repo.store.list("projects/"):
        parts = info.key.split("/")  # projects/<p>/artifacts/<n>/events/<seq> or projects/<p>/settings/events/<seq>
        if len(parts) == 6 and parts[2] == "artifacts" and parts[4] == "events":
            p, n = parts[1], parts[3]
            if NAME_RE.fullmatch(p) and NAME_RE.fullmatch(n) and p != REGISTRY_PROJECT:
                projects.add(p)
                artifacts.add((p, n))
            else:
                bad.add(f"projects/{p}/artifacts/{n}/")
        elif len(parts) == 5 and parts[2] == "settings" and parts[3] == "events" and NAME_RE.fullmatch(parts[1]):
            projects.add(parts[1])
    warnings.extend(f"skipped {b}: not a valid project or artifact name" for b in sorted(bad)[:20])
    return projects, artifacts


def _scan_runs(repo: Repo) -> list[str]:
    found = set()
    for info in repo.store.list("runs/"):
        parts = info.key.split("/")
        if len(parts) == 4 and parts[2] == "events" and valid_run_id(parts[1]):
            found.add(parts[1])
    return sorted(found)


def _touches(rs: RunState, keep: set[str]) -> bool:
    return any(r.project in keep for r in (*rs.inputs, *rs.outputs))


def gather(repo: Repo, projects: list[str] | None = None, threads: int | None = None) -> Catalogue:
    """Fold every log the site shows. ``projects`` limits artifacts (and the runs shown) to those
    projects; registries are org-wide and always shown."""
    repo.check_format()
    warnings: list[str] = []
    source = Source(repo)
    found, artifact_keys = _scan_projects(repo, warnings)
    keep = sorted(set(projects) if projects else found)
    missing = [p for p in keep if p not in found]
    warnings.extend(f"project {p!r} has no artifacts on {repo.store.url}" for p in missing)
    artifact_keys = {k for k in artifact_keys if k[0] in keep}
    run_ids = _scan_runs(repo)
    workers = threads or (16 if getattr(repo.store, "networked", False) else 4)

    def read_artifact(key: tuple[str, str]) -> tuple[tuple[str, str], Any]:
        return key, source.artifact(*key)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        folded = dict(pool.map(read_artifact, sorted(artifact_keys)))
        runs = dict(zip(run_ids, pool.map(source.run, run_ids), strict=True))
        ttls = dict(zip(keep, pool.map(repo.default_ttl, keep), strict=True))
    collections = {(cs.registry, cs.name): cs for cs in source.collections()
                   if NAME_RE.fullmatch(cs.registry) and NAME_RE.fullmatch(cs.name)}
    registries = {r: repo.registry_state(r, must_exist=False) for r in repo.registry_names() if NAME_RE.fullmatch(r)}
    if projects:  # runs that touched none of the projects shown stay out
        runs = {rid: rs for rid, rs in runs.items() if _touches(rs, set(keep))}
    cat = Catalogue(
        url=repo.store.url, projects=keep,
        artifacts=folded,
        registries=registries, collections=collections, runs=runs, default_ttl=ttls, source=source,
        warnings=warnings)
    for (p, n), st in cat.artifacts.items():
        cat.positions[f"a/{p}/{n}"] = st.last_seq
        cat.warnings.extend(f"{p}/{n}: {w}" for w in st.warnings)
    for (r, c), cs in collections.items():
        cat.positions[f"c/{r}/{c}"] = cs.last_seq
        cat.warnings.extend(f"{cs.ref}: {w}" for w in cs.warnings)
    for rid, rs in runs.items():
        cat.positions[f"r/{rid}"] = rs.events
        cat.warnings.extend(f"run {rid}: {w}" for w in rs.warnings)
    for p, ttl in ttls.items():  # settings and registry logs: what they say is small, keep that
        cat.positions[f"s/{p}"] = ttl
    for r, reg in registries.items():
        cat.positions[f"g/{r}"] = hashlib.sha256(canonical.dumps(reg.to_json())).hexdigest()[:16]
    return cat
