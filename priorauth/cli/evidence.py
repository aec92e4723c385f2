"""``priorauth evidence``: the evidence library a letter cites."""

from __future__ import annotations

import click

from priorauth.cli.machine import emit, emit_lines, format_option


@click.group()
def evidence() -> None:
    """The evidence library a letter cites (ids for a case's `evidence:` list)."""


@evidence.command("list")
@click.option("--indication", help="Only entries for this indication (e.g. migraine, crps).")
@format_option
def evidence_list(indication: str | None, output_format: str) -> None:
    """List the library: id, citation, design and size, summary."""
    from priorauth.reference.evidence import library

    entries = [entry for entry in library().values()
               if not indication or indication in entry.indications]
    items = [{"kind": "evidence", "id": e.id, "citation": e.citation, "design": e.design_line,
              "summary": e.summary, "indications": list(e.indications),
              "verified_against": e.verified_against} for e in entries]
    if output_format == "json":
        emit({"command": "evidence list", "entries": items})
        return
    if output_format == "ndjson":
        emit_lines(items)
        return
    for entry in entries:
        click.secho(entry.id, bold=True)
        click.echo(f"  {entry.citation}")
        click.echo(f"  {entry.design_line}. {entry.summary}")
        click.echo(f"  indications: {', '.join(entry.indications)}; "
                   f"verified against: {entry.verified_against}")
