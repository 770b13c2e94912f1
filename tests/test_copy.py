"""``copy REF --to REMOTE``: a version replicated between remotes, byte-identical, idempotent and
resumable; ``log --input REMOTE:ref`` and lineage naming versions on another remote."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from clihelp import Cli, make_tree, tree_bytes


def _data(tmp: Path, seed: int) -> Path:
    rng = random.Random(seed)
    return make_tree(tmp / f"d{seed}", {"small/a.txt": b"alpha\n", "small/b.bin": rng.randbytes(7000),
                                         "big.bin": rng.randbytes((1 << 20) + 5)})


def _objects(root: Path) -> dict[str, bytes]:
    """Content objects of a file remote (blobs, packs, indexes, manifests): key -> bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for prefix in ("blobs", "packs", "manifests")
            for p in sorted((root / prefix).rglob("*")) if p.is_file()}


def test_copy_between_file_remotes_is_byte_identical_and_idempotent(tmp_path: Path) -> None:
    src = Cli(tmp_path / "home", (tmp_path / "team").as_uri())
    dst_url = (tmp_path / "prod").as_uri()
    d = _data(tmp_path, 1)
    src.ok("log", "model", str(d), "--type", "model", "-d", "trained", "-m", "acc=0.9", "-a", "candidate")
    res = src.ok("copy", "model:candidate", "--to", dst_url, "--alias", "production", "--json").json()
    assert res["created"] and res["ref"] == "default/model:v0" and res["aliases"] == ["latest", "production"]
    assert res["copied_objects"] == 4  # loose blob, pack, its index, manifest
    team, prod = _objects(tmp_path / "team"), _objects(tmp_path / "prod")
    assert prod == team  # the very same objects, byte for byte: same manifest digest
    dst = Cli(tmp_path / "home", dst_url)
    a, b = src.ok("show", "model", "--json").json(), dst.ok("show", "model", "--json").json()
    assert (b["digest"], b["manifest"], b["size"], b["files"], b["type"], b["description"], b["metadata"]) == \
        (a["digest"], a["manifest"], a["size"], a["files"], a["type"], a["description"], a["metadata"])
    assert b["origin"] == {"remote": (tmp_path / "team").as_uri(), "project": "default", "name": "model",
                           "version": 0, "digest": a["digest"], "created": a["created"], "run": a["run"]}
    out = tmp_path / "out"
    dst.ok("download", "model:production", "--root", str(out))
    assert tree_bytes(out) == tree_bytes(d)
    again = src.ok("copy", "model", "--to", dst_url, "--alias", "production", "--json").json()
    assert again["created"] is False and again["copied_objects"] == 0 and again["ref"] == "default/model:v0"
    events = sorted((tmp_path / "prod/projects/default/artifacts/model/events").glob("*.json"))
    assert len(events) == 1  # nothing written the second time
    dst.ok("debug", "fsck")


def test_copy_sends_only_what_is_missing_and_resumes(tmp_path: Path) -> None:
    src = Cli(tmp_path / "home", (tmp_path / "team").as_uri())
    dst_url = (tmp_path / "prod").as_uri()
    src.ok("log", "ds", str(_data(tmp_path, 2)))
    first = src.ok("copy", "ds", "--to", dst_url, "--json").json()
    # a second version sharing the big file: only its new pack, index and manifest travel
    d3 = _data(tmp_path, 2)
    (d3 / "small/a.txt").write_bytes(b"changed\n")
    src.ok("log", "ds", str(d3))
    second = src.ok("copy", "ds", "--to", dst_url, "--json").json()
    assert second["ref"] == "default/ds:v1" and second["copied_objects"] == 3
    assert second["copied_bytes"] < first["copied_bytes"] - (1 << 20)
    # an interrupted copy: objects there, no event; re-running commits without sending them again
    d4 = _data(tmp_path, 4)
    src.ok("log", "ds", str(d4))
    prod = tmp_path / "prod"
    team_objects = _objects(tmp_path / "team")
    for key, body in team_objects.items():  # as if a copy died before its commit
        (prod / key).parent.mkdir(parents=True, exist_ok=True)
        (prod / key).write_bytes(body)
    resumed = src.ok("copy", "ds", "--to", dst_url, "--json").json()
    assert resumed["created"] and resumed["copied_objects"] == 0 and resumed["ref"] == "default/ds:v2"


def test_copy_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    src = Cli(tmp_path / "home", (tmp_path / "team").as_uri())
    src.ok("log", "ds", str(_data(tmp_path, 5)))
    assert src("copy", "ds", "--to", (tmp_path / "team").as_uri()).code == 2  # onto itself
    src.ok("copy", "ds", "--to", (tmp_path / "team").as_uri(), "--project", "staging")  # another project: fine
    assert Cli(tmp_path / "home", (tmp_path / "team").as_uri(), env={"ARTCLI_PROJECT": "staging"}).ok(
        "show", "ds", "--json").json()["digest"] == src.ok("show", "ds", "--json").json()["digest"]
    assert src("copy", "nope", "--to", (tmp_path / "prod").as_uri()).code == 3
    assert src("copy", "ds", "--to", "unknown-remote-name").code == 2
    # a corrupt object on the source is refused before anything is committed
    src.ok("log", "big", str(make_tree(tmp_path / "b", {"x.bin": random.Random(6).randbytes((1 << 20) + 1)})))
    (row,) = src.ok("files", "big", "--json").json()
    blob = Path(row["url"].removeprefix("file://"))
    data = bytearray(blob.read_bytes())
    data[10] ^= 1
    blob.write_bytes(bytes(data))
    assert src("copy", "big", "--to", (tmp_path / "prod").as_uri()).code == 4
    assert not (tmp_path / "prod/projects/default/artifacts/big").exists()


