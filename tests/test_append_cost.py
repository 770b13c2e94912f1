"""Appending to a long log costs what is new, not the whole log (issue 24).

Counted in events parsed, not in seconds: ``metadata set`` on an artifact and the catalogue
touch every ``log`` writes used to parse every cached event of the log at each call (on a
100,000-event artifact a ``metadata set`` took 5 s of CPU and 480 MiB).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from artcli import eventlog, layout
from artcli.eventlog import encode
from artcli.store import open_store

from clihelp import Cli, make_tree

K = 300  # events written behind the CLI's back: well past SNAPSHOT_MIN, short of a checkpoint block


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many event bodies were parsed (one entry each)."""
    seen: list[int] = []
    real = eventlog._parse

    def counting(body: bytes) -> Any:
        seen.append(1)
        return real(body)

    monkeypatch.setattr(eventlog, "_parse", counting)
    return seen


def _grow(cli: Cli, prefix: str, body: dict[str, Any]) -> None:
    store = open_store(cli.remote or "")
    start = sum(1 for _ in store.list(layout.events_prefix(prefix)))
    for seq in range(start, start + K):
        assert store.put_if_absent(layout.event_key(prefix, seq), encode(body, seq, None)[1])


def test_metadata_set_on_a_long_log_parses_only_what_is_new(cli: Cli, tmp_path: Path, parses: list[int]) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "d", {"a.txt": b"a\n"})))
    _grow(cli, layout.artifact_prefix("default", "ds"),
          {"type": "metadata_set", "version": 0, "entries": {"loss": {"value": 0.5, "type": None}}})
    cli.ok("metadata", "set", "ds:v0", "step=1")  # reads the K new events (and caches their fold)
    parses.clear()
    cli.ok("metadata", "set", "ds:v0", "step=2")
    assert len(parses) < K // 4, f"a metadata set parsed {len(parses)} events of a {K + 2}-event log"
    assert cli.ok("show", "ds:v0", "--json").json()["metadata"] == {"step": 2, "loss": 0.5}


def test_the_catalogue_touch_of_a_log_parses_no_catalogue_event(cli: Cli, tmp_path: Path,
                                                                parses: list[int]) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "d", {"a.txt": b"a\n"})))
    _grow(cli, layout.catalogue_prefix("default"), {"type": "artifact_touched", "name": "other", "touch": "0" * 16})
    cli.ok("ls")  # the catalogue's K new events are read and folded once
    parses.clear()
    cli.ok("log", "ds", str(make_tree(tmp_path / "e", {"b.txt": b"b\n"})))
    assert len(parses) < K // 4, f"a log parsed {len(parses)} events (the catalogue holds {K + 2})"
