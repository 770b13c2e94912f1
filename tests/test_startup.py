"""Start-up stays light: no cloud library is imported until a command touches such a remote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clihelp import Cli

HEAVY = ["boto3", "botocore", "s3fs", "gcsfs", "fsspec", "aiobotocore", "rich", "pydantic", "adlfs", "azure"]


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


def test_subprocesses_import_this_tree(tmp_path: Path) -> None:
    """Tests that start ``python -m artcli`` (test_secrets, test_examples, every ``cli.spawn``)
    test this tree, not an artcli installed elsewhere: here a decoy package stands for that
    other install, found after whatever the suite's environment puts first."""
    decoy = tmp_path / "elsewhere"
    (decoy / "artcli").mkdir(parents=True)
    (decoy / "artcli" / "__init__.py").write_text("")
    probe = "import artcli; print(artcli.__file__)"
    tree = Path(__file__).resolve().parents[1] / "artcli" / "__init__.py"
    for env in (dict(os.environ), Cli(tmp_path / "home", None).proc_env()):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(decoy)) if p)
        out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True,
                             text=True, check=True).stdout
        assert Path(out.strip()) == tree


def test_import_artcli_is_lazy() -> None:
    """``import artcli`` loads only the version string: not the API, the ops, typer or any cloud library."""
    probe = ("import sys, artcli\nprint(sorted(m for m in sys.modules if m.startswith('artcli')), "
             "'typer' in sys.modules, 'blake3' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['artcli', 'artcli.version'] False False"
    assert _loaded("import artcli") == []


def test_the_api_on_a_local_remote_imports_no_cloud_library(tmp_path: Path) -> None:
    """Opening a local remote, logging and reading through the API pulls no fsspec, boto3 or rich."""
    data = tmp_path / "d"
    data.mkdir()
    (data / "f.txt").write_text("x")
    code = (f"import os; os.environ['ARTCLI_CACHE_DIR']={str(tmp_path / 'c')!r}\n"
            "import artcli\n"
            f"with artcli.open({(tmp_path / 'r').as_uri()!r}) as repo:\n"
            f"    repo.log('ds', [{str(data)!r}]); repo.ls('ds'); repo.show('ds'); repo.files('ds')\n"
            "assert artcli.VersionInfo and artcli.errors.NotFoundError")
    assert _loaded(code) == []


#: what only moving files on S3 needs: a warm read imports none of it (~0.25 s of CPU, ~16 MiB)
S3_TRANSFER_STACK = ["s3fs", "aiobotocore", "aiohttp", "fsspec", "boto3", "rich"]


def _s3_command_loads(cli: Cli, *argv: str) -> tuple[dict[str, object], list[str]]:
    """Run ``artcli ARGV`` in a fresh process on ``cli``'s remote: its exit code and output, and
    which of the heavy modules (and botocore) it imported."""
    probe = ("import json, sys\n"
             f"sys.argv = ['artcli', *{list(argv)!r}]\n"
             "from artcli.entry import main\n"
             "try:\n    main()\n    code = 0\nexcept SystemExit as exc:\n    code = exc.code\n"
             f"heavy = [m for m in {[*S3_TRANSFER_STACK, 'botocore']!r} if m in sys.modules]\n"
             "print('\\nPROBE ' + json.dumps({'code': code, 'heavy': heavy}))\n")
    out = subprocess.run([sys.executable, "-c", probe], env=cli.proc_env(), capture_output=True, text=True, check=True)
    body, _, probe_line = out.stdout.rpartition("\nPROBE ")
    found = json.loads(probe_line)
    assert found["code"] in (0, None), out.stderr
    return {"stdout": body}, found["heavy"]


@pytest.mark.s3
def test_a_warm_read_on_s3_sends_its_requests_without_the_transfer_stack(s3_cli: Cli, tmp_path: Path) -> None:
    """A warm ``show`` on S3 is two requests (the marker's GET, the events' LIST): a blocking
    botocore client sends them, and s3fs, aiobotocore, aiohttp, fsspec and boto3 are imported
    only by commands that move files (issue 24: warm ``show`` ≤ 0.5 s of CPU). The same holds
    when another writer added an event since (one more GET), for ``ls`` and for ``alias add``
    (one conditional PUT)."""
    from clihelp import make_tree

    make_tree(tmp_path / "d", {"a.txt": b"alpha\n"})
    s3_cli.ok("log", "ds", str(tmp_path / "d"))
    s3_cli.ok("show", "ds:latest")  # the cache now holds the log
    out, heavy = _s3_command_loads(s3_cli, "show", "ds:latest", "--json")
    assert json.loads(str(out["stdout"]))["version"] == "v0"
    assert heavy == ["botocore"], f"a warm show imported {heavy}"

    other = Cli(tmp_path / "other", s3_cli.remote)  # another machine: its own cache
    assert other.run("alias", "add", "ds:v0", "best").code == 0  # one event s3_cli's cache has not seen
    out, heavy = _s3_command_loads(s3_cli, "show", "ds:best", "--json")
    assert "best" in json.loads(str(out["stdout"]))["aliases"]
    assert heavy == ["botocore"], f"a warm show reading one new event imported {heavy}"

    for argv in (["ls", "--json"], ["alias", "add", "ds:v0", "prod"]):
        _out, heavy = _s3_command_loads(s3_cli, *argv)
        assert heavy == ["botocore"], f"{argv[0]} imported {heavy}"
    assert "prod" in s3_cli.ok("show", "ds:latest", "--json").json()["aliases"]
