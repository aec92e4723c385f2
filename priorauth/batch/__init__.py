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

import contextlib
import hashlib
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal

from priorauth import __version__
from priorauth.case.model import Case
from priorauth.case.parse import (
    MAX_CASE_BYTES,
    Format,
    case_from_data,
    iter_ndjson_lines,
    parse_case,
    read_source,
)
from priorauth.errors import CaseInvalid, PriorAuthError, Problem
from priorauth.letter.render import Renderer
from priorauth.output import FILE_MODE, ensure_dir, write_atomic

__all__ = [
    "CASE_SUFFIXES", "MANIFEST_NAME", "BatchError", "BatchSummary", "Checker", "RecordResult",
    "ReportWriter", "Status", "Unmet", "count_records", "font_subsetter", "policy_checker",
    "render_many",
]

Status = Literal["rendered", "invalid", "criteria-not-met", "error"]
RENDERED: Status = "rendered"
INVALID: Status = "invalid"
NOT_MET: Status = "criteria-not-met"
ERROR: Status = "error"
STATUSES: tuple[Status, ...] = (RENDERED, INVALID, NOT_MET, ERROR)

CASE_SUFFIXES = (".yaml", ".yml", ".json")
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
MANIFEST_NAME = ".priorauth-manifest.jsonl"
LOCK_NAME = ".priorauth-batch.lock"
REPORT_FORMAT = "priorauth-batch-report/1"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class BatchError(PriorAuthError):
    """The batch cannot start (output folder unusable or already in use by another batch)."""


# --- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Unmet:
    """A policy criterion the case does not (or not demonstrably) meet. Policy text only."""

    id: str
    verdict: str
    """``not met`` or ``unknown``."""
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "verdict": self.verdict, "label": self.label}


@dataclass(frozen=True)
class RecordResult:
    """What happened to one input record. Holds no patient data beyond the case ``id``."""

    index: int
    """Position of the record among all inputs (0-based, input order)."""
    source: str
    """Where the record came from: ``cases/a.yaml``, ``export.ndjson:12``, ``<stdin>:3``."""
    status: Status
    id: str | None = None
    output: Path | None = None
    """The PDF (written for ``rendered`` and ``criteria-not-met``)."""
    sha256: str | None = None
    pages: int | None = None
    input_sha256: str | None = None
    resumed: bool = False
    """Skipped by ``resume``: the PDF from an earlier run already matches this input."""
    problems: tuple[Problem, ...] = ()
    """Why an ``invalid`` record is invalid: field paths and messages (values never kept)."""
    unmet: tuple[Unmet, ...] = ()
    """For ``criteria-not-met``: the criteria not met or unknown."""
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == RENDERED

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "source": self.source, "id": self.id,
                                "status": self.status}
        if self.output is not None:
            data.update(output=str(self.output), sha256=self.sha256, pages=self.pages)
        if self.input_sha256:
            data["input_sha256"] = self.input_sha256
        if self.resumed:
            data["resumed"] = True
        if self.problems:
            data["problems"] = [p.to_dict() for p in self.problems]
        if self.unmet:
            data["criteria"] = [u.to_dict() for u in self.unmet]
        if self.error:
            data["error"] = self.error
        data["seconds"] = round(self.seconds, 4)
        return data


