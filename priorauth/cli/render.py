"""``priorauth render``: one case file (or FHIR import) -> one letter, through the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from priorauth.case.parse import load_case
from priorauth.cli._common import (
    echo_record_warnings,
    echo_warnings,
    fail,
    glyph_warnings,
    search_dirs,
    show_values,
    templates_dir_option,
)
from priorauth.errors import ExitCode


@click.command()
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
@click.option("--pas", "pas_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write the Da Vinci PAS Request Bundle (FHIR JSON, the letter inside).")
@click.option("--track", is_flag=True,
              help="Record the letter in the tracking ledger (case id, kind, date, payer, "
                   "SHA-256; see `priorauth track`).")
@click.option("--track-db", metavar="PATH|URL",
              help="With --track: the ledger (default: PRIORAUTH_TRACK_DB, else the data "
                   "folder).")
@click.option("--channel", type=click.Choice(["fax", "portal", "mail", "email", "other"]),
              help="With --track: how the letter goes out (default: fax with --fax-cover, "
                   "else other).")
@click.option("--strict", is_flag=True,
              help="Refuse to render when a criterion is not met or unknown (exit 1) or when "
                   "no policy applies (exit 2).")
def render(case: Path, output: Path | None, as_html: bool, template: str | None,
           templates_dirs: tuple[Path, ...], fax_cover: bool = False, pdf_a: bool = True,
           tagged: bool = False, source_format: str = "case",
           patient: str | None = None, policy_id: str | None = None,
           strict: bool = False, pas_path: Path | None = None, track: bool = False,
           track_db: str | None = None, channel: str | None = None) -> None:
    """Render a case file into a letter of medical necessity (PDF).

    Criteria the record does not meet are never stated as met: they are left out of the letter
    and listed on stderr; with --strict nothing is written and the exit code is 1.
    """
    from priorauth.letter.pipeline import LetterPipeline
    from priorauth.output import write_output

    if output is None and str(case) == "-":
        raise click.UsageError("reading the case from stdin: say where the PDF goes with -o")
    if as_html and fax_cover:
        raise click.UsageError("--fax-cover needs a PDF (the cover counts the letter's pages)")
    if as_html and pas_path:
        raise click.UsageError("--pas needs a PDF (the Bundle carries the PDF/A letter)")
    if track and as_html:
        raise click.UsageError("--track records the PDF sent; it cannot be used with --html")
    if (track_db or channel) and not track:
        raise click.UsageError("--track-db and --channel go with --track")
    if source_format == "fhir":  # every TODO the import leaves is a problem (exit 2)
        from priorauth.fhir import import_case

        loaded = import_case(case, patient).case()
    else:
        loaded = load_case(case)
    output = output or Path(case.stem + (".html" if as_html else ".pdf"))
    pipeline = LetterPipeline(template=template, templates_dirs=search_dirs(templates_dirs),
                              policy=policy_id)
    prepared = pipeline.prepare(loaded)
    echo_record_warnings(prepared.warnings)
    echo_warnings(glyph_warnings(loaded))
    if prepared.check is None:
        click.secho(f"warning: {prepared.no_policy}; the letter has no criteria section",
                    err=True, fg="yellow")
    elif prepared.unmet:
        click.secho(f"{len(prepared.unmet)} criteria of policy {prepared.policy_id} not met or "
                    "unknown (left out of the letter; `priorauth check` explains):", err=True,
                    fg="yellow")
        reveal = show_values()
        for unmet in prepared.unmet:
            detail = f": {unmet.summary}" if reveal else ""
            click.secho(f"  [{unmet.verdict.value}] {unmet.label}{detail}", err=True,
                        fg="yellow")
    if prepared.unanswered:
        from priorauth.letter.pipeline import unanswered_message

        click.secho(f"{unanswered_message(prepared.unanswered)} (the letter prints only the "
                    "answers given; `priorauth check` lists the open points)", err=True,
                    fg="yellow")
    refusal = prepared.refusal() if strict else None
    if refusal is not None:
        if refusal.exit_code is ExitCode.INVALID or not prepared.unmet:
            fail(f"--strict: {refusal.reason}", refusal.exit_code)
        fail("--strict: not rendering a case that does not meet the policy", refusal.exit_code)
    ledger = _open_ledger(loaded, track_db) if track else None
    result = pipeline.produce(prepared, fmt="html" if as_html else "pdf", pdf_a=pdf_a,
                              tagged=tagged, fax_cover=fax_cover)
    write_output(output, result.data)
    if pas_path is not None:
        import json

        from priorauth.fhir.pas import pas_bundle

        bundle = pas_bundle(loaded, result.data)
        write_output(pas_path, (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode())
        click.secho(f"wrote {pas_path}", err=True, fg="green")
    if ledger is not None:
        import hashlib

        from priorauth.track import SentLetter, record_sent

        with ledger:
            recorded = record_sent(ledger, SentLetter.from_case(loaded),
                                   hashlib.sha256(result.data).hexdigest(),
                                   channel=channel or ("fax" if fax_cover else "other"))
        click.secho(f"tracked: {', '.join(f'{k} #{v}' for k, v in recorded.items())}",
                    err=True)
    pages = f", {result.pages} page{'s' if result.pages != 1 else ''}" if result.pages else ""
    click.secho(f"template: {result.template} ({result.template_reason})", err=True)
    if fax_cover:
        from priorauth.letter.templates import FAX_COVER

        renderer = pipeline.renderer
        click.secho(f"fax cover: {renderer.template_name_for(loaded, FAX_COVER)} "
                    f"({renderer.template_reason(loaded, FAX_COVER)})", err=True)
    if str(output) != "-":
        click.secho(f"wrote {output}{pages}", err=True, fg="green")


def _open_ledger(case: Any, db: str | None) -> Any:
    """Open (and migrate) the ledger before rendering: a case without an id or a ledger that
    cannot be opened is an error before any PDF is written."""
    from priorauth.errors import LedgerError
    from priorauth.track import Ledger

    if not case.id:
        raise LedgerError("--track records letters by case id: add `id:` to the case file")
    return Ledger(db)
