"""Remotes: :func:`open_store` turns a URL (+ string options) into a :class:`Store`.

Importing this package imports no fsspec, boto3, s3fs or gcsfs: each backend module is imported
inside :func:`open_store`, only for the scheme asked for, because CLI start-up time matters and
most commands touch one remote at most.

Supported URLs:

* ``/path``, ``./path``, ``~/path``, ``file:///path`` — a local or NFS directory (created by
  the first write, never by a read), exclusive create via temp file + ``os.link``.
* ``memory://name`` — process-local, for tests and dry runs.
* ``s3://bucket[/prefix]`` — options: see :func:`artcli.store.s3.open_s3`.
* ``gs://bucket[/prefix]`` — options: see :func:`artcli.store.gcs.open_gcs`.
* ``az://container[/prefix]`` (also ``abfs://``, ``abfss://``) — Azure Blob Storage; options:
  see :func:`artcli.store.azure_client.read_settings`.
* any other protocol fsspec knows (``sftp://``, ``hdfs://``...) — read-only in effect: it cannot
  create objects exclusively, so ``put_if_absent`` raises UnsafeRemoteError unless the option
  ``unsafe_writes=true`` is given; other options are passed to the fsspec filesystem.

Common options for s3/gs/az: ``max_attempts`` (1 = fail fast), ``connect_timeout``, ``read_timeout``.
Credentials never go in the URL: use the environment, a profile or a token file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from artcli.errors import UsageError
from artcli.store.base import ObjectInfo, Store
from artcli.store.options import OptionReader

__all__ = ["SCHEMES", "ObjectInfo", "Store", "check_options", "open_store"]

#: schemes with a dedicated backend (and a real exclusive create)
SCHEMES = ("file", "memory", "s3", "gs", "az")

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")


def _split_bucket(url: str, scheme: str) -> tuple[str, str, str]:
    """``s3://bucket/a/b/`` -> ("bucket", "a/b", "s3://bucket/a/b"); credentials/queries refused."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise UsageError(
            f"credentials in a remote URL are not supported ({scheme}://…@…): "
            "use the environment, a profile or a token file"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"remote URL must not have a query or fragment: {scheme}://{parts.netloc}{parts.path}")
    bucket = parts.netloc
    if not _BUCKET.match(bucket):
        raise UsageError(f"invalid bucket name in remote URL {url!r}")
    prefix = "/".join(p for p in parts.path.split("/") if p)
    if any(p in (".", "..") for p in prefix.split("/")):
        raise UsageError(f"remote URL must not contain '.' or '..' segments: {url!r}")
    canonical = f"{scheme}://{bucket}" + (f"/{prefix}" if prefix else "")
    return bucket, prefix, canonical


def open_store(url: str, options: Mapping[str, str] | None = None) -> Store:
    """Open the store at ``url``; ``options`` are backend settings as strings.

    Raises UsageError for an unknown scheme, a malformed URL or an unknown option, and
    RemoteError when the backend library is missing or the remote cannot be set up.
    """
    options = dict(options or {})
    m = _SCHEME.match(url)
    scheme = m.group(1).lower() if m else ""

    if scheme in ("", "file"):
        from artcli.store.local import LocalStore

        OptionReader(options, scheme="file").done()
        path = url
        if scheme:
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost"):
                raise UsageError(f"file:// URLs must name a local path (file:///path), got {url!r}")
            path = unquote(parts.path)
        if not path:
            raise UsageError("empty local remote path")
        return LocalStore(path)

    if scheme == "memory":
        from artcli.store.memory import MemoryStore

        OptionReader(options, scheme="memory").done()
        name = url[len("memory://") :].strip("/")
        if not name or any(p in ("", ".", "..") for p in name.split("/")):
            raise UsageError(f"memory remote needs a name: memory://NAME, got {url!r}")
        return MemoryStore(name)

    if scheme in ("s3", "s3a"):
        bucket, prefix, canonical = _split_bucket(url, "s3")
        try:
            from artcli.store.s3 import open_s3
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise _missing("s3fs", exc) from exc
        return open_s3(bucket, prefix, canonical, options)

    if scheme in ("gs", "gcs"):
        bucket, prefix, canonical = _split_bucket(url, "gs")
        try:
            from artcli.store.gcs import open_gcs
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise _missing("gcsfs", exc) from exc
        return open_gcs(bucket, prefix, canonical, options)

    if scheme in ("az", "abfs", "abfss"):
        from artcli.store.azure import split_container

        container, prefix, canonical = split_container(url)
        try:
            from artcli.store.azure import open_azure

            return open_azure(container, prefix, canonical, options)
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise _missing("adlfs", exc) from exc

    return _open_generic(url, scheme, options)


def check_options(url: str, options: Mapping[str, str] | None) -> None:
    """Raise UsageError for an option the backend of ``url`` does not take, or a bad value,
    without opening anything (``remote add`` checks before it saves)."""
    m = _SCHEME.match(url)
    scheme = m.group(1).lower() if m else ""
    if scheme in ("", "file", "memory"):
        OptionReader(options, scheme=scheme or "file").done()
    elif scheme in ("s3", "s3a"):
        from artcli.store.s3 import read_s3_options

        read_s3_options(options)
    elif scheme in ("gs", "gcs"):
        from artcli.store.gcs import read_gcs_options

        read_gcs_options(options)
    elif scheme in ("az", "abfs", "abfss"):
        from artcli.store.azure_client import read_azure_options

        read_azure_options(options)
    # other fsspec protocols take their own options (see _open_generic)


def _missing(package: str, exc: ImportError) -> Exception:
    from artcli.errors import RemoteError

    return RemoteError(f"this remote needs the {package} package ({exc.name or package} is not installed)")


def _coerce(value: object) -> object:
    """Option strings for an unknown fsspec backend: "true"/"false" -> bool, digits -> int."""
    if not isinstance(value, str):
        return value
    low = value.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low.lstrip("-").isdigit():
        return int(low)
    return value


def _open_generic(url: str, scheme: str, options: dict[str, str]) -> Store:
    """Any other fsspec protocol, without exclusive create (see ``unsafe_writes``)."""
    from fsspec.registry import get_filesystem_class, known_implementations, registry

    if scheme not in known_implementations and scheme not in registry:
        raise UsageError(f"unknown remote scheme {scheme!r} in {url!r}: use a path, file://, memory://, s3://, gs:// or az://")
    parts = urlsplit(url)
    if "@" in parts.netloc or parts.query:
        raise UsageError(f"credentials or query strings in a remote URL are not supported: {scheme}://…")
    reader = OptionReader(options, scheme=scheme)
    unsafe = reader.get_bool("unsafe_writes", False)
    fs_options = {k: _coerce(v) for k, v in reader.rest().items()}
    from artcli.store.errors import translate
    from artcli.store.fsspec_store import FsspecStore

    with translate(url):
        try:
            cls = get_filesystem_class(scheme)
        except ImportError as exc:
            raise _missing(scheme, exc) from exc
        fs = cls(**fs_options)
        root = cls._strip_protocol(url).rstrip("/")
    return FsspecStore(fs, root, url.rstrip("/"), unsafe_writes=unsafe)
