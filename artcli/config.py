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


def check_remote_url(url: str) -> str:
    """Accept file/memory/s3/gs/az URLs or local paths; refuse URLs that carry credentials."""
    parts = urlsplit(url)
    if parts.username or parts.password or find_secret(url):
        raise UsageError("remote URLs must not contain credentials; use the standard credential chain")
    if parts.scheme and parts.scheme not in _SCHEMES and len(parts.scheme) > 1:
        raise UsageError(f"unsupported remote scheme {parts.scheme!r}: use file://, s3://, gs://, az:// or memory://")
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
    known = ", ".join(sorted(remotes)) or "none configured"
    raise UsageError(f"unknown remote {chosen!r} (known remotes: {known})",
                     hint="add one with: artcli remote add NAME URL")


def config_target(local: bool) -> Path:
    if local:
        return find_project_file() or Path.cwd() / PROJECT_FILE
    return user_config_path()


def add_remote(name: str, url: str, options: dict[str, str], *, default: bool, local: bool) -> Path:
    check_name(name, "remote name")
    check_remote_url(url)
    if "://" not in url:
        url = Path(url).expanduser().resolve().as_uri()
    check_options(url, options)
    path = config_target(local)
    data = read_toml(path)
    data.setdefault("remote", {})[name] = {"url": url, **options}
    if default:
        data.setdefault("core", {})["remote"] = name
    write_toml(path, data)
    return path


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


def list_remotes() -> list[dict[str, Any]]:
    cfg = merged_config()
    default = cfg["core"].get("remote")
    out = []
    for name, spec in sorted(cfg["remote"].items()):
        opts = {k: v for k, v in spec.items() if k != "url"}
        out.append({"name": name, "url": spec.get("url"), "default": name == default, "options": opts})
    return out
