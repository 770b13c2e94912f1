"""A user's training script, type-checked with ``mypy --strict`` by tests/test_api_typing.py.

It is never run: it exists to prove the public API's types are complete enough for strict
callers (every name resolves, every result has typed fields, no ``Any`` leaks into these lines).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import artcli
from artcli.errors import NotFoundError


def on_progress(p: artcli.Progress) -> None:
    if p.kind == "done" and p.message is not None:
        print(p.message)


def train(remote: str) -> str:
    repo: artcli.Repo = artcli.open(remote, "vision", progress=on_progress)
    logged: artcli.LogResult = repo.log("mnist", ["data/"], type="dataset", aliases=["raw"],
                                        metadata={"rows": 60000, "stats": {"mean": 0.13}}, ttl=timedelta(days=30))
    version: int = logged.version
    ref: str = logged.ref
    refs: artcli.AddRefResult = repo.add_ref("images", ["s3://bucket/images/"], checksum=False, max_objects=1000)
    references: int = refs.references
    with_refs: artcli.AddRefResult = repo.log("mixed", ["a.txt"], refs=["s3://bucket/k"])
    arts: list[artcli.ArtifactSummary] = repo.ls()
    latest: int | None = arts[0].latest
    rows: list[artcli.VersionInfo] = repo.ls("mnist")
    best: list[artcli.VersionInfo] = repo.versions("mnist", where=["stats.mean>0.1"], sort="-stats.mean")
    info: artcli.VersionInfo = repo.show(ref)
    size: int = info.size + sum(f.size for f in repo.files(ref))
    urls: list[str | None] = [f.url for f in repo.files(ref)]
    value: artcli.MetadataValue = repo.metadata.get(ref, "rows")
    expiry: artcli.TtlInfo = repo.ttl_info(ref)
    left: int | None = expiry.remaining_seconds
    repo.ttl(ref, "7d")
    link: artcli.LinkResult = repo.link(ref, "registry/datasets/mnist", aliases=["production"])
    got: artcli.DownloadResult = repo.download("registry/datasets/mnist:production", "out")
    held: list[int] = [a.version for a in repo.aliases("registry/datasets/mnist")]
    moved: list[int | None] = [m.to_version for m in repo.alias_history("mnist:raw")]
    shelves: list[str] = [r.name for r in repo.registries() if r.accept_types is None]
    root: str = got.root
    with artcli.run(job_type="train", remote=remote, project="vision") as run:
        used: artcli.UseResult = run.use("mnist:raw")
        out: artcli.LogResult = run.log("model", ["ckpt/"], type="model", inputs=[used.ref])
        md: artcli.SetResult = run.log_metadata({"model_metrics": {"accuracy": 0.95}, "weights:size": "1GiB"})
        worker = threading.Thread(target=lambda: run.log("ckpt", ["ckpt/"]))
        worker.start()
        worker.join()
        run_id: str = run.id
        state: artcli.RunState = run.info()
        outputs: list[artcli.RunRecord] = state.outputs
    try:
        repo.show("missing")
    except NotFoundError as exc:
        code: int = exc.exit_code
        print(code)
    except artcli.ArtcliError:
        raise
    graph: artcli.Graph = repo.lineage(out.ref, direction="up")
    print(version, references, with_refs.ref, latest, rows, best, size, urls, value.value, left, link.ref, root,
          md.ref, run_id, outputs, graph.to_json(), artcli.__version__, held, moved, shelves)
    repo.close()
    return out.ref
