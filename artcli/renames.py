"""Following a rename (``artcli rename``, docs/format.md §5.1 "Renames"): a log renamed away
stands for the log of its new name, which holds the same versions."""

from __future__ import annotations

from typing import Any

from artcli.state.artifact import ArtifactState


def follow(repo: Any, st: ArtifactState, history: bool) -> ArtifactState:
    """The state under the artifact's current name (renames followed, a cycle stops), its
    warnings saying each rename. ``repo`` is the :class:`artcli.repo.Repo` calling (not imported:
    it imports this module)."""
    seen = {f"{st.project}/{st.name}"}
    while st.renamed_to is not None and st.renamed_to not in seen:
        seen.add(st.renamed_to)
        p, _, n = st.renamed_to.partition("/")
        moved = repo.artifact_log(p, n).folded(repo.artifact_fold(p, n, history=history))
        notes = [*st.warnings, f"{st.project}/{st.name} was renamed to {st.renamed_to}"]
        moved.warnings[:0] = [w for w in notes if w not in moved.warnings]
        st = moved
    return st
