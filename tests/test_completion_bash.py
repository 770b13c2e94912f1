"""Bash completion as bash runs it (issue 22, defect 2): the installed script is the generated
one, `name:tag<TAB>` completes with bash's default COMP_WORDBREAKS (which splits at ':') without
the script changing COMP_WORDBREAKS for the whole shell; registry references, --direction /
--format values and -r remote names complete."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clihelp import Cli, make_tree

SCRIPT = Path(__file__).resolve().parent.parent / "completions" / "artcli.bash"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


@pytest.fixture
def seeded(cli: Cli, tmp_path: Path) -> Cli:
    data = make_tree(tmp_path / "d", {"a.txt": b"1"})
    cli.ok("log", "churn-model", str(data), "--alias", "production", "--type", "model")
    cli.ok("link", "churn-model:v0", "registry/models/churn", "--alias", "prod")
    cli.ok("registry", "show", "models")
    cli.ok("remote", "add", "team", str(tmp_path / "team"))
    cli.ok("remote", "add", "teamcity", str(tmp_path / "tc"))
    return cli


def bash_complete(cli: Cli, tmp_path: Path, line: str) -> tuple[list[str], str]:
    """Source the script in a real bash with its default COMP_WORDBREAKS, split ``line`` into
    COMP_WORDS as readline does (':' is a word of its own), call the completion function;
    return COMPREPLY and COMP_WORDBREAKS afterwards."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "artcli"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m artcli \"$@\"\n")
    shim.chmod(0o755)
    words = re.findall(r"[^\s:]+|:", line) + ([""] if line.endswith((" ", ":")) else [])
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
    prog = (f"source '{SCRIPT}'\n"
            f"COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
            "_artcli_completion artcli\n"
            "printf 'reply:%s\\n' \"${COMPREPLY[@]}\"\n"
            "printf 'breaks:%s\\n' \"$COMP_WORDBREAKS\"\n")
    env = cli.proc_env({"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"})
    res = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], env=env, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    replies = [ln[6:] for ln in res.stdout.splitlines() if ln.startswith("reply:") and ln[6:]]
    breaks = res.stdout.split("breaks:", 1)[1]
    return replies, breaks


def test_colon_words_complete_with_the_default_wordbreaks(seeded: Cli, tmp_path: Path) -> None:
    default_breaks = subprocess.run(["bash", "--norc", "-c", "printf %s \"$COMP_WORDBREAKS\""],
                                    capture_output=True, text=True).stdout
    assert ":" in default_breaks
    # bash replaces only what follows the last ':' of the word: the replies are that part
    replies, breaks = bash_complete(seeded, tmp_path, "artcli download churn-model:prod")
    assert replies == ["production"], replies
    assert breaks.rstrip("\n") == default_breaks, "the script changed COMP_WORDBREAKS for the shell"
    assert bash_complete(seeded, tmp_path, "artcli show churn-model:")[0] == ["latest", "production", "v0"]
    assert bash_complete(seeded, tmp_path, "artcli download chu")[0] == ["churn-model"]
    # registry references, with and without a tag
    assert bash_complete(seeded, tmp_path, "artcli download registry/models/ch")[0] == ["registry/models/churn"]
    assert bash_complete(seeded, tmp_path, "artcli download registry/models/churn:p")[0] == ["prod"]
    assert bash_complete(seeded, tmp_path, "artcli unlink registry/models/churn:v")[0] == ["v0"]
    assert bash_complete(seeded, tmp_path, "artcli link churn-model:v0 reg")[0] == ["registry/models/churn"]
    # option values and remote names
    assert bash_complete(seeded, tmp_path, "artcli lineage churn-model --direction d")[0] == ["down"]
    assert bash_complete(seeded, tmp_path, "artcli lineage churn-model --format m")[0] == ["mermaid", "markdown"]
    assert bash_complete(seeded, tmp_path, "artcli ls --format j")[0] == ["json"]
    assert bash_complete(seeded, tmp_path, "artcli ls -r te")[0] == ["team", "teamcity"]
    assert bash_complete(seeded, tmp_path, "artcli remote show teamc")[0] == ["teamcity"]


def test_installed_script_is_the_generated_one(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    r = cli.run("--install-completion", "bash", env={"HOME": str(home)})
    assert r.code == 0, r.err
    installed = (home / ".bash_completions" / "artcli.sh").read_text()
    assert installed.strip() == SCRIPT.read_text().strip()
    assert cli.run("--show-completion", "bash").out.strip() == SCRIPT.read_text().strip()
    assert "COMP_WORDBREAKS=" not in installed  # read, never assigned
