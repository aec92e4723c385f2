"""What the appeal template sees of the stated reasons: each reason with its checklist points in
the data file's order and the clinician's answer to each, and the certification with the
statute's wording and every cited document described as it is (negative trials included).

Built from the validated case and the bundled data only; no sentence here is generated from
anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from priorauth.case.appeal import Answer, Certification, StatedReason
from priorauth.case.model import Case
from priorauth.reference import denial_reasons
from priorauth.reference.denial_reasons import CertificationSpec
from priorauth.reference.evidence import EvidenceEntry, entries


@dataclass(frozen=True)
class AnsweredPoint:
    point: str
    """The checklist point's heading (our wording, from denial-reasons.yaml)."""
    answer: Answer
    """The clinician's answer, printed as written."""


@dataclass(frozen=True)
class CertificationView:
    spec: CertificationSpec
    """The statute: its name, scope, source and the wording of each element."""
    given: Certification
    """What the physician certified, as the case records it."""
    condition: str
    """The statute's wording for the condition the physician chose."""
    standard_therapies: str
    """The statute's wording for the ground about standard therapies the physician chose."""
    evidence: list[EvidenceEntry]
    """Every document the physician relies on, in the case's order."""

    @property
    def negative(self) -> list[EvidenceEntry]:
        return [e for e in self.evidence if e.negative]


@dataclass(frozen=True)
class ReasonSection:
    code: str
    """The reason's code, e.g. 'investigational'."""
    label: str
    """The reason's label, e.g. 'Experimental or investigational'."""
    stated: str | None
    """This reason in the notice's own words, if the case gives them."""
    points: list[AnsweredPoint]
    """The answered checklist points, in the data file's order."""
    open_points: list[str]
    """Checklist points without an answer (``check`` reports them; the letter omits them)."""
    certification: CertificationView | None
    """The external-review certification (an investigational reason only)."""


def _certification(reason: StatedReason) -> CertificationView | None:
    spec = denial_reasons.get(reason.code).certification
    given = reason.certification
    if given is None or spec is None:
        return None
    return CertificationView(spec, given, spec.condition[given.condition],
                             spec.standard_therapies[given.standard_therapies],
                             entries(dict.fromkeys(given.evidence)))


def reason_sections(case: Case) -> list[ReasonSection]:
    """The appeal's structured reasons in the order the case lists them."""
    denial = case.letter.denial
    if denial is None:
        return []
    sections: list[ReasonSection] = []
    for reason in denial.reasons:
        spec = denial_reasons.get(reason.code)
        by_item = {a.item: a for a in reason.answers}
        sections.append(ReasonSection(
            code=reason.code, label=spec.label, stated=reason.stated,
            points=[AnsweredPoint(i.heading, by_item[i.id]) for i in spec.checklist
                    if i.id in by_item],
            open_points=[i.id for i in spec.checklist if i.id not in by_item],
            certification=_certification(reason)))
    return sections
