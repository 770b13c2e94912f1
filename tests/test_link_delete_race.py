"""``link`` racing a plain ``delete`` (no ``--force``): exactly one of them wins (issue 23 item 7).

A link first writes a ``linking`` claim into the artifact's own log, where it is ordered against
``version_deleted`` (docs/format.md §5.3): a plain delete after the claim refuses, a link whose
claim comes after the deletion refuses. The interleavings that broke it are forced here with
hooks (each one let both commands exit 0 before), then many seeded races run on threads.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from artcli.errors import ArtcliError, ConflictError, NotFoundError
from artcli.model import parse_ref
from artcli.repo import Repo

from clihelp import Cli, make_tree

COLL = "registry/datasets/coll"


@pytest.fixture
def env(shared_cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    for k, v in shared_cli.env.items():
        monkeypatch.setenv(k, v)
    return shared_cli


@pytest.fixture
def repos() -> Iterator[Callable[[], Repo]]:
    made: list[Repo] = []

    def make() -> Repo:
        made.append(Repo.open())
        return made[-1]

    yield make
    for r in made:
        r.close()


def _version(cli: Cli, tmp_path: Path, i: int) -> str:
    src = make_tree(tmp_path / f"v{i}", {"f.txt": f"content {i}".encode()})
    return cli.ok("log", "ds", str(src)).out.strip()


def _link(repo: Repo, ref: str) -> Any:
    from artcli.ops.registry import link

    return link(repo, parse_ref(ref, "default"), parse_ref(COLL, "default"))


def _delete(repo: Repo, ref: str, force: bool = False) -> Any:
    from artcli.ops.delete import delete_version

    return delete_version(repo, parse_ref(ref, "default"), force=force)


def _ls_versions(cli: Cli) -> set[str]:
    res = cli("ls", "ds", "--json")
    if res.code == 3:  # no live version left
        return set()
    return {v["version"] for v in res.check().json()}


def _live_sources(cli: Cli) -> set[str]:
    out = cli.ok("registry", "show", "datasets", "--json").json()
    return {lk["source"] for c in out["collections"] for lk in c["links"]}


def _assert_one_winner(cli: Cli, ref: str, link_ok: bool, delete_ok: bool) -> None:
    assert link_ok != delete_ok, f"{ref}: link {'won' if link_ok else 'lost'}, delete {'won' if delete_ok else 'lost'}"
    version = ref.rsplit(":", 1)[1]
    live, sources = _ls_versions(cli), _live_sources(cli)
    if link_ok:
        assert version in live and ref in sources, (live, sources)
    else:
        assert version not in live and ref not in sources, (live, sources)


# -- forced interleavings --------------------------------------------------------------------------
def test_a_link_made_after_delete_looked_for_links_wins(env: Cli, tmp_path: Path, repos: Callable[[], Repo],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """delete looks for links (none), the whole link runs, then delete commits: it must refuse."""
    import artcli.ops.delete as opdelete

    ref = _version(env, tmp_path, 0)
    real = opdelete.links_by_version
    done: dict[str, Any] = {}

    def then_link(repo: Repo) -> Any:
        found = real(repo)
        done["link"] = _link(repos(), ref)  # another process, in the gap
        return found

    monkeypatch.setattr(opdelete, "links_by_version", then_link)
    with pytest.raises(ConflictError, match="is linked"):
        _delete(repos(), ref)
    assert done["link"].created
    _assert_one_winner(env, ref, True, False)


def test_a_delete_made_after_link_resolved_its_source_wins(env: Cli, tmp_path: Path, repos: Callable[[], Repo],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """link resolves the version (live), the whole delete runs, then link commits: it must refuse."""
    ref = _version(env, tmp_path, 0)
    real = Repo.registry_state
    done: dict[str, Any] = {}

    def then_delete(self: Repo, *a: Any, **kw: Any) -> Any:
        if "delete" not in done:
            done["delete"] = _delete(repos(), ref)
        return real(self, *a, **kw)

    monkeypatch.setattr(Repo, "registry_state", then_delete)
    with pytest.raises(NotFoundError, match="deleted"):
        _link(repos(), ref)
    monkeypatch.setattr(Repo, "registry_state", real)
    assert done["delete"].deleted
    _assert_one_winner(env, ref, False, True)


def test_a_forced_delete_after_the_link_event_takes_the_link_back(env: Cli, tmp_path: Path,
                                                                  repos: Callable[[], Repo],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``delete --force`` ignores claims; a link it overtakes fails and leaves no live link."""
    import artcli.ops.registry as opregistry

    ref = _version(env, tmp_path, 0)
    real = opregistry.clear_ttl_for_link
    done: dict[str, Any] = {}

    def then_force(repo: Repo, *a: Any) -> Any:
        if "delete" not in done:
            done["delete"] = _delete(repos(), ref, force=True)
        return real(repo, *a)

    monkeypatch.setattr(opregistry, "clear_ttl_for_link", then_force)
    with pytest.raises(NotFoundError, match="deleted while it was being linked"):
        _link(repos(), ref)
    _assert_one_winner(env, ref, False, True)


