"""Appeal deadlines and decision clocks from the plan type and the denial date (issue 13.4).

Pure computation over ``reference/deadlines.yaml``, where every number sits beside the regulation
that sets it. Nothing here guesses: a plan type priorauth does not know gives no date and one line
telling staff to read the denial notice; a clock the data gives only as text stays text.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any, Literal

from priorauth.case.plan import PlanType
from priorauth.errors import ReferenceDataError
from priorauth.reference import load_yaml

Unit = Literal["days", "hours", "months"]
Start = Literal["denial_notice", "final_decision", "received"]

STEPS = {"internal_appeal": "Internal appeal", "external_review": "External review",
         "state_fair_hearing": "State fair hearing"}
WHATS = {"filing": "file by", "decision_standard": "standard decision",
         "decision_expedited": "expedited decision"}
_STARTS = {"denial_notice": "the date on the denial notice",
           "final_decision": "the plan's decision on the internal appeal",
           "received": "receipt of the request"}


@dataclass(frozen=True)
class Clock:
    """One rule from the data file: how long, from when, and which regulation says so."""

    step: str
    what: str
    rule: str
    source: str
    amount: int | None = None
    unit: Unit | None = None
    start: Start | None = None
    text: str | None = None
    note: str | None = None

    def span(self) -> str:
        """``180 days`` / ``72 hours`` / ``4 months`` (calendar days)."""
        if self.amount is None or self.unit is None:
            return ""
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {'calendar ' if unit.startswith('day') else ''}{unit}"


@dataclass(frozen=True)
class Deadline:
    """A clock applied to this case: ``due`` is a date when the start date is known."""

    clock: Clock
    due: dt.date | None
    start_date: dt.date | None

    @property
    def label(self) -> str:
        return f"{STEPS.get(self.clock.step, self.clock.step)}: {WHATS[self.clock.what]}"

    @property
    def text(self) -> str:
        """One line for ``check``, the fax cover and ``track due``; the regulation at the end."""
        clock = self.clock
        if clock.text is not None:
            body = f"{self.label.removesuffix(' by')}: {clock.text}"
        else:
            span = f"{clock.span()} from {_STARTS[clock.start or 'received']}"
            if self.due is None:
                body = f"{self.label.removesuffix(' by')} within {span}"
            elif clock.start == "received":
                body = (f"{self.label} by {self.due.isoformat()} if received "
                        f"{self.start_date} ({span})")
            else:
                body = f"{self.label} {self.due.isoformat()} ({span}, {self.start_date})"
        note = f"; {clock.note}" if clock.note else ""
        return f"{body}{note} [{clock.rule}]"


    @property
    def short(self) -> str:
        """``Internal appeal: file by 2027-06-02 [rule]`` (the fax cover's line; dated only)."""
        received = f" if received {self.start_date}" if self.clock.start == "received" else ""
        by = "" if self.clock.what == "filing" else " by"
        return f"{self.label}{by} {self.due}{received} [{self.clock.rule}]"


@dataclass(frozen=True)
class DeadlineReport:
    plan_type: PlanType
    plan_label: str
    deadlines: list[Deadline] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return bool(self.deadlines)

    @property
    def lines(self) -> list[str]:
        """Every deadline as one line, then the notes (what check and the fax cover print)."""
        return [d.text for d in self.deadlines] + list(self.notes)

    @property
    def dated(self) -> list[Deadline]:
        """The deadlines that have a date (what the fax cover prints)."""
        return [d for d in self.deadlines if d.due is not None]

    @property
    def filing(self) -> list[Deadline]:
        """The dates someone must act by (what ``track due`` lists)."""
        return [d for d in self.deadlines if d.clock.what == "filing" and d.due is not None]


def add_months(start: dt.date, months: int) -> dt.date:
    """``months`` after ``start``; with no such day (31 Oct + 4 months) the first day of the
    following month, as 45 CFR 147.136(d)(2)(i) words it ("the first day of the fifth month")."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    if start.day <= calendar.monthrange(year, month)[1]:
        return start.replace(year=year, month=month)
    return dt.date(year + (month == 12), month % 12 + 1, 1)


def due_date(clock: Clock, start: dt.date) -> dt.date | None:
    """The day the clock runs out, counted from ``start`` (an hours clock: its calendar day)."""
    if clock.amount is None or clock.unit is None:
        return None
    if clock.unit == "months":
        return add_months(start, clock.amount)
    days = clock.amount if clock.unit == "days" else -(-clock.amount // 24)
    return start + dt.timedelta(days=days)


def appeal_deadlines(plan_type: PlanType | str, denial_date: dt.date | None, *,
                     received: dt.date | None = None,
                     final_decision: dt.date | None = None) -> DeadlineReport:
    """Deadlines for a denial: filing dates counted from ``denial_date`` (the date on the notice)
    and ``final_decision`` (the plan's decision on the internal appeal, when known); decision
    clocks counted from ``received`` (e.g. the appeal letter's date), else left as spans."""
    plan_type = PlanType(plan_type)
    data = _plan(plan_type)
    starts: dict[str, dt.date | None] = {"denial_notice": denial_date,
                                         "final_decision": final_decision,
                                         "received": received}
    deadlines = []
    for clock in _clocks(plan_type):
        start = starts[clock.start] if clock.start else None
        if clock.start == "received" and clock.step != "internal_appeal":
            start = None  # a later request (external review): its date is not known yet
        deadlines.append(Deadline(clock, due_date(clock, start) if start else None, start))
    notes = [_notes()[key] for key in data.get("notes", [])]
    if not deadlines:
        notes.append(_notes()["read-the-notice"])
    return DeadlineReport(plan_type, str(data["label"]), deadlines, notes)


def case_deadlines(case: Any) -> DeadlineReport | None:
    """The deadlines for a case's denial (``None`` when the letter answers no denial); decision
    clocks run from the letter's date, the earliest day the plan can receive it."""
    denial = case.letter.denial
    if denial is None:
        return None
    return appeal_deadlines(case.payer.plan_type, denial.date, received=case.letter.date)


def plan_labels() -> dict[PlanType, str]:
    return {plan: str(_plan(plan)["label"]) for plan in PlanType}


@functools.cache
def _clocks(plan_type: PlanType) -> tuple[Clock, ...]:
    raw: list[Any] = []
    for item in _plan(plan_type).get("clocks") or []:
        raw.extend(item if isinstance(item, list) else [item])  # YAML aliases nest shared lists
    try:
        clocks = tuple(_clock(item) for item in raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReferenceDataError(f"deadlines.yaml, {plan_type.value}: {exc!r}") from exc
    return clocks


def _clock(item: dict[str, Any]) -> Clock:
    if item["what"] not in WHATS or item["step"] not in STEPS:
        raise ValueError(f"unknown step or what: {item['step']}/{item['what']}")
    if ("text" in item) == ("amount" in item):
        raise ValueError("a clock has either amount/unit/from or text")
    if "amount" in item:
        if item["unit"] not in ("days", "hours", "months") or item["from"] not in _STARTS:
            raise ValueError(f"bad unit or from: {item['unit']}/{item['from']}")
        if not isinstance(item["amount"], int) or item["amount"] <= 0:
            raise ValueError(f"bad amount: {item['amount']}")
    if item["source"] not in _data()["sources"] or not item.get("checked"):
        raise ValueError(f"clock {item['step']}/{item['what']} needs a known source and checked")
    return Clock(step=item["step"], what=item["what"], rule=str(item["rule"]),
                 source=str(item["source"]), amount=item.get("amount"), unit=item.get("unit"),
                 start=item.get("from"), text=item.get("text"), note=item.get("note"))


def _plan(plan_type: PlanType) -> dict[str, Any]:
    try:
        plan: dict[str, Any] = _data()["plan_types"][plan_type.value]
    except KeyError as exc:
        raise ReferenceDataError(f"deadlines.yaml has no plan type {plan_type.value}") from exc
    return plan


def _notes() -> dict[str, str]:
    notes: dict[str, str] = _data()["notes"]
    return notes


def _data() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml("deadlines.yaml")
    return data
