"""A version's metadata as cards for a terminal: one panel per card (the part of a key before the first dot)."""

from __future__ import annotations

from typing import Any


def cards(ref: str, rows: list[dict[str, Any]]) -> Any:
    """One rich panel per card; keys without a dot share the 'metadata' panel. Keys and values are
    plain text, never markup."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    if not rows:
        return Text(f"{ref}: no metadata")
    grouped: dict[str | None, list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault(r["card"], []).append(r)
    panels = []
    for card, members in grouped.items():
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        for r in members:
            grid.add_row(Text(r["name"]), Text(r["display"]).append(f"  ({r['type']})" if r["type"] else "", style="dim"))
        panels.append(Panel(grid, title=Text(card or "metadata"), title_align="left", expand=False))
    return Group(Text(ref, style="bold"), *panels)
