"""The local cache is only a cache: a damaged ``index.sqlite`` is rebuilt, an index or cache
directory that cannot be written is worked around, each said once, and every command —
``ls`` first — keeps working (issue 23, item 14)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from artcli.localdb import LocalDB

from clihelp import Cli, make_tree, tree_bytes


def _data(tmp_path: Path) -> Path:
    rng = random.Random(14)
    return make_tree(tmp_path / "d", {"big.bin": rng.randbytes(2 << 20), "s/a.txt": b"a", "s/b.txt": b"b"})


def _warnings(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("warning:")]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_index_is_rebuilt_and_said_once(cli: Cli, tmp_path: Path, damage: str) -> None:
    data = _data(tmp_path)
    cli.ok("log", "ds", str(data))
    index = cli.home / "cache" / "index.sqlite"
    conn = sqlite3.connect(index)  # fold the WAL in, so the damage is in the one file
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    rng = random.Random(1)
    if damage == "garbage":
        index.write_bytes(rng.randbytes(64 << 10))
    else:  # a valid header, then seeded garbage: the tables' pages are damaged
        raw = index.read_bytes()
        index.write_bytes(raw[:100] + rng.randbytes(len(raw) - 100))
    r = cli("ls")
    assert r.code == 0, r.err
    assert "ds" in r.out
    notes = _warnings(r.err)
    assert len(notes) == 1 and "index.sqlite" in notes[0] and ("damaged" in notes[0] or "failed" in notes[0]), r.err
    for cmd in (("log", "ds", str(data)), ("download", "ds", "--root", str(tmp_path / "o"))):
        r = cli(*cmd)
        assert r.code == 0 and not _warnings(r.err), (cmd, r.err)  # rebuilt: said once, then quiet
    assert tree_bytes(tmp_path / "o") == tree_bytes(data)


def test_an_unusable_index_falls_back_to_memory(cli: Cli, tmp_path: Path) -> None:
    """An index sqlite cannot open (here a directory where the file should be; a read-only
    file or folder behaves alike for a user who is not root): no stat cache, said once."""
    data = _data(tmp_path)
    index = cli.home / "cache" / "index.sqlite"
    index.mkdir(parents=True)
    r = cli("log", "ds", str(data))
    assert r.code == 0, r.err
    notes = _warnings(r.err)
    assert len(notes) == 1 and f"{index} cannot be used" in notes[0] and "without a stat cache" in notes[0], r.err
    assert cli("ls").code == 0
    r = cli("download", "ds", "--root", str(tmp_path / "o"))
    assert r.code == 0 and len(_warnings(r.err)) == 1, r.err
    assert tree_bytes(tmp_path / "o") == tree_bytes(data)
    assert index.is_dir() and not any(index.iterdir()), "left alone"


def test_an_unwritable_cache_dir_is_worked_around(cli: Cli, tmp_path: Path) -> None:
    """ARTCLI_CACHE_DIR where nothing can be created (under a regular file: ENOTDIR, as EACCES
    for a read-only folder): ls, log and download work without a cache, said once each."""
    data = _data(tmp_path)
    (tmp_path / "afile").write_text("x")
    env = {"ARTCLI_CACHE_DIR": str(tmp_path / "afile" / "cache")}
    r = cli("log", "ds", str(data), env=env)
    assert r.code == 0, r.err
    notes = _warnings(r.err)
    assert len(notes) == 1 and "afile/cache cannot be written" in notes[0], r.err
    r = cli("ls", env=env)
    assert r.code == 0 and "ds" in r.out and len(_warnings(r.err)) == 1, r.err
    r = cli("download", "ds", "--root", str(tmp_path / "o"), env=env)
    assert r.code == 0 and len(_warnings(r.err)) == 1, r.err
    assert tree_bytes(tmp_path / "o") == tree_bytes(data)


def test_damage_found_mid_command_is_rebuilt_and_a_refused_write_degrades_to_memory(tmp_path: Path) -> None:
    db = LocalDB(tmp_path / "index.sqlite")
    db.add_events("log", [(0, b"{}")])
    assert db.events("log") == [(0, b"{}")] and not db.notices

    class Broken:
        def __init__(self, exc: sqlite3.DatabaseError) -> None:
            self.exc = exc

        def execute(self, *a: object) -> None:
            raise self.exc

        def close(self) -> None:
            pass

    db._conn = Broken(sqlite3.DatabaseError("database disk image is malformed"))  # type: ignore[assignment]
    assert db.events("log") == []  # answered from a new, empty index on disk
    assert not db.memory and len(db.notices) == 1 and "malformed" in db.notices[0]
    assert (tmp_path / "index.sqlite.damaged").exists() and (tmp_path / "index.sqlite").exists()
    db._conn = Broken(sqlite3.OperationalError("attempt to write a readonly database"))  # type: ignore[assignment]
    db.add_events("log", [(1, b"{}")])
    assert db.memory and len(db.notices) == 2 and "readonly" in db.notices[1]
    assert db.events("log") == [(1, b"{}")] and db.loaded_packs("s") == set()
    db.close()
