"""``priorauth track``: the ledger of letters sent, payer decisions and appeals, and what is due.

The ledger is a SQLite file (``--db`` / ``PRIORAUTH_TRACK_DB``, default in the user's data folder)
or a database URL (``postgresql+psycopg://...``). It keeps the case id, payer, references and
dates only; messages never print more than that.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from priorauth.case.plan import PlanType
from priorauth.errors import LedgerError

_PLAN_TYPES = click.Choice([p.value for p in PlanType])


def _ledger(ctx: click.Context) -> Any:
    from priorauth.track import Ledger

    ledger = Ledger(ctx.obj["db"])
    ctx.call_on_close(ledger.close)
    return ledger


def _payer(ledger: Any, case_id: str, payer: str | None) -> str:
    """``--payer``, else the payer of the case's last recorded letter."""
    if payer:
        return payer
    rows = ledger.rows("letters", case_id)
    if not rows:
        raise LedgerError(f"no letter recorded for case {case_id}: name the payer with --payer")
    return str(rows[-1]["payer"])


def _plan(ledger: Any, case_id: str, plan_type: str | None) -> str:
    """``--plan-type``, else the plan type recorded with the case's last letter."""
    if plan_type:
        return plan_type
    rows = ledger.rows("letters", case_id)
    return str(rows[-1]["plan_type"]) if rows else PlanType.unknown.value


_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _day(value: dt.datetime | None) -> dt.date:
    return value.date() if value is not None else dt.date.today()


@click.group()
@click.option("--db", metavar="PATH|URL", envvar="PRIORAUTH_TRACK_DB",
              help="The ledger: a SQLite file or a database URL (default: track.sqlite3 in "
                   "your data folder; env PRIORAUTH_TRACK_DB).")
@click.pass_context
def track(ctx: click.Context, db: str | None) -> None:
    """Track letters sent, payer decisions and appeals, and list what is due.

    \b
    priorauth render case.yaml --track      record a letter as it is written
    priorauth track decision ID --denied --date 2026-12-04 --plan-type erisa
    priorauth track due                     what needs action, soonest first
    priorauth track ics -o due.ics          the same as calendar events
    """
    ctx.ensure_object(dict)
    ctx.obj["db"] = db


@track.command("letter")
@click.argument("case_id")
@click.option("--kind", default="initial", show_default=True,
              type=click.Choice(["initial", "appeal", "peer_to_peer", "continuation",
                                 "external_review", "other"]))
@click.option("--date", "sent_on", type=_DATE, help="Date sent (default: today).")
@click.option("--channel", default="fax", show_default=True,
              type=click.Choice(["fax", "portal", "mail", "email", "phone", "other"]))
@click.option("--payer", help="Payer name (default: the case's last recorded payer).")
@click.option("--reference", help="The payer's or practice's reference for the request.")
@click.option("--pdf", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The PDF sent (its SHA-256 is recorded, not its content).")
@click.option("--plan-type", type=_PLAN_TYPES, help="Kind of plan (decides appeal deadlines).")
@click.pass_context
def letter_cmd(ctx: click.Context, case_id: str, kind: str, sent_on: dt.datetime | None,
               channel: str, payer: str | None, reference: str | None, pdf: Path | None,
               plan_type: str | None) -> None:
    """Record a letter sent outside `render --track`."""
    import hashlib

    ledger = _ledger(ctx)
    sha = hashlib.sha256(pdf.read_bytes()).hexdigest() if pdf else None
    row = ledger.record_letter(case_id=case_id, kind=kind, sent_on=_day(sent_on),
                               channel=channel, payer=_payer(ledger, case_id, payer),
                               payer_reference=reference, sha256=sha,
                               plan_type=_plan(ledger, case_id, plan_type))
    click.secho(f"recorded letter #{row} for {case_id}", err=True, fg="green")


@track.command("decision")
@click.argument("case_id")
@click.option("--approved", "outcome", flag_value="approved", help="The payer approved.")
@click.option("--denied", "outcome", flag_value="denied", help="The payer denied.")
@click.option("--date", "decided_on", type=_DATE, help="Date of the decision notice "
                                                       "(default: today).")
@click.option("--sessions", type=click.IntRange(1, 1000), help="Sessions approved.")
@click.option("--through", type=_DATE, help="Last date the approval covers.")
@click.option("--reason-code", help="Short code for a denial (e.g. investigational); never "
                                    "the notice's own words.")
@click.option("--payer", help="Payer name (default: the case's last recorded payer).")
@click.option("--reference", help="The payer's reference for the decision.")
@click.option("--plan-type", type=_PLAN_TYPES,
              help="Kind of plan (default: as recorded with the case's last letter).")
@click.option("--level", type=click.Choice(["initial", "internal_appeal", "external_review",
                                            "state_fair_hearing"]),
              help="What the decision answers (default: the last appeal filed, else initial).")
@click.pass_context
def decision_cmd(ctx: click.Context, case_id: str, outcome: str | None,
                 decided_on: dt.datetime | None, sessions: int | None,
                 through: dt.datetime | None, reason_code: str | None, payer: str | None,
                 reference: str | None, plan_type: str | None, level: str | None) -> None:
    """Record the payer's decision: --approved --sessions N --through DATE, or --denied."""
    if outcome is None:
        raise click.UsageError("say --approved or --denied")
    ledger = _ledger(ctx)
    row = ledger.record_decision(
        case_id=case_id, decided_on=_day(decided_on), outcome=outcome,
        payer=_payer(ledger, case_id, payer), payer_reference=reference, sessions=sessions,
        through=through.date() if through else None, reason_code=reason_code,
        plan_type=_plan(ledger, case_id, plan_type), level=level)
    click.secho(f"recorded decision #{row} for {case_id}", err=True, fg="green")


@track.command("appeal")
@click.argument("case_id")
@click.option("--date", "filed_on", type=_DATE, help="Date filed (default: today).")
@click.option("--level", default="internal_appeal", show_default=True,
              type=click.Choice(["internal_appeal", "external_review", "state_fair_hearing"]))
@click.option("--denial-date", type=_DATE, help="Date of the denial it answers.")
@click.option("--expedited", is_flag=True, help="An expedited (urgent) request.")
@click.option("--payer", help="Payer name (default: the case's last recorded payer).")
@click.option("--reference", help="The payer's reference.")
@click.option("--plan-type", type=_PLAN_TYPES,
              help="Kind of plan (default: as recorded with the case's last letter).")
@click.pass_context
def appeal_cmd(ctx: click.Context, case_id: str, filed_on: dt.datetime | None, level: str,
               denial_date: dt.datetime | None, expedited: bool, payer: str | None,
               reference: str | None, plan_type: str | None) -> None:
    """Record an appeal, external review or fair hearing request filed."""
    ledger = _ledger(ctx)
    row = ledger.record_appeal(
        case_id=case_id, filed_on=_day(filed_on), level=level,
        payer=_payer(ledger, case_id, payer), payer_reference=reference,
        denial_on=denial_date.date() if denial_date else None, expedited=expedited,
        plan_type=_plan(ledger, case_id, plan_type))
    click.secho(f"recorded {level.replace('_', ' ')} #{row} for {case_id}", err=True,
                fg="green")


_FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                       show_default=True)


