"""What needs action and when, from the ledger's rows (``priorauth track due``).

Pure: rows in, items out. Appeal deadlines come from :mod:`priorauth.policy.deadlines` (the plan
type recorded with the denial); re-authorization is due a lead time before the approved sessions
run through their date. A date priorauth cannot compute (unknown plan type, a state's own window)
is an item without a date that says where to look.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from priorauth.policy.deadlines import Deadline, appeal_deadlines

REAUTH_LEAD_DAYS = 14
"""Default days before an approval's through date to send the continuation request."""

_NEXT_LEVEL = {"initial": "internal_appeal", "internal_appeal": "external_review"}


@dataclass(frozen=True)
class DueItem:
    case_id: str
    payer: str
    kind: str
    """file_appeal | file_external_review | decision_expected | reauthorization | waiting"""
    action: str
    due: dt.date | None = None
    rule: str | None = None
    reference: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["due"] = self.due.isoformat() if self.due else None
        return data


def due_items(letters: list[dict[str, Any]], decisions: list[dict[str, Any]],
              appeals: list[dict[str, Any]], *,
              lead_days: int = REAUTH_LEAD_DAYS) -> list[DueItem]:
    """Every open action, soonest first (items without a date last)."""
    cases = sorted({row["case_id"] for row in [*letters, *decisions, *appeals]})
    items: list[DueItem] = []
    for case_id in cases:
        items.extend(_case_items(
            case_id,
            [r for r in letters if r["case_id"] == case_id],
            sorted((r for r in decisions if r["case_id"] == case_id),
                   key=lambda r: (r["decided_on"], r["id"])),
            sorted((r for r in appeals if r["case_id"] == case_id),
                   key=lambda r: (r["filed_on"], r["id"])),
            lead_days))
    return sorted(items, key=lambda i: (i.due is None, i.due or dt.date.max, i.case_id))


def _case_items(case_id: str, letters: list[dict[str, Any]], decisions: list[dict[str, Any]],
                appeals: list[dict[str, Any]], lead_days: int) -> list[DueItem]:
    last = decisions[-1] if decisions else None
    if last is None:
        return _waiting(case_id, letters, since=None)
    if last["outcome"] == "approved":
        return _reauthorization(case_id, last, letters, lead_days)
    level = _NEXT_LEVEL.get(str(last["level"]))
    if level is None:
        return []  # an external review's decision is final: nothing priorauth can date
    filed = [a for a in appeals if a["filed_on"] >= last["decided_on"]]
    if filed:
        return [_decision_expected(case_id, filed[-1])]
    return _filing(case_id, last, final=last["level"] != "initial")


def _filing(case_id: str, denial: dict[str, Any], *, final: bool) -> list[DueItem]:
    """The deadline(s) to answer a denial: the internal appeal after a first denial; external
    review (or a state fair hearing) after a denied appeal."""
    report = appeal_deadlines(denial["plan_type"], denial["decided_on"],
                              final_decision=denial["decided_on"] if final else None)
    wanted = ("external_review", "state_fair_hearing") if final else ("internal_appeal",)
    clocks = [d for d in report.deadlines if d.clock.what == "filing" and d.clock.step in wanted]
    base = {"case_id": case_id, "payer": denial["payer"], "reference": denial["payer_reference"]}
    kind = "file_external_review" if final else "file_appeal"
    if not clocks:
        return [DueItem(kind=kind, action=f"denied {denial['decided_on']}: " + " ".join(
            report.notes), **base)]
    return [DueItem(kind=kind, action=f"denied {denial['decided_on']}: {_short(d)}",
                    due=d.due, rule=d.clock.rule, **base) for d in clocks]


def _short(deadline: Deadline) -> str:
    if deadline.due is not None:
        return f"{deadline.label} {deadline.due}"
    return deadline.text


def _decision_expected(case_id: str, appeal: dict[str, Any]) -> DueItem:
    """An appeal was filed: when the plan's decision is due (follow up if it has not come)."""
    what = "decision_expedited" if appeal["expedited"] else "decision_standard"
    report = appeal_deadlines(appeal["plan_type"], appeal["denial_on"],
                              received=appeal["filed_on"])
    clock = next((d for d in report.deadlines
                  if d.clock.step == appeal["level"] and d.clock.what == what), None)
    label = appeal["level"].replace("_", " ")
    if clock is None or clock.due is None:
        return DueItem(case_id, appeal["payer"], "decision_expected",
                       f"{label} filed {appeal['filed_on']}: no decision recorded; the plan's "
                       "time to decide is in its notice", reference=appeal["payer_reference"])
    return DueItem(case_id, appeal["payer"], "decision_expected",
                   f"{label} filed {appeal['filed_on']}: decision due ({clock.clock.span()}); "
                   "follow up if none arrives", due=clock.due, rule=clock.clock.rule,
                   reference=appeal["payer_reference"])


def _reauthorization(case_id: str, approval: dict[str, Any], letters: list[dict[str, Any]],
                     lead_days: int) -> list[DueItem]:
    sent = [r for r in letters if r["sent_on"] > approval["decided_on"]]
    if sent:
        return _waiting(case_id, letters, since=approval["decided_on"])
    through: dt.date = approval["through"]
    return [DueItem(case_id, approval["payer"], "reauthorization",
                    f"approved {approval['sessions']} sessions through {through}: send the "
                    f"continuation request {lead_days} days before they run out",
                    due=through - dt.timedelta(days=lead_days),
                    reference=approval["payer_reference"])]


def _waiting(case_id: str, letters: list[dict[str, Any]], since: dt.date | None) -> list[DueItem]:
    pending = [r for r in letters if since is None or r["sent_on"] > since]
    if not pending:
        return []
    letter = max(pending, key=lambda r: (r["sent_on"], r["id"]))
    return [DueItem(case_id, letter["payer"], "waiting",
                    f"{letter['kind'].replace('_', ' ')} letter sent {letter['sent_on']} by "
                    f"{letter['channel']}: no decision recorded yet",
                    reference=letter["payer_reference"])]
