"""Manifests too large to hold in memory: entries spilled to sorted runs on disk, merged,
checked, hashed and compressed as a stream.

``add-ref`` / ``log --ref`` (up to ``--max-objects`` entries, 10 million by default) and ``log``
of very many files use it; memory stays flat whatever the number of entries:

* :class:`EntrySpill` takes entries in any order. Each becomes its canonical manifest line
  (:func:`artcli.manifest.entry_line`) prefixed by its path and a NUL, kept in a buffer of
  ``run_size`` lines; a full buffer is sorted and written to an anonymous temp file (a *run*:
  no name on disk, so nothing is left behind by any error, a kill included). When ``fan_in``
  runs of one level exist they are merged into one run of the next level, so at most
  ``fan_in`` runs per level are ever open.
* :meth:`EntrySpill.records` k-way merges the runs and the buffer (``heapq.merge`` over bytes:
  ``path + NUL`` sorts exactly as ``path`` does by code point, because UTF-8 keeps code point
  order and NUL sorts before every character a path may hold) and checks, streaming, what
  ``check_paths`` checks on a list: no two entries on one path, no path that is also another
  entry's folder. Any number of passes can be made.
* :func:`write_manifest` writes the header and the lines through one incremental BLAKE3 hasher
  and the gzip compressor of :func:`artcli.manifest.compress` into files: the digest and the
  compressed bytes equal ``manifest.encode`` / ``manifest.compress`` byte for byte.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from artcli import manifest
from artcli.errors import UsageError
from artcli.hashing import new_hasher
from artcli.model import Entry

RUN_SIZE = 50_000  # lines sorted in memory before a run is written (~200 B each for S3 references)
FAN_IN = 64  # runs of one level merged into one of the next
CHUNK = 1 << 20  # bytes hashed / compressed / written at a time
_BUFFER = 1 << 16  # read/write buffer of each run file

_SEP = b"\x00"
_SLASH = ord("/")


class EntrySpill:
    """Manifest entries gathered in sorted runs on disk; see the module docstring."""

    def __init__(self, tmp_dir: str | Path | None = None, *, run_size: int | None = None,
                 fan_in: int | None = None) -> None:
        """``run_size`` / ``fan_in`` default to the module's RUN_SIZE / FAN_IN, read now (tests
        shrink them to spill a handful of entries)."""
        self.run_size = RUN_SIZE if run_size is None else run_size
        self.fan_in = FAN_IN if fan_in is None else fan_in
        if self.run_size < 1 or self.fan_in < 2:
            raise ValueError("run_size must be at least 1 and fan_in at least 2")
        self.tmp_dir = str(tmp_dir) if tmp_dir is not None else None
        self.count = 0  # entries added
        self.size = 0  # sum of their sizes
        self.runs_written = 0  # runs written, merges included (tests check the spill spilled)
        self._buf: list[bytes] = []
        self._levels: list[list[IO[bytes]]] = []
        self._closed = False

    # -- filling ---------------------------------------------------------------------------
    def add(self, e: Entry) -> None:
        path = e.path
        if "\n" in path or "\x00" in path:  # never in a valid path; the record format relies on it
            raise UsageError(f"invalid path {path!r} in the version")
        self._buf.append(path.encode() + _SEP + manifest.entry_line(e))
        self.count += 1
        self.size += e.size
        if len(self._buf) >= self.run_size:
            self._spill()

    def extend(self, entries: Iterable[Entry]) -> None:
        for e in entries:
            self.add(e)

    def _new_run(self) -> IO[bytes]:
        import tempfile  # only when a spill outgrows its buffer

        self.runs_written += 1
        return tempfile.TemporaryFile(dir=self.tmp_dir, prefix="artcli-spill-", buffering=_BUFFER)

    def _spill(self) -> None:
        self._check_open()
        self._buf.sort()
        fh = self._new_run()
        fh.writelines(self._buf)
        fh.flush()
        self._buf = []
        self._push(fh, 0)

    def _push(self, fh: IO[bytes], level: int) -> None:
        while len(self._levels) <= level:
            self._levels.append([])
        runs = self._levels[level]
        runs.append(fh)
        if len(runs) >= self.fan_in:
            out = self._new_run()
            out.writelines(heapq.merge(*_rewound(runs)))
            out.flush()
            for r in runs:
                r.close()
            self._levels[level] = []
            self._push(out, level + 1)

    # -- reading ---------------------------------------------------------------------------
    @property
    def runs(self) -> int:
        """Run files open now."""
        return sum(len(r) for r in self._levels)

    def records(self) -> Iterator[tuple[bytes, bytes]]:
        """``(path as UTF-8, canonical line)`` of every entry, in path order, checked.

        Two entries on one path, or a path that is also another entry's folder, is a
        UsageError (raised when the merge reaches it, before anything is written).
        """
        self._check_open()
        self._buf.sort()
        sources: list[Iterable[bytes]] = [*_rewound([r for level in self._levels for r in level]), self._buf]
        merged: Iterable[bytes] = heapq.merge(*sources) if len(sources) > 1 else self._buf
        # ``chain``: the earlier paths that are prefixes (as strings) of the current one, each a
        # prefix of the next. A file ``f`` that is a folder of a later path ``p`` stays in it
        # until ``p`` comes (every path sorted between them starts with ``f``), and only the
        # longest prefix has to be compared: a longer one holding ``f/`` failed when it came.
        chain: list[bytes] = []
        for rec in merged:
            cut = rec.index(_SEP)
            path = rec[:cut]
            while chain and not path.startswith(chain[-1]):
                chain.pop()
            if chain:
                top = chain[-1]
                if len(top) == len(path):
                    raise UsageError(f"two inputs map to the same path {path.decode()!r} in the version",
                                     hint="use --name-as, or reference the sources in separate versions")
                if path[len(top)] == _SLASH:
                    raise UsageError(f"{top.decode()!r} would be both a file and a folder in the version")
            chain.append(path)
            yield path, rec[cut + 1:]

    def lines(self, replace: dict[bytes, bytes] | None = None) -> Iterator[bytes]:
        """The canonical entry lines in order; ``replace`` maps a path (UTF-8) to another line
        for that path (``log``: where a packed file is stored)."""
        if replace:
            for path, line in self.records():
                yield replace.get(path, line)
        else:
            for _path, line in self.records():
                yield line

    # -- lifetime --------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("EntrySpill is closed")

    def close(self) -> None:
        """Close (and so delete) every run; idempotent."""
        self._closed = True
        for level in self._levels:
            for r in level:
                r.close()
        self._levels = []
        self._buf = []

    def __enter__(self) -> EntrySpill:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _rewound(runs: list[IO[bytes]]) -> list[IO[bytes]]:
    for r in runs:
        r.flush()
        r.seek(0)
    return runs


def _chunks(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The header line, then ``lines``, joined into chunks of about CHUNK bytes."""
    batch = [manifest.header_line()]
    n = 0
    for line in lines:
        batch.append(line)
        n += len(line)
        if n >= CHUNK:
            yield b"".join(batch)
            batch = []
            n = 0
    if batch:
        yield b"".join(batch)