@dataclass
class BatchSummary:
    """Counts for a whole run (one line on stderr, the ``summary`` of the JSON report)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    resumed: int = 0
    pages: int = 0
    seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    def add(self, result: RecordResult) -> None:
        self.counts[result.status] += 1
        self.resumed += result.resumed
        self.pages += result.pages or 0
        self.seconds = time.perf_counter() - self.started

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def ok(self) -> bool:
        return self.total == self.counts[RENDERED]

    def line(self) -> str:
        rate = self.total / self.seconds if self.seconds > 0 else 0.0
        parts = [f"{self.counts[RENDERED]} rendered"]
        parts += [f"{self.counts[s]} {s}" for s in (NOT_MET, INVALID, ERROR) if self.counts[s]]
        done = f" ({self.resumed} already done by an earlier run)" if self.resumed else ""
        return (f"{self.total} record{'s' if self.total != 1 else ''}: " + ", ".join(parts)
                + f"{done} in {self.seconds:.1f} s ({rate:.1f}/s)")

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.total, **self.counts, "resumed": self.resumed,
                "pages": self.pages, "seconds": round(self.seconds, 3)}


# --- the policy check hook -------------------------------------------------------------------

Checker = Callable[[Case, Any], Sequence[Unmet]]
"""``checker(case, letter_context) -> unmet criteria`` (empty: all met). Runs in the workers, so a
custom checker must be a module-level function (picklable)."""

NO_POLICY = Unmet("policy", "unknown", "no bundled payer policy applies to the diagnoses")


def policy_checker(case: Case, context: Any) -> list[Unmet]:
    """The default check: the payer policy :mod:`priorauth.policy.checks` chose for the letter.

    The letter context already holds the checklist (``build_context`` runs ``check_case``), so
    nothing is evaluated twice. No applicable policy counts as not met: a person should look.
    """
    report = getattr(context, "check", None)
    if report is None:
        return [NO_POLICY]
    return [Unmet(str(r.id), str(getattr(r.verdict, "value", r.verdict)), str(r.label))
            for r in report.unmet]


# --- reading inputs --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Record:
    source: str
    stem: str
    raw: bytes | None = None
    fmt: Format | None = None
    data: Any = None
    problem: Problem | None = None
    ndjson: bool = False


def _safe_stem(text: str) -> str:
    """A file-name-safe stem: letters, digits, ``._-`` only, starting with a letter or digit."""
    stem = _SAFE_NAME.sub("_", text).lstrip("._-")[:64].rstrip(".")
    return stem or "case"


def _iter_ndjson(handle: IO[bytes], name: str, stem: str) -> Iterator[_Record]:
    for lineno, line in iter_ndjson_lines(handle, MAX_CASE_BYTES):
        source = f"{name}:{lineno}"
        if line is None:
            problem = Problem("", f"the line is longer than {MAX_CASE_BYTES:,} bytes",
                              source=source)
            yield _Record(source, f"{stem}-{lineno}", problem=problem, ndjson=True)
        else:
            yield _Record(source, f"{stem}-{lineno}", raw=line, fmt="json", ndjson=True)


def _iter_path(path: Path) -> Iterator[_Record]:
    if path.suffix.lower() in NDJSON_SUFFIXES:
        try:
            with path.open("rb") as handle:
                yield from _iter_ndjson(handle, str(path), _safe_stem(path.stem))
        except OSError as exc:
            problem = Problem("", f"cannot be read ({exc.strerror or exc})", source=str(path))
            yield _Record(str(path), _safe_stem(path.stem), problem=problem)
        return
    try:
        raw, name = read_source(path)
    except CaseInvalid as exc:
        yield _Record(str(path), _safe_stem(path.stem), problem=exc.problems[0])
        return
    yield _Record(name, _safe_stem(path.stem), raw=raw)


def _folder_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.is_file()
                  and p.suffix.lower() in CASE_SUFFIXES + NDJSON_SUFFIXES)


def _iter_records(inputs: Iterable[str | Path | Case | Mapping[str, Any]]) -> Iterator[_Record]:
    objects = 0
    for item in inputs:
        if isinstance(item, Case | Mapping):
            objects += 1
            yield _Record(f"<case {objects}>", f"case-{objects}", data=item)
        elif str(item) == "-":
            yield from _iter_ndjson(sys.stdin.buffer, "<stdin>", "stdin")
        elif Path(item).is_dir():
            for path in _folder_files(Path(item)):
                yield from _iter_path(path)
        else:
            yield from _iter_path(Path(item))


def count_records(inputs: Iterable[str | Path | Case | Mapping[str, Any]]) -> int | None:
    """How many records ``inputs`` hold (for a progress bar), without parsing them; ``None``
    when it cannot be known in advance (stdin)."""
    total = 0
    for item in inputs:
        if isinstance(item, Case | Mapping):
            total += 1
            continue
        if str(item) == "-":
            return None
        path = Path(item)
        for file in _folder_files(path) if path.is_dir() else [path]:
            if file.suffix.lower() in NDJSON_SUFFIXES:
                with contextlib.suppress(OSError), file.open("rb") as handle:
                    total += sum(1 for line in handle if line.strip())
            else:
                total += 1
    return total


# --- naming, hashing, manifest ---------------------------------------------------------------

class _Names:
    """Unique output names, assigned in input order: ``id``, then ``id-2``, ``id-3`` ...
    Compared case-insensitively so that case-insensitive file systems are safe too."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, stem: str) -> str:
        candidate, number = stem, 1
        while candidate.casefold() in self._taken:
            number += 1
            candidate = f"{stem}-{number}"
        self._taken.add(candidate.casefold())
        return candidate + ".pdf"


