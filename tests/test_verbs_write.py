"""Issue 18's writing verbs, on a file and an S3 remote: incremental versions (``log --from``),
dry runs (log, download, delete, alias, link, ttl set) and global flags after the subcommand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clihelp import Cli, make_tree, tree_bytes

FILES = {"train/1.bin": b"one" * 10, "train/2.bin": b"two" * 10, "labels.csv": b"a,b\n"}


def seeded(n: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


def events(cli: Cli, name: str) -> list[dict]:
    return [json.loads(line)["event"] for line in cli.ok("debug", "events", name).out.splitlines()]


def remote_objects(cli: Cli) -> set[str]:
    """Every object key under the remote (file: a walk; S3: a listing through the store)."""
    from artcli.store import open_store

    store = open_store(cli.remote, {})
    try:
        return {info.key for info in store.list("")}
    finally:
        store.close()


# -- incremental versions ---------------------------------------------------------------------------
def test_log_from_uploads_only_the_new_bytes(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    shards = {f"shards/{i}.bin": seeded((1 << 20) + i, i) for i in range(3)}
    base = make_tree(tmp_path / "base", {**shards, **FILES})
    cli.ok("log", "ds", str(base), "-a", "prod")
    new = make_tree(tmp_path / "new", {"3.bin": seeded((1 << 20) + 3, 3)})
    res = cli.ok("log", "ds", "--from", "ds:prod", str(new / "3.bin"), "--name-as", "shards", "--json").json()
    assert (res["version"], res["created"], res["base"], res["removed"]) == ("v1", True, "default/ds:v0", 0)
    assert res["files"] == 7 and res["uploaded_files"] == 1 and res["uploaded_bytes"] == (1 << 20) + 3
    out = tmp_path / "out"
    cli.ok("download", "ds:v1", "--root", str(out))
    assert tree_bytes(out) == {**shards, **FILES, "shards/3.bin": seeded((1 << 20) + 3, 3)}
    # --remove drops files of the base (patterns), a local file replaces one; packed files keep their place
    edit = make_tree(tmp_path / "edit", {"labels.csv": b"x,y\n"})
    res = cli.ok("log", "ds", "--from", "ds:v1", "--remove", "shards/[01].bin", "--remove", "train/2.bin",
                 str(edit / "labels.csv"), "--json").json()
    assert res["removed"] == 3 and res["files"] == 4 and res["uploaded_bytes"] == 4
    out2 = tmp_path / "out2"
    cli.ok("download", "ds:v2", "--root", str(out2))
    assert tree_bytes(out2) == {"shards/2.bin": shards["shards/2.bin"], "shards/3.bin": seeded((1 << 20) + 3, 3),
                                "train/1.bin": FILES["train/1.bin"], "labels.csv": b"x,y\n"}
    # the same content as logging the folder outright: the same version identity
    cli.ok("download", "ds:v2", "--root", str(tmp_path / "again"))
    assert cli.ok("log", "ds", str(tmp_path / "again"), "--json").json()["version"] == "v2"
    # nothing given but the base: the base's own content, reused
    same = cli.ok("log", "ds", "--from", "ds:v0", "--json").json()
    assert (same["version"], same["created"]) == ("v0", False)


def test_log_from_never_reads_the_base_bytes(shared_cli: Cli, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the base's manifest is read: every read a fresh clone makes is recorded, and none
    is of a blob or a pack (a pack index, which names no bytes of a file, may be)."""
    import artcli.store
    from artcli import layout

    cli = shared_cli
    base = make_tree(tmp_path / "base", {"big.bin": seeded(3 << 20, 7), **FILES})
    cli.ok("log", "ds", str(base))
    read: list[str] = []
    real = artcli.store.open_store

    def recording(url: str, options: dict) -> object:
        store = real(url, options)
        for meth in ("get", "get_ranges", "get_files"):
            def wrapped(arg: object, *a: object, _f: object = getattr(store, meth), _m: str = meth,
                        **k: object) -> object:
                read.extend([arg] if _m == "get" else [x[0] for x in arg])  # type: ignore[union-attr]
                return _f(arg, *a, **k)  # type: ignore[operator]

            setattr(store, meth, wrapped)
        return store

    monkeypatch.setattr(artcli.store, "open_store", recording)
    fresh = Cli(tmp_path / "fresh-home", cli.remote)  # an empty cache: the manifest comes from the remote
    extra = make_tree(tmp_path / "x", {"extra.txt": b"new"})
    res = fresh.ok("log", "ds", "--from", "ds", str(extra / "extra.txt"), "--json").json()
    assert res["created"] and res["uploaded_bytes"] == 3 and res["files"] == 5
    assert any(k.startswith(layout.MANIFESTS_PREFIX) for k in read), read  # the recorder sees reads
    assert not [k for k in read if k.startswith(layout.BLOBS_PREFIX)
                or (k.startswith(layout.PACKS_PREFIX) and not k.endswith(".idx"))], read