def digest_lines(lines: Iterable[bytes]) -> str:
    """The digest of the manifest made of the header and ``lines``, without keeping it (with
    lines free of pack locations: the content digest, as ``manifest.content_digest``)."""
    h = new_hasher()
    for chunk in _chunks(lines):
        h.update(chunk)
    return h.hexdigest()


def write_manifest(lines: Iterable[bytes], gz_path: str | Path, raw_path: str | Path | None = None) -> tuple[str, int]:
    """Stream the manifest made of the header and ``lines`` into ``gz_path`` (exactly the bytes
    of ``manifest.compress``) and, when given, its canonical bytes into ``raw_path``.

    Returns ``(digest, uncompressed size)``; memory stays at a few chunks whatever the size.
    """
    h = new_hasher()
    comp = manifest.compressor()
    size = 0
    with open(gz_path, "wb") as gz, (open(raw_path, "wb") if raw_path is not None else _NoFile()) as raw:
        for chunk in _chunks(lines):
            h.update(chunk)
            size += len(chunk)
            raw.write(chunk)
            gz.write(comp.compress(chunk))
        gz.write(comp.flush())
    return h.hexdigest(), size


class _NoFile:
    def write(self, data: bytes) -> int:
        return len(data)

    def __enter__(self) -> _NoFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass
