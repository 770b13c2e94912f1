"""artcli: version datasets, models and results from the shell, on any object store."""

__version__ = "0.1.0"
