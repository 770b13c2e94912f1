"""Folded states as JSON, for the local cache of folds (``EventLog.folded``).

A warm reader of a 100,000-event log should not parse 100,000 events again; it loads the
state it folded last time and folds only what came after. The cache is plain data, never
pickle: a CI cache restored from elsewhere must not be able to run code. Dataclasses are
encoded field by field from their type hints; ``dict[int, X]`` becomes a list of pairs and
``set`` a list (JSON has neither integer keys nor sets).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

Conv = Callable[[Any], Any] | None  # None: the JSON value is the value


def _is_plain(hint: Any) -> bool:
    """Values of this type are JSON as they are (str, int, Any, dict[str, ...] of such, ...)."""
    if hint in (str, int, float, bool, type(None), Any) or isinstance(hint, typing.TypeVar):
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, typing.Union, types.UnionType):
        return all(_is_plain(a) for a in args)
    if origin is dict:
        return args[0] is str and _is_plain(args[1])
    return False


@cache
def _codecs(hint: Any) -> tuple[Conv, Conv]:
    """(encode, decode) for values of ``hint``; (None, None) when no conversion is needed."""
    if _is_plain(hint):
        return None, None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _dataclass_codecs(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"cannot encode {hint}")
        enc, dec = _codecs(inner[0])
        return ((lambda v: None if v is None else enc(v)) if enc else None,
                (lambda v: None if v is None else dec(v)) if dec else None)
    if origin is list:
        enc, dec = _codecs(args[0])
        return (lambda v: [enc(x) for x in v]) if enc else list, (lambda v: [dec(x) for x in v]) if dec else None
    if origin in (set, frozenset):
        enc, dec = _codecs(args[0])
        return (lambda v: sorted((enc(x) if enc else x) for x in v)), (lambda v: origin((dec(x) if dec else x) for x in v))
    if origin is tuple:
        parts = [_codecs(a) for a in args]
        return (lambda v: [e(x) if e else x for (e, _), x in zip(parts, v, strict=True)],
                lambda v: tuple(d(x) if d else x for (_, d), x in zip(parts, v, strict=True)))
    if origin is dict:
        (ek, dk), (ev, dv) = _codecs(args[0]), _codecs(args[1])
        return (lambda v: [[ek(k) if ek else k, ev(x) if ev else x] for k, x in v.items()],
                lambda v: {(dk(k) if dk else k): (dv(x) if dv else x) for k, x in v})
    raise TypeError(f"cannot encode {hint}")


def _dataclass_codecs(cls: type) -> tuple[Conv, Conv]:
    """Fields with ``compare=False`` are runtime helpers (callbacks, memos), not state: they are
    left out and come back with their defaults."""
    hints = typing.get_type_hints(cls)
    kept = [f for f in dataclasses.fields(cls) if f.compare]
    skipped = [f for f in dataclasses.fields(cls) if not f.compare]
    convert = [(f.name, *_codecs(hints[f.name])) for f in kept]
    convert = [(n, e, d) for n, e, d in convert if e or d]
    names = [f.name for f in kept]

    def enc(obj: Any) -> dict[str, Any]:
        out = {n: obj.__dict__[n] for n in names}
        for name, e, _d in convert:
            if e:
                out[name] = e(out[name])
        return out

    def dec(data: dict[str, Any]) -> Any:
        obj = cls.__new__(cls)  # no __init__: every field is in the data, restored as it was
        for name, _e, d in convert:
            if d:
                data[name] = d(data[name])
        for f in skipped:
            data[f.name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        obj.__dict__.update(data)
        return obj

    return enc, dec


def dumps(state: Any) -> bytes:
    enc, _ = _codecs(type(state))
    assert enc is not None
    return json.dumps(enc(state), separators=(",", ":"), ensure_ascii=False).encode()


def loads(cls: type, data: bytes | str) -> Any:
    _, dec = _codecs(cls)
    assert dec is not None
    return dec(json.loads(data))
