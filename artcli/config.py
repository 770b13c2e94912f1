"""Configuration: flag > environment > artcli.toml (upward) > user config > embedded store.

Read with tomllib, written with tomli-w. Credentials never go here: they come from the
standard chains (AWS env/profile, Google ADC), and options that look like secrets are refused.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from artcli.errors import UsageError
from artcli.model import check_name
from artcli.redact import find_secret

PROJECT_FILE = "artcli.toml"
DEFAULT_PROJECT = "default"


def _env_dir(var: str, kind: str) -> Path:
    if os.environ.get(var):
        return Path(os.environ[var]).expanduser()
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("artcli", appauthor=False))


def config_dir() -> Path:
    return _env_dir("ARTCLI_CONFIG_DIR", "config")


def data_dir() -> Path:
    return _env_dir("ARTCLI_DATA_DIR", "data")


def cache_dir() -> Path:
    return _env_dir("ARTCLI_CACHE_DIR", "cache")


def user_config_path() -> Path:
    return config_dir() / "config.toml"


def find_project_file(start: Path | None = None) -> Path | None:
    """The nearest artcli.toml from the working directory upward."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        candidate = d / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def read_toml(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"cannot parse {path}: {exc}") from None


def write_toml(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (temp + rename): a crash never leaves half a config file."""
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(tomli_w.dumps(data).encode())
    os.replace(tmp, path)


_SCHEMES = ("file", "memory", "s3", "gs", "gcs", "az", "abfs", "abfss")
_BUCKETED = ("s3", "gs", "gcs", "az", "abfs", "abfss")


def check_remote_url(url: str) -> str:
    """Accept file/memory/s3/gs/az URLs or local paths; refuse URLs that carry credentials."""
    parts = urlsplit(url)
    if parts.username or parts.password or find_secret(url):
        raise UsageError("remote URLs must not contain credentials; use the standard credential chain")
    if parts.scheme and parts.scheme not in _SCHEMES and len(parts.scheme) > 1:
        raise UsageError(f"unsupported remote scheme {parts.scheme!r}: use file://, s3://, gs://, az:// or memory://")
    if parts.scheme in _BUCKETED and not parts.netloc:
        what = "container" if parts.scheme in ("az", "abfs", "abfss") else "bucket"
        raise UsageError(f"remote URL {url!r} names no {what}: use {parts.scheme}://{what.upper()}[/prefix]")
    return url


def check_options(url: str, options: dict[str, str]) -> dict[str, str]:
    """Refuse credential-like options (by name or by value: an ``endpoint_url`` with
    ``user:password@``, a key-shaped value), then options the remote's backend does not take."""
    from artcli.store import check_options as backend_check

    for key, value in options.items():
        why = find_secret(str(value), key)
        if why:
            raise UsageError(
                f"remote option {key!r} holds credentials ({why}); artcli never stores credentials",
                hint="use AWS_PROFILE / AWS environment variables, Google application-default credentials "
                     "or the Azure environment (AZURE_STORAGE_CONNECTION_STRING, az login)")
    backend_check(url, options)
    return options


@dataclass
class Settings:
    """What a command runs against, after precedence is applied."""

    remote_url: str
    remote_name: str | None
    options: dict[str, str] = field(default_factory=dict)
    project: str = DEFAULT_PROJECT


def merged_config() -> dict[str, Any]:
    """User config overlaid by the project file (remotes merge by name)."""
    user = read_toml(user_config_path())
    proj = read_toml(find_project_file())
    out: dict[str, Any] = {"core": {**user.get("core", {}), **proj.get("core", {})},
                           "remote": {**user.get("remote", {}), **proj.get("remote", {})},
                           "references": {**user.get("references", {}), **proj.get("references", {})}}
    return out


def default_store_url() -> str:
    return (data_dir() / "store").as_uri()


def resolve(remote: str | None = None, project: str | None = None) -> Settings:
    """Apply the precedence rules to find the remote and project."""
    cfg = merged_config()
    core = cfg["core"]
    remotes: dict[str, Any] = cfg["remote"]
    chosen = remote or os.environ.get("ARTCLI_REMOTE") or core.get("remote")
    proj = project or os.environ.get("ARTCLI_PROJECT") or core.get("project") or DEFAULT_PROJECT
    check_name(proj, "project")
    if not chosen:
        return Settings(default_store_url(), None, {}, proj)
    if chosen in remotes:
        if not isinstance(remotes[chosen], dict):
            raise UsageError(f"remote {chosen!r} in the configuration is not a table ([remote.{chosen}])")
        spec = dict(remotes[chosen])
        url = spec.pop("url", None)
        if not url:
            raise UsageError(f"remote {chosen!r} has no url in its configuration")
        if not isinstance(url, str):
            raise UsageError(f"remote {chosen!r} has a url that is not a string in its configuration: {url!r}"[:200])
        return Settings(check_remote_url(url), chosen, {k: str(v) for k, v in spec.items()}, proj)
    if "://" in chosen or chosen.startswith(("/", ".", "~")):
        url = chosen
        if "://" not in url:
            url = Path(url).expanduser().resolve().as_uri()
        return Settings(check_remote_url(url), None, {}, proj)
    raise UsageError(f"unknown remote {chosen!r}", hint=_known_hint(chosen, remotes))


def config_target(local: bool) -> Path:
    if local:
        return find_project_file() or Path.cwd() / PROJECT_FILE
    return user_config_path()


@dataclass
class SavedRemote:
    """What ``remote add`` did: where it wrote, and what became of an earlier remote's options."""

    path: Path
    replaced: bool = False
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    overridden_by: str | None = None  # a project file whose core.remote wins over a --default here


def _scheme(url: str) -> str:
    return urlsplit(url).scheme or "file"


def add_remote(name: str, url: str, options: dict[str, str], *, default: bool, local: bool) -> SavedRemote:
    """Save a remote, checked now (URL, bucket, options, endpoint) rather than at first use.

    Re-adding a name keeps its options for a URL of the same scheme (given options win;
    ``KEY=`` with no value removes one); a URL of another scheme drops them. Either way the
    result says so."""
    check_name(name, "remote name")
    check_remote_url(url)
    if "://" not in url:
        url = Path(url).expanduser().resolve().as_uri()
    path = config_target(local)
    data = read_toml(path)
    old = data.get("remote", {}).get(name)
    saved = SavedRemote(path, replaced=isinstance(old, dict))
    merged = dict(options)
    if isinstance(old, dict):
        before = {k: str(v) for k, v in old.items() if k != "url"}
        if _scheme(str(old.get("url", ""))) == _scheme(url):
            saved.kept = sorted(k for k in before if k not in options)
            merged = {**{k: before[k] for k in saved.kept}, **options}
        else:
            saved.dropped = sorted(k for k in before if k not in options)
    merged = {k: v for k, v in merged.items() if v != ""}
    check_options(url, merged)
    data.setdefault("remote", {})[name] = {"url": url, **merged}
    if default:
        data.setdefault("core", {})["remote"] = name
        saved.overridden_by = _overriding_project_file(path, name)
    write_toml(path, data)
    return saved


def _overriding_project_file(written: Path, name: str) -> str | None:
    """The artcli.toml that names another default remote, when the user config was just written."""
    proj = find_project_file()
    if proj is None or proj.resolve() == written.resolve():
        return None
    other = read_toml(proj).get("core", {}).get("remote")
    return str(proj) if other and other != name else None


def set_default(name: str, *, local: bool) -> SavedRemote:
    """``remote default NAME``: make a configured remote the default (user config or artcli.toml)."""
    from artcli.errors import NotFoundError

    remotes = merged_config()["remote"]
    if name not in remotes:
        raise NotFoundError(f"no remote named {name!r}", hint=_known_hint(name, remotes))
    path = config_target(local)
    data = read_toml(path)
    data.setdefault("core", {})["remote"] = name
    write_toml(path, data)
    return SavedRemote(path, overridden_by=_overriding_project_file(path, name))


def _known_hint(name: str, remotes: dict[str, Any]) -> str:
    from artcli.model import did_you_mean

    listing = "list them with: artcli remote ls" if remotes else "none configured; add one with: artcli remote add NAME URL"
    return did_you_mean(name, remotes, listing) or listing


def remove_remote(name: str, *, local: bool) -> Path:
    from artcli.errors import NotFoundError

    path = config_target(local)
    data = read_toml(path)
    if name not in data.get("remote", {}):
        raise NotFoundError(f"no remote named {name!r} in {path}")
    del data["remote"][name]
    if data.get("core", {}).get("remote") == name:
        del data["core"]["remote"]
    write_toml(path, data)
    return path


def remote_source(remote: str | None = None) -> str:
    """Why the remote in effect is the one it is (flag, environment, which file, or none)."""
    if remote:
        return "--remote"
    if os.environ.get("ARTCLI_REMOTE"):
        return "ARTCLI_REMOTE"
    proj = find_project_file()
    if proj is not None and read_toml(proj).get("core", {}).get("remote"):
        return str(proj)
    if read_toml(user_config_path()).get("core", {}).get("remote"):
        return str(user_config_path())
    return "no remote configured: the embedded store"


def _defined_in(name: str) -> str | None:
    proj = find_project_file()
    if proj is not None and name in read_toml(proj).get("remote", {}):
        return str(proj)
    return str(user_config_path()) if name in read_toml(user_config_path()).get("remote", {}) else None


def list_remotes() -> list[dict[str, Any]]:
    """Configured remotes; ``active`` marks the one commands use here and now."""
    cfg = merged_config()
    default = cfg["core"].get("remote")
    active = _active_name()
    out = []
    for name, spec in sorted(cfg["remote"].items()):
        spec = spec if isinstance(spec, dict) else {}
        opts = {k: v for k, v in spec.items() if k != "url"}
        out.append({"name": name, "url": spec.get("url"), "default": name == default, "active": name == active,
                    "options": opts})
    return out


def _active_name() -> str | None:
    try:
        return resolve().remote_name
    except UsageError:
        return None


def show_remote(name: str | None = None) -> dict[str, Any]:
    """One remote (default: the one in effect): URL, options, whether it is the default or in
    effect and why, and the file that defines it."""
    from artcli.errors import NotFoundError

    cfg = merged_config()
    if name is None:
        settings = resolve()
        name, url, options = settings.remote_name, settings.remote_url, dict(settings.options)
    elif name in cfg["remote"] and isinstance(cfg["remote"][name], dict):
        spec = dict(cfg["remote"][name])
        url, options = spec.pop("url", None), {k: str(v) for k, v in spec.items()}
    else:
        raise NotFoundError(f"no remote named {name!r}", hint=_known_hint(name, cfg["remote"]))
    active = resolve()
    in_effect = active.remote_name == name if name is not None else True
    return {"name": name, "url": url, "options": options, "default": name is not None and cfg["core"].get("remote") == name,
            "active": in_effect, "source": remote_source() if in_effect else None,
            "defined_in": _defined_in(name) if name else None}
