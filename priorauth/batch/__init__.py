"""Render many cases on all cores: streamed, resumable, safe to kill at any moment.

``render_many(inputs, outdir)`` yields one :class:`RecordResult` per input record, in input
order. Inputs are any mix of case files (YAML/JSON), folders of them, NDJSON files (one case per
line), ``-`` (NDJSON on stdin), :class:`~priorauth.case.model.Case` objects and plain dicts.

How it works (see docs/batch.md):

- The calling process reads, parses and validates each record (cheap: a few ms), names its
  output and decides whether ``resume`` can skip it. Valid cases go to a pool of worker
  processes, each warmed once (WeasyPrint imported, one :class:`~priorauth.letter.render.Renderer`
  whose fonts, stylesheets and assets are reused for every letter). At most ``window`` records
  are in flight, so memory does not grow with the number of cases.
- A worker checks the case against the payer policy, renders it and writes the PDF atomically
  (temporary ``.part`` file, fsync, rename; mode 0600) — a PDF under its final name is complete.
- The calling process then appends a line to ``.priorauth-manifest.jsonl`` in the output folder:
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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from priorauth.batch.inputs import CASE_SUFFIXES, _iter_records, _Record, count_records
from priorauth.batch.manifest import (
    MANIFEST_NAME,
    _file_sha256,
    _fingerprint,
    _locked,
    _Manifest,
    _Names,
    _remove_leftovers,
)
from priorauth.batch.pool import RECYCLE_AFTER, _Pool, _Slot
from priorauth.batch.report import (
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
from priorauth.batch.worker import _Job, _Options, _Worker
from priorauth.case.model import Case
from priorauth.case.parse import case_from_data, parse_case
from priorauth.errors import BatchError, CaseInvalid, Problem
from priorauth.letter._weasy import font_subsetter
from priorauth.output import ensure_dir

__all__ = [
    "CASE_SUFFIXES", "MANIFEST_NAME", "BatchError", "BatchSummary", "Checker", "RecordResult",
    "ReportWriter", "Status", "Unmet", "count_records", "font_subsetter", "policy_checker",
    "render_many",
]


def _invalid(index: int, record: _Record, problems: Sequence[Problem],
             started: float) -> RecordResult:
    if record.ndjson:  # line numbers inside a one-line document say nothing; the source does
        problems = [replace(p, line=None, column=None, source=record.source) for p in problems]
    clean = tuple(replace(p, value=None) for p in problems)
    return RecordResult(index, record.source, INVALID, problems=clean,
                        seconds=time.perf_counter() - started)


def _input_bytes(record: _Record) -> bytes:
    if record.raw is not None:
        return record.raw
    if isinstance(record.data, Case):
        return record.data.model_dump_json(by_alias=True).encode()
    return json.dumps(record.data, sort_keys=True, default=str).encode()


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
) -> Iterator[RecordResult]:
    """Render every record of ``inputs`` into ``outdir``; yield a :class:`RecordResult` per
    record, in input order, as soon as it (and every record before it) is done.

    ``jobs``: worker processes (default: all cores; ``1`` renders in this process).
    ``resume``: skip records whose PDF from an earlier run matches the input.
    ``checker``: policy check per case (``None``: no check); records that fail it are rendered
    anyway with status ``criteria-not-met`` (with ``strict`` they are not rendered). ``policy``:
    a policy id for every case (default: chosen by diagnosis). ``window``: most records in
    flight (default 4 per worker). ``recycle_after``: letters per worker process before it is
    replaced by a fresh one (bounds memory; ``None``: never; ``jobs=1`` never recycles).
    Raises :class:`BatchError` when the output folder cannot be used.
    """
    outdir = Path(outdir)
    jobs = max(1, jobs or os.cpu_count() or 1)
    window = max(1, window or 4 * jobs)
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
    options = _Options(outdir, template, tuple(Path(p) for p in templates_dirs), checker,
                       policy, strict)
    with _locked(outdir):
        _remove_leftovers(outdir)
        local = _Worker(options)  # templates parsed here too: fail early on a bad template
        policy_file = Path(policy) if policy and Path(policy).is_file() else None
        settings = f"{template}\0{policy}\0{strict}\0" + (
            _file_sha256(policy_file) or "" if policy_file else "")
        fingerprint = _fingerprint(local.renderer, settings)
        manifest = _Manifest(outdir, resume)
        pool = _Pool(jobs, options, recycle_after) if jobs > 1 else None
        finished = False
        try:
            yield from _drive(inputs, options, local, pool, manifest, fingerprint, resume,
                              window)
            finished = True
        finally:
            if pool is not None:
                pool.close(wait=finished)
            manifest.close()


def _drive(inputs: Iterable[str | Path | Case | Mapping[str, Any]], options: _Options,
           local: _Worker, pool: _Pool | None, manifest: _Manifest, fingerprint: bytes,
           resume: bool, window: int) -> Iterator[RecordResult]:
    names = _Names()
    pending: deque[_Slot] = deque()

    def finish(result: RecordResult) -> RecordResult:
        if result.output is not None and not result.resumed:
            manifest.add(result)
        return result

    def drain(block_until: int) -> Iterator[RecordResult]:
        while pending:
            head = pending[0]
            if head.result is None:
                assert head.future is not None and pool is not None
                if len(pending) <= block_until and not head.future.done():
                    return
                head.result = pool.result(head, pending)
            pending.popleft()
            yield finish(head.result)

    for index, record in enumerate(_iter_records(inputs)):
        started = time.perf_counter()
        slot = _prepare(index, record, options, names, manifest, fingerprint, resume, started)
        if isinstance(slot.result, RecordResult) or slot.job is None:
            pending.append(slot)
        elif pool is None:
            slot.result = local.run(slot.job)
            pending.append(slot)
        else:
            slot.future = pool.submit(slot.job)
            pending.append(slot)
        yield from drain(block_until=window - 1)
    yield from drain(block_until=0)


def _prepare(index: int, record: _Record, options: _Options, names: _Names,
             manifest: _Manifest, fingerprint: bytes, resume: bool, started: float) -> _Slot:
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
    input_sha256 = hashlib.sha256(fingerprint + _input_bytes(record)).hexdigest()
    if resume and (entry := manifest.done(name, input_sha256, options.outdir)) is not None:
        status: Status = NOT_MET if entry.get("status") == NOT_MET else RENDERED
        unmet = tuple(Unmet(str(u.get("id")), str(u.get("verdict")), str(u.get("label")))
                      for u in entry.get("criteria") or [] if isinstance(u, dict))
        return _Slot(RecordResult(index, record.source, status, id=case.id,
                                  output=options.outdir / name, sha256=entry.get("sha256"),
                                  pages=entry.get("pages"), input_sha256=input_sha256,
                                  resumed=True, unmet=unmet,
                                  seconds=time.perf_counter() - started))
    return _Slot(job=_Job(index, record.source, case, name, input_sha256))


