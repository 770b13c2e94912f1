"""``repo.metadata``: typed, grouped metadata on versions (``artcli metadata``), from Python.

Values are plain Python/JSON values. A ``KEY:TYPE`` key types one (``"weights:size": "1.5GiB"``,
``"source:uri": "s3://b/k"``, ``"input:dtype": "float32"``), and a dict value is a card:
``{"model_metrics": {"accuracy": 0.95}}`` stores ``model_metrics.accuracy`` (docs/metadata.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from artcli.model import Ref
    from artcli.ops.metadata import SetResult
    from artcli.repo import Repo as Context
    from artcli.results import MetadataValue, Report


class _Owner(Protocol):
    """What Metadata needs of the :class:`artcli.Repo` it belongs to."""

    def _ctx(self) -> Context: ...

    def _ref(self, ref: str) -> Ref: ...


class Metadata:
    """Bound to one :class:`artcli.Repo`; as thread-safe as the Repo."""

    def __init__(self, repo: _Owner) -> None:
        self._repo = repo

    def set(self, ref: str, values: Mapping[str, Any]) -> SetResult:
        """Add ``values`` to a version in one event; earlier values stay in its history."""
        from artcli.mdvalues import flatten
        from artcli.ops.metadata import set_metadata

        return set_metadata(self._repo._ctx(), self._repo._ref(ref), flatten(dict(values)))

    def set_on_run_output(self, values: Mapping[str, Any], *, artifact: str | None = None) -> SetResult:
        """Add ``values`` to the version the Repo's run logged (``metadata set --infer``);
        ``artifact`` picks one when the run logged several."""
        from artcli.mdvalues import flatten
        from artcli.ops.metadata import set_metadata

        return set_metadata(self._repo._ctx(), None, flatten(dict(values)), infer=True, artifact=artifact)

    def get(self, ref: str, key: str) -> MetadataValue:
        """A key's latest value, or a card's as a dict (``metadata get``)."""
        from artcli.ops.metadata import get_metadata

        return get_metadata(self._repo._ctx(), self._repo._ref(ref), key)

    def ls(self, ref: str) -> Report:
        """Each key's latest entry, grouped into cards (``metadata ls --json``)."""
        from artcli.ops.metadata import list_metadata

        return list_metadata(self._repo._ctx(), self._repo._ref(ref))

    def history(self, ref: str) -> Report:
        """Every entry ever set, oldest first, with time and run (``metadata ls --history --json``)."""
        from artcli.ops.metadata import list_metadata

        return list_metadata(self._repo._ctx(), self._repo._ref(ref), history=True)
