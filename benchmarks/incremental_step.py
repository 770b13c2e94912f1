"""Step 9: an incremental version: add one new file (64 MiB at full size) to data set A, on
the S3 server.

Three ways, each repetition starting from A already on a fresh bucket (untimed):

* ``artcli log data-A --from data-A:latest extra.bin --name-as extra`` -- the base's manifest
  only, no local copy of A needed;
* ``artcli log data-A data/`` -- re-logging the whole folder with the new file added (the
  folder was logged before, so the stat cache knows A's files);
* ``dvc add data`` + ``dvc push`` of the changed folder (A added and pushed before).

Besides time, the bytes each one added to the bucket are measured by listing it before and
after (a stdlib ListObjectsV2 against the moto server); artcli's own ``uploaded_bytes`` is
kept too.
"""

from __future__ import annotations

import json
import os
import random
import re
import urllib.parse
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

from benchmarks.steps import (
    BUCKET,
    Ctx,
    Run,
    StepCollector,
    Variant,
    artcli_env,
    artcli_log,
    dvc_repo,
    run_group,
    s3_url,
)

MiB = 1 << 20
EXTRA_BYTES = {"full": 64 * MiB, "small": 16 * MiB, "smoke": 2 * MiB}
CASE = "A + one new file"


def extra_file(path: Path, nbytes: int, seed: int = 18) -> Path:
    """The new file: seeded random bytes (incompressible, never already on the remote)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        left = nbytes
        while left:
            n = min(left, 4 * MiB)
            fh.write(rng.randbytes(n))
            left -= n
    return path


def bucket_bytes(ctx: Ctx, prefix: str) -> int:
    """Total size of the objects under ``prefix`` in the bench bucket (moto answers unsigned)."""
    assert ctx.s3 is not None
    total, token = 0, None
    while True:
        q = {"list-type": "2", "prefix": prefix, **({"continuation-token": token} if token else {})}
        url = f"{ctx.s3.endpoint}/{BUCKET}?{urllib.parse.urlencode(q)}"
        with urllib.request.urlopen(url, timeout=60) as resp:
            body = resp.read().decode()
        total += sum(int(s) for s in re.findall(r"<Size>(\d+)</Size>", body))
        m = re.search(r"<NextContinuationToken>([^<]+)</NextContinuationToken>", body)
        if "<IsTruncated>true</IsTruncated>" not in body or not m:
            return total
        token = m.group(1)


def _link_copy(src: Path, dst: Path) -> None:
    """A's files under ``dst`` as hard links (regular files, no bytes copied)."""
    for root, _dirs, files in os.walk(src):
        rel = Path(root).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for f in files:
            os.link(Path(root) / f, dst / rel / f)


def _variants(ctx: Ctx) -> list[Variant]:
    src = ctx.data["A"]
    nbytes = EXTRA_BYTES.get(ctx.size, 64 * MiB)
    name = "data-A"
    artcli = ctx.tools.artcli or []

    def fresh(run: Run, prefix: str) -> str:
        if ctx.s3 is not None:
            ctx.s3.fresh_bucket(BUCKET)
        return s3_url(prefix)

    def measured(run: Run, prefix: str, action: Any) -> None:
        before = bucket_bytes(ctx, prefix)
        action()
        for _bucket, r in run.results:
            r.extra["remote_bytes_added"] = bucket_bytes(ctx, prefix) - before

    def from_base(run: Run) -> None:
        remote = fresh(run, "artcli")
        state = run.dir / "state"
        artcli_log(run, name, src, remote, state, timed=False)
        new = extra_file(run.dir / "new" / "extra.bin", nbytes)

        def act() -> None:
            r = run.cmd([*artcli, "log", name, "--from", f"{name}:latest", new, "--name-as", "extra",
                         "--remote", remote, "--json"], label="artcli log --from", env=artcli_env(run, state))
            r.extra["uploaded_bytes"] = json.loads(r.stdout)["uploaded_bytes"]

        measured(run, "artcli/", act)

    def relog(run: Run) -> None:
        remote = fresh(run, "artcli")
        state = run.dir / "state"
        data = run.dir / "data"
        _link_copy(src, data)
        artcli_log(run, name, data, remote, state, timed=False)
        extra_file(data / "extra" / "extra.bin", nbytes)

        def act() -> None:
            r = run.cmd([*artcli, "log", name, data, "--remote", remote, "--json"], label="artcli log (folder)",
                        env=artcli_env(run, state))
            r.extra["uploaded_bytes"] = json.loads(r.stdout)["uploaded_bytes"]

        measured(run, "artcli/", act)

    def dvc(run: Run) -> None:
        fresh(run, "dvc")
        repo = dvc_repo(run, src, s3_url("dvc"), s3=True)
        exe = ctx.tools.dvc or "dvc"
        run.setup([exe, "add", "data"], label="dvc add", cwd=repo)
        run.setup([exe, "push"], label="dvc push", cwd=repo)
        extra_file(repo / "data" / "extra" / "extra.bin", nbytes)

        def act() -> None:
            run.cmd([exe, "add", "data"], label="dvc add", cwd=repo)
            run.cmd([exe, "push"], label="dvc push", cwd=repo)

        measured(run, "dvc/", act)

    return [
        Variant("artcli", from_base, ("artcli", "s3"), [(CASE, "artcli")]),
        Variant("artcli re-log folder", relog, ("artcli", "s3"), [(CASE, "artcli re-log folder")]),
        Variant("dvc", dvc, ("dvc", "s3"), [(CASE, "dvc")]),
    ]


def _median_extra(col: StepCollector, tool: str, key: str) -> int | None:
    vals = [c["extra"][key] for r in col.bucket((CASE, tool))["runs"] if r["ok"] for c in r["cmds"]
            if key in c.get("extra", {})]
    return int(median(vals)) if vals else None


def step_incremental(ctx: Ctx) -> dict[str, Any]:
    col = StepCollector(ctx, "incremental")
    col.remote = "S3 server (moto)"
    col.uses_s3 = True
    run_group(ctx, col, _variants(ctx), ctx.reps)
    nbytes = EXTRA_BYTES.get(ctx.size, 64 * MiB)
    col.notes.append(f"The new file is {nbytes:,} bytes of seeded random data; A is on the bucket before "
                     "each timed command (logged / added and pushed, untimed).")
    for tool in ("artcli", "artcli re-log folder", "dvc"):
        added = _median_extra(col, tool, "remote_bytes_added")
        up = _median_extra(col, tool, "uploaded_bytes")
        if added is not None:
            col.notes.append(f"{tool}: {added:,} bytes added to the bucket"
                             + (f" (artcli's uploaded_bytes: {up:,})" if up is not None else ""))
    return col.result()
