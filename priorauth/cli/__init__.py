"""The ``priorauth`` command: a thin shell over the library.

This is the only module that prints or chooses exit codes. Exit codes (documented in the README):
0 success; 1 criteria not met / some records failed; 2 invalid input, template or usage.
Messages and progress go to stderr so that ``-o -`` can stream a PDF on stdout.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from priorauth import __version__
from priorauth.case.parse import load_case
from priorauth.errors import CaseInvalid, PriorAuthError, Problem

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


def echo_invalid(exc: CaseInvalid, trailer: str = "") -> None:
    """``case.yaml: 3 problems`` and then each problem, on stderr."""
    count = len(exc.problems)
    click.secho(f"{exc.source or 'case'}: {count} problem{'s' if count != 1 else ''}{trailer}",
                err=True, fg="red", bold=True)
    echo_problems(exc.problems)


def friendly_errors(command: F) -> F:
    """Turn user errors into a message and exit code 2; real bugs keep their traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CaseInvalid as exc:
            echo_invalid(exc, " to fix:")
            sys.exit(EXIT_INVALID)
        except PriorAuthError as exc:
            click.secho(f"error: {exc}", err=True, fg="red")
            sys.exit(EXIT_INVALID)
        except OSError as exc:  # a folder that is a file, a full disk: the setting, not a bug
            where = f" {exc.filename}" if exc.filename else ""
            click.secho(f"error: cannot write or read{where}: {exc.strerror or exc}",
                        err=True, fg="red")
            sys.exit(EXIT_INVALID)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="priorauth")
@click.option("--redact", is_flag=True, envvar="PRIORAUTH_REDACT",
              help="Never echo field values in messages "
                   "(default: values are shown only on a terminal).")
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
            loaded = load_case(path)
        except CaseInvalid as exc:
            failed += 1
            echo_invalid(exc)
        else:
            click.secho(f"{path}: valid", err=True, fg="green")
            echo_warnings(loaded)
    if failed:
        sys.exit(EXIT_INVALID)


def echo_warnings(case: Any) -> None:
    """Record warnings (class disagreeing with the catalogue, ICD description) on stderr."""
    from priorauth.policy.checks import record_warnings

    for warning in record_warnings(case):
        click.secho(f"  warning: {warning.path}: {warning.message}", err=True, fg="yellow")
    from priorauth.letter.glyphs import missing_glyphs

    for glyph in missing_glyphs(case):  # characters that would print as empty boxes
        click.secho(f"  warning: {glyph.message()}", err=True, fg="yellow")


@main.command()
@click.argument("case", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--policy", "policy_id", metavar="ID",
              help="Policy id (see `priorauth check --list-policies`) or a policy YAML file. "
                   "Default: the bundled policy for the diagnosis.")
@click.option("--brief", is_flag=True, help="Only the verdicts, not the facts behind them.")
@click.option("--list-policies", is_flag=True, is_eager=True, expose_value=False,
              callback=lambda ctx, _param, value: _list_policies(ctx) if value else None,
              help="List the bundled policies and exit.")
@friendly_errors
def check(case: Path, policy_id: str | None, brief: bool) -> None:
    """Checklist: is each criterion of the payer policy met, not met or unknown, and why.

    Exit 0 when every criterion is met, 1 otherwise, 2 for invalid input.
    """
    from priorauth.policy.checks import check_case, report_lines

    report = check_case(load_case(case), policy_id)
    colours = {"met": "green", "not met": "red", "unknown": "yellow"}
    for line, verdict in report_lines(report, details=not brief):
        click.secho(line, fg=colours.get(verdict or ""))
    sys.exit(EXIT_OK if report.all_met else EXIT_NOT_MET)


def _list_policies(ctx: click.Context) -> None:
    from priorauth.policy.spec import bundled_policies

    for policy in bundled_policies().values():
        click.echo(f"{policy.id}\t{', '.join(p + '-' for p in policy.applies_to)}\t"
                   f"{policy.title}")
    ctx.exit(EXIT_OK)


@main.group()
def evidence() -> None:
    """The evidence library a letter cites (ids for a case's `evidence:` list)."""


@evidence.command("list")
@click.option("--indication", help="Only entries for this indication (e.g. migraine, crps).")
def evidence_list(indication: str | None) -> None:
    """List the library: id, citation, design and size, summary."""
    from priorauth.reference.evidence import library

    for entry in library().values():
        if indication and indication not in entry.indications:
            continue
        click.secho(entry.id, bold=True)
        click.echo(f"  {entry.citation}")
        click.echo(f"  {entry.design_line}. {entry.summary}")
        click.echo(f"  indications: {', '.join(entry.indications)}; "
                   f"verified against: {entry.verified_against}")


