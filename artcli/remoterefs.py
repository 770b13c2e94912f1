"""Versions on other remotes, named ``REMOTE:[project/]name[:vN|:alias|@digest]`` (``log --input``),
as ``dvc import`` records where data came from.

``REMOTE`` is a configured remote name (``artcli remote add``) or a remote URL written without
credentials. What is stored is the remote's URL (never a local name: another machine may name
it differently) and the version pinned to ``project/name:vN``, with its content digest
(``version_created.remote_inputs``, docs/format.md §5.1).
"""

from __future__ import annotations

from typing import Any

from artcli.errors import UsageError
from artcli.model import parse_ref
from artcli.redact import redact_url


def split(text: str) -> tuple[str, str] | None:
    """(remote, reference) when ``text`` names a version on another remote, else None.

    A local reference has at most one ``:`` and nothing but a tag after it, so ``team:ds:v1``
    and ``team:proj/ds`` name remote ``team``; ``proj/ds:v1`` and ``ds:best`` are local. A URL
    remote is written with ``#``: ``s3://bucket/prefix#proj/ds:v1``.
    """
    if "://" in text:
        url, sep, ref = text.rpartition("#")
        return (url, ref) if sep and url and ref else None
    head, sep, rest = text.partition(":")
    if sep and "/" not in head and (":" in rest or "/" in rest):
        return head, rest
    return None


def pin(text: str) -> dict[str, Any]:
    """Resolve a remote reference now: ``{"remote": URL, "ref": project/name:vN, "digest": ...}``."""
    from artcli.repo import Repo

    parts = split(text)
    if parts is None:
        raise UsageError(f"{text!r} does not name a version on another remote (REMOTE:[project/]name[:tag])")
    remote, ref = parts
    other = Repo.open(remote)
    try:
        st, vs = other.resolve(parse_ref(ref, other.project))
        return {"remote": redact_url(other.settings.remote_url), "ref": f"{st.project}/{st.name}:v{vs.version}",
                "digest": vs.digest}
    finally:
        other.close()
