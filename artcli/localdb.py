"""The local index (one sqlite file in the cache dir): stat cache, event-log cache, pack indexes.

Everything here is a cache of immutable facts (a file's digest at a given stat, an event at
a sequence number, a pack's table of contents), so losing the file loses only speed.
WAL mode and a busy timeout let many artcli processes share it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS statkey (path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER,
                                    mtime_ns INTEGER, ctime_ns INTEGER, digest TEXT);
CREATE TABLE IF NOT EXISTS events (log TEXT, seq INTEGER, body BLOB, PRIMARY KEY (log, seq));
CREATE TABLE IF NOT EXISTS packidx (store TEXT, pack TEXT, digest TEXT, off INTEGER, size INTEGER,
                                    PRIMARY KEY (store, pack, digest));
CREATE INDEX IF NOT EXISTS packidx_digest ON packidx (store, digest);
CREATE TABLE IF NOT EXISTS packs_loaded (store TEXT, pack TEXT, PRIMARY KEY (store, pack));
CREATE TABLE IF NOT EXISTS snapshots (log TEXT, kind TEXT, seq INTEGER, body BLOB, PRIMARY KEY (log, kind));
"""


class LocalDB:
    """Thread-safe wrapper around the cache's sqlite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), timeout=60, check_same_thread=False,
                                     isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=60000")
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            pass  # e.g. on NFS; rollback journal still works
        self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._conn.executescript(_SCHEMA)

    # -- stat cache ----------------------------------------------------------------------
    # (the table ``stat`` of older versions, keyed without device and ctime, is left unread)
    def stat_lookup(self, paths: list[str]) -> dict[str, tuple[StatKey, str]]:
        """path -> (stat key, digest) for the paths the cache knows."""
        out: dict[str, tuple[StatKey, str]] = {}
        with self._lock:
            for i in range(0, len(paths), 500):
                chunk = paths[i : i + 500]
                q = ("SELECT path, dev, ino, size, mtime_ns, ctime_ns, digest FROM statkey "
                     f"WHERE path IN ({','.join('?' * len(chunk))})")
                for row in self._conn.execute(q, chunk):
                    out[row[0]] = ((row[1], row[2], row[3], row[4], row[5]), row[6])
        return out

    def stat_store(self, rows: Iterable[tuple[str, StatKey, str]]) -> None:
        """Remember (path, stat key, digest) rows."""
        flat = [(p, *k, d) for p, k, d in rows]
        if not flat:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO statkey VALUES (?,?,?,?,?,?,?)", flat)
            self._conn.execute("COMMIT")

    def stat_forget(self, paths: Iterable[str]) -> None:
        """Drop what the cache says about ``paths`` (a digest it gave proved wrong)."""
        with self._lock:
            self._conn.executemany("DELETE FROM statkey WHERE path=?", [(p,) for p in paths])

    # -- event-log cache -----------------------------------------------------------------
    def events(self, log: str, after: int = -1, before: int | None = None) -> list[tuple[int, bytes]]:
        """Cached (seq, bytes) of a log with ``after < seq < before``, in order."""
        with self._lock:
            return list(self._conn.execute(
                "SELECT seq, body FROM events WHERE log=? AND seq>? AND seq<? ORDER BY seq",
                (log, after, 2**62 if before is None else before)))

    def last_event(self, log: str) -> int | None:
        with self._lock:
            row = self._conn.execute("SELECT MAX(seq) FROM events WHERE log=?", (log,)).fetchone()
        return row[0] if row else None

    def snapshot(self, log: str, kind: str) -> tuple[int, bytes] | None:
        """A folded state of a log cached here: (last seq folded, its encoding)."""
        with self._lock:
            row = self._conn.execute("SELECT seq, body FROM snapshots WHERE log=? AND kind=?", (log, kind)).fetchone()
        return (row[0], row[1]) if row else None

    def put_snapshot(self, log: str, kind: str, seq: int, body: bytes) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO snapshots VALUES (?,?,?,?)", (log, kind, seq, body))

    def add_events(self, log: str, rows: Iterable[tuple[int, bytes]]) -> None:
        rows = [(log, s, b) for s, b in rows]
        if not rows:
            return
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR IGNORE INTO events VALUES (?,?,?)", rows)
            self._conn.execute("COMMIT")

    # -- pack indexes --------------------------------------------------------------------
    def loaded_packs(self, store: str) -> set[str]:
        """Packs whose whole index is in this cache."""
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT pack FROM packs_loaded WHERE store=?", (store,))}

    def add_pack(self, store: str, pack: str, items: Iterable[tuple[str, int, int]]) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR IGNORE INTO packidx VALUES (?,?,?,?,?)",
                                   [(store, pack, d, o, s) for d, o, s in items])
            self._conn.execute("INSERT OR IGNORE INTO packs_loaded VALUES (?,?)", (store, pack))
            self._conn.execute("COMMIT")

    def packed_candidates(self, store: str, digests: list[str]) -> dict[str, list[tuple[str, int]]]:
        """digest -> every (pack, offset) this cache knows holds it (the packs may be gone since)."""
        out: dict[str, list[tuple[str, int]]] = {}
        with self._lock:
            for i in range(0, len(digests), 500):
                chunk = digests[i : i + 500]
                q = (f"SELECT digest, pack, off FROM packidx WHERE store=? AND digest IN "
                     f"({','.join('?' * len(chunk))})")
                for d, p, o in self._conn.execute(q, [store, *chunk]):
                    out.setdefault(d, []).append((p, o))
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()


#: (device, inode, size, mtime_ns, ctime_ns), as git compares: ``touch -d``, ``cp -p`` and
#: ``rsync -t`` can set mtime back, but not ctime, which any write or utime moves to now
StatKey = tuple[int, int, int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
