"""The everyday verbs and the catalogue from Python (artcli/api/catalogue.py): each method is
the op the CLI calls, on file and S3 remotes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import artcli
from artcli.errors import ConflictError

from clihelp import make_tree
from fixtures_cli import S3


@pytest.mark.parametrize("kind", ["file", S3])
def test_verbs_and_catalogue_from_python(kind: str, tmp_path: Path,
                                         make_remote: Callable[[str], tuple[str, dict[str, str]]]) -> None:
    url, _ = make_remote(kind)
    other, _ = make_remote(kind)
    data = make_tree(tmp_path / "data", {"a.txt": b"alpha", "b.tmp": b"scratch", "sub/c.bin": bytes(range(256)) * 4})
    with artcli.open(url) as repo, artcli.open(other) as dest:
        preview = repo.log("ds", [str(data)], dry_run=True)
        assert preview.dry_run and preview.created and repo.ls() == []  # nothing written
        v0 = repo.log("ds", [str(data)], exclude=["*.tmp"], description="first")
        assert v0.files == 2 and [f.path for f in repo.files("ds", include=["sub/**"])] == ["sub/c.bin"]

        make_tree(tmp_path / "more", {"d.txt": b"delta"})
        v1 = repo.log("ds", [str(tmp_path / "more")], base="ds:v0", remove=["a.txt"])
        assert (v1.version, v1.base, v1.removed) == (1, "default/ds:v0", 1)
        assert sorted(f.path for f in repo.files("ds:v1")) == ["d.txt", "sub/c.bin"]

        st = repo.status("ds:v0", str(data), exclude=["*.tmp"])
        assert st.identical, st.to_json()
        (data / "a.txt").write_bytes(b"ALPHA")
        st = repo.status("ds:v0", str(data), exclude=["*.tmp"], read_data=True)
        assert [old.path for old, _new in st.modified] == ["a.txt"] and not st.identical

        assert repo.cat("ds:v0", "sub/c.bin") == bytes(range(256)) * 4
        out = tmp_path / "out"
        dry = repo.download("ds:v0", str(out), include=["a.txt"], dry_run=True)
        assert dry.dry_run and not out.exists()
        repo.download("ds:v0", str(out), include=["a.txt"])
        assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["a.txt"]

        described = repo.describe("ds:v0", "the first cut")
        assert described.changed and repo.describe("ds:v0").description == "the first cut"
        assert [h.get("description") for h in repo.describe("ds:v0").history][-2:] == ["first", "the first cut"]
        assert [r["project"] for r in repo.projects().to_json()] == ["default"]

        copied = repo.copy("ds:v0", dest)
        assert copied.created and dest.show("ds:v0").digest == repo.show("ds:v0").digest
        assert not repo.copy("ds:v0", dest).created  # idempotent: nothing new on a second run

        renamed = repo.rename("ds", "dataset")
        assert renamed.renamed and repo.show("dataset:v0").digest == repo.show("ds:v0").digest

        repo.link("dataset:v1", "registry/datasets/main")
        listing = repo.collection("registry/datasets/main")
        assert [r["source"] for r in listing.to_json()] == ["default/dataset:v1"]

        dest.log("scratch", [str(tmp_path / "more")], aliases=["keep"])
        with pytest.raises(ConflictError):  # a custom alias: refused without force, nothing deleted
            dest.delete_artifact("scratch")
        assert [v.version for v in dest.ls("scratch")] == [0]
        gone = dest.delete_artifact("scratch", force=True)
        assert gone.deleted == ["default/scratch:v0"]
