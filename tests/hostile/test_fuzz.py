"""Property tests: any bytes, text or data give a Case or a friendly CaseInvalid.

Never another exception, never a hang, never unbounded memory. Example counts come from
``PRIORAUTH_FUZZ_EXAMPLES`` (default small, so CI stays fast); run the full campaign by hand with

    PRIORAUTH_FUZZ_EXAMPLES=10000 .venv/bin/pytest tests/test_fuzz.py -m slow -q
"""

from __future__ import annotations

import copy
import json
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from priorauth import parse_case
from priorauth.case.model import Case
from priorauth.case.parse import MAX_PROBLEMS, case_from_data
from priorauth.errors import CaseInvalid

REPO = Path(__file__).resolve().parents[2]
SAMPLE_TEXT = (REPO / "samples" / "chronic-migraine-with-aura.yaml").read_text("utf-8")
SAMPLE: dict[str, Any] = yaml.safe_load(SAMPLE_TEXT)

EXAMPLES = int(os.environ.get("PRIORAUTH_FUZZ_EXAMPLES", "60"))
"""Examples per property in the everyday suite; the slow test multiplies it."""

SLOW_EXAMPLES = int(os.environ.get("PRIORAUTH_FUZZ_EXAMPLES", "300"))

"""A single load must finish well within this (a real case loads in milliseconds)."""

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # time is for benchmarks/: a loaded CI machine must not fail a test
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
    database=None,
)

# --- hostile values -----------------------------------------------------------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
SPECIAL_STRINGS = [
    "", " ", "0000-00-00", "9999-12-31", "0001-01-01", "2024-02-30", "2024-13-01", "1e999",
    "NaN", "nan", "Infinity", "-Infinity", "null", "~", "yes", "no", "on", "0x1F", "012345",
    "9" * 5000, "{{ 7*7 }}", "{% raw %}", "<script>alert(1)</script>",
    "<img src=file:///etc/passwd>", "url(http://example.invalid/x)", "\u202eevil\u202c",
    "A\u0000B", "\x85", "\ud800", "\udfff", "\ufeff", "\uffff", "\U0010ffff", "\U000e0001",
    "G43.719", "1234567893", "J3490", "96365", "(555) 010-0100", "OH", "43215",
    "Ng\u01b0\u1ec5n V\u0103n \u0110\u1ee9c", "\u0645\u062d\u0645\u062f",
    "\u0391\u03b8\u03b7\u03bd\u03ac",
]
LENGTHS = [1, 199, 200, 201, 20_000, 20_001, 1_000_000]

any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=[])
"""Every Unicode plane, including controls, bidi overrides, unassigned and lone surrogates."""


@st.composite
def huge_strings(draw: st.DrawFn) -> str:
    return draw(st.sampled_from("Aé\u202e\x00\U0001f600")) * draw(st.sampled_from(LENGTHS))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
    st.text(any_char, max_size=40),
    st.sampled_from(SPECIAL_STRINGS),
    huge_strings(),
)

structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(st.one_of(st.text(any_char, max_size=12), st.sampled_from(list(SAMPLE))),
                        children, max_size=6),
    ),
    max_leaves=30,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


SAMPLE_PATHS = [p for p in _paths(SAMPLE) if p]


@st.composite
def mutated_sample(draw: st.DrawFn) -> Any:
    """The valid sample with a few fields replaced, deleted or added: reaches deep validators."""
    data = copy.deepcopy(SAMPLE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(SAMPLE_PATHS))
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
            if action == "delete" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif action == "add" and isinstance(parent, dict):
                parent[draw(st.text(any_char, max_size=12))] = draw(scalars)
            else:
                parent[path[-1]] = draw(structures)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return data


