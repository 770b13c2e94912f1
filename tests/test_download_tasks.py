"""How ``download`` shares copies out between its write threads: large files are split over
several tasks (a warm download of 100 files of 10 MiB used to be one task, copied by one
thread while the other idled), small ones go in batches (one task per small file costs more
in thread hand-offs than the copies)."""

from __future__ import annotations

from artcli.model import Entry
from artcli.ops.download import COPY_TASK_BYTES, SMALL_TASK, _tasks


def _hits(sizes: list[int]) -> list[tuple[Entry, str]]:
    return [(Entry(f"f{i:05d}", s, "0" * 64), f"/t/f{i:05d}") for i, s in enumerate(sizes)]


def test_large_files_are_shared_out_by_bytes() -> None:
    hits = _hits([10 << 20] * 100)
    tasks = _tasks(hits)
    assert [h for t in tasks for h in t] == hits  # every copy once, in order
    assert len(tasks) >= 30
    assert all(sum(e.size for e, _ in t) <= COPY_TASK_BYTES for t in tasks)


def test_small_files_go_in_batches() -> None:
    hits = _hits([4096] * 1000)
    tasks = _tasks(hits)
    assert [h for t in tasks for h in t] == hits
    assert [len(t) for t in tasks] == [SMALL_TASK] * 3 + [1000 - 3 * SMALL_TASK]


def test_a_file_larger_than_a_task_is_a_task_of_its_own() -> None:
    hits = _hits([1, COPY_TASK_BYTES * 3, 1])
    assert [[e.path for e, _ in t] for t in _tasks(hits)] == [["f00000"], ["f00001"], ["f00002"]]
    assert _tasks([]) == []