def test_input_from_another_remote_is_recorded_and_shown(tmp_path: Path) -> None:
    home = tmp_path / "home"
    team = Cli(home, (tmp_path / "team").as_uri())
    team.ok("remote", "add", "team", (tmp_path / "team").as_uri())
    team.ok("log", "raw", str(_data(tmp_path, 7)), "-a", "golden")
    raw = team.ok("show", "raw", "--json").json()
    mine = Cli(home, (tmp_path / "mine").as_uri())
    mine.ok("log", "feat", str(make_tree(tmp_path / "f", {"f.csv": b"1,2\n"})), "--input", "team:default/raw:golden",
            "--input", f"{(tmp_path / 'team').as_uri()}#raw@{raw['digest'][:8]}")
    shown = mine.ok("show", "feat", "--json").json()
    assert shown["remote_inputs"] == [{"remote": (tmp_path / "team").as_uri(), "ref": "default/raw:v0",
                                       "digest": raw["digest"]}]  # both name the same version: recorded once
    graph = mine.ok("lineage", "feat", "--direction", "up", "--format", "json").json()
    far = f"{(tmp_path / 'team').as_uri()}#default/raw:v0"
    node = next(n for n in graph["nodes"] if n["id"] == far)
    assert node["state"] == "remote" and node["digest"] == raw["digest"]
    assert any(e["from"] == far and e["kind"] in ("used", "derived") for e in graph["edges"])
    assert "#default/raw:v0 — remote" in mine.ok("lineage", "feat", "--direction", "up", "--format", "tree").out
    assert mine("log", "x", str(tmp_path / "f"), "--input", "team:default/nope:v0").code == 3


@pytest.mark.s3
@pytest.mark.gcs
def test_copy_s3_to_gcs_and_back_round_trips_with_history(tmp_path: Path, s3_bucket: str, gcs_bucket: str) -> None:
    """team bucket (S3) -> production bucket (GCS) -> a second S3 project: the bytes, both digests,
    the description, the metadata and the origin chain survive every hop."""
    s3 = Cli(tmp_path / "home", f"s3://{s3_bucket}/team")
    gcs_url = f"gs://{gcs_bucket}/prod"
    d = _data(tmp_path, 8)
    s3.ok("log", "model", str(d), "--type", "model", "-d", "v1 of the model", "-m", "acc=0.93", "-m", "w:size=1GiB")
    s3.ok("metadata", "set", "model", "acc=0.94")
    src = s3.ok("show", "model", "--json").json()
    there = s3.ok("copy", "model", "--to", gcs_url, "--alias", "production", "--json").json()
    assert there["created"] and there["manifest"] == src["manifest"]
    gcs = Cli(tmp_path / "home", gcs_url)
    back = gcs.ok("copy", "model:production", "--to", f"s3://{s3_bucket}/team", "--project", "roundtrip",
                  "--keep-aliases", "--json").json()
    assert back["created"] and back["aliases"] == ["latest", "production"]
    rt = Cli(tmp_path / "home", f"s3://{s3_bucket}/team", env={"ARTCLI_PROJECT": "roundtrip"})
    final = rt.ok("show", "model", "--json").json()
    for k in ("digest", "manifest", "size", "files", "type", "description", "metadata"):
        assert final[k] == src[k], k
    assert final["metadata"]["acc"] == 0.94
    assert final["origin"]["remote"] == gcs_url and final["origin"]["project"] == "default"
    mid = gcs.ok("show", "model", "--json").json()
    assert mid["origin"]["remote"] == f"s3://{s3_bucket}/team" and mid["origin"]["created"] == src["created"]
    assert back["copied_objects"] == 0  # the S3 bucket already holds every object: only the event is new
    for cli, where in ((gcs, "gcs"), (rt, "s3")):
        out = tmp_path / f"out-{where}"
        cli.ok("download", "model", "--root", str(out), "--skip-cache")
        assert tree_bytes(out) == tree_bytes(d), where
    graph = rt.ok("lineage", "model", "--direction", "up", "--format", "json").json()
    assert any(e["kind"] == "copied" and e["from"] == f"{gcs_url}#default/model:v0" for e in graph["edges"])
    assert json.loads(json.dumps(final["remote_inputs"])) == []


def test_two_copies_at_once_make_one_version(tmp_path: Path) -> None:
    """Two processes copy the same version to the same destination at the same time: the
    destination gets one version (the loser of the race finds it and writes nothing)."""
    src = Cli(tmp_path / "home", (tmp_path / "team").as_uri())
    src.ok("log", "ds", str(_data(tmp_path, 9)))
    dst_url = (tmp_path / "prod").as_uri()
    procs = [src.spawn("copy", "ds", "--to", dst_url, "--json") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    docs = [json.loads(o) for o, _e in outs]
    assert {d["ref"] for d in docs} == {"default/ds:v0"} and sorted(d["created"] for d in docs) == [False, True]
    dst = Cli(tmp_path / "home", dst_url)
    assert [r["version"] for r in dst.ok("ls", "ds", "--json").json()] == ["v0"]
    dst.ok("debug", "fsck")