YAML_TOKENS = [
    "- ", ": ", "{", "}", "[", "]", ",", "&a ", "*a", "&b ", "*b", "<<: *a\n", "!!binary ",
    "!!python/object/apply:os.system ", "!!timestamp ", "!!int ", "!!float ", "!!set ", "!!omap ",
    "? ", "\n", "  ", "\t", "'", '"', "#", "|\n", ">\n", "~", "0000-00-00", "2024-02-30",
    "9999-12-31T23:59:59-12:00", "9" * 40, ".nan", ".inf", "%YAML 1.1\n---\n", "---\n", "...\n",
    "letter", "patient", "prior_therapies", "date", "given_name", "\\u202e", "\\ud800", "\x00",
    "\ufeff", "\x85", "\u2028", "{{ 7*7 }}",
]


@st.composite
def yaml_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["tokens", "mutated", "dumped", "text"]))
    if kind == "tokens":
        return "".join(draw(st.lists(st.sampled_from(YAML_TOKENS), max_size=60)))
    if kind == "mutated":
        text = SAMPLE_TEXT
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            cut = draw(st.integers(0, 20))
            insert = draw(st.one_of(st.sampled_from(YAML_TOKENS), st.text(any_char, max_size=8)))
            text = text[:at] + insert + text[at + cut:]
        return text
    if kind == "dumped":
        data = draw(st.one_of(structures, mutated_sample()))
        try:
            return yaml.safe_dump(data, allow_unicode=draw(st.booleans()),
                                  default_flow_style=draw(st.sampled_from([None, True, False])))
        except (yaml.YAMLError, UnicodeEncodeError):
            return "{}"
    return draw(st.text(any_char, max_size=200))


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    data = draw(st.one_of(structures, mutated_sample()))
    text = json.dumps(data, default=str, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        insert = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "{", "]", ",", '"', "\\",
                                       "\\ud800", "1e999", "9" * 40, '"a": 1, "a": 2']))
        text = text[:at] + insert + text[at:]
    return text


# --- the invariant -------------------------------------------------------------------------------

RAW_PYDANTIC = ("Input should", "Value error", "validation error", "Traceback", "pydantic")


def assert_case_or_friendly(call: Callable[[], Case]) -> None:
    """``call`` returns a Case or raises CaseInvalid with located, plain-words problems."""
    try:
        case = call()
    except CaseInvalid as exc:
        assert exc.problems, "CaseInvalid without problems"
        assert len(exc.problems) <= MAX_PROBLEMS + 1
        for problem in exc.problems:
            assert isinstance(problem.path, str)
            assert problem.message and isinstance(problem.message, str)
            assert len(problem.message) <= 600, problem.message[:200]
            assert not any(raw in problem.message for raw in RAW_PYDANTIC), problem.message
            assert problem.value is None or len(problem.value) <= 60
            shown = problem.format(show_value=True)
            shown.encode("utf-8")  # printable: no lone surrogates in what the CLI prints
            assert len(problem.path) <= 2_000
    else:
        assert isinstance(case, Case)
        json.dumps(case.model_dump(mode="json"))  # every value is encodable downstream


# --- properties (CI size) ------------------------------------------------------------------------

@FUZZ
@given(structures)
def test_random_structures_validate_or_explain(data: Any) -> None:
    assert_case_or_friendly(lambda: case_from_data(data))


@FUZZ
@given(mutated_sample())
def test_mutated_sample_validates_or_explains(data: Any) -> None:
    assert_case_or_friendly(lambda: case_from_data(data))


@FUZZ
@given(yaml_texts())
def test_yaml_text_parses_or_explains(text: str) -> None:
    assert_case_or_friendly(lambda: parse_case(text, format="yaml", source="case.yaml"))


@FUZZ
@given(json_texts())
def test_json_text_parses_or_explains(text: str) -> None:
    assert_case_or_friendly(lambda: parse_case(text, format="json", source="case.json"))


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_parse_or_explain(raw: bytes) -> None:
    assert_case_or_friendly(lambda: parse_case(raw, format=None, source="case"))


# --- the full campaign (slow) --------------------------------------------------------------------

any_input = st.one_of(
    st.tuples(st.just("data"), st.one_of(structures, mutated_sample())),
    st.tuples(st.just("yaml"), yaml_texts()),
    st.tuples(st.just("json"), json_texts()),
    st.tuples(st.just("bytes"), st.binary(max_size=400)),
)