@main.command()
def init() -> None:
    """Print a commented starter case file (redirect it: priorauth init > case.yaml)."""
    from importlib.resources import files

    click.echo(files("priorauth.reference").joinpath("starter-case.yaml").read_text("utf-8"),
               nl=False)


@main.command()
def schema() -> None:
    """Print the JSON Schema of a case file (for EHR export pipelines and editors)."""
    from priorauth.case.model import Case

    click.echo(json.dumps(Case.model_json_schema(by_alias=True), indent=2))


def templates_dir_option(command: F) -> F:
    """``--templates-dir DIR`` (repeatable); ``PRIORAUTH_TEMPLATES`` folders come after them."""
    return click.option(
        "--templates-dir", "templates_dirs", multiple=True,
        type=click.Path(path_type=Path, file_okay=False, exists=True),
        help="Folder of template overrides, searched before PRIORAUTH_TEMPLATES folders and "
             "the bundled templates (repeatable).")(command)


@main.command()
@click.argument("case", type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, allow_dash=True),
              help="Where to write the PDF ('-' = stdout). Default: CASE name with .pdf.")
@click.option("--html", "as_html", is_flag=True, help="Write the letter's HTML instead of a PDF.")
@click.option("--template", default=None,
              help="Template name. Default: by letter.kind (initial → letter, appeal → appeal, "
                   "peer_to_peer → peer-to-peer) and the payer rules of priorauth-templates.yaml.")
@templates_dir_option
@click.option("--fax-cover", is_flag=True,
              help="Put a fax cover sheet (with the real page count) in front of the letter.")
@click.option("--pdf-a/--no-pdf-a", "pdf_a", default=True, show_default=True,
              help="Archival PDF/A-3b with the case embedded as case.json.")
@click.option("--tagged", is_flag=True, help="Tagged PDF (structure for screen readers).")
@click.option("--from", "source_format", type=click.Choice(["case", "fhir"]), default="case",
              show_default=True,
              help="CASE is a case file, or a FHIR R4 Bundle / Bulk Data folder.")
@click.option("--patient", help="With --from fhir: the Patient resource id to render.")
@click.option("--policy", "policy_id", metavar="ID",
              help="Payer policy for the 'criteria addressed' section (default: by diagnosis).")
@click.option("--strict", is_flag=True,
              help="Refuse to render (exit 1) when a criterion is not met or unknown.")
@friendly_errors
def render(case: Path, output: Path | None, as_html: bool, template: str | None,
           templates_dirs: tuple[Path, ...], fax_cover: bool = False, pdf_a: bool = True,
           tagged: bool = False, source_format: str = "case",
           patient: str | None = None, policy_id: str | None = None,
           strict: bool = False) -> None:
    """Render a case file into a letter of medical necessity (PDF).

    Criteria the record does not meet are never stated as met: they are left out of the letter
    and listed on stderr; with --strict nothing is written and the exit code is 1.
    """
    from priorauth.letter.render import Renderer
    from priorauth.output import write_output

    if source_format == "fhir":  # every TODO the import leaves is a problem (exit 2)
        from priorauth.fhir import import_case

        loaded = import_case(case, patient).case()
    else:
        loaded = load_case(case)
    from priorauth.letter.templates import env_templates_dirs

    renderer = Renderer(template=template,
                        templates_dirs=[*templates_dirs, *env_templates_dirs()])
    if output is None:
        if str(case) == "-":
            raise click.UsageError("reading the case from stdin: say where the PDF goes with -o")
        output = Path(case.stem + (".html" if as_html else ".pdf"))
    if as_html and fax_cover:
        raise click.UsageError("--fax-cover needs a PDF (the cover counts the letter's pages)")
    from priorauth.letter.context import build_context

    context = build_context(loaded, policy_id)
    echo_warnings(loaded)
    if context.check is not None and not context.check.all_met:
        unmet = context.check.unmet
        click.secho(f"{len(unmet)} criteria of policy {context.check.policy.id} not met or "
                    "unknown (left out of the letter; `priorauth check` explains):", err=True,
                    fg="yellow")
        for result in unmet:
            click.secho(f"  [{result.verdict.value}] {result.label}: {result.summary}", err=True,
                        fg="yellow")
        if strict:
            click.secho("--strict: not rendering a case that does not meet the policy", err=True,
                        fg="red")
            sys.exit(EXIT_NOT_MET)
    data = renderer.html(loaded, context).encode() if as_html else \
        renderer.pdf(loaded, context, pdf_a=pdf_a, tagged=tagged, fax_cover=fax_cover)
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
    from priorauth.fhir import import_case, iter_cases
    from priorauth.output import ensure_dir, write_output

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


