"""Fold a project's settings log (``projects/<project>/settings/events/``)."""

from __future__ import annotations

from artcli.state.fold import Events


def fold_default_ttl(events: Events) -> int | None:
    """The project's default TTL in seconds: the last valid ``default_ttl_set`` wins; other
    event types are ignored."""
    seconds: int | None = None
    for _, ev in events:
        if ev and ev.get("type") == "default_ttl_set":
            value = ev.get("seconds")
            if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
                seconds = value
    return seconds


def default_ttl_was_set(events: Events) -> bool:
    """Has any ``default_ttl_set`` been written (even one that cleared it)?"""
    return any(ev and ev.get("type") == "default_ttl_set" for _, ev in events)
