"""A process pool that survives a crashed worker and recycles its workers (bounded memory)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from priorauth.batch.report import ERROR, RecordResult
from priorauth.batch.worker import _init_worker, _Job, _Options, _run_job


@dataclass
class _Slot:
    """A record on its way out, in input order: a result, or a job still in a worker."""

    result: RecordResult | None = None
    job: _Job | None = None
    future: Future[RecordResult] | None = None


CRASHED = ("the worker process died while rendering this record (crash or out of memory); "
           "render it alone with 'priorauth render' to investigate")


RECYCLE_AFTER = 500
"""Letters a worker renders before it is replaced by a fresh one. WeasyPrint 70 keeps ~10 KiB
of native memory per PDF written (in ``write_pdf``; layout alone keeps none), so a worker that
lived forever would grow without bound; recycling costs one warm-up (~1 s) per 500 letters."""


class _Pool:
    """Process pool that survives a worker crash (after a crash the unfinished jobs are re-run
    one at a time, so only the record that kills a worker is marked as an error) and recycles
    its workers: after ``recycle_after`` letters per worker, new jobs go to a fresh generation
    of warmed workers while the old one finishes what it has and exits."""

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

    def submit(self, job: _Job) -> Future[RecordResult]:
        if self.generation and self.submitted and self.submitted % self.generation == 0:
            old, self.executor = self.executor, self._start()
            old.shutdown(wait=False)  # its queued jobs still run; then its workers exit
        self.submitted += 1
        return self.executor.submit(_run_job, job)

    def result(self, slot: _Slot, pending: Iterable[_Slot]) -> RecordResult:
        assert slot.future is not None
        try:
            return slot.future.result()
        except BrokenProcessPool:
            self._recover(pending)
            assert slot.result is not None
            return slot.result

    def _recover(self, pending: Iterable[_Slot]) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor = self._start()
        for slot in pending:
            if slot.future is None or slot.job is None:
                continue
            future = slot.future
            if future.done() and not future.cancelled() and future.exception() is None:
                slot.result = future.result()
            else:
                try:
                    slot.result = self.executor.submit(_run_job, slot.job).result()
                except BrokenProcessPool:
                    slot.result = RecordResult(slot.job.index, slot.job.source, ERROR,
                                               id=slot.job.case.id,
                                               input_sha256=slot.job.input_sha256,
                                               error=CRASHED)
                    self.executor.shutdown(wait=True, cancel_futures=True)
                    self.executor = self._start()
            slot.future = None

    def close(self, *, wait: bool) -> None:
        self.executor.shutdown(wait=wait, cancel_futures=True)


