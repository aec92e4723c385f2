"""``priorauth fhir``: FHIR R4 Bundle / Bulk Data folder -> draft case files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from priorauth.cli.machine import emit, emit_lines, format_option
from priorauth.errors import ExitCode


def _emit_reports(results: list[Any], targets: list[Path], output_format: str) -> None:
    """The import reports on stdout, each missing or invalid field as a coded problem."""
    documents = []
    for result, target in zip(results, targets, strict=True):
        report = result.report
        problems = [{"code": "fhir.todo", "path": m.field, "line": None,
                     "severity": "error" if m.needed_by == "case file" else "warning",
                     "message": f"{m.reason} [{m.needed_by}]"} for m in report.missing]
        problems += [{"code": "fhir.invalid", "severity": "error", "path": i.field or "",
                      "line": None, "message": f"{i.message} (from {i.source})"}
                     for i in report.invalid]
        documents.append({"kind": "patient", "output": str(target), "complete": report.complete,
                          "problems": problems, "report": report.to_dict()})
    if output_format == "json":
        emit({"command": "fhir", "complete": all(d["complete"] for d in documents),
              "patients": documents})
    else:
        emit_lines(documents)


@click.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, allow_dash=True),
              help="Case file to write ('-' = stdout, the default); a folder for many patients.")
@click.option("--patient", help="Import only the Patient with this resource id.")
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the import report as JSON (resource ids and field paths only).")
@format_option
def fhir(source: Path, output: Path | None, patient: str | None,
         report_path: Path | None, output_format: str) -> None:
    """Import a FHIR R4 Bundle (JSON) or Bulk Data folder (NDJSON) into draft case files.

    \b
    Prints the import report on stderr: fields filled (and their source resource), fields a
    human must still fill in (TODO in the YAML), invalid values, ignored resources.
    Exit 0 when every case is complete, 1 when some still need a human, 2 for unreadable input.
    With --format json|ndjson the report goes to stdout instead (write the case with -o).
    """
    from priorauth.fhir import import_case, iter_cases
    from priorauth.output import ensure_dir, write_output

    if output_format != "text" and (output is None or str(output) == "-"):
        raise click.BadParameter("with --format json or ndjson the report is on stdout; write "
                                 "the case with -o FILE (or a folder)", param_hint="--format")
    if patient or output is None or str(output) == "-" or output.suffix in (".yaml", ".yml"):
        results = [import_case(source, patient)]
        targets = [output or Path("-")]
    else:  # a folder: one case per patient
        results = list(iter_cases(source))
        ensure_dir(output)
        targets = [output / f"{r.data['id']}.yaml" for r in results]
    for result, target in zip(results, targets, strict=True):
        write_output(target, result.yaml().encode("utf-8"))
        complete = result.report.complete
        if output_format != "text":
            continue
        for number, line in enumerate(result.report.lines()):
            click.secho(line, err=True, fg=None if number else ("green" if complete else "yellow"))
        if str(target) != "-":
            click.secho(f"wrote {target}", err=True, fg="green")
    if report_path is not None:
        reports = [r.report.to_dict() for r in results]
        write_output(report_path, (json.dumps(reports[0] if len(reports) == 1 else reports,
                                              indent=2, default=str) + "\n").encode("utf-8"))
    if output_format != "text":
        _emit_reports(results, targets, output_format)
    if not all(r.report.complete for r in results):
        sys.exit(ExitCode.NOT_MET)
