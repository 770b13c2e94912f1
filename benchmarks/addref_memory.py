"""Peak memory of ``artcli add-ref`` listing a large S3 prefix (100,000 objects by default).

    .venv/bin/python benchmarks/addref_memory.py [--objects 100000] [--versioned] [--keep]
    .venv/bin/python benchmarks/addref_memory.py --objects 1000000   # ~70 min (moto lists slowly), 6 GiB

A moto S3 server runs in this process on 127.0.0.1; the objects are put straight into its
backend (100,000 PUTs over HTTP would take minutes of server CPU): ``--objects`` under
``data/`` and half as many under ``sample/`` in a second bucket. Then ``artcli add-ref`` runs
as a child process three times and is measured by ``benchmarks.measure.run_cmd`` (peak RSS of
the process via ``wait4``): one object (the fixed baseline: interpreter, boto3, typer), the
sample, and all of ``data/``. The **slope** is what each further object costs: (peak RSS of all − peak RSS of
the sample) / (objects − sample). It used to be ~1.1 KB per object (every entry held in memory,
then the whole manifest encoded in memory: 162 MiB at 100,000 objects); entries now go to
sorted runs on disk as they are listed and the manifest is merged, hashed and compressed as a
stream (``artcli/manifest_stream.py``), so the slope is ~0 and peak RSS is the baseline plus a
constant (the in-memory run buffer, ``RUN_SIZE`` lines).

``--versioned`` lists with ListObjectVersions. moto's implementation of that call is the
limit there, not artcli: at 100,000 objects the in-process server grew past 8 GiB and had not
answered after minutes, so keep ``--objects`` at 20,000 or less with ``--versioned``.
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


def populate(endpoint: str, bucket: str, n: int, versioned: bool, prefix: str = "data") -> float:
    """Create ``bucket`` over HTTP (once), then ``n`` small objects under ``prefix/`` directly in
    moto's backend."""
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    if bucket not in backend.buckets:
        client.create_bucket(Bucket=bucket)
        if versioned:
            client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    t0 = time.perf_counter()
    for i in range(n):
        # realistic key lengths: a few folder levels, ~45 characters
        backend.put_object(bucket, f"{prefix}/shard-{i % 100:03d}/part-{i:08d}.parquet", b"%d" % i)
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
    sample = max(1, args.objects // 2)  # both above RUN_SIZE (50,000) at the default size: both spill
    fill_s = populate(endpoint, bucket, args.objects, args.versioned)
    # its own bucket: moto lists a page by going through every key of the bucket
    fill_s += populate(endpoint, f"{bucket}-sample", sample, args.versioned, prefix="sample")
    print(f"populated {args.objects + sample:,} objects in {fill_s:.1f} s", file=sys.stderr)

    runs = {
        "base": ([f"s3://{bucket}/data/shard-000/part-00000000.parquet"], 1, "add-ref 1 object", 600),
        "sample": ([f"s3://{bucket}-sample/sample/"], sample, f"add-ref {sample:,} objects", 4 * 3600),
        "all": ([f"s3://{bucket}/data/"], args.objects, f"add-ref {args.objects:,} objects", 4 * 3600),
    }
    res = {}
    for name, (uris, count, label, timeout) in runs.items():
        r = run_cmd([*ARTCLI, "add-ref", name, *uris, "--json"], label=label, env=env, timeout=timeout)
        if not r.ok:
            print(f"{r.label} failed: {r.error}", file=sys.stderr)
            return 1
        files = json.loads(r.stdout)["files"]
        assert files == count, (name, files, count)
        res[name] = r
    mib = {k: round(r.maxrss_kib / 1024, 1) for k, r in res.items()}
    slope = (res["all"].maxrss_kib - res["sample"].maxrss_kib) * 1024 / max(1, args.objects - sample)
    big = res["all"]
    result = {
        "objects": args.objects, "versioned": args.versioned, "sample_objects": sample,
        "baseline_peak_rss_mib": mib["base"], "sample_peak_rss_mib": mib["sample"], "peak_rss_mib": mib["all"],
        "over_baseline_mib": round(mib["all"] - mib["base"], 1),
        "slope_bytes_per_object": round(slope, 1),
        "wall_s": round(big.wall_s, 1), "cpu_s": round(big.user_s + big.sys_s, 1),
    }
    print(json.dumps(result))
    print(f"| objects | versioned | peak RSS | {sample:,} objects | baseline (1 object) | slope per object | wall |\n"
          f"| ---: | --- | ---: | ---: | ---: | ---: | ---: |\n"
          f"| {args.objects:,} | {args.versioned} | {mib['all']} MiB | {mib['sample']} MiB | {mib['base']} MiB | "
          f"{result['slope_bytes_per_object']} B | {result['wall_s']} s |",
          file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
