"""Console-script entry: answers ``--version`` before importing anything heavy."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from artcli.version import __version__

        sys.stdout.write(f"artcli {__version__}\n")
        return
    import gc

    # artcli allocates many small, acyclic objects (one per file): collect far less often
    gc.set_threshold(50_000, 20, 20)
    from artcli.cli.app import main as cli_main

    cli_main()
