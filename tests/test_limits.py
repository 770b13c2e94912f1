"""Hostile sizes on a remote: decompression bombs and oversized objects are refused within
bounds set by what the event claims (docs/format.md §3.3), never by inflating them first.

Bounds are asserted as bytes (what was decompressed, fetched, or the peak memory of a real
process), never as time.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from artcli import canonical, eventlog, layout, manifest
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes
from artcli.store import open_store

from clihelp import Cli, make_tree

MiB = 1 << 20


def gzip_bomb(inflated: int) -> bytes:
    """A valid gzip stream of ``inflated`` zero bytes (a multiple of 1 MiB), built in
    milliseconds: after a full flush deflate restarts, so every 1 MiB block compresses to the
    same bytes, which are repeated; the trailer's CRC is computed, not guessed."""
    assert inflated % MiB == 0
    chunk = bytes(MiB)
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    block = comp.compress(chunk) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(inflated // MiB):
        crc = zlib.crc32(chunk, crc)
    return first + block * (inflated // MiB - 1) + b"\x03\x00" + struct.pack("<II", crc, inflated & 0xFFFFFFFF)


def test_the_bomb_builder_makes_valid_gzip() -> None:
    import gzip

    assert gzip.decompress(gzip_bomb(3 * MiB)) == bytes(3 * MiB)
    assert len(gzip_bomb(64 * MiB)) < 200 << 10  # a ratio over 300


@pytest.fixture
def logged(cli: Cli, tmp_path: Path) -> Cli:
    make_tree(tmp_path / "d", {"a.txt": b"alpha"})
    cli.ok("log", "ds", str(tmp_path / "d"))
    return cli


def _plant_bomb(cli: Cli, inflated: int) -> str:
    """Replace the only manifest on the remote with a bomb (its event still claims 1 file)."""
    store = open_store(cli.remote or "")
    key = next(i.key for i in store.list(layout.MANIFESTS_PREFIX))
    store.put(key, gzip_bomb(inflated))
    for p in (cli.home / "cache" / "manifests").glob("*"):
        p.unlink()
    return key


def test_limits_follow_the_event_and_the_hard_limit() -> None:
    header = len(manifest.header_line())
    assert manifest.size_limit(0) == header
    assert manifest.size_limit(1) == header + manifest.MAX_ENTRY_BYTES
    assert manifest.size_limit(3) == header + 3 * manifest.MAX_ENTRY_BYTES
    assert manifest.size_limit(10**9) == manifest.size_limit(None) == manifest.MAX_MANIFEST_BYTES == 4 << 30
    assert manifest.size_limit(-5) == header  # a hostile count gives no room
    assert manifest.compressed_limit(8192 * 10) == 8192 * 10 + 10 + (64 << 10)


def test_decompression_stops_at_the_limit() -> None:
    bomb = gzip_bomb(16 * MiB)
    with pytest.raises(IntegrityError, match="larger than 1000 bytes"):
        manifest.decompress(bomb, "k", 1000)
    data = manifest.header_line() + b"x" * 500
    gz = manifest.compress(data)
    assert manifest.decompress(gz, "k", len(data)) == data  # exactly at the limit is fine
    with pytest.raises(IntegrityError, match="larger than"):
        manifest.decompress(gz, "k", len(data) - 1)
    big = os.urandom(manifest.compressed_limit(1000) + 1)
    with pytest.raises(IntegrityError, match="compressed"):  # refused before inflating a byte
        manifest.decompress(big, "k", 1000)


def test_parsing_stops_at_the_entries_the_event_claims() -> None:
    lines = [canonical.dumps({"digest": "a" * 64, "path": f"f{i}", "size": 1}) + b"\n" for i in range(3)]
    data = manifest.header_line() + b"".join(lines)
    d = digest_bytes(data)
    assert len(manifest.decode(data, d, 3).entries) == 3
    assert len(manifest.decode(data, d).entries) == 3
    with pytest.raises(IntegrityError, match="more entries than the 2 files") as exc:
        manifest.decode(data, d, 2)
    assert exc.value.kind == "event-manifest-mismatch"
    nl = b"\n" * (4 * MiB)  # a billion empty lines would be one lazily read line at a time
    with pytest.raises(IntegrityError, match="no valid header"):
        manifest.decode(nl, digest_bytes(nl))


_PEAK_RSS = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:]); _, st, u = os.wait4(p.pid, 0); "
             "sys.stderr.write(f'MAXRSS {u.ru_maxrss}'); sys.exit(os.waitstatus_to_exitcode(st))")


