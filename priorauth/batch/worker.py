"""What renders one record, wherever it runs: this process, a local worker process, or a task on
any :class:`concurrent.futures.Executor` (a Dask cluster). A task gets a chunk of cases and gives
back bytes and a status per case; it writes no file, so the calling process alone writes PDFs,
the manifest and the report (resume and the report work the same on every executor).

A worker process keeps one warm :class:`~priorauth.letter.pipeline.LetterPipeline` (WeasyPrint
imported, fonts, stylesheets and assets loaded) in a module-level cache for every chunk it gets.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from priorauth.batch.report import ERROR, NOT_MET, RENDERED, Checker, Status, Unmet
from priorauth.case.model import Case
from priorauth.errors import NO_POLICY_MESSAGE, PriorAuthError


@dataclass(frozen=True)
class _Options:
    """Everything besides the case that decides a letter (hashable: the worker cache key)."""

    template: str | None
    templates_dirs: tuple[Path, ...]
    checker: Checker | None
    policy: str | None = None
    strict: bool = False


@dataclass(frozen=True)
class Rendered:
    """What a task gives back for one case: the PDF bytes (``None`` when not rendered) and what
    the report needs. Holds no patient data beyond what the PDF itself holds."""

    index: int
    status: Status
    data: bytes | None = None
    pages: int | None = None
    unmet: tuple[Unmet, ...] = ()
    reason: str | None = None
    """Why a ``criteria-not-met`` record is so (the words ``render --strict`` uses)."""
    warnings: tuple[str, ...] = ()
    template: str | None = None
    policy: str | None = None
    error: str | None = None
    seconds: float = 0.0


class _Worker:
    """One warm letter pipeline, reused for every letter of a process."""

    def __init__(self, options: _Options) -> None:
        from priorauth.letter.pipeline import LetterPipeline

        self.options = options
        self.pipeline = LetterPipeline(template=options.template,
                                       templates_dirs=options.templates_dirs,
                                       policy=options.policy)

    def warm(self) -> None:
        """Import WeasyPrint and load fonts, stylesheets and assets once, by laying out the
        starter case (layout only: writing a PDF would warm nothing more)."""
        from importlib.resources import files

        from priorauth.case.parse import parse_case

        starter = files("priorauth.reference").joinpath("starter-case.yaml").read_bytes()
        with contextlib.suppress(PriorAuthError):
            self.pipeline.renderer.document(parse_case(starter, "yaml", "starter-case.yaml"))

    def render(self, index: int, case: Case) -> Rendered:
        """One record through the one pipeline; every failure is this record's ``error``."""
        started = time.perf_counter()
        try:
            prepared = self.pipeline.prepare(case)
            checker = self.options.checker
            unmet = tuple(checker(case, prepared.context)) if checker else ()
            reason = _reason(unmet, prepared.no_policy, prepared.policy_id) if unmet else None
            if unmet and self.options.strict:
                return Rendered(index, NOT_MET, unmet=unmet, reason=reason,
                                policy=prepared.policy_id,
                                seconds=time.perf_counter() - started)
            letter = self.pipeline.produce(prepared)
        except PriorAuthError as exc:
            return Rendered(index, ERROR, error=str(exc), seconds=time.perf_counter() - started)
        except Exception as exc:  # a bug: keep going, say where to look, echo no data
            return Rendered(index, ERROR, error=f"internal error ({type(exc).__name__}); render "
                            "this record alone with 'priorauth render' to see the traceback",
                            seconds=time.perf_counter() - started)
        return Rendered(index, NOT_MET if unmet else RENDERED, data=letter.data,
                        pages=letter.pages, unmet=unmet, reason=reason,
                        warnings=tuple(w.path for w in letter.warnings),
                        template=letter.template, policy=letter.policy_id,
                        seconds=time.perf_counter() - started)


def _reason(unmet: Sequence[Unmet], no_policy: str | None, policy_id: str | None) -> str:
    if no_policy is not None and any(u.label == NO_POLICY_MESSAGE for u in unmet):
        return no_policy
    where = f" of policy {policy_id}" if policy_id else ""
    denial = sum(u.id.startswith("denial.") for u in unmet)
    criteria = len(unmet) - denial
    parts = [f"{criteria} criteria{where} not met or unknown"] if criteria else []
    if denial:
        parts.append(f"{denial} stated denial reason{'s' if denial != 1 else ''} not answered")
    return "; ".join(parts)


_cached: tuple[_Options, _Worker] | None = None


def warm_worker(options: _Options) -> _Worker:
    """This process's warm worker for ``options`` (built and warmed on first use)."""
    global _cached
    if _cached is None or _cached[0] != options:
        worker = _Worker(options)
        worker.warm()
        _cached = (options, worker)
    return _cached[1]


def render_chunk(options: _Options, chunk: Sequence[tuple[int, Case]]) -> list[Rendered]:
    """The task every executor runs: render ``(index, case)`` pairs with this process's warm
    worker. Module-level, so it pickles by name (process pools, Dask)."""
    worker = warm_worker(options)
    return [worker.render(index, case) for index, case in chunk]


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
    """Initializer of the local pool's processes: die with the batch, leave Ctrl-C to it,
    warm up before the first record arrives."""
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the batch process to handle
    warm_worker(options)

