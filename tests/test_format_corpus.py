"""The conformance corpus (tests/format_corpus/, docs/format.md): artcli, through its command
line with ``--json``, reaches every case's expected result on a ``file://`` copy of the case's
remote, with a fresh cache per case.

``expected.json`` is written by hand from the spec; its fields are described in
tests/format_corpus/README.md. This file is artcli's harness; a second implementation maps the
same expectations onto its own commands.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from artcli.hashing import digest_file

from clihelp import Cli, Result

CORPUS = Path(__file__).resolve().parent / "format_corpus"
sys.path.insert(0, str(CORPUS))
import generate  # noqa: E402

CASES = sorted(p.parent.name for p in CORPUS.glob("*/expected.json"))
#: the commands that must all refuse a remote whose marker check fails (§2.1)
REFUSING = [("ls",), ("show", "ds"), ("ls", "ds"), ("download", "ds", "--root", "out"), ("registry", "ls"),
            ("gc", "--dry-run"), ("debug", "events", "ds"), ("history", "ds"), ("alias", "add", "ds", "x"),
            ("ttl", "show", "ds"), ("log", "ds", "@input")]


def test_every_case_has_a_remote_and_a_generator() -> None:
    assert len(CASES) >= 20
    for case in CASES:
        assert (CORPUS / case / "remote").is_dir(), case
        assert case in generate.CASES, f"{case} is not built by generate.py"
    assert set(generate.CASES) == set(CASES), "every generated case needs an expected.json"


class Case:
    def __init__(self, name: str, tmp: Path) -> None:
        self.name = name
        self.exp: dict[str, Any] = json.loads((CORPUS / name / "expected.json").read_text())
        self.tmp = tmp
        self.remote = tmp / "remote"
        shutil.copytree(CORPUS / name / "remote", self.remote, symlinks=True)
        (self.remote / ".keep").unlink()
        self.cli = Cli(tmp / "home", self.remote.as_uri(), env={"ARTCLI_NOW": self.exp["now"]})
        self.n = 0

    def run(self, *args: str, project: str | None = None) -> Result:
        env = {"ARTCLI_PROJECT": project} if project else None
        args = tuple(self._input(a) if a.startswith("@") else a for a in args)
        return self.cli(*args, env=env)

    def _input(self, arg: str) -> str:
        """``@input``: a new file of its own; ``@text:<text>``: a file holding exactly that text."""
        self.n += 1
        f = self.tmp / "inputs" / str(self.n) / "in.txt"
        f.parent.mkdir(parents=True)
        f.write_text(arg[len("@text:"):] if arg.startswith("@text:") else f"{self.name} input {self.n}\n")
        return str(f)

    def json(self, *args: str, project: str | None = None) -> Any:
        r = self.run(*args, "--json", project=project)
        assert r.code == 0, f"artcli {' '.join(args)}: exit {r.code}\n{r.err}"
        return r.json()

    def expect_exit(self, code: int, *args: str, project: str | None = None) -> Result:
        r = self.run(*args, project=project)
        assert r.code == code, f"artcli {' '.join(args)}: exit {r.code}, expected {code}\n{r.out}\n{r.err}"
        return r


def _artifacts(c: Case, artifacts: dict[str, Any], project: str | None) -> None:
    rows = {r["name"]: r for r in c.json("ls", project=project)}
    assert sorted(rows) == sorted(artifacts), "ls lists other artifacts"
    for name, want in artifacts.items():
        row = rows[name]
        versions = want.get("versions", {})
        got = {"type": row["type"], "latest": row["latest"], "updated": row["updated"], "versions": row["versions"]}
        assert got == {"type": want["type"], "latest": want["latest"], "updated": want["updated"],
                       "versions": len(versions)}, f"ls row of {name}"
        listed = {v["version"]: v for v in c.json("ls", name, project=project)} if versions or want["latest"] \
            else {}
        assert list(listed) == list(versions), f"live versions of {name} (ls {name}), in number order"
        for v, fields in versions.items():
            have = {k: listed[v][k] for k in fields}
            assert have == fields, f"{name}:{v}"
        if "aliases" in want:
            rows_a = c.json("alias", "ls", name, project=project) if listed else []
            aliases = {a["alias"]: a["version"] for a in rows_a if a["alias"] != "latest"}
            assert aliases == want["aliases"], f"aliases of {name}"


def _registries(c: Case, registries: dict[str, Any]) -> None:
    listed = {r["name"] for r in c.json("registry", "ls")}
    assert listed == set(registries), "registry ls"
    for reg, want in registries.items():
        shown = c.json("registry", "show", reg)
        colls = {x["name"]: x for x in shown["collections"]}
        assert sorted(colls) == sorted(want.get("collections", {})), f"collections of {reg}"
        for name, cw in want.get("collections", {}).items():
            x = colls[name]
            got = {"latest": x["latest"], "aliases": x["aliases"],
                   "links": {lk["version"]: lk["source"] for lk in x["links"]}}
            assert got == cw, f"registry/{reg}/{name}"


def _resolve(c: Case, items: list[dict[str, Any]]) -> None:
    for item in items:
        if "exit" in item:
            c.expect_exit(item["exit"], "show", item["ref"], project=item.get("project"))
        else:
            assert c.json("show", item["ref"], project=item.get("project"))["ref"] == item["to"], item


def _download(c: Case, items: list[dict[str, Any]]) -> None:
    for i, item in enumerate(items):
        root = c.tmp / f"download-{i}"
        if "exit" in item:
            c.expect_exit(item["exit"], "download", item["ref"], "--root", str(root))
            written = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
            assert not written, f"{item['ref']}: files written before the refusal: {written}"
            continue
        c.json("download", item["ref"], "--root", str(root))
        got = {p.relative_to(root).as_posix(): digest_file(str(p)) for p in root.rglob("*") if p.is_file()}
        assert got == item["files"], item["ref"]


def _fsck(c: Case, findings: list[dict[str, str]]) -> None:
    r = c.run("debug", "fsck", "--json")
    assert r.code == (4 if findings else 0), f"fsck exit {r.code}\n{r.out}\n{r.err}"
    doc = r.json()
    got = Counter((f["kind"], f["key"]) for f in doc["findings"])
    assert got == Counter((f["kind"], f["key"]) for f in findings), json.dumps(doc["findings"], indent=1)
    for f in doc["findings"]:
        assert f["message"] and f["message"] != f["kind"], f


def _gc(c: Case, want: dict[str, list[str]]) -> None:
    doc = c.json("gc", "--dry-run")
    assert sorted(x["ref"] for x in doc["expired"]) == sorted(want.get("expired", [])), "gc expired"
    assert sorted(x["ref"] for x in doc["ttl_cleared"]) == sorted(want.get("ttl_cleared", [])), "gc ttl_cleared"


def _runs(c: Case, runs: dict[str, Any]) -> None:
    for rid, want in runs.items():
        doc = c.json("run", "show", rid)
        got = {"inputs": [x["ref"] for x in doc["inputs"]], "outputs": [x["ref"] for x in doc["outputs"]],
               "status": doc["status"]}
        assert got == want, f"run {rid}"


def _writes(c: Case, items: list[dict[str, Any]]) -> None:
    for item in items:
        if item["exit"]:
            c.expect_exit(item["exit"], *item["args"])
        else:
            doc = c.json(*item["args"])
            for field in ("ref", "uploaded_files"):
                if field in item:
                    assert doc[field] == item[field], item


@pytest.mark.parametrize("case", CASES)
def test_case(case: str, tmp_path: Path) -> None:
    c = Case(case, tmp_path)
    exp = c.exp
    with generate.work_lock(), generate.one_command_tree():  # location-only references point at the one fixed source folder
        if "sources" in exp:
            generate.make_sources(exp["sources"])
        if "refuse" in exp:
            for args in REFUSING:
                c.expect_exit(exp["refuse"]["exit"], *args)
        if "artifacts" in exp:
            _artifacts(c, exp["artifacts"], None)
        for project, artifacts in exp.get("projects", {}).items():
            _artifacts(c, artifacts, project)
        if "registries" in exp:
            _registries(c, exp["registries"])
        _resolve(c, exp.get("resolve", []))
        _download(c, exp.get("download", []))
        _runs(c, exp.get("runs", {}))
        if "gc" in exp:
            _gc(c, exp["gc"])
        _fsck(c, exp.get("fsck", []))
        _writes(c, exp.get("writes", []))