def test_download_of_a_bomb_is_exit_4_with_bounded_memory(logged: Cli, tmp_path: Path) -> None:
    """A real process: 1 GiB of zeros in a 1 MiB gzip, named by an event that claims one file.
    Before the bound (4 GiB for everyone) the process inflated it all: peak RSS over 1 GiB."""
    key = _plant_bomb(logged, 1024 * MiB)
    # measured by a small parent: a child forked straight from this (big) pytest worker inherits
    # its peak RSS in ru_maxrss, whatever the child itself uses
    p = subprocess.run([sys.executable, "-c", _PEAK_RSS, sys.executable, "-m", "artcli", "download", "ds",
                        "--root", str(tmp_path / "o")], env=logged.proc_env(), capture_output=True, text=True)
    err, peak_kib = p.stderr.rsplit("MAXRSS ", 1)
    assert p.returncode == 4, err
    assert int(peak_kib) * 1024 < 300 * MiB, f"peak RSS {peak_kib} KiB"  # ru_maxrss is KiB on Linux
    bound = manifest.size_limit(1)  # refused for its compressed size, or while inflating
    assert key in err and (f"at most {bound} bytes" in err or f"larger than {bound} bytes" in err)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize("command", [["gc", "--dry-run"], ["debug", "fsck"], ["files", "ds"], ["download", "ds", "--dry-run"]])
