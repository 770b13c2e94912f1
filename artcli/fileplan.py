"""The local files of one ``log``, on disk: one row per file in a temporary sqlite database.

A folder of a million files held as objects cost ``log`` ~900 MiB (a path, an absolute path,
a stat key and a digest each, several times over: the walk, the stat cache lookup, the upload
plan, the placement of packed files). Here each stage reads the files back in path order, a
batch at a time, and writes what it learnt (digests, where each distinct content is stored)
back to the database, so memory stays flat whatever the number of files:

* the walk (:func:`artcli.inputs.iter_scan`) inserts rows (path, absolute path, stat key, and
  the digest when the stat cache knows it: an unchanged folder is then never read back to be
  hashed, nor its rows updated);
* hashing (:func:`artcli.inputs.hash_stream`) fills in the digests still missing;
* the upload plan walks the *distinct* contents in path order of their first file, records
  where each is stored (:meth:`FilePlan.place`: a pack and offset, or loose);
* the manifest reads every file with its location (:meth:`FilePlan.located`), in path order.

The database is a private temp file (journal in memory, no sync: it dies with the command) in the
cache's tmp dir, removed on close. sqlite compares TEXT bytewise, so its path order is the
manifest's (code point order of UTF-8).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from artcli.errors import UsageError
from artcli.inputs import InputFile
from artcli.model import Entry

BATCH = 2048  # rows read or written at a time
PLACE_ROWS = 512  # placements written per transaction (see FilePlan.place)

_SCHEMA = """
CREATE TABLE files (path TEXT PRIMARY KEY, abspath BLOB, size INTEGER, dev INTEGER, ino INTEGER,
                    mtime_ns INTEGER, ctime_ns INTEGER, digest TEXT, cached INTEGER) WITHOUT ROWID;
