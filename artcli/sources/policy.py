"""Which reference sources ``download`` may read (docs/references.md, "Internal addresses").

A remote is trusted for what it stores, but a reference names a place on the downloading
machine's network or disk, and whoever can write the remote chooses it. So when a download
fetches a reference:

* ``http(s)://``: the address actually connected to (checked after the connection is made, so
  DNS tricks and redirects are caught too) must not be loopback, link-local (cloud metadata at
  169.254.169.254), private, unique-local, multicast, reserved or unspecified — unless its host
  is allowed: the remote's own endpoint, an endpoint configured for S3/GCS/Azure, or a host in
  ``[references] allow_hosts``.
* ``file://``: the real path (symlinks resolved) must be under a root in
  ``[references] file_roots`` when that is set; otherwise it must not be in a system or secret
  place (``/proc``, ``/sys``, ``/dev``, ``/run``, ``/etc``, ``/boot``, ``/root``, a folder or
  file where credentials live such as ``~/.ssh``, ``~/.aws``, ``~/.config``, ``.netrc`` — see
  :data:`SECRET_NAMES` — or artcli's own config, cache and data).
* ``s3://``, ``gs://``, ``az://``: always: their endpoint is the one the user configured.

``download --allow-private-refs``, ``ARTCLI_ALLOW_PRIVATE_REFS=1`` or
``[references] allow_private = true`` lifts all of this. ``add-ref`` is never checked: its
locations are typed by the user.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from artcli.errors import IntegrityError, UsageError

#: system places a file:// reference may not read without an opt-in
SYSTEM_ROOTS = ("/proc", "/sys", "/dev", "/run", "/var/run", "/etc", "/boot", "/root")
#: names of folders and files that hold credentials (a path with one of them as a component is
#: refused); other hidden names are data (zarr's ``.zattrs``, ``.gitattributes``)
SECRET_NAMES = frozenset({
    ".ssh", ".aws", ".azure", ".gnupg", ".config", ".docker", ".kube", ".netrc", ".git-credentials", ".pgpass",
    ".npmrc", ".pypirc", ".env", ".gcloud", ".boto", ".s3cfg", ".vault-token", ".terraform.d", ".password-store",
})
#: environment variables naming endpoints the user configured (their hosts stay allowed)
ENDPOINT_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "STORAGE_EMULATOR_HOST", "GCS_ENDPOINT_URL")
OPT_IN_HINT = ("if you trust this remote's references, pass --allow-private-refs (or set "
               "ARTCLI_ALLOW_PRIVATE_REFS=1, or [references] in artcli.toml: docs/references.md)")


class UnsafeReference(IntegrityError):
    """A reference to an internal address or a system file, refused without an opt-in."""

    def __init__(self, message: str) -> None:
        super().__init__(message, hint=OPT_IN_HINT, kind="ref-internal")


def _host_port(url: str) -> tuple[str, int | None] | None:
    text = url if "://" in url else f"http://{url}"
    try:
        parts = urlsplit(text)
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def _azure_endpoint(conn: str) -> str | None:
    for part in conn.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "blobendpoint":
            return value.strip()
    return None


@dataclass(frozen=True)
class RefPolicy:
    allow_private: bool = False
    #: hosts (``name`` or ``name:port``, lower case) http(s) references may reach at any address
    allow_hosts: frozenset[str] = frozenset()
    #: real paths file:// references must be under (empty: anywhere but SYSTEM_ROOTS and SECRET_NAMES)
    file_roots: tuple[str, ...] = ()
    #: real paths no file:// reference may read (artcli's own config, cache and data)
    own_dirs: tuple[str, ...] = ()

    # -- http(s) ---------------------------------------------------------------------------
    def host_allowed(self, host: str, port: int | None) -> bool:
        host = host.lower().strip("[]")
        return self.allow_private or host in self.allow_hosts or (port is not None and f"{host}:{port}" in
                                                                  self.allow_hosts)

    def check_address(self, host: str, port: int | None, address: str, uri: str) -> None:
        """Refuse an http(s) connection to ``address`` (what ``host`` resolved to)."""
        if self.host_allowed(host, port):
            return
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global or ip.is_multicast:
            raise UnsafeReference(f"refusing the reference {uri}: its host {host} is at {ip}, an internal address "
                                  "(loopback, link-local, private or reserved)")

    def check_http(self, uri: str) -> None:
        """Before connecting: every address the host resolves to (the connection itself is
        checked again, :func:`artcli.sources.http._request`)."""
        hp = _host_port(uri)
        if hp is None or self.host_allowed(*hp):
            return
        host, port = hp
        try:
            infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return  # cannot resolve: the fetch fails and says so
        for info in infos:
            self.check_address(host, port, str(info[4][0]), uri)

    # -- file ------------------------------------------------------------------------------
    def check_file(self, path: str, uri: str) -> None:
        if self.allow_private:
            return
        real = os.path.realpath(path)
        if self.file_roots:
            if not any(_under(real, root) for root in self.file_roots):
                raise UnsafeReference(f"refusing the reference {uri}: {real} is outside the allowed file roots "
                                      f"({', '.join(self.file_roots)})")
            return
        bad = next((r for r in (*SYSTEM_ROOTS, *self.own_dirs) if _under(real, r)), None)
        if bad is not None:
            raise UnsafeReference(f"refusing the reference {uri}: {real} is in {bad}, a system or artcli folder")
        secret = next((p for p in real.split("/") if p in SECRET_NAMES), None)
        if secret is not None:
            raise UnsafeReference(f"refusing the reference {uri}: {real} is in {secret}, where credentials live")


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/") or "/"
    return root == "/" or path == root or path.startswith(root + "/")


def build_policy(config: Mapping[str, Any], *, remote_url: str, remote_options: Mapping[str, str],
                 allow_private: bool = False, own_dirs: Iterable[str] = ()) -> RefPolicy:
    """The policy of one download: flag > ``ARTCLI_ALLOW_PRIVATE_REFS`` > ``[references]``;
    the remote's own endpoint and configured cloud endpoints are always allowed."""
    if not isinstance(config, Mapping):
        raise UsageError("[references] in the configuration must be a table")
    opt = config.get("allow_private", False)
    if not isinstance(opt, bool):
        raise UsageError("[references] allow_private must be true or false")
    env = os.environ.get("ARTCLI_ALLOW_PRIVATE_REFS", "").strip().lower() in ("1", "true", "yes")
    hosts = config.get("allow_hosts", [])
    roots = config.get("file_roots", [])
    for name, value in (("allow_hosts", hosts), ("file_roots", roots)):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise UsageError(f"[references] {name} must be a list of strings")
    allowed = {h.lower() for h in hosts}
    endpoints = [remote_options.get("endpoint_url", ""), *(os.environ.get(v, "") for v in ENDPOINT_ENV),
                 _azure_endpoint(os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")) or ""]
    for url in endpoints:
        hp = _host_port(url) if url else None
        if hp and hp[0]:
            allowed.add(hp[0] if hp[1] is None else f"{hp[0]}:{hp[1]}")
    file_roots = tuple(os.path.realpath(os.path.expanduser(r)) for r in roots)
    if remote_url.startswith("file://"):  # a local-folder remote's own tree is the user's data
        file_roots = (*file_roots, os.path.realpath(urlsplit(remote_url).path)) if file_roots else ()
    return RefPolicy(allow_private or opt or env, frozenset(allowed), file_roots,
                     tuple(os.path.realpath(d) for d in own_dirs))
