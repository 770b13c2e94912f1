"""Composite versions (``log NAME --component REF``), on a file and an S3 remote: they hold other
versions' files under folders without copying a byte; download brings them, files lists them,
lineage shows them as inputs, and a live composite keeps its components from being deleted."""

from __future__ import annotations

import random
from pathlib import Path

from clihelp import Cli, make_tree, tree_bytes


def _tree(tmp: Path, name: str, seed: int, big: bool = False) -> Path:
    rng = random.Random(seed)
    files = {"readme.txt": f"{name}\n".encode(), "part/x.bin": rng.randbytes(5000)}
    if big:
        files["weights.bin"] = rng.randbytes((1 << 20) + 17)  # a loose blob, not packed
    return make_tree(tmp / name, files)


def test_a_composite_holds_its_components_without_copying_them(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    model = _tree(tmp_path, "model", 1, big=True)
    data = _tree(tmp_path, "data", 2)
    extra = make_tree(tmp_path / "extra", {"config.json": b'{"lr": 0.1}'})
    cli.ok("log", "model", str(model), "--type", "model")
    cli.ok("log", "mnist", str(data))
    res = cli.ok("log", "bundle", str(extra), "--component", "model", "--component", "inputs/mnist=mnist:v0",
                 "--json").json()
    assert res["created"] and res["uploaded_files"] == 1  # only config.json is new
    assert res["uploaded_bytes"] == len(b'{"lr": 0.1}')
    assert res["files"] == 6 and res["size"] == sum(len(b) for b in tree_bytes(model).values()) + \
        sum(len(b) for b in tree_bytes(data).values()) + len(b'{"lr": 0.1}')

    # files lists the components' entries, pointing at the components' own objects
    rows = {r["path"]: r for r in cli.ok("files", "bundle", "--json").json()}
    own = {r["path"]: r for r in cli.ok("files", "model", "--json").json()}
    assert set(rows) == {"config.json", "inputs/mnist/part/x.bin", "inputs/mnist/readme.txt",
                         "model/part/x.bin", "model/readme.txt", "model/weights.bin"}
    for path, r in own.items():
        assert rows[f"model/{path}"]["url"] == r["url"] and rows[f"model/{path}"].get("range") == r.get("range")

    # download brings the components
    out = tmp_path / "out"
    cli.ok("download", "bundle", "--root", str(out))
    got = tree_bytes(out)
    assert got == {"config.json": b'{"lr": 0.1}', **{f"model/{k}": v for k, v in tree_bytes(model).items()},
                   **{f"inputs/mnist/{k}": v for k, v in tree_bytes(data).items()}}

    # show names them; lineage shows them as inputs of the composite
    info = cli.ok("show", "bundle", "--json").json()
    assert [(c["path"], c["ref"]) for c in info["components"]] == [("model", "default/model:v0"),
                                                                  ("inputs/mnist", "default/mnist:v0")]
    graph = cli.ok("lineage", "bundle", "--direction", "up", "--format", "json").json()
    used = {e["from"] for e in graph["edges"] if e["kind"] in ("used", "derived")}
    assert {"default/model:v0", "default/mnist:v0"} <= used

    # the same composite again is the same version
    again = cli.ok("log", "bundle", str(extra), "--component", "model", "--component", "inputs/mnist=mnist:v0",
                   "--json").json()
    assert again["created"] is False and again["version"] == "v0"


def test_a_live_composite_keeps_its_components(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    cli.ok("log", "model", str(_tree(tmp_path, "model", 3)), "--type", "model")
    cli.ok("log", "model", str(_tree(tmp_path, "model2", 4)), "--type", "model")
    cli.ok("log", "bundle", "--component", "model:v0")  # components alone, no files
    refused = cli("delete", "model:v0")
    assert refused.code == 5 and "default/bundle:v0" in refused.err
    assert cli("delete", "model:v0", "--force").code == 5  # --force does not break a composite
    assert cli("delete", "model", "--all").code == 5
    assert [r["version"] for r in cli.ok("ls", "model", "--json").json()] == ["v0", "v1"]
    cli.ok("delete", "model:v1")  # not a component: deleted as ever
    cli.ok("delete", "bundle")
    cli.ok("delete", "model:v0")  # the composite is gone: its component may go


def test_gc_keeps_what_a_composite_points_at(cli: Cli, tmp_path: Path) -> None:
    """A composite's manifest names the component's packs and blobs: gc keeps them even once
    the composite is the only version left that needs them (the component deleted after it)."""
    model = _tree(tmp_path, "model", 5, big=True)
    cli.ok("log", "model", str(model), "--type", "model")
    cli.ok("log", "bundle", "--component", "model")
    cli.ok("gc", "--grace", "0s")
    out = tmp_path / "out"
    cli.ok("download", "bundle", "--root", str(out), "--skip-cache")
    assert tree_bytes(out) == {f"model/{k}": v for k, v in tree_bytes(model).items()}


def test_component_mistakes_are_refused_before_any_write(cli: Cli, tmp_path: Path) -> None:
    cli.ok("log", "a", str(_tree(tmp_path, "a", 6)))
    cli.ok("log", "b", str(_tree(tmp_path, "b", 7)))
    remote = Path(cli.remote.removeprefix("file://"))
    before = sorted(p for p in remote.rglob("*") if p.is_file())
    assert cli("log", "c", "--component", "x=a", "--component", "x=b").code == 2  # one folder for two
    assert cli("log", "c", "--component", "x=a", "--component", "x/y=b").code == 2  # one inside the other
    assert cli("log", "c", "--component", "nope").code == 3
    assert cli("log", "c", "--component", "../up=a").code in (2, 4)
    assert cli("log", "c").code == 2  # nothing to log
    clash = make_tree(tmp_path / "clash", {"a/readme.txt": b"mine"})
    assert cli("log", "c", str(clash), "--component", "a").code == 2  # a file where a component's file goes
    assert sorted(p for p in remote.rglob("*") if p.is_file()) == before


def test_components_with_references_take_the_streamed_path(cli: Cli, tmp_path: Path) -> None:
    """``--ref`` writes the manifest streaming: component entries keep their pack locations there
    too, and the version's content digest is the same as the in-memory path gives."""
    cli.ok("log", "a", str(_tree(tmp_path, "a", 8)))
    src = make_tree(tmp_path / "src", {"r.txt": b"referenced"})
    res = cli.ok("log", "mixed", "--component", "a", "--ref", (src / "r.txt").as_uri(), "--json").json()
    rows = {r["path"]: r for r in cli.ok("files", "mixed", "--json").json()}
    own = {r["path"]: r for r in cli.ok("files", "a", "--json").json()}
    assert rows["a/part/x.bin"]["range"] == own["part/x.bin"]["range"]
    out = tmp_path / "out"
    cli.ok("download", "mixed", "--root", str(out))
    assert (out / "r.txt").read_bytes() == b"referenced" and (out / "a/readme.txt").read_bytes() == b"a\n"
    cli.ok("debug", "fsck")
    # the same files logged the ordinary way have the same content digest (one content, one identity)
    make_tree(tmp_path / "plain", {"a/" + k: v for k, v in tree_bytes(tmp_path / "a").items()})
    plain = cli.ok("log", "plain", str(tmp_path / "plain"), "--ref", (src / "r.txt").as_uri(), "--json").json()
    assert plain["digest"] == res["digest"]
