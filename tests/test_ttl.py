"""ttl set/show/default, log --ttl, lineage propagation, registry protection, delete."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from artcli.durations import UNITS, format_duration, parse_duration, parse_expiry
from artcli.errors import UsageError
from artcli.repo import Repo

from clihelp import Cli, make_tree

T0 = "2030-01-01T00:00:00.000000Z"


def at(when: str) -> dict[str, str]:
    return {"ARTCLI_NOW": when}


def events(cli: Cli, name: str) -> list[dict]:
    out = cli.ok("debug", "events", name).out
    return [json.loads(line)["event"] for line in out.splitlines()]


def log(cli: Cli, tmp_path: Path, name: str, content: bytes, *args: str, when: str = T0) -> str:
    src = make_tree(tmp_path / f"src-{name}-{len(list(tmp_path.iterdir()))}", {"f.txt": content})
    return cli.ok("log", name, str(src), *args, env=at(when)).out.strip()


# -- the duration grammar ------------------------------------------------------------------------
@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_round_trips(seconds: int) -> None:
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    assert format_duration(parse_duration(text)) == text  # canonical


@given(st.dictionaries(st.sampled_from(list(UNITS)), st.integers(min_value=0, max_value=10**6), min_size=1))
def test_unit_combinations_add_up(parts: dict[str, int]) -> None:
    text = "".join(f"{parts[u]}{u}" for u in UNITS if u in parts)  # largest unit first
    assert parse_duration(text) == sum(n * UNITS[u] for u, n in parts.items())


@given(st.text(max_size=12))
def test_parser_accepts_only_the_grammar(text: str) -> None:
    import re

    ok = re.fullmatch(r"(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?", text) is not None and text != ""
    try:
        seconds = parse_duration(text)
    except UsageError:
        assert not ok or any(len(g) > 10 for g in re.findall(r"\d+", text))
    else:
        assert ok and seconds >= 0


@pytest.mark.parametrize("text", ["1.5d", "3 days", "d", "1h1d", "1d1d", "-1d", "", " 1d", "1D"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


def test_expiry_values() -> None:
    from artcli import clock

    now = clock.parse_iso(T0)
    assert clock.iso(parse_expiry("1d12h", now)) == "2030-01-02T12:00:00.000000Z"
    assert clock.iso(parse_expiry("2030-02-01", now)) == "2030-02-01T00:00:00.000000Z"
    assert clock.iso(parse_expiry("2030-02-01T01:00:00+01:00", now)) == "2030-02-01T00:00:00.000000Z"
    assert parse_expiry("never", now) is None
    for past in ("0s", "2029-12-31", T0, "2030-13-45"):
        with pytest.raises(UsageError):
            parse_expiry(past, now)
    with pytest.raises(UsageError):
        parse_expiry("999999999w", now)


# -- ttl set / show ------------------------------------------------------------------------------
def test_ttl_set_show_and_expiry(cli: Cli, tmp_path: Path) -> None:
    assert log(cli, tmp_path, "ds", b"a") == "default/ds:v0"
    assert cli.ok("ttl", "set", "ds", "1d", env=at(T0)).out.strip() == "default/ds:v0"
    info = cli.ok("ttl", "show", "ds", "--json", env=at("2030-01-01T12:00:00Z")).json()
    assert info == {"ref": "default/ds:v0", "expires": "2030-01-02T00:00:00.000000Z", "remaining_seconds": 43200,
                    "remaining": "12h", "linked": [], "project_default": None}
    assert cli.ok("show", "ds:v0", "--json", env=at(T0)).json()["expires"] == "2030-01-02T00:00:00.000000Z"
    later = at("2030-01-02T00:00:00Z")  # expiry is inclusive
    for args in (("show", "ds:v0"), ("download", "ds:v0", "--root", str(tmp_path / "o")), ("ttl", "show", "ds:v0")):
        res = cli(*args, env=later)
        assert res.code == 3 and "expired at 2030-01-02T00:00:00.000000Z" in res.err, res.err
    res = cli("show", "ds", env=later)
    assert res.code == 3 and "no live version" in res.err


def test_ttl_never_clears_and_replaces(cli: Cli, tmp_path: Path) -> None:
    log(cli, tmp_path, "ds", b"a")
    cli.ok("ttl", "set", "ds:v0", "2030-03-01", env=at(T0))
    cli.ok("ttl", "set", "ds:v0", "2w", env=at(T0))
    assert cli.ok("ttl", "show", "ds", "--json", env=at(T0)).json()["expires"] == "2030-01-15T00:00:00.000000Z"
    res = cli.ok("ttl", "set", "ds:v0", "never", "--json", env=at(T0)).json()
    assert res["changed"] == [{"ref": "default/ds:v0", "expires": None, "previous": "2030-01-15T00:00:00.000000Z"}]
    assert cli.ok("show", "ds", "--json", env=at("2031-01-01T00:00:00Z")).json()["expires"] is None
    again = cli.ok("ttl", "set", "ds:v0", "never", "--json", env=at(T0)).json()
    assert again["changed"] == [] and again["unchanged"] == ["default/ds:v0"]  # idempotent: nothing written
    assert [e["type"] for e in events(cli, "ds")].count("ttl_set") == 3


@pytest.mark.parametrize("value", ["0s", "2029-12-31", "2030-02-30"])
def test_bad_or_past_ttl_is_a_usage_error_and_changes_nothing(cli: Cli, tmp_path: Path, value: str) -> None:
    log(cli, tmp_path, "ds", b"a")
    before = events(cli, "ds")
    res = cli("ttl", "set", "ds", value, env=at(T0))
    assert res.code == 2 and res.err.startswith("error: ")
    assert events(cli, "ds") == before
    assert cli("log", "ds2", str(tmp_path), "--ttl", value, env=at(T0)).code == 2
    assert "ds2" not in cli.ok("ls").out


def test_ttl_on_missing_version_is_not_found(cli: Cli, tmp_path: Path) -> None:
    log(cli, tmp_path, "ds", b"a")
    assert cli("ttl", "set", "ds:v7", "1d").code == 3
    assert cli("ttl", "set", "nope", "1d").code == 3


# -- log --ttl and the project default ----------------------------------------------------------
def test_log_ttl_and_project_default(cli: Cli, tmp_path: Path) -> None:
    log(cli, tmp_path, "ds", b"0", "--ttl", "1d")
    assert cli.ok("show", "ds:v0", "--json", env=at(T0)).json()["expires"] == "2030-01-02T00:00:00.000000Z"
    assert cli.ok("ttl", "default", "7d", "--json", env=at(T0)).json() == {
        "project": "default", "default_ttl": "1w", "seconds": 604800, "changed": True}
    assert cli.ok("ttl", "default", "1w").out.strip() == "default"  # the same value: nothing written
    log(cli, tmp_path, "ds", b"1")
    log(cli, tmp_path, "ds", b"2", "--ttl", "2h")
    log(cli, tmp_path, "ds", b"3", "--ttl", "never")
    log(cli, tmp_path, "other", b"x", "-p", "elsewhere")  # another project has no default
    expires = {v["version"]: v["expires"] for v in cli.ok("ls", "ds", "--json", env=at(T0)).json()}
    assert expires == {"v0": "2030-01-02T00:00:00.000000Z", "v1": "2030-01-08T00:00:00.000000Z",
                       "v2": "2030-01-01T02:00:00.000000Z", "v3": None}
    assert cli.ok("show", "elsewhere/other", "--json", env=at(T0)).json()["expires"] is None
    assert cli.ok("ttl", "show", "ds:v3", "--json", env=at(T0)).json()["project_default"] == "1w"
    cli.ok("ttl", "default", "never")
    log(cli, tmp_path, "ds", b"4")
    assert cli.ok("show", "ds:v4", "--json", env=at(T0)).json()["expires"] is None
    assert cli("ttl", "default", "0s").code == 2 and cli("ttl", "default", "soon").code == 2


# -- lineage propagation -------------------------------------------------------------------------
def test_downstream_and_upstream_ttl_through_a_lineage_chain(cli: Cli, tmp_path: Path) -> None:
    log(cli, tmp_path, "raw", b"r")
    log(cli, tmp_path, "clean", b"c", "--input", "raw:v0")
    log(cli, tmp_path, "model", b"m", "--input", "clean:v0", "--type", "model")
    log(cli, tmp_path, "unrelated", b"u")
    res = cli.ok("ttl", "set", "raw:v0", "3d", "--downstream", "--json", env=at(T0)).json()
    assert sorted(c["ref"] for c in res["changed"]) == ["default/clean:v0", "default/model:v0", "default/raw:v0"]
    for name in ("raw", "clean", "model"):
        assert cli.ok("show", name, "--json", env=at(T0)).json()["expires"] == "2030-01-04T00:00:00.000000Z"
    assert cli.ok("show", "unrelated", "--json", env=at(T0)).json()["expires"] is None
    out = cli.ok("ttl", "set", "model:v0", "never", "--upstream", env=at(T0)).out.split()
    assert sorted(out) == ["default/clean:v0", "default/model:v0", "default/raw:v0"]
    assert {cli.ok("show", n, "--json").json()["expires"] for n in ("raw", "clean", "model")} == {None}
    # without a flag only the version itself changes
    out = cli.ok("ttl", "set", "clean:v0", "1d", env=at(T0)).out.split()
    assert out == ["default/clean:v0"] and cli.ok("show", "raw", "--json").json()["expires"] is None


# -- registry protection -------------------------------------------------------------------------
def test_linked_version_refuses_ttl_and_propagation_skips_it(cli: Cli, tmp_path: Path) -> None:
    log(cli, tmp_path, "raw", b"r")
    log(cli, tmp_path, "model", b"m", "--input", "raw:v0", "--type", "model")
    cli.ok("link", "model:v0", "registry/models/churn")
    res = cli("ttl", "set", "model:v0", "1d", env=at(T0))
    assert res.code == 5 and "linked as registry/models/churn:v0" in res.err and "unlink" in res.err
    assert cli("ttl", "set", "registry/models/churn", "1d").code == 5
    assert cli.ok("ttl", "show", "model", "--json").json()["linked"] == ["registry/models/churn:v0"]
    res2 = cli.ok("ttl", "set", "raw:v0", "1d", "--downstream", "--json", env=at(T0)).json()
    assert [c["ref"] for c in res2["changed"]] == ["default/raw:v0"]
    assert res2["skipped"] == [{"ref": "default/model:v0", "reason": "linked as registry/models/churn:v0"}]
    assert cli.ok("show", "model", "--json").json()["expires"] is None
    cli.ok("ttl", "set", "model:v0", "never")  # clearing is always allowed
    cli.ok("unlink", "registry/models/churn:v0")
    cli.ok("ttl", "set", "model:v0", "1d", env=at(T0))  # not linked any more


@contextmanager
def repo_of(cli: Cli) -> Iterator[Repo]:
    """An in-process Repo on the test's remote (to play an older artcli, or call ops directly)."""
    saved = {k: os.environ.get(k) for k in cli.env}
    os.environ.update(cli.env)
    repo = Repo.open()
    try:
        yield repo
    finally:
        repo.close()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_linking_clears_a_ttl_and_gc_heals_one_left_on_a_link(cli: Cli, tmp_path: Path) -> None:
    log(cli, tmp_path, "model", b"m", "--type", "model", "--ttl", "1d")
    assert cli.ok("link", "model:v0", "registry/models/churn", "--json").json()["ttl_cleared"] is True
    later = at("2030-01-05T00:00:00Z")
    assert cli.ok("show", "registry/models/churn", "--json", env=later).json()["expires"] is None
    ev = events(cli, "model")[-1]
    assert (ev["type"], ev["expires"], ev["reason"]) == ("ttl_set", None, "linked")
    with repo_of(cli) as repo:  # a writer that ignores the rule (an older artcli) puts a TTL back
        repo.artifact_log("default", "model").append(
            lambda _: {"type": "ttl_set", "version": 0, "expires": "2030-01-02T00:00:00.000000Z"})
    # still live for every reader while linked (docs/format.md §5.1), before gc clears the TTL
    assert cli.ok("show", "model:v0", "--json", env=later).json()["expires"] == "2030-01-02T00:00:00.000000Z"
    cli.ok("download", "model:v0", "--root", str(tmp_path / "before"), env=later)
    dry = cli.ok("gc", "--dry-run", "--json", env=later).json()
    res = cli.ok("gc", "--json", env=later).json()
    assert res["ttl_cleared"] == dry["ttl_cleared"] == [
        {"ref": "default/model:v0", "expires": "2030-01-02T00:00:00.000000Z", "linked": ["registry/models/churn:v0"]}]
    assert res["expired"] == [] and res["deleted"] == []
    cli.ok("download", "registry/models/churn", "--root", str(tmp_path / "out"), env=later)
    assert (tmp_path / "out" / "f.txt").read_bytes() == b"m"


