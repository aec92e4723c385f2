"""The ``priorauth`` command: a thin shell over the library, one module per command group.

Exit codes (README, "Exit codes"; :class:`priorauth.errors.ExitCode`): 0 ok; 1 criteria not met /
some records failed; 2 invalid input or usage; 70 internal error (please report).
"""

from __future__ import annotations

import os
import sys
from typing import Any

# The CLI uses no pydantic plugin; looking them up (entry points) costs ~20 ms of every start.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import click

from priorauth import __version__
from priorauth.cli._common import handle_errors


class _Main(click.Group):
    """The root group: every command, however deeply nested, runs inside one error handler."""

    def invoke(self, ctx: click.Context) -> Any:
        def run() -> Any:
            result = super(_Main, self).invoke(ctx)
            sys.stdout.flush()  # a full or closed stdout is an error here, not at exit
            return result

        return handle_errors(run)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="priorauth")
@click.option("--redact", is_flag=True, envvar="PRIORAUTH_REDACT",
              help="Never echo field values in messages "
                   "(default: values are shown only on a terminal).")
@click.option("--debug", is_flag=True, envvar="PRIORAUTH_DEBUG",
              help="Show the traceback of an internal error.")
def main(redact: bool, debug: bool) -> None:
    """Prior-authorization letters for IV ketamine infusion, built from the patient's record.

    \b
    Start with:  priorauth validate CASE.yaml
                 priorauth check CASE.yaml
                 priorauth render CASE.yaml -o letter.pdf
    Exit codes:  0 ok, 1 criteria not met / some records failed, 2 invalid input or usage,
                 70 internal error (please report).
    """


def _register() -> None:
    from priorauth.cli.batch import batch
    from priorauth.cli.case import check, init, schema, validate
    from priorauth.cli.evidence import evidence
    from priorauth.cli.fhir import fhir
    from priorauth.cli.pas import pas
    from priorauth.cli.render import render
    from priorauth.cli.templates import templates
    from priorauth.cli.track import track

    for command in (validate, check, render, batch, fhir, pas, evidence, templates, schema,
                    init, track):
        main.add_command(command)


_register()

if __name__ == "__main__":  # pragma: no cover
    main()
