"""priorauth: prior-authorization letters for IV ketamine infusion, built only from the record.

The public API (everything else is private and may change)::

    import priorauth

    case = priorauth.load_case("case.yaml")         # CaseInvalid lists every problem
    report = priorauth.check_case(case)             # the payer checklist
    letter = priorauth.render_letter(case)          # .data (PDF bytes), .pages, .unmet
    for record in priorauth.render_many(["cases/"], "letters/"):
        print(record.status)

Functions (options are keyword-only)
    load_case(path)        read and validate a case file (YAML/JSON; "-" = stdin) -> Case
    parse_case(data)       validate YAML/JSON text, bytes or a mapping -> Case
    check_case(case)       the payer checklist -> CheckReport (.results, .all_met, .unmet)
    render_letter(case)    the letter -> LetterResult (.data, .pages, .unmet, .warnings)
    render_many(inputs, outdir)  many records (files, folders, NDJSON, objects), streamed,
                           resumable, on any concurrent.futures.Executor -> RecordResult each
    import_fhir(source)    a FHIR R4 Bundle / Bulk Data folder -> draft case and import report

Classes
    Case                   the validated case (a pydantic model; `priorauth schema` prints its
                           JSON Schema, help(priorauth.Case) the model itself)
    RecordResult           what happened to one batch record (status, output, reason)
    Problem                one problem: code, path, line, message (the value is never shown)
    ExitCode               what the CLI exits with (0 ok, 1 not met, 2 invalid, 70 internal)

Errors
    PriorAuthError         base of every input error (exit 2): CaseInvalid (.problems),
                           TemplateError, PolicyError (NoPolicyError), RenderError
    ReferenceDataError     data bundled with priorauth is broken (exit 70), never an input error

``__version__`` is the package version. ``import priorauth`` does not import WeasyPrint:
rendering loads it on first use, so validating and checking stay fast. Problem codes are listed
in :data:`priorauth.codes.CODES`.
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
    """The public names, except ``Case``: pydoc documents every class ``dir()`` lists, and
    ``help(priorauth)`` should show the API (the module docstring describes ``Case``), not the
    pydantic internals of a model class. ``priorauth.Case`` and ``__all__`` are unchanged."""
    return sorted(set(__all__) - {"Case"})
