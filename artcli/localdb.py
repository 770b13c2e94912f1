"""The local index (one sqlite file in the cache dir): stat cache, event-log cache, pack indexes.

Everything here is a cache of immutable facts (a file's digest at a given stat, an event at
a sequence number, a pack's table of contents), so losing the file loses only speed.
WAL mode and a busy timeout let many artcli processes share it.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
#: pack members written per transaction (see LocalDB.add_pack)
PACK_ROWS = 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS statkey (path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER,
                                    mtime_ns INTEGER, ctime_ns INTEGER, digest TEXT);
CREATE TABLE IF NOT EXISTS events (log TEXT, seq INTEGER, body BLOB, PRIMARY KEY (log, seq));
CREATE TABLE IF NOT EXISTS packidx (store TEXT, pack TEXT, digest TEXT, off INTEGER, size INTEGER,
                                    PRIMARY KEY (store, pack, digest));
CREATE INDEX IF NOT EXISTS packidx_digest ON packidx (store, digest);
CREATE TABLE IF NOT EXISTS packs_loaded (store TEXT, pack TEXT, PRIMARY KEY (store, pack));
CREATE TABLE IF NOT EXISTS suspects (log TEXT, seq INTEGER, PRIMARY KEY (log, seq));
CREATE TABLE IF NOT EXISTS snapshots (log TEXT, kind TEXT, seq INTEGER, body BLOB, PRIMARY KEY (log, kind));
"""


def _open(where: str) -> sqlite3.Connection:
    conn = sqlite3.connect(where, timeout=60, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=60000")
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:
            pass  # e.g. on NFS; rollback journal still works
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    """A file that is not (or no longer) a sound database, as opposed to one that cannot be
    opened or written (permissions, locks)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return True
    return any(w in str(exc) for w in ("malformed", "not a database", "disk I/O error"))


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Run a LocalDB method; a sqlite error degrades the index to memory and runs it once more."""
    @functools.wraps(method)
    def run(self: LocalDB, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            if self.memory:
                raise
            self._degrade(exc)
            return method(self, *args, **kwargs)
    return run


class LocalDB:
    """Thread-safe wrapper around the cache's sqlite file.

    The file is only a cache, so it never stops a command (docs/reliability.md): a damaged one
    is moved aside to ``index.sqlite.damaged`` and rebuilt; one that cannot be written (a
    read-only cache directory, a path that is not a file) is replaced by an empty in-memory
    index for this command — no stat cache, events fetched again. Either is said once, through
    ``notices`` (the CLI prints them as warnings)."""

    def __init__(self, path: Path, notices: list[str] | None = None, *, writable: bool = True) -> None:
        self.path = path
        self.notices = notices if notices is not None else []
        self._lock = threading.Lock()
        self.memory = False  # True once the index is the in-memory stand-in
        self._conn = self._connect(path) if writable else self._in_memory()
        # every query degrades instead of failing (wrapped here, not decorated: mutmut mutates
        # only undecorated functions, and these are the stat cache's)
        for name, method in vars(LocalDB).items():
            if callable(method) and not name.startswith("_") and name != "close":
                setattr(self, name, functools.partial(_guarded(method), self))

    def _connect(self, path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return _open(str(path))
        except sqlite3.DatabaseError as exc:
            if _damaged(exc):  # not a database, or malformed: rebuild it
                return self._rebuild(path, exc)
            # cannot open or write it (a lock is waited for 60 s first)
            return self._in_memory(f"the local index {path} cannot be used ({exc})")
        except OSError as exc:
            return self._in_memory(f"the local index {path} cannot be created ({exc.strerror or exc})")

    def _rebuild(self, path: Path, exc: Exception) -> sqlite3.Connection:
        aside = path.with_name(path.name + ".damaged")
        try:
            os.replace(path, aside)
            for extra in ("-wal", "-shm"):
                path.with_name(path.name + extra).unlink(missing_ok=True)
            conn = _open(str(path))
        except (OSError, sqlite3.DatabaseError) as again:
            return self._in_memory(f"the local index {path} is damaged ({exc}) and cannot be rebuilt ({again})")
        self.notices.append(f"the local index {path} was damaged ({exc}); moved it to {aside.name} and started "
                            "a new one (only speed is lost: files are hashed and events fetched again)")
        return conn

    def _in_memory(self, why: str | None = None) -> sqlite3.Connection:
        if why:
            self.notices.append(f"{why}: working without a stat cache or event cache for this command (slower)")
        self.memory = True
        return _open(":memory:")

    def _degrade(self, exc: sqlite3.DatabaseError) -> None:
        """A failure met mid-command: damage found by a query is rebuilt as on opening; anything
        else (a write refused) carries on with an empty in-memory index."""
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            if _damaged(exc):
                self._conn = self._rebuild(self.path, exc)
            else:
                self._conn = self._in_memory(f"the local index {self.path} failed ({exc})")

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

    def add_suspects(self, log: str, seqs: Iterable[int]) -> None:
        """Mark cached events that failed validation (read again until they pass)."""
        with self._lock:
            self._conn.executemany("INSERT OR IGNORE INTO suspects VALUES (?,?)", [(log, s) for s in seqs])

    def suspects(self, log: str) -> list[int]:
        with self._lock:
            return [r[0] for r in self._conn.execute("SELECT seq FROM suspects WHERE log=? ORDER BY seq", (log,))]

    def replace_events(self, log: str, rows: Iterable[tuple[int, bytes]]) -> None:
        """Sound bytes for suspect events: replaced, no longer suspect, the log's folds dropped."""
        rows = list(rows)
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO events VALUES (?,?,?)", [(log, s, b) for s, b in rows])
            self._conn.executemany("DELETE FROM suspects WHERE log=? AND seq=?", [(log, s) for s, _ in rows])
            self._conn.execute("DELETE FROM snapshots WHERE log=?", (log,))
            self._conn.execute("COMMIT")

    def forget_events(self, log: str, from_seq: int = 0) -> None:
        """Drop a log's cached events from ``from_seq`` on, and its cached folds (the remote
        changed under this cache, or an event proved wrong)."""
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM events WHERE log=? AND seq>=?", (log, from_seq))
            self._conn.execute("DELETE FROM suspects WHERE log=? AND seq>=?", (log, from_seq))
            self._conn.execute("DELETE FROM snapshots WHERE log=?", (log,))
            self._conn.execute("COMMIT")

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
        """Remember a pack's members, then that its whole index is here. A transaction per
        PACK_ROWS members: one of a pack's 16,000 random digests dirtied as many pages of each
        index, all held in memory until the commit (~200 MiB in a cache of a million files)."""
        rows = [(store, pack, d, o, s) for d, o, s in items]
        with self._lock:
            for i in range(0, len(rows), PACK_ROWS):
                self._conn.execute("BEGIN")
                self._conn.executemany("INSERT OR IGNORE INTO packidx VALUES (?,?,?,?,?)", rows[i : i + PACK_ROWS])
                self._conn.execute("COMMIT")
            self._conn.execute("INSERT OR IGNORE INTO packs_loaded VALUES (?,?)", (store, pack))

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
