"""priorauth: prior-authorization letters for IV ketamine infusion, built only from the record.

The public API (everything else is private and may change)::

    import priorauth

    case = priorauth.load_case("case.yaml")         # CaseInvalid lists every problem
    report = priorauth.check_case(case)             # the payer checklist
    letter = priorauth.render_letter(case)          # .data (PDF bytes), .pages, .unmet
    for record in priorauth.render_many(["cases/"], "letters/"):
        print(record.status)

Options are keyword-only. ``import priorauth`` does not import WeasyPrint: rendering loads it on
first use, so validating and checking stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from priorauth._api import check_case, import_fhir, load_case, parse_case, render_letter
from priorauth.errors import (
    CaseInvalid,
    ExitCode,
    NoPolicyError,
    PolicyError,
    PriorAuthError,
    Problem,
    ReferenceDataError,
    RenderError,
    TemplateError,
)

__version__ = "0.1.0"

__all__ = [
    "Case",
    "CaseInvalid",
    "ExitCode",
    "NoPolicyError",
    "PolicyError",
    "PriorAuthError",
    "Problem",
    "RecordResult",
    "ReferenceDataError",
    "RenderError",
    "TemplateError",
    "__version__",
    "check_case",
    "import_fhir",
    "load_case",
    "parse_case",
    "render_letter",
    "render_many",
]

if TYPE_CHECKING:
    from priorauth.batch import RecordResult, render_many
    from priorauth.case.model import Case


def __getattr__(name: str) -> Any:
    """Build the case model (pydantic) and the batch machinery (WeasyPrint) on first use, so
    ``priorauth --help`` and ``validate`` start fast."""
    if name == "Case":
        from priorauth.case.model import Case

        return Case
    if name in ("render_many", "RecordResult"):
        from priorauth import batch

        return getattr(batch, name)
    raise AttributeError(f"module 'priorauth' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
