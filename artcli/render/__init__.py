"""Pictures and documents made from command results: lineage SVG, Markdown, HTML helpers.

Pure functions from data to text; nothing here reads a remote or prints.
"""
