"""Every ```python block of docs/python.md runs, in order, as one program in a fresh process,
against a local folder and against the S3 server; then the remote holds what the page says.

Tracebacks name the page and line (each block is compiled at its own line of docs/python.md).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from clihelp import Cli, make_tree
from conftest import env_for_subprocess
from fixtures_cli import S3

DOC = Path(__file__).resolve().parent.parent / "docs" / "python.md"
FENCE = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)

RUNNER = """
import json, sys
blocks = json.load(open(sys.argv[1]))
scope = {"__name__": "__main__"}
for line, source in blocks:
    print(f"--- block at docs/python.md:{line}", flush=True)
    exec(compile("\\n" * (line - 1) + source, "docs/python.md", "exec"), scope)
print("--- all blocks ran", flush=True)
"""


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line of the code, code) of every ```python block."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1)) for m in FENCE.finditer(text)]


def test_the_page_has_the_seed_workflows() -> None:
    blocks = python_blocks(DOC.read_text())
    code = "\n".join(src for _, src in blocks)
    assert len(blocks) >= 8
    for needle in ("repo.log(", "artcli.run(", "run.use(", "run.download(", "run.log(", "run.log_metadata(",
                   "checksum=False", "max_objects=", "ttl=timedelta", "repo.ttl(", "repo.link(",
                   'download("registry/models/', "threading.Thread"):
        assert needle in code, f"docs/python.md has no example of {needle}"


@pytest.mark.parametrize("kind", ["file", S3])
def test_docs_python_examples_run(kind: str, tmp_path: Path, make_remote: Callable[[str], Any],
                                  request: pytest.FixtureRequest) -> None:
    url, options = make_remote(kind)
    extra = {"ARTCLI_REMOTE": url}
    if kind == "s3":
        bucket = url.removeprefix("s3://").split("/")[0]
        admin = request.getfixturevalue("_s3_admin")
        for i in range(3):
            admin.put_object(Bucket=bucket, Key=f"raw-images/img{i}.png", Body=bytes([i]) * (100 + i))
        extra["SOURCE"] = f"s3://{bucket}/raw-images/"
        extra["AWS_ENDPOINT_URL"] = options["endpoint_url"]
    else:
        src = make_tree(tmp_path / "raw-images", {f"img{i}.png": bytes([i]) * (100 + i) for i in range(3)})
        extra["SOURCE"] = src.as_uri()
    work = tmp_path / "work"
    work.mkdir()
    blocks = tmp_path / "blocks.json"
    blocks.write_text(json.dumps(python_blocks(DOC.read_text())))
    env = env_for_subprocess(tmp_path / "home", extra=extra)
    res = subprocess.run([sys.executable, "-c", RUNNER, str(blocks)], cwd=work, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0 and res.stdout.endswith("--- all blocks ran\n"), res.stdout[-3000:] + res.stderr[-5000:]

    # the remote holds what the page says it does, read back through the CLI
    cli = Cli(tmp_path / "home", url, env={"ARTCLI_PROJECT": "vision", **extra})
    names = {r["name"]: r for r in cli.ok("ls", "--json").json()}
    assert set(names) == {"mnist", "mnist-cnn", "eval-report", "raw-images", "raw-images-live", "scratch",
                          "mnist-ckpt"}
    assert names["mnist-ckpt"]["versions"] == 3
    model = cli.ok("show", "registry/models/mnist-classifier:production", "--json").json()
    assert model["ref"] == "vision/mnist-cnn:v0"
    up = cli.ok("lineage", "mnist-cnn", "--direction", "up", "--json").json()
    runs = [n for n in up["nodes"] if n["kind"] == "run"]
    # the training run, and the run repo.log made up for mnist:v0; both name the python program
    assert sorted((r["job_type"] or "", r["status"] or "", r["command"][0]) for r in runs) == \
        [("", "", "python"), ("train", "succeeded", "python")]
    assert "vision/mnist:v0" in {n["id"] for n in up["nodes"]}
    acc = cli.ok("metadata", "get", "eval-report", "model_metrics.accuracy", "--json").json()
    assert acc["value"] == 0.96
    refs = cli.ok("files", "raw-images", "--json").json()
    assert sorted(r["path"] for r in refs) == ["img0.png", "img1.png", "img2.png"]
    assert all(r["url"].startswith(extra["SOURCE"]) for r in refs)
    assert "too-many" not in names  # max_objects refused before writing anything
