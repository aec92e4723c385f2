"""Invisible and bidi characters: a printed value must read as it is stored. Names and ids refuse
every format (Cf) or control character; free text keeps only what a language needs."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

import priorauth
from tests.conftest import SAMPLES

BASE: dict[str, Any] = yaml.safe_load(
    (SAMPLES / "chronic-migraine-with-aura.yaml").read_text("utf-8"))


def _problems(path: tuple[str, ...], value: str) -> list[str]:
    data = copy.deepcopy(BASE)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        priorauth.parse_case(data)
    except priorauth.CaseInvalid as exc:
        return [p.path for p in exc.problems]
    return []


@pytest.mark.parametrize("char", ["\u200f", "\u200e", "\u200b", "\u2060", "\u202e", "\u2066",
                                  "\ufeff", "\u00ad", "\u3164", "\u2028", "\n", "\ue000"])
@pytest.mark.parametrize("path", [("patient", "member_id"), ("patient", "family_name"),
                                  ("provider", "name")])
def test_names_and_ids_refuse_invisible_characters(path: tuple[str, ...], char: str) -> None:
    assert ".".join(path) in _problems(path, f"AB{char}123")


@pytest.mark.parametrize("char", ["\u200c", "\u200d", "\u200f", "\u061c", "\n", "\t"])
def test_free_text_keeps_what_languages_need(char: str) -> None:
    assert _problems(("rationale",), f"\u0645\u06cc{char}\u062e\u0648\u0627\u0647\u0645 text") \
        == []


@pytest.mark.parametrize("char", ["\u200b", "\u2060", "\u202e", "\u2066", "\ufeff", "\x07"])
def test_free_text_refuses_the_rest(char: str) -> None:
    assert "rationale" in _problems(("rationale",), f"text{char}more")
