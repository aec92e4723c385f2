"""What a batch reports: one :class:`RecordResult` per record, the :class:`BatchSummary`, and the
JSON report file (streamed, put in place atomically). No patient data beyond the case ``id``."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from priorauth.case.model import Case
from priorauth.case.plan import SentLetter
from priorauth.errors import NO_POLICY_MESSAGE, OutputError, Problem
from priorauth.output import FILE_MODE, ensure_dir

Status = Literal["rendered", "invalid", "criteria-not-met", "error"]
RENDERED: Status = "rendered"
INVALID: Status = "invalid"
NOT_MET: Status = "criteria-not-met"
ERROR: Status = "error"
STATUSES: tuple[Status, ...] = (RENDERED, INVALID, NOT_MET, ERROR)

REPORT_FORMAT = "priorauth-batch-report/1"


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
    reason: str | None = None
    """Why a ``criteria-not-met`` record is so (no policy applies, or how many criteria)."""
    error: str | None = None
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    """Field paths of record warnings (see ``priorauth validate`` for the messages)."""
    template: str | None = None
    """The template the letter was laid out with."""
    policy: str | None = None
    """The id of the payer policy the case was checked against."""
    sent: SentLetter | None = None
    """What ``batch --track`` records for a written PDF (never in the report)."""

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
        if self.reason:
            data["reason"] = self.reason
        if self.template:
            data["template"] = self.template
        if self.policy:
            data["policy"] = self.policy
        if self.error:
            data["error"] = self.error
        if self.warnings:
            data["warnings"] = list(self.warnings)
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
    templates: set[str] = field(default_factory=set)
    """Templates the letters were laid out with."""
    policies: set[str] = field(default_factory=set)
    """Payer policies the cases were checked against."""
    warnings: int = 0
    """Records with warnings."""

    def add(self, result: RecordResult) -> None:
        self.counts[result.status] += 1
        self.resumed += result.resumed
        self.pages += result.pages or 0
        self.templates.update([result.template] if result.template else [])
        self.policies.update([result.policy] if result.policy else [])
        self.warnings += bool(result.warnings)
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
                "pages": self.pages, "seconds": round(self.seconds, 3),
                "with_warnings": self.warnings, "templates_used": sorted(self.templates),
                "policies_used": sorted(self.policies)}


# --- the policy check hook -------------------------------------------------------------------

Checker = Callable[[Case, Any], Sequence[Unmet]]
"""``checker(case, letter_context) -> unmet criteria`` (empty: all met). Runs in the workers, so a
custom checker must be a module-level function (picklable)."""

NO_POLICY = Unmet("policy", "unknown", NO_POLICY_MESSAGE)


def policy_checker(case: Case, context: Any) -> list[Unmet]:
    """The default check: the payer policy :mod:`priorauth.policy.checks` chose for the letter.

    The letter context already holds the checklist (``build_context`` runs ``check_case``), so
    nothing is evaluated twice. No applicable policy counts as not met: a person should look.
    """
    report = getattr(context, "check", None)
    if report is None:
        return [NO_POLICY]
    return [Unmet(str(r.id), str(getattr(r.verdict, "value", r.verdict)), str(r.label))
            for r in report.unmet] + [
        Unmet(f"denial.{s.code}", "not answered", f"{s.label}: fill {s.field}")
        for s in getattr(context, "appeal_status", ()) if not s.ok]



# --- the JSON report -------------------------------------------------------------------------

class ReportWriter:
    """Streams the JSON report to a temporary file; :meth:`close` puts it in place atomically.

    ``{"format": ..., "records": [...], "summary": {...}}`` — one record per input record, in
    input order, with no patient data beyond the case ``id``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._temp: Path | None = None
        if str(self.path) == "-" or _special(self.path):  # a device, FIFO or link: stream into it
            fd = os.dup(1) if str(self.path) == "-" else os.open(self.path, os.O_WRONLY)
            self._handle = os.fdopen(fd, "w", encoding="utf-8")
        else:
            folder = self.path.parent if str(self.path.parent) else Path(".")
            ensure_dir(folder)
            # Another batch may be writing this report right now: its temporary file is its
            # own (a unique name), never deleted here.
            fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".report.part",
                                        dir=folder)
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
        if self._temp is None:
            self._handle.close()
            return
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._temp, self.path)

    def abort(self) -> None:
        self._handle.close()
        if self._temp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._temp.unlink()


def _special(path: Path) -> bool:
    """An existing path that is not a regular file or folder (``/dev/stdout``, a FIFO)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    if stat.S_ISDIR(mode):
        raise OutputError(f"--report {path} is a folder; give the name of a file to write")
    return not stat.S_ISREG(mode)

