"""The one place that turns data into the bytes that get hashed or stored as JSON.

Sorted keys, no whitespace, UTF-8, no NaN: the same object always gives the same bytes, in
any language. Golden-byte tests pin it; changing it changes every digest on every remote.
"""

from __future__ import annotations

import json
import math
from typing import Any


def dumps(obj: Any) -> bytes:
    """Canonical JSON bytes of ``obj``."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _no_constants(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400: valid JSON syntax, but no canonical form
        raise ValueError(f"number {text[:40]} is out of range")
    return value


#: one decoder for every call (json.loads with hooks builds a new one each time: a third of
#: the cost of reading a manifest line)
_DECODER = json.JSONDecoder(parse_constant=_no_constants, parse_float=_finite_float)


def loads(data: bytes | str) -> Any:
    """Parse JSON, refusing NaN/Infinity (they have no canonical form).

    Only ValueError (UnicodeDecodeError included) ever leaves: input nested deeper than the
    interpreter's recursion limit, which only a crafted object holds, is a ValueError too.
    """
    try:
        if isinstance(data, bytes | bytearray):
            data = data.decode("utf-8")  # JSON text is UTF-8 here (json.loads would also guess UTF-16/32)
        return _DECODER.decode(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