# --- templates ------------------------------------------------------------------------------


@main.group()
def templates() -> None:
    """Tools for template authors: list, vars, lint, preview (see docs/templates.md)."""


def _search_dirs(templates_dirs: tuple[Path, ...]) -> list[Path]:
    from priorauth.letter.templates import env_templates_dirs

    return [*templates_dirs, *env_templates_dirs()]


@templates.command("list")
@templates_dir_option
@friendly_errors
def templates_list(templates_dirs: tuple[Path, ...]) -> None:
    """List templates (override folders first, then bundled) with their descriptions."""
    from priorauth.authoring import list_templates

    for info in list_templates(_search_dirs(templates_dirs)):
        origin = "bundled" if info.bundled else str(info.path.parent)
        shadowed = "  (hidden by an override)" if info.overrides else ""
        click.echo(f"{info.name:<20} {origin}{shadowed}")
        if info.description:
            click.echo(f"    {info.description}")


@templates.command("vars")
@click.option("--markdown", is_flag=True, help="Print docs/template-variables.md instead.")
def templates_vars(markdown: bool) -> None:
    """The variables a template may use, with types and descriptions."""
    from priorauth.authoring import template_variable_list, variables_markdown

    if markdown:
        click.echo(variables_markdown(), nl=False)
        return
    for var in template_variable_list():
        click.echo(f"{var.path:<58} {var.type}")
        if var.description:
            click.echo(f"    {var.description}")


@templates.command("lint")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@templates_dir_option
@friendly_errors
def templates_lint(folder: Path, templates_dirs: tuple[Path, ...]) -> None:
    """Check a template folder: syntax, variables, filters, blocks, assets (exit 1 on any)."""
    from priorauth.authoring import lint

    problems = lint(folder, _search_dirs(templates_dirs))
    for problem in problems:
        click.secho(problem.format(), err=True, fg="red")
    if problems:
        count = len(problems)
        click.secho(f"{folder}: {count} problem{'s' if count != 1 else ''}", err=True,
                    fg="red", bold=True)
        sys.exit(EXIT_NOT_MET)
    click.secho(f"{folder}: ok", err=True, fg="green")


@templates.command("preview")
@click.argument("name")
@click.option("--case", "case_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Case to render (default: the bundled synthetic sample).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the preview. Default: NAME-preview.pdf.")
@click.option("--html", "as_html", is_flag=True, help="Write HTML instead of a PDF.")
@click.option("--watch", is_flag=True,
              help="Re-render whenever a file of the override folders (or the case) is saved.")
@click.option("--interval", type=float, default=0.5, show_default=True, hidden=True)
@click.option("--max-renders", type=int, default=None, hidden=True)
@templates_dir_option
@friendly_errors
def templates_preview(name: str, case_path: Path | None, output: Path | None, as_html: bool,
                      watch: bool, interval: float, max_renders: int | None,
                      templates_dirs: tuple[Path, ...]) -> None:
    """Render template NAME with the sample case; print how long it took."""
    from priorauth.authoring import preview, watched_files
    from priorauth.authoring import watch as watch_loop
    from priorauth.errors import PriorAuthError as Failure

    dirs = _search_dirs(templates_dirs)
    target = output or Path(f"{name}-preview.{'html' if as_html else 'pdf'}")

    def once() -> Any:
        return preview(name, target, case_path, dirs, html=as_html)

    def report(result: Any) -> None:
        if isinstance(result, Failure):
            click.secho(f"error: {result}", err=True, fg="red")
            return
        pages = f", {result.pages} page{'s' if result.pages != 1 else ''}" if result.pages else ""
        click.secho(f"rendered {result.output} in {result.seconds:.2f} s{pages}", err=True,
                    fg="green")

    if not watch:
        report(once())
        return
    click.secho("watching for changes (Ctrl-C to stop)", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        watch_loop(once, lambda: watched_files(dirs, case_path), report, interval=interval,
                   max_renders=max_renders)


from priorauth.cli.batch import batch as _batch  # noqa: E402  (uses the helpers defined above)

main.add_command(_batch)


if __name__ == "__main__":  # pragma: no cover
    main()
