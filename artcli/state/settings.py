"""Fold a project's settings log (``projects/<project>/settings/events/``)."""

from __future__ import annotations

from dataclasses import dataclass

from artcli.state.fold import Events, LogState, usable

SETTINGS_TYPES = frozenset({"default_ttl_set"})


@dataclass
class SettingsState(LogState):
    default_ttl: int | None = None  # seconds; None: versions do not expire by default
    default_ttl_set: bool = False  # has any default_ttl_set been written (even one that cleared it)?


def fold_settings(events: Events) -> SettingsState:
    """The last valid ``default_ttl_set`` wins; other event types are ignored."""
    st = SettingsState()
    for _key, ev in usable(st, events, SETTINGS_TYPES):
        if ev["type"] == "default_ttl_set":
            st.default_ttl, st.default_ttl_set = ev["seconds"], True
    return st


def fold_default_ttl(events: Events) -> int | None:
    """The project's default TTL in seconds."""
    return fold_settings(events).default_ttl


def default_ttl_was_set(events: Events) -> bool:
    """Has any ``default_ttl_set`` been written (even one that cleared it)?"""
    return fold_settings(events).default_ttl_set
