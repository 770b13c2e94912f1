"""The artcli command line: the Typer app and the one error-to-exit-code handler."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from artcli.cli import completion, output
from artcli.version import __version__

app = typer.Typer(
    name="artcli",
    help="Version datasets, models and results on any object store, from the shell. No server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        output.data(f"artcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but data and errors: no progress, notes or warnings.")] = False,
) -> None:
    """artcli: version datasets, models and results on S3, GCS or a folder."""
    output.DEBUG = output.DEBUG or debug
    output.QUIET = quiet


def _register() -> None:
    """Every module in artcli.cli.commands with a ``register(app)`` adds its commands (in name order).

    Command modules import only typer and artcli.cli.commands.common at import time, so this
    stays cheap; the work is imported inside each command's body.
    """
    import importlib
    import pkgutil

    import artcli.cli.commands as pkg

    names = [m.name for m in pkgutil.iter_modules(pkg.__path__)]
    for mod in sorted(names, key=lambda n: (n != "core", n)):  # log/download/ls/show/files first
        module = importlib.import_module(f"artcli.cli.commands.{mod}")
        if hasattr(module, "register"):
            module.register(app)
    _plain_help(app)


def _plain_help(t: typer.Typer) -> None:
    """Plain click help everywhere: '[project/]' is not rich markup, and --help needs no rich."""
    t.rich_markup_mode = None
    for group in t.registered_groups:
        if group.typer_instance is not None:
            _plain_help(group.typer_instance)


_register()
completion.use_own_bash_script()  # --install-completion bash: the script completions/artcli.bash has


GLOBAL_FLAGS = ("-q", "--quiet", "--debug")


def hoist_global_flags(args: list[str]) -> list[str]:
    """``-q/--quiet`` and ``--debug`` anywhere before ``--`` (``artcli log ds data/ -q``, as DVC
    and hf accept them) move in front of the subcommand, where the app's callback reads them."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in GLOBAL_FLAGS]
    if not flags:
        return args
    return [*dict.fromkeys(flags), *(a for a in args[:end] if a not in GLOBAL_FLAGS), *args[end:]]


def _narrowed(args: list[str]) -> typer.Typer:
    """The app with only the command ``args`` name, when they name one: Typer builds a click
    command for every registered command before it parses anything (~50 ms of CPU for ~30
    commands), and one command needs only its own. Help, completion, ``--version`` and unknown
    names get the whole app, so they list, complete and suggest as before."""
    import os

    if "_ARTCLI_COMPLETE" in os.environ:
        return app
    name = next((a for a in args if a not in GLOBAL_FLAGS), None)
    if name is None or name.startswith("-"):
        return app
    from typer.main import get_command_name

    commands = [c for c in app.registered_commands
                if (c.name or get_command_name(c.callback.__name__ if c.callback else "")) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) != 1:
        return app
    import copy

    one = copy.copy(app)  # the same settings and root callback (--debug, --quiet, --version)
    one.registered_commands, one.registered_groups = commands, groups
    return one


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn artcli errors into one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:  # the start-up path Makefiles hit most: answer before any import
        sys.stdout.write(f"artcli {__version__}\n")
        return
    import os

    args = hoist_global_flags(args)
    output.DEBUG = "--debug" in args or os.environ.get("ARTCLI_DEBUG") == "1"
    from artcli import runinfo

    runinfo.ARGV = list(args)  # what a run records as its command line, also when called in-process
    from artcli.errors import ArtcliError

    output.QUIET = False  # set by the --quiet callback; a parse error never gets that far
    output.JSON_SENT = False
    as_json = output.wants_json(args)
    try:
        _narrowed(args)(args=args, prog_name="artcli")
    except ArtcliError as exc:
        if output.DEBUG:
            import traceback

            traceback.print_exc()
        output.error(str(exc), exc.hint, code=exc.exit_code, as_json=as_json)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        output.error("interrupted", code=130, as_json=as_json)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:
        from artcli.errors import DISK_FULL_ERRNOS, disk_full

        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS and not output.DEBUG:
            # a full disk met where no code path names it: the file and its disk, when the OS says
            full = disk_full(exc, str(exc.filename or "a local file"), "a local write")
            output.error(str(full), full.hint)
            sys.exit(full.exit_code)
        if output.DEBUG:
            raise
        output.error(f"internal error: {type(exc).__name__}: {exc}", "re-run with --debug for a traceback",
                     code=1, as_json=as_json)
        sys.exit(1)
    finally:
        from artcli.cli.commands.common import close_repos

        close_repos()
        runinfo.ARGV = None  # a Python caller in this process afterwards records its own line
