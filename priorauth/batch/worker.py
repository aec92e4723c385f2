"""What one worker process does: render jobs through the one letter pipeline, kept warm (fonts,
stylesheets, assets) for every letter it renders."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from priorauth.batch.report import ERROR, NOT_MET, RENDERED, Checker, RecordResult
from priorauth.case.model import Case
from priorauth.errors import PriorAuthError
from priorauth.output import write_atomic

if TYPE_CHECKING:
    from priorauth.letter.render import Renderer


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


class _Worker:
    """One per worker process: one warm letter pipeline reused for every letter."""

    def __init__(self, options: _Options) -> None:
        from priorauth.letter.pipeline import LetterPipeline

        self.options = options
        self.pipeline = LetterPipeline(template=options.template,
                                       templates_dirs=options.templates_dirs,
                                       policy=options.policy)

    @property
    def renderer(self) -> Renderer:
        return self.pipeline.renderer

    def warm(self) -> None:
        """Import WeasyPrint and load fonts, stylesheets and assets once, by laying out the
        starter case (layout only: writing a PDF would warm nothing more)."""
        from importlib.resources import files

        from priorauth.case.parse import parse_case as parse

        starter = files("priorauth.reference").joinpath("starter-case.yaml").read_bytes()
        with contextlib.suppress(PriorAuthError):
            self.renderer.document(parse(starter, "yaml", "starter-case.yaml"))

    def run(self, job: _Job) -> RecordResult:
        started = time.perf_counter()
        base = RecordResult(job.index, job.source, ERROR, id=job.case.id,
                            input_sha256=job.input_sha256)
        try:
            prepared = self.pipeline.prepare(job.case)
            unmet = (tuple(self.options.checker(job.case, prepared.context))
                     if self.options.checker else ())
            if unmet and self.options.strict:
                return replace(base, status=NOT_MET, unmet=unmet,
                               seconds=time.perf_counter() - started)
            letter = self.pipeline.produce(prepared)
            output = self.options.outdir / job.name
            write_atomic(output, letter.data)
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
                       sha256=hashlib.sha256(letter.data).hexdigest(), pages=letter.pages,
                       unmet=unmet, warnings=tuple(w.path for w in letter.warnings),
                       seconds=time.perf_counter() - started)


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
