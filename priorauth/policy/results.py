"""What a criterion's check gives back: a verdict with the record facts behind it. Its own module so
that the criterion kinds kept elsewhere (consensus.py, continuation.py) share the types without
importing the checklist that calls them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """A criterion's verdict: met, not met, or unknown (the record does not say enough)."""

    met = "met"
    not_met = "not met"
    unknown = "unknown"


VERDICT_RANK = {Verdict.met: 2, Verdict.unknown: 1, Verdict.not_met: 0}


@dataclass(frozen=True)
class Fact:
    """One record fact a verdict rests on. ``counted``: True counted, False did not count, None
    plain information."""

    text: str
    """The fact, in words built from the record."""
    counted: bool | None = None
    """True: it counted towards the criterion; False: it did not; none: plain information."""


@dataclass(frozen=True)
class CriterionResult:
    """One criterion of the policy, its verdict and the record facts behind it."""

    id: str
    """The criterion's id in its policy file."""
    label: str
    """The criterion as the policy states it (the letter's heading for it)."""
    verdict: Verdict
    """'met', 'not met' or 'unknown'; a letter shows only met criteria."""
    summary: str
    """One line: what in the record meets the criterion, or what is missing."""
    facts: tuple[Fact, ...] = ()
    """The record facts the verdict rests on."""
    fields: tuple[str, ...] = ()
    """The case fields (YAML paths) to fill or correct when the verdict is not met or unknown."""

    @property
    def met(self) -> bool:
        """The verdict is 'met'."""
        return self.verdict is Verdict.met
