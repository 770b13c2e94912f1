"""Ops return one shape of result and never print or log: people's text is the face's job."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
from pathlib import Path

import artcli.ops
from artcli.results import Result

OPS = Path(artcli.ops.__file__).parent


def _op_modules() -> list[str]:
    return [f"artcli.ops.{m.name}" for m in pkgutil.iter_modules(artcli.ops.__path__)]


def test_every_op_result_has_the_one_warnings_shape() -> None:
    results = []
    for name in _op_modules():
        mod = importlib.import_module(name)
        results += [obj for attr, obj in vars(mod).items()
                    if isinstance(obj, type) and obj.__module__ == name and dataclasses.is_dataclass(obj)
                    and attr.endswith(("Result", "Report"))]
    assert len(results) >= 15, results
    assert [r.__qualname__ for r in results if not issubclass(r, Result)] == []
    for r in results:  # the one shape: a list of strings, empty unless something was said
        assert [f.default_factory for f in dataclasses.fields(r) if f.name == "warnings"] == [list]


def _speaks(tree: ast.AST) -> list[str]:
    """print() calls and imports of logging or the printer in one module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"print() at line {node.lineno}")
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        found += [f"imports {n} at line {node.lineno}" for n in names
                  if n == "logging" or n.startswith(("artcli.output", "artcli.cli"))]
    return found


def test_ops_never_print_or_log() -> None:
    said = {p.name: s for p in sorted(OPS.glob("*.py")) if (s := _speaks(ast.parse(p.read_text(encoding="utf-8"))))}
    assert said == {}


def test_the_check_can_fail() -> None:
    bad = "import logging\nfrom artcli.cli import output\ndef f():\n    print('x')\n"
    assert len(_speaks(ast.parse(bad))) == 3
