"""benchmarks/site_bench.py runs end to end at a tiny size (the 1,000 x 10 run is a benchmark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_site_bench_smoke(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks/site_bench.py"), "--artifacts", "20", "--versions",
                          "2", "--work", str(tmp_path / "work"), "--scratch", str(tmp_path / "scratch"),
                          "--results", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(next(tmp_path.glob("site-20x2-*.json")).read_text())
    first, warm, same, after = report["builds"]
    assert first["written"] == warm["written"] == first["pages"] > 40 and first["logs_changed"] == first["logs"]
    assert same["written"] == 0 and same["logs_changed"] == 0
    assert 0 < after["written"] < 25 and "run/job-extra.html" in after["written_pages"]
