"""Render many cases on all cores: streamed, resumable, safe to kill at any moment.

``render_many(inputs, outdir)`` yields one :class:`RecordResult` per input record, in input
order. Inputs are any mix of case files (YAML/JSON), folders of them, NDJSON files (one case per
line), ``-`` (NDJSON on stdin), :class:`~priorauth.case.model.Case` objects and plain dicts.

How it works (see docs/batch.md):

- The calling process reads, parses and validates each record (cheap: a few ms), names its
  output and decides whether ``resume`` can skip it. Valid cases go, in chunks, to worker
  processes (a local pool, or any :class:`concurrent.futures.Executor` such as a Dask cluster),
  each warmed once (WeasyPrint imported, one letter pipeline whose fonts, stylesheets and assets
  are reused for every letter). At most ``window`` records are in flight, so memory does not
  grow with the number of cases.
- A worker checks the case against the payer policy and renders it through the one letter
  pipeline; it sends back the PDF bytes and a status and writes nothing.
- The calling process writes each PDF atomically (temporary ``.part`` file, fsync, rename;
  mode 0600) — a PDF under its final name is complete — then appends a line to
  ``.priorauth-manifest.jsonl`` in the output folder:
  output name, hash of the input (case bytes + priorauth code, templates and reference data),
  sha256 of the PDF, pages, status. ``resume=True`` skips a record only when its PDF exists,
  its manifest line has the same input hash and the file's sha256 matches. A run killed at any
  point (even ``kill -9``) leaves at worst a PDF without a manifest line (re-rendered, replaced
  atomically) and ``.part`` files, which the next run deletes.

Nothing here prints or exits; results and reports carry no patient data beyond the case ``id``
(problems are reported with field paths and messages, never values).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from priorauth.batch.inputs import CASE_SUFFIXES, Record, count_records, iter_records
from priorauth.batch.manifest import (
    MANIFEST_NAME,
    Manifest,
    OutputNames,
    file_sha256,
    fingerprint,
    locked,
    remove_leftovers,
)
from priorauth.batch.pool import RECYCLE_AFTER, _Chunk, _Job, _OnExecutor, _Pool, _Runner
from priorauth.batch.report import (
    ERROR,
    INVALID,
    NOT_MET,
    RENDERED,
    BatchSummary,
    Checker,
    RecordResult,
    ReportWriter,
    Status,
    Unmet,
    policy_checker,
)
from priorauth.batch.worker import Rendered, _Options, _Worker
from priorauth.case.model import Case
from priorauth.case.parse import case_from_data, parse_case
from priorauth.case.plan import SentLetter
from priorauth.errors import BatchError, CaseInvalid, Problem
from priorauth.letter._weasy import font_subsetter
from priorauth.output import ensure_dir, write_atomic

__all__ = [
    "CASE_SUFFIXES", "CHUNK_SIZE", "MANIFEST_NAME", "BatchError", "BatchSummary", "Checker",
    "RecordResult", "ReportWriter", "Status", "Unmet", "count_records", "default_jobs",
    "fingerprint", "font_subsetter", "policy_checker", "render_many",
]

CHUNK_SIZE = 4
"""Records per task on a caller's executor (each task pays one round trip; a local pool sends
one record per task, so a crash costs at most that record)."""


def default_jobs(records: int | None) -> int:
    """Worker processes when none are asked for: one per core, but no more than records (a
    small batch pays for no worker it cannot use; one record renders in this process)."""
    cores = os.cpu_count() or 1
    return max(1, min(cores, records) if records is not None else cores)


def render_many(
    inputs: Iterable[str | Path | Case | Mapping[str, Any]],
    outdir: str | Path,
    *,
    jobs: int | None = None,
    resume: bool = False,
    template: str | None = None,
    templates_dirs: Sequence[Path] = (),
    checker: Checker | None = policy_checker,
    policy: str | None = None,
    strict: bool = False,
    window: int | None = None,
    recycle_after: int | None = RECYCLE_AFTER,
    executor: Executor | None = None,
    chunk_size: int | None = None,
) -> Iterator[RecordResult]:
    """Render every record of ``inputs`` into ``outdir``; yield a :class:`RecordResult` per
    record, in input order, as soon as it (and every record before it) is done.

    ``jobs``: local worker processes (default :func:`default_jobs`: one per core, at most one
    per record when ``inputs`` is a collection; ``1`` renders in this process).
    ``executor``: render on this :class:`concurrent.futures.Executor` instead (a Dask
    ``Client(...).get_executor()``, a pool of your own), in tasks of ``chunk_size`` records
    (default :data:`CHUNK_SIZE`); it is not shut down here. Files, manifest and report are
    written by this process either way, so ``resume`` works the same.
    ``resume``: skip records whose PDF from an earlier run matches the input.
    ``checker``: policy check per case (``None``: no check); records that fail it are rendered
    anyway with status ``criteria-not-met`` (with ``strict`` they are not rendered). ``policy``:
    a policy id for every case (default: chosen by diagnosis). ``window``: most records in
    flight (default 4 per local worker, 16 chunks on an executor). ``recycle_after``: letters
    per local worker process before it is replaced by a fresh one (bounds memory; ``None``:
    never). Raises :class:`BatchError` when the output folder cannot be used.
    """
    outdir = Path(outdir)
    if jobs is None and executor is None:
        jobs = default_jobs(count_records(inputs) if isinstance(inputs, Collection) else None)
    jobs = max(1, jobs or 1)
    chunk = max(1, chunk_size or (CHUNK_SIZE if executor is not None else 1))
    window = max(1, window or (16 * chunk if executor is not None else 4 * jobs))
    if outdir.exists() and not outdir.is_dir():
        raise BatchError(f"{outdir} exists and is not a folder")
    try:
        ensure_dir(outdir)
    except OSError as exc:
        raise BatchError(f"cannot create {outdir}: {exc.strerror or exc}") from None
    from priorauth.policy.spec import bundled_policies, get_policy
    from priorauth.reference.catalogue import catalogue
    from priorauth.reference.evidence import library

    bundled_policies(), catalogue(), library()  # broken bundled data: fail once, loudly
    if policy is not None:
        get_policy(policy)  # an unknown id is a usage error, not an error on every record
    options = _Options(template, tuple(Path(p) for p in templates_dirs), checker, policy, strict)
    with locked(outdir):
        remove_leftovers(outdir)
        local = _Worker(options)  # templates parsed here too: fail early on a bad template
        policy_file = Path(policy) if policy and Path(policy).is_file() else None
        settings = f"{template}\0{policy}\0{strict}\0" + (
            file_sha256(policy_file) or "" if policy_file else "")
        batch = _Batch(outdir, options, Manifest(outdir, resume), resume,
                       fingerprint(local.pipeline.renderer.search_path, settings))
        runner: _Runner = (_OnExecutor(executor, options) if executor is not None
                           else _Pool(jobs, options, recycle_after) if jobs > 1
                           else _Runner(local))
        finished = False
        try:
            yield from batch.drive(inputs, runner, chunk, window)
            finished = True
        finally:
            runner.close(wait=finished)
            batch.manifest.close()


@dataclass
class _Slot:
    """A record on its way out, in input order: its result, or its job in a chunk."""

    result: RecordResult | None = None
    job: _Job | None = None
    chunk: _Chunk | None = None


@dataclass
class _Batch:
    """One run into one output folder: reads records, hands valid cases to a runner, writes what
    comes back (PDF, then manifest line) and yields the results in input order."""

    outdir: Path
    options: _Options
    manifest: Manifest
    resume: bool
    fingerprint: bytes

    def drive(self, inputs: Iterable[str | Path | Case | Mapping[str, Any]], runner: _Runner,
              chunk_size: int, window: int) -> Iterator[RecordResult]:
        names = OutputNames()
        pending: deque[_Slot] = deque()
        current = _Chunk()

        def flush() -> None:
            nonlocal current
            if current.jobs:
                runner.submit(current)
                current = _Chunk()

        def drain(block_until: int) -> Iterator[RecordResult]:
            while pending:
                head = pending[0]
                if head.result is None:
                    assert head.job is not None and head.chunk is not None
                    chunk = head.chunk
                    if chunk is current:  # not sent yet: more records may join it
                        if len(pending) <= block_until:
                            return
                        flush()
                    if chunk.results is None:
                        assert chunk.future is not None
                        if len(pending) <= block_until and not chunk.future.done():
                            return
                        runner.collect(chunk, [s.chunk for s in pending if s.chunk is not None])
                    assert chunk.results is not None
                    head.result = self.finish(head.job, chunk.results.get(head.job.index))
                pending.popleft()
                yield head.result

        for index, record in enumerate(iter_records(inputs)):
            slot = self.prepare(index, record, names, time.perf_counter())
            if slot.job is not None:
                current.jobs.append(slot.job)
                slot.chunk = current
                if len(current.jobs) >= chunk_size:
                    flush()
            pending.append(slot)
            yield from drain(block_until=window - 1)
        flush()
        yield from drain(block_until=0)

    def prepare(self, index: int, record: Record, names: OutputNames, started: float) -> _Slot:
        """Parse and validate a record, name its PDF, and skip it if ``resume`` may."""
        if record.problem is not None:
            return _Slot(_invalid(index, record, [record.problem], started))
        try:
            if isinstance(record.data, Case):
                case = record.data
            elif record.data is not None:
                case = case_from_data(dict(record.data), source=record.source)
            else:
                assert record.raw is not None
                case = parse_case(record.raw, record.fmt, record.source)
        except CaseInvalid as exc:
            return _Slot(_invalid(index, record, exc.problems, started))
        name = names.claim(case.id or record.stem)
        input_sha256 = hashlib.sha256(self.fingerprint + _input_bytes(record)).hexdigest()
        entry = self.manifest.done(name, input_sha256, self.outdir) if self.resume else None
        if entry is None:
            return _Slot(job=_Job(index, record.source, case, name, input_sha256))
        status: Status = NOT_MET if entry["status"] == NOT_MET else RENDERED
        return _Slot(RecordResult(
            index, record.source, status, id=case.id, output=self.outdir / name,
            sha256=entry["sha256"], pages=entry["pages"], input_sha256=input_sha256,
            resumed=True, unmet=tuple(Unmet(u["id"], u["verdict"], u["label"])
                                      for u in entry.get("criteria", [])),
            reason=entry.get("reason"), warnings=tuple(entry.get("warnings", [])),
            template=entry.get("template"), policy=entry.get("policy"),
            seconds=time.perf_counter() - started, sent=SentLetter.from_case(case)))

    def finish(self, job: _Job, rendered: Rendered | None) -> RecordResult:
        """Write what a worker rendered: the PDF in place, then its manifest line."""
        if rendered is None:  # an executor that lost a record without saying why
            rendered = Rendered(job.index, ERROR, error="the executor returned no result")
        started = time.perf_counter()
        result = RecordResult(
            job.index, job.source, rendered.status, id=job.case.id,
            input_sha256=job.input_sha256, unmet=rendered.unmet, reason=rendered.reason,
            error=rendered.error, warnings=rendered.warnings, template=rendered.template,
            policy=rendered.policy, seconds=rendered.seconds,
            sent=SentLetter.from_case(job.case))
        if rendered.data is None:
            return result
        output = self.outdir / job.name
        try:
            write_atomic(output, rendered.data)
        except OSError as exc:
            return replace(result, status=ERROR,
                           error=f"could not write the PDF: {exc.strerror or exc}")
        result = replace(result, output=output, sha256=hashlib.sha256(rendered.data).hexdigest(),
                         pages=rendered.pages,
                         seconds=rendered.seconds + time.perf_counter() - started)
        try:
            self.manifest.add(result)
        except OSError as exc:
            return replace(result, status=ERROR, error=(
                f"the PDF was written but could not be recorded in {MANIFEST_NAME} "
                f"({exc.strerror or exc}); --resume will render it again"))
        return result


def _invalid(index: int, record: Record, problems: Sequence[Problem],
             started: float) -> RecordResult:
    if record.ndjson:  # line numbers inside a one-line document say nothing; the source does
        problems = [replace(p, line=None, column=None, source=record.source) for p in problems]
    clean = tuple(replace(p, value=None) for p in problems)
    return RecordResult(index, record.source, INVALID, problems=clean,
                        seconds=time.perf_counter() - started)


def _input_bytes(record: Record) -> bytes:
    if record.raw is not None:
        return record.raw
    if isinstance(record.data, Case):
        return record.data.model_dump_json(by_alias=True).encode()
    return json.dumps(record.data, sort_keys=True, default=str).encode()
