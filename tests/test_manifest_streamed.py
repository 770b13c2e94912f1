"""The streamed manifest reader (for versions of millions of files) says exactly what the
in-memory one says: the same entries and content digest, or the same refusal."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artcli import manifest
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes
from artcli.model import Entry, Manifest

from clihelp import Cli

CORPUS = Path(__file__).resolve().parent / "format_corpus"


def _both(data: bytes, digest: str, tmp: Path) -> tuple[object, object]:
    path = tmp / "m.jsonl"
    path.write_bytes(data)

    def run(read):  # type: ignore[no-untyped-def]
        try:
            return read()
        except IntegrityError as exc:
            return ("refused", exc.kind)

    def streamed():  # type: ignore[no-untyped-def]
        s = manifest.Streamed(path, digest)
        entries = list(s)
        return (entries, s.content_digest, s.size, s.count)

    def decoded():  # type: ignore[no-untyped-def]
        m = manifest.decode(data, digest)
        return (m.entries, m.content_digest, m.size, m.count)

    return run(decoded), run(streamed)


def test_every_corpus_manifest_reads_the_same(tmp_path: Path) -> None:
    found = sorted(CORPUS.glob("*/remote/manifests/blake3/*/*.jsonl.gz"))
    assert len(found) > 10
    for gz in found:
        data = gzip.decompress(gz.read_bytes())
        for digest in (gz.parent.name + gz.name.split(".")[0], digest_bytes(data)):
            a, b = _both(data, digest, tmp_path)
            assert a == b, gz


LINES = [b'{"artcli":"manifest","version":1}', b'{"artcli":"manifest","version":2}', b'{"artcli": "manifest"}',
         b'{"digest":"' + b"a" * 64 + b'","path":"a.txt","size":1}', b'{"digest":"' + b"b" * 64 + b'","path":"b","size":2}',
         b'{"path":"b","size":2,"digest":"' + b"b" * 64 + b'"}', b'not json', b'{"digest":"' + b"c" * 64
         + b'","path":"../x","size":1}', b"", b'{"digest":"' + b"d" * 64 + b'","offset":3,"pack":"' + b"e" * 64
         + b'","path":"c/d","size":4}']


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=6), st.booleans())
def test_any_bytes_read_the_same(lines: list[bytes], final_newline: bool) -> None:
    import tempfile

    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = _both(data, digest_bytes(data), Path(tmp))
    assert a == b


def test_a_damaged_file_is_refused_before_any_entry(tmp_path: Path) -> None:
    digest, data = manifest.encode(Manifest([Entry("a.txt", 1, "a" * 64)]))
    path = tmp_path / "m.jsonl"
    path.write_bytes(data.replace(b"a.txt", b"b.txt"))
    with pytest.raises(IntegrityError) as err:
        manifest.Streamed(path, digest)
    assert err.value.kind == "manifest-corrupt"


def test_download_in_chunks_is_download_in_one(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Materialising a few entries at a time (as for a million files) writes the same tree,
    and a re-run into it writes nothing."""
    from artcli.ops import download

    from clihelp import make_tree, tree_bytes

    files = {f"d{i % 3}/f{i:03d}.bin": bytes([i]) * (i * 37 % 900) for i in range(50)}
    files["big.bin"] = b"x" * (2 << 20)  # a loose blob among packed files
    src = make_tree(tmp_path / "src", files)
    cli.ok("log", "ds", str(src))
    monkeypatch.setattr(download, "CHUNK", 7)
    fresh = Cli(tmp_path / "fresh", cli.remote)
    res = fresh.ok("download", "ds", "--root", str(tmp_path / "out"), "--json").json()
    assert tree_bytes(tmp_path / "out") == files
    assert (res["files"], res["materialised"]) == (51, 51)
    again = fresh.ok("download", "ds", "--root", str(tmp_path / "out"), "--json").json()
    assert again["materialised"] == 0 and again["fetched_files"] == 0
    part = fresh.ok("download", "ds", "--root", str(tmp_path / "part"), "--path-prefix", "d1", "--json").json()
    assert part["files"] == len([p for p in files if p.startswith("d1/")])


def test_layout_check_in_manifest_order() -> None:
    from artcli.materialise import LayoutCheck

    ok = LayoutCheck()
    for p in ["a", "a.txt", "a0/b", "b/c", "b/c.d", "b/cd/e"]:
        ok.add(p)
    for bad in (["a", "a.txt", "a/b"], ["x/y", "x/y/z"]):
        check = LayoutCheck()
        with pytest.raises(IntegrityError):
            for p in bad:
                check.add(p)


def test_layout_check_of_entries_in_any_order() -> None:
    """References expanded from folders come in any order: ``check_layout`` sorts them first."""
    from artcli.materialise import check_layout
    from artcli.model import Entry

    check_layout([Entry("b/c", 1), Entry("a.txt", 1), Entry("a", 1)])
    with pytest.raises(IntegrityError):
        check_layout([Entry("a/b", 1), Entry("c", 1), Entry("a", 1)])
