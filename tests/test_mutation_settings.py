"""The mutation harness's settings (tests/mutation.py), checked without running mutmut.

Error wording is for people, so the harness never mutates the line that raises an error
(``SKIP_LINES``); a form it missed (``raise check.fail(...)``) made message-only mutants that had
to be listed as equivalent by hand.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mutation

ROOT = Path(__file__).resolve().parents[1]


def _skipped(line: str) -> bool:
    return any(re.search(p, line) for p in mutation.SKIP_LINES)


def _raise_lines(module: str) -> list[str]:
    """The first line of every ``raise <call>(...)`` in a module: an error built by a class or a helper."""
    source = (ROOT / mutation.module_file(module)).read_text()
    lines = source.splitlines()
    return [lines[node.lineno - 1] for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)]


def test_every_error_a_mutated_module_raises_keeps_its_wording_out_of_mutation() -> None:
    modules = sorted({m for group in mutation.GROUPS.values() for m in group.functions})
    missed = [(m, line.strip()) for m in modules for line in _raise_lines(m) if not _skipped(line)]
    assert missed == []
    assert any("raise check.fail(" in line for line in _raise_lines("artcli.manifest"))  # the form once missed


def test_only_the_raise_line_is_skipped_never_the_condition_or_other_calls() -> None:
    for line in ('        raise IntegrityError(f"manifest {what} is truncated", kind=CORRUPT)',
                 "    raise _too_big(what, limit)", '        raise check.fail(CORRUPT, "does not match")',
                 '            raise self.fail(INVALID, "has no valid header") from None',
                 '    logger.warning("x")', '        res.warnings.append("x")'):
        assert _skipped(line), line
    for line in ("    if digest_bytes(data) != expected_digest:", "    return check.fail(CORRUPT, 'x')",
                 "    check.fail(CORRUPT, 'x')", "    raise", "    raise result.exc", "    out = d.decompress(blob)"):
        assert not _skipped(line), line
