"""The one place that turns data into the bytes that get hashed or stored as JSON.

Sorted keys, no whitespace, UTF-8, no NaN: the same object always gives the same bytes, in
any language. Golden-byte tests pin it; changing it changes every digest on every remote.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(obj: Any) -> bytes:
    """Canonical JSON bytes of ``obj``."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """Parse JSON, refusing NaN/Infinity (they have no canonical form)."""

    def _no_constants(name: str) -> Any:
        raise ValueError(f"non-finite number {name} is not allowed")

    return json.loads(data, parse_constant=_no_constants)
