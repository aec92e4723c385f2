"""What a letter template sees: the case plus facts derived from it (never added to it).

Everything here is computed from the validated case, so a template cannot print anything the
record does not support. ``docs/template-variables.md`` documents these names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from priorauth.case.appeal import ReasonStatus, appeal_report
from priorauth.case.model import Case, PriorTherapy, Role
from priorauth.dates import weeks_between
from priorauth.letter.appeal import ReasonSection, reason_sections
from priorauth.policy.budapest import BudapestAssessment, assess_case
from priorauth.policy.checks import CheckReport, CriterionResult, check_case, choose_policy
from priorauth.policy.consensus import Comparison, compare_all, documented_values
from priorauth.policy.deadlines import DeadlineReport, case_deadlines
from priorauth.policy.response import ResponseSummary, case_summary
from priorauth.policy.spec import Policy
from priorauth.reference import catalogue, icd, load_yaml
from priorauth.reference.evidence import CitedEvidence, cite

ROLE_ORDER = [Role.preventive, Role.maintenance, Role.acute, Role.procedure, Role.rehabilitation]
UNKNOWN_CLASS = "Class not recorded"


@dataclass(frozen=True)
class TherapyRow:
    therapy: PriorTherapy
    weeks: float | None
    """Duration of the trial in weeks; for an ongoing therapy, up to the letter date."""
    ongoing: bool

    @property
    def display_name(self) -> str:
        """The name as typed, a brand followed by its generic: "Topamax (topiramate)"."""
        return catalogue.display_name(self.therapy.name)


@dataclass(frozen=True)
class ClassGroup:
    label: str
    rows: list[TherapyRow]


@dataclass(frozen=True)
class RoleGroup:
    role: Role
    classes: list[ClassGroup]

    @property
    def count(self) -> int:
        return sum(len(group.rows) for group in self.classes)


@dataclass(frozen=True)
class CodeLine:
    system: str
    code: str
    description: str


@dataclass(frozen=True)
class ConsensusPoint:
    """One point of the consensus guideline the letter addresses, whatever its verdict."""

    id: str
    kind: str
    result: CriterionResult
    comparisons: tuple[Comparison, ...] = ()
    """For the regimen point: the request against each studied regimen."""
    values: tuple[tuple[str, Any], ...] = ()
    """For a ``documented`` point: (label, value as recorded or None) for each field."""


@dataclass
class LetterContext:
    """Derived facts; extended by the criteria checks (``criteria``, ``evidence``, ``severity``)."""

    therapy_groups: list[RoleGroup]
    failed_therapies: list[PriorTherapy]
    failed_preventive_classes: list[str]
    """Drug classes of the failed preventive therapies, one per class however it was spelt."""
    failed_preventive_ehf_classes: list[str]
    """The same therapies grouped as the EHF 2020 groups preventive classes (ACE inhibitors and
    ARBs are one EHF class): the count the EHF criteria use."""
    request_codes: list[CodeLine]
    diagnosis_descriptions: dict[str, str]
    criteria: list[CriterionResult] = field(default_factory=list)
    """The policy's criteria this record meets, in policy order (unmet ones are left out of
    the letter; empty when no policy applies)."""
    evidence: list[CitedEvidence] = field(default_factory=list)
    """Published evidence the letter cites: the case's own ``evidence`` ids, else the policy's."""
    severity: str | None = None
    severity_statement: str | None = None
    check: CheckReport | None = None
    """The full checklist behind ``criteria`` (None when no policy applies to the diagnosis)."""
    appeal: list[ReasonSection] = field(default_factory=list)
    """An appeal's stated reasons, each with the clinician's answers and any certification."""
    appeal_status: list[ReasonStatus] = field(default_factory=list)
    """Each stated reason answered or not (what ``check`` reports)."""
    budapest: BudapestAssessment | None = None
    """The Budapest CRPS criteria applied to ``case.crps`` (None when the case has no crps:)."""
    consensus: list[ConsensusPoint] = field(default_factory=list)
    """The policy's consensus-guideline points, met or not (empty when it names none)."""
    consensus_evidence: CitedEvidence | None = None
    """The citation of the guideline the consensus points follow."""
    response: ResponseSummary | None = None
    """A continuation letter's measured response, computed from ``case.continuation`` (None for
    other letters): ``changes`` (before, after, reduction_percent), ``series``,
    ``intervals_days``, ``relief_weeks``, ``serious_adverse_events``, ``indication``."""
    deadlines: DeadlineReport | None = None
    """Appeal deadlines for the denial the letter answers, by ``payer.plan_type`` (None without
    a denial); ``deadlines.lines`` are the lines the fax cover prints."""


def therapy_class(therapy: PriorTherapy) -> str:
    """The class as recorded, or inferred from the therapy catalogue when the case omits it."""
    return catalogue.class_label(therapy) or UNKNOWN_CLASS