def test_an_interrupted_link_holds_off_a_plain_delete_for_a_while(env: Cli, tmp_path: Path,
                                                                  repos: Callable[[], Repo]) -> None:
    """A claim with no link event yet may be a link in progress: a plain delete refuses (exit 5)
    until the claim is older than a link may take; ``--force`` deletes at once; re-running the
    link finishes it."""
    from artcli.links import claim_for_link

    ref = _version(env, tmp_path, 0)
    claim_for_link(repos(), "default", "ds", 0, "datasets", "coll")  # the link died here
    res = env("delete", ref)
    assert res.code == 5 and "in progress" in res.err, res
    later = {"ARTCLI_NOW": "2099-01-01T00:00:00.000000Z"}
    assert env("delete", ref, env=later).code == 0  # abandoned by then
    _assert_one_winner(env, ref, False, True)


def test_a_link_then_unlink_does_not_hold_off_a_delete(env: Cli, tmp_path: Path) -> None:
    ref = _version(env, tmp_path, 0)
    env.ok("link", ref, COLL)
    assert env("delete", ref).code == 5
    env.ok("unlink", f"{COLL}:v0")
    env.ok("delete", ref)


# -- seeded races ----------------------------------------------------------------------------------
def _race(ref: str, repos: Callable[[], Repo], rng: random.Random) -> tuple[bool, bool]:
    """Start a link and a plain delete of ``ref`` at once (each after a seeded jitter)."""
    barrier = threading.Barrier(2)
    result: dict[str, bool] = {}
    errors: list[BaseException] = []
    jitter = {"link": rng.uniform(0, 0.02), "delete": rng.uniform(0, 0.02)}
    link_repo, delete_repo = repos(), repos()

    def run(kind: str) -> None:
        barrier.wait(timeout=60)
        threading.Event().wait(jitter[kind])  # seeded jitter, not synchronisation
        try:
            if kind == "link":
                _link(link_repo, ref)
            else:
                _delete(delete_repo, ref)
            result[kind] = True
        except (ConflictError, NotFoundError):
            result[kind] = False
        except ArtcliError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in ("link", "delete")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return result["link"], result["delete"]


@pytest.mark.parametrize("rounds", [pytest.param(12, id="fast"), pytest.param(48, id="many", marks=pytest.mark.slow)])
def test_link_racing_delete_has_exactly_one_winner(env: Cli, tmp_path: Path, repos: Callable[[], Repo],
                                                   rounds: int) -> None:
    rng = random.Random(23 + rounds)
    n = rounds if (env.remote or "").startswith("file:") else rounds // 3
    outcomes = []
    for i in range(n):
        ref = _version(env, tmp_path, i)
        link_ok, delete_ok = _race(ref, repos, rng)
        outcomes.append((link_ok, delete_ok))
        _assert_one_winner(env, ref, link_ok, delete_ok)
    rep = env.ok("debug", "fsck", "--json").json()
    assert rep["ok"], rep["problems"]
