"""An untouched ``priorauth init`` starter is not a case: its placeholder names, payer and
rationale would print as if they were the record's. The placeholders are read from the starter
itself (``reference/starter-case.yaml``), so editing the starter keeps this check in step."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from priorauth.reference import load_yaml

STARTER_FILE = "starter-case.yaml"

# The starter's fields that are placeholders (not plausible values), by dotted path.
PLACEHOLDER_FIELDS = (
    "patient.given_name", "patient.family_name", "payer.name", "provider.name",
    "provider.practice", "facility.name", "rationale",
)
MESSAGE = ("is still the placeholder from `priorauth init`; replace it with what the record says")


def _get(data: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _same(value: Any) -> str | None:
    return " ".join(value.split()).casefold() if isinstance(value, str) else None


@functools.cache
def placeholders() -> dict[str, str]:
    """Dotted path -> the starter's placeholder text (whitespace- and case-folded)."""
    starter = load_yaml(STARTER_FILE)
    found = {path: _same(_get(starter, path)) for path in PLACEHOLDER_FIELDS}
    return {path: text for path, text in found.items() if text}


def placeholder_problems(data: Any) -> list[tuple[str, str, str]]:
    """``(path, message, code)`` for every field still holding the starter's placeholder."""
    return [(path, MESSAGE, "case.starter") for path, text in placeholders().items()
            if _same(_get(data, path)) == text]
