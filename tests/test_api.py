"""The public Python API (``import artcli``): typed results that are the ``--json`` documents,
the errors hierarchy, runs with lineage as the CLI records it, progress off by default.

The workflows of docs/python.md run in tests/test_api_docs.py; CLI/API parity in
tests/test_api_parity.py; threads in tests/test_api_threads.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import artcli
from artcli.errors import ConflictError, NotFoundError, UsageError

from clihelp import Cli, make_tree

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"


def _valid(name: str, doc: Any) -> None:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    errors = [e.message for e in Draft202012Validator(
        schema, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(doc)]
    assert not errors, f"{name}: {errors[:3]}"


@pytest.fixture
def remote(tmp_path: Path) -> str:
    (tmp_path / "remote").mkdir()
    return (tmp_path / "remote").as_uri()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "data", {"a.txt": b"hello", "sub/b.bin": bytes(range(256)) * 8})


def test_results_are_the_json_documents_and_match_the_schemas(remote: str, data: Path, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", remote)
    with artcli.open(remote) as repo:
        logged = repo.log("ds", [str(data)], aliases=["raw"], metadata={"rows": 3, "w:size": "1KiB",
                                                                         "stats": {"mean": 0.5}})
        assert isinstance(logged, artcli.LogResult) and logged.created and logged.version == 0
        _valid("log", logged.to_json())
        again = repo.log("ds", [str(data)])
        assert not again.created and again.version == 0
        refs = repo.add_ref("refs", [data.as_uri()], checksum=False)
        assert isinstance(refs, artcli.AddRefResult) and refs.references == 1
        _valid("add-ref", refs.to_json())
        arts = repo.ls()
        assert [(a.name, a.latest) for a in arts] == [("ds", 0), ("refs", 0)]
        rows = repo.ls("ds")
        info = repo.show("ds:raw")
        files = repo.files("ds")
        md = repo.metadata.get("ds", "stats")
        ttl = repo.ttl_info("ds")
        # the very objects --json prints: the CLI's output is their to_json()
        assert [a.to_json() for a in arts] == cli.ok("ls", "--json").json()
        assert [r.to_json() for r in rows] == cli.ok("ls", "ds", "--json").json()
        assert info.to_json() == cli.ok("show", "ds:raw", "--json").json()
        assert [f.to_json() for f in files] == cli.ok("files", "ds", "--json").json()
        assert md.to_json() == cli.ok("metadata", "get", "ds", "stats", "--json").json()
        ttl_cli = cli.ok("ttl", "show", "ds", "--json").json()
        assert ttl.to_json() == ttl_cli
        repo.alias("ds:v0", "best")
        assert [a.to_json() for a in repo.aliases("ds")] == cli.ok("alias", "ls", "ds", "--json").json()
        moves = repo.alias_history("ds")
        assert [m.to_json() for m in moves] == cli.ok("history", "ds", "--json").json()
        assert [(m.alias, m.from_version, m.to_version) for m in moves][-1] == ("best", None, 0)
        assert [r.to_json() for r in repo.registries()] == cli.ok("registry", "ls", "--json").json()
        _valid("alias-ls", [a.to_json() for a in repo.aliases("ds")])
        _valid("history", [m.to_json() for m in moves])
        _valid("registry-ls", [r.to_json() for r in repo.registries()])
        _valid("ls", [a.to_json() for a in arts] + [r.to_json() for r in rows])
        _valid("show", info.to_json())
        _valid("files", [f.to_json() for f in files])
        _valid("metadata-get", md.to_json())
        _valid("ttl-show", ttl.to_json())
        assert info.metadata == {"rows": 3, "w": 1024, "stats.mean": 0.5}
        assert md.value == {"mean": 0.5} and md.type == "card"
        assert {f.path: f.size for f in files} == {"a.txt": 5, "sub/b.bin": 2048}
        assert list(repo.iter_files("ds")) == files
        assert [a.name for a in repo.ls(type="dataset")] == ["ds", "refs"] and repo.ls(type="model") == []
        got = repo.download("ds:raw", str(tmp_path / "out"))
        _valid("download", got.to_json())
        assert (tmp_path / "out" / "sub" / "b.bin").read_bytes() == (data / "sub" / "b.bin").read_bytes()


def test_errors_are_the_hierarchy_with_exit_codes(remote: str, data: Path) -> None:
    with artcli.open(remote) as repo:
        with pytest.raises(NotFoundError) as nf:
            repo.show("nothing")
        assert nf.value.exit_code == 3 and isinstance(nf.value, artcli.ArtcliError)
        with pytest.raises(UsageError) as bad:
            repo.show("bad ref!")
        assert bad.value.exit_code == 2
        repo.log("ds", [str(data)], type="dataset")
        with pytest.raises(ConflictError) as conflict:
            repo.log("ds", [str(data)], type="model")
        assert conflict.value.exit_code == 5
        with pytest.raises(UsageError):
            repo.log("ds", [str(data)], ttl=timedelta(0))
        with pytest.raises(UsageError):
            repo.log("ds", [str(data)], ttl=datetime(2030, 1, 1))  # naive: which zone?
    assert artcli.errors.IntegrityError.exit_code == 4 and artcli.RemoteError.exit_code == 6


def test_ttl_at_log_time_and_later_from_python_values(remote: str, data: Path) -> None:
    with artcli.open(remote) as repo:
        v = repo.log("ds", [str(data)], ttl=timedelta(days=2))
        left = repo.ttl_info(v.ref).remaining_seconds
        assert left is not None and 86400 < left <= 2 * 86400
        when = datetime(2099, 1, 31, 12, tzinfo=UTC)
        res = repo.ttl(v.ref, when)
        assert res.expires == "2099-01-31T12:00:00.000000Z" and repo.show(v.ref).expires == res.expires
        repo.ttl(v.ref, "never")
        assert repo.show(v.ref).expires is None
        repo.default_ttl(timedelta(hours=12))
        (data / "a.txt").write_bytes(b"new")
        v1 = repo.log("ds", [str(data)])
        left = repo.ttl_info(v1.ref).remaining_seconds
        assert left is not None and 0 < left <= 12 * 3600


def test_run_records_lineage_as_the_cli_does(remote: str, data: Path, tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", remote)
    with artcli.open(remote) as repo:
        repo.log("raw", [str(data)], aliases=["prod"])
    with artcli.run(job_type="train", name="nightly", remote=remote) as run:
        used = run.use("raw:prod")
        assert used.ref == "default/raw:v0" and used.recorded
        run.download("raw", str(tmp_path / "in"))
        out = run.log("model", [str(data / "a.txt")], type="model")
        md = run.log_metadata({"model_metrics": {"accuracy": 0.95}, "weights:size": "2KiB"})
        assert md.ref == out.ref and md.inferred and md.run == run.id
    shown = cli.ok("run", "show", run.id, "--json").json()
    assert shown["job_type"] == "train" and shown["name"] == "nightly" and shown["status"] == "succeeded"
    assert shown["command"][0] == "python"  # this process's line, not a made-up artcli command
    assert [(r["ref"], r["via"]) for r in shown["inputs"]] == [("default/raw:v0", "use")]
    assert [r["ref"] for r in shown["outputs"]] == ["default/model:v0"]
    graph = cli.ok("lineage", "model", "--direction", "up", "--json").json()
    assert {n["id"] for n in graph["nodes"]} >= {"default/model:v0", "default/raw:v0", f"run:{run.id}"}
    meta = cli.ok("metadata", "get", "model", "weights", "--json").json()
    assert meta["value"] == 2048 and meta["type"] == "size"
    used_by = [e for e in cli.ok("debug", "events", "raw").out.splitlines() if '"used"' in e]
    assert len(used_by) == 1 and run.id in used_by[0]  # use + download of one version: one event

    with pytest.raises(RuntimeError), artcli.run(job_type="eval", remote=remote) as failing:
        failing.use("model")
        raise RuntimeError("boom")
    assert cli.ok("run", "show", failing.id, "--json").json()["status"] == "failed"


def test_explicit_run_id_continues_a_ci_run(remote: str, data: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A script inside a CI step that already started the run (ARTCLI_RUN_ID) records into it."""
    cli = Cli(tmp_path / "home", remote)
    rid = cli.ok("run", "start", "--id", "ci-7", "--job-type", "ingest").out.strip()
    monkeypatch.setenv("ARTCLI_RUN_ID", rid)
    with artcli.open(remote) as repo:
        assert repo.run_id == "ci-7"
        repo.log("ds", [str(data)])
    with artcli.run(job_type="train", remote=remote) as run:  # joins the started run; does not finish it
        assert run.id == "ci-7"
        run.use("ds")
    shown = cli.ok("run", "show", "ci-7", "--json").json()
    assert shown["job_type"] == "ingest" and [r["ref"] for r in shown["outputs"]] == ["default/ds:v0"]
    assert [r["via"] for r in shown["inputs"]] == ["use"] and shown["finished"] is None
    # the CLI ran in this process first: the script's records still name the script, not that command
    assert shown["command"][:2] == ["artcli", "run"] and shown["outputs"][0]["command"][0] == "python"
    cli.ok("run", "finish", "ci-7", "--status", "succeeded")  # the step that started it finishes it


