"""What every command shares: the one error handler, message helpers and common options.

The CLI is the only layer that prints or picks exit codes. Messages and progress go to stderr so
``-o -`` can stream a letter on stdout. A value from the record appears in a message only on an
interactive terminal without ``--redact`` / ``PRIORAUTH_REDACT``.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from priorauth.errors import CaseInvalid, ExitCode, PriorAuthError, Problem, ReferenceDataError

F = TypeVar("F", bound=Callable[..., Any])

REPORT_BUGS = ("please report it to the priorauth maintainers with the command you ran "
               "(never with patient data)")


def root_param(name: str) -> Any:
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().params.get(name) if ctx is not None else None


def stderr_is_terminal() -> bool:
    """Whether a person is reading stderr (tests pretend one is, to check --redact alone)."""
    return sys.stderr.isatty()


def show_values() -> bool:
    """Echo offending values (possible PHI) only to an interactive terminal, never with --redact."""
    return not root_param("redact") and stderr_is_terminal()


def fail(message: str, code: ExitCode = ExitCode.INVALID) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    click.secho(f"error: {message}", err=True, fg="red")
    sys.exit(code)


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


def echo_warnings(warnings: list[str] | tuple[str, ...]) -> None:
    for warning in warnings:
        click.secho(f"  warning: {warning}", err=True, fg="yellow")


def echo_record_warnings(warnings: list[Problem] | tuple[Problem, ...]) -> None:
    """Record warnings: field path and message; the values behind them only where
    :func:`show_values` allows."""
    reveal = show_values()
    echo_warnings([warning.format(show_value=reveal) for warning in warnings])


def glyph_warnings(case: Any) -> list[str]:
    """Characters no letter font draws (they would print as empty boxes)."""
    from priorauth.letter.glyphs import missing_glyphs

    return [glyph.message() for glyph in missing_glyphs(case)]


def handle_errors(invoke: Callable[[], Any]) -> Any:
    """The one handler for every command: input errors exit 2 with a message, broken bundled
    data and bugs exit 70 with a one-line "please report" (the traceback only with --debug)."""
    try:
        return invoke()
    except CaseInvalid as exc:
        echo_invalid(exc, " to fix:")
        sys.exit(ExitCode.INVALID)
    except PriorAuthError as exc:
        fail(str(exc))
    except ReferenceDataError as exc:
        _internal(f"priorauth's bundled reference data is broken ({exc}); reinstall "
                  f"priorauth, and if that does not help, {REPORT_BUGS}")
    except OSError as exc:  # a folder that is a file, a full disk: the setting, not a bug
        where = f" {exc.filename}" if exc.filename else ""
        fail(f"cannot write or read{where}: {exc.strerror or exc}")
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:  # a bug: say so in one line, never as "criteria not met"
        _internal(f"internal error ({type(exc).__name__}); {REPORT_BUGS} "
                  "(run again with --debug for the details)")


def _internal(message: str) -> NoReturn:
    if root_param("debug"):
        traceback.print_exc()
    click.secho(f"error: {message}", err=True, fg="red")
    sys.exit(ExitCode.INTERNAL)


def templates_dir_option(command: F) -> F:
    """``--templates-dir DIR`` (repeatable); ``PRIORAUTH_TEMPLATES`` folders come after them."""
    return click.option(
        "--templates-dir", "templates_dirs", multiple=True,
        type=click.Path(path_type=Path, file_okay=False, exists=True),
        help="Folder of template overrides, searched before PRIORAUTH_TEMPLATES folders and "
             "the bundled templates (repeatable).")(command)


def search_dirs(templates_dirs: tuple[Path, ...]) -> list[Path]:
    from priorauth.letter.templates import env_templates_dirs

    return [*templates_dirs, *env_templates_dirs()]
