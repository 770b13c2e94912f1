"""What the printer draws for people: lineage trees and graphs, metadata cards.

Each function turns an op's result into text or a rich renderable; only :mod:`artcli.cli.output`
writes to the terminal. rich is imported inside the functions that build its objects.
"""
