"""Where chunks of records are rendered: in this process, in a local process pool (which survives
a crashed worker and recycles its workers to bound memory), or on any
:class:`concurrent.futures.Executor` the caller brings (a Dask cluster).

Every runner sends the same task, :func:`~priorauth.batch.worker.render_chunk`, and gets back
:class:`~priorauth.batch.worker.Rendered` values; what becomes of them is the caller's business.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from priorauth.batch.report import ERROR
from priorauth.batch.worker import Rendered, _init_worker, _Options, _Worker, render_chunk
from priorauth.case.model import Case


@dataclass(frozen=True)
class _Job:
    """A valid case on its way to a renderer, and where its PDF goes."""

    index: int
    source: str
    case: Case
    name: str
    input_sha256: str


@dataclass(eq=False)
class _Chunk:
    """Records rendered by one task, and what came back (by record index)."""

    jobs: list[_Job] = field(default_factory=list)
    future: Future[list[Rendered]] | None = None
    results: dict[int, Rendered] | None = None

    def payload(self, jobs: Iterable[_Job] | None = None) -> list[tuple[int, Case]]:
        return [(job.index, job.case) for job in (self.jobs if jobs is None else jobs)]

    def keep(self, rendered: Iterable[Rendered]) -> None:
        self.results = {r.index: r for r in rendered}


CRASHED = ("the worker process died while rendering this record (crash or out of memory); "
           "render it alone with 'priorauth render' to investigate")
FAILED = ("the executor could not run this record's task ({name}); render it alone with "
          "'priorauth render' to investigate")

RECYCLE_AFTER = 500
"""Letters a worker renders before it is replaced by a fresh one. WeasyPrint 70 keeps ~10 KiB
of native memory per PDF written (in ``write_pdf``; layout alone keeps none), so a worker that
lived forever would grow without bound; recycling costs one warm-up (~1 s) per 500 letters."""


class _Runner:
    """Renders chunks in this process, at once (``jobs=1``, or a single record)."""

    def __init__(self, worker: _Worker) -> None:
        self.worker = worker

    def submit(self, chunk: _Chunk) -> None:
        chunk.keep(self.worker.render(job.index, job.case) for job in chunk.jobs)

    def collect(self, chunk: _Chunk, pending: Iterable[_Chunk]) -> None:
        """Wait for ``chunk`` (``pending``: every chunk still out, for crash recovery)."""

    def close(self, *, wait: bool) -> None:
        """Stop: ``wait=False`` abandons what is still being rendered."""


class _OnExecutor(_Runner):
    """Renders on the caller's executor, which stays theirs: never shut down here. A task that
    fails as a whole (a lost worker) is retried one record at a time, so only a record that
    fails alone is an error."""

    def __init__(self, executor: Executor, options: _Options) -> None:
        self.executor = executor
        self.options = options
        self.out: set[Future[list[Rendered]]] = set()

    def submit(self, chunk: _Chunk) -> None:
        chunk.future = self.executor.submit(render_chunk, self.options, chunk.payload())
        self.out.add(chunk.future)

    def collect(self, chunk: _Chunk, pending: Iterable[_Chunk]) -> None:
        assert chunk.future is not None
        self.out.discard(chunk.future)
        try:
            rendered = chunk.future.result()
        except Exception:
            rendered = self._one_by_one(chunk)
        chunk.keep(rendered)

    def _one_by_one(self, chunk: _Chunk) -> list[Rendered]:
        rendered: list[Rendered] = []
        for job in chunk.jobs:
            try:
                rendered += self.executor.submit(render_chunk, self.options,
                                                 chunk.payload([job])).result()
            except Exception as exc:
                rendered.append(Rendered(job.index, ERROR,
                                         error=FAILED.format(name=type(exc).__name__)))
        return rendered

    def close(self, *, wait: bool) -> None:
        if not wait:
            for future in self.out:
                future.cancel()
        self.out.clear()


class _Pool(_Runner):
    """A local process pool that survives a worker crash (after a crash the unfinished chunks
    are re-run one record at a time, so only the record that kills a worker is an error) and
    recycles its workers: after ``recycle_after`` letters per worker, new chunks go to a fresh
    generation of warmed workers while the old one finishes what it has and exits."""

    def __init__(self, jobs: int, options: _Options,
                 recycle_after: int | None = RECYCLE_AFTER) -> None:
        import multiprocessing

        self.jobs = jobs
        self.options = options
        self.context = multiprocessing.get_context("spawn")
        self.generation = recycle_after * jobs if recycle_after else 0
        self.submitted = 0
        self.executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.jobs, mp_context=self.context, initializer=_init_worker,
                                   initargs=(self.options, os.getpid()))

    def submit(self, chunk: _Chunk) -> None:
        if self.generation and self.submitted and self.submitted % self.generation == 0:
            old, self.executor = self.executor, self._start()
            old.shutdown(wait=False)  # its queued chunks still run; then its workers exit
        self.submitted += len(chunk.jobs)
        chunk.future = self.executor.submit(render_chunk, self.options, chunk.payload())

    def collect(self, chunk: _Chunk, pending: Iterable[_Chunk]) -> None:
        assert chunk.future is not None
        try:
            chunk.keep(chunk.future.result())
        except BrokenProcessPool:
            self._recover(pending)

    def _recover(self, pending: Iterable[_Chunk]) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor = self._start()
        for chunk in pending:
            future = chunk.future
            if chunk.results is not None or future is None:
                continue
            if future.done() and not future.cancelled() and future.exception() is None:
                chunk.keep(future.result())
                continue
            rendered: list[Rendered] = []
            for job in chunk.jobs:
                try:
                    rendered += self.executor.submit(render_chunk, self.options,
                                                     chunk.payload([job])).result()
                except BrokenProcessPool:
                    rendered.append(Rendered(job.index, ERROR, error=CRASHED))
                    self.executor.shutdown(wait=True, cancel_futures=True)
                    self.executor = self._start()
            chunk.keep(rendered)

    def close(self, *, wait: bool) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=True)
