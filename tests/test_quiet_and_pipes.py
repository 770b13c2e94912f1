"""``--quiet`` prints data and errors only (issue 22, defect 9), and ``lineage`` prints the same
kind of output in a pipe as on a terminal (defect 10): a plain tree, JSON only when asked."""

from __future__ import annotations

import json
from pathlib import Path

from clihelp import Cli, make_tree


def _corrupt_second_event(cli: Cli) -> None:
    root = Path((cli.remote or "").removeprefix("file://"))
    events = root / "projects" / "default" / "artifacts" / "ds" / "events"
    (events / "000000000001.json").write_text("garbage{")


def test_quiet_silences_warnings_but_not_data_or_errors(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "ds", str(make_tree(tmp_path / "d", {"a.txt": b"a"})))
    _corrupt_second_event(cli)
    loud = cli.ok("show", "ds")
    assert "warning: skipped corrupt event" in loud.err, loud
    quiet = cli.ok("--quiet", "show", "ds")
    assert quiet.err == "" and quiet.out == loud.out, quiet
    assert cli.ok("-q", "download", "ds", "--root", str(tmp_path / "o")).err == ""
    r = cli("--quiet", "show", "nope")
    assert r.code == 3 and r.err.startswith("error: "), r


def test_lineage_in_a_pipe_is_the_tree_not_json(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "raw", str(make_tree(tmp_path / "d", {"a.txt": b"a"})))
    cli.ok("log", "clean", str(make_tree(tmp_path / "c", {"b.txt": b"b"})), "--input", "raw:v0")
    piped = cli.ok("lineage", "clean").out  # stdout is not a terminal here
    assert piped.splitlines()[0].startswith("default/clean:v0"), piped
    assert "default/raw:v0" in piped and not piped.lstrip().startswith("{")
    assert json.loads(cli.ok("lineage", "clean", "--json").out)["root"] == "default/clean:v0"
    assert json.loads(cli.ok("lineage", "clean", "--format", "json").out)["root"] == "default/clean:v0"
    out = tmp_path / "graph.json"
    cli.ok("lineage", "clean", "--output", str(out))
    assert json.loads(out.read_text())["root"] == "default/clean:v0"
    mmd = tmp_path / "graph.mmd"
    cli.ok("lineage", "clean", "--output", str(mmd))
    assert mmd.read_text().startswith("flowchart")
