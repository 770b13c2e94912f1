"""``file:///path`` references and plain local paths: pinned by their BLAKE3 ``digest`` (the
stat cache spares re-hashing unchanged files)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import artcli.sources.base as base
from artcli.errors import IntegrityError, NotFoundError, RemoteError, UsageError
from artcli.model import Entry
from artcli.redact import one_line
from artcli.sources.base import Location, Progress, SourceContext, gone, too_many
from artcli.sources.sink import Sink


def _location(path: str, uri: str | None = None) -> Location:
    if uri is None:
        p = Path(path).expanduser()
        try:
            p = p.resolve(strict=True)
        except FileNotFoundError:
            raise NotFoundError(f"no such file or directory: {path}") from None
        path, uri = str(p), p.as_uri()
    return Location("file", uri, Path(path).name or "root", key=path)


class FileSource:
    scheme = "file"
    url_schemes = ("file", "")
    label = "file://"
    single_object = False

    def parse(self, text: str, *, recorded: bool = False) -> Location:
        """A plain path or ``file:///path``; resolved now, unless it is a ``recorded`` URI
        (whose file may be gone: that is for the fetch to report)."""
        if not text.lower().startswith("file://"):
            return _location(text)
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost") or parts.query:
            if recorded:
                raise IntegrityError(f"invalid file reference {text!r}")
            raise UsageError(f"file:// URIs name a local path (file:///path), got {one_line(text)!r}")
        path = unquote(parts.path)
        return _location(path, text) if recorded else _location(path)

    def open_client(self, options: Mapping[str, str]) -> Any:
        return None

    def pin(self, ctx: SourceContext, loc: Location) -> Entry | None:
        if not Path(loc.key).is_file():
            return None
        _single, found = self.scan(ctx, loc, 1, 0, base.nothing)
        return next(found)

    def scan(self, ctx: SourceContext, loc: Location, limit: int, already: int,
             progress: Progress) -> tuple[bool, Iterator[Entry]]:
        from artcli.inputs import hash_files
        from artcli.inputs import scan as scan_inputs

        files = scan_inputs([loc.key])
        if len(files) + already > limit:
            raise too_many(loc, limit)
        if ctx.db is not None:  # the stat cache: unchanged files are not read again
            hash_files(files, ctx.db, progress)
        else:
            from artcli.hashing import digest_file

            for f in files:
                f.digest = digest_file(f.abspath)
        single = Path(loc.key).is_file()
        return single, iter([Entry(f.path, f.size, f.digest, ref={"uri": Path(f.abspath).as_uri()}) for f in files])

    def fetch(self, ctx: SourceContext, loc: Location, entry: Entry, fh: BinaryIO, dest: Path, label: str,
              progress: Progress) -> Sink:
        sink = Sink(fh, progress=progress)
        try:
            with open(loc.key, "rb") as src:
                while chunk := src.read(base.CHUNK):
                    sink.write(chunk)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise gone(label, loc.uri) from None
        except OSError as exc:
            raise RemoteError(f"cannot read {loc.uri}: {exc.strerror or exc}") from None
        return sink
