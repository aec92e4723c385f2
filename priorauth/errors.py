"""Every exception priorauth raises, and the exit codes the CLI maps them to.

Library code raises these and never prints or exits; one handler in :mod:`priorauth.cli` turns
them into a message and an :class:`ExitCode`. Three kinds, never confused:

- :class:`PriorAuthError` and its subclasses: the *input* is wrong (case, template, policy file,
  option). The user can fix it: exit 2.
- :class:`ReferenceDataError`: the data bundled *with priorauth* is broken (a bad install or a
  bad edit of ``priorauth/reference``). Never swallowed, never "policy not found": exit 70.
- anything else: a bug. Exit 70 with a one-line "please report"; the traceback with ``--debug``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


class ExitCode(enum.IntEnum):
    """What every ``priorauth`` command exits with (README, "Exit codes")."""

    OK = 0
    """Done; every criterion met / every record rendered."""
    NOT_MET = 1
    """Criteria not met, an import that still needs a human, or some batch records failed."""
    INVALID = 2
    """Invalid input or usage: the message names the field or option and the fix."""
    INTERNAL = 70
    """A bug or broken bundled data (``EX_SOFTWARE``): please report it."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT)."""
    TERMINATED = 143
    """SIGTERM, as sent by schedulers."""


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
    value: str | None = field(default=None, compare=False, repr=False)
    code: str = "value.invalid"
    """What kind of problem, from :data:`priorauth.codes.CODES` (stable; never the value)."""

    def location(self) -> str:
        """``file:line: path`` — the prefix a person needs to find the problem."""
        where = self.source or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        parts = [p for p in (where, self.path) if p]
        return ": ".join(parts) if parts else "(case)"

    def format(self, *, show_value: bool = False) -> str:
        """``location: message``; the value only when the caller says it is safe to show."""
        text = f"{self.location()}: {self.message}"
        if show_value and self.value is not None:
            text += f" (got {self.value})"
        return text

    def to_dict(self, *, include_value: bool = False) -> dict[str, Any]:
        """The problem as plain data (code, path, message, line...), without the value unless
        ``include_value``."""
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

    def __str__(self) -> str:
        """The count, then one line per problem: location and message, never the value."""
        lines = [str(self.args[0])]
        lines += [f"  {problem.format()}" for problem in self.problems]
        return "\n".join(lines)


class TemplateError(PriorAuthError):
    """A letter template is missing, malformed, or uses something it may not."""


class PolicyError(PriorAuthError):
    """A policy the user named (an id or a policy file) is unknown or malformed."""


class NoPolicyError(PolicyError):
    """No bundled policy applies to the case's diagnoses and none was named.

    The letter pipeline treats this as a result (the letter has no criteria section); ``check``
    and ``render --strict`` refuse with :data:`NO_POLICY_MESSAGE`.
    """

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or NO_POLICY_MESSAGE)


NO_POLICY_MESSAGE = ("no bundled payer policy applies to this case's diagnoses; name one with "
                     "--policy ID or a policy file (`priorauth check --list-policies` lists them)")
"""The one wording every command uses when no policy applies (it names no record value)."""


class ReferenceDataError(Exception):
    """Data bundled with priorauth (catalogue, ICD index, evidence, policies) is malformed.

    Deliberately *not* a :class:`PriorAuthError`: it is not the user's input, so no handler may
    mistake it for a bad case or an unknown policy and carry on without the data.
    """


class RenderError(PriorAuthError):
    """WeasyPrint could not produce the PDF (e.g. a refused or missing asset)."""


class OutputError(PriorAuthError):
    """An output path priorauth will not write to (a folder, a dangling link, a socket)."""


class BatchError(PriorAuthError):
    """A batch cannot start: the output folder is unusable or in use by another batch."""


class LedgerError(PriorAuthError):
    """The tracking ledger cannot be opened, or an entry cannot be recorded (exit 2)."""


class InvalidValue(ValueError):
    """Raised by field validators: a plain-words message plus a stable code from
    :data:`priorauth.codes.CODES` (pydantic keeps the instance in the error's ``ctx``)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class DetailedValueError(InvalidValue):
    """A validator's message that names no value, plus a ``detail`` that does (the typed code
    and what to use instead). ``str()`` is the message alone: the detail reaches a person only
    where values may be shown (an interactive terminal without ``--redact``)."""

    def __init__(self, message: str, detail: str, code: str = "value.invalid") -> None:
        self.message = message
        self.detail = detail
        super().__init__(code, message)


class FieldProblems(ValueError):
    """Raised inside model validators to blame specific sub-fields, e.g. ``end`` of a therapy.

    pydantic keeps the exception instance in the error's ``ctx``, so ``load`` can turn
    ``prior_therapies[2]`` + ``end`` into ``prior_therapies[2].end``. Each item is
    ``(path, message)`` or ``(path, message, code)``; the code defaults to ``value.invalid``.
    """

    def __init__(self, items: Sequence[tuple[str, str] | tuple[str, str, str]]) -> None:
        self.coded: list[tuple[str, str, str]] = [
            (item[0], item[1], item[2] if len(item) > 2 else "value.invalid")  # type: ignore[misc]
            for item in items]
        self.items = [(path, message) for path, message, _ in self.coded]
        super().__init__("; ".join(f"{path}: {message}" for path, message in self.items))
