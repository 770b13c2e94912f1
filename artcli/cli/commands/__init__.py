"""Typer commands: parse arguments, call one library function, print through the printer."""
