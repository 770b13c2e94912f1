"""Shell completion of artifact names, versions and aliases, from a small local file.

Completion must be instant and work offline, so it never opens the remote: commands that
already read it (``ls``, ``show``, ``log``, ``download``; ``registry show`` and ``link`` for
registry collections) remember what they saw in
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
REGISTRY = "registry"  # the reserved project name: its key holds registry/<registry>/<collection> refs
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
             all_names: Iterable[str] | None = None, project: str | None = None) -> None:
    """Record what a command just read for this remote+project.

    ``names``: name -> (versions, aliases), replacing what was known of those artifacts;
    ``merge``: the same, added to what was known; ``all_names``: the complete list of
    artifacts (``ls``), which also forgets artifacts that are gone.
    """
    try:
        data = _load()
        key = _key(repo.settings.remote_url, project or repo.project)
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


def remember_collections(repo: Any, collections: dict[str, tuple[Iterable[str], Iterable[str]]],
                         *, merge: bool = False) -> None:
    """Record registry collections (``registry/<registry>/<collection>`` -> versions, aliases)
    seen by ``registry show`` or ``link``; they complete in every project of the remote."""
    if merge:
        remember(repo, merge=collections, project=REGISTRY)
    else:
        remember(repo, collections, project=REGISTRY)


def _is_version(tag: str) -> bool:
    return tag.startswith("v") and tag[1:].isdigit()


def candidates(incomplete: str, *, remote: str | None = None, project: str | None = None,
               tags: bool = True, registry: bool = False, artifacts: bool = True) -> list[str]:
    """Names (and ``name:tag`` once a colon is typed) starting with ``incomplete``; no network.
    ``registry``: registry collection references (``registry/<registry>/<collection>``) too."""
    try:
        from artcli.config import resolve

        settings = resolve(remote, project)
        data = _load()
    except Exception:  # a broken config means no suggestions, not a traceback
        return []
    known: dict[str, list[str]] = {}
    for key, wanted in ((_key(settings.remote_url, settings.project), artifacts),
                        (_key(settings.remote_url, REGISTRY), registry)):
        part = data.get(key)
        if wanted and isinstance(part, dict):
            known.update({k: v for k, v in part.items() if isinstance(v, list)})
    if ":" in incomplete and tags:
        name, _, part_ = incomplete.partition(":")
        if name not in known:
            return []
        tags_ = known[name] if "latest" in known[name] else ["latest", *known[name]]
        return [f"{name}:{t}" for t in tags_ if t.startswith(part_)]
    names = sorted(n for n in known if n.startswith(incomplete))
    if tags and len(names) == 1 and names[0] == incomplete:
        return [names[0], *(f"{names[0]}:{t}" for t in known[names[0]])]
    return names


def _opts(ctx: Any) -> dict[str, Any]:
    params = getattr(ctx, "params", None) or {}
    return {"remote": params.get("remote"), "project": params.get("project")}


def complete_ref(ctx: Any, incomplete: str) -> list[str]:
    """Typer autocompletion for a version reference: name, name:vN, name:alias, registry/...:tag."""
    return candidates(incomplete, registry=True, **_opts(ctx))


def complete_collection(ctx: Any, incomplete: str) -> list[str]:
    """A registry collection (``link``'s target): no tag."""
    return candidates(incomplete, tags=False, registry=True, artifacts=False, **_opts(ctx))


def complete_collection_version(ctx: Any, incomplete: str) -> list[str]:
    """A registry collection version (``unlink``)."""
    return candidates(incomplete, registry=True, artifacts=False, **_opts(ctx))


def choices(*values: str) -> Any:
    """Typer autocompletion for an option with a fixed set of values (``--direction``, ``--format``)."""

    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete


def complete_name(ctx: Any, incomplete: str) -> list[str]:
    """Typer autocompletion for an artifact name (no tag)."""
    return candidates(incomplete, tags=False, **_opts(ctx))


# bash splits words at COMP_WORDBREAKS, which holds ':' by default, so `download churn-model:prod<TAB>`
# would complete only `prod`. Rather than take ':' out of COMP_WORDBREAKS for the whole shell, the
# function rebuilds the word from the line (up to the cursor) and strips what bash already
# considers typed (everything up to the last ':') from each reply, as bash-completion's
# __ltrim_colon_completions does. Installed by `artcli --install-completion bash` and written to
# completions/artcli.bash (both from :data:`BASH_SCRIPT`).
BASH_SCRIPT = r"""
%(complete_func)s() {
    local IFS=$'\n'
    local line=${COMP_LINE:0:COMP_POINT}
    local cur=${line##*[[:space:]]}
    local -a words
    IFS=$' \t' read -r -a words <<< "$line"
    local cword=${#words[@]}
    [[ -n $cur ]] && cword=$((cword - 1))
    COMPREPLY=( $( env COMP_WORDS="$line" \
                   COMP_CWORD=$cword \
                   %(autocomplete_var)s=complete_bash $1 ) )
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local typed=${cur%%"${cur##*:}"}
        local i
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]#"$typed"}
        done
    fi
    return 0
}

complete -o default -F %(complete_func)s %(prog_name)s
"""


def use_own_bash_script() -> None:
    """Make Typer's ``--install-completion`` / ``--show-completion`` use :data:`BASH_SCRIPT`."""
    from typer import _completion_shared

    _completion_shared._completion_scripts["bash"] = BASH_SCRIPT


def complete_remote(ctx: Any, incomplete: str) -> list[str]:
    """Typer autocompletion for a remote name (``-r``, ``remote show``): the configured names."""
    try:
        from artcli.config import merged_config

        names = merged_config()["remote"]
    except Exception:
        return []
    return sorted(n for n in names if n.startswith(incomplete))
