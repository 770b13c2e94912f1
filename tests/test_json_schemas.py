"""Every ``--json`` output matches its published JSON Schema (docs/schemas/, docs/json.md).

One scenario runs every command that has ``--json`` for real against a file:// remote; each
output is validated with jsonschema. A second test walks the Typer tree so a new command with
``--json`` cannot ship without a schema.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from clihelp import Cli, make_tree

SCHEMAS = Path(__file__).resolve().parent.parent / "docs" / "schemas"
NOW = "2026-01-01T00:00:00Z"
LATER = "2027-01-01T00:00:00Z"  # past every TTL set below: gc expires them


def schema_name(path: tuple[str, ...]) -> str:
    return "-".join(path)


def json_commands() -> list[str]:
    from artcli.cli.devtools import command_tree, walk

    return [schema_name(path) for path, cmd in walk(command_tree())
            if path and any("--json" in getattr(p, "opts", ()) for p in getattr(cmd, "params", ()))]


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """Run the scenario once: schema name -> every JSON document that command printed."""
    tmp = tmp_path_factory.mktemp("schemas")
    cli = Cli(tmp / "home", (tmp / "remote").as_uri(), env={"ARTCLI_NOW": NOW})
    data = make_tree(tmp / "data", {"a.txt": b"hello", "sub/b.bin": os.urandom(2000)})
    src = make_tree(tmp / "src", {"r.txt": b"ref"})
    got: dict[str, list[Any]] = {}

    def j(name: str, *args: str, env: dict[str, str] | None = None) -> Any:
        doc = cli.ok(*args, "--json", env=env).json()
        got.setdefault(name, []).append(doc)
        return doc

    cli.ok("remote", "add", "team", "s3://bucket/prefix", "-o", "endpoint_url=http://127.0.0.1:9")
    j("run-start", "run", "start", "--id", "r1", "--job-type", "train")
    j("log", "log", "ds", str(data), "--alias", "raw", "-m", "rows=3", "-m", "w:size=1GiB", "--run", "r1")
    j("log", "log", "ds", str(data))  # reused
    (data / "a.txt").write_bytes(b"changed")
    j("log", "log", "ds", str(data), "--input", "ds:v0", "--run", "r1", "-d", "second")
    j("add-ref", "add-ref", "refs", src.as_uri())
    j("log", "log", "mixed", str(data / "a.txt"), "--ref", (src / "r.txt").as_uri())
    j("download", "download", "ds:v0", "--root", str(tmp / "out"), "--run", "r1")
    j("ls", "ls")
    j("ls", "ls", "ds")
    j("ls", "ls", "ds", "--where", "rows=3", "--sort", "-rows")
    j("show", "show", "ds:raw")
    j("files", "files", "ds")
    j("files", "files", "refs")
    j("alias-add", "alias", "add", "ds:v1", "best", "prod")
    j("alias-ls", "alias", "ls", "ds")
    j("alias-ls", "alias", "ls", "ds", "--history")
    j("history", "history", "ds")
    j("metadata-set", "metadata", "set", "ds:v1", "acc=0.9", "card.x=1", "src:uri=s3://b/k")
    j("metadata-get", "metadata", "get", "ds:v1", "acc")
    j("metadata-get", "metadata", "get", "ds:v1", "card")
    j("metadata-ls", "metadata", "ls", "ds:v1")
    j("metadata-ls", "metadata", "ls", "ds:v1", "--history")
    j("diff", "diff", "ds:v0", "ds:v1")
    j("diff", "diff", "ds:v1", "refs:v0")
    j("diff", "diff", "ds:v0", str(tmp / "out"))  # a folder on one side
    j("log", "log", "ds", "--from", "ds:v0", str(data / "a.txt"), "--name-as", "more", "--dry-run")
    j("log", "log", "ds", "--from", "ds:v1", "--remove", "sub/**")
    j("download", "download", "ds:v0", "--root", str(tmp / "out"), "--dry-run", "--no-track")
    got["status"] = [json.loads(cli("status", "ds:v0", str(tmp / "out"), "--json").out),
                     json.loads(cli("status", "ds:v1", str(tmp / "out"), "--json").out)]
    j("alias-add", "alias", "add", "ds:v0", "maybe", "--dry-run")
    j("registry-create", "registry", "create", "shelf", "-d", "a shelf", "-t", "dataset")
    j("link", "link", "ds:v1", "registry/shelf/churn", "--alias", "candidate", "--dry-run")
    j("link", "link", "ds:v1", "registry/shelf/churn", "--alias", "candidate")
    j("alias-ls", "alias", "ls", "registry/shelf/churn")
    j("ls", "ls", "registry/shelf/churn")
    j("registry-ls", "registry", "ls")
    j("registry-show", "registry", "show", "shelf")
    j("use", "use", "ds:v0", "--run", "r1")
    j("use", "use", "registry/shelf/churn:candidate", "--run", "r1")
    j("run-show", "run", "show", "r1")
    j("run-finish", "run", "finish", "r1", "--status", "succeeded")
    j("lineage", "lineage", "ds:v1")
    got["lineage"].append(json.loads(cli.ok("lineage", "ds:v0", "--format", "json", "--depth", "1").out))
    j("ttl-default", "ttl", "default", "30d")
    j("ttl-set", "ttl", "set", "refs:v0", "7d", "--dry-run")
    j("ttl-set", "ttl", "set", "refs:v0", "7d")
    j("ttl-set", "ttl", "set", "ds:v0", "7d", "--downstream")  # ds:v1 is linked: skipped
    j("ttl-show", "ttl", "show", "refs:v0")
    j("unlink", "unlink", "registry/shelf/churn:v0")
    j("alias-rm", "alias", "rm", "ds", "best", "--dry-run")
    j("alias-rm", "alias", "rm", "ds", "best", "prod")
    j("cache-info", "cache", "info")
    j("cache-prune", "cache", "prune", "--max-size", "1", "--dry-run")
    j("remote-ls", "remote", "ls")
    j("remote-show", "remote", "show", "team")
    j("remote-show", "remote", "show")  # the one in effect: a URL here (ARTCLI_REMOTE)
    j("remote-check", "remote", "check", (tmp / "probed").as_uri(), "--writers", "2", "--processes", "1",
      "--trials", "2")
    j("debug-fsck", "debug", "fsck", "--read-data")
    j("site", "site", "--out", str(tmp / "site"))
    j("site", "site", "--out", str(tmp / "site"), "--project", "default")  # unchanged: nothing written
    j("delete", "delete", "mixed:v0", "--dry-run")
    j("delete", "delete", "mixed:v0")
    j("describe", "describe", "ds:v1", "new words")
    j("describe", "describe", "ds:v1")
    j("projects", "projects")
    j("rename", "rename", "refs", "refs-renamed")
    j("copy", "copy", "ds:v1", "--to", (tmp / "prod").as_uri(), "--alias", "live")
    j("copy", "copy", "ds:v1", "--to", (tmp / "prod").as_uri())  # already there
    j("delete", "delete", "refs", "--all", "--force")
    j("gc", "gc", "--dry-run", env={"ARTCLI_NOW": LATER})
    j("gc", "gc", "--grace", "0s", env={"ARTCLI_NOW": LATER})
    return got


def test_every_json_command_has_a_schema() -> None:
    names = json_commands()
    assert len(names) >= 30 and "log" in names and "alias-add" in names
    missing = [n for n in names if not (SCHEMAS / f"{n}.json").is_file()]
    assert not missing, f"commands with --json but no docs/schemas/<name>.json: {missing}"
    stale = sorted({p.stem for p in SCHEMAS.glob("*.json")} - set(names) - {"error"})  # error: every command's
    assert not stale, f"schemas for commands that do not exist: {stale}"
    doc = (SCHEMAS.parent / "json.md").read_text()
    undocumented = [n for n in names if f"schemas/{n}.json" not in doc]
    assert not undocumented, f"docs/json.md does not describe: {undocumented}"


@pytest.mark.parametrize("args", [["show", "nope", "--json"], ["ls", "nope", "--format", "json"],
                                  ["download", "x", "--root", "/proc/nope", "--json"],
                                  ["lineage", "x:notanalias!", "--json"], ["ls", "-r", "/no/such/store", "--json"]])
def test_errors_under_json_are_a_json_error_object(tmp_path: Path, args: list[str]) -> None:
    """A command asked for JSON that fails prints a JSON error object on stdout (and its one
    line on stderr), matching docs/schemas/error.json; its ``code`` is the exit code."""
    cli = Cli(tmp_path / "home", (tmp_path / "remote").as_uri())
    cli.ok("log", "x", str(make_tree(tmp_path / "d", {"a": b"a"})))
    r = cli(*args)
    assert r.code != 0 and r.err.startswith("error: "), r
    doc = json.loads(r.out)
    _validator("error").validate(doc)
    assert doc["error"]["code"] == r.code and doc["error"]["message"] in r.err
    plain = cli(*[a for a in args if a not in ("--json", "--format", "json")])
    assert plain.code == r.code and plain.out == ""  # without --json, stdout stays empty


def test_a_failing_command_that_printed_its_report_adds_no_error_object(tmp_path: Path) -> None:
    """``debug fsck --json`` prints its findings and then exits 4: stdout stays one document."""
    cli = Cli(tmp_path / "home", (tmp_path / "remote").as_uri())
    cli.ok("log", "x", str(make_tree(tmp_path / "d", {"a": b"a"})))
    stored = [p for p in (tmp_path / "remote").rglob("*") if p.is_file() and "/packs/" in p.as_posix()]
    for p in stored:  # the version's bytes are gone
        p.unlink()
    r = cli("debug", "fsck", "--json")
    assert r.code == 4 and "error" not in r.json() and r.json()["findings"], r


@pytest.mark.parametrize("name", json_commands())
def test_output_matches_schema(name: str, outputs: dict[str, list[Any]]) -> None:
    assert name in outputs, f"the scenario never ran {name} --json: add it"
    validator = _validator(name)
    for doc in outputs[name]:
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, f"{name}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors[:5])


def test_schemas_reject_drift() -> None:
    """The schemas are strict: a renamed or missing field fails validation."""
    v = _validator("log")
    good = {"ref": "default/ds:v0", "project": "default", "name": "ds", "version": "v0", "digest": "a" * 64,
            "created": True, "files": 1, "size": 1, "type": "dataset", "aliases": ["latest"],
            "uploaded_files": 1, "uploaded_bytes": 1}
    assert v.is_valid(good)
    assert not v.is_valid({**good, "extra": 1})
    assert not v.is_valid({k: x for k, x in good.items() if k != "digest"})
    assert not v.is_valid({**good, "files": "1"})
