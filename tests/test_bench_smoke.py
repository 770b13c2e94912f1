"""The benchmark suite's smallest size, artcli only: the harness and every step still work.

Timings are not asserted here (speed is measured in benchmarks/, side by side with peers);
what is asserted is that each step ran, produced figures, and hit no error.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.smoke import problems, run_smoke


def test_benchmark_smoke(tmp_path: Path) -> None:
    res = run_smoke([sys.executable, "-m", "artcli"], tmp_path)
    assert problems(res) == []
    assert res["steps"], "no step ran"


def test_a_partial_run_never_replaces_the_last_complete_report() -> None:
    from benchmarks.run import latest_name

    assert latest_name("full", "") == "latest-full.md"
    assert latest_name("full", "4") == "latest-full-download.md"
    assert latest_name("small", "push,download") == "latest-small-push-download.md"
