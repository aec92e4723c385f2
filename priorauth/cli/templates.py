"""``priorauth templates``: tools for template authors (list, vars, lint, dump, preview,
serve)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from priorauth.cli._common import search_dirs, templates_dir_option
from priorauth.errors import ExitCode


@click.group()
def templates() -> None:
    """Tools for template authors: list, vars, lint, dump, preview, serve (docs/templates.md)."""


@templates.command("list")
@templates_dir_option
def templates_list(templates_dirs: tuple[Path, ...]) -> None:
    """List templates (override folders first, then bundled) with their descriptions."""
    from priorauth.authoring import list_templates

    for info in list_templates(search_dirs(templates_dirs)):
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
@click.option("--case", "case_paths", multiple=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Render every template with this case (repeatable). Default: the bundled "
                   "samples, full and with every optional field missing, and samples/*.yaml "
                   "of the current folder that validate.")
@templates_dir_option
def templates_lint(folder: Path, case_paths: tuple[Path, ...],
                   templates_dirs: tuple[Path, ...]) -> None:
    """Check a template folder: syntax, variables, filters, blocks, assets, and a render with
    each case (exit 1 on any problem; a bad --case is exit 2)."""
    from priorauth.authoring import lint

    problems = lint(folder, search_dirs(templates_dirs), case_paths)
    for problem in problems:
        click.secho(problem.format(), err=True, fg="red")
    if problems:
        count = len(problems)
        click.secho(f"{folder}: {count} problem{'s' if count != 1 else ''}", err=True,
                    fg="red", bold=True)
        sys.exit(ExitCode.NOT_MET)
    click.secho(f"{folder}: ok", err=True, fg="green")


@templates.command("dump")
@click.argument("case", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--template", default=None,
              help="Template name (default: the one `render` would use for CASE).")
@click.option("--policy", "policy_id", metavar="ID", help="Payer policy, as for `render`.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
              default="-", show_default=True, help="Where to write the JSON.")
@templates_dir_option
def templates_dump(case: Path, template: str | None, policy_id: str | None, output: Path,
                   templates_dirs: tuple[Path, ...]) -> None:
    """The exact variables a template receives for CASE, as JSON (record values included).

    Refused under --redact: the dump is the record. `templates vars` lists the same names
    without values.
    """
    import json

    from priorauth.authoring.dump import template_inputs
    from priorauth.case.parse import load_case
    from priorauth.cli._common import fail, root_param
    from priorauth.output import write_output

    if root_param("redact"):
        fail("templates dump writes the record's values, so it does not run with --redact; "
             "`priorauth templates vars` lists the variables without values")
    name, variables = template_inputs(load_case(case), template=template,
                                      templates_dirs=search_dirs(templates_dirs),
                                      policy=policy_id)
    text = json.dumps(variables, indent=2, ensure_ascii=False) + "\n"
    write_output(output, text.encode("utf-8"))
    click.secho(f"variables of template {name}", err=True)


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
def templates_preview(name: str, case_path: Path | None, output: Path | None, as_html: bool,
                      watch: bool, interval: float, max_renders: int | None,
                      templates_dirs: tuple[Path, ...]) -> None:
    """Render template NAME with the sample case; print how long it took."""
    from priorauth.authoring import preview, watched_files
    from priorauth.authoring import watch as watch_loop
    from priorauth.errors import PriorAuthError as Failure

    dirs = search_dirs(templates_dirs)
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


@templates.command("serve")
@click.option("--case", "case_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Case to show (default: the bundled synthetic sample).")
@click.option("--template", default=None, help="Template name (default: by letter.kind).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@templates_dir_option
def templates_serve(case_path: Path | None, template: str | None, port: int,
                    templates_dirs: tuple[Path, ...]) -> None:
    """Live preview in a browser: the letter as HTML, reloaded on every save.

    \b
    Serves on 127.0.0.1 only. Errors show in the page with file:line while the last good
    render stays visible; the PDF link renders the real PDF. Ctrl-C stops it.
    """
    from priorauth.authoring.serve import LivePreview

    preview = LivePreview(case_path=case_path, templates_dirs=search_dirs(templates_dirs),
                          template=template)
    url = preview.start(port)
    click.secho(f"live preview at {url} (Ctrl-C to stop)", err=True, fg="green")
    with contextlib.suppress(KeyboardInterrupt):
        preview.wait()
    preview.stop()