def test_log_from_refuses_a_base_whose_objects_are_gone(shared_cli: Cli, tmp_path: Path) -> None:
    """A version naming objects a gc removed must never become visible."""
    from artcli.store import open_store

    cli = shared_cli
    base = make_tree(tmp_path / "base", {"big.bin": seeded(3 << 20, 7), **FILES})
    cli.ok("log", "ds", str(base))
    store = open_store(cli.remote, {})
    try:
        for key in [i.key for i in store.list("") if i.key.startswith("blobs/")]:
            store.delete(key)
    finally:
        store.close()
    extra = make_tree(tmp_path / "x", {"extra.txt": b"new"})
    res = cli("log", "ds", "--from", "ds", str(extra / "extra.txt"))
    assert res.code == 5 and "no longer on the remote" in res.err
    assert [e["type"] for e in events(cli, "ds")] == ["version_created"]


def test_log_from_with_references_and_errors(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    base = make_tree(tmp_path / "base", FILES)
    cli.ok("log", "ds", str(base))
    src = make_tree(tmp_path / "src", {"r.txt": b"referenced"})
    res = cli.ok("log", "ds", "--from", "ds:v0", "--ref", (src / "r.txt").as_uri(), "--json").json()
    assert res["references"] == 1 and res["files"] == 4 and res["base"] == "default/ds:v0"
    rows = {r["path"]: r for r in cli.ok("files", "ds:v1", "--json").json()}
    assert set(rows) == {"labels.csv", "r.txt", "train/1.bin", "train/2.bin"} and "ref" in rows["r.txt"]
    inside = make_tree(tmp_path / "in", {"labels.csv/deeper.txt": b"x"})
    bad = cli("log", "ds", "--from", "ds:v0", str(inside))
    assert bad.code == 2 and "--remove labels.csv" in bad.err
    folder = make_tree(tmp_path / "f", {"train": b"a file where the base has a folder"})
    assert cli("log", "ds", "--from", "ds:v0", str(folder / "train")).code == 2
    assert cli("log", "ds", "--from", "ds:v0", "--remove", "nothing/**").code == 2
    assert cli("log", "ds", str(base), "--remove", "x").code == 2  # --remove needs --from
    assert cli("log", "ds", "--from", "ds:v9", str(base)).code == 3


# -- dry runs -----------------------------------------------------------------------------------------
def test_log_dry_run_writes_nothing(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    data = make_tree(tmp_path / "d", {**FILES, "big.bin": seeded(2 << 20, 1)})
    before = remote_objects(cli)
    res = cli.ok("log", "ds", str(data), "--dry-run", "--json").json()
    assert (res["dry_run"], res["created"], res["version"], res["files"]) == (True, True, "v0", 4)
    assert res["uploaded_files"] == 4 and res["uploaded_bytes"] == sum(map(len, FILES.values())) + (2 << 20)
    assert remote_objects(cli) == before  # not even the format marker
    cli.ok("log", "ds", str(data))
    after = remote_objects(cli)
    (data / "labels.csv").write_bytes(b"changed\n")
    res = cli.ok("log", "ds", str(data), "--dry-run", "--json").json()
    assert (res["version"], res["uploaded_files"], res["uploaded_bytes"]) == ("v1", 1, 8)
    again = cli.ok("log", "ds", "--from", "ds", "--remove", "labels.csv", "--dry-run", "--json").json()
    assert again["created"] is True and again["files"] == 3 and again["uploaded_bytes"] == 0
    (data / "labels.csv").write_bytes(FILES["labels.csv"])
    same = cli.ok("log", "ds", str(data), "--dry-run")
    assert same.out.strip() == "default/ds:v0" and "would reuse" in same.err
    assert remote_objects(cli) == after


def test_event_dry_runs_write_no_event(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    data = make_tree(tmp_path / "d", FILES)
    cli.ok("log", "ds", str(data), "-a", "prod", "--type", "model")
    cli.ok("registry", "create", "models", "-t", "model")
    n = len(events(cli, "ds"))
    objects = remote_objects(cli)

    res = cli.ok("alias", "add", "ds:v0", "best", "--dry-run", "--json").json()
    assert res["dry_run"] and [r["event"]["type"] for r in res["would_write"]] == ["alias_set"]
    assert res["would_write"][0]["event"]["seq"] == n
    text = cli.ok("alias", "add", "ds:v0", "best", "--dry-run")
    assert "would write alias_set" in text.err and "1 event(s) not written" in text.err
    rm = cli.ok("alias", "rm", "ds", "prod", "--dry-run", "--json").json()
    assert rm[0]["would_write"][0]["event"]["type"] == "alias_removed"
    dl = cli.ok("delete", "ds:v0", "--force", "--dry-run", "--json").json()
    assert dl["dry_run"] and dl["removed_aliases"] == ["prod"]
    assert [r["event"]["type"] for r in dl["would_write"]] == ["version_deleted"]
    ttl = cli.ok("ttl", "set", "ds:v0", "7d", "--dry-run", "--json").json()
    assert [r["event"]["type"] for r in ttl["would_write"]] == ["ttl_set"]
    link = cli.ok("link", "ds:v0", "registry/models/m", "--alias", "prod", "--dry-run", "--json").json()
    assert link["dry_run"] and link["ref"] == "registry/models/m:v0" and link["created"] is True
    assert [r["event"]["type"] for r in link["would_write"]][-1] == "linked"  # after any intent event
    assert len(events(cli, "ds")) == n and remote_objects(cli) == objects
    assert cli("show", "registry/models/m").code == 3
    # the same commands for real write what the dry runs said
    real = cli.ok("alias", "add", "ds:v0", "best", "--json").json()
    assert real["changes"] == res["changes"] and "would_write" not in real
    assert len(events(cli, "ds")) == n + 1


def test_download_dry_run_lists_and_writes_nothing(shared_cli: Cli, tmp_path: Path) -> None:
    cli = shared_cli
    data = make_tree(tmp_path / "d", FILES)
    cli.ok("log", "ds", str(data))
    out = tmp_path / "out"
    res = cli.ok("download", "ds", "--root", str(out), "--dry-run")
    assert res.out.splitlines() == ["labels.csv", "train/1.bin", "train/2.bin"] and not out.exists()
    cli.ok("download", "ds", "--root", str(out))
    (out / "train" / "1.bin").unlink()
    assert cli.ok("download", "ds", "--root", str(out), "--dry-run", "--json").json()["would_write"] == ["train/1.bin"]
    assert not (out / "train" / "1.bin").exists()


# -- global flags ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_and_debug_anywhere(cli: Cli, tmp_path: Path, where: str) -> None:
    data = make_tree(tmp_path / "d", FILES)
    args = ["log", "ds", str(data)]
    res = cli.ok("-q", *args) if where == "before" else cli.ok(*args, "-q")
    assert res.out.strip() == "default/ds:v0" and res.err == ""
    loud = cli.ok(*args)
    assert "unchanged" in loud.err
    dbg = cli("show", "nope", "--debug") if where == "after" else cli("--debug", "show", "nope")
    assert dbg.code == 3 and "Traceback" in dbg.err
    # after "--", a -q is an argument, not a flag
    assert cli("log", "ds", "--", "-q").code == 3