_campaign = {"examples": 0}


@pytest.mark.slow
@settings(
    max_examples=SLOW_EXAMPLES,
    deadline=None,  # time is for benchmarks/: a loaded CI machine must not fail a test
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(any_input)
def test_fuzz_campaign(item: tuple[str, Any]) -> None:
    """All loaders, mixed. ``PRIORAUTH_FUZZ_EXAMPLES=10000`` for the full run."""
    _campaign["examples"] += 1
    kind, value = item
    if kind == "data":
        assert_case_or_friendly(lambda: case_from_data(value))
    elif kind in ("yaml", "json"):
        assert_case_or_friendly(lambda: parse_case(value, format=kind, source=f"case.{kind}"))
    else:
        assert_case_or_friendly(lambda: parse_case(value, format=None, source="case"))


# --- named attacks: each one pinned, with time and memory bounds ---------------------------------

def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _bounded(call: Callable[[], Any], megabytes: float = 64) -> CaseInvalid:
    """``call`` is refused with CaseInvalid within a bounded amount of memory (time is measured
    in benchmarks/, never asserted in a test)."""
    tracemalloc.start()
    try:
        with pytest.raises(CaseInvalid) as info:
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < megabytes * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    return info.value


def test_billion_laughs_is_refused_quickly_and_small() -> None:
    exc = _bounded(lambda: parse_case(_laughs(10), format="yaml", source="laughs.yaml"))
    assert "YAML alias" in exc.problems[0].message
    assert len(exc.problems) <= MAX_PROBLEMS + 1
    assert exc.problems[0].path == "a0" or exc.problems[0].path.startswith("a")


def test_alias_in_a_key_is_refused() -> None:
    exc = _bounded(lambda: parse_case("? &a [1, 2]\n: 1\n? [*a, *a]\n: 2\n", format="yaml"))
    assert "not valid YAML" in exc.problems[0].message


def test_merge_key_alias_is_refused() -> None:
    exc = _bounded(lambda: parse_case("base: &b {x: 1}\nletter:\n  <<: *b\n", format="yaml"))
    assert any("alias" in p.message or "merge key" in p.message for p in exc.problems)


@pytest.mark.parametrize("text", ["[" * 100_000, "{a: " * 50_000, "- " * 50_000 + "x"])
def test_deep_yaml_is_refused(text: str) -> None:
    exc = _bounded(lambda: parse_case(text, format="yaml"))
    assert "nest" in exc.problems[0].message or "not valid YAML" in exc.problems[0].message


@pytest.mark.parametrize("depth", [33, 900, 100_000])
def test_deep_json_is_refused(depth: int) -> None:
    text = '{"letter": ' * depth + "1" + "}" * depth
    exc = _bounded(lambda: parse_case(text, format="json"))
    assert "nested" in exc.problems[0].message


def test_oversized_file_is_refused_before_parsing() -> None:
    exc = _bounded(lambda: parse_case(b"a" * (3 * 1024 * 1024), format="yaml"), megabytes=16)
    assert "may be at most 2,097,152" in exc.problems[0].message
    wide = "\U0001f600" * (700 * 1024)  # 0.7 M characters but 2.8 MB of UTF-8
    exc = _bounded(lambda: parse_case(wide, format="yaml"), megabytes=32)
    assert "may be at most" in exc.problems[0].message


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLE)
    parent: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        parent = parent[int(part)] if part.isdigit() else parent[part]
    parent[parts[-1]] = value
    return data


def _problem(data: dict[str, Any], path: str) -> str:
    with pytest.raises(CaseInvalid) as info:
        case_from_data(data)
    messages = {p.path: p.message for p in info.value.problems}
    assert path in messages, messages
    return messages[path]


def test_one_megabyte_name_is_refused_by_length() -> None:
    message = _problem(_with("patient.given_name", "A" * 1_000_000), "patient.given_name")
    assert message == "is too long (at most 200 characters)"
    message = _problem(_with("rationale", "é" * 1_000_000), "rationale")
    assert message == "is too long (at most 20,000 characters)"


