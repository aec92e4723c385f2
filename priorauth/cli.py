"""The ``priorauth`` command: a thin shell over the library.

This is the only module that prints or chooses exit codes. Exit codes (documented in the README):
0 success; 1 criteria not met / some records failed; 2 invalid input, template or usage.
Messages and progress go to stderr so that ``-o -`` can stream a PDF on stdout.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import CaseInvalid, PriorAuthError, Problem
from .load import load_case

EXIT_OK = 0
EXIT_NOT_MET = 1
EXIT_INVALID = 2

F = TypeVar("F", bound=Callable[..., Any])


def show_values(ctx: click.Context | None = None) -> bool:
    """Echo offending values (possible PHI) only to an interactive terminal, never with --redact."""
    ctx = ctx or click.get_current_context(silent=True)
    redact = bool(ctx and ctx.find_root().params.get("redact"))
    return not redact and sys.stderr.isatty()


def echo_problems(problems: list[Problem]) -> None:
    reveal = show_values()
    for problem in problems:
        click.secho(f"  {problem.format(show_value=reveal)}", err=True, fg="red")


def friendly_errors(command: F) -> F:
    """Turn user errors into a message and exit code 2; real bugs keep their traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CaseInvalid as exc:
            count = len(exc.problems)
            click.secho(
                f"{exc.source or 'case'}: {count} problem{'s' if count != 1 else ''} to fix:",
                err=True, fg="red", bold=True,
            )
            echo_problems(exc.problems)
            sys.exit(EXIT_INVALID)
        except PriorAuthError as exc:
            click.secho(f"error: {exc}", err=True, fg="red")
            sys.exit(EXIT_INVALID)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="priorauth")
@click.option("--redact", is_flag=True, envvar="PRIORAUTH_REDACT",
              help="Never echo field values in messages (default: values are shown only on a terminal).")
def main(redact: bool) -> None:
    """Prior-authorization letters for IV ketamine infusion, built from the patient's record.

    \b
    Start with:  priorauth validate CASE.yaml
                 priorauth render CASE.yaml -o letter.pdf
    Exit codes:  0 ok, 1 criteria not met / some records failed, 2 invalid input or usage.
    """


@main.command()
@click.argument("cases", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@friendly_errors
def validate(cases: tuple[Path, ...]) -> None:
    """Check case files and list every problem (fast: renders nothing).

    Exit 0 when all are valid, 2 when any has a problem.
    """
    failed = 0
    for path in cases:
        try:
            load_case(path)
        except CaseInvalid as exc:
            failed += 1
            count = len(exc.problems)
            click.secho(f"{exc.source}: {count} problem{'s' if count != 1 else ''}",
                        err=True, fg="red", bold=True)
            echo_problems(exc.problems)
        else:
            click.secho(f"{path}: valid", err=True, fg="green")
    if failed:
        sys.exit(EXIT_INVALID)


@main.command()
def init() -> None:
    """Print a commented starter case file (redirect it: priorauth init > case.yaml)."""
    from importlib.resources import files

    click.echo(files("priorauth.reference").joinpath("starter-case.yaml").read_text("utf-8"),
               nl=False)


@main.command()
def schema() -> None:
    """Print the JSON Schema of a case file (for EHR export pipelines and editors)."""
    from .models import Case

    click.echo(json.dumps(Case.model_json_schema(by_alias=True), indent=2))


@main.command()
@click.argument("case", type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, allow_dash=True),
              help="Where to write the PDF ('-' = stdout). Default: CASE name with .pdf.")
@click.option("--html", "as_html", is_flag=True, help="Write the letter's HTML instead of a PDF.")
@click.option("--template", default="letter", show_default=True, help="Template name.")
@click.option("--templates-dir", "templates_dirs", multiple=True,
              type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Folder of template overrides, searched before the bundled templates.")
@click.option("--from", "source_format", type=click.Choice(["case", "fhir"]), default="case",
              show_default=True,
              help="CASE is a case file, or a FHIR R4 Bundle / Bulk Data folder.")
@click.option("--patient", help="With --from fhir: the Patient resource id to render.")
@friendly_errors
def render(case: Path, output: Path | None, as_html: bool, template: str,
           templates_dirs: tuple[Path, ...], source_format: str = "case",
           patient: str | None = None) -> None:
    """Render a case file into a letter of medical necessity (PDF)."""
    from .output import write_output
    from .render import Renderer

    if source_format == "fhir":  # every TODO the import leaves is a problem (exit 2)
        from .fhir import import_case

        loaded = import_case(case, patient).case()
    else:
        loaded = load_case(case)
    renderer = Renderer(template=template, templates_dirs=templates_dirs)
    if output is None:
        if str(case) == "-":
            raise click.UsageError("reading the case from stdin: say where the PDF goes with -o")
        output = Path(case.stem + (".html" if as_html else ".pdf"))
    data = renderer.html(loaded).encode() if as_html else renderer.pdf(loaded)
    write_output(output, data)
    if str(output) != "-":
        click.secho(f"wrote {output}", err=True, fg="green")


@main.command()
@click.argument("source", type=click.Path(path_type=Path, exists=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, allow_dash=True),
              help="Case file to write ('-' = stdout, the default); a folder for many patients.")
@click.option("--patient", help="Import only the Patient with this resource id.")
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the import report as JSON (resource ids and field paths only).")
@friendly_errors
def fhir(source: Path, output: Path | None, patient: str | None,
         report_path: Path | None) -> None:
    """Import a FHIR R4 Bundle (JSON) or Bulk Data folder (NDJSON) into draft case files.

    \b
    Prints the import report on stderr: fields filled (and their source resource), fields a
    human must still fill in (TODO in the YAML), invalid values, ignored resources.
    Exit 0 when every case is complete, 1 when some still need a human, 2 for unreadable input.
    """
    from .fhir import import_case, iter_cases
    from .output import ensure_dir, write_output

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
        for number, line in enumerate(result.report.lines()):
            click.secho(line, err=True, fg=None if number else ("green" if complete else "yellow"))
        if str(target) != "-":
            click.secho(f"wrote {target}", err=True, fg="green")
    if report_path is not None:
        reports = [r.report.to_dict() for r in results]
        write_output(report_path, (json.dumps(reports[0] if len(reports) == 1 else reports,
                                              indent=2, default=str) + "\n").encode("utf-8"))
    if not all(r.report.complete for r in results):
        sys.exit(EXIT_NOT_MET)


if __name__ == "__main__":  # pragma: no cover
    main()
