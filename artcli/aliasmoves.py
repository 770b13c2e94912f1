"""Moving aliases on an artifact's or a collection's log: one ``alias_set`` event per alias
that is not already there, each re-decided after a lost race (``alias add``, ``link --alias``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from artcli.errors import NotFoundError
from artcli.eventlog import EventLog, Events
from artcli.state.collection import display_ref, fold_collection
from artcli.state.folds import ArtifactFold

if TYPE_CHECKING:
    from artcli.repo import Repo

#: (events) -> (custom aliases, is version N live?) for one artifact or collection log
Folder = Callable[[Events], tuple[dict[str, int], Callable[[int], bool]]]


def vtag(n: int | None) -> str | None:
    return None if n is None else f"v{n}"


def artifact_folder(repo: Repo, project: str, name: str) -> Folder:
    def f(events: Events) -> tuple[dict[str, int], Callable[[int], bool]]:
        st = repo.fold_artifact(project, name, events)
        return st.aliases, lambda n: n in st.versions and st.is_live(st.versions[n])
    return f


def collection_folder(registry: str, coll: str) -> Folder:
    def f(events: Events) -> tuple[dict[str, int], Callable[[int], bool]]:
        cs = fold_collection(registry, coll, events)
        return cs.aliases, lambda n: n in cs.links and cs.links[n].live
    return f


def move_aliases(log: EventLog, folder: Folder, where: str, version: int, aliases: list[str],
                 fold: ArtifactFold | None = None) -> list[dict[str, Any]]:
    """Move each alias to ``version`` (one event per alias that is not already there). With
    ``fold`` (an artifact's), each decision reads the cached folded state, not every event."""
    changes = []
    for alias in aliases:
        moved: dict[str, Any] = {}

        def decide(current: dict[str, int], live: Callable[[int], bool], alias: str = alias,
                   moved: dict[str, Any] = moved) -> dict[str, Any] | None:
            if not live(version):  # deleted/unlinked since we resolved the reference
                raise NotFoundError(f"{where}:v{version} is no longer live; alias {alias!r} not set")
            if current.get(alias) == version:
                return None
            moved.update({"alias": alias, "from": vtag(current.get(alias)), "to": f"v{version}"})
            return {"type": "alias_set", "alias": alias, "version": version}

        if fold is not None:
            done = log.append_folded(fold, lambda st, decide=decide: decide(
                st.aliases, lambda n, st=st: n in st.versions and st.is_live(st.versions[n])))
        else:
            done = log.append(lambda events, decide=decide: decide(*folder(events)))
        if done is not None:
            changes.append(moved)
    return changes


def set_collection_aliases(repo: Repo, registry: str, coll: str, version: int,
                           aliases: list[str]) -> list[dict[str, Any]]:
    """Move ``aliases`` to one version of a collection."""
    repo.check_format(for_write=True)
    return move_aliases(repo.collection_log(registry, coll), collection_folder(registry, coll),
                        display_ref(registry, coll), version, aliases)
