"""Golden bytes: the canonical forms that get hashed. A change here changes every digest."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from artcli import canonical, layout, manifest
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes
from artcli.manifest import content_digest
from artcli.model import Entry, Manifest
from artcli.packs import decode_index, encode_index, plan_ranges

D1 = "a" * 64
D2 = "b" * 64


def test_canonical_json_bytes() -> None:
    assert canonical.dumps({"b": 1, "a": [1, "é", None], "c": {"z": True, "y": 1.5}}) == (
        '{"a":[1,"é",null],"b":1,"c":{"y":1.5,"z":true}}'.encode()
    )
    with pytest.raises(ValueError):
        canonical.dumps({"x": float("nan")})


def test_blake3_known_answer() -> None:
    # BLAKE3 of the empty input, from the BLAKE3 specification's test vectors
    assert digest_bytes(b"") == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"


def test_manifest_golden_bytes() -> None:
    m = Manifest([Entry("z.txt", 3, D2), Entry("a/b.bin", 10, D1, pack=D2, offset=7)])
    digest, data = manifest.encode(m)
    assert data == (
        b'{"artcli":"manifest","version":1}\n'
        b'{"digest":"' + D1.encode() + b'","offset":7,"pack":"' + D2.encode() + b'","path":"a/b.bin","size":10}\n'
        b'{"digest":"' + D2.encode() + b'","path":"z.txt","size":3}\n'
    )
    assert digest == digest_bytes(data)
    assert digest == "4a8535a07ab5a1293daae5a576d8581687efbb94b0842b91cf1e9edd50b105e8"
    assert content_digest(m.entries) == "d33f0d0ba9258fcd8a31c128a61e7211346f8551948e9ceeba4e8a8feb9510e3"
    # the content digest ignores where bytes are stored
    assert content_digest(m.entries) == content_digest([Entry("a/b.bin", 10, D1), Entry("z.txt", 3, D2)])
    assert content_digest(m.entries) != digest


def test_manifest_round_trip_and_tamper() -> None:
    m = Manifest([Entry("a", 1, D1), Entry("b/c", 2, D2)])
    digest, data = manifest.encode(m)
    assert manifest.decode(manifest.decompress(manifest.compress(data), "k"), digest).entries == m.entries
    with pytest.raises(IntegrityError):
        manifest.decode(data.replace(b'"size":1', b'"size":9'), digest)
    with pytest.raises(IntegrityError):
        manifest.decompress(b"not gzip", "k")
    evil = manifest.header_line() + canonical.dumps({"path": "../x", "size": 1, "digest": D1}) + b"\n"
    with pytest.raises(IntegrityError):
        manifest.decode(evil, digest_bytes(evil))


def test_manifest_bomb_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest, "MAX_MANIFEST_BYTES", 1000)
    with pytest.raises(IntegrityError):
        manifest.decompress(gzip.compress(b"x" * 5000), "k")


@given(st.dictionaries(st.text(alphabet="abcdefghij/", min_size=1, max_size=8).filter(
    lambda p: not p.startswith("/") and not p.endswith("/") and "//" not in p), st.integers(0, 2**40), max_size=20))
def test_manifest_round_trip_property(files: dict[str, int]) -> None:
    m = Manifest([Entry(p, s, D1) for p, s in sorted(files.items())])
    digest, data = manifest.encode(m)
    assert manifest.decode(data, digest).entries == m.entries


def test_layout_keys() -> None:
    assert layout.blob_key(D1) == f"blobs/blake3/aa/{'a' * 62}"
    assert layout.manifest_key(D1) == f"manifests/blake3/aa/{'a' * 62}.jsonl.gz"
    assert layout.pack_index_key(D2) == f"packs/blake3/bb/{'b' * 62}.idx"
    assert layout.event_key("projects/p/artifacts/n/", 42) == "projects/p/artifacts/n/events/000000000042.json"
    assert layout.digest_from_key(layout.pack_index_key(D2)) == D2
    assert layout.digest_from_key(layout.manifest_key(D1)) == D1


def test_pack_index_golden_and_round_trip() -> None:
    data = encode_index(D1, [(D2, 0, 5)])
    assert data == (b'{"artcli":"pack-index","pack":"' + D1.encode() + b'","version":1}\n'
                    b'{"digest":"' + D2.encode() + b'","offset":0,"size":5}\n')
    assert decode_index(D1, data) == [(D2, 0, 5)]
    with pytest.raises(IntegrityError):
        decode_index(D2, data)


def test_plan_ranges() -> None:
    assert plan_ranges([(0, 10), (10, 10)], None) == [(0, 20)]
    assert plan_ranges([(0, 10), (5 << 20, 10)], None) == [(0, 10), (5 << 20, (5 << 20) + 10)]
    assert plan_ranges([(0, 60)], 100) == [(0, 100)]
    assert plan_ranges([(50, 10)], 100) == [(50, 60)]


@given(path=st.text(min_size=1, max_size=30).filter(lambda p: "/" not in p and p not in (".", "..")),
       size=st.integers(0, 2**50), offset=st.one_of(st.none(), st.integers(0, 2**40)))
def test_entry_fast_path_is_canonical(path: str, size: int, offset: int | None) -> None:
    e = Entry(path, size, D1, D2 if offset is not None else None, offset)
    assert manifest.entry_line(e) == canonical.dumps(e.to_json()) + b"\n"


def test_pack_index_edges() -> None:
    """The final newline is optional; a blank line inside is a flaw; errors name the index."""
    data = encode_index(D1, [(D2, 0, 5), ("e" * 64, 5, 7)])
    assert decode_index(D1, data.rstrip(b"\n")) == [(D2, 0, 5), ("e" * 64, 5, 7)]
    head, first, second = data.rstrip(b"\n").split(b"\n")
    for bad in (head + b"\n\n" + first + b"\n" + second + b"\n", data + b"\n"):
        with pytest.raises(IntegrityError) as info:
            decode_index(D1, bad)
        assert layout.pack_index_key(D1) in str(info.value)


def test_plan_ranges_boundaries() -> None:
    """Exactly half of a pack wanted reads the whole pack; a hole of exactly ``gap`` bytes is
    read through (one request)."""
    assert plan_ranges([(0, 50)], 100) == [(0, 100)]
    assert plan_ranges([(0, 49)], 100) == [(0, 49)]
    assert plan_ranges([(0, 10), (30, 5)], None, gap=20) == [(0, 35)]
    assert plan_ranges([(0, 10), (31, 5)], None, gap=20) == [(0, 10), (31, 36)]


def test_pack_builder_stores_a_digest_once_and_seals_a_readable_index() -> None:
    from artcli.model import MAX_ENTRY_SIZE
    from artcli.packs import PackBuilder

    b = PackBuilder()
    assert b.add(D1, b"first") == 0 and b.add(D2, b"second") == 5
    assert b.add(D1, b"first") == 0  # the same content again: its first offset, not a copy
    digest, data, index = b.seal()
    assert data == b"firstsecond" and decode_index(digest, index) == [(D1, 0, 5), (D2, 5, 6)]
    edge = encode_index(D1, [(D2, 0, MAX_ENTRY_SIZE)])
    assert decode_index(D1, edge) == [(D2, 0, MAX_ENTRY_SIZE)]
    with pytest.raises(IntegrityError):
        decode_index(D1, encode_index(D1, [(D2, 0, MAX_ENTRY_SIZE + 1)]))


def test_writer_and_reader_agree_on_the_content_digest_of_every_entry_shape() -> None:
    """§3.1: the content digest leaves out where bytes are stored (pack, offset) and keeps what
    identifies them (digest, reference pin), for every shape an entry may take, a packed entry
    that also names a reference included; the reader computes it from the bytes in one pass."""
    entries = [Entry("a/packed-ref", 3, D1, pack=D2, offset=7, ref={"uri": "s3://b/k", "etag": '"e"'}),
               Entry("b/packed", 4, D1, pack=D2, offset=0), Entry("c/loose", 5, D2),
               Entry("d/ref", 6, None, ref={"uri": "https://h/x", "digest": D1})]
    digest, data = manifest.encode(Manifest(entries))
    assert manifest.decode(data, digest).content_digest == content_digest(entries)
    unpacked = [Entry(e.path, e.size, e.digest, ref=e.ref) for e in entries]
    assert content_digest(unpacked) == content_digest(entries)
    assert content_digest([Entry("a/packed-ref", 3, D1, pack=D2, offset=7), *entries[1:]]) != content_digest(entries)


def test_manifest_lines_refuse_unsorted_or_repeated_paths() -> None:
    a, b = Entry("a", 1, D1), Entry("b", 2, D2)
    assert len(list(manifest.iter_lines([a, b]))) == 3
    for bad in ([b, a], [a, a], [a, b, b]):
        with pytest.raises(ValueError, match="not sorted/unique"):
            list(manifest.iter_lines(bad))
    with pytest.raises(ValueError):
        manifest.encode(Manifest([a, Entry("a", 3, D2)]))  # encode sorts, but a path twice stays wrong


def test_a_truncated_manifest_inflates_to_a_prefix_its_digest_refuses() -> None:
    """A gzip stream cut short is not "larger than" anything: what it held so far comes back, and
    the digest check calls the manifest corrupt."""
    m = Manifest([Entry(f"f{i:04d}", i, D1) for i in range(400)])
    digest, data = manifest.encode(m)
    gz = manifest.compress(data)
    part = manifest.decompress(gz[: len(gz) // 2], "k")
    assert data.startswith(part) and 0 < len(part) < len(data)
    with pytest.raises(IntegrityError, match="does not match its digest") as exc:
        manifest.decode(part, digest)
    assert exc.value.kind == manifest.CORRUPT
