"""The version of artcli: the one place it is written (``artcli.__version__`` re-exports it)."""

__version__ = "0.1.0"
