"""Metadata values from the command line: ``KEY=VALUE`` where VALUE is JSON when it parses."""

from __future__ import annotations

import json
from typing import Any

from artcli.errors import UsageError

MAX_VALUE_BYTES = 1 << 20


def parse_value(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=lambda c: text)
    except ValueError:
        return text


def check_key(key: str) -> str:
    if not key or any(ord(c) < 32 or ord(c) == 127 for c in key) or len(key) > 256:
        raise UsageError(f"invalid metadata key {key!r}: must be 1-256 characters without control characters")
    return key


def parse_assignments(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``["a=1", "b.c=x"]`` -> ``{"a": {"value": 1, "type": None}, ...}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"metadata must be KEY=VALUE, got {item!r}")
        value = parse_value(raw)
        if len(json.dumps(value)) > MAX_VALUE_BYTES:
            raise UsageError(f"metadata value for {key!r} is over 1 MiB of JSON")
        out[check_key(key.strip())] = {"value": value, "type": None}
    return out
