"""``priorauth pas``: a case (and its letter) as a Da Vinci PAS Request Bundle (FHIR R4 JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from priorauth.case.parse import load_case
from priorauth.cli._common import search_dirs, templates_dir_option


@click.command()
@click.argument("case", type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", type=click.Path(path_type=Path, allow_dash=True), default="-",
              show_default=True, help="Where to write the Bundle JSON ('-' = stdout).")
@click.option("--template", default=None, help="Template name for the attached letter.")
@templates_dir_option
@click.option("--policy", "policy_id", metavar="ID", help="Payer policy for the letter.")
def pas(case: Path, output: Path, template: str | None, templates_dirs: tuple[Path, ...],
        policy_id: str | None) -> None:
    """Write the PAS Request Bundle for CASE, the PDF/A letter attached.

    \b
    The Bundle is what a payer's FHIR Prior Authorization API takes at Claim/$submit
    (docs/pas.md). priorauth does not send it: the call is your pipeline's.
    """
    from priorauth.fhir.pas import pas_bundle
    from priorauth.letter.pipeline import LetterPipeline
    from priorauth.output import write_output

    loaded = load_case(case)
    letter = LetterPipeline(template=template, templates_dirs=search_dirs(templates_dirs),
                            policy=policy_id).render(loaded)
    bundle = pas_bundle(loaded, letter.data)
    write_output(output, (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode())
    if str(output) != "-":
        click.secho(f"wrote {output} (letter: {letter.pages} pages)", err=True, fg="green")
