"""Peak memory of ``artcli add-ref`` listing a large S3 prefix (100,000 objects by default).

    .venv/bin/python benchmarks/addref_memory.py [--objects 100000] [--versioned] [--keep]

A moto S3 server runs in this process on 127.0.0.1; the objects are put straight into its
backend (100,000 PUTs over HTTP would take minutes of server CPU), then ``artcli add-ref`` runs
as a child process against it and is measured by ``benchmarks.measure.run_cmd`` (peak RSS of
the process via ``wait4``). A one-object ``add-ref`` gives the fixed baseline (interpreter,
boto3, typer), so the report shows what the listing itself costs per object.

``--versioned`` lists with ListObjectVersions. moto's implementation of that call is the
limit there, not artcli: at 100,000 objects the in-process server grew past 8 GiB and had not
answered after minutes, so keep ``--objects`` at 20,000 or less with ``--versioned``.

What it shows: the listing is paginated (1,000 keys per page) and no page is kept, but every
object becomes a manifest entry held in memory until the manifest is written, so peak memory
grows linearly with the number of objects; the per-object figure printed here is that slope.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.measure import run_cmd  # noqa: E402

ARTCLI = [sys.executable, "-m", "artcli"]


def start_server() -> str:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def populate(endpoint: str, bucket: str, n: int, versioned: bool) -> float:
    """Create ``bucket`` over HTTP, then ``n`` small objects directly in moto's backend."""
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    if versioned:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    t0 = time.perf_counter()
    for i in range(n):
        # realistic key lengths: a few folder levels, ~45 characters
        backend.put_object(bucket, f"data/shard-{i % 100:03d}/part-{i:08d}.parquet", b"%d" % i)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--versioned", action="store_true", help="list a versioned bucket (list_object_versions)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="addref-mem-"))
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(work / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(work / "none"),
        "ARTCLI_CACHE_DIR": str(work / "cache"), "ARTCLI_CONFIG_DIR": str(work / "config"),
        "ARTCLI_DATA_DIR": str(work / "data"), "ARTCLI_REMOTE": (work / "remote").as_uri(),
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
    endpoint = start_server()
    env["AWS_ENDPOINT_URL"] = endpoint
    bucket = "addref-bench"
    fill_s = populate(endpoint, bucket, args.objects, args.versioned)
    print(f"populated {args.objects:,} objects in {fill_s:.1f} s", file=sys.stderr)

    base = run_cmd([*ARTCLI, "add-ref", "one", f"s3://{bucket}/data/shard-000/part-00000000.parquet"],
                   label="add-ref 1 object", env=env, timeout=600)
    big = run_cmd([*ARTCLI, "add-ref", "many", f"s3://{bucket}/data/", "--json"],
                  label=f"add-ref {args.objects:,} objects", env=env, timeout=3600)
    for r in (base, big):
        if not r.ok:
            print(f"{r.label} failed: {r.error}", file=sys.stderr)
            return 1
    files = json.loads(big.stdout)["files"]
    assert files == args.objects, files
    extra = (big.maxrss_kib - base.maxrss_kib) * 1024
    result = {
        "objects": args.objects, "versioned": args.versioned,
        "baseline_peak_rss_mib": round(base.maxrss_kib / 1024, 1),
        "peak_rss_mib": round(big.maxrss_kib / 1024, 1),
        "bytes_per_object": round(extra / args.objects),
        "wall_s": round(big.wall_s, 1), "cpu_s": round(big.user_s + big.sys_s, 1),
    }
    print(json.dumps(result))
    print(f"| objects | versioned | peak RSS | baseline (1 object) | per object | wall |\n"
          f"| ---: | --- | ---: | ---: | ---: | ---: |\n"
          f"| {args.objects:,} | {args.versioned} | {result['peak_rss_mib']} MiB | "
          f"{result['baseline_peak_rss_mib']} MiB | {result['bytes_per_object']} B | {result['wall_s']} s |",
          file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
