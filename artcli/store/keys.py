"""Key validation shared by every backend.

Keys come from our own layout but also from remote listings, which nobody should trust: a key
like ``../x`` must never turn into a path outside a local store's root.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from artcli.errors import NotFoundError, UsageError

#: temporary files the local store writes beside their final name; never listed, never valid keys
TMP_MARK = ".artcli-tmp-"


def _bad(what: str, value: str) -> UsageError:
    return UsageError(f"invalid object {what} {value!r}")


def check_key(key: str) -> str:
    """Return ``key`` if it is a clean relative POSIX key, else raise UsageError."""
    if not isinstance(key, str) or not key or key.startswith("/") or key.endswith("/"):
        raise _bad("key", str(key))
    if "\\" in key or "\x00" in key:
        raise _bad("key", key)
    for part in key.split("/"):
        if part in ("", ".", "..") or part.startswith(TMP_MARK):
            raise _bad("key", key)
    return key


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a clean key prefix (may be empty, end with "/" or mid-name)."""
    if not isinstance(prefix, str):
        raise _bad("prefix", str(prefix))
    if not prefix:
        return prefix
    if prefix.startswith("/") or "\\" in prefix or "\x00" in prefix:
        raise _bad("prefix", prefix)
    *dirs, _last = prefix.split("/")
    for part in dirs:
        if part in ("", ".", ".."):
            raise _bad("prefix", prefix)
    return prefix


def check_sources(pairs: Sequence[tuple[str, str]]) -> None:
    """Before an upload: a missing local file is named as such, not as a missing remote object."""
    for src, key in pairs:
        check_key(key)
        if not os.path.isfile(src):
            raise NotFoundError(f"local file not found: {src}")
