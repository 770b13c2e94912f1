"""Options every store-touching command shares, and the Repo they open."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from artcli.cli.completion import choices, complete_remote

if TYPE_CHECKING:
    from artcli.model import Ref
    from artcli.repo import Repo

RemoteOpt = Annotated[str | None, typer.Option(
    "--remote", "-r", help="Remote name or URL (s3://, gs://, file://). Default: ARTCLI_REMOTE, "
    "then artcli.toml, then user config, then the embedded local store.", show_default=False,
    autocompletion=complete_remote)]
ProjectOpt = Annotated[str | None, typer.Option(
    "--project", "-p", help="Project namespace. Default: ARTCLI_PROJECT, config, 'default'.", show_default=False)]
RunOpt = Annotated[str | None, typer.Option(
    "--run", help="Run id to record. Default: ARTCLI_RUN_ID, then the CI job, then none.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
FormatOpt = Annotated[str | None, typer.Option(
    "--format", "-f", help="text, json or markdown (a CI summary: >> $GITHUB_STEP_SUMMARY). Default: text.",
    show_default=False, autocompletion=choices("text", "json", "markdown"))]


OPEN_REPOS: list[Repo] = []


def open_repo(remote: str | None, project: str | None, run: str | None = None) -> Repo:
    from artcli.repo import Repo

    repo = Repo.open(remote, project, run)
    OPEN_REPOS.append(repo)
    return repo


def close_repos() -> None:
    """Close every repo the command opened, then say once what its local cache could not do
    (unwritable, a damaged index rebuilt: docs/reliability.md)."""
    from artcli.cli import output

    said: set[str] = set()
    while OPEN_REPOS:
        repo = OPEN_REPOS.pop()
        repo.close()
        for notice in repo.cache.notices:
            if notice not in said:
                said.add(notice)
                output.warn(notice)


def parse(ref: str, repo: Repo) -> Ref:
    from artcli.model import parse_ref

    return parse_ref(ref, repo.project)


def pick_format(fmt: str | None, as_json: bool, allowed: tuple[str, ...] = ("text", "json", "markdown")) -> str:
    """The output format from ``--format`` and ``--json`` (the same as ``--format json``)."""
    from artcli.errors import UsageError

    if fmt is not None and fmt not in allowed:
        raise UsageError(f"invalid --format {fmt!r}: use {', '.join(allowed)}")
    if as_json and fmt not in (None, "json"):
        raise UsageError(f"--json and --format {fmt} disagree: give one")
    return "json" if as_json else fmt or allowed[0]


def example(*lines: str) -> str:
    """An epilog that renders as a literal example block."""
    body = "\n".join(f"  $ {ln}" for ln in lines)
    return f"Examples:\n\n\b\n{body}"
