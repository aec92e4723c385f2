"""A case whose every string is a unique marker (helpers for test_redact.py).

Each string leaf of the sample case is replaced by a marker such as ``Qzvmark`` + letters when the
case stays valid with it (names, ids, free text, descriptions, drug names, sources); fields whose
syntax a marker cannot meet (codes, NPIs, enums, dates, numbers) keep their value in the valid
case and get a marker in the invalid ones, so every field's error message is searched too.
"""

from __future__ import annotations

import copy
import string
from collections.abc import Iterator
from typing import Any

import yaml

from priorauth.case.parse import case_from_data
from priorauth.errors import CaseInvalid
from tests.conftest import SAMPLES

SAMPLE: dict[str, Any] = yaml.safe_load(
    (SAMPLES / "continuation-migraine.yaml").read_text("utf-8"))
"""The continuation sample: every field of the initial letter plus the infusion log."""
PREFIX = "Qzv"
"""No word of a message, template or policy contains it."""
UNIQUE_DATES = {("patient", "date_of_birth"): "1961-07-23"}
"""Dates a marker cannot replace; unique values, searched in ISO and US forms."""

Path = tuple[str | int, ...]


def marker(index: int) -> str:
    """``Qzvmkab``: letters only, so names and ids accept it."""
    letters = string.ascii_lowercase
    return f"{PREFIX}mk{letters[index // 26 % 26]}{letters[index % 26]}"


def leaves(data: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from leaves(value, (*path, index))
    else:
        yield path, data


def put(data: Any, path: Path, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _valid(data: dict[str, Any]) -> bool:
    try:
        case_from_data(copy.deepcopy(data))
    except CaseInvalid:
        return False
    return True


def marked_case() -> tuple[dict[str, Any], dict[Path, str], list[Path]]:
    """(case data, marker of each marked path, paths a marker could not replace)."""
    data = copy.deepcopy(SAMPLE)
    data["id"] = "phi-markers"
    for path, value in UNIQUE_DATES.items():
        put(data, path, value)
    marked: dict[Path, str] = {}
    kept: list[Path] = []
    for index, (path, value) in enumerate(list(leaves(data))):
        if path == ("id",):
            continue
        if not isinstance(value, str) or value in ("", None):
            kept.append(path)
            continue
        trial = copy.deepcopy(data)
        put(trial, path, marker(index))
        if _valid(trial):
            data = trial
            marked[path] = marker(index)
        else:
            kept.append(path)
    assert _valid(data)
    return data, marked, kept


def invalid_cases(data: dict[str, Any], marked: dict[Path, str], kept: list[Path],
                  per_case: int = 40) -> list[dict[str, Any]]:
    """Cases in which every field in turn holds an invalid value with a marker inside (marked
    text with a control character after it; other fields the marker itself), ``per_case``
    fields per case so no message is cut by MAX_PROBLEMS."""
    paths = sorted(set(marked) | {p for p in kept if p != ("id",)}, key=str)
    cases = []
    for start in range(0, len(paths), per_case):
        case = copy.deepcopy(data)
        case["id"] = f"phi-invalid-{start // per_case}"
        for offset, path in enumerate(paths[start:start + per_case]):
            text = marked.get(path) or marker(500 + start + offset)
            put(case, path, text + "\x07" if path in marked else text)
        cases.append(case)
    return cases


def all_markers(data: dict[str, Any], cases: list[dict[str, Any]]) -> set[str]:
    found = {v for _, v in leaves(data) if isinstance(v, str) and PREFIX in v}
    for case in cases:
        found |= {v.rstrip("\x07") for _, v in leaves(case) if isinstance(v, str) and PREFIX in v}
    return found
