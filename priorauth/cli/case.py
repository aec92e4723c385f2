"""Commands about one case file: ``validate``, ``check``, ``schema`` and ``init``.

``validate`` never imports WeasyPrint (it must start nearly as fast as importing pydantic).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from priorauth.case.parse import load_case
from priorauth.cli._common import fail
from priorauth.cli.machine import format_option
from priorauth.errors import ExitCode


@click.command()
@click.argument("cases", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@format_option
def validate(cases: tuple[Path, ...], output_format: str) -> None:
    """Check case files and list every problem (fast: renders nothing).

    \b
    Takes what `batch` takes: case files (YAML/JSON), NDJSON files (one case a line), folders
    of them, and '-' for stdin (one case document, or NDJSON).
    Exit 0 when all are valid, 2 when any has a problem.
    """
    from priorauth.cli.validate import validate_records

    if not validate_records(cases, output_format):
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
@format_option
def check(case: Path, policy_id: str | None, brief: bool, output_format: str) -> None:
    """Checklist: is each criterion of the payer policy met, not met or unknown, and why.

    Exit 0 when every criterion is met (and, for an appeal, every stated denial reason is
    answered), 1 otherwise, 2 for invalid input or when no policy applies to the diagnoses
    (name one with --policy). With --format json|ndjson the verdicts
    carry codes and field paths but not the facts (they quote the record).
    """
    from priorauth.letter.pipeline import LetterPipeline
    from priorauth.policy.report import report_lines

    if output_format != "text":
        from priorauth.cli.validate import check_machine

        sys.exit(check_machine(case, policy_id, output_format))
    loaded = load_case(case)
    prepared = LetterPipeline(policy=policy_id).prepare(loaded)
    if prepared.check is None:
        fail(str(prepared.no_policy))
    colours = {"met": "green", "not met": "red", "unknown": "yellow"}
    lines = report_lines(prepared.check, details=not brief)
    if prepared.context.appeal_status:
        from priorauth.case.appeal import report_lines as appeal_lines

        lines += appeal_lines(prepared.context.appeal_status, details=not brief)
    for line, verdict in lines:
        click.secho(line, fg=colours.get(verdict or ""))
    echo_deadlines(loaded)
    sys.exit(ExitCode.OK if prepared.check.all_met and not prepared.unanswered
             else ExitCode.NOT_MET)


def echo_deadlines(loaded: object) -> None:
    """For a letter that answers a denial: the appeal deadlines of the plan type, as dates."""
    from priorauth.policy.deadlines import case_deadlines

    report = case_deadlines(loaded)
    if report is None:
        return
    click.echo(f"\nDeadlines ({report.plan_label}; dates count from the date on the notice, "
               "so the plan's own notice may allow more time, never less):")
    for line in report.lines:
        click.echo(f"  {line}")


@click.command()
def init() -> None:
    """Print a commented starter case file (redirect it: priorauth init > case.yaml).

    Its first line, `# yaml-language-server: $schema=priorauth-case.schema.json`, lets editors
    (VS Code YAML, JetBrains) complete and check fields: save the schema beside the case with
    `priorauth schema > priorauth-case.schema.json`.
    """
    from importlib.resources import files

    from priorauth.case.schema import SCHEMA_FILE_NAME

    click.echo(f"# yaml-language-server: $schema={SCHEMA_FILE_NAME}")
    click.echo(files("priorauth.reference").joinpath("starter-case.yaml").read_text("utf-8"),
               nl=False)


@click.command()
@click.option("--output-format", "of_output", is_flag=True,
              help="Print instead the schema of the --format json/ndjson outputs of validate, "
                   "check, fhir and evidence list (docs/machine-output.md).")
def schema(of_output: bool) -> None:
    """Print the JSON Schema (Draft 2020-12) of a case file, for EHR export pipelines and
    editors: priorauth schema > priorauth-case.schema.json"""
    if of_output:
        from importlib.resources import files

        text = files("priorauth.reference").joinpath("output.schema.json").read_text("utf-8")
        click.echo(text, nl=False)
        return
    from priorauth.case.schema import case_json_schema

    click.echo(json.dumps(case_json_schema(), indent=2, ensure_ascii=False))
