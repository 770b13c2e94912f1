"""Making any string from a remote safe to put in HTML, SVG or Markdown.

Everything shown comes from event logs that anyone with write access to the remote can craft,
so every string is escaped, and characters XML and HTML forbid even when escaped (control
characters, lone surrogates, non-characters) are replaced, so a page always parses.
"""

from __future__ import annotations

import html
import re
from typing import Any

_PLANE_ENDS = "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(17))
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef" + _PLANE_ENDS + "]")
_SAFE_LINK = re.compile(r"https?://[^\s\"'<>\\]+", re.I)


def clean(value: Any) -> str:
    """Text without the characters no HTML or XML document may hold (each becomes U+FFFD)."""
    text = value if isinstance(value, str) else str(value)
    return _FORBIDDEN.sub("\ufffd", text).replace("\r\n", "\n").replace("\r", "\n")


def esc(value: Any) -> str:
    """Escaped for HTML/XML text and double- or single-quoted attribute values."""
    return html.escape(clean(value), quote=True)


def safe_link(url: Any) -> str | None:
    """``url`` when a browser may follow it from a published page (http or https, nothing that
    could run script or reach the local machine), else None: show it as text instead."""
    if isinstance(url, str) and _SAFE_LINK.fullmatch(url):
        return url
    return None


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"
