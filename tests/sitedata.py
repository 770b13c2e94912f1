"""A small remote with everything a catalogue shows, made through the real command line:
a three-stage pipeline of runs, typed metadata, aliases moved, a TTL, a deleted version,
a registry link, a second project, an artifact with many versions, and hostile strings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clihelp import Cli, make_tree

NO_CI = {v: "" for v in ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "CIRCLECI", "BUILDKITE", "TF_BUILD",
                         "ARTCLI_RUN_ID")}
HOSTILE_DESCRIPTION = '<script>alert("desc")</script> | ``` **bold** [x](javascript:alert(1))'
HOSTILE_VALUE = '"><img src=x onerror=alert(1)>'
HOSTILE_URI = "javascript:alert(1)"
HOSTILE_RUN_NAME = "<b>run</b> ``` & | name"
MANY = 12  # versions of "many": more than a screen, enough for the filter box


@dataclass
class Catalogue:
    cli: Cli
    root: Path
    runs: dict[str, str]


def make(tmp: Path, remote: str | None = None) -> Catalogue:
    cli = Cli(tmp / "home", remote or (tmp / "remote").as_uri(), env=NO_CI)
    data = tmp / "data"
    runs = {"ingest": "ingest-1", "clean": "clean-1", "train": "train-1", "evaluate": "eval-1"}
    cli.ok("run", "start", "--id", runs["ingest"], "--job-type", "ingest", "--name", "nightly ingest")
    make_tree(data / "raw", {"labels.csv": b"id,label\n1,0\n2,1\n", "images/a.bin": b"\x00" * 3000})
    cli.ok("log", "raw", str(data / "raw"), "--type", "dataset", "--alias", "production", "--run", runs["ingest"],
           "-d", "raw labels, nightly", "-m", "rows=2", "-m", "source:uri=https://example.org/labels.csv")
    cli.ok("run", "finish", runs["ingest"], "--status", "succeeded")
    cli.ok("download", "raw:production", "--root", str(tmp / "w-raw"), "--run", runs["clean"])
    make_tree(data / "clean", {"labels.csv": b"id,label\n1,0\n"})
    cli.ok("log", "clean", str(data / "clean"), "--type", "dataset", "--input", "raw:production",
           "--run", runs["clean"], "-m", "schema.dtype:dtype=np.float32", "-m", 'schema.columns=["id","label"]')
    cli.ok("download", "clean", "--root", str(tmp / "w-clean"), "--run", runs["train"])
    make_tree(data / "model", {"model.pt": b"\x01" * 5000})
    cli.ok("log", "model", str(data / "model"), "--type", "model", "--run", runs["train"], "--alias", "candidate",
           "--input", "clean:v0", "-m", "weights:size=2.5GiB", "-m", "model_metrics.accuracy=0.934",
           "-m", "model_metrics.loss=0.21", "-m", "checkpoint:path=/mnt/ckpt/model.pt", "--ttl", "30d")
    cli.ok("link", "model:candidate", "registry/models/churn", "--alias", "production")
    cli.ok("download", "model:candidate", "--root", str(tmp / "w-model"), "--run", runs["evaluate"])
    make_tree(data / "eval", {"metrics.json": b'{"accuracy": 0.93}'})
    cli.ok("log", "evaluation", str(data / "eval"), "--type", "evaluation", "--run", runs["evaluate"],
           "--input", "model:v0", "-m", "accuracy=0.93")
    # history: a second raw version takes the alias; the first is deleted
    make_tree(data / "raw", {"labels.csv": b"id,label\n1,0\n2,1\n3,1\n"})
    cli.ok("log", "raw", str(data / "raw"), "--run", runs["ingest"])
    cli.ok("alias", "add", "raw:v1", "production")
    cli.ok("log", "scratch", str(data / "clean"), "--type", "dataset", "--ttl", "2d")
    make_tree(data / "tmp", {"x.txt": b"temporary"})
    cli.ok("log", "scratch", str(data / "tmp"))
    cli.ok("delete", "scratch:v0")
    for i in range(MANY):
        make_tree(data / "many", {"n.txt": f"{i}".encode()})
        ttl = ["--ttl", "10d"] if i == MANY - 1 else []
        cli.ok("log", "many", str(data / "many"), "--type", "dataset", "-m", f"i={i}", *ttl)
    cli.ok("log", "images", str(data / "clean"), "--type", "dataset", "--project", "vision")
    cli.ok("run", "start", "--id", "hostile-1", "--name", HOSTILE_RUN_NAME)
    cli.ok("log", "evil", str(data / "clean"), "--type", "dataset", "-d", HOSTILE_DESCRIPTION, "--run", "hostile-1",
           "-m", f"note={HOSTILE_VALUE}", "-m", f"home:uri={HOSTILE_URI}", "-m", f"card.x={HOSTILE_VALUE}")
    return Catalogue(cli, tmp, runs)
