"""Downloading into a folder that already holds a version: every file is compared (not just
the first ones), a file artcli wrote that was only touched is still artcli's, and the cache
files a download hashes again are trusted again afterwards and marked used."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from artcli.hashing import digest_file

from clihelp import Cli, make_tree, tree_bytes

V0 = {"a.txt": b"alpha\n", "b/1.txt": b"one\n", "b/2.txt": b"two\n", "c.txt": b"gamma\n",
      "d.bin": bytes(range(256)) * 4200}  # d.bin: over 1 MiB, a loose blob in the cache
V1 = {**V0, "c.txt": b"gamma, longer\n"}


def _touch(path: Path) -> None:
    """A new mtime (and ctime), the same bytes: the stat cache no longer vouches for it."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))


def test_every_missing_file_is_restored_whatever_comes_before_it(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", V0)))
    out = tmp_path / "o"
    cli.ok("download", "ds", "--root", str(out))
    _touch(out / "a.txt")  # compared by hashing: equal
    (out / "b" / "1.txt").unlink()
    (out / "b" / "2.txt").unlink()
    (out / "c.txt").unlink()
    res = cli.ok("download", "ds", "--root", str(out), "--json").json()
    assert tree_bytes(out) == V0
    assert res["materialised"] == 3


def test_a_touched_file_artcli_wrote_is_replaced_by_another_version_without_force(cli: Cli, tmp_path: Path) -> None:
    """``c.txt`` has another size in v1; its bytes are still what artcli wrote for v0 (only its
    mtime moved), so it is not a local edit and v1 replaces it."""
    cli.ok("log", "ds", str(make_tree(tmp_path / "v0", V0)))
    cli.ok("log", "ds", str(make_tree(tmp_path / "v1", V1)))
    out = tmp_path / "o"
    cli.ok("download", "ds:v0", "--root", str(out))
    _touch(out / "c.txt")
    res = cli("download", "ds:v1", "--root", str(out), "--json")
    assert res.code == 0, res.err
    assert res.json()["materialised"] == 1 and tree_bytes(out) == V1
    (out / "c.txt").write_bytes(b"gamma, edited\n")  # the same size as v1's, other bytes: an edit
    cli.ok("download", "ds:v1", "--root", str(tmp_path / "o1"))
    res = cli("download", "ds:v0", "--root", str(out))
    assert res.code == 5 and "c.txt" in res.err


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The cache files artcli hashes from now on."""
    import artcli.cache

    seen: list[str] = []

    def counting(path: str | os.PathLike[str]) -> str:
        seen.append(str(path))
        return digest_file(path)

    monkeypatch.setattr(artcli.cache, "digest_file", counting)
    return seen


def test_cache_files_hashed_again_are_trusted_again_and_marked_used(cli: Cli, tmp_path: Path,
                                                                     hashed: list[str]) -> None:
    """A cache file whose stat key changed is hashed on its next use, then trusted; one last used
    two hours ago is trusted and marked used (LRU), and trusted again afterwards. Cache files
    are read-only."""
    from artcli.cache import Cache

    big = {f"big/{i}.bin": bytes([i]) * ((1 << 20) + i) for i in range(4)}
    files = {**V0, **big}
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", files)))
    cli.ok("download", "ds", "--root", str(tmp_path / "o1"))
    cached = sorted(p for p in (cli.home / "cache" / "files").rglob("*") if p.is_file())
    assert len(cached) == 5
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o444 for p in cached)
    changed, aged = cached[:2], cached[2:]
    old = time.time_ns() - 2 * 3600 * 10**9
    for p in cached:
        os.utime(p, ns=(old, p.stat().st_mtime_ns))  # last used two hours ago; the ctime moves
    cache = Cache(cli.home / "cache")
    try:
        for p in aged:  # their keys recorded as they are now: trusted
            cache.remember(str(p), p.parent.name + p.name)
    finally:
        cache.close()
    hashed.clear()
    res = cli.ok("download", "ds", "--root", str(tmp_path / "o2"), "--json").json()
    assert res["fetched_files"] == 0 and tree_bytes(tmp_path / "o2") == files
    assert sorted(hashed) == sorted(map(str, changed)), "only the cache files whose key changed are hashed"
    now = time.time_ns()
    assert all(p.stat().st_atime_ns > now - 3600 * 10**9 for p in cached), "used files not marked used"
    hashed.clear()
    cli.ok("download", "ds", "--root", str(tmp_path / "o3"))
    assert hashed == [], "cache files hashed or touched on their last use are not trusted again"
    cache = Cache(cli.home / "cache")  # what cat and references ask: trusted too, unless told to rehash
    try:
        assert all(cache.valid(p.parent.name + p.name) for p in cached) and hashed == []
        assert all(cache.valid(p.parent.name + p.name, rehash=True) for p in cached) and len(hashed) == 5
    finally:
        cache.close()


def test_force_overwrites_a_foreign_file_of_another_size_without_reading_it(cli: Cli, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A file artcli never wrote, whose size already shows it differs, is an edit (exit 5) and,
    with ``--force``, overwritten; it is never read to find that out."""
    import artcli.materialise

    cli.ok("log", "ds", str(make_tree(tmp_path / "src", V0)))
    out = make_tree(tmp_path / "o", {"c.txt": b"mine, and longer than gamma\n"})
    read: list[str] = []
    monkeypatch.setattr(artcli.materialise, "digest_file", lambda p: read.append(str(p)) or digest_file(p))
    res = cli("download", "ds", "--root", str(out))
    assert res.code == 5 and "c.txt" in res.err
    forced = cli.ok("download", "ds", "--root", str(out), "--force", "--json").json()
    assert forced["overwritten"] == ["c.txt"] and tree_bytes(out) == V0
    assert read == [], "a file whose size differs from the version's was hashed"


def test_dry_run_reports_what_a_download_would_do_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", V0)))
    out = tmp_path / "o"
    empty = cli.ok("download", "ds", "--root", str(out), "--dry-run", "--json")
    assert empty.json() == {"ref": "default/ds:v0", "root": str(out), "files": 5, "size": sum(map(len, V0.values())),
                            "fetched_files": 0, "fetched_bytes": 0, "materialised": 0, "dry_run": True,
                            "would_write": sorted(V0)}
    assert f"dry run: default/ds:v0 -> {out}: would write 5 files" in empty.err.splitlines()
    assert not out.exists()
    cli.ok("download", "ds", "--root", str(out))
    (out / "b" / "1.txt").unlink()
    (out / "c.txt").write_bytes(b"GAMMA\n")  # same size, other bytes: edited
    before = tree_bytes(out)
    dry = cli.ok("download", "ds", "--root", str(out), "--dry-run", "--json")
    assert dry.json() == {"ref": "default/ds:v0", "root": str(out), "files": 5, "size": sum(map(len, V0.values())),
                          "fetched_files": 0, "fetched_bytes": 0, "materialised": 0, "dry_run": True,
                          "would_write": ["b/1.txt", "c.txt"], "overwritten": ["c.txt"]}
    assert (f"dry run: default/ds:v0 -> {out}: would write 2 files; 1 edited locally (--force to overwrite)"
            in dry.err)
    assert tree_bytes(out) == before


@pytest.mark.parametrize("edited", [10, 11, 12])
def test_a_refused_download_names_ten_edited_files_and_counts_the_rest(cli: Cli, tmp_path: Path, edited: int) -> None:
    files = {f"f{i:02d}.txt": f"file {i}\n".encode() for i in range(12)}
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", files)))
    out = make_tree(tmp_path / "o", {k: v.upper() for k, v in list(files.items())[:edited]})  # not artcli's: differ
    r = cli("download", "ds", "--root", str(out))
    assert r.code == 5
    shown = ", ".join(sorted(files)[:10]) + (f" and {edited - 10} more" if edited > 10 else "")
    assert f"{edited} file(s) in {out} differ from default/ds:v0" in r.err, r.err
    assert f"(edited locally?): {shown}\n" in r.err + "\n", r.err


@pytest.mark.parametrize("chunk", [20_000, 5, 2])
def test_download_progress_and_result_count_what_it_fetches(cli: Cli, tmp_path: Path, chunk: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """One ``downloading`` phase: its total is the bytes to fetch, or unknown when the version
    has more files than one chunk holds (``CHUNK``: 20,000; lowered here), and it advances to
    every byte fetched; the result and the done message say what was done."""
    import artcli
    import artcli.ops.download

    monkeypatch.setattr(artcli.ops.download, "CHUNK", chunk)
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", V0)))
    for k, v in cli.env.items():
        monkeypatch.setenv(k, v)
    seen: list[artcli.Progress] = []
    out = tmp_path / "o"
    with artcli.open(cli.remote, progress=seen.append) as repo:
        res = repo.download("ds", str(out))
    total = sum(map(len, V0.values()))
    assert [(p.phase, p.total) for p in seen if p.kind == "phase"] == [("downloading", None if chunk < 5 else total)]
    assert [p.completed for p in seen if p.kind == "advance"][-1] == total
    assert [p.message for p in seen if p.kind == "done"] == [f"default/ds:v0 -> {out} (5 files written)"]
    assert res.to_json() == {"ref": "default/ds:v0", "root": str(out), "files": 5, "size": total, "fetched_files": 5,
                             "fetched_bytes": total, "materialised": 5}
    assert tree_bytes(out) == V0


def test_an_occupied_target_is_judged_whatever_the_working_directory(cli: Cli, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty folder, a download into a target holding an edited file still refuses it."""
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", V0)))
    out = tmp_path / "o"
    cli.ok("download", "ds", "--root", str(out))
    (out / "c.txt").write_bytes(b"GAMMA\n")
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path / "empty")
    r = cli("download", "ds", "--root", str(out))
    assert r.code == 5 and "c.txt" in r.err
    assert (out / "c.txt").read_bytes() == b"GAMMA\n"


def test_two_hours_on_used_cache_files_are_marked_used_and_trusted_again(cli: Cli, tmp_path: Path, hashed: list[str],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hours later by the clock (the files not read since, as on a noatime mount), a download
    marks each cache file it uses (LRU) — those it trusted and those it had to hash again — and
    the next download trusts them all without hashing."""
    import types

    import artcli.cache

    big = {f"big/{i}.bin": bytes([i]) * ((1 << 20) + i) for i in range(3)}
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", big)))
    cli.ok("download", "ds", "--root", str(tmp_path / "o1"))
    cached = sorted(p for p in (cli.home / "cache" / "files").rglob("*") if p.is_file())
    cached[0].chmod(0o444)  # the same mode, a new ctime: hashed on its next use
    later = time.time_ns() + 2 * 3600 * 10**9
    monkeypatch.setattr(artcli.cache, "time", types.SimpleNamespace(time_ns=lambda: later))
    hashed.clear()
    cli.ok("download", "ds", "--root", str(tmp_path / "o2"))
    assert hashed == [str(cached[0])]
    assert all(p.stat().st_atime_ns == later for p in cached), "a used cache file was not marked used"
    hashed.clear()
    cli.ok("download", "ds", "--root", str(tmp_path / "o3"))
    assert hashed == [], "a cache file marked used was not trusted afterwards"


def test_verify_finds_an_edit_the_stat_cache_vouches_for(cli: Cli, tmp_path: Path) -> None:
    """An edited target file whose recorded stat key matches it (a coarse or unreliable ctime):
    a plain download trusts the key and leaves it; ``--verify`` hashes it, refuses to overwrite
    it as a local edit, and with ``--force`` restores it."""
    from artcli.cache import Cache
    from artcli.hashing import digest_bytes
    from artcli.localdb import stat_key

    cli.ok("log", "ds", str(make_tree(tmp_path / "src", V0)))
    out = tmp_path / "o"
    cli.ok("download", "ds", "--root", str(out))
    edited = out / "c.txt"
    edited.write_bytes(b"GAMMA\n")  # same size, other bytes
    cache = Cache(cli.home / "cache")
    try:
        cache.db.stat_store([(str(edited), stat_key(edited.stat()), digest_bytes(V0["c.txt"]))])
    finally:
        cache.close()
    assert cli.ok("download", "ds", "--root", str(out), "--json").json()["materialised"] == 0
    r = cli("download", "ds", "--root", str(out), "--verify")
    assert r.code == 5 and "c.txt" in r.err
    assert cli.ok("download", "ds", "--root", str(out), "--verify", "--force", "--json").json()["overwritten"] == ["c.txt"]
    assert tree_bytes(out) == V0


@pytest.mark.parametrize("dry_run", [False, True])
def test_no_pass_over_the_target_holds_more_than_one_chunk(cli: Cli, tmp_path: Path, dry_run: bool,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory does not grow with the number of files: both the survey of an occupied target and
    the writes take ``CHUNK`` entries at a time (lowered to 2 here), and every entry is seen once."""
    import artcli
    import artcli.ops.download as dl

    monkeypatch.setattr(dl, "CHUNK", 2)
    cli.ok("log", "ds", str(make_tree(tmp_path / "src", V0)))
    out = tmp_path / "o"
    cli.ok("download", "ds", "--root", str(out))
    (out / "a.txt").unlink()  # occupied, with something to write
    batches: dict[str, list[list[str]]] = {"survey": [], "write": []}
    survey, materialise = dl._Survey.add, dl._materialise
    monkeypatch.setattr(dl._Survey, "add", lambda self, repo, entries, *a: (
        batches["survey"].append([e.path for e in entries]), survey(self, repo, entries, *a))[1])
    monkeypatch.setattr(dl, "_materialise", lambda repo, chunk, *a, **k: (
        batches["write"].append([e.path for e in chunk]), materialise(repo, chunk, *a, **k))[1])
    for k, v in cli.env.items():
        monkeypatch.setenv(k, v)
    with artcli.open(cli.remote) as repo:
        repo.download("ds", str(out), dry_run=dry_run)
    for kind in ("survey",) if dry_run else ("survey", "write"):
        assert max(map(len, batches[kind])) <= 2, (kind, batches[kind])
        assert sorted(p for b in batches[kind] for p in b) == sorted(V0), (kind, batches[kind])
    if not dry_run:
        assert tree_bytes(out) == V0
