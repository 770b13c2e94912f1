"""Step 8: push and pull data set B with artcli on Azure (Azurite), beside the same on S3 (moto).

Both emulators run on this machine, so the figures compare artcli's two backends (adlfs and
the Azure SDK against s3fs and botocore, plus each emulator's own cost), not the clouds.
Azurite is the pinned npm package the test suite uses (``tests/azure_emulator.py``); it is
installed by ``npm ci`` on first use and skipped, with the reason in the report, without node.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

from benchmarks.steps import (
    BUCKET,
    Ctx,
    Run,
    StepCollector,
    Variant,
    artcli_download,
    artcli_log,
    run_group,
    s3_url,
    verify_tree,
)

TESTS_DIR = Path(__file__).resolve().parent.parent / "tests"
S3_TOOL, AZ_TOOL = "artcli → S3 (moto)", "artcli → Azure (Azurite)"


class AzuriteForBench:
    """The suite's Azurite, started once per benchmark run; a fresh container per use."""

    def __init__(self, location: Path) -> None:
        sys.path.insert(0, str(TESTS_DIR))
        from azure_emulator import Azurite

        self.server = Azurite(location)

    def start(self) -> None:
        self.server.start()

    @property
    def connection_string(self) -> str:
        return str(self.server.connection_string)

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return int(self.server.proc.pid)

    def fresh_container(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:16]}"
        self.server.create_container(name)
        return name

    def stop(self) -> None:
        self.server.stop()


def _az_url(ctx: Ctx, container: str | None = None) -> str:
    assert ctx.azure is not None
    return f"az://{container or ctx.azure.fresh_container()}/artcli"


def _push_variants(ctx: Ctx) -> list[Variant]:
    src, name, case = ctx.data["B"], "data-B", "B push"

    def s3(run: Run) -> None:
        assert run.ctx.s3 is not None
        run.ctx.s3.fresh_bucket(BUCKET)
        artcli_log(run, name, src, s3_url("artcli"), run.dir / "state", label="artcli log (s3)")

    def azure(run: Run) -> None:
        artcli_log(run, name, src, _az_url(run.ctx), run.dir / "state", label="artcli log (az)")

    return [
        Variant(S3_TOOL, s3, ("artcli", "s3"), [(case, S3_TOOL)]),
        Variant(AZ_TOOL, azure, ("artcli", "azure"), [(case, AZ_TOOL)]),
    ]


def _pull_variants(ctx: Ctx) -> list[Variant]:
    src, name, case = ctx.data["B"], "data-B", "B pull (cold)"

    def prepare(remote: str) -> Any:
        def fn(run: Run) -> None:
            url = remote or _az_url(run.ctx)
            ref = artcli_log(run, name, src, url, run.dir / "state-up", timed=False)
            (run.dir / "ref.txt").write_text(f"{url}\n{ref}")

        return fn

    def pull(tool: str) -> Any:
        def fn(run: Run) -> None:
            url, ref = (run.prepared / "ref.txt").read_text().split("\n")
            out = run.dir / "out"
            artcli_download(run, ref, out, url, run.dir / "state-down", label="artcli download", bucket=(case, tool))
            verify_tree(src, out)

        return fn

    return [
        Variant(S3_TOOL, pull(S3_TOOL), ("artcli", "s3"), [(case, S3_TOOL)], prepare=prepare(s3_url("artcli-pull"))),
        Variant(AZ_TOOL, pull(AZ_TOOL), ("artcli", "azure"), [(case, AZ_TOOL)], prepare=prepare("")),
    ]


def step_azure(ctx: Ctx) -> dict[str, Any]:
    col = StepCollector(ctx, "azure")
    col.remote = "Azurite and the S3 server (moto), both on 127.0.0.1"
    run_group(ctx, col, _push_variants(ctx), ctx.reps)
    fresh = (lambda: ctx.s3.fresh_bucket(BUCKET)) if ctx.s3 is not None else None
    run_group(ctx, col, _pull_variants(ctx), ctx.reps, before=fresh)
    col.notes.append(
        "push = artcli log of B into an empty remote (hash + upload); pull = artcli download with an "
        "empty cache. Azure: a fresh container per push; one upload (untimed) serves every pull."
    )
    return col.result()
