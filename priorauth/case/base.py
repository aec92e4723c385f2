"""The base model every part of a case shares (its own module so that case sections kept in
their own modules, e.g. ``crps.py``, can use it without importing ``model.py``)."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from priorauth.errors import FieldProblems


class Model(BaseModel):
    """Base for every part of a case: unknown fields are errors, text is trimmed, true/false
    is never a number (``sessions: true`` is not 1 session)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,
        allow_inf_nan=False,
        populate_by_name=True,
        use_enum_values=False,
        defer_build=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, data: Any) -> Any:
        if isinstance(data, dict):
            wrong = [(name, "must be a number, not true/false", "type.number")
                     for name, value in data.items()
                     if isinstance(value, bool) and _numeric(cls, name)]
            if wrong:
                raise FieldProblems(wrong)
        return data


def _numeric(model: type[BaseModel], name: str) -> bool:
    """Whether field ``name`` takes a number and not a boolean."""
    field = model.model_fields.get(name)
    if field is None:
        return False
    kinds = set(typing.get_args(field.annotation)) | {field.annotation}
    return bool(kinds & {int, float}) and bool not in kinds
