"""Folds of event logs: the one interpretation of each kind of log on a remote.

Pure functions and plain data, no I/O: ``artifact`` (versions, aliases, metadata, TTLs),
``collection`` (registries and their collections of links), ``run`` (a run's inputs and
outputs), ``settings`` (a project's default TTL). ``alias_book`` is the one alias/latest
bookkeeping both artifacts and collections use; ``fold`` is the one loop that applies events.
:class:`artcli.repo.Repo` reads the logs and hands them to these folds.
"""
