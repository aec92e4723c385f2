"""Criteria for the ASRA/AAPM/ASA 2018 consensus (cohen-2018), point by point, and the CRPS
diagnosis: the kinds ``budapest``, ``regimen_in`` and ``documented`` (see ``docs/policies.md``).

- ``budapest: clinical``: the Budapest clinical criteria (``policy/budapest.py``).
- ``regimen_in: crps``: the requested regimen against the regimens with published evidence for
  that indication (``reference/ketamine-regimens.yaml``). Met only when one matches on every
  point; a difference makes it not met and is named; a point the record lacks makes it unknown.
- ``documented: [facility.setting, requested.monitoring]``: the record states these (the
  checklist cannot judge free text, so 'met' means 'stated', and the letter prints the text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from priorauth.case.model import Case, Requested
from priorauth.policy.budapest import assess_case
from priorauth.policy.results import CriterionResult, Fact, Verdict
from priorauth.reference.regimens import RACEMIC, StudyRegimen, indications, regimens

if TYPE_CHECKING:  # spec.py imports this module to parse these kinds
    from priorauth.policy.spec import Criterion

KINDS = ("budapest", "regimen_in", "documented")
DOCUMENTABLE = {
    "facility.setting": "Site of care", "facility.name": "Facility",
    "requested.monitoring": "Monitoring", "requested.positive_response": "Positive response",
    "requested.schedule": "Schedule"}
"""Fields a ``documented`` criterion may name, with the label the letter prints beside each."""
_RANK = {Verdict.met: 2, Verdict.unknown: 1, Verdict.not_met: 0}


def parse(kind: str, body: Any, fail: Callable[[str], Exception]) -> dict[str, Any]:
    """The checked spec of one criterion of these kinds; ``fail(message)`` builds the error."""
    if kind == "budapest":
        if body != "clinical":
            raise fail("budapest must be 'clinical' (the Budapest clinical criteria)")
        return {"criteria": "clinical"}
    if kind == "regimen_in":
        if body not in indications():
            raise fail(f"regimen_in must name an indication with regimens: "
                       f"{', '.join(indications())}")
        return {"indication": str(body)}
    if not isinstance(body, list) or not body or any(p not in DOCUMENTABLE for p in body):
        raise fail(f"documented must list fields among: {', '.join(DOCUMENTABLE)}")
    return {"fields": tuple(str(p) for p in body)}


# --- the regimen compared with each studied regimen -------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """The request against one studied regimen: where it differs, what cannot be compared."""

    study: StudyRegimen
    differences: tuple[str, ...]
    unknowns: tuple[tuple[str, str], ...]
    """(plain sentence, field to fill)."""

    @property
    def verdict(self) -> Verdict:
        if self.differences:
            return Verdict.not_met
        return Verdict.unknown if self.unknowns else Verdict.met


def _hours(value: float) -> str:
    return f"{value:g} hour{'s' if value != 1 else ''}"


def compare(requested: Requested, study: StudyRegimen) -> Comparison:
    differences: list[str] = []
    unknowns: list[tuple[str, str]] = []
    regimen = requested.regimen
    if study.drug != RACEMIC:
        differences.append(f"racemic ketamine (trial: {study.drug})")
    if regimen is not None and regimen.continuous != study.continuous:
        differences.append("daily sessions (trial: one continuous infusion)" if study.continuous
                           else "one continuous infusion (trial: daily sessions)")
    if study.continuous and study.days is not None:
        if requested.sessions != round(study.days):
            differences.append(f"{requested.sessions} days (trial: {study.days:g} days)")
    else:
        if study.hours_per_infusion is not None and (
                requested.infusion_hours != study.hours_per_infusion):
            differences.append(f"{_hours(requested.infusion_hours)} per infusion "
                               f"(trial: {_hours(study.hours_per_infusion)})")
        if study.infusions is not None and requested.sessions != study.infusions:
            differences.append(f"{requested.sessions} infusion"
                               f"{'s' if requested.sessions != 1 else ''} "
                               f"(trial: {study.infusions})")
    if regimen is None:
        unknowns.append(("infusion rate not recorded in numbers", "requested.regimen"))
    elif regimen.unit.value != study.unit:
        unknowns.append((f"rate in {regimen.unit.value}, not comparable with the trial's "
                         f"{study.unit} without the patient's weight", "requested.regimen.unit"))
    elif regimen.rate > study.rate:
        differences.append(f"{regimen.rate:g} {study.unit} (trial: up to {study.rate:g} "
                           f"{study.unit})")
    if regimen is not None and study.max_mg_per_h is not None:
        if regimen.max_mg_per_h is None:
            unknowns.append((f"no cap on the rate recorded (trial: not over "
                             f"{study.max_mg_per_h:g} mg/h)", "requested.regimen.max_mg_per_h"))
        elif regimen.max_mg_per_h > study.max_mg_per_h:
            differences.append(f"a cap of {regimen.max_mg_per_h:g} mg/h (trial: not over "
                               f"{study.max_mg_per_h:g} mg/h)")
    return Comparison(study, tuple(differences), tuple(unknowns))


def compare_all(case: Case, indication: str) -> tuple[Comparison, ...]:
    return tuple(compare(case.requested, study) for study in regimens(indication))


def _regimen_result(case: Case, criterion: Criterion) -> CriterionResult:
    comparisons = compare_all(case, criterion.spec["indication"])
    facts = []
    for item in comparisons:
        head = f"{item.study.name} ({item.study.summary})"
        if item.verdict is Verdict.met:
            facts.append(Fact(f"{head}: matches", True))
            continue
        # A field to fill is named only where filling it could make the regimen match.
        notes = list(item.differences) + [text if item.differences else f"{text}; fill {field}"
                                          for text, field in item.unknowns]
        word = "differs" if item.differences else "not compared in full"
        facts.append(Fact(f"{head}: {word}: " + "; ".join(notes),
                          False if item.verdict is Verdict.not_met else None))
    if not comparisons:
        return _result(criterion, Verdict.not_met, "no regimen with published evidence", facts)
    best = max(comparisons, key=lambda c: _RANK[c.verdict])
    if best.verdict is Verdict.met:
        summary = f"matches the regimen studied in {best.study.name}"
    elif best.verdict is Verdict.unknown:
        fields = sorted({field for c in comparisons if not c.differences
                         for _, field in c.unknowns})
        summary = "cannot be compared in full; fill " + ", ".join(fields)
    else:
        summary = "departs from every regimen with published evidence: " + "; ".join(
            f"{c.study.name}: {', '.join(c.differences)}" for c in comparisons)
    return _result(criterion, best.verdict, summary, facts)


# --- the other kinds --------------------------------------------------------------------------

def _budapest_result(case: Case, criterion: Criterion) -> CriterionResult:
    found = assess_case(case)
    if found is None:
        return _result(criterion, Verdict.unknown,
                       "Budapest criteria not recorded; fill the crps: section (symptom and sign "
                       "for each category, disproportionate_pain, no_better_diagnosis)")
    facts = [Fact(text + (f" (fill {field})" if field else ""),
                  {"met": True, "not met": False}.get(verdict)) for verdict, text, field in
             found.parts]
    verdict = Verdict(found.verdict)
    if verdict is Verdict.met:
        summary = (f"symptoms in {found.symptoms} of 4 categories, signs in {found.signs} of 4; "
                   "pain disproportionate; no better diagnosis")
    else:
        summary = "; ".join(f.text for f, (v, _, _) in zip(facts, found.parts, strict=True)
                            if v != "met")
    return _result(criterion, verdict, summary, facts)


def documented_values(case: Case, criterion: Criterion) -> tuple[tuple[str, Any], ...]:
    """(label, value or None) for each field of a ``documented`` criterion, for the letter."""
    return tuple((DOCUMENTABLE[path], _value(case, path)) for path in criterion.spec["fields"])


def _value(case: Case, path: str) -> Any:
    value: Any = case
    for name in path.split("."):
        value = getattr(value, name, None) if value is not None else None
    return value


def _documented_result(case: Case, criterion: Criterion) -> CriterionResult:
    fields: tuple[str, ...] = criterion.spec["fields"]
    missing = [path for path in fields if _value(case, path) in (None, "")]
    facts = [Fact(f"{DOCUMENTABLE[path]}: not stated (fill {path})", None) if path in missing
             else Fact(f"{DOCUMENTABLE[path]}: stated", True) for path in fields]
    if missing:
        return _result(criterion, Verdict.unknown, "not stated; fill " + ", ".join(missing),
                       facts)
    return _result(criterion, Verdict.met, "stated", facts)


def _result(criterion: Criterion, verdict: Verdict, summary: str,
            facts: list[Fact] | tuple[Fact, ...] = ()) -> CriterionResult:
    return CriterionResult(criterion.id, criterion.label, verdict, summary, tuple(facts))


def evaluate(case: Case, criterion: Criterion) -> CriterionResult:
    """Verdict on one criterion of the kinds in :data:`KINDS`."""
    handlers: Mapping[str, Callable[[Case, Criterion], CriterionResult]] = {
        "budapest": _budapest_result, "regimen_in": _regimen_result,
        "documented": _documented_result}
    return handlers[criterion.kind](case, criterion)