def test_clear_ttl_for_link_writes_only_when_there_is_a_ttl(cli: Cli, tmp_path: Path) -> None:
    from artcli.links import clear_ttl_for_link

    log(cli, tmp_path, "model", b"m", "--ttl", "1d")
    log(cli, tmp_path, "other", b"o")
    with repo_of(cli) as repo:
        assert clear_ttl_for_link(repo, "default", "model", 0) is True
        assert clear_ttl_for_link(repo, "default", "model", 0) is False
        assert clear_ttl_for_link(repo, "default", "other", 0) is False
    assert [e["type"] for e in events(cli, "other")] == ["version_created"]


# -- delete --------------------------------------------------------------------------------------
def test_delete_plain_version(cli: Cli, tmp_path: Path) -> None:
    log(cli, tmp_path, "ds", b"0")
    log(cli, tmp_path, "ds", b"1")
    assert cli.ok("delete", "ds:v1", env=at("2030-01-01T01:00:00Z")).out.strip() == "default/ds:v1"
    res = cli("download", "ds:v1", "--root", str(tmp_path / "o"))
    assert res.code == 3 and "was deleted at 2030-01-01T01:00:00.000000Z" in res.err
    assert cli.ok("show", "ds", "--json").json()["version"] == "v0"  # latest falls back to the newest live one
    assert cli("delete", "ds:v1").code == 3  # already deleted
    ev = events(cli, "ds")[-1]
    assert (ev["type"], ev["version"], ev["reason"]) == ("version_deleted", 1, "deleted")
    assert cli("delete", "registry/models/x:v0").code == 2


def test_delete_refuses_aliases_and_links_without_force(cli: Cli, tmp_path: Path) -> None:
    log(cli, tmp_path, "model", b"0", "--type", "model", "--alias", "prod")
    log(cli, tmp_path, "model", b"1", "--type", "model")
    cli.ok("link", "model:v1", "registry/models/churn")
    res = cli("delete", "model:prod")
    assert res.code == 5 and "prod" in res.err and "--force" in res.err
    res = cli("delete", "model:v1")
    assert res.code == 5 and "registry/models/churn:v0" in res.err
    assert len(cli.ok("ls", "model", "--json").json()) == 2  # nothing changed
    out = cli.ok("delete", "model:prod", "--force", "--json").json()
    assert out == {"ref": "default/model:v0", "deleted": True, "removed_aliases": ["prod"], "unlinked": []}
    assert cli("show", "model:prod").code == 3  # the alias went with the version
    out = cli.ok("delete", "model:v1", "--force", "--json").json()
    assert out["unlinked"] == ["registry/models/churn:v0"]
    assert cli("show", "registry/models/churn").code == 3
    assert cli("show", "model").code == 3
