"""Commands about one case file: ``validate``, ``check``, ``schema`` and ``init``.

``validate`` never imports WeasyPrint (it must start nearly as fast as importing pydantic).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from priorauth.case.parse import load_case
from priorauth.cli._common import (
    echo_invalid,
    echo_record_warnings,
    echo_warnings,
    fail,
    glyph_warnings,
)
from priorauth.errors import CaseInvalid, ExitCode


@click.command()
@click.argument("cases", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
def validate(cases: tuple[Path, ...]) -> None:
    """Check case files and list every problem (fast: renders nothing).

    Exit 0 when all are valid, 2 when any has a problem.
    """
    from priorauth.policy.checks import record_warnings

    failed = 0
    for path in cases:
        try:
            loaded = load_case(path)
        except CaseInvalid as exc:
            failed += 1
            echo_invalid(exc)
        else:
            click.secho(f"{path}: valid", err=True, fg="green")
            echo_record_warnings(record_warnings(loaded))
            echo_warnings(glyph_warnings(loaded))
    if failed:
        sys.exit(ExitCode.INVALID)


def _list_policies(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value:
        return
    from priorauth.policy.spec import bundled_policies

    for policy in bundled_policies().values():
        click.echo(f"{policy.id}\t{', '.join(p + '-' for p in policy.applies_to)}\t"
                   f"{policy.title}")
    ctx.exit(ExitCode.OK)


@click.command()
@click.argument("case", type=click.Path(path_type=Path, allow_dash=True))
@click.option("--policy", "policy_id", metavar="ID",
              help="Policy id (see `priorauth check --list-policies`) or a policy YAML file. "
                   "Default: the bundled policy for the diagnosis.")
@click.option("--brief", is_flag=True, help="Only the verdicts, not the facts behind them.")
@click.option("--list-policies", is_flag=True, is_eager=True, expose_value=False,
              callback=_list_policies, help="List the bundled policies and exit.")
def check(case: Path, policy_id: str | None, brief: bool) -> None:
    """Checklist: is each criterion of the payer policy met, not met or unknown, and why.

    Exit 0 when every criterion is met, 1 otherwise, 2 for invalid input or when no policy
    applies to the diagnoses (name one with --policy).
    """
    from priorauth.letter.pipeline import LetterPipeline
    from priorauth.policy.checks import report_lines

    prepared = LetterPipeline(policy=policy_id).prepare(load_case(case))
    if prepared.check is None:
        fail(str(prepared.no_policy))
    colours = {"met": "green", "not met": "red", "unknown": "yellow"}
    for line, verdict in report_lines(prepared.check, details=not brief):
        click.secho(line, fg=colours.get(verdict or ""))
    sys.exit(ExitCode.OK if prepared.check.all_met else ExitCode.NOT_MET)


@click.command()
def init() -> None:
    """Print a commented starter case file (redirect it: priorauth init > case.yaml)."""
    from importlib.resources import files

    click.echo(files("priorauth.reference").joinpath("starter-case.yaml").read_text("utf-8"),
               nl=False)


@click.command()
def schema() -> None:
    """Print the JSON Schema of a case file (for EHR export pipelines and editors)."""
    from priorauth.case.model import Case

    click.echo(json.dumps(Case.model_json_schema(by_alias=True), indent=2))