def _fingerprint(renderer: Renderer, settings: str) -> bytes:
    """Everything besides the case that decides the PDF: priorauth's code, reference data and
    templates. A change to any of them makes ``resume`` re-render."""
    digest = hashlib.sha256(f"priorauth {__version__}\0{settings}\0".encode())
    roots = [Path(__file__).resolve().parents[1], *(Path(p) for p in renderer.search_path)]
    for root in roots:
        for folder, dirs, files in os.walk(root):  # top-down; dirs sorted in place: stable order
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
            for name in sorted(files):
                if name.endswith((".pyc", ".part")) or name.startswith("."):
                    continue
                path = Path(folder, name)
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                with contextlib.suppress(OSError):
                    digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.digest()


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


class _Manifest:
    """``.priorauth-manifest.jsonl``: one line per PDF written (name, input hash, PDF hash,
    pages, status). Written only by the calling process, one line at a time, after the PDF is
    in place; a torn last line (kill -9) is ignored."""

    def __init__(self, outdir: Path, resume: bool) -> None:
        self.path = outdir / MANIFEST_NAME
        self.entries: dict[str, dict[str, Any]] = {}
        if resume:
            self._load()
        # Rewrite it compacted (resume) or empty (fresh run), then append.
        lines = "".join(json.dumps(e, separators=(",", ":")) + "\n"
                        for e in self.entries.values())
        write_atomic(self.path, lines.encode())
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW, FILE_MODE)
        self._handle = os.fdopen(fd, "a", encoding="utf-8")

    def _load(self) -> None:
        try:
            text = self.path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("output"), str):
                self.entries[entry["output"]] = entry

    def done(self, name: str, input_sha256: str, outdir: Path) -> dict[str, Any] | None:
        """The manifest entry for ``name`` if its PDF is in place and made from this input."""
        entry = self.entries.get(name)
        if entry is None or entry.get("input_sha256") != input_sha256:
            return None
        if _file_sha256(outdir / name) != entry.get("sha256"):
            return None
        return entry

    def add(self, result: RecordResult) -> None:
        assert result.output is not None
        entry = {"output": result.output.name, "input_sha256": result.input_sha256,
                 "sha256": result.sha256, "pages": result.pages, "status": result.status,
                 "id": result.id, "criteria": [u.to_dict() for u in result.unmet]}
        self._handle.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


