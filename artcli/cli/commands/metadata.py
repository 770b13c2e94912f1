"""metadata set / get / ls, and diff."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import completion, output
from artcli.cli.commands.common import (
    FormatOpt,
    JsonOpt,
    ProjectOpt,
    RemoteOpt,
    RunOpt,
    example,
    open_repo,
    parse,
    pick_format,
)

metadata_app = typer.Typer(help="Typed, grouped, versioned metadata on artifact versions.", no_args_is_help=True)

RefArg = Annotated[str, typer.Argument(
    help="[project/]name[:vN|:alias] or registry/<registry>/<collection>[:vN|:alias]; no tag means latest.",
    autocompletion=completion.complete_ref)]


def register(app: typer.Typer) -> None:
    app.add_typer(metadata_app, name="metadata")
    app.command("diff", epilog=example("artcli diff mnist:v1 mnist:v2",
                                        "artcli diff model:staging model:production --json",
                                        "artcli diff model:production model:candidate --format markdown"))(diff)


@metadata_app.command("set", epilog=example(
    "artcli metadata set model:v3 model_metrics.accuracy=0.95 epochs=10",
    "artcli metadata set model weights:size=1.5GiB source:uri=s3://bkt/raw input:dtype=float32",
    "artcli metadata set model --file metrics.json",
    "ARTCLI_RUN_ID=train-42 artcli metadata set --infer --artifact model accuracy=0.95"))
def set_(
    args: Annotated[list[str] | None, typer.Argument(
        metavar="REF [KEY[:TYPE]=VALUE]...",
        help="The version, then KEY=VALUE pairs (VALUE is JSON when it parses, else text). "
             "TYPE: size, uri, path, dtype, or str/json to force text/JSON. With --infer, no REF.")] = None,
    file: Annotated[str | None, typer.Option(
        "--file", "-f", help="A JSON object of KEY: VALUE ('-' reads stdin); object values are cards.")] = None,
    infer: Annotated[bool, typer.Option(
        "--infer", help="Annotate the version the current run logged (--run, ARTCLI_RUN_ID or CI job).")] = False,
    artifact: Annotated[str | None, typer.Option(
        "--artifact", help="With --infer: which artifact, when the run logged several.")] = None,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    run: RunOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add metadata to a version; earlier values stay in the history.

    Prints the version reference (project/name:vN) on stdout.
    """
    from artcli.errors import UsageError
    from artcli.mdvalues import collect
    from artcli.ops.metadata import set_metadata

    items = list(args or [])
    if artifact is not None and not infer:
        raise UsageError("--artifact only applies with --infer", hint="name the version as REF instead")
    ref_text = None
    if not infer:
        if not items:
            raise UsageError("name the version to annotate", hint="artcli metadata set REF KEY=VALUE, or --infer")
        ref_text = items.pop(0)
        if "=" in ref_text:
            raise UsageError(f"expected a version reference first, got {ref_text!r}",
                             hint="artcli metadata set REF KEY=VALUE, or --infer to use the run's output")
    entries = collect(items, file)
    repo = open_repo(remote, project, run)
    res = set_metadata(repo, parse(ref_text, repo) if ref_text else None, entries, infer=infer, artifact=artifact)
    output.info(f"set {len(entries)} metadata key{'s' if len(entries) != 1 else ''} on {res.ref}")
    output.emit_json(res.to_json()) if as_json else output.data(res.ref)


@metadata_app.command("get", epilog=example("artcli metadata get model:v3 model_metrics.accuracy",
                                            "artcli metadata get model model_metrics --json"))
def get(
    ref: RefArg,
    key: Annotated[str, typer.Argument(help="A key, or a card name to get the whole card as an object.")],
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a key's latest value: strings as they are, anything else as JSON (sizes in bytes)."""
    from artcli.mdvalues import raw
    from artcli.ops.metadata import get_metadata

    repo = open_repo(remote, project)
    res = get_metadata(repo, parse(ref, repo), key)
    output.emit_json(res.to_json()) if as_json else output.data(raw(res.value))


@metadata_app.command("ls", epilog=example("artcli metadata ls model:v3",
                                           "artcli metadata ls model --history --json"))
def ls(
    ref: RefArg,
    history: Annotated[bool, typer.Option("--history", help="Every entry ever set, oldest first, with time and run.")] = False,
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a version's metadata grouped into cards (the part of a key before the first dot)."""
    from artcli.ops.metadata import list_metadata

    repo = open_repo(remote, project)
    report = list_metadata(repo, parse(ref, repo), history=history)
    for w in report.warnings:
        output.warn(w)
    res = report.to_json()
    if as_json:
        output.emit_json(res)
    elif history:
        output.table(["time", "run", "key", "value", "type"],
                     [[output.when(r["time"]), r["run"], r["key"], r["display"], r["type"]] for r in res["entries"]],
                     title=res["ref"], keep=["time", "run", "key"])
    elif output.stdout_tty():
        from artcli.cli.render.metadata import cards

        output.show(cards(res["ref"], res["entries"]))
    else:
        output.table(["key", "value", "type"], [[r["key"], r["display"], r["type"]] for r in res["entries"]],
                     keep=["key"])


def diff(
    ref_a: Annotated[str, typer.Argument(help="The first version, [project/]name[:vN|:alias].",
                                           autocompletion=completion.complete_ref)],
    ref_b: Annotated[str, typer.Argument(help="The second version.", autocompletion=completion.complete_ref)],
    remote: RemoteOpt = None,
    project: ProjectOpt = None,
    fmt: FormatOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show files added, removed and changed from REF_A to REF_B, and metadata that differs.

    Lines: 'A|D|M<TAB>path<TAB>size' for files, '+|-|~<TAB>key<TAB>value' for metadata.
    """
    from artcli.ops.diff import diff_versions

    fmt = pick_format(fmt, as_json)
    repo = open_repo(remote, project)
    res = diff_versions(repo, parse(ref_a, repo), parse(ref_b, repo))
    if fmt == "json":
        output.emit_json(res.to_json())
        return
    if fmt == "markdown":
        from artcli.cli.render import markdown

        output.data(markdown.diff(res.to_json()).rstrip("\n"))
        return
    size = output.human_size
    for f in res.added:
        output.data(f"A\t{f['path']}\t{size(f['size'])}")
    for f in res.removed:
        output.data(f"D\t{f['path']}\t{size(f['size'])}")
    for f in res.changed:
        output.data(f"M\t{f['path']}\t{size(f['a']['size'])} -> {size(f['b']['size'])}")
    for m in res.md_added:
        output.data(f"+\t{m['key']}\t{m['display']}")
    for m in res.md_removed:
        output.data(f"-\t{m['key']}\t{m['display']}")
    for m in res.md_changed:
        output.data(f"~\t{m['key']}\t{m['a']['display']} -> {m['b']['display']}")
    output.info(f"{res.a} -> {res.b}: {len(res.added)} added, {len(res.removed)} removed, "
                f"{len(res.changed)} changed, {res.unchanged} unchanged files; "
                f"{len(res.md_added) + len(res.md_removed) + len(res.md_changed)} metadata keys differ")
