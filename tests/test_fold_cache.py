"""The cached fold of an artifact (``ArtifactFold.dump``/``load``): a warm reader that loads it
and folds the events after it gets exactly the state a cold fold of the whole log gives.

Versions are cached in compressed blocks (``folds.BLOCK``) decompressed only when one of their
versions is read; these tests use blocks of 3 so every log spans several, and fold the rest of
the log onto a loaded state (touching versions in old blocks) before caching it again.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from artcli.state import codec, folds
from artcli.state.artifact import ArtifactState, VersionState
from artcli.state.folds import ArtifactFold, LazyVersions
from test_state import created, ev


def random_log(rng: random.Random, n: int) -> list[tuple[str, dict[str, Any]]]:
    """Versions, alias moves, metadata on old and new versions, deletions and uses."""
    out: list[tuple[str, dict[str, Any]]] = []
    versions = 0
    for seq in range(n):
        r = rng.random()
        if versions == 0 or r < 0.3:
            out.append(created(seq, versions, metadata={"step": {"value": seq, "type": None}}))
            versions += 1
        elif r < 0.55:
            out.append(ev(seq, "metadata_set", version=rng.randrange(versions),
                          entries={"loss": {"value": rng.random(), "type": None}}))
        elif r < 0.75:
            out.append(ev(seq, "alias_set", alias=rng.choice(["best", "prod"]), version=rng.randrange(versions)))
        elif r < 0.85:
            out.append(ev(seq, "version_deleted", version=rng.randrange(versions), reason="x"))
        else:
            out.append(ev(seq, "used", version=rng.randrange(versions), run=f"job-{seq}"))
    return out


def encoded(s: ArtifactState, history: bool) -> tuple[bytes, dict[int, bytes]]:
    """The state and each version as the codec writes them (histories left out of a summary)."""
    versions = s.versions
    s.versions = {}
    try:
        if not history:
            folds._strip(s, [])
        head = codec.dumps(s)
    finally:
        s.versions = versions
    out = {}
    for n in list(versions):
        vs: VersionState = versions[n]
        if not history:
            folds._strip_version(vs, [])
        out[n] = codec.dumps(vs)
    return head, out


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(folds, "BLOCK", 3)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), cut=st.floats(0, 1), history=st.booleans(),
       peek=st.integers(0, 20))
def test_loading_the_cache_and_folding_the_rest_is_the_cold_fold(seed: int, n: int, cut: float, history: bool,
                                                                  peek: int) -> None:
    log = random_log(random.Random(seed), n)
    k = int(cut * n)
    fold = ArtifactFold("p", "n", history)
    cold = fold.new()
    fold.fold(cold, log)

    warm = fold.new()
    fold.fold(warm, log[:k])
    warm = fold.load(fold.dump(warm))
    assert isinstance(warm.versions, LazyVersions)
    if warm.versions:  # a reader looks at one version before folding more (its block is opened)
        warm.versions[list(warm.versions)[peek % len(warm.versions)]]
    fold.fold(warm, log[k:])
    again = fold.load(fold.dump(warm))  # untouched blocks are written back as they were
    assert encoded(again, history) == encoded(cold, history)
    assert list(again.versions) == list(cold.versions)


def test_a_show_decompresses_only_the_block_it_reads() -> None:
    log = [created(i, i) for i in range(30)]
    fold = ArtifactFold("p", "n", history=False)
    s = fold.new()
    fold.fold(s, log)
    loaded = fold.load(fold.dump(s))
    raw = [dict.__getitem__(loaded.versions, k) for k in loaded.versions]
    assert all(type(v) is folds._Block for v in raw) and len({id(v) for v in raw}) == 10
    assert loaded.versions[loaded.latest].version == 29
    opened = [k for k in loaded.versions if type(dict.__getitem__(loaded.versions, k)) is not folds._Block]
    assert opened == [27, 28, 29]
