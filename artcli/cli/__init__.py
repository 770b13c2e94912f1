"""The face: the Typer app (``app``), its commands, shell completion and the one printer (``output``).

Importing this package imports nothing; ``artcli.cli.app`` builds the command tree.
"""
