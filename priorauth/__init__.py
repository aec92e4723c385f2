"""priorauth: prior-authorization letters for IV ketamine infusion, built only from the record.

Public API (stable)::

    case = priorauth.load_case("case.yaml")     # raises CaseInvalid with every problem
    pdf = priorauth.render_pdf(case)            # bytes
    html = priorauth.render_html(case)

Rendering imports WeasyPrint lazily, so validating cases stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from priorauth.case.model import Case
from priorauth.case.parse import case_from_data, load_case, parse_case
from priorauth.errors import (
    CaseInvalid,
    PolicyError,
    PriorAuthError,
    Problem,
    RenderError,
    TemplateError,
)

__version__ = "0.1.0"

__all__ = [
    "Case",
    "CaseInvalid",
    "PolicyError",
    "PriorAuthError",
    "Problem",
    "RecordResult",
    "RenderError",
    "TemplateError",
    "__version__",
    "case_from_data",
    "load_case",
    "parse_case",
    "render_html",
    "render_many",
    "render_pdf",
]

if TYPE_CHECKING:
    from priorauth.batch import RecordResult, render_many
    from priorauth.letter.render import render_html, render_pdf


def __getattr__(name: str) -> Any:
    """Import the renderer (and with it WeasyPrint) only when it is first used."""
    if name in ("render_html", "render_pdf"):
        from priorauth.letter import render

        return getattr(render, name)
    if name in ("render_many", "RecordResult"):
        from priorauth import batch

        return getattr(batch, name)
    raise AttributeError(f"module 'priorauth' has no attribute {name!r}")
