"""TTL rules the whole-command tests of ``tests/test_ttl.py`` did not pin down, written against
the survivors of ``make mutate GROUPS=ttl`` (docs/reliability.md): what a TTL set through
lineage skips and why, at the command's own time; and the project default's edges."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from artcli import layout
from artcli.errors import UsageError
from artcli.ops import ttl as opttl
from artcli.repo import Repo

from clihelp import Cli, make_tree

T0 = "2030-01-01T00:00:00.000000Z"
T2 = "2030-01-03T00:00:00.000000Z"  # two days on: a 1d TTL set at T0 has passed


def at(when: str) -> dict[str, str]:
    return {"ARTCLI_NOW": when}


def log(cli: Cli, tmp_path: Path, name: str, *args: str) -> None:
    src = make_tree(tmp_path / f"src-{name}", {"f.txt": name.encode()})
    cli.ok("log", name, str(src), *args, env=at(T0))


@contextmanager
def repo_of(cli: Cli) -> Iterator[Repo]:
    saved = {k: os.environ.get(k) for k in cli.env}
    os.environ.update(cli.env)
    repo = Repo.open()
    try:
        yield repo
    finally:
        repo.close()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_a_ttl_through_lineage_skips_what_is_deleted_expired_or_missing(cli: Cli, tmp_path: Path) -> None:
    """Upstream of ``m``: ``short`` expired (by the command's clock, two days on), ``gone``
    deleted, ``lost`` named by m's inputs but no longer in its log (a warning, never a target),
    ``ok`` changed. Downstream of ``m`` (``child``) is not asked for and stays untouched."""
    log(cli, tmp_path, "short", "--ttl", "1d")
    for name in ("gone", "lost", "ok"):
        log(cli, tmp_path, name)
    log(cli, tmp_path, "m", *(a for n in ("short", "gone", "lost", "ok") for a in ("--input", f"{n}:v0")))
    log(cli, tmp_path, "child", "--input", "m:v0")
    cli.ok("delete", "gone:v0", env=at(T0))
    shutil.rmtree(tmp_path / "remote" / layout.artifact_prefix("default", "lost"))  # its log is gone
    res = cli.ok("ttl", "set", "m:v0", "5d", "--upstream", "--json", env=at(T2)).json()
    assert sorted(c["ref"] for c in res["changed"]) == ["default/m:v0", "default/ok:v0"]
    assert sorted((s["ref"], s["reason"]) for s in res["skipped"]) == [
        ("default/gone:v0", "deleted"), ("default/short:v0", "expired at 2030-01-02T00:00:00.000000Z")]
    assert any("default/lost:v0" in w and "does not exist" in w for w in res["warnings"]), res["warnings"]
    assert cli.ok("show", "child", "--json").json()["expires"] is None  # not downstream-asked


def test_a_ttl_for_a_version_that_is_not_there_is_skipped_as_missing(cli: Cli, tmp_path: Path) -> None:
    """The write itself re-reads the log: a version that went (or never was) is skipped, named."""
    log(cli, tmp_path, "ds")
    now = datetime(2030, 1, 1, 1, tzinfo=UTC)
    with repo_of(cli) as repo:
        res = opttl.TtlResult("2030-02-01T00:00:00.000000Z")
        opttl._write(repo, ("default", "ds", 4), res.expires, res, now)
        opttl._write(repo, ("default", "nope", 0), res.expires, res, now)
        assert res.skipped == [{"ref": "default/ds:v4", "reason": "missing"},
                               {"ref": "default/nope:v0", "reason": "missing"}]
        assert res.changed == [] and res.unchanged == []


def test_the_write_judges_expiry_at_the_time_it_is_given(cli: Cli, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's ``now`` (two days on), not the machine's clock (years earlier)."""
    log(cli, tmp_path, "ds", "--ttl", "1d")
    monkeypatch.delenv("ARTCLI_NOW", raising=False)
    with repo_of(cli) as repo:
        res = opttl.TtlResult("2030-02-01T00:00:00.000000Z")
        opttl._write(repo, ("default", "ds", 0), res.expires, res, datetime(2030, 1, 3, tzinfo=UTC))
        assert res.skipped == [{"ref": "default/ds:v0", "reason": "expired at 2030-01-02T00:00:00.000000Z"}]


def test_a_project_default_on_a_new_remote(tmp_path: Path) -> None:
    """The first write to a remote that does not exist yet creates it, stamped with the format
    marker; one second is a valid default; a bad project name is called a project."""
    cli = Cli(tmp_path / "home", (tmp_path / "new" / "remote").as_uri())
    res = cli.ok("ttl", "default", "1s", "--json").json()
    assert (res["seconds"], res["changed"]) == (1, True)
    assert (tmp_path / "new" / "remote" / layout.MARKER_KEY).is_file()
    with repo_of(cli) as repo, pytest.raises(UsageError, match="invalid project 'no such'"):
        opttl.set_default_ttl(repo, "no such", "1d")


def test_a_version_linked_while_its_ttl_was_written_gets_it_cleared_again(cli: Cli, tmp_path: Path) -> None:
    """The race with ``link`` (docs/retention.md): a TTL written for a version that meanwhile got
    linked is cleared again and reported as skipped, naming every link; others stay changed."""
    from artcli.links import clear_ttl_for_link

    log(cli, tmp_path, "model", "--type", "model")
    log(cli, tmp_path, "free")
    cli.ok("link", "model:v0", "registry/models/a")
    cli.ok("link", "model:v0", "registry/models/b")
    with repo_of(cli) as repo:  # what set_ttl wrote before it looked at the links again
        repo.artifact_log("default", "model").append(
            lambda _: {"type": "ttl_set", "version": 0, "expires": "2030-02-01T00:00:00.000000Z"})
        res = opttl.TtlResult("2030-02-01T00:00:00.000000Z")
        res.changed = [{"ref": "default/free:v0", "expires": res.expires, "previous": None},
                       {"ref": "default/model:v0", "expires": res.expires, "previous": None}]
        opttl._undo_if_linked(repo, res)
        assert [c["ref"] for c in res.changed] == ["default/free:v0"]
        assert res.skipped == [{"ref": "default/model:v0",
                                "reason": "linked as registry/models/a:v0, registry/models/b:v0 meanwhile"}]
        assert clear_ttl_for_link(repo, "default", "model", 0) is False  # already cleared
        assert clear_ttl_for_link(repo, "default", "model", 3) is False  # no such version
    assert cli.ok("show", "model:v0", "--json").json()["expires"] is None


def test_clearing_a_ttl_for_a_link_leaves_a_deleted_version_alone(cli: Cli, tmp_path: Path) -> None:
    from artcli.links import clear_ttl_for_link

    log(cli, tmp_path, "ds", "--ttl", "30d")
    cli.ok("delete", "ds:v0", env=at(T0))
    with repo_of(cli) as repo:
        assert clear_ttl_for_link(repo, "default", "ds", 0) is False


def test_a_ttl_through_lineage_names_every_link_that_keeps_a_version(cli: Cli, tmp_path: Path) -> None:
    log(cli, tmp_path, "raw")
    log(cli, tmp_path, "model", "--type", "model", "--input", "raw:v0")
    cli.ok("link", "model:v0", "registry/models/a")
    cli.ok("link", "model:v0", "registry/models/b")
    res = cli.ok("ttl", "set", "raw:v0", "1d", "--downstream", "--json", env=at(T0)).json()
    assert res["expires"] == "2030-01-02T00:00:00.000000Z"
    assert [c["ref"] for c in res["changed"]] == ["default/raw:v0"]
    assert res["skipped"] == [{"ref": "default/model:v0", "reason": "linked as registry/models/a:v0, registry/models/b:v0"}]


def test_a_link_landing_while_the_ttl_is_written_gets_the_ttl_cleared(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race ``_undo_if_linked`` closes: a ``link`` that lands after ``ttl set`` looked for
    links, and whose own clear ran before the TTL was written (so it found nothing to clear).
    The TTL command must notice the link after its write and clear the TTL itself."""
    from artcli.model import parse_ref
    from artcli.ops import registry

    log(cli, tmp_path, "model", "--type", "model")
    real_write = opttl._write

    def link_first(repo: Repo, key: tuple[str, str, int], *args: object) -> None:
        with monkeypatch.context() as m:  # link's clear runs before the TTL exists: it finds none
            m.setattr(registry, "clear_ttl_for_link", lambda *_: False)
            registry.link(repo, parse_ref("model:v0", "default"), parse_ref("registry/models/churn", "default"))
        real_write(repo, key, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(opttl, "_write", link_first)
    with repo_of(cli) as repo:
        res = opttl._set_ttl(repo, parse_ref("model:v0", "default"), "5d", False, False)
    assert res.changed == []
    assert res.skipped == [{"ref": "default/model:v0", "reason": "linked as registry/models/churn:v0 meanwhile"}]
    assert cli.ok("show", "model:v0", "--json").json()["expires"] is None


def test_an_expiry_is_in_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from artcli import durations

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        now = datetime(2030, 1, 1, tzinfo=UTC)
        for text in ("2030-01-31T12:00:00+02:00", "2030-01-31", "3d"):
            when = durations.parse_expiry(text, now)
            assert when is not None and when.tzinfo is UTC, (text, when)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
