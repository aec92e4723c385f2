"""The tracking ledger (``priorauth track``): letters sent, payer decisions, appeals, and what is
due next. Only the case id, the payer, references, dates and a letter's SHA-256 are stored.
"""

from __future__ import annotations

from priorauth.case.plan import SentLetter
from priorauth.track.due import REAUTH_LEAD_DAYS, DueItem, due_items
from priorauth.track.ledger import CHANNELS, Ledger, database_url, default_path


def due(ledger: Ledger, *, lead_days: int = REAUTH_LEAD_DAYS) -> list[DueItem]:
    """Every open action in ``ledger``, soonest first."""
    return due_items(ledger.rows("letters"), ledger.rows("decisions"), ledger.rows("appeals"),
                     lead_days=lead_days)


def record_sent(ledger: Ledger, sent: SentLetter, pdf_sha256: str, *,
                channel: str = "other") -> dict[str, int]:
    """Record a rendered letter: the letter itself, and for an appeal the denial it answers
    (once, however often the appeal is rendered) and the appeal it files."""
    from priorauth.errors import LedgerError

    if not sent.case_id:
        raise LedgerError("the case has no `id`: the ledger records letters by case id (add "
                          "`id:` to the case file)")
    case_id = sent.case_id
    recorded: dict[str, int] = {}
    if sent.denial_date is not None:
        known = [row for row in ledger.rows("decisions", case_id)
                 if row["decided_on"] == sent.denial_date and row["outcome"] == "denied"
                 and row["payer_reference"] == sent.denial_reference]
        if not known:
            recorded["decision"] = ledger.record_decision(
                case_id=case_id, decided_on=sent.denial_date, outcome="denied",
                payer=sent.payer, payer_reference=sent.denial_reference,
                plan_type=sent.plan_type, level="initial")
        if sent.kind == "appeal":
            recorded["appeal"] = ledger.record_appeal(
                case_id=case_id, filed_on=sent.date, payer=sent.payer,
                payer_reference=sent.denial_reference, denial_on=sent.denial_date,
                plan_type=sent.plan_type, expedited=sent.expedited)
    recorded["letter"] = ledger.record_letter(
        case_id=case_id, kind=sent.kind, sent_on=sent.date, channel=channel, payer=sent.payer,
        payer_reference=sent.payer_reference, sha256=pdf_sha256, plan_type=sent.plan_type)
    return recorded


__all__ = [
    "CHANNELS",
    "REAUTH_LEAD_DAYS",
    "DueItem",
    "Ledger",
    "SentLetter",
    "database_url",
    "default_path",
    "due",
    "record_sent",
]
