"""The exceptions priorauth raises for problems a user can fix.

Library code raises these and never prints or exits; the CLI turns them into messages and
exit codes.
Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located precisely enough to fix it.

    ``value`` is the offending input (shortened). It may be PHI, so it is never shown unless the
    caller decides it is safe (an interactive terminal without ``--redact``).
    """

    path: str
    message: str
    line: int | None = None
    column: int | None = None
    source: str | None = None
    value: str | None = field(default=None, compare=False)

    def location(self) -> str:
        """``file:line: path`` — the prefix a person needs to find the problem."""
        where = self.source or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.path) if p]
        return ": ".join(parts) if parts else "(case)"

    def format(self, *, show_value: bool = False) -> str:
        text = f"{self.location()}: {self.message}"
        if show_value and self.value is not None:
            text += f" (got {self.value})"
        return text

    def to_dict(self, *, include_value: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not include_value:
            data.pop("value")
        return {k: v for k, v in data.items() if v is not None}


class PriorAuthError(Exception):
    """Base class for every error caused by input rather than by a bug."""


class CaseInvalid(PriorAuthError):
    """The case file could not be read or does not describe a valid case."""

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source or 'case'}: {count} {noun}")


class TemplateError(PriorAuthError):
    """A letter template is missing, malformed, or uses something it may not."""


class PolicyError(PriorAuthError):
    """A payer policy file is missing or malformed."""


class RenderError(PriorAuthError):
    """WeasyPrint could not produce the PDF (e.g. a refused or missing asset)."""


class FieldProblems(ValueError):
    """Raised inside model validators to blame specific sub-fields, e.g. ``end`` of a therapy.

    pydantic keeps the exception instance in the error's ``ctx``, so ``load`` can turn
    ``prior_therapies[2]`` + ``end`` into ``prior_therapies[2].end``.
    """

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items
        super().__init__("; ".join(f"{path}: {message}" for path, message in items))
