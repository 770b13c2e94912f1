"""Output people can read (issue 22): on a terminal, sizes in one unit family (IEC, progress bars
included), counts that agree with their noun, relative times, TTLs in days, tables that fit 80
columns without cutting what identifies a row; NO_COLOR without any style; in pipes and JSON,
the exact values. Terminal tests run on a pseudo-terminal of a fixed size, with COLUMNS and LINES
removed, so they never depend on the terminal running the suite."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from artcli import humanize

from clihelp import Cli, make_tree

pexpect = pytest.importorskip("pexpect")

SGR = re.compile(r"\x1b\[[0-9;]*m")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
T0, T3H = "2026-01-01T00:00:00Z", "2026-01-01T03:00:00Z"
NAME = "customer-churn-prediction-model"
COLL = "registry/models/customer-churn-prediction"
DEEP = "deeply/nested/folder/with/a/long/path/training-images-part-0001.parquet"


def pty(cli: Cli, *args: str, cols: int = 80, env: dict[str, str] | None = None) -> str:
    """``artcli ARGS`` on a pseudo-terminal ``cols`` wide; stdout and stderr as the terminal got them."""
    penv = {k: v for k, v in cli.proc_env({"TERM": "xterm-256color", **(env or {})}).items()
            if k not in ("COLUMNS", "LINES")}
    child = pexpect.spawn(sys.executable, ["-m", "artcli", *args], env=penv, dimensions=(50, cols),
                          timeout=120, encoding="utf-8", codec_errors="replace")
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    return out.replace("\r\n", "\n")


@pytest.fixture
def long_names(cli: Cli, tmp_path: Path) -> Cli:
    data = make_tree(tmp_path / "d", {DEEP: b"a\n", "big.bin": os.urandom(3_000_000), "x": b"1"})
    at = {"ARTCLI_NOW": T0}
    cli.ok("log", NAME, str(data), "--type", "model", "--alias", "candidate-1", env=at)
    (data / "x").write_bytes(b"2")
    cli.ok("log", NAME, str(data), "--alias", "candidate-2", env=at)
    cli.ok("log", "scratch", str(data / "x"), "--ttl", "30d", env=at)
    cli.ok("alias", "add", f"{NAME}:v0", "production", env=at)
    cli.ok("link", f"{NAME}:v1", COLL, env=at)
    cli.ok("link", f"{NAME}:v0", COLL, "--alias", "production", env=at)
    return cli


def test_tables_fit_80_columns_without_cutting_identifiers(long_names: Cli) -> None:
    cli, later = long_names, {"ARTCLI_NOW": T3H}
    runs = sorted({r["run"] for r in cli.ok("history", NAME, "--json").json() if r["run"]})
    assert len(runs) == 2 and runs[0][:-8] == runs[1][:-8], runs  # they differ only in the random suffix
    files = {f["path"]: f["url"] for f in cli.ok("files", NAME, "--json").json()}
    shown = {
        ("ls",): [NAME, "3 h ago"],
        ("ls", NAME): ["v0", "v1", "2.9 MiB", "3 h ago"],
        ("history", NAME): runs,
        ("registry", "show", "models"): [COLL, f"default/{NAME}:v0"],
        ("files", NAME): [DEEP, *files.values()],
    }
    for args, wanted in shown.items():
        screen = ANSI.sub("", pty(cli, *args, env=later))
        for text in wanted:
            assert text in screen, f"artcli {' '.join(args)}: {text!r} is cut or missing at 80 columns:\n{screen}"
        for line in screen.splitlines():
            if not line.lstrip().startswith("url:"):  # a URL is a value: it may run on, never be cut
                assert len(line) <= 80, f"artcli {' '.join(args)}: wider than 80 columns:\n{screen}"
        assert "…" not in screen and "..." not in screen


def test_terminal_words_and_pipe_values(long_names: Cli, tmp_path: Path) -> None:
    cli, later = long_names, {"ARTCLI_NOW": T3H}
    screen = ANSI.sub("", pty(cli, "show", f"{NAME}:v1", env=later))
    assert "created:     3 h ago" in screen and "2.9 MiB (3,000,003 bytes)" in screen, screen
    ttl = ANSI.sub("", pty(cli, "ttl", "show", "scratch", env=later))
    assert re.search(r"remaining:\s+29 days\n", ttl) and "w1d" not in ttl, ttl
    # in a pipe: the exact ISO times and bytes
    piped = cli.ok("ls", NAME, env=later).out
    assert "2026-01-01T00:00:00.000000Z" in piped and "ago" not in piped and "MiB" not in piped
    assert cli.ok("show", f"{NAME}:v1", "--json", env=later).json()["created"] == "2026-01-01T00:00:00.000000Z"
    # a download's summary counts in words; the bar and the summary in IEC units
    raw = pty(cli, "download", f"{NAME}:v0", "--root", str(tmp_path / "o"), cols=120)
    assert "(3 files written)" in raw and re.search(r"\d+(\.\d)?/\d+(\.\d)? MiB", raw), raw[-600:]
    assert not re.search(r"\d (MB|kB|GB)\b", raw), raw[-600:]
    one = cli.ok("download", f"{NAME}:v0", "--root", str(tmp_path / "one"), "--path-prefix", "x")
    assert "(1 file written)" in one.err, one.err


def test_no_color_means_no_style_at_all(long_names: Cli) -> None:
    styled = pty(long_names, "ls", NAME)
    assert SGR.search(styled), "the default table is styled: proves the check below bites"
    for args in (("ls", NAME), ("history", NAME), ("show", NAME), ("metadata", "ls", NAME)):
        out = pty(long_names, *args, env={"NO_COLOR": "1"})
        assert not SGR.search(out), f"artcli {' '.join(args)} wrote a style under NO_COLOR: {out!r}"


def test_not_found_hints_name_the_closest_only(cli: Cli, tmp_path: Path) -> None:
    data = make_tree(tmp_path / "d", {"a": b"a"})
    for name in ("mnist", "imagenet", "cifar10", "churn-model", "fraud-model"):
        cli.ok("log", name, str(data))
    r = cli("show", "mnsit")
    assert r.code == 3 and "did you mean 'mnist'?" in r.err and "imagenet" not in r.err, r
    r = cli("show", "zzzz")
    assert r.code == 3 and "imagenet" not in r.err and "artcli ls" in r.err, r
    cli.ok("alias", "add", "mnist", "production")
    r = cli("download", "mnist:prodution")
    assert r.code == 3 and "did you mean 'production'?" in r.err, r
    cli.ok("link", "churn-model", "registry/datasets/churn")
    r = cli("download", "registry/datasets/chrun")
    assert r.code == 3 and "did you mean 'registry/datasets/churn'?" in r.err, r
    r = cli("registry", "show", "modles")
    assert r.code == 3 and "did you mean 'models'?" in r.err, r


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
                                         (1536 * 1024 * 1024, "1.5 GiB"), (None, "-")])
def test_one_unit_family(n: int | None, text: str) -> None:
    assert humanize.size(n) == text


def test_progress_amounts() -> None:
    assert humanize.progress(0, 32 << 20) == "0.0/32.0 MiB"
    assert humanize.progress(3 << 29, 3 << 30) == "1.5/3.0 GiB"
    assert humanize.progress(10, 500) == "10/500 B"


def test_plurals_and_spans() -> None:
    assert [humanize.plural(k, "file") for k in (0, 1, 2, 1234)] == ["0 files", "1 file", "2 files", "1,234 files"]
    assert humanize.plural(1, "entry", "entries") == "1 entry"
    assert [humanize.span(s) for s in (30 * 86400 - 1, 86400 + 5, 5 * 3600, 720, 40)] == \
        ["29 days", "24 h", "5 h", "12 min", "40 s"]
