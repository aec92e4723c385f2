"""``templates dump``: the exact variables a template receives for one case, as JSON, so an
author can see what ``{{ ctx.criteria[0].label }}`` will print before writing it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from priorauth.case.model import Case
from priorauth.letter.templates import FAX_COVER, KIND_TEMPLATES, attribute_names

MAX_DEPTH = 12
"""Deeper than any case object nests; a guard, not a limit anyone meets."""


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data, showing what a template can reach: the fields and
    properties of case objects (not their methods), enums by value, dates as ISO text."""
    if depth > MAX_DEPTH:
        return "…"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value, depth + 1)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return value.name
    names = attribute_names(value) if isinstance(value, BaseModel) or (
        dataclasses.is_dataclass(value) and not isinstance(value, type)) else None
    if names is not None:
        out: dict[str, Any] = {}
        for name in names:
            try:
                out[name] = jsonable(getattr(value, name), depth + 1)
            except Exception as exc:
                out[name] = f"<error: {type(exc).__name__}>"
        return out
    if isinstance(value, Mapping):
        return {str(key): jsonable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, Sequence | set | frozenset):
        return [jsonable(item, depth + 1) for item in value]
    return str(value)


def template_inputs(case: Case, *, template: str | None = None,
                    templates_dirs: Sequence[Path] = (),
                    policy: str | None = None) -> tuple[str, dict[str, Any]]:
    """(template name, its variables as JSON data) for ``case``: the template ``render`` would
    use (or ``template``), through the same pipeline. The fax cover's ``fax`` counts the pages
    of the letter laid out for real (the cover itself counted as one page)."""
    from priorauth.letter.context import template_variables
    from priorauth.letter.pipeline import LetterPipeline
    from priorauth.letter.render import FaxInfo

    pipeline = LetterPipeline(template=template, templates_dirs=templates_dirs, policy=policy)
    prepared = pipeline.prepare(case)
    renderer = pipeline.renderer
    name = renderer.template_name_for(case)
    variables = template_variables(case, prepared.context)
    fax_names = {FAX_COVER, renderer.config.template_for(case, FAX_COVER)}
    if name in fax_names:
        role = KIND_TEMPLATES[case.letter.kind]
        letter_template = renderer.config.template_for(case, role)
        pages = len(renderer.document(case, prepared.context, template=letter_template).pages)
        variables["fax"] = FaxInfo(pages + 1, 1, pages, role)
    return name, jsonable(variables)
