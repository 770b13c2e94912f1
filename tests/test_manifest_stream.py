"""Streamed manifests (artcli/manifest_stream.py): the external sort, the streaming path checks,
and byte-for-byte equality with the in-memory ``manifest.encode`` / ``manifest.compress``.

The end-to-end tests shrink the run size (and S3/GCS listing pages) so that a handful of
objects spill to several runs merged over several levels, as 10 million would.
"""

from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from artcli import layout, manifest, manifest_stream, sources
from artcli.errors import UsageError
from artcli.hashing import digest_bytes
from artcli.manifest import content_digest
from artcli.manifest_stream import EntrySpill, digest_lines, write_manifest
from artcli.model import Entry, Manifest
from artcli.ops import log as log_ops

from clihelp import Cli, make_tree

D1, D2 = "a" * 64, "b" * 64

# -- strategies ---------------------------------------------------------------------------------
# path segments mixing ASCII (including characters that sort before "/"), Latin, CJK and astral
# code points, so that code point order, UTF-8 byte order and the folder rule all get exercised
_SEG = st.text(alphabet=st.sampled_from(list("ab-.! _~éÅ日本😀z0")), min_size=1, max_size=4).filter(
    lambda s: s not in (".", ".."))
_PATH = st.lists(_SEG, min_size=1, max_size=3).map("/".join)
_HEX = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
_REF = st.one_of(
    st.builds(lambda k, etag, vid: {"uri": f"s3://bucket/{k}", "etag": f'"{etag}"', **({"version_id": vid} if vid else {})},
              _PATH, st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
              st.one_of(st.none(), st.text(alphabet="abcXYZ019._", min_size=1, max_size=12))),
    st.builds(lambda k, g: {"uri": f"gs://b/{k}", "generation": str(g), "md5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                            "crc32c": "AAAAAA=="}, _PATH, st.integers(1, 2**62)),
    st.builds(lambda k: {"uri": f"https://example.com/{k}?q=é", "etag": 'W/"x"', "last_modified": "Mon"}, _PATH),
    st.builds(lambda k: {"uri": f"s3://bucket/{k}/", "directory": True}, _PATH),
)


def _entry(path: str, kind: int, size: int, digest: str, ref: dict[str, Any], offset: int) -> Entry:
    if kind == 0:
        return Entry(path, size, digest)
    if kind == 1:
        return Entry(path, size, digest, pack=D2, offset=offset)
    if kind == 2:
        return Entry(path, size, ref=ref)
    return Entry(path, size, digest, ref=ref)  # a reference pinned by its BLAKE3 (HTTP, local)


def _no_folder_clash(paths: list[str]) -> list[str]:
    """Keep the paths that are neither another path nor another path's folder."""
    keep: list[str] = []
    taken: set[str] = set()
    for p in paths:
        parts = p.split("/")
        folders = {"/".join(parts[:i]) for i in range(1, len(parts))}
        if p in taken or folders & taken or any(k.startswith(p + "/") for k in keep):
            continue
        keep.append(p)
        taken.add(p)
    return keep


@st.composite
def entry_sets(draw: st.DrawFn) -> list[Entry]:
    paths = _no_folder_clash(draw(st.lists(_PATH, max_size=40)))
    return [_entry(p, draw(st.integers(0, 3)), draw(st.integers(0, 2**50)), draw(_HEX), draw(_REF),
                   draw(st.integers(0, 2**40))) for p in paths]


def _spill(entries: list[Entry], tmp: Path | None, run_size: int, fan_in: int, seed: int) -> EntrySpill:
    shuffled = list(entries)
    random.Random(seed).shuffle(shuffled)
    spill = EntrySpill(tmp, run_size=run_size, fan_in=fan_in)
    spill.extend(shuffled)
    return spill


def _brute_force_verdict(paths: list[str]) -> str | None:
    """What check_paths used to decide on a full list: 'same', 'folder' or None."""
    if len(set(paths)) != len(paths):
        return "same"
    s = set(paths)
    for p in paths:
        parts = p.split("/")
        if any("/".join(parts[:i]) in s for i in range(1, len(parts))):
            return "folder"
    return None


# -- gzip ---------------------------------------------------------------------------------------
@given(data=st.binary(max_size=5000))
def test_compress_is_gzip_level6_mtime0(data: bytes) -> None:
    assert manifest.compress(data) == gzip.compress(data, 6, mtime=0)


def test_streamed_gzip_equals_one_shot_on_large_input(tmp_path: Path) -> None:
    rng = random.Random(7)
    lines = [f'{{"path":"d/{rng.random()}","size":{rng.randrange(10**9)}}}\n'.encode() for _ in range(60_000)]
    data = manifest.header_line() + b"".join(lines)
    assert len(data) > 2 * manifest_stream.CHUNK  # several chunks through the compressor
    digest, size = write_manifest(lines, tmp_path / "m.gz", tmp_path / "m")
    assert size == len(data) and (tmp_path / "m").read_bytes() == data
    assert (tmp_path / "m.gz").read_bytes() == gzip.compress(data, 6, mtime=0) == manifest.compress(data)
    assert digest == digest_lines(lines) == digest_bytes(data)


# -- golden equality with the in-memory path ---------------------------------------------------------
def test_streamed_golden_bytes(tmp_path: Path) -> None:
    """The golden manifest of tests/test_format.py, streamed."""
    with EntrySpill(tmp_path, run_size=1, fan_in=2) as spill:
        spill.extend([Entry("z.txt", 3, D2), Entry("a/b.bin", 10, D1, pack=D2, offset=7)])
        digest, _ = write_manifest(spill.lines(), tmp_path / "m.gz", tmp_path / "m")
        assert digest == "4a8535a07ab5a1293daae5a576d8581687efbb94b0842b91cf1e9edd50b105e8"
        assert spill.count == 2 and spill.size == 13


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=entry_sets(), run_size=st.integers(1, 7), fan_in=st.integers(2, 4), seed=st.integers(0, 99))
def test_streamed_manifest_equals_encode(tmp_path: Path, entries: list[Entry], run_size: int, fan_in: int,
                                         seed: int) -> None:
    want_digest, want = manifest.encode(Manifest(entries))
    with _spill(entries, tmp_path, run_size, fan_in, seed) as spill:
        assert spill.count == len(entries) and spill.size == sum(e.size for e in entries)
        gz, raw = tmp_path / f"{seed}.gz", tmp_path / f"{seed}.raw"
        digest, size = write_manifest(spill.lines(), gz, raw)
        assert (digest, size) == (want_digest, len(want))
        assert raw.read_bytes() == want
        assert gz.read_bytes() == manifest.compress(want) == gzip.compress(want, 6, mtime=0)
        assert digest_lines(spill.lines()) == want_digest  # a second pass gives the same
        plain = [Entry(e.path, e.size, e.digest, ref=e.ref) for e in entries]
        with _spill(plain, tmp_path, run_size, fan_in, seed + 1) as content:
            assert digest_lines(content.lines()) == content_digest(entries)
        if entries:  # log: packed files' lines replaced by path
            target = sorted(entries, key=lambda e: e.path)[0]
            moved = Entry(target.path, target.size, D1, pack=D1, offset=99)
            swapped = [moved if e is target else e for e in entries]
            line = manifest.entry_line(moved)
            assert digest_lines(spill.lines({target.path.encode(): line})) == manifest.encode(Manifest(swapped))[0]


def test_external_sort_with_tiny_runs_merges_level_by_level(tmp_path: Path) -> None:
    paths = [f"d{i % 7}/f{i:05d}-{'é' if i % 3 else '日'}" for i in range(2000)]
    entries = [Entry(p, i, ref={"uri": f"s3://b/{p}", "etag": f'"{i}"'}) for i, p in enumerate(paths)]
    with _spill(entries, tmp_path, 3, 3, 1) as spill:
        assert spill.runs_written > 2000 // 3  # spilled: runs plus merged runs
        assert spill.runs <= 3 * 8  # never more than fan_in per level open
        got = [p.decode() for p, _ in spill.records()]
        assert got == sorted(paths)
        assert [line for _, line in spill.records()] == [manifest.entry_line(e)
                                                         for e in sorted(entries, key=lambda e: e.path)]


def test_small_spill_stays_in_memory(tmp_path: Path) -> None:
    with EntrySpill(tmp_path, run_size=10) as spill:
        spill.extend(Entry(f"f{i}", 1, D1) for i in range(9))
        assert spill.runs_written == 0 and list(tmp_path.iterdir()) == []


# -- checks in the streaming path -----------------------------------------------------------------
@pytest.mark.parametrize("paths, verdict", [
    (["a", "b", "a"], "same"),
    (["x/y", "x/y"], "same"),
    (["a", "a!x", "a-b", "a.c", "a/b"], "folder"),  # characters that sort between "a" and "a/"
    (["a b/c", "a", "a/"], None),  # "a/" never reaches here (not a valid path); no clash with "a b"
    (["data", "data/sub/x.bin"], "folder"),
    (["data/sub", "data/sub2/x", "data/sub/x"], "folder"),
    (["ab", "a/b", "a b", "a"], "folder"),
    (["ab/c", "a", "abc"], None),
    (["é", "é/x"], "folder"),
])
def test_duplicate_and_folder_paths_found_while_merging(tmp_path: Path, paths: list[str], verdict: str | None) -> None:
    paths = [p for p in paths if not p.endswith("/")]
    for run_size in (1, 2, 100):
        with EntrySpill(tmp_path, run_size=run_size, fan_in=2) as spill:
            spill.extend(Entry(p, 1, D1) for p in paths)
            if verdict is None:
                assert len(list(spill.records())) == len(paths)
                continue
            with pytest.raises(UsageError) as exc:
                list(spill.records())
            assert ("same path" if verdict == "same" else "both a file and a folder") in str(exc.value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=st.lists(st.lists(st.sampled_from(["a", "b", "a!", "a b", "é"]), min_size=1, max_size=3).map("/".join),
                      max_size=12),
       run_size=st.integers(1, 4))
def test_streaming_checks_agree_with_a_full_list(tmp_path: Path, paths: list[str], run_size: int) -> None:
    with EntrySpill(tmp_path, run_size=run_size, fan_in=2) as spill:
        spill.extend(Entry(p, 1, D1) for p in paths)
        try:
            list(spill.records())
            got = None
        except UsageError as exc:
            got = "same" if "same path" in str(exc) else "folder"
    want = _brute_force_verdict(paths)
    assert (got is None) == (want is None)
    if want == "folder":  # no duplicate at all (with both kinds present, either may come first)
        assert got == "folder"


def test_invalid_record_characters_refused(tmp_path: Path) -> None:
    with EntrySpill(tmp_path) as spill, pytest.raises(UsageError):
        spill.add(Entry("a\nb", 1, D1))


# -- temp files ----------------------------------------------------------------------------------
def _open_under(root: Path) -> list[str]:
    """Files this process holds open under ``root`` (anonymous temp files included)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(root)):
            out.append(target)
    return out


needs_proc = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


@needs_proc
def test_runs_leave_nothing_behind(tmp_path: Path) -> None:
    spill = EntrySpill(tmp_path, run_size=2, fan_in=2)
    spill.extend(Entry(f"f{i}", 1, D1) for i in range(50))
    assert spill.runs > 0 and _open_under(tmp_path)
    assert list(tmp_path.iterdir()) == []  # runs have no name on disk
    spill.close()
    spill.close()
    assert _open_under(tmp_path) == []
    with pytest.raises(ValueError):
        list(spill.records())


# -- end to end --------------------------------------------------------------------------------
@pytest.fixture
def tiny_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Spill every 3 entries, merge every 2 runs, list 4 keys a page (the in-process CLI sees it).
    Gives the number of runs each closed spill had written."""
    monkeypatch.setattr(manifest_stream, "RUN_SIZE", 3)
    monkeypatch.setattr(manifest_stream, "FAN_IN", 2)
    monkeypatch.setattr(sources.base, "PAGE_SIZE", 4)
    written: list[int] = []
    close = EntrySpill.close

    def spy(self: EntrySpill) -> None:
        if not self._closed:
            written.append(self.runs_written)
        close(self)

    monkeypatch.setattr(EntrySpill, "close", spy)
    return written


def _remote_root(cli: Cli) -> Path:
    return Path(urlsplit(cli.remote or "").path)


def _check_manifest(cli: Cli, mdigest: str) -> bytes:
    """The version's manifest as stored: remote gzip == compress(cached bytes), digest right."""
    raw = (cli.home / "cache" / "manifests" / f"{mdigest}.jsonl").read_bytes()
    assert manifest.encode(manifest.decode(raw, mdigest))[1] == raw  # canonical, sorted, digest ok
    gz = (_remote_root(cli) / layout.manifest_key(mdigest)).read_bytes()
    assert gz == manifest.compress(raw) == gzip.compress(raw, 6, mtime=0)
    return raw


def _manifest_digest(cli: Cli, name: str, version: int = 0) -> str:
    evs = [json.loads(line)["event"] for line in cli.ok("debug", "events", name).out.splitlines()]
    (ev,) = [e for e in evs if e.get("type") == "version_created" and e.get("version") == version]
    return str(ev["manifest"])


def _tmp_empty(cli: Cli) -> None:
    tmp = cli.home / "cache" / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []
    if Path("/proc/self/fd").is_dir():
        assert _open_under(tmp) == []


S3_KEYS = [f"data/{d}/part-{i:03d}.bin" for d in ("a", "b", "é", "日本") for i in range(6)] + ["data/a!.bin", "data/a b"]


@pytest.mark.s3
def test_add_ref_s3_spilled_end_to_end(cli: Cli, _s3_admin: Any, s3_bucket: str, tiny_runs: list[int],
                                       tmp_path: Path) -> None:
    for i, k in enumerate(S3_KEYS):
        _s3_admin.put_object(Bucket=s3_bucket, Key=k, Body=b"%d" % i)
    res = cli.ok("add-ref", "big", f"s3://{s3_bucket}/data/", "--json").json()
    assert res["files"] == res["references"] == len(S3_KEYS) and res["created"]
    assert tiny_runs == [8 + 7]  # 26 entries: 8 runs of 3 (2 left in memory), merged 4 + 2 + 1 times
    raw = _check_manifest(cli, mdigest := _manifest_digest(cli, "big"))
    assert [e.path for e in manifest.decode(raw, mdigest).entries] == sorted(k[len("data/"):] for k in S3_KEYS)
    _tmp_empty(cli)
    again = cli.ok("add-ref", "big", f"s3://{s3_bucket}/data", "--json").json()
    assert again["created"] is False and again["version"] == "v0"  # exactly once: same pins, same version
    _tmp_empty(cli)
    cli.ok("download", "big", "--root", str(tmp_path / "out"))
    assert (tmp_path / "out" / "日本" / "part-005.bin").read_bytes() == b"%d" % S3_KEYS.index("data/日本/part-005.bin")

    # two URIs naming the same objects: a duplicate path, found in the merge, nothing written
    r = cli("add-ref", "dup", f"s3://{s3_bucket}/data/a/", f"s3://{s3_bucket}/data/a")
    assert r.code == 2 and "same path" in r.err
    assert cli("ls", "dup").code == 3
    # a single object "a" next to the prefix "a/": both a file and a folder, found in the merge
    _s3_admin.put_object(Bucket=s3_bucket, Key="top/a", Body=b"file")
    r = cli("add-ref", "clash", f"s3://{s3_bucket}/top/a", f"s3://{s3_bucket}/data/")
    assert r.code == 2 and "'a' would be both a file and a folder" in r.err
    assert cli("ls", "clash").code == 3
    _tmp_empty(cli)


@pytest.mark.s3
def test_max_objects_spilled_writes_nothing_and_leaves_no_temp(cli: Cli, _s3_admin: Any, s3_bucket: str,
                                                                tiny_runs: list[int]) -> None:
    for i in range(11):
        _s3_admin.put_object(Bucket=s3_bucket, Key=f"d/{i:02d}", Body=b"x")
    r = cli("add-ref", "many", f"s3://{s3_bucket}/d", "--max-objects", "10")
    assert r.code == 2 and "10" in r.err and "--max-objects" in r.err and "nothing was written" in r.err
    assert not (_remote_root(cli) / "projects").exists() and not (_remote_root(cli) / "manifests").exists()
    assert tiny_runs == [3 + 1]  # the error came while spilling: 10 listed, the 11th refused
    _tmp_empty(cli)
    assert cli.ok("add-ref", "many", f"s3://{s3_bucket}/d", "--max-objects", "11", "--json").json()["files"] == 11
    _tmp_empty(cli)


def test_failed_manifest_upload_leaves_no_temp_files(cli: Cli, tmp_path: Path, tiny_runs: list[int],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The streamed manifest's two temp files (gzip, canonical bytes) go when the upload fails."""
    from artcli.errors import RemoteError
    from artcli.store.local import LocalStore

    src = make_tree(tmp_path / "src", {f"d/{i}.txt": b"%d" % i for i in range(10)})
    seen: list[list[str]] = []

    def broken(self: LocalStore, pairs: Any) -> None:
        # (the log's file plan, fileplan.*.part, is there too until the command ends)
        seen.append(sorted(p.name for p in (cli.home / "cache" / "tmp").iterdir() if not p.name.startswith("fileplan.")))
        raise RemoteError("injected: upload failed")

    monkeypatch.setattr(LocalStore, "put_files", broken)
    r = cli("add-ref", "local", str(src))
    assert r.code == 6 and "injected" in r.err
    assert len(seen) == 1 and len(seen[0]) == 2  # the gzip and the canonical bytes, while uploading
    assert not (_remote_root(cli) / "projects").exists()
    _tmp_empty(cli)
    assert not list((cli.home / "cache" / "manifests").iterdir())  # nothing cached for a failed write


@pytest.mark.s3
def test_mixed_version_streamed(cli: Cli, _s3_admin: Any, s3_bucket: str, tiny_runs: list[int],
                                tmp_path: Path) -> None:
    files = {f"local/{i}.txt": b"small %d" % i for i in range(7)} | {"big.bin": os.urandom((1 << 20) + 5)}
    data = make_tree(tmp_path / "data", files)
    for i in range(5):
        _s3_admin.put_object(Bucket=s3_bucket, Key=f"w/{i}.pt", Body=b"w%d" % i)
    res = cli.ok("log", "mixed", str(data), "--ref", f"s3://{s3_bucket}/w/", "--json").json()
    assert res["files"] == 13 and res["references"] == 5 and res["uploaded_files"] == 8
    assert tiny_runs and tiny_runs[0] >= 13 // 3  # the local files were spilled with the references
    raw = _check_manifest(cli, mdigest := _manifest_digest(cli, "mixed"))
    m = manifest.decode(raw, mdigest)
    assert sum(1 for e in m.entries if e.pack) == 7 and sum(1 for e in m.entries if e.ref) == 5
    assert res["digest"] == content_digest(m.entries)  # the content digest ignores pack locations
    cli.ok("download", "mixed", "--root", str(tmp_path / "out"))
    assert (tmp_path / "out" / "local" / "3.txt").read_bytes() == b"small 3"
    assert (tmp_path / "out" / "4.pt").read_bytes() == b"w4"
    assert cli.ok("log", "mixed", str(data), "--ref", f"s3://{s3_bucket}/w", "--json").json()["created"] is False
    (data / "3.pt").write_bytes(b"local")
    r = cli("log", "mixed", str(data), "--ref", f"s3://{s3_bucket}/w/")
    assert r.code == 2 and "'3.pt'" in r.err
    assert [v["version"] for v in cli.ok("ls", "mixed", "--json").json()] == ["v0"]
    _tmp_empty(cli)


@pytest.mark.gcs
def test_add_ref_gcs_spilled(cli: Cli, gcs_server: str, gcs_bucket: str, tiny_runs: list[int],
                             tmp_path: Path) -> None:
    import gcsfs

    fs = gcsfs.GCSFileSystem(endpoint_url=gcs_server, token="anon", skip_instance_cache=True)
    keys = [f"lake/{i % 3}/obj-{i:02d}" for i in range(14)]
    for k in keys:
        fs.pipe_file(f"{gcs_bucket}/{k}", k.encode())
    res = cli.ok("add-ref", "g", f"gs://{gcs_bucket}/lake", "--json").json()
    assert res["files"] == 14 and res["created"] and tiny_runs[0] >= 4
    raw = _check_manifest(cli, _manifest_digest(cli, "g"))
    assert raw.count(b'"generation"') == 14
    assert cli.ok("add-ref", "g", f"gs://{gcs_bucket}/lake/", "--json").json()["created"] is False
    cli.ok("download", "g", "--root", str(tmp_path / "out"))
    assert (tmp_path / "out" / "1" / "obj-13").read_bytes() == b"lake/1/obj-13"
    _tmp_empty(cli)


def test_plain_log_over_the_threshold_streams_the_same_manifest(cli: Cli, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    files = {f"f/{i:02d}-é.txt": b"content %d" % i for i in range(20)} | {"big.bin": os.urandom((1 << 20) + 1)}
    data = make_tree(tmp_path / "data", files)
    mem = cli.ok("log", "in-memory", str(data), "--json").json()
    monkeypatch.setattr(log_ops, "STREAM_MIN_ENTRIES", 5)
    monkeypatch.setattr(manifest_stream, "RUN_SIZE", 4)
    streamed = cli.ok("log", "streamed", str(data), "--json").json()
    assert streamed["digest"] == mem["digest"] and streamed["files"] == 21
    assert _manifest_digest(cli, "streamed") == _manifest_digest(cli, "in-memory")
    _check_manifest(cli, _manifest_digest(cli, "streamed"))
    (data / "f" / "new.txt").write_bytes(b"new")
    v1 = cli.ok("log", "streamed", str(data), "--json").json()
    assert v1["version"] == "v1" and v1["uploaded_files"] == 1
    monkeypatch.setattr(log_ops, "STREAM_MIN_ENTRIES", 100_000)
    assert cli.ok("log", "in-memory", str(data), "--json").json()["digest"] == v1["digest"]
    _tmp_empty(cli)
