"""Count this process's TCP connection attempts to one port: "fails fast" measured in attempts.

Both blocking clients (botocore/urllib3) and asyncio ones (aiohttp, under s3fs and gcsfs) end in
``socket.socket.connect``, so one patch sees every attempt, whatever thread makes it.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest


def count_connects(monkeypatch: pytest.MonkeyPatch, port: int) -> list[int]:
    """A list that grows by one for every connect to ``127.0.0.1:port`` until the test ends."""
    seen: list[int] = []
    plain = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and len(address) >= 2 and address[1] == port:
            seen.append(port)
        return plain(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen
