"""A missing local input is reported before the remote is contacted (issue 22, defect 7): with an
unreachable default remote, ``log`` of a path that does not exist used to wait for the remote
(17 s of retries) before saying so. Measured in connection attempts, not seconds."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from clihelp import Cli, make_tree
from netwatch import count_connects


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("args", [
    ["log", "ds", "{missing}"],
    ["log", "ds", "{present}", "{missing}"],
    ["log", "ds", "{present}", "--input", "other:v0", "--ref", "{present}", "--ref", "{missing}"],
    ["add-ref", "ds", "{missing}"],
    ["add-ref", "ds", "{present}", "--input", "other:v0"],
], ids=["log", "log-second-path", "log-ref", "add-ref", "add-ref-input"])
def test_missing_input_is_reported_before_the_remote_is_contacted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    port = _dead_port()
    cli = Cli(tmp_path / "home", "s3://no-such-bucket/artcli",
              env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1"})
    present = make_tree(tmp_path / "data", {"a.txt": b"a\n"})
    missing = tmp_path / "nope"
    if args[0] == "add-ref" and "--input" in args:  # add-ref's local --path inputs
        args = [*args, str(missing)]
    seen = count_connects(monkeypatch, port)
    r = cli(*(a.format(missing=missing, present=present) for a in args))
    assert r.code == 3 and str(missing) in r.err, r
    assert seen == [], f"{len(seen)} connection attempts before the missing input was reported"
