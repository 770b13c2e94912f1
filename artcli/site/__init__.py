"""``artcli site``: a static HTML catalogue of a remote, written as plain files.

gather (read every log once) → pages (the data each page shows, and a digest of it) →
html/templates (the markup) → build (write only what changed, through a target: a folder
or a remote). No server, no JavaScript framework, nothing fetched from the network.
"""
