"""What the docs say matches what artcli does (issue 22, defect 11)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from clihelp import Cli, make_tree

ROOT = Path(__file__).resolve().parent.parent


def test_lineage_schema_names_every_edge_kind_and_depth_is_not_truncation(cli: Cli, tmp_path: Path) -> None:
    schema = json.loads((ROOT / "docs/schemas/lineage.json").read_text())
    kinds = set(schema["properties"]["edges"]["items"]["properties"]["kind"]["enum"])
    made = set(re.findall(r'self\.edge\([^)]*"(\w+)"\)', (ROOT / "artcli/lineagewalk.py").read_text()))
    assert made and made == kinds, (made, kinds)
    assert "--depth cut" not in (ROOT / "docs/json.md").read_text()
    assert "node cap" in schema["properties"]["truncated"]["description"]
    cli.ok("log", "a", str(make_tree(tmp_path / "a", {"x": b"1"})))
    cli.ok("log", "b", str(make_tree(tmp_path / "b", {"y": b"2"})), "--input", "a:v0")
    cli.ok("log", "c", str(make_tree(tmp_path / "c", {"z": b"3"})), "--input", "b:v0")
    g = cli.ok("lineage", "c", "--direction", "up", "--depth", "1", "--json").json()
    assert "default/a:v0" not in {n["id"] for n in g["nodes"]} and g["truncated"] is False


def test_cache_info_text_uses_the_json_names(cli: Cli) -> None:
    data = cli.ok("cache", "info", "--json").json()
    labels = [ln.split(":", 1)[0] for ln in cli.ok("cache", "info").out.splitlines()]
    assert "tmp" in data and "tmp" in labels and "partial" not in labels


def test_doc_examples_in_order() -> None:
    reg = (ROOT / "docs/registries.md").read_text()
    assert "alias add churn-model:best" not in reg, "the alias 'best' is used before anything sets it"
    readme = (ROOT / "README.md").read_text()
    assert all("--default" in ln for ln in readme.splitlines() if ln.startswith("artcli remote add") and "--local" in ln)
    assert "four-stage" in (ROOT / "docs/makefile.md").read_text()
