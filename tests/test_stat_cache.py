"""The stat cache: a file is re-read exactly when it may have changed, never trusted on size alone.

`log` skips hashing a file whose stat key (device, inode, size, mtime_ns, ctime_ns) matches what
the cache saw when it last hashed it; only files whose mtime and ctime are older than a couple of
seconds are remembered (inputs.RACY_SECONDS). These tests age mtimes with ``os.utime``; ctime
cannot be set back, so tests that need a file remembered run their logs "a few seconds later"
(the ``later`` fixture moves the clock the racy window is measured from, nothing else).
`download` skips a target file whose stat matches what it wrote. Every edit here keeps the
file's size, which is all a size-only check would see.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from artcli import hashing

from clihelp import Cli, make_tree, tree_bytes

DAY = 86400


def age(path: Path, seconds: float = DAY) -> None:
    """Set ``path``'s mtime ``seconds`` in the past (past the racy window, so it is cached)."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def edit_in_place(path: Path, data: bytes) -> None:
    """Overwrite ``path``'s bytes in place (same inode); ``data`` has the file's size."""
    assert len(data) == path.stat().st_size
    with open(path, "r+b") as f:
        f.write(data)


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Paths whose content artcli read to hash it (every module's ``digest_file`` is counted)."""
    seen: list[str] = []
    plain = hashing.digest_file

    def counting(path: str | os.PathLike[str], *args: object, **kwargs: object) -> str:
        seen.append(os.fspath(path))
        return plain(path, *args, **kwargs)  # type: ignore[arg-type]

    for name, mod in list(sys.modules.items()):
        if name.startswith("artcli") and getattr(mod, "digest_file", None) is plain:
            monkeypatch.setattr(mod, "digest_file", counting)
    yield seen


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashing happens a minute after now, as far as the racy window is concerned."""
    from artcli import inputs

    monkeypatch.setattr(inputs, "_now", lambda: time.time() + 60)


@pytest.fixture
def logged(cli: Cli, tmp_path: Path, later: None) -> tuple[Cli, Path]:
    """``ds:v0`` of three aged files, logged twice so the stat cache holds all three."""
    src = make_tree(tmp_path / "src", {"a.txt": b"alpha\n", "b.txt": b"bravo\n", "sub/c.bin": b"\x00" * 300})
    for p in src.rglob("*"):
        if p.is_file():
            age(p)
    cli.ok("log", "ds", str(src))
    return cli, src


def version_of(cli: Cli, src: Path) -> str:
    return cli.ok("log", "ds", str(src), "--json").json()["version"]


def test_log_trusts_the_stat_cache_for_unchanged_aged_files(logged: tuple[Cli, Path], hashed: list[str]) -> None:
    cli, src = logged
    assert version_of(cli, src) == "v0"
    assert hashed == [], "unchanged files were read again"


def test_log_sees_a_same_size_edit_with_a_new_mtime(logged: tuple[Cli, Path], hashed: list[str],
                                                   tmp_path: Path) -> None:
    """The edit an (inode, size) key misses: same file, same size, only its bytes and mtime differ."""
    cli, src = logged
    edit_in_place(src / "a.txt", b"ALPHA\n")
    age(src / "a.txt", DAY / 2)  # still old (cacheable), but not the mtime the cache saw
    assert version_of(cli, src) == "v1"
    assert hashed == [str((src / "a.txt").resolve())]  # only the edited file was read
    cli.ok("download", "ds:v1", "--root", str(tmp_path / "out"), "--skip-cache")
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)


def test_log_sees_a_file_replaced_by_another_with_the_same_size_and_mtime(logged: tuple[Cli, Path]) -> None:
    """A new file renamed over the old one (a new inode), its mtime set to the old one's."""
    cli, src = logged
    old = (src / "b.txt").stat()
    fresh = src / ".b.new"
    fresh.write_bytes(b"BRAVO\n")
    os.utime(fresh, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(fresh, src / "b.txt")
    assert (src / "b.txt").stat().st_ino != old.st_ino
    assert version_of(cli, src) == "v1"


def test_log_sees_a_same_size_edit_with_its_mtime_restored(logged: tuple[Cli, Path], tmp_path: Path) -> None:
    """``cp -p``, ``rsync -t --inplace``: new bytes, same inode, size and mtime; only ctime moves."""
    cli, src = logged
    before = (src / "a.txt").stat()
    edit_in_place(src / "a.txt", b"ALPHA\n")
    os.utime(src / "a.txt", ns=(before.st_atime_ns, before.st_mtime_ns))
    after = (src / "a.txt").stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert version_of(cli, src) == "v1"
    cli.ok("download", "ds:v1", "--root", str(tmp_path / "out"), "--skip-cache")
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)


@pytest.mark.parametrize("size", [6, 1 << 20], ids=["packed", "loose"])
def test_log_never_uploads_bytes_under_a_digest_the_stat_cache_gave_wrongly(
        logged: tuple[Cli, Path], tmp_path: Path, size: int) -> None:
    """A stat cache that is wrong (a filesystem whose ctime did not move, a planted row): the
    file logged to a new remote is read while it is uploaded, and its bytes never go up under
    the old digest; the next try reads the file again (issue 23 item 3)."""
    from artcli.localdb import LocalDB, stat_key

    cli, src = logged
    big = src / "big.bin"
    if size > 6:
        big.write_bytes(b"b" * size)
        age(big)
        cli.ok("log", "ds", str(src))
    target = src / ("big.bin" if size > 6 else "a.txt")
    edit_in_place(target, bytes([target.read_bytes()[0] ^ 1]) + target.read_bytes()[1:])
    db = LocalDB(cli.home / "cache" / "index.sqlite")
    try:  # the cache now vouches for the new stat with the old digest
        (_, old_digest), = db.stat_lookup([str(target.resolve())]).values()
        db.stat_store([(str(target.resolve()), stat_key(target.stat()), old_digest)])
    finally:
        db.close()
    other = (tmp_path / "other").as_uri()
    (tmp_path / "other").mkdir()
    res = cli("log", "ds", str(src), "-r", other)
    assert res.code == 5 and "changed while it was being logged" in res.err, res
    cli.ok("log", "ds", str(src), "-r", other)  # the row was dropped: read again
    cli.ok("download", "ds", "--root", str(tmp_path / "out"), "--skip-cache", "-r", other)
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)
    rep = cli.ok("debug", "fsck", "--read-data", "--json", "-r", other).json()
    assert rep["ok"], rep["problems"]


