"""Many writers on one artifact: distinct consecutive versions, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from clihelp import Cli, make_tree

WRITERS = 8


@pytest.fixture(params=["file", pytest.param("s3", marks=[pytest.mark.s3, pytest.mark.slow]),
                        pytest.param("azure", marks=[pytest.mark.azure, pytest.mark.slow])])
def writers_cli(request: pytest.FixtureRequest) -> Cli:
    """file in make test; the S3 and Azure twins in make test-slow: on those remotes make test
    races the same logs (new and identical content) in tests/test_many_writers.py."""
    return request.getfixturevalue({"file": "cli", "s3": "s3_cli", "azure": "azure_cli"}[request.param])


def test_parallel_logs_get_distinct_versions(writers_cli: Cli, tmp_path: Path) -> None:
    cli = writers_cli
    dirs = [make_tree(tmp_path / f"in{i}", {"data.txt": f"writer {i}\n".encode(), "shared.bin": b"same" * 100})
            for i in range(WRITERS)]
    procs = [cli.spawn("log", "ds", str(d), "--json") for d in dirs]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        results.append(__import__("json").loads(out))
    versions = sorted(int(r["version"][1:]) for r in results)
    assert versions == list(range(WRITERS))
    assert all(r["created"] for r in results)
    listed = cli.ok("ls", "ds", "--json").json()
    assert [v["version"] for v in listed] == [f"v{i}" for i in range(WRITERS)]
    by_digest = {r["digest"]: r["version"] for r in results}
    assert len(by_digest) == WRITERS
    for r in results:  # each version holds exactly what its writer logged
        out = tmp_path / f"out-{r['version']}"
        cli.ok("download", r["ref"], "--root", str(out))
        i = int((out / "data.txt").read_text().split()[1])
        assert (out / "data.txt").read_bytes() == (dirs[i] / "data.txt").read_bytes()


def test_parallel_identical_logs_make_one_version(writers_cli: Cli, tmp_path: Path) -> None:
    cli = writers_cli
    d = make_tree(tmp_path / "same", {"a.txt": b"identical\n"})
    procs = [cli.spawn("log", "ds", str(d), "--json") for _ in range(6)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        outs.append(__import__("json").loads(out))
    assert {o["version"] for o in outs} == {"v0"}
    assert sum(o["created"] for o in outs) == 1
