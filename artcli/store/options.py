"""Typed reading of remote options, which arrive as strings (config files, ``--remote-option``).

Unknown options are a UsageError naming the accepted ones, so a typo never silently falls back
to a default.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from artcli.errors import UsageError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class OptionReader:
    """Pops typed values out of an options mapping; :meth:`done` rejects what is left."""

    def __init__(self, options: Mapping[str, str] | None, *, scheme: str) -> None:
        self._left = {str(k): v for k, v in (options or {}).items()}
        self._known: list[str] = []
        self._scheme = scheme

    def _pop(self, name: str) -> str | None:
        self._known.append(name)
        value = self._left.pop(name, None)
        return None if value is None else str(value).strip()

    def _bad(self, name: str, value: str, want: str) -> UsageError:
        return UsageError(f"remote option {name}={value!r} for {self._scheme}:// must be {want}")

    def get_str(self, name: str) -> str | None:
        value = self._pop(name)
        return value or None

    def get_url(self, name: str) -> str | None:
        """An endpoint: ``http(s)://host[:port][/path]``, never with user-info (credentials
        come from the environment), checked when a remote is added rather than at first use."""
        value = self.get_str(name)
        if value is None:
            return None
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if "@" in parts.netloc:
            raise UsageError(f"remote option {name} for {self._scheme}:// must not carry user-info (user@host): "
                             "artcli never stores credentials",
                             hint="credentials come from the environment or a profile")
        try:
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            raise self._bad(name, value, "an http:// or https:// URL with a host, e.g. http://127.0.0.1:9000")
        return value

    def get_bool(self, name: str, default: bool) -> bool:
        value = self._pop(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise self._bad(name, value, "true or false")

    def get_int(self, name: str, *, minimum: int | None = None) -> int | None:
        value = self._pop(name)
        if value is None or value == "":
            return None
        try:
            number = int(value)
        except ValueError:
            raise self._bad(name, value, "an integer") from None
        if minimum is not None and number < minimum:
            raise self._bad(name, value, f"at least {minimum}")
        return number

    def get_float(self, name: str, *, minimum: float | None = None) -> float | None:
        value = self._pop(name)
        if value is None or value == "":
            return None
        try:
            number = float(value)
        except ValueError:
            raise self._bad(name, value, "a number of seconds") from None
        if minimum is not None and number < minimum:
            raise self._bad(name, value, f"at least {minimum}")
        return number

    def get_choice(self, name: str, choices: Iterable[str]) -> str | None:
        value = self._pop(name)
        allowed = tuple(choices)
        if not value:
            return None
        if value not in allowed:
            raise self._bad(name, value, "one of " + ", ".join(allowed))
        return value

    def rest(self) -> dict[str, str]:
        """Whatever is left (for generic fsspec backends that take their own options)."""
        left, self._left = self._left, {}
        return left

    def done(self) -> None:
        if self._left:
            known = ", ".join(sorted(self._known)) or "none"
            unknown = ", ".join(sorted(self._left))
            raise UsageError(f"unknown remote option(s) for {self._scheme}://: {unknown} (known: {known})")
