"""Console-script entry: answers ``--version`` before importing anything heavy."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from artcli import __version__

        sys.stdout.write(f"artcli {__version__}\n")
        return
    from artcli.cli import main as cli_main

    cli_main()
