"""The one path from a validated case to a letter, used by every command and the Python API.

``render``, ``batch``, ``templates preview`` and :func:`priorauth.render_letter` all call
:class:`LetterPipeline`, in two steps:

1. :meth:`LetterPipeline.prepare` — choose the policy (named, or the bundled one for the
   diagnoses, or none), run the checklist, build the template context, collect warnings. Cheap,
   no WeasyPrint. "No policy applies" is a result (:attr:`Prepared.no_policy`), not an exception;
   broken bundled data raises :class:`~priorauth.errors.ReferenceDataError` and is never hidden.
2. :meth:`LetterPipeline.produce` — Jinja2 → HTML → WeasyPrint → PDF/A bytes, with the page
   count, the unmet criteria and the warnings in one :class:`LetterResult`.

What a caller does with an unmet or missing policy (warn, refuse, report) is the caller's
choice; :meth:`Prepared.refusal` gives every ``--strict`` caller the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from priorauth.case.appeal import ReasonStatus
from priorauth.case.model import Case
from priorauth.errors import NO_POLICY_MESSAGE, ExitCode, Problem, RenderError
from priorauth.letter.context import LetterContext, context_for
from priorauth.policy.checks import CheckReport, CriterionResult, check_case, choose_policy
from priorauth.policy.spec import Policy, get_policy

if TYPE_CHECKING:
    from priorauth.letter.render import Renderer

Format = Literal["pdf", "html"]


@dataclass(frozen=True)
class Refusal:
    """Why ``--strict`` does not render a case, and the exit code that says so."""

    reason: str
    exit_code: ExitCode


@dataclass(frozen=True)
class Prepared:
    """A case ready to be laid out: its policy verdicts, template context and warnings."""

    case: Case
    context: LetterContext
    check: CheckReport | None
    """The full checklist; ``None`` when no policy applies."""
    warnings: tuple[Problem, ...]
    """Record warnings (a class disagreeing with the catalogue, an unknown drug name ...)."""

    @property
    def no_policy(self) -> str | None:
        """Why the letter has no criteria section (no policy applies), or ``None``."""
        return NO_POLICY_MESSAGE if self.check is None else None

    @property
    def unmet(self) -> tuple[CriterionResult, ...]:
        """Criteria not met or unknown (left out of the letter)."""
        return tuple(self.check.unmet) if self.check is not None else ()

    @property
    def policy_id(self) -> str | None:
        return self.check.policy.id if self.check is not None else None

    @property
    def unanswered(self) -> tuple[ReasonStatus, ...]:
        """An appeal's stated reasons with a checklist point the clinician has not answered."""
        return tuple(s for s in self.context.appeal_status if not s.ok)

    def refusal(self) -> Refusal | None:
        """What ``--strict`` says: no policy is invalid input (exit 2), unmet criteria or an
        unanswered denial reason exit 1."""
        if self.check is None:
            return Refusal(NO_POLICY_MESSAGE, ExitCode.INVALID)
        if self.unmet:
            return Refusal(f"{len(self.unmet)} criteria of policy {self.check.policy.id} not "
                           "met or unknown", ExitCode.NOT_MET)
        if self.unanswered:
            return Refusal(unanswered_message(self.unanswered), ExitCode.NOT_MET)
        return None


def unanswered_message(unanswered: Sequence[ReasonStatus]) -> str:
    """'1 stated denial reason not answered: investigational (fill ...)' — codes and field
    paths only, never a record value."""
    count = len(unanswered)
    return (f"{count} stated denial reason{'s' if count != 1 else ''} not answered: "
            + "; ".join(f"{s.code} (fill {s.field})" for s in unanswered))


