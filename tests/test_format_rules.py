"""Reader rules of docs/format.md at the level of single objects: the marker (§2.1), manifests
(§3.1, §3.3), times (§1). The conformance corpus (test_format_corpus.py) checks the same rules
end to end through the command line."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artcli import canonical, clock, manifest, marker
from artcli.errors import IntegrityError
from artcli.hashing import digest_bytes
from artcli.model import Entry, Manifest

D1, D2 = "a" * 64, "b" * 64
HEAD = b'{"artcli":"manifest","version":1}\n'


@pytest.mark.parametrize(("data", "state"), [
    (b'{"format":2,"hash":"blake3"}', marker.OK),
    (b'{"format":1,"hash":"blake3"}', marker.OK),
    (b'{"format":2,"hash":"blake3","id":"x"}', marker.OK),
    (b'{"format":3,"hash":"blake3"}', marker.NEWER),
    (b'{"format":2,"hash":"sha256"}', marker.OTHER_HASH),
    (b'{"format":"two","hash":"blake3"}', marker.INVALID),
    (b'{"format":true,"hash":"blake3"}', marker.INVALID),
    (b'{"format":2.0,"hash":"blake3"}', marker.INVALID),
    (b'{"format":0,"hash":"blake3"}', marker.INVALID),
    (b'{"format":2}', marker.INVALID),
    (b'{"hash":"blake3"}', marker.INVALID),
    (b"[2]", marker.INVALID),
    (b"null", marker.INVALID),
    (b'"2"', marker.INVALID),
    (b'{"format":2,', marker.INVALID),
    (b"\xff\xfe", marker.INVALID),
])
def test_marker_states(data: bytes, state: str) -> None:
    assert marker.parse(data, "file:///r").state == state


def test_marker_body_is_what_writers_write() -> None:
    """§2.1: format, hash and a new random 32-hex-digit id per store."""
    import json
    import re

    one, two = json.loads(marker.body()), json.loads(marker.body())
    assert set(one) == {"format", "hash", "id"} and (one["format"], one["hash"]) == (2, "blake3")
    assert re.fullmatch(r"[0-9a-f]{32}", one["id"]) and one["id"] != two["id"]
    assert marker.body("abc") == b'{"format":2,"hash":"blake3","id":"abc"}'


def test_marker_identity() -> None:
    """The id names the store; a marker without one (older writers) gets a stable stand-in
    from its bytes; an id that is not a plain word is not trusted as one."""
    with_id = marker.parse(b'{"format":2,"hash":"blake3","id":"0f3a"}', "u")
    assert with_id.identity == "id:0f3a"
    old = b'{"format":2,"hash":"blake3"}'
    assert marker.parse(old, "u").identity == marker.parse(old, "v").identity != with_id.identity
    odd = marker.parse(b'{"format":2,"hash":"blake3","id":"a/../b"}', "u")
    assert odd.state == marker.OK and odd.identity is not None and odd.identity.startswith("marker:")


def _content(data: bytes) -> str:
    """§3.1 from the text of the spec: the header as it is, each entry without pack/offset."""
    lines = data.split(b"\n")[:-1]
    out = [lines[0] + b"\n"]
    for line in lines[1:]:
        obj = json.loads(line)
        obj.pop("pack", None)
        obj.pop("offset", None)
        out.append(canonical.dumps(obj) + b"\n")
    return digest_bytes(b"".join(out))


def _bytes(header: bytes, objs: list[dict]) -> bytes:
    return header + b"".join(canonical.dumps(o) + b"\n" for o in objs)


ENTRY = st.builds(
    lambda i, size, packed, ref: {"path": f"d/{i:03d}", "size": size, **(
        {"ref": {"uri": f"s3://b/{i}", "etag": '"e"'}} if ref else
        {"digest": D1, **({"pack": D2, "offset": i} if packed else {})})},
    st.integers(0, 999), st.integers(0, 2**40), st.booleans(), st.booleans())


@settings(max_examples=60, deadline=None)
@given(st.lists(ENTRY, max_size=12, unique_by=lambda e: e["path"]))
def test_decode_computes_the_content_digest(objs: list[dict]) -> None:
    objs = sorted(objs, key=lambda o: o["path"])
    data = _bytes(HEAD, objs)
    m = manifest.decode(data, digest_bytes(data))
    assert m.content_digest == _content(data)
    assert m.content_digest == manifest.content_digest(m.entries)  # the writer's computation agrees
    if not any("pack" in o for o in objs):
        assert m.content_digest == digest_bytes(data)  # no packs: the manifest is its own content form


def test_unknown_entry_and_header_fields_are_kept_in_the_content_digest() -> None:
    objs = [{"digest": D1, "mode": "0644", "offset": 3, "pack": D2, "path": "a", "size": 1}]
    data = _bytes(HEAD, objs)
    m = manifest.decode(data, digest_bytes(data))
    assert m.entries == [Entry("a", 1, D1, D2, 3)]
    assert m.content_digest == _content(data) != _content(_bytes(HEAD, [{"digest": D1, "path": "a", "size": 1}]))
    head = b'{"artcli":"manifest","note":"x","version":1}\n'
    data = _bytes(head, objs)
    assert manifest.decode(data, digest_bytes(data)).content_digest == _content(data)


@pytest.mark.parametrize(("data", "kind"), [
    (b'{"artcli":"manifest","version":2}\n', manifest.INVALID),
    (b'{"artcli":"manifest","version":"1"}\n', manifest.INVALID),
    (b'{"artcli":"manifest","version":true}\n', manifest.INVALID),
    (b'{"artcli":"pack-index","version":1}\n', manifest.INVALID),
    (b'{"version":1,"artcli":"manifest"}\n', manifest.NOT_CANONICAL),
    (b'{"artcli": "manifest", "version": 1}\n', manifest.NOT_CANONICAL),
    (HEAD + b'{"digest":"' + D1.encode() + b'","path":"a","size":1}', manifest.NOT_CANONICAL),
    (HEAD + b'{"path":"a","digest":"' + D1.encode() + b'","size":1}\n', manifest.NOT_CANONICAL),
    (HEAD + b'{"digest":"' + D1.encode() + b'","path":"\\u00e9","size":1}\n', manifest.NOT_CANONICAL),
    (HEAD + b'{"digest":"' + D1.encode() + b'","offset":1,"path":"a","size":1}\n', manifest.INVALID),
    (HEAD + b'{"digest":"' + D1.encode() + b'","path":"b","size":1}\n{"digest":"' + D1.encode()
     + b'","path":"a","size":1}\n', manifest.INVALID),
])
def test_manifest_reader_refusals(data: bytes, kind: str) -> None:
    with pytest.raises(IntegrityError) as exc:
        manifest.decode(data, digest_bytes(data))
    assert exc.value.kind == kind, exc.value
    with pytest.raises(IntegrityError) as exc:
        manifest.decode(data, D1)
    assert exc.value.kind == manifest.CORRUPT


def test_writers_bytes_pass_the_canonical_check() -> None:
    m = Manifest([Entry("é/ü.txt", 3, D1), Entry("a", 0, D1, D2, 0), Entry("r", 0, ref={"uri": "s3://b/k", "directory": True})])
    digest, data = manifest.encode(m)
    assert manifest.decode(data, digest).entries == sorted(m.entries, key=lambda e: e.path)


@pytest.mark.parametrize(("text", "utc"), [
    ("2026-03-01T10:00:00.000000Z", "2026-03-01T10:00:00.000000Z"),
    ("2026-03-01T10:00:00Z", "2026-03-01T10:00:00.000000Z"),
    ("2026-03-01T10:00:00.5Z", "2026-03-01T10:00:00.500000Z"),
    ("2026-03-01T12:00:00+02:00", "2026-03-01T10:00:00.000000Z"),
    ("2026-03-01T04:30:00.123-05:30", "2026-03-01T10:00:00.123000Z"),
])
def test_admitted_times(text: str, utc: str) -> None:
    assert clock.normal(text) == utc


@pytest.mark.parametrize("text", ["2026-03-01T10:00:00", "2026-03-01", "20260301T100000Z", "2026-03-01 10:00:00Z",
                                  "2026-03-01T10:00:00.1234567Z", "2026-03-01T24:00:00Z", "2026-03-01T10:00Z",
                                  "2026-03-01T10:00:00+0200", "2026-W09-1T10:00:00Z", 20260301, None])
def test_refused_times(text: object) -> None:
    with pytest.raises(ValueError):
        clock.parse_time(text)
