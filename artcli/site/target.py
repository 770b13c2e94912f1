"""Where a site is written: a local folder, or any remote artcli can write to (a bucket, say).

Both keep the state file beside the pages, so whoever rebuilds the site next — another CI
job, another machine — knows what is already there and rewrites only what changed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from artcli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from artcli.store.base import Store

#: top-level names of the remote format (docs/format.md §2): a site never writes among them
RESERVED = ("artcli-store.json", "blobs", "packs", "manifests", "projects", "registries", "runs", "gc")


class DirTarget:
    """A folder; each file is written to a temporary name and renamed, so a reader never sees
    half a page."""

    def __init__(self, root: str) -> None:
        self.root = Path(root).expanduser().absolute()
        self.label = str(self.root)

    def url_of(self, path: str) -> str:
        return str(self.root / path)

    def read(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def existing(self) -> set[str]:
        if not self.root.is_dir():
            return set()
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()}

    def write(self, files: dict[str, bytes]) -> None:
        for path, body in files.items():
            dest = self.root / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".site-tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(body)
                os.chmod(tmp, 0o644)
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def delete(self, paths: list[str]) -> None:
        for path in paths:
            (self.root / path).unlink(missing_ok=True)
            parent = (self.root / path).parent
            while parent != self.root and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent


class StoreTarget:
    """A remote (``s3://bucket/site``, ``gs://…``, a folder): pages are uploaded from a staging
    folder so each object gets the content type its name implies (text/html, text/css)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.label = store.url

    def url_of(self, path: str) -> str:
        return self.store.public_url(path)

    def read(self, path: str) -> bytes | None:
        try:
            return self.store.get(path)
        except NotFoundError:
            return None

    def existing(self) -> set[str]:
        return {info.key for info in self.store.list("")}

    def write(self, files: dict[str, bytes]) -> None:
        with tempfile.TemporaryDirectory(prefix="artcli-site-") as tmp:
            pairs = []
            for i, (path, body) in enumerate(files.items()):
                local = Path(tmp) / f"{i}{Path(path).suffix}"
                local.write_bytes(body)
                pairs.append((str(local), path))
            self.store.put_files(pairs)

    def delete(self, paths: list[str]) -> None:
        for path in paths:
            self.store.delete(path)


def check_separate(site_url: str, remote_url: str) -> None:
    """Refuse to write a site over the remote's own objects: the root of the remote, or a
    prefix the format uses. ``--to <remote>/site`` is fine."""
    site, remote = site_url.rstrip("/"), remote_url.rstrip("/")
    if site == remote:
        raise UsageError(f"refusing to write the site into the root of the remote it shows ({remote})",
                         hint=f"write it under a prefix: --to {remote}/site")
    if site.startswith(remote + "/"):
        first = site[len(remote) + 1:].split("/", 1)[0]
        if first in RESERVED:
            raise UsageError(f"refusing to write the site under {first}/, which the remote format uses",
                             hint=f"pick another prefix, e.g. --to {remote}/site")
