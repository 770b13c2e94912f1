"""BLAKE3 file hashing agrees with in-memory hashing at every size and chunk boundary."""

from __future__ import annotations

import io
import os
from pathlib import Path

import blake3
import pytest

from artcli import hashing


@pytest.mark.parametrize("size", [0, 1, 1023, 1 << 20, hashing.CHUNK - 1, hashing.CHUNK, hashing.CHUNK * 2 + 7])
def test_file_digest_matches_reference(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    p = tmp_path / "f"
    p.write_bytes(data)
    expected = blake3.blake3(data).hexdigest()
    assert hashing.digest_file(p) == expected
    assert hashing.digest_bytes(data) == expected
    assert hashing.digest_stream(io.BytesIO(data)) == expected


def test_incremental_hasher_matches_one_shot() -> None:
    h = hashing.new_hasher()
    h.update(b"abc")
    h.update(b"def")
    big = hashing.new_hasher(hashing.CHUNK)  # threaded: same digest
    big.update(b"abcdef")
    assert h.hexdigest() == big.hexdigest() == blake3.blake3(b"abcdef").hexdigest()