@contextlib.contextmanager
def _locked(outdir: Path) -> Iterator[None]:
    """One batch per output folder at a time (the lock dies with its process, even kill -9)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(outdir / LOCK_NAME, os.O_RDWR | os.O_CREAT | _NOFOLLOW, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another batch is writing to {outdir}; wait for it to finish"
                             ) from None
        yield
    finally:
        os.close(fd)


def _remove_leftovers(folder: Path) -> int:
    """Delete the ``.part`` files (PDFs, manifest) a killed run left behind; returns how many.
    Other ``.part`` files (e.g. a report being written into the same folder) are left alone."""
    removed = 0
    leftovers = [*folder.glob(".*.pdf.*.part"), *folder.glob(f".{MANIFEST_NAME}.*.part")]
    for part in leftovers:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
            removed += 1
    return removed


# --- workers ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Options:
    outdir: Path
    template: str | None
    templates_dirs: tuple[Path, ...]
    checker: Checker | None
    policy: str | None = None
    strict: bool = False


@dataclass(frozen=True)
class _Job:
    index: int
    source: str
    case: Case
    name: str
    input_sha256: str


class _PageCountingRenderer(Renderer):
    """A :class:`Renderer` that remembers the page count of the last document it laid out."""

    last_pages: int = 0

    def document(self, *args: Any, **kwargs: Any) -> Any:
        document = super().document(*args, **kwargs)
        self.last_pages = len(document.pages)
        return document


class _Worker:
    """One per worker process: a warmed renderer reused for every letter."""

    def __init__(self, options: _Options) -> None:
        self.options = options
        self.renderer = _PageCountingRenderer(options.template, options.templates_dirs)

    def warm(self) -> None:
        """Import WeasyPrint and load fonts, stylesheets and assets once, by laying out the
        starter case (layout only: writing a PDF would warm nothing more)."""
        from importlib.resources import files

        from priorauth.case.parse import parse_case as parse

        starter = files("priorauth.reference").joinpath("starter-case.yaml").read_bytes()
        with contextlib.suppress(PriorAuthError):
            self.renderer.document(parse(starter, "yaml", "starter-case.yaml"))

    def run(self, job: _Job) -> RecordResult:
        from priorauth.letter.context import build_context

        started = time.perf_counter()
        base = RecordResult(job.index, job.source, ERROR, id=job.case.id,
                            input_sha256=job.input_sha256)
        try:
            context = build_context(job.case, self.options.policy)
            unmet = tuple(self.options.checker(job.case, context)) if self.options.checker else ()
            if unmet and self.options.strict:
                return replace(base, status=NOT_MET, unmet=unmet,
                               seconds=time.perf_counter() - started)
            pdf = self.renderer.pdf(job.case, context)
            output = self.options.outdir / job.name
            write_atomic(output, pdf)
        except PriorAuthError as exc:
            return replace(base, error=str(exc), seconds=time.perf_counter() - started)
        except OSError as exc:
            return replace(base, error=f"could not write the PDF: {exc.strerror or exc}",
                           seconds=time.perf_counter() - started)
        except Exception as exc:  # a bug: keep going, say where to look, echo no data
            return replace(base, error=f"internal error ({type(exc).__name__}); render this "
                           "record alone with 'priorauth render' to see the traceback",
                           seconds=time.perf_counter() - started)
        return replace(base, status=NOT_MET if unmet else RENDERED, output=output,
                       sha256=hashlib.sha256(pdf).hexdigest(), pages=self.renderer.last_pages,
                       unmet=unmet, seconds=time.perf_counter() - started)


_worker: _Worker | None = None


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the batch process dies (even kill -9)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def _init_worker(options: _Options, parent: int) -> None:
    global _worker
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the batch process to handle
    _worker = _Worker(options)
    _worker.warm()


def _run_job(job: _Job) -> RecordResult:
    assert _worker is not None, "worker not initialised"
    return _worker.run(job)


def _worker_rss_kib() -> int:
    """Peak resident memory of this (worker) process, in KiB (Linux ``ru_maxrss``)."""
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def font_subsetter() -> str:
    """Which font subsetter WeasyPrint uses here: ``harfbuzz`` (``libharfbuzz-subset`` ≥ 4.1,
    fast) or ``fonttools`` (pure-Python fallback, ~3x slower PDF writing). Imports WeasyPrint.

    Mirrors the test in ``weasyprint.pdf.fonts.Font.subset`` (WeasyPrint 70)."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0):
        return "harfbuzz"
    return "fonttools"


# --- the driver ------------------------------------------------------------------------------

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
    if policy is not None:
        from priorauth.policy.spec import get_policy

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


# --- the JSON report -------------------------------------------------------------------------

class ReportWriter:
    """Streams the JSON report to a temporary file; :meth:`close` puts it in place atomically.

    ``{"format": ..., "records": [...], "summary": {...}}`` — one record per input record, in
    input order, with no patient data beyond the case ``id``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        ensure_dir(folder)
        for part in folder.glob(f".{glob_escape(self.path.name)}.*.part"):
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
        fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=folder)
        os.fchmod(fd, FILE_MODE)
        self._temp = Path(temp)
        self._handle = os.fdopen(fd, "w", encoding="utf-8")
        self._handle.write(f'{{"format": "{REPORT_FORMAT}",\n "records": [')
        self._first = True

    def add(self, result: RecordResult) -> None:
        self._handle.write(("\n  " if self._first else ",\n  ")
                           + json.dumps(result.to_dict(), ensure_ascii=False))
        self._first = False

    def close(self, summary: BatchSummary, **extra: Any) -> None:
        self._handle.write("\n ],\n \"summary\": "
                           + json.dumps({**summary.to_dict(), **extra}) + "\n}\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._temp, self.path)

    def abort(self) -> None:
        self._handle.close()
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()


def glob_escape(name: str) -> str:
    """``name`` with glob wildcards escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)