@dataclass(frozen=True)
class LetterResult:
    """A rendered letter and everything a caller needs to report on it."""

    data: bytes
    """PDF bytes, or UTF-8 HTML."""
    format: Format
    pages: int | None
    """Pages in the PDF (fax cover included); ``None`` for HTML."""
    template: str
    """Template used for the letter (the fax cover's is chosen by the same rules)."""
    policy_id: str | None
    unmet: tuple[CriterionResult, ...]
    no_policy: str | None
    warnings: tuple[Problem, ...]
    unanswered: tuple[ReasonStatus, ...] = ()
    """An appeal's stated reasons not fully answered (the letter prints only the answers)."""
    template_reason: str = ""
    """Why that template: ``--template``, a payer rule (file and index) or ``letter.kind``;
    never a record value, so it may be printed under ``--redact``."""

    @property
    def all_met(self) -> bool:
        """A policy applies, every criterion is met and every stated denial reason answered."""
        return self.no_policy is None and not self.unmet and not self.unanswered


class LetterPipeline:
    """Turns cases into letters; reuse one for many letters (templates, fonts and assets are
    loaded once — a batch worker keeps one for thousands of letters).

    ``template``: a template name (default: by ``letter.kind`` and the payer rules).
    ``templates_dirs``: override folders searched before the bundled templates.
    ``policy``: a :class:`Policy`, a bundled id or a policy file for every case (default: the
    bundled policy for each case's diagnoses). An unknown id raises
    :class:`~priorauth.errors.PolicyError` here, before any case is read.
    """

    def __init__(self, *, template: str | None = None, templates_dirs: Sequence[Path] = (),
                 policy: Policy | str | None = None) -> None:
        self.policy = get_policy(policy) if isinstance(policy, str) else policy
        self.template = template
        self.templates_dirs = tuple(templates_dirs)
        self._renderer: Renderer | None = None

    @property
    def renderer(self) -> Renderer:
        """Templates and fonts, loaded on first use (``check`` needs neither)."""
        if self._renderer is None:
            from priorauth.letter.render import Renderer

            self._renderer = Renderer(self.template, self.templates_dirs)
        return self._renderer

    def prepare(self, case: Case) -> Prepared:
        """Policy, checklist, context and warnings for ``case`` (no layout, no WeasyPrint)."""
        chosen = choose_policy(case, self.policy)
        report = check_case(case, chosen) if chosen is not None else None
        if report is not None:
            warnings = tuple(report.warnings)
        else:
            from priorauth.policy.warnings import record_warnings

            warnings = tuple(record_warnings(case))
        return Prepared(case, context_for(case, report), report, warnings)

    def produce(self, prepared: Prepared, *, fmt: Format = "pdf", pdf_a: bool = True,
                tagged: bool = False, fax_cover: bool = False) -> LetterResult:
        """Lay out and write the letter (HTML or PDF) for a prepared case."""
        case = prepared.case
        template = self.renderer.template_name_for(case)
        pages: int | None
        from weasyprint.urls import FatalURLFetchingError

        try:
            if fmt == "html":
                page = self.renderer.self_contained_html(case, prepared.context)
                data, pages = page.encode("utf-8"), None
            else:
                data, pages = self.renderer.pdf_and_pages(case, prepared.context, pdf_a=pdf_a,
                                                          tagged=tagged, fax_cover=fax_cover)
        except FatalURLFetchingError as exc:  # a BaseException in WeasyPrint: never let it out
            raise RenderError(f"the letter refers to something it may not load: {exc}") from None
        return LetterResult(data, fmt, pages, template, prepared.policy_id, prepared.unmet,
                            prepared.no_policy, prepared.warnings,
                            unanswered=prepared.unanswered,
                            template_reason=self.renderer.template_reason(case))

    def render(self, case: Case, *, fmt: Format = "pdf", pdf_a: bool = True,
               tagged: bool = False, fax_cover: bool = False) -> LetterResult:
        """:meth:`prepare` then :meth:`produce`."""
        return self.produce(self.prepare(case), fmt=fmt, pdf_a=pdf_a, tagged=tagged,
                            fax_cover=fax_cover)