CREATE TABLE placed (digest TEXT PRIMARY KEY, pack TEXT, off INTEGER) WITHOUT ROWID;
CREATE TABLE hints (digest TEXT PRIMARY KEY, pack TEXT, off INTEGER) WITHOUT ROWID;
"""
_COLS = "path, abspath, size, dev, ino, mtime_ns, ctime_ns, digest, cached"


def _file(row: tuple[Any, ...]) -> InputFile:
    path, abspath, size, dev, ino, mtime, ctime, digest, cached = row
    return InputFile(path, os.fsdecode(abspath), size, (dev, ino, size, mtime, ctime), digest or "", bool(cached))


class FilePlan:
    """The files of one log, in a temporary database; see the module docstring."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=MEMORY", "synchronous=OFF", "locking_mode=EXCLUSIVE", "cache_size=-8192"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.executescript(_SCHEMA)
        self.count = 0  # files added
        self.total = 0  # their bytes
        self.unhashed = 0  # bytes of the files added without a digest (what hashing reads)
        self._indexed = False

    # -- filling ---------------------------------------------------------------------------
    def add(self, files: Iterable[InputFile]) -> None:
        """Insert files (a path given twice is refused, as the walk refuses it)."""
        batch: list[tuple[Any, ...]] = []
        for f in files:
            batch.append((f.path, os.fsencode(f.abspath), f.size, *f.st[:2], *f.st[3:], f.digest or None,
                          int(f.cached)))
            if len(batch) >= BATCH:
                self._insert(batch)
                batch = []
        if batch:
            self._insert(batch)

    def _insert(self, batch: list[tuple[Any, ...]]) -> None:
        try:
            with self._lock:
                self._conn.execute("BEGIN")
                self._conn.executemany(f"INSERT INTO files ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?)", batch)
                self._conn.execute("COMMIT")
        except sqlite3.IntegrityError:
            self._conn.execute("ROLLBACK")
            seen: set[str] = set()
            for row in batch:
                if row[0] in seen or row[0] in self:
                    raise UsageError(f"two inputs map to the same path {row[0]!r} in the version; use --name-as") \
                        from None
                seen.add(row[0])
            raise
        self.count += len(batch)
        self.total += sum(row[2] for row in batch)
        self.unhashed += sum(row[2] for row in batch if row[7] is None)

    def record(self, files: Iterable[InputFile]) -> Iterator[InputFile]:
        """Store each file's digest (and whether the stat cache gave it) as the files pass by."""
        batch: list[tuple[str, bool, str]] = []
        for f in files:
            batch.append((f.digest, f.cached, f.path))
            yield f
            if len(batch) >= BATCH:
                self._update(batch)
                batch = []
        if batch:
            self._update(batch)

    def _update(self, batch: list[tuple[str, bool, str]]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("UPDATE files SET digest=?, cached=? WHERE path=?", batch)
            self._conn.execute("COMMIT")

    def place(self, rows: Iterable[tuple[str, str | None, int]]) -> None:
        """Record where distinct contents are stored: (digest, pack or None for loose, offset).
        A transaction per PLACE_ROWS: random digests dirty a page each, held (and journaled)
        in memory until the commit."""
        rows = list(rows)
        with self._lock:
            for i in range(0, len(rows), PLACE_ROWS):
                self._conn.execute("BEGIN")
                self._conn.executemany("INSERT OR REPLACE INTO placed VALUES (?,?,?)", rows[i : i + PLACE_ROWS])
                self._conn.execute("COMMIT")

    def place_loose(self, min_size: int) -> None:
        """Every distinct content of at least ``min_size`` bytes is a loose blob."""
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO placed SELECT DISTINCT digest, NULL, 0 FROM files WHERE size >= ?",
                               (min_size,))

    def add_hints(self, entries: Iterable[Entry]) -> None:
        """Remember where packed entries (of another version) are: hints for deduplication."""
        batch: list[tuple[str, str, int]] = []
        for e in entries:
            if e.pack and e.digest:
                batch.append((e.digest, e.pack, e.offset or 0))
            if len(batch) >= BATCH:
                self._hint_rows(batch)
                batch = []
        self._hint_rows(batch)

    def _hint_rows(self, batch: list[tuple[str, str, int]]) -> None:
        with self._lock:
            for i in range(0, len(batch), PLACE_ROWS):
                self._conn.executemany("INSERT OR IGNORE INTO hints VALUES (?,?,?)", batch[i : i + PLACE_ROWS])

    def clear_hints(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM hints")

    def hints_for(self, digests: list[str]) -> dict[str, tuple[str, int]]:
        """digest -> (pack, offset) the hints give for some of ``digests``."""
        out: dict[str, tuple[str, int]] = {}
        with self._lock:
            for i in range(0, len(digests), 500):
                chunk = digests[i : i + 500]
                q = f"SELECT digest, pack, off FROM hints WHERE digest IN ({','.join('?' * len(chunk))})"
                out.update((d, (p, o)) for d, p, o in self._conn.execute(q, chunk))
        return out

    def unplaced_small(self, below: int) -> tuple[int, int]:
        """(count, bytes) of the distinct contents under ``below`` bytes not placed yet."""
        with self._lock:
            n, size = self._conn.execute(
                "SELECT COUNT(*), TOTAL(size) FROM (SELECT digest, MIN(size) AS size FROM files WHERE size < ? "
                "AND digest NOT IN (SELECT digest FROM placed) GROUP BY digest)", (below,)).fetchone()
        return n, int(size)

    # -- reading (path order, a batch at a time: stages may write between batches) -----------
    def _pages(self, query: str, args: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of ``query`` (selecting ``f.path`` first, ``WHERE ... f.path > ?`` last, no ORDER BY) in path order."""
        last = ""
        while True:
            with self._lock:
                rows = self._conn.execute(f"{query} ORDER BY f.path LIMIT {BATCH}", (*args, last)).fetchall()
            yield from rows
            if len(rows) < BATCH:
                return
            last = rows[-1][0]

    def files(self) -> Iterator[InputFile]:
        for row in self._pages(f"SELECT {_COLS} FROM files f WHERE f.path > ?"):
            yield _file(row)

    def unhashed_files(self) -> Iterator[InputFile]:
        """The files added without a digest, in path order (:meth:`record` may update them meanwhile)."""
        for row in self._pages(f"SELECT {_COLS} FROM files f WHERE f.digest IS NULL AND f.path > ?"):
            yield _file(row)

    def paths(self) -> Iterator[str]:
        for row in self._pages("SELECT f.path FROM files f WHERE f.path > ?"):
            yield row[0]

    def __contains__(self, path: object) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM files WHERE path=?", (path,)).fetchone() is not None

    def entries(self) -> Iterator[Entry]:
        """The files as manifest entries (no location), in path order."""
        for path, size, digest in self._pages("SELECT f.path, f.size, f.digest FROM files f WHERE f.path > ?"):
            yield Entry(path, size, digest)

    def distinct(self, unplaced_below: int | None = None) -> Iterator[InputFile]:
        """One file per distinct content (its first by path), in path order; ``unplaced_below``:
        only those under that many bytes not placed yet."""
        self._index()
        only = "" if unplaced_below is None else (
            f"AND f.size < {int(unplaced_below)} AND NOT EXISTS (SELECT 1 FROM placed p WHERE p.digest = f.digest) ")
        yield from map(_file, self._pages(
            f"SELECT {_COLS} FROM files f WHERE f.path = (SELECT MIN(g.path) FROM files g WHERE g.digest = f.digest) "
            f"{only}AND f.path > ?"))

    def first_with(self, digest: str) -> InputFile:
        """The first file (by path) holding ``digest``."""
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLS} FROM files WHERE digest=? ORDER BY path LIMIT 1",
                                     (digest,)).fetchone()
        if row is None:
            raise KeyError(digest)
        return _file(row)

    def located(self) -> Iterator[Entry]:
        """Every file as its manifest entry, a packed one with its pack and offset, in path order."""
        for path, size, digest, pack, off in self._pages(
                "SELECT f.path, f.size, f.digest, p.pack, p.off FROM files f LEFT JOIN placed p ON p.digest = f.digest "
                "WHERE f.path > ?"):
            yield Entry(path, size, digest, pack, off) if pack else Entry(path, size, digest)

    def packs(self) -> set[str]:
        """The packs the placed contents are in."""
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT DISTINCT pack FROM placed WHERE pack IS NOT NULL")}

    def loose(self) -> list[str]:
        """The placed contents stored as loose blobs (large files: few), sorted."""
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT digest FROM placed WHERE pack IS NULL ORDER BY digest")]

    def _index(self) -> None:
        if not self._indexed:
            with self._lock:
                self._conn.execute("CREATE INDEX IF NOT EXISTS files_digest ON files (digest, path)")
            self._indexed = True

    # -- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        """Close and delete the database; idempotent."""
        with self._lock:
            self._conn.close()
        Path(self._path).unlink(missing_ok=True)

    def __enter__(self) -> FilePlan:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
