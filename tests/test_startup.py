"""Start-up stays light: no cloud library is imported until a command touches such a remote."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["boto3", "botocore", "s3fs", "gcsfs", "fsspec", "aiobotocore", "rich", "pydantic"]


def _loaded(code: str) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_importing_the_cli_imports_no_cloud_library() -> None:
    assert _loaded("import artcli.cli.app") == []


def test_version_is_answered_without_typer() -> None:
    code = "import sys; sys.argv=['artcli','--version']\nfrom artcli.entry import main; main()"
    assert _loaded(code) == []
    probe = subprocess.run([sys.executable, "-c", code + "\nprint('typer' in sys.modules)"],
                           capture_output=True, text=True, check=True).stdout
    assert probe.splitlines() == ["artcli 0.1.0", "False"]


def test_local_command_imports_no_cloud_library(tmp_path) -> None:
    code = (f"import os, sys; os.environ['ARTCLI_CACHE_DIR']={str(tmp_path / 'c')!r}\n"
            f"sys.argv=['artcli','ls','--remote',{(tmp_path / 'r').as_uri()!r}]\n"
            "from artcli.entry import main\ntry:\n    main()\nexcept SystemExit:\n    pass")
    assert _loaded(code) == []
