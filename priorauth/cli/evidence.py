"""``priorauth evidence``: the evidence library a letter cites."""

from __future__ import annotations

import click


@click.group()
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
