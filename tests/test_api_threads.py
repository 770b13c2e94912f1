"""One Repo (or Run) shared by threads: a training loop logging checkpoints from a background
thread while the main thread reads (docs/python.md, "Threads").

Contents are seeded; threads start together on a Barrier and are joined; nothing sleeps.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import artcli

from clihelp import tree_bytes
from fixtures_cli import S3

THREADS = 4
PER_THREAD = 3


def _checkpoint(root: Path, seed: int) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True)
    (root / "weights.bin").write_bytes(rng.randbytes(3000 + rng.randrange(2000)))
    (root / "step.txt").write_text(str(seed))
    return root


def _in_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` on n threads released together; re-raise the first failure."""
    start = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            start.wait(timeout=60)
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    if errors:
        raise errors[0]
    return results


@pytest.fixture(params=["file", S3])
def remote_url(request: pytest.FixtureRequest, make_remote: Callable[[str], tuple[str, dict[str, str]]]) -> str:
    url, options = make_remote(request.param)
    assert not options or "endpoint_url" in options  # S3: AWS_ENDPOINT_URL is exported too
    return url


def test_threads_logging_through_one_repo_get_their_own_versions_and_runs(remote_url: str, tmp_path: Path) -> None:
    sources = {(t, i): _checkpoint(tmp_path / f"t{t}-{i}", 1000 * t + i) for t in range(THREADS)
               for i in range(PER_THREAD)}
    with artcli.open(remote_url) as repo:
        def work(t: int) -> list[artcli.LogResult]:
            out = []
            for i in range(PER_THREAD):
                out.append(repo.log("ckpt", [str(sources[(t, i)])], type="model", metadata={"thread": t, "step": i}))
                repo.ls("ckpt")  # reads interleaved with other threads' writes
            return out

        results = [r for rs in _in_threads(THREADS, work) for r in rs]
        assert all(r.created for r in results)
        assert sorted(r.version for r in results) == list(range(THREADS * PER_THREAD))
        versions = {v.version: v for v in repo.ls("ckpt")}
        runs = set()
        for r in results:
            v = versions[r.version]
            t, i = v.metadata["thread"], v.metadata["step"]
            assert v.digest == r.digest
            got = repo.download(r.ref, str(tmp_path / "out" / f"v{r.version}"), track=False)
            assert tree_bytes(Path(got.root)) == tree_bytes(sources[(t, i)])
            # no run was set: each log made up its own run, and that run records exactly it
            assert v.run is not None and v.run not in runs
            runs.add(v.run)
            assert [o.ref for o in repo.run_info(v.run).outputs] == [r.ref]


def test_a_run_logs_checkpoints_from_a_background_thread(remote_url: str, tmp_path: Path) -> None:
    sources = [_checkpoint(tmp_path / f"c{i}", i) for i in range(PER_THREAD)]
    data = _checkpoint(tmp_path / "data", 99)
    with artcli.open(remote_url) as repo:
        repo.log("train-set", [str(data)])
    with artcli.run(job_type="train", remote=remote_url) as run:
        def work(i: int) -> list[str]:
            if i == 0:  # the background checkpoint writer
                return [run.log("ckpt", [str(s)], type="model").ref for s in sources]
            run.use("train-set")  # the training loop reads its inputs meanwhile
            return [run.download("train-set", str(tmp_path / "in")).ref]

        logged, used = _in_threads(2, work)
        run.log_metadata({"eval": {"loss": 0.5}}, ref="ckpt:latest")  # three outputs of ckpt: name one
    with artcli.open(remote_url) as repo:
        info = repo.run_info(run.id)
        assert [o.ref for o in info.outputs] == logged == [f"default/ckpt:v{i}" for i in range(PER_THREAD)]
        assert [(r.ref, r.via) for r in info.inputs] == [(used[0], "use")]  # download after use: one record
        assert info.status == "succeeded"
        assert {v.run for v in repo.ls("ckpt")} == {run.id}
        assert repo.metadata.get("ckpt:latest", "eval.loss").value == 0.5


def test_threads_asking_for_a_new_runs_id_start_one_run(tmp_path: Path) -> None:
    url = (tmp_path / "remote").as_uri()
    run = artcli.run(job_type="train", remote=url)  # not started yet: the first run.id starts it
    ids = _in_threads(THREADS, lambda i: run.id)
    assert len(set(ids)) == 1
    run.finish()
    run.close()
    from artcli.store import open_store

    store = open_store(url, {})
    try:
        started = [k.key for k in store.list("runs/")]
    finally:
        store.close()
    assert len({k.split("/")[1] for k in started}) == 1 and len(started) == 2  # run_started, run_finished
