"""Azure Blob specifics on a real Azurite: URLs, credentials chain, errors, listings across writers.

The Store contract itself runs in tests/test_store_contract.py (``TestAzureStore``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from artcli.errors import NotFoundError, RemoteError, UsageError
from artcli.store import open_store

from azure_emulator import ACCOUNT, ACCOUNT_KEY
from netwatch import count_connects

pytestmark = pytest.mark.azure
ROOT = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_url_forms_and_options(azurite: Any, azure_container: str) -> None:
    for url in (f"abfs://{azure_container}/a/", f"abfss://{azure_container}//a", f"az://{azure_container}/a/"):
        assert open_store(url).url == f"az://{azure_container}/a"
    for url, options in [
        ("az://ab/x", {}),  # too short
        ("az://Upper-Case/x", {}),
        ("az://double--hyphen/x", {}),
        ("az://cont@account.blob.core.windows.net/x", {}),
        ("az://container/p?sv=2024&sig=SECRETSIG", {}),
        ("az://container/a/../b", {}),
        ("az://container", {"account_key": "SECRETKEY"}),
        ("az://container", {"max_attempts": "0"}),
        ("az://container", {"account_name": "Not_Valid"}),
        ("az://container", {"account_url": "http://u:SECRETPW@host/acct"}),
    ]:
        with pytest.raises(UsageError) as info:
            open_store(url, options)
        assert "SECRET" not in str(info.value)


def test_no_account_anywhere_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UsageError) as info:
        open_store("az://container/p")
    assert "account_name" in str(info.value)
    with pytest.raises(UsageError) as info:  # an identity token never travels over plain http
        open_store("az://container/p", {"account_url": f"http://127.0.0.1:9/{ACCOUNT}"})
    assert "https://" in str(info.value)


def test_account_options_with_a_key_from_the_environment(azurite: Any, azure_container: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """account_url names the account; the key comes from the environment, never from options."""
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=other;AccountKey=bm9wZQ==")  # ignored
    monkeypatch.setenv("AZURE_STORAGE_KEY", ACCOUNT_KEY)
    store = open_store(f"az://{azure_container}/p", {"account_url": azurite.endpoint})
    store.put("k", b"v")
    assert store.get("k") == b"v"
    store.close()


def test_wrong_key_is_access_denied_and_never_shown(azurite: Any, azure_container: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string.replace(ACCOUNT_KEY, wrong))
    store = open_store(f"az://{azure_container}/p")
    for call in (lambda: store.get("k"), lambda: store.put_if_absent("k", b"x"), lambda: list(store.list(""))):
        with pytest.raises(RemoteError) as info:
            call()
        text = str(info.value)
        assert "access denied" in text and info.value.exit_code == 6, text
        assert wrong not in text and "AccountKey" not in text and "\n" not in text


def test_missing_container_is_remote_error(azurite: Any) -> None:
    store = open_store(f"az://no-such-container-{os.getpid()}/p")
    for call in (
        lambda: store.get("k"),
        lambda: store.exists("k"),
        lambda: list(store.list("")),
        lambda: store.put("k", b"x"),
        lambda: store.put_if_absent("k", b"x"),
        lambda: store.info("k"),
        lambda: store.delete("k"),
    ):
        with pytest.raises(RemoteError) as info:
            call()
        assert f"container 'no-such-container-{os.getpid()}' does not exist" in str(info.value)


def test_dead_endpoint_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stopped server: 3 quick connection attempts per call by default, 1 with max_attempts=1
    (counted, not timed; the SDK's own policy would wait 15 s, 18 s, 24 s between them)."""
    from artcli.store.azure_client import CONNECT_ATTEMPTS

    port = _closed_port()
    attempts = count_connects(monkeypatch, port)
    url = f"http://127.0.0.1:{port}/{ACCOUNT}"
    for options, expected in (({}, CONNECT_ATTEMPTS), ({"max_attempts": "1"}, 1)):
        store = open_store("az://container/p", {"account_url": url, "anon": "true", **options})
        calls = (lambda s=store: s.get("k"), lambda s=store: list(s.list("")),
                 lambda s=store: s.put_if_absent("k", b"x"))
        for call in calls:
            attempts.clear()
            with pytest.raises(RemoteError) as info:
                call()
            assert "cannot reach" in str(info.value) and "az://container/p" in str(info.value)
            assert info.value.exit_code == 6
            assert len(attempts) == expected, (options, len(attempts))


def test_dead_endpoint_from_the_command_line_is_one_line(tmp_path: Path,
                                                         subprocess_env: Callable[..., dict[str, str]]) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}/{ACCOUNT}"
    env = subprocess_env(AZURE_STORAGE_CONNECTION_STRING=f"AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                                                         f"BlobEndpoint={dead};DefaultEndpointsProtocol=http")
    proc = subprocess.run([sys.executable, "-m", "artcli", "ls", "--remote", "az://container/p"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 6, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2 and "cannot reach" in lines[0], proc.stderr  # the error (+ an optional hint)
    assert "Traceback" not in proc.stderr and ACCOUNT_KEY not in proc.stderr


def test_listings_see_other_writers_at_once(azurite: Any, azure_container: str) -> None:
    """adlfs caches listings per filesystem; each store must see what another wrote a moment ago."""
    reader = open_store(f"az://{azure_container}/p")
    writer = open_store(f"az://{azure_container}/p")
    assert [o.key for o in reader.list("ev/")] == []
    assert not reader.exists("ev/1")
    writer.put_if_absent("ev/1", b"one")
    assert [o.key for o in reader.list("ev/")] == ["ev/1"]
    assert reader.exists("ev/1")
    writer.delete("ev/1")
    assert [o.key for o in reader.list("ev/")] == []
    with pytest.raises(NotFoundError):
        reader.get("ev/1")


def test_exclusive_create_holds_for_block_uploads(azurite: Any, azure_container: str) -> None:
    """Above one block (8 MiB) the SDK stages blocks and commits them with If-None-Match: *."""
    from artcli.store.azure import CHUNK

    store = open_store(f"az://{azure_container}/p")
    first, second = os.urandom(CHUNK + 1024), os.urandom(CHUNK + 2048)
    assert store.put_if_absent("big", first) is True
    assert store.put_if_absent("big", second) is False
    assert store.put_if_absent("big", first) is True  # the same bytes: a retried request of ours
    assert store.get("big") == first
