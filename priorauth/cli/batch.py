"""``priorauth batch``: the command-line shell over :func:`priorauth.batch.render_many`.

Registered on the main group by :mod:`priorauth.cli`. Prints only to stderr: a progress bar on a
terminal, the failed records (field paths and messages, never values), one summary line.
"""

from __future__ import annotations

import datetime as dt
import signal
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from priorauth import __version__
from priorauth.errors import ExitCode, PriorAuthError

if TYPE_CHECKING:
    from priorauth.batch import RecordResult
    from priorauth.track import Ledger

MAX_LISTED = 20
"""Failed records listed on stderr; the report lists them all."""


class ProgressBar:
    """``[#####.....]  120/200  60%  9.6/s  ETA 0:08`` redrawn in place on a terminal."""

    def __init__(self, total: int | None, stream: IO[str], enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.done = 0
        self.started = time.perf_counter()
        self._drawn = 0.0
        self._width = 0

    def advance(self) -> None:
        self.done += 1
        now = time.perf_counter()
        if now - self._drawn >= 0.1 or self.done == self.total:
            self._drawn = now
            self.draw()

    def text(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.done / elapsed
        if not self.total:
            return f"{self.done} done  {rate:.1f}/s"
        share = min(self.done / self.total, 1.0)
        filled = int(share * 24)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (f"[{'#' * filled}{'.' * (24 - filled)}] {self.done}/{self.total} "
                f"{share:4.0%}  {rate:.1f}/s  ETA {int(eta) // 60}:{int(eta) % 60:02d}")

    def draw(self) -> None:
        if not self.enabled:
            return
        text = self.text()
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def clear(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def _describe(result: RecordResult) -> list[str]:
    head = f"{result.source}" + (f" ({result.id})" if result.id else "") + f": {result.status}"
    if result.status == "invalid":
        count = len(result.problems)
        lines = [f"{head}, {count} problem{'s' if count != 1 else ''}:"]
        lines += [f"  {p.path or '(case)'}: {p.message}"
                  + (f" (line {p.line})" if p.line is not None else "") for p in result.problems]
        return lines
    if result.status == "criteria-not-met":
        if result.reason and any(u.id == "policy" for u in result.unmet):
            return [f"{head}: {result.reason}"]
        return [f"{head}: " + ", ".join(f"{u.id} ({u.verdict})" for u in result.unmet)]
    return [f"{head}: {result.error}"]


@click.command()
@click.argument("inputs", nargs=-1, required=True,
                type=click.Path(path_type=Path, exists=True, allow_dash=True))
@click.option("-o", "--output", "outdir", required=True,
              type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the PDFs (created, mode 0700).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes. Default: all cores, at most one per record (one record "
                   "renders in this process).")
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write a JSON report of every record (no patient data beyond case ids).")
@click.option("--resume", is_flag=True,
              help="Skip records whose PDF from an earlier run matches the input.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no per-record lines.")
@click.option("--template", default=None, help="Template name. Default: by letter.kind.")
@click.option("--templates-dir", "templates_dirs", multiple=True,
              type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Folder of template overrides (repeatable).")
@click.option("--policy", "policy_id", metavar="ID",
              help="Payer policy for every case (default: by diagnosis).")
@click.option("--strict", is_flag=True,
              help="Do not render records that do not meet the policy (still criteria-not-met).")
@click.option("--track", is_flag=True,
              help="Record every PDF written in the tracking ledger (see `priorauth track`); "
                   "records without a case id are not recorded.")
@click.option("--track-db", metavar="PATH|URL",
              help="With --track: the ledger (default: PRIORAUTH_TRACK_DB, else the data "
                   "folder).")
@click.option("--channel", type=click.Choice(["fax", "portal", "mail", "email", "other"]),
              default="other", show_default=True, help="With --track: how the letters go out.")
def batch(inputs: tuple[Path, ...], outdir: Path, jobs: int | None, report_path: Path | None,
          resume: bool, quiet: bool, template: str | None, templates_dirs: tuple[Path, ...],
          policy_id: str | None, strict: bool, track: bool = False,
          track_db: str | None = None, channel: str = "other") -> None:
    """Render many cases into OUTPUT on all cores.

    INPUTS: case files, folders of them, NDJSON files (one case per line) and '-' (NDJSON on
    stdin). PDFs are named after the case id (else the file name or NDJSON line number).
    Records that do not meet the payer policy are rendered but reported as criteria-not-met.

    Exit 0 when every record was rendered, 1 when some were invalid, did not meet the
    criteria or failed, 2 on a usage error.
    """
    from priorauth.batch import (
        BatchSummary,
        ReportWriter,
        count_records,
        default_jobs,
        render_many,
    )
    from priorauth.letter.templates import env_templates_dirs

    if sum(str(p) == "-" for p in inputs) > 1:
        raise click.UsageError("'-' (stdin) can be given only once")
    if report_path is not None:
        _check_report_path(report_path, outdir)
    dirs = [*templates_dirs, *env_templates_dirs()]
    try:
        report = ReportWriter(report_path) if report_path is not None else None
    except OSError as exc:
        raise click.BadParameter(f"cannot write there ({exc.strerror or exc})",
                                 param_hint="--report") from None
    if track_db and not track:
        raise click.UsageError("--track-db goes with --track")
    ledger = None
    if track:  # open (and migrate) it before any work: a bad ledger is exit 2
        from priorauth.track import Ledger

        ledger = Ledger(track_db)
    untracked = 0
    total = count_records(inputs)
    if jobs is None:  # small batches do not pay for workers they cannot use
        jobs = default_jobs(total)
    bar = ProgressBar(total, sys.stderr, enabled=not quiet and sys.stderr.isatty())
    summary = BatchSummary()
    settings = {"priorauth": __version__, "template": template or "by letter kind",
                "policy": policy_id or "by diagnosis", "strict": strict, "outdir": str(outdir),
                "jobs": jobs, "resume": resume,
                "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    listed = 0
    stopped: ExitCode | None = None
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        for result in render_many(inputs, outdir, jobs=jobs, resume=resume, template=template,
                                  templates_dirs=dirs, policy=policy_id, strict=strict):
            summary.add(result)
            if ledger is not None and result.output is not None and not result.resumed:
                untracked += _track(ledger, result, channel)
            if report is not None:
                report.add(result)
            if not result.ok and not quiet:
                listed += 1
                if listed <= MAX_LISTED:
                    bar.clear()
                    for line in _describe(result):
                        click.secho(line, err=True, fg="red" if result.status != "criteria-not-met"
                                    else "yellow")
            bar.advance()
    except PriorAuthError:  # the batch could not start: folder in use, bad template...
        bar.clear()
        if report is not None:
            report.abort()
        raise
    except (KeyboardInterrupt, _Terminated) as exc:
        stopped = ExitCode.TERMINATED if isinstance(exc, _Terminated) else ExitCode.INTERRUPTED
    except BaseException:
        bar.clear()
        if report is not None:
            report.abort()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        if ledger is not None:
            ledger.close()
    bar.clear()
    if untracked:
        click.secho(f"warning: {untracked} letters have no case id and were not recorded in "
                    "the ledger (add `id:` to the case)", err=True, fg="yellow")
    if listed > MAX_LISTED:
        click.secho(f"... and {listed - MAX_LISTED} more records that were not rendered"
                    + (f"; see {report_path}" if report_path else ""), err=True, fg="red")
    finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if report is not None:
        report.close(summary, **settings, finished=finished,
                     interrupted=_SIGNAL_NAMES.get(stopped) if stopped else None)
    if stopped is not None:
        click.secho(f"stopped after {summary.total} records ({summary.line()}); run again with "
                    "--resume to finish" + (f"; report: {report_path}" if report_path else ""),
                    err=True, fg="red")
        sys.exit(stopped)
    click.secho(f"batch: {summary.line()} -> {outdir}"
                + (f"; report: {report_path}" if report_path else ""), err=True,
                fg="green" if summary.ok else "yellow")
    sys.exit(ExitCode.OK if summary.ok else ExitCode.NOT_MET)


def _track(ledger: Ledger, result: RecordResult, channel: str) -> int:
    """Record one written PDF; 1 when it has no case id (and so cannot be recorded)."""
    from priorauth.track import record_sent

    if result.sent is None or not result.sent.case_id or result.sha256 is None:
        return 1
    record_sent(ledger, result.sent, result.sha256, channel=channel)
    return 0


_SIGNAL_NAMES = {ExitCode.TERMINATED: "SIGTERM", ExitCode.INTERRUPTED: "SIGINT"}


class _Terminated(BaseException):
    """SIGTERM, as schedulers (cron wrappers, Airflow, Kubernetes) send it."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated()


def _check_report_path(report: Path, outdir: Path) -> None:
    """A report inside the output folder must not take a name the batch writes (a PDF, the
    manifest, the lock): the batch would overwrite it, or clean it up as a leftover."""
    from priorauth.batch.manifest import LOCK_NAME, MANIFEST_NAME

    if str(report) == "-":
        return
    try:
        inside = report.resolve().parent == outdir.resolve()
    except OSError:
        return
    if inside and (report.suffix.lower() == ".pdf" or report.name in (MANIFEST_NAME, LOCK_NAME)):
        raise click.BadParameter(f"{report.name} is a name the batch itself writes in {outdir}; "
                                 "choose another name (e.g. report.json)", param_hint="--report")
