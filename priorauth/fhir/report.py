"""The import report: fields filled (and from which resource), missing, invalid, ignored.
Resource ids and field paths only: it never repeats names or dates of birth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from priorauth.fhir.terminology import (
    MAX_EXAMPLES,
)


@dataclass
class Filled:
    field: str
    source: str
    """``Type/id element`` — where the value was read."""


@dataclass
class Missing:
    field: str
    needed_by: str
    reason: str


@dataclass
class Invalid:
    field: str | None
    source: str
    message: str


@dataclass
class Ignored:
    resource_type: str
    reason: str
    count: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class Unresolved:
    source: str
    reference: str
    """The reference as written (a resource type and id or URL; never a display name)."""


@dataclass
class ImportReport:
    """What an import found, left empty and ignored — resource ids and field paths only."""

    input: str
    patient: str
    filled: list[Filled] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)
    ignored: dict[tuple[str, str], Ignored] = field(default_factory=dict)
    input_ignored: dict[tuple[str, str], Ignored] = field(default_factory=dict)
    """Resources dropped while reading a many-patient input (not attributable to one patient)."""
    unresolved: list[Unresolved] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ignore(self, resource_type: str, reason: str, resource_id: str | None = None,
               count: int = 1) -> None:
        entry = self.ignored.setdefault((resource_type, reason), Ignored(resource_type, reason))
        entry.count += count
        if resource_id and len(entry.examples) < MAX_EXAMPLES:
            entry.examples.append(resource_id)

    @property
    def complete(self) -> bool:
        """No required field left for a human and nothing invalid: the case validates."""
        return not self.invalid and not any(m.needed_by == "case file" for m in self.missing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "patient": self.patient,
            "complete": self.complete,
            "filled": [vars(f) for f in self.filled],
            "missing": [vars(m) for m in self.missing],
            "invalid": [vars(i) for i in self.invalid],
            "ignored": [vars(i) for i in self.ignored.values()],
            "input_ignored": [vars(i) for i in self.input_ignored.values()],
            "unresolved_references": [vars(u) for u in self.unresolved],
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """A plain-text summary for stderr."""
        out = [f"{self.patient} (from {self.input}): {len(self.filled)} fields filled, "
               f"{len(self.missing)} missing, {len(self.invalid)} invalid, "
               f"{sum(i.count for i in self.ignored.values())} resources ignored"]
        out += [f"  filled   {f.field} <- {f.source}" for f in self.filled]
        out += [f"  MISSING  {m.field} [{m.needed_by}]: {m.reason}" for m in self.missing]
        out += [f"  INVALID  {i.field or '-'} <- {i.source}: {i.message}" for i in self.invalid]
        out += [f"  unresolved reference {u.reference} in {u.source}" for u in self.unresolved]
        for label, group in (("ignored ", self.ignored), ("ignored (input-wide)",
                                                          self.input_ignored)):
            for entry in group.values():
                examples = ", ".join(entry.examples)
                more = f" (+{entry.count - len(entry.examples)} more)" \
                    if entry.count > len(entry.examples) else ""
                out.append(f"  {label} {entry.count} {entry.resource_type}: {entry.reason}"
                           + (f" [{examples}{more}]" if examples else ""))
        out += [f"  note     {n}" for n in self.notes]
        return out
