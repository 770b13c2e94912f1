"""``artcli.run()``: a run recorded from a script exactly as the CLI records one from CI.

``with artcli.run(job_type="train") as run:`` writes ``run_started`` (job type, command line,
host, user, git state, CI job: ``artcli run start``); inside, ``run.use``/``run.download``
record inputs and ``run.log`` records outputs in the run's log and in the versions' logs
(docs/lineage.md); leaving writes ``run_finished`` with ``succeeded``, or ``failed`` when the
block raised — only for a run this block started: inside a CI step whose run already started
(``ARTCLI_RUN_ID``, ``artcli run start``), the script records into it and leaves it open. A Run is a :class:`~artcli.api.repo.Repo` bound to its run id, so every Repo
method is there too, and it is as thread-safe as a Repo.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from artcli.api.progress import ProgressCallback
from artcli.api.repo import Repo
from artcli.config import Settings, resolve

if TYPE_CHECKING:
    from artcli.ops.metadata import SetResult
    from artcli.state.run import RunState


class Run(Repo):
    """A run on a remote. Make one with :func:`artcli.run`."""

    def __init__(self, settings: Settings, run_id: str | None, job_type: str | None, name: str | None,
                 progress: ProgressCallback | None = None) -> None:
        super().__init__(settings, run_id, progress)
        self._job_type = job_type
        self._name = name
        self._started = False
        self._owned = False  # this Run wrote run_started: leaving the block finishes it
        self._start_lock = threading.Lock()

    @property
    def id(self) -> str:
        """The run id (known once the run started)."""
        if self._run_id is None:
            self.start()
        assert self._run_id is not None
        return self._run_id

    def start(self) -> Run:
        """Write ``run_started`` (once; starting an explicit id that already started is a no-op)."""
        from artcli.ops.runs import start_run

        with self._start_lock:  # two threads asking for run.id first: one run, not two
            if self._started:
                return self
            res = start_run(self._ctx(), self._job_type, self._name, self._run_id)
            self._run_id = res.id
            with self._lock:
                for ctx in self._contexts:  # contexts made before the id was known record for it too
                    ctx.run_id = res.id
            self._owned = res.created
            self._started = True
        return self

    def finish(self, status: str | None = "succeeded") -> RunState:
        """Write ``run_finished`` with ``status`` (once; finishing a finished run changes nothing)."""
        from artcli.ops.runs import finish_run

        return finish_run(self._ctx(), self.id, status)

    def log_metadata(self, values: Mapping[str, Any], *, artifact: str | None = None,
                     ref: str | None = None) -> SetResult:
        """Attach metadata to the version this run logged (ZenML's ``log_metadata``): its single
        output, or the one of ``artifact``; or to ``ref`` when given. Dict values are cards,
        ``KEY:TYPE`` keys typed values (size, uri, path, dtype)."""
        if ref is not None:
            return self.metadata.set(ref, values)
        return self.metadata.set_on_run_output(values, artifact=artifact)

    def info(self) -> RunState:
        """This run's record so far (``artcli run show``)."""
        return self.run_info(self.id)

    def __enter__(self) -> Run:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._started and self._owned:  # a run somebody else started (CI, the shell) is theirs to finish
                self.finish("succeeded" if exc_type is None else "failed")
        finally:
            self.close()

    def __repr__(self) -> str:
        return f"artcli.Run(id={self._run_id!r}, remote={self.remote!r}, project={self.project!r})"


def run(job_type: str | None = None, *, name: str | None = None, remote: str | None = None,
        project: str | None = None, run_id: str | None = None, options: Mapping[str, str] | None = None,
        progress: ProgressCallback | None = None) -> Run:
    """A run to use as ``with artcli.run(job_type="train") as run:``.

    ``run_id``: an explicit id (re-starting it is a no-op, so a retried job is safe); default
    ``ARTCLI_RUN_ID``, then the CI job's id, then a fresh one. Other arguments as :func:`artcli.open`.
    """
    from artcli.runinfo import current_run_id

    settings = resolve(remote, project)
    if options:
        settings.options = {**settings.options, **{str(k): str(v) for k, v in options.items()}}
    return Run(settings, current_run_id(run_id), job_type, name, progress)
