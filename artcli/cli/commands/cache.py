"""cache info / prune: the local cache of file contents and manifests."""

from __future__ import annotations

from typing import Annotated

import typer

from artcli.cli import output
from artcli.cli.commands.common import JsonOpt, example
from artcli.humanize import plural

cache_app = typer.Typer(help="The local cache of downloaded and logged files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(cache_app, name="cache")


@cache_app.command("info", epilog=example("artcli cache info", "artcli cache info --json"))
def info(as_json: JsonOpt = False) -> None:
    """Show where the cache is and how much it holds."""
    from artcli.config import cache_dir
    from artcli.ops.cachemgmt import cache_info

    data = cache_info(cache_dir())
    if as_json:
        output.emit_json(data)
        return
    output.fields([("root", data["root"]),
                   ("files", f"{data['files']['count']} ({output.human_size(data['files']['bytes'])})"),
                   ("packs", f"{data['packs']['count']} ({output.human_size(data['packs']['bytes'])})"),
                   ("manifests", f"{data['manifests']['count']} ({output.human_size(data['manifests']['bytes'])})"),
                   ("tmp", f"{data['tmp']['count']} ({output.human_size(data['tmp']['bytes'])})"),
                   ("index", output.human_size(data["index_bytes"])),
                   ("total", output.human_size(data["total_bytes"])),
                   ("oldest use", output.when(data["oldest_use"])), ("newest use", output.when(data["newest_use"]))])


@cache_app.command("prune", epilog=example("artcli cache prune --max-size 10G",
                                           "artcli cache prune --older-than 30d --dry-run --json"))
def prune(
    max_size: Annotated[str | None, typer.Option("--max-size", help="Remove least recently used entries until the cache fits (10G, 500MiB, 2GB).")] = None,
    older_than: Annotated[str | None, typer.Option("--older-than", help="Remove entries not used for this long (30d, 12h).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Only report what would be removed.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove cached files, least recently used first; they are fetched again when needed.

    Waits for the artcli commands using the cache to finish first (a running download keeps
    its files). Prints the cache directory on stdout and a summary on stderr.
    """
    from artcli.config import cache_dir
    from artcli.durations import parse_duration
    from artcli.ops.cachemgmt import parse_size
    from artcli.ops.cachemgmt import prune as do_prune

    res = do_prune(cache_dir(), max_size=None if max_size is None else parse_size(max_size),
                   older_than=None if older_than is None else parse_duration(older_than), dry_run=dry_run,
                   on_wait=output.warn)
    if as_json:
        output.emit_json(res.to_json())
        return
    output.info(f"{'would remove' if dry_run else 'removed'} {plural(len(res.removed), 'entry', 'entries')} "
                f"({output.human_size(res.removed_bytes)}); {res.kept_count:,} kept ({output.human_size(res.kept_bytes)})")
    output.data(res.root)