def test_every_reader_of_a_bomb_stops_at_the_claimed_bound(logged: Cli, command: list[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process, counting what zlib inflates: at most the bound for one file (+1 byte)."""
    _plant_bomb(logged, 64 * MiB)
    inflated: list[int] = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *a: object, **kw: object) -> None:
            self._d = real(*a, **kw)  # type: ignore[arg-type]

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            out = self._d.decompress(data, max_length)
            inflated.append(len(out))
            return out

        def __getattr__(self, name: str) -> object:
            return getattr(self._d, name)

    monkeypatch.setattr(manifest.zlib, "decompressobj", Counting)
    r = logged(*command)
    assert r.code == 4, (r.out, r.err)
    assert inflated and sum(inflated) <= manifest.size_limit(1) + 1


def test_an_oversized_event_is_fetched_only_up_to_the_limit(logged: Cli, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eventlog, "MAX_EVENT_BYTES", 4096)
    store = open_store(logged.remote or "")
    key = layout.event_key(layout.artifact_prefix("default", "ds"), 1)
    body = canonical.dumps({"type": "metadata_set", "version": 0, "pad": "x" * 20_000, "entries": {}})
    store.put(key, body)
    fetched: list[int] = []
    from artcli.store.local import LocalStore

    real = LocalStore.get_ranges

    def counting(self: LocalStore, ranges: list[tuple[str, int, int]]) -> list[bytes]:
        out = real(self, ranges)
        fetched.extend(len(b) for b in out)
        return out

    monkeypatch.setattr(LocalStore, "get_ranges", counting)
    fresh = Cli(tmp_path / "fresh", logged.remote)
    r = fresh.ok("show", "ds:v0")
    assert "000000000001.json" in r.err  # skipped, named
    assert max(fetched) == 4097  # the event of ~20 KB was read no further than the limit


def test_streamed_reading_is_bounded_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The streaming reader (large versions) has the same bounds: decompress_file stops at the
    limit, 1 MiB of output at a time; Streamed stops past the claimed count and at a long line."""
    out = tmp_path / "raw"
    (tmp_path / "bomb.gz").write_bytes(gzip_bomb(16 * MiB))
    with pytest.raises(IntegrityError, match="larger than 5000 bytes"):
        manifest.decompress_file(tmp_path / "bomb.gz", out, "k", 5000)
    assert out.stat().st_size <= 5000  # what reached the disk
    (tmp_path / "big.gz").write_bytes(os.urandom(manifest.compressed_limit(100) + 1))
    with pytest.raises(IntegrityError, match="compressed"):
        manifest.decompress_file(tmp_path / "big.gz", out, "k", 100)
    lines = [canonical.dumps({"digest": "a" * 64, "path": f"f{i}", "size": 1}) + b"\n" for i in range(3)]
    data = manifest.header_line() + b"".join(lines)
    (tmp_path / "m.gz").write_bytes(manifest.compress(data))
    manifest.decompress_file(tmp_path / "m.gz", out, "k", len(data))
    assert out.read_bytes() == data
    d = digest_bytes(data)
    assert [e.path for e in manifest.Streamed(out, d, 3)] == ["f0", "f1", "f2"]
    with pytest.raises(IntegrityError, match="more entries than the 2 files"):
        list(manifest.Streamed(out, d, 2))
    monkeypatch.setattr(manifest, "MAX_LINE_BYTES", len(lines[0]) - 1)
    with pytest.raises(IntegrityError, match="a line longer than"):
        list(manifest.Streamed(out, d))


def _manifest_file(tmp_path: Path, data: bytes, name: str = "m") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_streamed_checks_like_decode_with_the_same_kinds_and_messages(tmp_path: Path) -> None:
    """Every flaw decode() finds, Streamed finds with the same kind and the digest named; its
    totals are known only after a full iteration; a line exactly at the limit is read."""
    lines = [canonical.dumps({"digest": "a" * 64, "path": f"f{i}", "size": i + 1}) + b"\n" for i in range(3)]
    data = manifest.header_line() + b"".join(lines)
    d = digest_bytes(data)
    s = manifest.Streamed(_manifest_file(tmp_path, data), d, 3)
    assert (s.content_digest, s.size, s.count, s.digest, s.max_entries) == (None, 0, 0, d, 3)
    assert [e.size for e in s] == [1, 2, 3]
    assert (s.content_digest, s.size, s.count) == (manifest.decode(data, d).content_digest, 6, 3)
    cases = {
        "corrupt": (data, "0" * 64, manifest.CORRUPT, "does not match its digest"),
        "no-newline": (data[:-1], digest_bytes(data[:-1]), manifest.NOT_CANONICAL, "does not end with a newline"),
    }
    for name, (raw, digest, kind, why) in cases.items():
        with pytest.raises(IntegrityError) as exc:
            manifest.Streamed(_manifest_file(tmp_path, raw, name), digest)
        assert exc.value.kind == kind and f"manifest {digest} {why}" in str(exc.value), name
        with pytest.raises(IntegrityError) as exc2:
            manifest.decode(raw, digest)
        assert exc2.value.kind == kind
    bad_head = b'{"artcli":"nope"}\n'
    with pytest.raises(IntegrityError, match=f"manifest {digest_bytes(bad_head)} has no valid header"):
        list(manifest.Streamed(_manifest_file(tmp_path, bad_head, "h"), digest_bytes(bad_head)))
    with pytest.raises(IntegrityError, match=f"manifest {d} holds more entries"):
        list(manifest.Streamed(_manifest_file(tmp_path, data, "n"), d, 1))
    assert manifest.Streamed(_manifest_file(tmp_path, b"", "e"), digest_bytes(b"")).count == 0


def test_a_line_exactly_at_the_line_limit_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = canonical.dumps({"digest": "a" * 64, "path": "f", "size": 1}) + b"\n"
    data = manifest.header_line() + line
    p = _manifest_file(tmp_path, data)
    monkeypatch.setattr(manifest, "MAX_LINE_BYTES", len(line))
    assert [e.path for e in manifest.Streamed(p, digest_bytes(data))] == ["f"]
    monkeypatch.setattr(manifest, "MAX_LINE_BYTES", len(line) - 1)
    with pytest.raises(IntegrityError) as exc:
        list(manifest.Streamed(p, digest_bytes(data)))
    assert exc.value.kind == manifest.INVALID and f"longer than {len(line) - 1} bytes" in str(exc.value)


def test_decompression_bounds_at_their_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = manifest.header_line() + b"y" * (3 * MiB)  # inflates in several 1 MiB steps
    gz = manifest.compress(data)
    padded = gz + bytes(manifest.compressed_limit(len(data)) - len(gz))  # exactly the compressed bound
    assert manifest.decompress(padded, "k", len(data)) == data  # trailing bytes after the stream are ignored
    (tmp_path / "p.gz").write_bytes(padded)
    manifest.decompress_file(tmp_path / "p.gz", tmp_path / "p", "k", len(data))
    assert (tmp_path / "p").read_bytes() == data
    (tmp_path / "d.gz").write_bytes(gz)
    manifest.decompress_file(tmp_path / "d.gz", tmp_path / "d", "k")  # the hard limit by default
    assert (tmp_path / "d").read_bytes() == data
    for raw in (zlib.compress(data), data):  # gzip only: a zlib stream or plain bytes are not manifests
        with pytest.raises(IntegrityError, match="not valid gzip"):
            manifest.decompress(raw, "k")
        (tmp_path / "z.gz").write_bytes(raw)
        with pytest.raises(IntegrityError, match="not valid gzip"):
            manifest.decompress_file(tmp_path / "z.gz", tmp_path / "z", "k")

    # a limit above one step: inflated bytes still stop at the limit + 1, counted across steps
    limit = MiB + MiB // 2
    inflated: list[int] = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *a: object, **kw: object) -> None:
            self._d = real(*a, **kw)  # type: ignore[arg-type]

        def decompress(self, chunk: bytes, max_length: int = 0) -> bytes:
            out = self._d.decompress(chunk, max_length)
            inflated.append(len(out))
            return out

        def __getattr__(self, name: str) -> object:
            return getattr(self._d, name)

    monkeypatch.setattr(manifest.zlib, "decompressobj", Counting)
    (tmp_path / "bomb.gz").write_bytes(gzip_bomb(16 * MiB))
    with pytest.raises(IntegrityError, match=f"larger than {limit} bytes"):
        manifest.decompress_file(tmp_path / "bomb.gz", tmp_path / "b", "k", limit)
    assert len(inflated) >= 2 and sum(inflated) == limit + 1
    assert (tmp_path / "b").stat().st_size <= limit


def test_an_overlong_header_line_is_refused_like_any_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = manifest.header_line()
    p = _manifest_file(tmp_path, data)
    monkeypatch.setattr(manifest, "MAX_LINE_BYTES", len(data) - 2)
    with pytest.raises(IntegrityError, match="a line longer than"):
        list(manifest.Streamed(p, digest_bytes(data)))


def test_an_event_body_is_read_up_to_the_limit_and_only_as_an_object_with_a_type(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Exactly the limit is an event; a byte more is not read. Valid JSON that is not an object
    with a string ``type`` is no event either (skipped, never folded)."""
    body = canonical.dumps({"type": "alias_set", "pad": ""})
    monkeypatch.setattr(eventlog, "MAX_EVENT_BYTES", len(body))
    assert eventlog._parse(body) == {"type": "alias_set", "pad": ""}
    assert eventlog._parse(canonical.dumps({"type": "alias_set", "pad": "x"})) is None
    for shape in (b"[1]", b"3", b'"alias_set"', b"null", b'{"type":3}', b"{}"):
        assert eventlog._parse(shape) is None, shape
