"""run start / show / finish, and use."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import output
from artcli.cli.commands.common import JsonOpt, ProjectOpt, RemoteOpt, RunOpt, example, open_repo, parse

run_app = typer.Typer(help="Runs: the jobs that used and logged versions (lineage).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(run_app, name="run")
    app.command("use", epilog=example(
        "artcli use mnist:v3",
        "ARTCLI_RUN_ID=nightly-42 artcli use registry/models/churn:production --json"))(use)


@run_app.command("start", epilog=example(
    "export ARTCLI_RUN_ID=$(artcli run start --job-type train --name 'resnet sweep 3')",
    "artcli run start --id \"ci-$CI_PIPELINE_ID-eval\" --job-type eval"))
def start(
    job_type: Annotated[str | None, typer.Option("--job-type", "-t", help="What kind of job this is (train, eval, ingest, ...).")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="A label for people.")] = None,
    run_id: Annotated[str | None, typer.Option("--id", help="Use this run id instead of a fresh one (re-starting it is a no-op).")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a run and print its id, for ARTCLI_RUN_ID.

    Records the job type, command line, host, user, git commit/branch/dirty flag and the CI
    job URL. Later commands with that run id record what they used and logged.
    """
    from artcli.ops.runs import start_run

    res = start_run(open_repo(remote, project), job_type, name, run_id)
    output.emit_json(res.to_json()) if as_json else output.data(res.id)


@run_app.command("show", epilog=example("artcli run show r-20240501T120000Z-3f9a1c2b",
                                        "artcli run show --json   # the current run (ARTCLI_RUN_ID or CI)"))
def show(
    run_id: Annotated[str | None, typer.Argument(help="Run id. Default: the current run (--run, ARTCLI_RUN_ID, CI job).")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a run: who, where, which commit, and the versions it used and logged."""
    from artcli.ops.runs import show_run

    st = show_run(open_repo(remote, project, run), run_id)
    for w in st.warnings:
        output.warn(w)
    info = st.to_json()
    if as_json:
        output.emit_json(info)
        return
    git = info["git"] or {}
    ci = info["ci"] or {}
    output.fields([
        ("run", info["id"]), ("job type", info["job_type"]), ("name", info["name"]),
        ("command", " ".join(info["command"]) if info["command"] else None),
        ("host", info["host"]), ("user", info["user"]), ("cwd", info["cwd"]),
        ("started", output.when(info["started"])),
        ("finished", output.when(info["finished"]) if info["finished"] else None), ("status", info["status"]),
        ("last event", output.when(info["last_event"]) if info["last_event"] else None),
        ("git", (f"{git.get('commit')} {git.get('branch') or '(detached)'}"
                 f"{' dirty' if git.get('dirty') else ''}") if git else None),
        ("ci", f"{ci.get('provider')} {ci.get('url') or ''}".strip() if ci else None),
    ])
    rows = [["input", r["ref"], r.get("via"), r.get("requested"), output.when(r["time"])] for r in info["inputs"]]
    rows += [["output", r["ref"], "created" if r.get("created") else "reused", None, output.when(r["time"])]
             for r in info["outputs"]]
    if rows:
        output.table(["role", "version", "how", "requested", "time"], rows, keep=["role", "version"])


@run_app.command("finish", epilog=example("artcli run finish --status succeeded",
                                          "artcli run finish r-20240501T120000Z-3f9a1c2b --status failed"))
def finish(
    run_id: Annotated[str | None, typer.Argument(help="Run id. Default: the current run.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="How it ended (succeeded, failed, ...).")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a run's end time (and status); finishing a finished run changes nothing.

    Prints the run id on stdout.
    """
    from artcli.ops.runs import finish_run

    st = finish_run(open_repo(remote, project, run), run_id, status)
    output.emit_json(st.to_json()) if as_json else output.data(st.id)


def use(
    ref: Annotated[str, typer.Argument(help="[project/]name[:vN|:alias] or registry/<registry>/<collection>[:tag].")],
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that the current run uses a version, without downloading it.

    Needs a run (--run, ARTCLI_RUN_ID or a CI job). Prints the version used (project/name:vN).
    """
    from artcli.ops.runs import use as do_use

    repo = open_repo(remote, project, run)
    res = do_use(repo, parse(ref, repo))
    output.emit_json(res.to_json()) if as_json else output.data(res.ref)
