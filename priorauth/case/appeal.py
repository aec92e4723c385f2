"""The structured side of an appeal: the reasons a denial notice states, the clinician's answer to
each point of each reason's checklist, and the external-review certification.

Hung on the case as ``letter.denial.reasons`` (see :class:`priorauth.case.model.Denial`). Answers
and the certification statement are the clinician's words; priorauth only checks that every
point has one (:func:`appeal_report`) and prints them in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from priorauth.case.fields import CleanName, Text
from priorauth.errors import FieldProblems
from priorauth.reference import denial_reasons
from priorauth.reference import evidence as _evidence

ReasonCode = Annotated[CleanName, AfterValidator(denial_reasons.check_code)]
EvidenceId = Annotated[CleanName, AfterValidator(_evidence.check_id)]


class _Part(BaseModel):
    """Same rules as :class:`priorauth.case.model.Model` (which imports this module, so this
    module cannot import it): unknown fields are errors, text is trimmed, values stay as typed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              coerce_numbers_to_str=True, allow_inf_nan=False,
                              populate_by_name=True)


class Answer(_Part):
    """The clinician's answer to one checklist point of one stated reason."""

    item: CleanName = Field(description="Checklist point answered (see denial-reasons.yaml).")
    response: Text = Field(description="The clinician's answer, from the record.")
    source: CleanName | None = Field(
        default=None, description="Document the answer rests on, e.g. 'Neurology note 2026-10-28'.")


class Certification(_Part):
    """The physician's external-review certification for an investigational denial. Each
    choice is the physician's; the letter prints the statute's element for it."""

    condition: Literal["life_threatening", "seriously_debilitating"] = Field(
        description="Which statutory condition the physician certifies the patient has.")
    standard_therapies: Literal["not_effective", "not_appropriate", "no_more_beneficial"] = Field(
        description="Which statutory ground about standard therapies the physician certifies.")
    likely_more_beneficial: bool = Field(
        description="The physician certifies the therapy is likely to be more beneficial than "
                    "any available standard therapy (must be true to certify).")
    board: Literal["board-certified", "board-eligible"] = Field(
        description="The physician's board status in the specialty treating the condition.")
    statement: Text = Field(description="The physician's own statement of the grounds.")
    evidence: list[EvidenceId] = Field(
        max_length=30, description="Ids from `priorauth evidence list` the physician relies on "
                                   "(at least two; every one is described, negative trials too).")

    @model_validator(mode="after")
    def _certifiable(self) -> Certification:
        problems: list[tuple[str, str]] = []
        if not self.likely_more_beneficial:
            problems.append(("likely_more_beneficial", "must be true for the physician to "
                             "certify; without it, remove the certification"))
        cited = len(dict.fromkeys(self.evidence))
        needed = denial_reasons.get("investigational").certification
        minimum = needed.min_evidence if needed is not None else 2
        if cited < minimum:
            noun = "entry" if cited == 1 else "entries"
            problems.append(("evidence", f"cites {cited} evidence {noun}; the certification "
                             f"needs at least {minimum} documents of medical and scientific "
                             "evidence: add ids from `priorauth evidence list`"))
        if problems:
            raise FieldProblems(problems)
        return self


class StatedReason(_Part):
    """One reason the denial notice states, and the clinician's answers to its checklist."""

    code: ReasonCode = Field(description="investigational, not_medically_necessary, "
                                         "step_therapy, missing_information, coding, "
                                         "site_of_care or out_of_network.")
    stated: Text | None = Field(default=None,
                                description="This reason in the notice's own words.")
    answers: list[Answer] = Field(
        default_factory=list, max_length=10,
        description="The clinician's answer to each checklist point (printed in the data order).")
    certification: Certification | None = Field(
        default=None, description="External-review certification (investigational only).")

    @model_validator(mode="after")
    def _answers_fit(self) -> StatedReason:
        spec = denial_reasons.get(self.code)
        problems: list[tuple[str, str]] = []
        seen: set[str] = set()
        for index, answer in enumerate(self.answers):
            if spec.item(answer.item) is None:
                problems.append((f"answers[{index}].item", f"is not a point of '{self.code}'; "
                                 f"use one of {', '.join(i.id for i in spec.checklist)}"))
            elif answer.item in seen:
                problems.append((f"answers[{index}].item", "answers a point already answered; "
                                 "put both in one response"))
            seen.add(answer.item)
        if self.certification is not None and spec.certification is None:
            problems.append(("certification", f"applies only to an investigational denial, "
                             f"not '{self.code}'"))
        if problems:
            raise FieldProblems(problems)
        return self


def _distinct(reasons: list[StatedReason]) -> list[StatedReason]:
    seen: set[str] = set()
    for index, reason in enumerate(reasons):
        if reason.code in seen:
            raise FieldProblems([(f"[{index}].code", "is stated twice; answer each reason once")])
        seen.add(reason.code)
    return reasons


StatedReasons = Annotated[list[StatedReason], Field(max_length=10), AfterValidator(_distinct)]


# --- answered / not answered ------------------------------------------------------------------

@dataclass(frozen=True)
class ReasonStatus:
    """One stated reason: which checklist points the clinician answered, which are open."""

    index: int
    code: str
    label: str
    answered: tuple[str, ...]
    missing: tuple[str, ...]
    cite: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def field(self) -> str:
        """The YAML field to fill for this reason."""
        return f"letter.denial.reasons[{self.index}].answers"


def appeal_report(reasons: Sequence[Any]) -> list[ReasonStatus]:
    """Each stated reason answered or not (``reasons``: ``letter.denial.reasons``)."""
    report: list[ReasonStatus] = []
    for index, reason in enumerate(reasons):
        spec = denial_reasons.get(reason.code)
        done = {a.item for a in reason.answers}
        report.append(ReasonStatus(
            index, reason.code, spec.label,
            answered=tuple(i.id for i in spec.checklist if i.id in done),
            missing=tuple(i.id for i in spec.checklist if i.id not in done), cite=spec.cite))
    return report


def report_lines(statuses: Sequence[ReasonStatus], *,
                 details: bool = True) -> list[tuple[str, str | None]]:
    """``check``'s lines for an appeal: each reason answered / not answered, the field to fill
    (``details``: every checklist point with its mark, as ``check`` prints without --brief)."""
    lines: list[tuple[str, str | None]] = [("Appeal: the denial's stated reasons", None)]
    for status in statuses:
        verdict = "answered" if status.ok else "not answered"
        lines.append((f"  [{verdict}] {status.label} ({status.code})",
                      "met" if status.ok else "not met"))
        spec = denial_reasons.get(status.code)
        for item in spec.checklist if details else ():
            mark = "+" if item.id in status.answered else "-"
            lines.append((f"        {mark} {item.id}: {item.text}", None))
        if status.missing:
            lines.append((f"      fill {status.field}: add "
                          + ", ".join(f"{{item: {m}, response: ...}}" for m in status.missing),
                          None))
            lines.append((f"      cite from: {', '.join(status.cite)}", None))
    open_ = sum(not s.ok for s in statuses)
    lines.append((f"Appeal: {len(statuses) - open_} of {len(statuses)} stated reasons answered",
                  None))
    return lines
