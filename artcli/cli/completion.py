"""Shell completion of artifact names, versions and aliases, from a small local file.

Completion must be instant and work offline, so it never opens the remote: commands that
already read it (``ls``, ``show``, ``log``, ``download``) remember what they saw in
``<cache_dir>/completion.json``, keyed by remote URL and project, and the Typer
``autocompletion`` callbacks below read only that file. A stale entry costs a wrong
suggestion, never an error: recording and completing both swallow every failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FILE = "completion.json"
MAX_NAMES = 2000  # per remote+project: the file stays small and fast to parse
MAX_TAGS = 200  # versions + aliases kept per artifact


def _path() -> Path:
    from artcli.config import cache_dir

    return cache_dir() / FILE


def _key(remote_url: str, project: str) -> str:
    return f"{remote_url}#{project}"


def _load() -> dict[str, Any]:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(data: dict[str, Any]) -> None:
    path = _path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)  # readers see the old or the new file, never half of one
    except OSError:
        pass


def _tags(versions: Iterable[str], aliases: Iterable[str]) -> list[str]:
    def vnum(v: str) -> int:
        return int(v[1:]) if v[1:].isdigit() else -1

    vs = sorted({v for v in versions if v}, key=vnum, reverse=True)
    return (sorted({a for a in aliases if a}) + vs)[:MAX_TAGS]


def remember(repo: Any, names: dict[str, tuple[Iterable[str], Iterable[str]]] | None = None, *,
             merge: dict[str, tuple[Iterable[str], Iterable[str]]] | None = None,
             all_names: Iterable[str] | None = None) -> None:
    """Record what a command just read for this remote+project.

    ``names``: name -> (versions, aliases), replacing what was known of those artifacts;
    ``merge``: the same, added to what was known; ``all_names``: the complete list of
    artifacts (``ls``), which also forgets artifacts that are gone.
    """
    try:
        data = _load()
        key = _key(repo.settings.remote_url, repo.project)
        known: dict[str, list[str]] = data.get(key) if isinstance(data.get(key), dict) else {}  # type: ignore[assignment]
        if all_names is not None:
            wanted = set(all_names)
            known = {n: known.get(n, []) for n in sorted(wanted)}
        for n, (vs, als) in (names or {}).items():
            known[n] = _tags(vs, als)
        for n, (vs, als) in (merge or {}).items():
            old = known.get(n, [])
            known[n] = _tags([t for t in old if _is_version(t)] + list(vs),
                             [t for t in old if not _is_version(t)] + list(als))
        if len(known) > MAX_NAMES:
            known = dict(sorted(known.items())[:MAX_NAMES])
        data[key] = known
        _save(data)
    except Exception:  # completion hints must never break a command
        pass


def remember_ref(repo: Any, ref: str, aliases: Iterable[str] = ()) -> None:
    """Record one version seen as ``project/name:vN`` (log, show, download)."""
    project, _, rest = ref.rpartition("/")
    name, _, version = rest.partition(":")
    if project == repo.project and name:
        remember(repo, merge={name: ([version] if version else [], list(aliases))})


def _is_version(tag: str) -> bool:
    return tag.startswith("v") and tag[1:].isdigit()


def candidates(incomplete: str, *, remote: str | None = None, project: str | None = None,
               tags: bool = True) -> list[str]:
    """Names (and ``name:tag`` once a colon is typed) starting with ``incomplete``; no network."""
    try:
        from artcli.config import resolve

        settings = resolve(remote, project)
        known = _load().get(_key(settings.remote_url, settings.project))
    except Exception:  # a broken config means no suggestions, not a traceback
        return []
    if not isinstance(known, dict):
        return []
    if ":" in incomplete and tags:
        name, _, part = incomplete.partition(":")
        if name not in known:
            return []
        tags_ = known[name] if "latest" in known[name] else ["latest", *known[name]]
        return [f"{name}:{t}" for t in tags_ if t.startswith(part)]
    names = sorted(n for n in known if n.startswith(incomplete))
    if tags and len(names) == 1 and names[0] == incomplete:
        return [names[0], *(f"{names[0]}:{t}" for t in known[names[0]])]
    return names


def _opts(ctx: Any) -> dict[str, Any]:
    params = getattr(ctx, "params", None) or {}
    return {"remote": params.get("remote"), "project": params.get("project")}


def complete_ref(ctx: Any, incomplete: str) -> list[str]:
    """Typer autocompletion for a version reference: name, name:vN, name:alias."""
    return candidates(incomplete, **_opts(ctx))


def complete_name(ctx: Any, incomplete: str) -> list[str]:
    """Typer autocompletion for an artifact name (no tag)."""
    return candidates(incomplete, tags=False, **_opts(ctx))


def complete_remote(ctx: Any, incomplete: str) -> list[str]:
    """Typer autocompletion for a remote name (``-r``, ``remote show``): the configured names."""
    try:
        from artcli.config import merged_config

        names = merged_config()["remote"]
    except Exception:
        return []
    return sorted(n for n in names if n.startswith(incomplete))
