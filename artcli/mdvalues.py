"""Metadata values: parsing ``KEY[:TYPE]=VALUE`` and JSON files into typed, grouped entries.

An entry is stored as ``{"value": <JSON>, "type": <name or null>}`` under a flat key. Dots
group keys into cards (``model_metrics.accuracy`` is ``accuracy`` on the ``model_metrics``
card), so a JSON file ``{"model_metrics": {"accuracy": 0.95}}`` and the assignment
``model_metrics.accuracy=0.95`` store the same thing.

Plain values carry ``type: null``: JSON says what they are. Four types need more than JSON
to be shown or compared right, so they are stored with their name:

* ``size``  — a storage size in bytes (an integer); accepts ``1.5GB`` (1000s) and ``300MiB`` (1024s)
* ``uri``   — a URI with a scheme (``s3://b/k``, ``https://…``); never with credentials in it
* ``path``  — a file-system path, kept as written
* ``dtype`` — a data type name, normalised (``torch.float32``, ``<f4`` → ``float32``)

Two casts exist on the command line only: ``KEY:str=007`` keeps the text as a string and
``KEY:json=…`` insists that the text is JSON. Both store ``type: null``.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from artcli import canonical
from artcli.errors import UsageError
from artcli.redact import check_no_secret, find_secret

MAX_VALUE_BYTES = 1 << 20
MAX_DESCRIPTION = 64 * 1024
MAX_KEY_CHARS = 256
MAX_SIZE = (1 << 63) - 1
TYPES = ("size", "uri", "path", "dtype")  # stored types
CASTS = ("str", "json")  # command-line casts, stored as plain values
Entry = dict[str, Any]  # {"value": ..., "type": str | None}


def check_description(text: str | None) -> str | None:
    """A version description (``log -d``, ``describe``): at most 64 KiB of UTF-8, and never a
    credential, the rule metadata values follow (docs/metadata.md)."""
    if text is None:
        return None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_DESCRIPTION:
        raise UsageError(f"description longer than {MAX_DESCRIPTION} bytes")
    check_no_secret("the description", text)
    return text


# -- keys --------------------------------------------------------------------------------------
def check_key(key: str) -> str:
    """A metadata key: 1-256 characters, no control characters, ``=``, ``:`` or empty dot parts.

    ``=`` and ``:`` are what ``KEY:TYPE=VALUE`` is split on; empty dot parts would make cards
    without a name.
    """
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
        raise UsageError(f"invalid metadata key {key!r}: must be 1-{MAX_KEY_CHARS} characters",
                         hint="for example: model_metrics.accuracy=0.95")
    if any(unicodedata.category(c) == "Cc" for c in key):
        raise UsageError(f"invalid metadata key {key!r}: control characters are not allowed")
    if "=" in key or ":" in key:
        raise UsageError(f"invalid metadata key {key!r}: '=' and ':' are not allowed in keys",
                         hint="the form is KEY=VALUE or KEY:TYPE=VALUE, TYPE one of " + ", ".join(TYPES + CASTS))
    if key != key.strip() or any(not part for part in key.split(".")):
        raise UsageError(f"invalid metadata key {key!r}: no leading/trailing spaces or empty parts between dots")
    return key


def card_of(key: str) -> tuple[str | None, str]:
    """``"model_metrics.accuracy"`` -> ``("model_metrics", "accuracy")``; no dot -> ``(None, key)``."""
    card, dot, name = key.partition(".")
    return (card, name) if dot else (None, key)


# -- plain values ------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """JSON when the text is JSON with a canonical form, else the text itself."""
    try:
        value = canonical.loads(text)
        canonical.dumps(value)  # 1e400 parses as inf, which has no canonical form
    except (ValueError, RecursionError):
        return text
    return value


def check_value_size(key: str, value: Any) -> None:
    try:
        size = len(canonical.dumps(value))
    except (ValueError, TypeError, RecursionError) as exc:
        raise UsageError(f"metadata value for {key!r} is not storable as JSON: {exc}") from None
    if size > MAX_VALUE_BYTES:
        raise UsageError(f"metadata value for {key!r} is {size} bytes of JSON, over the 1 MiB limit",
                         hint="store large data as a file in the version and put its path in the metadata")


# -- storage sizes -----------------------------------------------------------------------------
_DECIMAL_UNITS = {"kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4, "pb": 1000**5, "eb": 1000**6}
_BINARY_UNITS = {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50, "eib": 1 << 60}
SIZE_UNITS: dict[str, int] = {"": 1, "b": 1, **_DECIMAL_UNITS, **_BINARY_UNITS}
_SIZE_RE = re.compile(r"\s*((?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*")
_DISPLAY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def parse_size(raw: Any) -> int:
    """Bytes from ``1536``, ``"1.5GB"`` (powers of 1000) or ``"300MiB"`` (powers of 1024).

    Fractional bytes round half up; single-letter units (``1G``) are refused as ambiguous.
    """
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise UsageError(f"not a storage size: {raw!r}", hint="for example 1536, 1.5GB or 300MiB")
    if isinstance(raw, str):
        m = _SIZE_RE.fullmatch(raw)
        unit = m.group(2).lower() if m else ""
        if m is None or unit not in SIZE_UNITS:
            hint = "use KB/MB/GB (powers of 1000) or KiB/MiB/GiB (powers of 1024)"
            raise UsageError(f"not a storage size: {raw!r}", hint=hint)
        number, factor = m.group(1), SIZE_UNITS[unit]
    else:
        number, factor = repr(raw), 1
    try:
        exact = Decimal(number) * factor
        n = int(exact.to_integral_value(ROUND_HALF_UP))
    except (InvalidOperation, ValueError, OverflowError):
        raise UsageError(f"not a storage size: {raw!r}") from None
    if not 0 <= n <= MAX_SIZE:
        raise UsageError(f"storage size {raw!r} is out of range (0 to 2^63-1 bytes)")
    return n


def format_size(n: int) -> str:
    """``1610612736`` -> ``"1.5 GiB"``: at most two decimals, so a display, not an exact value."""
    if n < 1024:
        return f"{n} B"
    x, i = float(n), 0
    while x >= 1024 and i < len(_DISPLAY_UNITS) - 1:
        x /= 1024
        i += 1
    return f"{f'{x:.2f}'.rstrip('0').rstrip('.')} {_DISPLAY_UNITS[i]}"


# -- URIs, paths, dtypes -----------------------------------------------------------------------
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:\S+")


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


def check_uri(raw: Any) -> str:
    """A URI with a scheme of two or more letters (so ``C:\\x`` is not one) and no credentials."""
    if not isinstance(raw, str) or not _SCHEME_RE.fullmatch(raw) or _has_control(raw):
        raise UsageError(f"not a URI: {raw!r}", hint="a URI has a scheme, e.g. s3://bucket/key or https://host/path")
    try:
        parts = urlsplit(raw)
    except ValueError as exc:
        raise UsageError(f"not a URI: {raw!r} ({exc})") from None
    why = find_secret(raw) or ("a password in the URL" if parts.password is not None else None)
    if why:
        raise UsageError(f"the URI holds credentials ({why}); metadata is readable by everyone with access "
                         "to the remote", hint="store the URI without user:password@, signatures, keys or tokens")
    return raw


def check_path(raw: Any) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > 4096 or _has_control(raw):
        raise UsageError(f"not a path: {raw!r}", hint="a non-empty path without control characters")
    return raw


_DTYPES = {
    "bool", "int4", "int8", "int16", "int32", "int64", "uint4", "uint8", "uint16", "uint32", "uint64",
    "float16", "bfloat16", "float32", "float64", "float128", "complex64", "complex128", "complex256",
    "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "string", "str", "bytes",
    "object", "category", "datetime64", "timedelta64", "date32", "date64",
}
_DTYPE_ALIASES = {"half": "float16", "double": "float64", "bool_": "bool", "boolean": "bool", "utf8": "string",
                  "cfloat": "complex64", "cdouble": "complex128"}
_DTYPE_PREFIXES = ("jax.numpy.", "numpy.", "torch.", "np.", "tf.", "jnp.", "pl.", "pa.", "mx.")
_NUMPY_CODE_RE = re.compile(r"[<>=|]?([biufc])([0-9]{1,2})")
_NUMPY_KINDS = {"b": "bool", "i": "int", "u": "uint", "f": "float", "c": "complex"}
_TIME_RE = re.compile(r"(datetime64|timedelta64)\[(Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as)\]")


def check_dtype(raw: Any) -> str:
    """A data type name, normalised: ``torch.float32``/``np.float32``/``<f4``/``Float32`` -> ``float32``."""
    if not isinstance(raw, str):
        raise UsageError(f"not a dtype: {raw!r}")
    text = raw.strip()
    if _TIME_RE.fullmatch(text):
        return text
    name = text.lower()
    for prefix in _DTYPE_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    m = _NUMPY_CODE_RE.fullmatch(name)
    if m:
        kind, nbytes = m.group(1), int(m.group(2))
        name = "bool" if kind == "b" and nbytes == 1 else f"{_NUMPY_KINDS[kind]}{nbytes * 8}"
    name = _DTYPE_ALIASES.get(name, name)
    if name not in _DTYPES:
        raise UsageError(f"unknown dtype {raw!r}", hint="known: " + ", ".join(sorted(_DTYPES)))
    return name


# -- entries -----------------------------------------------------------------------------------
def typed_entry(key: str, type_name: str | None, raw: Any, *, from_text: bool) -> Entry:
    """Build one checked entry. ``raw`` is command-line text (``from_text``) or a JSON value."""
    check_key(key)
    if type_name is None:
        value: Any = parse_value(raw) if from_text else raw
    elif type_name == "str":
        if not isinstance(raw, str):
            raise UsageError(f"metadata {key!r}: ':str' needs a string, got {json.dumps(raw)}")
        value = raw
    elif type_name == "json":
        if from_text:
            try:
                value = canonical.loads(raw)
            except (ValueError, RecursionError) as exc:
                raise UsageError(f"metadata {key!r}: ':json' value is not JSON: {exc}") from None
        else:
            value = raw
    elif type_name == "size":
        value = parse_size(raw)
    elif type_name == "uri":
        value = check_uri(raw)
    elif type_name == "path":
        value = check_path(raw)
    elif type_name == "dtype":
        value = check_dtype(raw)
    else:
        raise UsageError(f"unknown metadata type {type_name!r} for {key!r}",
                         hint="types: " + ", ".join(TYPES + CASTS))
    check_value_size(key, value)
    check_no_secret(f"metadata {key!r}", value, name=key, bare_key=False,
                    hint="metadata is readable by everyone with access to the remote; credentials come "
                         "from the environment, a profile or a token file")
    return {"value": value, "type": type_name if type_name in TYPES else None}


def split_typed_key(spec: str) -> tuple[str, str | None]:
    """``"weights:size"`` -> ``("weights", "size")``; ``"acc"`` -> ``("acc", None)``."""
    key, sep, type_name = spec.rpartition(":")
    if not sep:
        return spec, None
    if type_name not in TYPES + CASTS:
        raise UsageError(f"unknown metadata type {type_name!r} in {spec!r}",
                         hint="types: " + ", ".join(TYPES + CASTS) + " (keys may not contain ':')")
    return key, type_name


def parse_assignment(item: str) -> tuple[str, Entry]:
    """``"KEY=VALUE"`` or ``"KEY:TYPE=VALUE"`` -> ``(key, entry)``."""
    spec, sep, raw = item.partition("=")
    if not sep:
        raise UsageError(f"metadata must be KEY=VALUE or KEY:TYPE=VALUE, got {item!r}",
                         hint="for example: accuracy=0.95 weights:size=1.5GiB")
    key, type_name = split_typed_key(spec.strip(" "))
    return key, typed_entry(key, type_name, raw, from_text=True)


def parse_assignments(items: list[str] | None) -> dict[str, Entry]:
    """``["a=1", "w:size=1KiB"]`` -> ``{"a": {"value": 1, "type": None}, "w": {"value": 1024, "type": "size"}}``."""
    out: dict[str, Entry] = {}
    for item in items or []:
        key, entry = parse_assignment(item)
        out[key] = entry
    return out


def flatten(obj: Any) -> dict[str, Entry]:
    """A JSON object -> entries: an object value is a card, its members become ``card.member``.

    Only one level is flattened (deeper objects are values), and ``KEY:TYPE`` member names
    work as on the command line: ``{"model": {"weights:size": "1.5GiB"}}``.
    """
    if not isinstance(obj, dict):
        raise UsageError("metadata JSON must be an object of KEY: VALUE",
                         hint='for example {"model_metrics": {"accuracy": 0.95}, "epochs": 10}')
    out: dict[str, Entry] = {}
    for spec, value in obj.items():
        key, type_name = split_typed_key(spec)
        if type_name is None and isinstance(value, dict) and value:
            check_key(key)
            for sub_spec, sub_value in value.items():
                sub, sub_type = split_typed_key(sub_spec)
                full = f"{key}.{sub}"
                out[full] = typed_entry(full, sub_type, sub_value, from_text=False)
        else:
            out[key] = typed_entry(key, type_name, value, from_text=False)
    return out


def load_file(path: str) -> dict[str, Entry]:
    """Entries from a JSON file (``-`` reads stdin)."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read metadata file {path}: {exc}") from None
    try:
        obj = canonical.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"metadata file {path} is not valid JSON: {exc}",
                         hint='it must hold one JSON object, e.g. {"model_metrics": {"accuracy": 0.95}}') from None
    return flatten(obj)


def collect(items: list[str] | None, file: str | None) -> dict[str, Entry]:
    """Entries from ``--file`` then ``KEY=VALUE`` arguments (which win on the same key)."""
    out = load_file(file) if file else {}
    out.update(parse_assignments(items))
    return out


# -- showing -----------------------------------------------------------------------------------
def display(entry: Entry) -> str:
    """How people see a value: sizes human-readable, strings bare, everything else as JSON."""
    value, type_name = entry.get("value"), entry.get("type")
    if type_name == "size" and isinstance(value, int) and not isinstance(value, bool):
        return format_size(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def raw(value: Any) -> str:
    """What ``metadata get`` prints for scripts: strings unquoted, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
