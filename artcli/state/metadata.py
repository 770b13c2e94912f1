"""Views of a version's folded metadata: each key's latest entry, grouped by card."""

from __future__ import annotations

from typing import Any

from artcli import mdvalues
from artcli.state.artifact import VersionState


def metadata_row(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """One entry as ``metadata ls`` shows it: key, card, value, type, display, time, run, seq."""
    card, name = mdvalues.card_of(key)
    entry = {"value": item.get("value"), "type": item.get("type")}
    return {"key": key, "card": card, "name": name, **entry, "display": mdvalues.display(entry),
            "time": item.get("time"), "run": item.get("run"), "seq": item.get("seq")}


def _order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ungrouped keys first, then cards by name, keys by name within a card."""
    return sorted(rows, key=lambda r: (r["card"] is not None, r["key"]))


def latest_rows(vs: VersionState) -> list[dict[str, Any]]:
    """Each key's latest entry, with the time and run that wrote it."""
    last: dict[str, dict[str, Any]] = {}
    for item in vs.metadata_history:
        last[item["key"]] = item
    return _order([metadata_row(k, v) for k, v in last.items()])