@pytest.mark.parametrize("name", ["Dana\u202eanaD", "Dana\u2066x", "A\x00B", "A\x1bB", "A\x85B",
                                  "A\x7fB", "A\ud800B"])
def test_control_and_bidi_characters_in_names_are_refused(name: str) -> None:
    message = _problem(_with("patient.family_name", name), "patient.family_name")
    assert "control or text-direction" in message or "broken character" in message


def test_control_characters_in_free_text_are_refused_but_line_breaks_are_kept() -> None:
    message = _problem(_with("rationale", "ok\u202e so far"), "rationale")
    assert "control or text-direction" in message
    case = case_from_data(_with("rationale", "line one\nline two\n\n\tparagraph two"))
    assert "line two" in case.rationale


@pytest.mark.parametrize("text", ["0000-00-00", "2024-02-30", "2024-13-01"])
def test_impossible_yaml_dates_are_field_errors(text: str) -> None:
    yaml_text = SAMPLE_TEXT.replace("date_of_birth: 1988-04-17", f"date_of_birth: {text}")
    with pytest.raises(CaseInvalid) as info:
        parse_case(yaml_text, format="yaml")
    [problem] = [p for p in info.value.problems if p.path == "patient.date_of_birth"]
    assert problem.message.startswith("must be a date written YYYY-MM-DD")
    assert problem.line is not None


@pytest.mark.parametrize(("path", "value"), [("patient.date_of_birth", "0001-01-01"),
                                             ("letter.date", "9999-12-31")])
def test_implausible_years_are_refused(path: str, value: str) -> None:
    assert "check the year" in _problem(_with(path, value), path)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_huge_integers_are_field_errors(fmt: str) -> None:
    data = _with("burden.midas", 1)
    text = json.dumps(data, default=str).replace('"midas": 1', '"midas": ' + "9" * 5000)
    with pytest.raises(CaseInvalid) as info:
        parse_case(text, format=fmt)
    [problem] = [p for p in info.value.problems if p.path == "burden.midas"]
    assert problem.message == "must be a whole number"


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}'])
def test_json_nan_and_infinity_are_refused(text: str) -> None:
    exc = _bounded(lambda: parse_case(text, format="json"))
    assert "is not a number a case file may contain" in exc.problems[0].message


def test_yaml_nan_and_infinity_are_field_errors() -> None:
    text = SAMPLE_TEXT.replace("headache_days_per_month: 24", "headache_days_per_month: .nan")
    text = text.replace("pain_score", "pain_score").replace("midas: 96", "midas: .inf")
    with pytest.raises(CaseInvalid) as info:
        parse_case(text, format="yaml")
    messages = {p.path: p.message for p in info.value.problems}
    assert messages["burden.headache_days_per_month"] == "must be a finite number"
    assert "burden.midas" in messages


def test_lone_surrogate_in_text_input_is_refused() -> None:
    exc = _bounded(lambda: parse_case("letter: \ud800\n", format="yaml"))
    assert "UTF-8" in exc.problems[0].message


def test_non_text_keys_are_friendly() -> None:
    with pytest.raises(CaseInvalid) as info:
        parse_case("~: 1\n2024-01-01: 2\n1.5: 3\n", format="yaml")
    messages = [p.message for p in info.value.problems]
    assert sum("is not a field name" in m for m in messages) == 2  # ~ and the date
    assert any("is not a field priorauth knows" in m for m in messages)  # "1.5", as typed


def test_python_tags_are_refused() -> None:
    exc = _bounded(lambda: parse_case("a: !!python/object/apply:os.system [id]\n", format="yaml"))
    assert "not valid YAML" in exc.problems[0].message


def test_thousands_of_unknown_fields_give_a_short_list() -> None:
    data = {f"field{i}": i for i in range(5_000)}
    exc = _bounded(lambda: case_from_data(data), megabytes=128)
    assert len(exc.problems) == MAX_PROBLEMS + 1
    assert exc.problems[-1].message.startswith("... and ")
