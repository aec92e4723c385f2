"""The tracking ledger (``priorauth track``): letters sent, payer decisions, appeals, and what is
due next. Only the case id, the payer, references, dates and a letter's SHA-256 are stored.
"""

from __future__ import annotations

import hashlib
from typing import Any

from priorauth.track.due import REAUTH_LEAD_DAYS, DueItem, due_items
from priorauth.track.ledger import CHANNELS, Ledger, database_url, default_path


def due(ledger: Ledger, *, lead_days: int = REAUTH_LEAD_DAYS) -> list[DueItem]:
    """Every open action in ``ledger``, soonest first."""
    return due_items(ledger.rows("letters"), ledger.rows("decisions"), ledger.rows("appeals"),
                     lead_days=lead_days)


def record_sent(ledger: Ledger, case: Any, pdf: bytes, *, channel: str = "other",
                case_id: str | None = None) -> dict[str, int]:
    """Record a rendered letter: the letter itself, and for an appeal the denial it answers
    (once) and the appeal it files. ``case_id`` defaults to the case's ``id``."""
    from priorauth.errors import LedgerError

    case_id = case_id or case.id
    if not case_id:
        raise LedgerError("the case has no `id`: the ledger records letters by case id (add "
                          "`id:` to the case file)")
    letter, payer = case.letter, case.payer
    plan_type = payer.plan_type
    kind = letter.kind.value
    recorded: dict[str, int] = {}
    denial = letter.denial
    if denial is not None:
        known = [row for row in ledger.rows("decisions", case_id)
                 if row["decided_on"] == denial.date and row["outcome"] == "denied"
                 and row["payer_reference"] == denial.reference]
        if not known:
            recorded["decision"] = ledger.record_decision(
                case_id=case_id, decided_on=denial.date, outcome="denied", payer=payer.name,
                payer_reference=denial.reference, plan_type=plan_type, level="initial")
        if kind == "appeal":
            recorded["appeal"] = ledger.record_appeal(
                case_id=case_id, filed_on=letter.date, payer=payer.name,
                payer_reference=denial.reference, denial_on=denial.date, plan_type=plan_type,
                expedited=letter.urgency.value == "expedited")
    recorded["letter"] = ledger.record_letter(
        case_id=case_id, kind=kind, sent_on=letter.date, channel=channel, payer=payer.name,
        payer_reference=letter.reference, sha256=hashlib.sha256(pdf).hexdigest(),
        plan_type=plan_type)
    return recorded


__all__ = ["CHANNELS", "REAUTH_LEAD_DAYS", "DueItem", "Ledger", "database_url",
           "default_path", "due", "record_sent"]
