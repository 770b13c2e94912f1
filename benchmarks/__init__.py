"""Benchmark harness: artcli against DVC, s5cmd and W&B offline (see README.md).

Stdlib-only; run it with the project's own interpreter::

    python benchmarks/run.py --size smoke
"""
