"""``mypy --strict`` passes on a user script that uses the public API (tests/api_typing/user_script.py).

``--follow-imports=silent``: artcli's internal modules give the types but are not themselves
judged here (they are not all strictly typed); the public modules (``artcli/__init__.py``,
``artcli/api/``) are, and every call the script makes must resolve to an annotated signature,
or ``--strict`` (disallow-untyped-calls) reports it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "api_typing" / "user_script.py"


def _mypy(*files: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "--no-incremental",
                           "--cache-dir", str(cache), *map(str, files)],
                          cwd=ROOT, capture_output=True, text=True)


def test_user_script_passes_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    res = _mypy(SCRIPT, ROOT / "artcli" / "__init__.py", ROOT / "artcli" / "api", cache=tmp_path / "cache")
    assert res.returncode == 0, res.stdout + res.stderr  # the script, and the public modules themselves


def test_mypy_catches_a_misuse(tmp_path: Path) -> None:
    """The check can fail: a wrong result type and a misspelt keyword are reported."""
    pytest.importorskip("mypy")
    bad = tmp_path / "bad_script.py"
    bad.write_text("import artcli\n\n\ndef f() -> None:\n"
                   "    repo = artcli.open()\n"
                   "    rows: list[artcli.FileInfo] = repo.ls('ds')\n"
                   "    repo.log('ds', ['d'], typ='model')\n")
    res = _mypy(bad, cache=tmp_path / "cache")
    assert res.returncode == 1
    assert 'Incompatible types in assignment' in res.stdout and 'Unexpected keyword argument "typ"' in res.stdout

