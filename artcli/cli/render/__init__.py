"""What the printer draws for people: lineage trees, graphs and pictures, metadata cards,
Markdown summaries.

Each function turns an op's result into text or a rich renderable; only :mod:`artcli.cli.output`
writes to the terminal. rich is imported inside the functions that build its objects. The SVG
picture (``lineage_svg`` over the ``layered`` layout), the Markdown (``markdown``) and the
escaping they share (``escape``) are plain text, used by ``artcli site`` as well.
"""