def test_progress_is_a_callback_and_off_by_default(remote: str, data: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[artcli.Progress] = []
    with artcli.open(remote, progress=seen.append) as repo:
        repo.log("ds", [str(data)])
        repo.download("ds", str(tmp_path / "o"))
    phases = [p.phase for p in seen if p.kind == "phase"]
    assert "hashing" in phases and "downloading" in phases
    hashed = [p for p in seen if p.phase == "hashing" and p.kind == "advance"]
    assert hashed and hashed[-1].completed == hashed[-1].total == 5 + 2048
    assert sum(p.kind == "done" for p in seen) == 2
    (data / "a.txt").write_bytes(b"quiet")
    with artcli.open(remote) as repo:
        repo.log("ds", [str(data)])
    assert capsys.readouterr() == ("", "")  # no callback: nothing on stdout or stderr


def test_registry_link_and_download_by_registry_ref(remote: str, data: Path, tmp_path: Path) -> None:
    with artcli.open(remote) as repo:
        v = repo.log("churn-model", [str(data)], type="model")
        link = repo.link(v.ref, "registry/models/churn", aliases=["production"])
        assert link.ref == "registry/models/churn:v0"
        got = repo.download("registry/models/churn:production", str(tmp_path / "prod"))
        assert got.ref == v.ref and (tmp_path / "prod" / "a.txt").read_bytes() == b"hello"
        assert repo.show("registry/models/churn:production").digest == v.digest
        assert [r.name for r in repo.registries()] == ["datasets", "models"]
        assert [(a.alias, a.version, a.source) for a in repo.aliases("registry/models/churn")] == \
            [("latest", 0, v.ref), ("production", 0, v.ref)]
        with pytest.raises(ConflictError):
            repo.ttl(v.ref, "1d")  # a linked version never expires


def test_open_reads_nothing_until_used(tmp_path: Path) -> None:
    repo = artcli.open((tmp_path / "missing").as_uri(), "p1")
    assert (repo.project, repo.remote) == ("p1", (tmp_path / "missing").as_uri())
    with pytest.raises(NotFoundError):
        repo.ls()
    repo.close()
    with pytest.raises(artcli.ArtcliError, match="closed"):
        repo.ls()


def test_public_names() -> None:
    import artcli.api

    assert sorted(artcli.__all__) == sorted([*artcli.api.__all__, "__version__", "errors"])
    for name in artcli.__all__:
        assert getattr(artcli, name) is not None
    with pytest.raises(AttributeError):
        artcli.not_a_name  # noqa: B018
    assert (Path(artcli.__file__).parent / "py.typed").is_file()


def test_fsck_from_python(remote: str, data: Path) -> None:
    with artcli.open(remote) as repo:
        repo.log("ds", [str(data)])
        report = repo.fsck(read_data=True)
        assert isinstance(report, artcli.FsckReport) and report.versions == 1 and not report.problems
