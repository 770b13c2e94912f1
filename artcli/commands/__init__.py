"""Typer commands: parse arguments, call one ops function, print. No I/O logic here."""