def _class_key(therapy: PriorTherapy) -> str:
    """One key per class however it was spelt: the catalogue class id when known ("Beta
    blocker" and "beta-blocker" are one class), else the recorded text."""
    resolution = catalogue.resolve(therapy)
    return resolution.class_id or (therapy.class_ or "").casefold() or UNKNOWN_CLASS


def group_therapies(case: Case) -> list[RoleGroup]:
    """Therapies by role (preventive first), then class (earliest trial first), then start date."""
    groups: list[RoleGroup] = []
    for role in ROLE_ORDER:
        therapies = [t for t in case.prior_therapies if t.role is role]
        if not therapies:
            continue
        by_class: dict[str, list[TherapyRow]] = {}
        labels: dict[str, str] = {}
        for therapy in sorted(therapies, key=_start_key):
            end = therapy.end or (case.letter.date if therapy.start else None)
            row = TherapyRow(therapy, weeks_between(therapy.start, end),
                             ongoing=therapy.start is not None and therapy.end is None)
            key = _class_key(therapy)
            labels.setdefault(key, therapy_class(therapy))  # the first spelling is printed
            by_class.setdefault(key, []).append(row)
        groups.append(RoleGroup(role, [ClassGroup(labels[key], rows)
                                       for key, rows in by_class.items()]))
    return groups


def _start_key(therapy: PriorTherapy) -> dt.date:
    return therapy.start or dt.date.min


def request_codes(case: Case) -> list[CodeLine]:
    """Requested codes with our own short descriptions (CPT descriptors are copyrighted)."""
    table = load_yaml("codes.yaml")
    lines = [CodeLine("CPT", code, table["cpt"].get(code, "")) for code in case.requested.codes.cpt]
    lines += [CodeLine("HCPCS", code, table["hcpcs"].get(code, ""))
              for code in case.requested.codes.hcpcs]
    return lines


def build_context(case: Case, policy: Policy | str | None = None) -> LetterContext:
    """Derived facts for the letter. ``policy`` (a Policy, an id or a file) decides the criteria;
    by default the bundled policy for the diagnosis, or none when no policy applies."""
    chosen = choose_policy(case, policy)
    return context_for(case, check_case(case, chosen) if chosen is not None else None)


def context_for(case: Case, report: CheckReport | None) -> LetterContext:
    """Derived facts for the letter, given the checklist (``None``: no policy applies, so the
    letter has no criteria section and cites only the case's own evidence)."""
    failed = [t for t in case.prior_therapies if t.is_failure]
    preventive = [t for t in failed if t.role is Role.preventive]
    by_key: dict[str, str] = {}
    for therapy in preventive:  # counted by class, however each was spelt
        if catalogue.class_label(therapy):
            by_key.setdefault(_class_key(therapy), therapy_class(therapy))
    preventive_classes = sorted(by_key.values())
    ehf_classes = sorted({ehf for t in preventive
                          if (ehf := catalogue.resolve(t).ehf_preventive_class)})
    evidence_ids = list(case.evidence) or list(report.policy.evidence if report else [])
    return LetterContext(
        therapy_groups=group_therapies(case),
        failed_therapies=failed,
        failed_preventive_classes=preventive_classes,
        failed_preventive_ehf_classes=ehf_classes,
        request_codes=request_codes(case),
        diagnosis_descriptions={d.code: icd.official_description(d.code) or d.description or ""
                                for d in case.diagnoses},
        criteria=report.met if report else [],
        evidence=cite(evidence_ids),
        severity=report.severity if report else None,
        severity_statement=report.severity_statement if report else None,
        check=report,
        appeal=reason_sections(case),
        appeal_status=appeal_report(case.letter.denial.reasons) if case.letter.denial else [],
        budapest=assess_case(case),
        consensus=consensus_points(case, report),
        consensus_evidence=next(iter(cite([report.policy.consensus_evidence])), None)
        if report and report.policy.consensus_evidence else None,
        deadlines=case_deadlines(case),
        response=case_summary(case),
    )


def consensus_points(case: Case, report: CheckReport | None) -> list[ConsensusPoint]:
    """The checklist results the policy lists under ``consensus``, in its order."""
    if report is None:
        return []
    kinds = {c.id: c for c in report.policy.criteria}
    points = []
    for point_id in report.policy.consensus:
        criterion = kinds[point_id]
        result = next(r for r in report.results if r.id == point_id)
        comparisons = (compare_all(case, criterion.spec["indication"])
                       if criterion.kind == "regimen_in" else ())
        values = documented_values(case, criterion) if criterion.kind == "documented" else ()
        points.append(ConsensusPoint(point_id, criterion.kind, result, comparisons, values))
    return points


def template_variables(case: Case, context: LetterContext) -> dict[str, Any]:
    """The names a template can use; see docs/template-variables.md."""
    return {
        "case": case,
        "letter": case.letter,
        "patient": case.patient,
        "payer": case.payer,
        "provider": case.provider,
        "facility": case.facility,
        "primary_diagnosis": case.primary_diagnosis,
        "ctx": context,
    }