@track.command("show")
@click.argument("case_id", required=False)
@_FORMAT
@click.pass_context
def show_cmd(ctx: click.Context, case_id: str | None, fmt: str) -> None:
    """Everything recorded for one case (or all), in date order."""
    entries = _ledger(ctx).history(case_id)
    if fmt == "json":
        click.echo(json.dumps([{"table": e.table, **e.values} for e in entries], indent=2,
                              default=str))
        return
    for entry in entries:
        values = {k: v for k, v in entry.values.items() if v is not None and k != "case_id"}
        when = values.pop("sent_on", None) or values.pop("decided_on", None) \
            or values.pop("filed_on", None)
        detail = ", ".join(f"{k}={v}" for k, v in values.items() if k != "id")
        click.echo(f"{when}  {entry.values['case_id']}  {entry.table[:-1]}  {detail}")


@track.command("due")
@_FORMAT
@click.option("--lead-days", type=click.IntRange(0, 365), default=14, show_default=True,
              help="Days before an approval runs out to send the continuation request.")
@click.option("--today", type=_DATE, help="Mark what is overdue as of this date "
                                          "(default: today).")
@click.pass_context
def due_cmd(ctx: click.Context, fmt: str, lead_days: int, today: dt.datetime | None) -> None:
    """What needs action and when: appeal deadlines, decisions to chase, re-authorizations."""
    from priorauth.track import due

    items = due(_ledger(ctx), lead_days=lead_days)
    now = _day(today)
    if fmt == "json":
        click.echo(json.dumps([{**i.to_dict(), "overdue": bool(i.due and i.due < now)}
                               for i in items], indent=2))
        return
    if not items:
        click.secho("nothing due", err=True)
    for item in items:
        when = item.due.isoformat() if item.due else "(no date)"
        late = " OVERDUE" if item.due and item.due < now else ""
        rule = f" [{item.rule}]" if item.rule else ""
        click.secho(f"{when}{late}  {item.case_id}  {item.payer}  {item.action}{rule}",
                    fg="red" if late else None)


@track.command("ics")
@click.option("-o", "--output", type=click.Path(path_type=Path, allow_dash=True), default="-",
              show_default=True, help="Where to write the calendar ('-' = stdout).")
@click.option("--lead-days", type=click.IntRange(0, 365), default=14, show_default=True)
@click.pass_context
def ics_cmd(ctx: click.Context, output: Path, lead_days: int) -> None:
    """Export the dated actions as an iCalendar (.ics) file, one all-day event each."""
    from priorauth.output import write_output
    from priorauth.track import due
    from priorauth.track.ics import calendar

    write_output(output, calendar(due(_ledger(ctx), lead_days=lead_days)).encode("utf-8"))
    if str(output) != "-":
        click.secho(f"wrote {output}", err=True, fg="green")