# -- download --------------------------------------------------------------------------------------
@pytest.fixture
def downloaded(logged: tuple[Cli, Path], tmp_path: Path) -> tuple[Cli, Path, Path]:
    cli, src = logged
    out = tmp_path / "out"
    cli.ok("download", "ds", "--root", str(out))
    return cli, src, out


def _download(cli: Cli, out: Path, *extra: str) -> int:
    return cli.ok("download", "ds", "--root", str(out), "--json", *extra).json()["fetched_files"]


def _refused_then_forced(cli: Cli, out: Path, path: str) -> None:
    """A local edit stops the download (exit 5, naming the file, nothing written) until --force."""
    before = tree_bytes(out)
    res = cli("download", "ds", "--root", str(out))
    assert res.code == 5 and path in res.err, res
    assert tree_bytes(out) == before
    _download(cli, out, "--force")


def test_download_into_an_up_to_date_folder_reads_nothing(downloaded: tuple[Cli, Path, Path],
                                                          hashed: list[str]) -> None:
    cli, src, out = downloaded
    assert _download(cli, out) == 0
    assert hashed == [], "files the stat cache vouches for were read again"
    assert tree_bytes(out) == tree_bytes(src)


@pytest.mark.parametrize("mtime", ["new", "aged"])
def test_download_restores_a_same_size_local_edit(downloaded: tuple[Cli, Path, Path], mtime: str) -> None:
    """A target file edited in place at the same size is out of date: a size check alone
    would keep the edit."""
    cli, src, out = downloaded
    edit_in_place(out / "sub" / "c.bin", b"\x01" * 300)
    if mtime == "aged":
        age(out / "sub" / "c.bin", 3 * DAY)
    else:  # a distinct mtime even where the clock's tick is coarse
        st = (out / "sub" / "c.bin").stat()
        os.utime(out / "sub" / "c.bin", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    _refused_then_forced(cli, out, "sub/c.bin")
    assert tree_bytes(out) == tree_bytes(src)


def test_download_restores_a_replaced_file_with_the_same_size_and_mtime(
        downloaded: tuple[Cli, Path, Path]) -> None:
    cli, src, out = downloaded
    old = (out / "a.txt").stat()
    fresh = out / "a.new"
    fresh.write_bytes(b"ALPHA\n")
    os.utime(fresh, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(fresh, out / "a.txt")
    _refused_then_forced(cli, out, "a.txt")
    assert tree_bytes(out) == tree_bytes(src)


def test_the_stat_cache_answers_for_many_files(cli: Cli, tmp_path: Path, hashed: list[str], later: None) -> None:
    """Lookups go in chunks (sqlite limits a query's parameters): with 1,200 files every
    chunk is asked, none skipped, so an unchanged tree is read not at all."""
    src = make_tree(tmp_path / "many", {f"f/{i:04d}.txt": b"%d\n" % i for i in range(1200)})
    for p in src.rglob("*.txt"):
        age(p)
    cli.ok("log", "many", str(src))
    hashed.clear()
    assert cli.ok("log", "many", str(src), "--json").json()["version"] == "v0"
    assert hashed == []


def test_the_hashing_pass_is_handed_only_files_the_stat_cache_does_not_know(
        cli: Cli, tmp_path: Path, later: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk puts a file the stat cache vouches for into the log's file plan with its digest,
    so the hashing pass (reading the plan back, updating its rows) sees only the others: none
    for an unchanged tree of 1,200 files, the one edited file after an edit."""
    from artcli.ops import log as oplog

    handed: list[str] = []
    plain = oplog.hash_stream

    def spy(files: Iterator[object], *args: object, **kwargs: object) -> object:
        def seen(it: Iterator[object]) -> Iterator[object]:
            for f in it:
                handed.append(f.path)  # type: ignore[attr-defined]
                yield f
        return plain(seen(files), *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(oplog, "hash_stream", spy)
    src = make_tree(tmp_path / "many", {f"f/{i:04d}.txt": b"%04d\n" % i for i in range(1200)})
    for p in src.rglob("*.txt"):
        age(p)
    cli.ok("log", "many", str(src))
    assert len(handed) == 1200  # nothing known yet: every file hashed
    handed.clear()
    assert cli.ok("log", "many", str(src), "--json").json()["version"] == "v0"
    assert handed == []
    edit_in_place(src / "f" / "0007.txt", b"SEVN\n")
    age(src / "f" / "0007.txt", DAY / 2)
    assert cli.ok("log", "many", str(src), "--json").json()["version"] == "v1"
    assert handed == ["f/0007.txt"]
    cli.ok("download", "many:v1", "--root", str(tmp_path / "out"), "--skip-cache")
    assert tree_bytes(tmp_path / "out") == tree_bytes(src)  # the digests the walk took from the cache are right


def test_a_file_changed_within_the_racy_window_is_not_trusted(cli: Cli, tmp_path: Path,
                                                               hashed: list[str], later: None) -> None:
    """A file modified a second ago may change again within the same mtime tick, so the stat
    cache does not remember it (inputs.RACY_SECONDS): the next log reads it again."""
    src = make_tree(tmp_path / "racy", {"fresh.txt": b"fresh\n", "old.txt": b"old\n"})
    age(src / "old.txt")
    t = time.time() + 59  # a second before the (later) clock
    os.utime(src / "fresh.txt", (t, t))
    cli.ok("log", "racy", str(src))
    hashed.clear()
    cli.ok("log", "racy", str(src))
    assert hashed == [str((src / "fresh.txt").resolve())]


def test_a_file_whose_ctime_is_within_the_racy_window_is_not_trusted(cli: Cli, tmp_path: Path, hashed: list[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An old mtime is not enough: a file whose inode changed a moment ago (an in-place write with
    its mtime set back, which is what ``age`` does) could change again within the same ctime tick."""
    from artcli import inputs

    src = make_tree(tmp_path / "racy", {"reset.txt": b"reset\n"})
    age(src / "reset.txt")  # mtime a day old, ctime now
    # hashed a second after that change, however long a loaded machine takes to get there
    ctime = (src / "reset.txt").stat().st_ctime
    monkeypatch.setattr(inputs, "_now", lambda: ctime + 1)
    cli.ok("log", "racy", str(src))
    hashed.clear()
    cli.ok("log", "racy", str(src))
    assert hashed == [str((src / "reset.txt").resolve())]


def test_hashing_reports_every_byte_once(tmp_path: Path, later: None) -> None:
    """Progress gets each file's size, whether it was read or known from the stat cache."""
    from artcli.inputs import hash_files, scan
    from artcli.localdb import LocalDB

    src = make_tree(tmp_path / "p", {"a.bin": b"a" * 1000, "b.bin": b"b" * 24})
    age(src / "a.bin")
    t = time.time() + 59.5  # within the racy window of the (later) clock
    os.utime(src / "b.bin", (t, t))
    db = LocalDB(tmp_path / "index.sqlite")
    try:
        for expect_read in (2, 1):  # then a.bin comes from the stat cache (b.bin is too young)
            seen: list[int] = []
            files = scan([str(src)])
            assert hash_files(files, db, seen.append) == expect_read
            assert sorted(seen) == [24, 1000]
    finally:
        db.close()


def test_hash_files_fills_every_digest_and_hands_on_every_file(tmp_path: Path, later: None) -> None:
    """More files than the hashing tasks kept in flight (4 threads x 4 tasks x 32 files): each
    gets the digest of its own bytes and is handed to ``on_hashed``; a second pass reads none."""
    from artcli.inputs import HASH_TASK, hash_files, scan
    from artcli.localdb import LocalDB

    n = 4 * 4 * HASH_TASK + 40
    src = make_tree(tmp_path / "many", {f"{i:04d}.txt": b"file %d\n" % i for i in range(n)})
    for p in src.iterdir():
        age(p)
    db = LocalDB(tmp_path / "index.sqlite")
    try:
        for expect_read in (n, 0):
            files, told = scan([str(src)]), []
            assert hash_files(files, db, on_hashed=told.append) == expect_read
            assert {f.path: f.digest for f in files} == {
                f"{i:04d}.txt": hashing.digest_bytes(b"file %d\n" % i) for i in range(n)}
            assert sorted(f.path for f in told) == (sorted(f.path for f in files) if expect_read else [])
    finally:
        db.close()


def test_the_stat_cache_answers_every_path_of_one_lookup(tmp_path: Path) -> None:
    """One lookup of more paths than sqlite takes in a query (asked in chunks of 500)."""
    from artcli.localdb import LocalDB

    rows = [(f"/data/{i:05d}", (1, i, 10, 1_000 + i, 2_000 + i), f"{i:064x}") for i in range(1_234)]
    db = LocalDB(tmp_path / "index.sqlite")
    try:
        db.stat_store(rows)
        assert db.stat_lookup([p for p, _, _ in rows] + ["/data/missing"]) == {p: (k, d) for p, k, d in rows}
    finally:
        db.close()


def test_a_file_exactly_at_the_racy_bound_is_not_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only files whose newest timestamp is strictly older than ``RACY_SECONDS`` are remembered:
    exactly on the bound, the next pass reads the file again; a nanosecond older, it does not."""
    from artcli import inputs
    from artcli.inputs import hash_files, scan
    from artcli.localdb import LocalDB

    bound = 2_000_000_000  # seconds; mtime set ahead of the real clock, so it is also newer than ctime
    monkeypatch.setattr(inputs, "_now", lambda: bound + inputs.RACY_SECONDS)
    src = make_tree(tmp_path / "edge", {"on.txt": b"on\n", "older.txt": b"older\n"})
    os.utime(src / "on.txt", ns=(bound * 10**9, bound * 10**9))
    os.utime(src / "older.txt", ns=(bound * 10**9 - 1, bound * 10**9 - 1))
    db = LocalDB(tmp_path / "index.sqlite")
    try:
        assert hash_files(scan([str(src)]), db) == 2
        again = scan([str(src)])
        assert hash_files(again, db) == 1
    finally:
        db.close()
